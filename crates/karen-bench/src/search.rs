//! The search tables (issue 17): a customer's search and a search of every message through
//! karen, the second against the `LIKE '%word%'` scan (`ILIKE` on PostgreSQL) a store without
//! a full-text index would run; what the index costs a bulk load of messages, and its size;
//! and on Firestore the RPCs of a customer's search.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use karen_core::query::{ConversationFilter, PageRequest};
use karen_core::{Karen, Store};

use crate::measure::{self, op, Op};
use crate::ops::Workload;
use crate::raw::Raw;
use crate::report::Report;
use crate::{data, load};

/// The two-word query of the broad row: `faucet` is in nearly every synthetic message, the
/// other word in about one in 150.
const BROAD: (&str, &str) = ("faucet", "gutter");

/// Two words of the vocabulary that open few messages (data::topic) and occur nowhere else:
/// not `faucet` or `door`, which every message's body holds.
fn selective(workload: &Workload, i: u64) -> (String, String) {
    static RARE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let v = RARE.get_or_init(|| {
        let body: std::collections::BTreeSet<String> = karen_core::search::terms(data::TEXT).into_iter().collect();
        workload.vocabulary.iter().filter(|w| !body.contains(&karen_core::search::stem(w))).cloned().collect()
    });
    let a = (i.wrapping_mul(2_654_435_761) % v.len() as u64) as usize;
    let b = (i.wrapping_mul(40_503) % v.len() as u64) as usize;
    (v[a].clone(), v[b].clone())
}

fn search_op<S: Store>(karen: Arc<Karen<S>>, workload: &Workload, scope: Scope) -> Op {
    let w = workload.clone();
    op(move |i| {
        let (karen, w) = (karen.clone(), w.clone());
        async move {
            let (filter, q) = match scope {
                Scope::Customer => {
                    let (a, _) = selective(&w, i);
                    let f = ConversationFilter { customer_id: Some(w.customer(i)), ..Default::default() };
                    (f, format!("{a} faucet"))
                }
                Scope::CustomerEvery => {
                    let f = ConversationFilter { customer_id: Some(w.customer(i)), ..Default::default() };
                    (f, "kitchen faucet".to_string())
                }
                Scope::All => {
                    let (a, b) = selective(&w, i);
                    (ConversationFilter::default(), format!("{a} {b}"))
                }
                Scope::Broad => (ConversationFilter::default(), format!("{} {}", BROAD.0, BROAD.1)),
            };
            karen.search_conversations(&q, &filter, &PageRequest::of(20)).await?;
            Ok(())
        }
    })
}

#[derive(Clone, Copy)]
enum Scope {
    Customer,
    CustomerEvery,
    All,
    Broad,
}

/// The scan of every message for two words, newest first, 20 rows.
fn scan_op(raw: &Raw, workload: &Workload, broad: bool) -> Op {
    let (raw, w) = (raw.clone(), workload.clone());
    op(move |i| {
        let (raw, w) = (raw.clone(), w.clone());
        async move {
            let (a, b) = if broad { (BROAD.0.to_string(), BROAD.1.to_string()) } else { selective(&w, i) };
            raw.scan_two_words(&a, &b).await?;
            Ok(())
        }
    })
}

/// How many messages a two-word query matches, by the index.
async fn matches(raw: &Raw, a: &str, b: &str) -> Result<i64> {
    raw.count_matches(&karen_core::search::Query::parse(&format!("{a} {b}"))?).await
}

