//! The index-set comparison (decisions.md item 16): karen's reads on karen's indexes, then on
//! the design's own set. karen keeps every index of the design and adds the ones below; the
//! unique indexes that enforce decisions.md rules (case-insensitive e-mail, redelivery, one
//! default tier) are rules, not tuning, and stay in both sets.

use anyhow::Result;

use crate::measure::{self, Op};
use crate::raw::Raw;
use crate::report::Report;
use crate::Args;

/// The indexes karen adds to the design's, per backend, with what each serves.
pub fn karen_only(raw: &Raw) -> &'static [(&'static str, &'static str)] {
    match raw {
        Raw::Pg(_) => &[
            ("idx_conversations_customer_time", "pattern 2 without a medium, analytics windows"),
            ("idx_customers_secondary_phone", "lookup by phone (K8)"),
            ("idx_services_search_terms", "word search (K6)"),
            ("idx_customer_preferences_learned_from", "deleting a message (item 16)"),
            ("idx_preference_history_key", "preference history (item 18)"),
        ],
        Raw::Sqlite(..) => &[
            ("idx_conversations_customer_time", "pattern 2 without a medium, analytics windows"),
            ("idx_customers_secondary_phone", "lookup by phone (K8)"),
            ("idx_service_search_terms_service", "word search terms by service (K6)"),
            ("idx_customer_preferences_learned_from", "deleting a message (item 16)"),
            ("idx_preference_history_key", "preference history (item 18)"),
        ],
    }
}

/// Measures the read operations with karen's index set, drops karen's additions, measures them
/// again with the design's set, and puts the indexes back.
pub async fn compare(args: &Args, report: &mut Report, backend: &str, raw: &Raw, karen_ops: &[Op]) -> Result<()> {
    let dur = std::time::Duration::from_secs_f64(args.seconds / 2.0);
    let mut with_karens = Vec::new();
    for op in &karen_ops[..crate::ops::READS] {
        with_karens.push(measure::measure(args.tasks, dur, op).await?);
    }
    let names: Vec<&str> = karen_only(raw).iter().map(|(n, _)| *n).collect();
    let definitions = raw.index_definitions(&names).await?;
    for (name, _) in &definitions {
        raw.execute(&format!("DROP INDEX {name}")).await?;
    }
    raw.analyze().await?;
    let mut with_design = Vec::new();
    let outcome = async {
        for op in &karen_ops[..crate::ops::READS] {
            with_design.push(measure::measure(args.tasks, dur, op).await?);
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    for (_, definition) in &definitions {
        raw.execute(definition).await?;
    }
    raw.analyze().await?;
    outcome?;
    for (i, (k, d)) in with_karens.iter().zip(&with_design).enumerate() {
        report.index_set(backend, crate::ops::NAMES[i], k, d);
    }
    Ok(())
}
