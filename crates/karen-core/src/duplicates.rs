//! Duplicate candidates (decision 25's input): pairs of customers that are probably one
//! person, each with the reasons: a shared e-mail (compared case-insensitively) or phone (E.164)
//! across their primary and secondary fields, or the same name and service address.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Customer;

/// Two customers that look like one, the lower id first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicatePair {
    /// The customer with the lower id.
    pub a: Customer,
    /// The other.
    pub b: Customer,
    /// Why, e.g. `a.primary_phone = b.secondary_phone (+17575550142)`, sorted.
    pub reasons: Vec<String>,
}

/// The keys a customer can share with another: (what, field, value).
fn keys(c: &Customer) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    for (field, v) in [("primary_email", &c.primary_email), ("secondary_email", &c.secondary_email)] {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            out.push(("email", field, v.to_lowercase()));
        }
    }
    for (field, v) in [("primary_phone", &c.primary_phone), ("secondary_phone", &c.secondary_phone)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            out.push(("phone", field, v.to_string()));
        }
    }
    let name = [c.first_name.as_deref(), c.last_name.as_deref()]
        .iter()
        .flatten()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if let (false, Some(address)) = (name.is_empty(), &c.service_address) {
        out.push(("name_address", "name and service_address", format!("{name} @ {address}")));
    }
    out
}

/// Every pair of `customers` sharing a key, in (a.id, b.id) order, each with every reason.
pub fn pairs(customers: &[Customer]) -> Vec<DuplicatePair> {
    let by_id: HashMap<Uuid, &Customer> = customers.iter().map(|c| (c.id, c)).collect();
    let mut holders: HashMap<(&'static str, String), Vec<(Uuid, &'static str)>> = HashMap::new();
    for c in customers {
        for (what, field, value) in keys(c) {
            holders.entry((what, value)).or_default().push((c.id, field));
        }
    }
    let mut found: BTreeMap<(Uuid, Uuid), Vec<String>> = BTreeMap::new();
    for ((what, value), list) in &holders {
        for (i, (x, fx)) in list.iter().enumerate() {
            for (y, fy) in &list[i + 1..] {
                if x == y {
                    continue;
                }
                let ((a, fa), (b, fb)) = if x < y { ((x, fx), (y, fy)) } else { ((y, fy), (x, fx)) };
                let shown = if *what == "name_address" { String::new() } else { format!(" ({value})") };
                let reason = if *what == "name_address" {
                    "the same name and service_address".to_string()
                } else {
                    format!("a.{fa} = b.{fb}{shown}")
                };
                let reasons = found.entry((*a, *b)).or_default();
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
        }
    }
    found
        .into_iter()
        .map(|((a, b), mut reasons)| {
            reasons.sort();
            DuplicatePair { a: by_id[&a].clone(), b: by_id[&b].clone(), reasons }
        })
        .collect()
}
