//! Explaining many records: each distinct evaluation input is evaluated
//! once per instant class (§2.3: "evaluate each distinct … once and join
//! the answer back"), against worlds built once per class.
//!
//! Memory is bounded by configuration, not by input: at most
//! [`ExplainerLimits::answers`] answers and [`ExplainerLimits::worlds`]
//! pairs of worlds are held; beyond that the least recently used go (and
//! are evaluated again if they come back, with the same result).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;

use super::{
    Direction, Explanation, PacketKind, RejectInput, SilentInput, explain_in, packet_kind,
    silent_drop,
};
use crate::inventory::Inventory;
use crate::world::{Pick, World};

/// How much an [`Explainer`] may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainerLimits {
    /// Distinct answers kept (each a few hundred bytes to a few KiB).
    pub answers: usize,
    /// Instant classes whose worlds are kept (each world indexes the whole
    /// inventory as of one instant). Records arrive sorted by time, so a
    /// few suffice.
    pub worlds: usize,
}

impl Default for ExplainerLimits {
    fn default() -> Self {
        ExplainerLimits {
            answers: 100_000,
            worlds: 4,
        }
    }
}

/// The addresses an evaluation depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Addresses {
    /// With `flow-direction`, only the remote address (`pkt-*` first).
    Remote(Option<IpAddr>),
    /// Without it, all four: the direction is inferred from them.
    All([Option<IpAddr>; 4]),
}

/// Everything an evaluation of one record reads (§2.3): records with equal
/// keys get the same answer, up to their own snapshot age.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EvalKey {
    interface_id: String,
    direction: Option<Direction>,
    addresses: Addresses,
    /// The format lacks a `pkt-*` address (a hint when unexplained).
    lacks_pkt: bool,
    protocol: Option<i32>,
    dstport: Option<i32>,
    kind: Option<PacketKind>,
    reject_reason: Option<String>,
    class: i64,
}

impl EvalKey {
    fn of(input: &RejectInput, class: i64) -> EvalKey {
        let addresses = match input.direction {
            Some(Direction::Ingress) => Addresses::Remote(input.pkt_srcaddr.or(input.srcaddr)),
            Some(Direction::Egress) => Addresses::Remote(input.pkt_dstaddr.or(input.dstaddr)),
            None => Addresses::All([
                input.srcaddr,
                input.dstaddr,
                input.pkt_srcaddr,
                input.pkt_dstaddr,
            ]),
        };
        EvalKey {
            interface_id: input.interface_id.clone(),
            direction: input.direction,
            addresses,
            lacks_pkt: input.pkt_srcaddr.is_none() || input.pkt_dstaddr.is_none(),
            protocol: input.protocol,
            dstport: input.dstport,
            kind: input.protocol.map(|p| packet_kind(input, p)),
            reject_reason: input.reject_reason.clone().filter(|r| r != "-"),
            class,
        }
    }
}

/// A map of at most `cap` entries (at least 2) that keeps the recently used ones, in two
/// generations: new entries go to `hot`; when `hot` is half full it
/// becomes `cold` and the old `cold` is dropped; a hit in `cold` moves the
/// entry back to `hot`.
#[derive(Debug)]
struct Bounded<K, V> {
    hot: HashMap<K, V>,
    cold: HashMap<K, V>,
    half: usize,
}

impl<K: Hash + Eq, V: Clone> Bounded<K, V> {
    fn new(cap: usize) -> Self {
        Bounded {
            hot: HashMap::new(),
            cold: HashMap::new(),
            half: (cap / 2).max(1),
        }
    }

    fn get(&mut self, key: &K) -> Option<V> {
        if let Some(v) = self.hot.get(key) {
            return Some(v.clone());
        }
        let (key, v) = self.cold.remove_entry(key)?;
        self.insert(key, v.clone());
        Some(v)
    }

    fn insert(&mut self, key: K, value: V) {
        if self.hot.len() >= self.half {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(key, value);
    }
}

/// Evaluations shared across records.
#[derive(Debug)]
pub struct Explainer<'a> {
    inventory: &'a Inventory,
    limits: ExplainerLimits,
    worlds: HashMap<i64, Arc<(World<'a>, World<'a>)>>,
    answers: Bounded<EvalKey, Arc<Explanation>>,
    silent: Bounded<(SilentInput, i64), Option<Arc<Explanation>>>,
    /// Records explained.
    pub records: u64,
    /// Distinct evaluations run.
    pub evaluations: u64,
}

