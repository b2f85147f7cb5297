//! What earlier checks saw, kept in the lake (`_flowlake/alerts/state.json`)
//! and changed only under the alerts lock, so two overlapping checks never
//! both notify: for each (rule, group) whether it is firing and when it was
//! last notified, and the notifications not yet delivered (the outbox).
//!
//! A group is notified when it starts firing, again once `suppress` has
//! passed while it keeps firing, and once when it stops (resolved). Every
//! time is the check's `--at`, so replaying old data behaves like the live
//! run did. Delivery is at least once: a notification is in the outbox
//! before it is sent and leaves it after, so a crash between the two sends
//! it again next time rather than never.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::eval::Firing;
use crate::rules::{Rule, Severity};

/// Where the state lives, relative to the lake root.
pub(crate) const STATE_PATH: &str = "_flowlake/alerts/state.json";

/// Undelivered notifications are dropped after this long (and logged).
const OUTBOX_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// Whether a notification says a group started (or still is) firing, or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Over the threshold.
    Firing,
    /// No longer over it.
    Resolved,
}

/// One notification: what a notifier receives (as JSON for a webhook).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The rule.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// What it means.
    pub description: String,
    /// Firing or resolved.
    pub status: Status,
    /// The group, e.g. the source address.
    pub key: String,
    /// The window evaluated: from (inclusive) ...
    pub window_from: String,
    /// ... to (exclusive), which is the check's time.
    pub window_to: String,
    /// Since when the group has been firing.
    pub firing_since: String,
    /// The counts (empty for a resolved group).
    pub values: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    rule: String,
    key: String,
    firing: bool,
    since_ms: i64,
    last_notified_ms: i64,
    changed_ms: i64,
}

/// A notification waiting for one notifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// The notifier's id.
    pub(crate) notifier: String,
    /// What to send.
    pub(crate) notice: Notice,
    /// When it was queued (UTC ms).
    pub(crate) queued_ms: i64,
    /// Failed attempts so far.
    pub(crate) attempts: u32,
}

/// The alert state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    groups: BTreeMap<String, Group>,
    /// Notifications not yet delivered.
    pub(crate) outbox: Vec<Pending>,
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The window a check of `rule` at `at_ms` looks at, as RFC 3339 (from, to).
pub(crate) fn window(rule: &Rule, at_ms: i64) -> (String, String) {
    let window_ms = i64::try_from(rule.window.as_millis()).unwrap_or(i64::MAX);
    (rfc3339(at_ms.saturating_sub(window_ms)), rfc3339(at_ms))
}

fn id(rule: &str, key: &str) -> String {
    format!("{rule}\u{1f}{key}")
}

impl State {
    /// Records what `rule` found at `at_ms`; returns the notifications due.
    pub(crate) fn observe(&mut self, rule: &Rule, firings: &[Firing], at_ms: i64) -> Vec<Notice> {
        let (window_from, window_to) = window(rule, at_ms);
        let suppress_ms = i64::try_from(rule.suppress.as_millis()).unwrap_or(i64::MAX);
        let notice = |g: &Group, status, values: Map<String, Value>| Notice {
            rule: rule.name.clone(),
            severity: rule.severity,
            description: rule.description.clone(),
            status,
            key: g.key.clone(),
            window_from: window_from.clone(),
            window_to: window_to.clone(),
            firing_since: rfc3339(g.since_ms),
            values,
        };
        let mut due = Vec::new();
        let mut now_firing = BTreeSet::new();
        for firing in firings {
            now_firing.insert(firing.key.clone());
            let group = self
                .groups
                .entry(id(&rule.name, &firing.key))
                .or_insert_with(|| Group {
                    rule: rule.name.clone(),
                    key: firing.key.clone(),
                    firing: false,
                    since_ms: at_ms,
                    last_notified_ms: i64::MIN,
                    changed_ms: at_ms,
                });
            let started = !group.firing;
            if started {
                group.firing = true;
                group.since_ms = at_ms;
                group.changed_ms = at_ms;
            }
            if started || at_ms.saturating_sub(group.last_notified_ms) >= suppress_ms {
                group.last_notified_ms = at_ms;
                due.push(notice(group, Status::Firing, firing.values.clone()));
            }
        }
        // A rule that returned its full `limit` of groups may have left out
        // groups still over the threshold: none of them counts as resolved.
        let complete = firings.len() < rule.limit;
        for group in self.groups.values_mut() {
            if complete
                && group.rule == rule.name
                && group.firing
                && !now_firing.contains(&group.key)
            {
                group.firing = false;
                group.changed_ms = at_ms;
                due.push(notice(group, Status::Resolved, Map::new()));
            }
        }
        due
    }

