//! Loading the synthetic data: karen's bulk path (`Karen::restore_many`), and, chunk by chunk
//! in turn with it, the raw driver's fastest path into a second database of the same schema, so
//! both write into tables of the same size.

use std::time::Instant;

use anyhow::{bail, Result};
use chrono::Utc;
use karen_core::model::CustomerPreference;
use karen_core::{Entity, Karen, Store};

use crate::data;
use crate::ops::Workload;
use crate::raw::Raw;

/// Rows per chunk (and per transaction on both sides).
const CHUNK: usize = 5000;

/// The load of one kind of rows.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Which rows.
    pub kind: &'static str,
    /// How many.
    pub rows: usize,
    /// Seconds karen's bulk path took.
    pub karen_secs: f64,
    /// Seconds the raw driver took for the same rows, when measured.
    pub raw_secs: Option<f64>,
}

/// Loads scale `scale` unless the database already holds it; `None` when it was reused.
pub async fn ensure<S: Store>(
    karen: &Karen<S>,
    raw: &Raw,
    raw_copy: Option<&Raw>,
    scale: f64,
) -> Result<Option<Vec<Loaded>>> {
    let sizes = data::Sizes::at(scale);
    let present = raw.count("customers").await?;
    if present as usize == sizes.customers {
        eprintln!("{}: data of scale {scale} already loaded; reusing it", karen.store().backend());
        raw.analyze().await?;
        return Ok(None);
    }
    if present != 0 {
        bail!("the database holds {present} customers, not the {} of scale {scale}: use an empty one", sizes.customers);
    }
    let loaded = fill(karen, raw_copy, scale).await?;
    raw.analyze().await?;
    Ok(Some(loaded))
}

/// One kind's rows through karen and, when given, the raw driver, chunk by chunk in turn.
async fn both<S: Store, E: Entity>(karen: &Karen<S>, raw: Option<&Raw>, rows: Vec<E>, into: &mut Loaded) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        into.rows += chunk.len();
        let t = Instant::now();
        karen.restore_many(chunk.to_vec()).await?;
        into.karen_secs += t.elapsed().as_secs_f64();
        if let Some(raw) = raw {
            let prepared = raw.prepare(chunk);
            let t = Instant::now();
            raw.load(prepared).await?;
            *into.raw_secs.get_or_insert(0.0) += t.elapsed().as_secs_f64();
        }
    }
    Ok(())
}

/// Loads every row of scale `scale` (the database must be empty).
pub async fn fill<S: Store>(karen: &Karen<S>, raw: Option<&Raw>, scale: f64) -> Result<Vec<Loaded>> {
    let sizes = data::Sizes::at(scale);
    let now = Utc::now();
    let mut rng = data::Rng::new(42);
    let (cats, services, tiers, packages, items) = data::catalog(&mut rng, now);
    let mut catalog = Loaded { kind: "catalog", ..Default::default() };
    both(karen, raw, cats, &mut catalog).await?;
    both(karen, raw, services, &mut catalog).await?;
    both(karen, raw, tiers, &mut catalog).await?;
    both(karen, raw, packages, &mut catalog).await?;
    both(karen, raw, items, &mut catalog).await?;

    let mut customers = Loaded { kind: "customers", ..Default::default() };
    let mut preferences = Loaded { kind: "preferences", ..Default::default() };
    let mut ids = Vec::with_capacity(sizes.customers);
    for from in (0..sizes.customers).step_by(CHUNK) {
        let to = (from + CHUNK).min(sizes.customers);
        let batch = data::customers(from, to, now);
        let prefs: Vec<CustomerPreference> =
            batch.iter().enumerate().flat_map(|(k, c)| data::preferences(c, from + k, now)).collect();
        ids.extend(batch.iter().map(|c| c.id));
        both(karen, raw, batch, &mut customers).await?;
        both(karen, raw, prefs, &mut preferences).await?;
        progress("customers", to, sizes.customers);
    }

    let mut messages = Loaded { kind: "conversations", ..Default::default() };
    for from in (0..sizes.conversations).step_by(CHUNK) {
        let to = (from + CHUNK).min(sizes.conversations);
        both(karen, raw, data::conversations(from, to, &ids, now), &mut messages).await?;
        progress("conversations", to, sizes.conversations);
    }
    Ok(vec![catalog, customers, preferences, messages])
}

/// A progress line on a terminal (stderr), overwritten in place.
fn progress(what: &str, done: usize, total: usize) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let width = 30;
        let filled = done * width / total.max(1);
        eprint!("\r{what:<14} [{}{}] {done}/{total}   ", "#".repeat(filled), " ".repeat(width - filled));
        if done == total {
            eprintln!();
        }
    }
}

/// The inputs of the operations at scale `scale`.
pub fn workload(scale: f64) -> Workload {
    let sizes = data::Sizes::at(scale);
    let customers = data::customers(0, sizes.customers, Utc::now()).iter().map(|c| c.id).collect();
    Workload {
        customers: std::sync::Arc::new(customers),
        vocabulary: std::sync::Arc::new(data::vocabulary()),
        run: uuid::Uuid::now_v7().simple().to_string().into(),
    }
}
