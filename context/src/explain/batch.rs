//! Explaining many records: each distinct input is evaluated once per
//! instant class (§2.3: "evaluate each distinct … once and join the
//! answer back"), against worlds built once per class.

use std::collections::HashMap;

use super::{Explanation, RejectInput, explain_in};
use crate::inventory::Inventory;
use crate::world::{Pick, World};

/// Evaluations shared across records.
#[derive(Debug)]
pub struct Explainer<'a> {
    inventory: &'a Inventory,
    worlds: HashMap<i64, (World<'a>, World<'a>)>,
    answers: HashMap<RejectInput, Explanation>,
    /// Records explained.
    pub records: u64,
    /// Distinct evaluations run.
    pub evaluations: u64,
}

impl<'a> Explainer<'a> {
    /// An explainer over `inventory`.
    pub fn new(inventory: &'a Inventory) -> Explainer<'a> {
        Explainer {
            inventory,
            worlds: HashMap::new(),
            answers: HashMap::new(),
            records: 0,
            evaluations: 0,
        }
    }

    /// The explanation of one record, with its own snapshot age.
    pub fn explain(&mut self, input: &RejectInput) -> Explanation {
        self.records += 1;
        let class = self.inventory.instant_class(input.at);
        let key = RejectInput {
            at: class,
            ..input.clone()
        };
        let mut e = match self.answers.get(&key) {
            Some(e) => e.clone(),
            None => {
                let inventory = self.inventory;
                let (earlier, later) = self.worlds.entry(class).or_insert_with(|| {
                    (
                        World::build(inventory, input.at, Pick::Earlier),
                        World::build(inventory, input.at, Pick::Later),
                    )
                });
                let e = explain_in(earlier, later, input);
                self.evaluations += 1;
                self.answers.insert(key, e.clone());
                e
            }
        };
        if let Some(at) = e.snapshot_unix {
            e.snapshot_age_s = Some(input.at - at);
            let stale = input.at - at > 24 * 3600;
            let hinted = e.hints.iter().any(|h| h == "stale_inventory");
            if stale && !hinted {
                e.hints.push("stale_inventory".to_owned());
            } else if !stale && hinted {
                e.hints.retain(|h| h != "stale_inventory");
            }
        }
        e
    }
}
