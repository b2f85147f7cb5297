//! Bearer-token auth for every Flight call, as a tonic interceptor.
//!
//! A client may send `authorization: Bearer <token>` on each call (ADBC's
//! `authorization_header`, Grafana's token setting), or do a Flight
//! handshake with HTTP Basic credentials whose password is the token (JDBC
//! and DBeaver's user/password; the user name is not checked) and then use
//! the bearer header the handshake answers with. Tokens are compared in
//! constant time.

use base64::Engine;
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

/// The token check; `None` lets every call through.
#[derive(Debug, Clone)]
pub struct Bearer {
    token: Option<String>,
}

impl Bearer {
    /// A check against `token`.
    pub fn new(token: Option<String>) -> Bearer {
        Bearer { token }
    }

    /// The interceptor: passes the request on, or refuses it.
    #[allow(clippy::result_large_err)] // tonic's interceptor signature
    pub fn check(&self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.token else {
            return Ok(request);
        };
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Status::unauthenticated(
                    "this Flight SQL endpoint needs a token: send `authorization: Bearer <token>`",
                )
            })?;
        let offered = presented_token(header).unwrap_or_default();
        if bool::from(offered.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(request)
        } else {
            tracing::warn!("Flight SQL call with a wrong token refused.");
            Err(Status::unauthenticated("wrong token"))
        }
    }
}

/// The token in a `Bearer` header, or the password of a `Basic` one.
fn presented_token(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        return text
            .split_once(':')
            .map(|(_, password)| password.to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(header: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(h) = header {
            request
                .metadata_mut()
                .insert("authorization", h.parse().unwrap());
        }
        request
    }

    #[test]
    fn only_the_token_passes() {
        let auth = Bearer::new(Some("s3cret".into()));
        assert!(auth.check(call(Some("Bearer s3cret"))).is_ok());
        let basic = base64::engine::general_purpose::STANDARD.encode("grafana:s3cret");
        assert!(auth.check(call(Some(&format!("Basic {basic}")))).is_ok());
        for refused in [
            None,
            Some("Bearer nope"),
            Some("Bearer s3cre"),
            Some("s3cret"),
        ] {
            let status = auth.check(call(refused)).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{refused:?}");
        }
        assert!(Bearer::new(None).check(call(None)).is_ok());
    }
}
