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
            ("idx_customer_preferences_learned_from", "deleting a message (item 16)"),
            ("idx_preference_history_key", "preference history (item 18)"),
        ],
        Raw::Sqlite(..) => &[
            ("idx_conversations_customer_time", "pattern 2 without a medium, analytics windows"),
            ("idx_customers_secondary_phone", "lookup by phone (K8)"),
            ("idx_customer_preferences_learned_from", "deleting a message (item 16)"),
            ("idx_preference_history_key", "preference history (item 18)"),
        ],
    }
}

/// Measures the read operations with karen's index set, drops karen's additions and measures
/// them with the design's set, puts the indexes back and measures karen's set again: karen's
/// figure is the mean of the runs before and after, so drift in the machine's load does not
/// count for one set.
pub async fn compare(args: &Args, report: &mut Report, backend: &str, raw: &Raw, karen_ops: &[Op]) -> Result<()> {
    let reads = &karen_ops[..crate::ops::READS];
    let before = measure_all(args, reads).await?;
    let names: Vec<&str> = karen_only(raw).iter().map(|(n, _)| *n).collect();
    let definitions = raw.index_definitions(&names).await?;
    for (name, _) in &definitions {
        raw.execute(&format!("DROP INDEX {name}")).await?;
    }
    raw.analyze().await?;
    let with_design = measure_all(args, reads).await;
    for (_, definition) in &definitions {
        raw.execute(definition).await?;
    }
    raw.analyze().await?;
    let with_design = with_design?;
    let after = measure_all(args, reads).await?;
    for (i, ((b, a), d)) in before.into_iter().zip(after).zip(&with_design).enumerate() {
        report.index_set(backend, crate::ops::NAMES[i], &b.merged(a), d);
    }
    Ok(())
}

async fn measure_all(args: &Args, ops: &[Op]) -> Result<Vec<measure::Sample>> {
    let mut out = Vec::new();
    for op in ops {
        out.push(measure::measure(args.tasks, std::time::Duration::from_secs_f64(args.seconds / 2.0), op).await?);
    }
    Ok(out)
}
