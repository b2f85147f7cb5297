//! One AWS configuration for every client flowlake makes: the S3 source
//! (aws-sdk-s3) and an S3 lake (object_store) use the same credential chain
//! (environment, profile, SSO, web identity, instance metadata) and the same
//! endpoint override, so a test server or MinIO works for both.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::ProvideCredentials;
use object_store::aws::AwsCredential;
use tokio::sync::Mutex;

/// Settings that vary between AWS and an S3-compatible server.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// Endpoint URL (e.g. `http://127.0.0.1:9000`); `AWS_ENDPOINT_URL` also works.
    pub endpoint_url: Option<String>,
    /// Region; otherwise the chain's (`AWS_REGION`, profile), else `us-east-1`.
    pub region: Option<String>,
    /// Path-style addressing (`http://host/bucket/key`), which most
    /// S3-compatible servers need.
    pub force_path_style: bool,
}

impl AwsSettings {
    /// The endpoint from the settings or `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> Option<String> {
        self.endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|e| !e.is_empty())
    }

    /// Loads the SDK configuration (credential chain, region, endpoint).
    pub async fn load(&self) -> SdkConfig {
        self.load_with_endpoint(self.endpoint()).await
    }

    /// Loads the SDK configuration with `endpoint` forced, if given (for a
    /// service other than S3, whose own endpoint variables the SDK reads).
    pub async fn load_with_endpoint(&self, endpoint: Option<String>) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return config
                .into_builder()
                .region(Region::from_static("us-east-1"))
                .build();
        }
        config
    }
}

/// object_store credentials drawn from the SDK's chain, cached until shortly
/// before they expire (the chain may call STS, SSO or instance metadata).
#[derive(Debug)]
pub struct SdkCredentials {
    provider: aws_credential_types::provider::SharedCredentialsProvider,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl SdkCredentials {
    /// Wraps the chain of `config`; `None` when it has no credential provider.
    pub fn new(config: &SdkConfig) -> Option<SdkCredentials> {
        Some(SdkCredentials {
            provider: config.credentials_provider()?,
            cached: Mutex::new(None),
        })
    }
}

#[async_trait::async_trait]
impl object_store::CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expiry)) = cached.as_ref() {
            let fresh = expiry.is_none_or(|e| e > SystemTime::now() + Duration::from_secs(300));
            if fresh {
                return Ok(credential.clone());
            }
        }
        let credentials = self.provider.provide_credentials().await.map_err(|e| {
            object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            }
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: credentials.access_key_id().to_owned(),
            secret_key: credentials.secret_access_key().to_owned(),
            token: credentials.session_token().map(str::to_owned),
        });
        *cached = Some((credential.clone(), credentials.expiry()));
        Ok(credential)
    }
}
