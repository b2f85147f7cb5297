//! The time model (§1.5): one object's observations become versions with
//! `valid_from`, `last_seen` and `valid_to`, and "as of t" says which
//! version held and how sure that is.
//!
//! Invariants:
//! - versions are sorted, contiguous (`valid_to` of one = `valid_from` of
//!   the next) and two neighbours never hold the same content;
//! - absence (`content: None`) is a version like any other;
//! - exactly one version answers any t at or after the first observation,
//!   so an address that changed hands never has two owners at one instant.

use serde::Serialize;

/// One distinct content of an object over an interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version<T> {
    /// The content; `None` while the object was absent.
    pub content: Option<T>,
    /// Capture time of the first observation showing it.
    pub valid_from: i64,
    /// Capture time of the last consecutive observation showing it (for a
    /// change event: the next event's time, as the content held throughout).
    pub last_seen: i64,
    /// First later observation where it differs (exclusive); `None` while current.
    pub valid_to: Option<i64>,
}

/// One observation of an object: at `at` it was `content` (or absent).
#[derive(Debug, Clone)]
pub struct Observation<T> {
    /// Capture time.
    pub at: i64,
    /// What was seen.
    pub content: Option<T>,
    /// A change event (AWS Config): the content holds until the next
    /// observation with no gap. A sample (CLI snapshot) says nothing about
    /// the time between it and the next.
    pub event: bool,
}

/// How sure an as-of answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// Between the first and last sighting of this version.
    Certain,
    /// After the current version's last sighting, no later snapshot.
    Current,
    /// Between the last sighting and the next, different version: the
    /// change happened at an unknown moment in here.
    Gap,
    /// Before the first snapshot of the object's account and region.
    BeforeFirstSnapshot,
}

impl Certainty {
    /// The word `flows_enriched` and `who` print.
    pub fn as_str(self) -> &'static str {
        match self {
            Certainty::Certain => "certain",
            Certainty::Current => "current",
            Certainty::Gap => "uncertain",
            Certainty::BeforeFirstSnapshot => "before_first_snapshot",
        }
    }
}

/// The answer to "which version held at t".
#[derive(Debug, Clone, Copy)]
pub struct AsOf<'a, T> {
    /// The version carried forward from the last observation at or before t
    /// (the first version before any observation).
    pub version: &'a Version<T>,
    /// In a gap: the version that follows.
    pub next: Option<&'a Version<T>>,
    /// How sure.
    pub certainty: Certainty,
}

/// Every version of one object, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline<T> {
    /// The versions (never empty).
    pub versions: Vec<Version<T>>,
}

impl<T: PartialEq + Clone> Timeline<T> {
    /// Builds versions from observations sorted by time (equal times: the
    /// later one wins). `None` when there are none.
    pub fn from_observations(observations: Vec<Observation<T>>) -> Option<Timeline<T>> {
        let mut versions: Vec<Version<T>> = Vec::new();
        let mut last_event = false;
        for obs in observations {
            match versions.last_mut() {
                Some(v) if v.content == obs.content => {
                    v.last_seen = obs.at;
                }
                Some(v) if v.last_seen == obs.at => {
                    // Two observations at one instant: the later replaces it.
                    v.content = obs.content;
                    last_event = obs.event;
                    continue;
                }
                Some(v) => {
                    if last_event {
                        v.last_seen = obs.at;
                    }
                    v.valid_to = Some(obs.at);
                    versions.push(Version {
                        content: obs.content,
                        valid_from: obs.at,
                        last_seen: obs.at,
                        valid_to: None,
                    });
                }
                None => versions.push(Version {
                    content: obs.content,
                    valid_from: obs.at,
                    last_seen: obs.at,
                    valid_to: None,
                }),
            }
            last_event = obs.event;
        }
        (!versions.is_empty()).then_some(Timeline { versions })
    }

    /// The version as of `t`, carrying the last observation forward.
    pub fn as_of(&self, t: i64) -> AsOf<'_, T> {
        let first = &self.versions[0];
        if t < first.valid_from {
            return AsOf {
                version: first,
                next: None,
                certainty: Certainty::BeforeFirstSnapshot,
            };
        }
        let i = self.versions.partition_point(|v| v.valid_from <= t) - 1;
        let version = &self.versions[i];
        let (next, certainty) = if t <= version.last_seen {
            (None, Certainty::Certain)
        } else if version.valid_to.is_none() {
            (None, Certainty::Current)
        } else {
            (self.versions.get(i + 1), Certainty::Gap)
        };
        AsOf {
            version,
            next,
            certainty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: i64, content: Option<&'static str>) -> Observation<&'static str> {
        Observation {
            at,
            content,
            event: false,
        }
    }

    #[test]
    fn samples_make_versions_with_gaps_between_changes() {
        // §3.5: eni-0aaa seen at 09:00 only, absent at 10:00 and 11:00.
        let t = Timeline::from_observations(vec![
            sample(900, Some("a")),
            sample(1000, None),
            sample(1100, None),
        ])
        .unwrap();
        assert_eq!(t.versions.len(), 2);
        assert_eq!(t.versions[0].valid_to, Some(1000));
        assert_eq!(t.versions[1].last_seen, 1100);
        assert_eq!(t.as_of(900).certainty, Certainty::Certain);
        let gap = t.as_of(930);
        assert_eq!(gap.certainty, Certainty::Gap);
        assert_eq!(gap.version.content, Some("a"));
        assert_eq!(gap.next.unwrap().content, None);
        assert_eq!(t.as_of(1000).version.content, None);
        assert_eq!(t.as_of(1050).certainty, Certainty::Certain);
        assert_eq!(t.as_of(1200).certainty, Certainty::Current);
        assert_eq!(t.as_of(800).certainty, Certainty::BeforeFirstSnapshot);
    }

    #[test]
    fn change_events_leave_no_gap() {
        let t = Timeline::from_observations(vec![
            Observation {
                at: 100,
                content: Some(1),
                event: true,
            },
            Observation {
                at: 200,
                content: Some(2),
                event: true,
            },
        ])
        .unwrap();
        assert_eq!(t.versions[0].last_seen, 200);
        assert_eq!(t.as_of(150).certainty, Certainty::Certain);
        assert_eq!(t.as_of(150).version.content, Some(1));
        assert_eq!(t.as_of(200).version.content, Some(2));
    }

    #[test]
    fn one_instant_has_one_version() {
        let t = Timeline::from_observations(vec![
            sample(1, Some("x")),
            sample(2, Some("y")),
            sample(3, Some("x")),
        ])
        .unwrap();
        for at in 0..5 {
            let hits = t
                .versions
                .iter()
                .filter(|v| v.valid_from <= at && v.valid_to.is_none_or(|to| at < to))
                .count();
            assert!(hits <= 1, "{at}");
        }
        assert_eq!(t.versions.len(), 3);
    }
}