impl<'a> Explainer<'a> {
    /// An explainer over `inventory` with the default limits.
    pub fn new(inventory: &'a Inventory) -> Explainer<'a> {
        Explainer::with_limits(inventory, ExplainerLimits::default())
    }

    /// An explainer over `inventory` that holds at most `limits`.
    pub fn with_limits(inventory: &'a Inventory, limits: ExplainerLimits) -> Explainer<'a> {
        Explainer {
            inventory,
            limits,
            worlds: HashMap::new(),
            answers: Bounded::new(limits.answers),
            silent: Bounded::new(limits.answers),
            records: 0,
            evaluations: 0,
        }
    }

    /// The worlds (earlier, later) of the instant class of `at`.
    fn worlds(&mut self, class: i64, at: i64) -> Arc<(World<'a>, World<'a>)> {
        if let Some(w) = self.worlds.get(&class) {
            return w.clone();
        }
        if self.worlds.len() >= self.limits.worlds.max(1) {
            // Records come sorted by time: the classes seen so far are
            // behind us. Any that come back are built again.
            self.worlds.clear();
        }
        let inventory = self.inventory;
        let w = Arc::new((
            World::build(inventory, at, Pick::Earlier),
            World::build(inventory, at, Pick::Later),
        ));
        self.worlds.insert(class, w.clone());
        w
    }

    /// The explanation of one record, with its own snapshot age.
    pub fn explain(&mut self, input: &RejectInput) -> Explanation {
        self.records += 1;
        let class = self.inventory.instant_class(input.at);
        let key = EvalKey::of(input, class);
        let shared = match self.answers.get(&key) {
            Some(e) => e,
            None => {
                let worlds = self.worlds(class, input.at);
                let e = Arc::new(explain_in(&worlds.0, &worlds.1, input));
                self.evaluations += 1;
                self.answers.insert(key, e.clone());
                e
            }
        };
        let mut e = Explanation::clone(&shared);
        e.retime(input.at);
        e
    }

    /// The silent-drop finding (§2.8) for one unanswered accepted egress
    /// record, with its own snapshot age; `None` when a route exists.
    pub fn silent_drop(&mut self, input: &SilentInput) -> Option<Explanation> {
        self.records += 1;
        let class = self.inventory.instant_class(input.at);
        let key = (
            SilentInput {
                at: 0,
                ..input.clone()
            },
            class,
        );
        let shared = match self.silent.get(&key) {
            Some(found) => found,
            None => {
                let worlds = self.worlds(class, input.at);
                let found = silent_drop(&worlds.0, input).map(Arc::new);
                self.evaluations += 1;
                self.silent.insert(key, found.clone());
                found
            }
        }?;
        let mut found = Explanation::clone(&shared);
        if let Some(at) = found.snapshot_unix {
            found.snapshot_age_s = Some(input.at - at);
        }
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::{Bounded, Explainer};
    use crate::explain::{RejectInput, Verdict};
    use crate::inventory::Inventory;

    #[test]
    fn a_shared_answer_names_each_record_s_own_time() {
        let inventory = Inventory::default();
        let mut explainer = Explainer::new(&inventory);
        let input = |at| RejectInput {
            interface_id: "eni-0gone".to_owned(),
            direction: None,
            srcaddr: None,
            dstaddr: None,
            pkt_srcaddr: None,
            pkt_dstaddr: None,
            dstport: Some(22),
            protocol: Some(6),
            tcp_flags: Some(2),
            reject_reason: None,
            has_companion: false,
            has_prior_accept: false,
            at,
        };
        let first = explainer.explain(&input(1_795_169_100));
        let second = explainer.explain(&input(1_795_172_700));
        assert_eq!(explainer.evaluations, 1);
        assert_eq!(first.verdict, Verdict::NoInventory);
        assert_eq!(second.verdict, Verdict::NoInventory);
        assert!(
            first.summary.ends_with("2026-11-20T10:05:00Z"),
            "{}",
            first.summary
        );
        assert!(
            second.summary.ends_with("2026-11-20T11:05:00Z"),
            "{}",
            second.summary
        );
    }

    #[test]
    fn bounded_map_keeps_at_most_its_cap_and_the_recent_entries() {
        let mut m = Bounded::new(4);
        for k in 0..100 {
            m.insert(k, k * 10);
            assert!(m.hot.len() + m.cold.len() <= 4);
        }
        assert_eq!(m.get(&99), Some(990));
        assert_eq!(m.get(&98), Some(980));
        assert_eq!(m.get(&0), None);
        // A hit in the old generation moves it back; the others go at the
        // next rotation.
        m.insert(100, 1000);
        assert_eq!(m.get(&99), Some(990));
        m.insert(101, 1010);
        assert_eq!(m.get(&98), None);
        assert_eq!(m.get(&99), Some(990));
    }
}
