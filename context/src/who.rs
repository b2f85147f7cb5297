//! "Whose address is it, as of t": every interface that held the address
//! (or is the named interface), with its owner and how sure that is.

use std::net::IpAddr;

use serde::Serialize;

use crate::inventory::Inventory;
use crate::model::Eni;
use crate::owner::{Owner, classify, with_region};

/// One candidate owner.
#[derive(Debug, Clone, Serialize)]
pub struct WhoAnswer {
    /// The interface.
    pub eni_id: String,
    /// Its VPC.
    pub vpc_id: Option<String>,
    /// Its account.
    pub account: String,
    /// How the address belongs to it (`primary`, `ipv4_prefix`, …).
    pub address_kind: Option<&'static str>,
    /// The owner.
    pub owner: Owner,
    /// certain, current, uncertain (a gap) or before_first_snapshot.
    pub certainty: &'static str,
    /// Start of the version that answered.
    pub valid_from: i64,
    /// Its last sighting.
    pub last_seen: i64,
    /// Its end, when it changed.
    pub valid_to: Option<i64>,
}

/// What `who` asks about.
#[derive(Debug, Clone)]
pub enum Subject {
    /// An address.
    Address(IpAddr),
    /// An interface id.
    Interface(String),
}

impl Subject {
    /// An address, or else an interface id.
    pub fn parse(text: &str) -> Subject {
        match text.parse() {
            Ok(ip) => Subject::Address(ip),
            Err(_) => Subject::Interface(text.to_owned()),
        }
    }
}

/// The candidates as of `at`, earlier versions first. An address freed
/// and reassigned never yields two certain answers at one instant.
pub fn who(inventory: &Inventory, subject: &Subject, at: i64) -> Vec<WhoAnswer> {
    let mut out = Vec::new();
    for (id, tracked) in &inventory.enis {
        if let Subject::Interface(want) = subject
            && want != id
        {
            continue;
        }
        let as_of = tracked.timeline.as_of(at);
        let certainty = as_of.certainty;
        for version in [Some(as_of.version), as_of.next].into_iter().flatten() {
            let Some(eni) = &version.content else {
                continue;
            };
            let kind = match subject {
                Subject::Address(ip) => match address_kind(eni, *ip) {
                    Some(k) => Some(k),
                    None => continue,
                },
                Subject::Interface(_) => None,
            };
            out.push(WhoAnswer {
                eni_id: id.clone(),
                vpc_id: eni.vpc_id.clone(),
                account: tracked.scope.0.clone(),
                address_kind: kind,
                owner: with_region(classify(eni), &tracked.scope.1),
                certainty: certainty.as_str(),
                valid_from: version.valid_from,
                last_seen: version.last_seen,
                valid_to: version.valid_to,
            });
        }
    }
    out.sort_by_key(|a| (a.valid_from, a.eni_id.clone()));
    out
}

fn address_kind(eni: &Eni, ip: IpAddr) -> Option<&'static str> {
    eni.addresses
        .iter()
        .filter(|a| a.net.contains(&ip))
        .max_by_key(|a| a.net.prefix_len())
        .map(|a| a.kind.as_str())
}