    /// Forgets groups resolved more than a suppression period ago and
    /// groups of rules no longer configured, and drops notifications
    /// undelivered for a week; returns how many were dropped.
    pub(crate) fn prune(&mut self, rules: &[Rule], at_ms: i64) -> usize {
        let suppress = |name: &str| {
            rules
                .iter()
                .find(|r| r.name == name)
                .map(|r| i64::try_from(r.suppress.as_millis()).unwrap_or(i64::MAX))
        };
        self.groups.retain(|_, g| match suppress(&g.rule) {
            None => false,
            Some(s) => g.firing || at_ms.saturating_sub(g.changed_ms) < s,
        });
        let before = self.outbox.len();
        self.outbox
            .retain(|p| at_ms.saturating_sub(p.queued_ms) < OUTBOX_TTL_MS);
        before - self.outbox.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rules;

    fn rule() -> Rule {
        parse_rules(
            "t",
            "[[rule]]\nname = \"scan\"\nsuppress = \"24h\"\nsql = \"SELECT 1 AS key\"\n",
        )
        .unwrap()
        .remove(0)
    }

    fn firing(key: &str) -> Firing {
        Firing {
            key: key.to_owned(),
            values: Map::new(),
        }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn a_rule_at_its_limit_resolves_nothing() {
        let mut rule = rule();
        rule.limit = 2;
        let mut state = State::default();
        let (a, b, c) = (firing("a"), firing("b"), firing("c"));
        assert_eq!(state.observe(&rule, &[a.clone(), b.clone()], 0).len(), 2);
        // c outranks b now; b may still be over the threshold.
        assert_eq!(state.observe(&rule, &[a.clone(), c], H).len(), 1);
        // Under the limit again: b is known to be below it.
        let resolved = state.observe(&rule, &[a], 2 * H);
        let keys: Vec<&str> = resolved.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, ["b", "c"]);
    }

    #[test]
    fn a_group_is_notified_once_per_suppression_period_and_when_it_resolves() {
        let (rule, mut state) = (rule(), State::default());
        let statuses = |n: &[Notice]| -> Vec<(String, Status)> {
            n.iter().map(|n| (n.key.clone(), n.status)).collect()
        };
        let a = firing("203.0.113.9");
        assert_eq!(
            statuses(&state.observe(&rule, std::slice::from_ref(&a), 0)),
            [("203.0.113.9".to_owned(), Status::Firing)]
        );
        assert!(state.observe(&rule, std::slice::from_ref(&a), H).is_empty());
        assert!(
            state
                .observe(&rule, std::slice::from_ref(&a), 23 * H)
                .is_empty()
        );
        assert_eq!(
            state.observe(&rule, std::slice::from_ref(&a), 24 * H).len(),
            1
        );
        assert_eq!(
            statuses(&state.observe(&rule, &[], 25 * H)),
            [("203.0.113.9".to_owned(), Status::Resolved)]
        );
        assert!(state.observe(&rule, &[], 26 * H).is_empty());
        // Firing again after it resolved is news, whatever the period.
        assert_eq!(
            state.observe(&rule, std::slice::from_ref(&a), 27 * H).len(),
            1
        );
        // The same check run again (same clock): nothing new.
        assert!(state.observe(&rule, &[a], 27 * H).is_empty());
    }
}