/// The search rows of one loaded SQL backend.
pub async fn tables<S: Store>(
    report: &mut Report,
    backend: &str,
    karen: Arc<Karen<S>>,
    raw: &Raw,
    workload: &Workload,
    tasks: usize,
    seconds: f64,
) -> Result<()> {
    let dur = Duration::from_secs_f64(seconds);
    // Warm: the index pages of every vocabulary word, as a database serving searches all day
    // has them (without this a 6 s run measures the disk).
    let all = search_op(karen.clone(), workload, Scope::All);
    let mine = search_op(karen.clone(), workload, Scope::Customer);
    for i in 0..workload.vocabulary.len() as u64 {
        all(i).await?;
        mine(i).await?;
    }
    // A customer's search with the bench's tasks sharing the cores, and alone (its latency
    // without queueing behind the others).
    for (scope, name) in [
        (Scope::Customer, "one customer, a rare word and a common one"),
        (Scope::CustomerEvery, "one customer, two words in every message"),
    ] {
        let shared = measure::measure(tasks, dur, &search_op(karen.clone(), workload, scope)).await?;
        report.search(backend, name, -1, &shared, None);
        let alone = measure::measure(1, dur, &search_op(karen.clone(), workload, scope)).await?;
        report.search(backend, &format!("{name}, 1 task"), -1, &alone, None);
    }
    let (a, b) = selective(workload, 1);
    let hits = matches(raw, &a, &b).await?;
    let (k, s) = measure::compare(
        tasks,
        seconds,
        &search_op(karen.clone(), workload, Scope::All),
        &scan_op(raw, workload, false),
    )
    .await?;
    report.search(backend, &format!("all messages, two rare words (e.g. {a} {b})"), hits, &k, Some(&s));
    let hits = matches(raw, BROAD.0, BROAD.1).await?;
    let (k, s) =
        measure::compare(tasks, seconds, &search_op(karen, workload, Scope::Broad), &scan_op(raw, workload, true))
            .await?;
    report.search(backend, &format!("all messages, {} {}", BROAD.0, BROAD.1), hits, &k, Some(&s));
    Ok(())
}

/// What the index costs a bulk load: the messages of scale `scale` into two fresh databases of
/// one backend, chunk by chunk in turn, one with the index and one without it (its triggers or
/// its generated column dropped: the schema before the search migration), and how much more
/// the one with the index grew.
pub async fn load_cost<S: Store>(
    report: &mut Report,
    backend: &str,
    with: (&Karen<S>, &Raw),
    without: (&Karen<S>, &Raw),
    scale: f64,
) -> Result<()> {
    let sizes = data::Sizes::at(scale);
    let now = chrono::Utc::now();
    let customers = data::customers(0, sizes.customers, now);
    let ids: Vec<_> = customers.iter().map(|c| c.id).collect();
    for chunk in customers.chunks(5_000) {
        with.0.restore_many(chunk.to_vec()).await?;
        without.0.restore_many(chunk.to_vec()).await?;
    }
    let (before_with, before_without) = (with.1.database_bytes().await?, without.1.database_bytes().await?);
    let (mut t_with, mut t_without, mut rows) = (0.0, 0.0, 0);
    for from in (0..sizes.conversations).step_by(5_000) {
        let to = (from + 5_000).min(sizes.conversations);
        let batch = data::conversations(from, to, &ids, now);
        rows += batch.len();
        let t = Instant::now();
        without.0.restore_many(batch.clone()).await?;
        t_without += t.elapsed().as_secs_f64();
        let t = Instant::now();
        with.0.restore_many(batch).await?;
        t_with += t.elapsed().as_secs_f64();
    }
    let grown_with = with.1.database_bytes().await?.saturating_sub(before_with) as f64;
    let grown_without = without.1.database_bytes().await?.saturating_sub(before_without) as f64;
    report.search_load(backend, rows, t_with, t_without, (grown_with - grown_without) / 1e6);
    Ok(())
}

/// The loaded database of one scale, for the search rows.
pub async fn ensure<S: Store>(karen: &Karen<S>, raw: &Raw, scale: f64) -> Result<()> {
    load::ensure(karen, raw, None, scale).await?;
    Ok(())
}

/// The RPCs of a customer's search on Firestore, and its latency.
pub async fn firestore(
    report: &mut Report,
    karen: Arc<Karen<karen_firestore::FirestoreStore>>,
    workload: &Workload,
    tasks: usize,
    seconds: f64,
) -> Result<()> {
    let usage = karen.store().client().usage();
    let search = search_op(karen.clone(), workload, Scope::Customer);
    search(0).await?;
    const CALLS: u64 = 20;
    let (rpcs, docs) = (usage.rpcs(), usage.documents_read());
    for i in 0..CALLS {
        search(i).await?;
    }
    let per_call = |now: u64, before: u64| (now - before) as f64 / CALLS as f64;
    let (rpcs, docs) = (per_call(usage.rpcs(), rpcs), per_call(usage.documents_read(), docs));
    let s = measure::measure(tasks, Duration::from_secs_f64(seconds), &search).await?;
    report.firestore("search one customer's messages", rpcs, docs, &s);
    Ok(())
}
