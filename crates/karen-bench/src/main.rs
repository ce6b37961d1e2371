//! `karen-bench`: loads deterministic synthetic data through karen's bulk path, then measures
//! each query pattern and write through karen against the same statements sent through the
//! driver directly, alternating the two in one process, and prints ops/s, p50 and p99.
//!
//! ```sh
//! cargo run --release -p karen-bench -- --database-url sqlite:///tmp/bench.db --scale 0.1
//! cargo run --release -p karen-bench -- --database-url postgres://postgres@127.0.0.1:5432/bench --scale 0.1
//! ```

mod data;
mod raw;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use chrono::Utc;
use clap::Parser;
use karen_core::enums::{Direction, Medium, PreferenceMedium, PreferenceSource, PreferenceType};
use karen_core::model::{Conversation, CustomerPreference};
use karen_core::query::PageRequest;
use karen_core::{Karen, Store};
use raw::Raw;
use serde_json::json;

/// karen against raw SQL on the same data, in one run.
#[derive(Debug, Parser)]
struct Args {
    /// `sqlite://PATH` or `postgres://...` (an empty database or one loaded at the same scale).
    #[arg(long)]
    database_url: String,
    /// Scale factor: 1 = 100,000 customers and 3,000,000 messages.
    #[arg(long, default_value_t = 0.01)]
    scale: f64,
    /// Seconds per operation and side (karen, raw), split over two alternating rounds.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// Concurrent tasks.
    #[arg(long, default_value_t = 4)]
    tasks: usize,
    /// Where to write the results as JSON.
    #[arg(long)]
    output: Option<std::path::PathBuf>,
}

/// Latencies of one side of one operation.
#[derive(Default)]
struct Sample {
    micros: Vec<u64>,
    elapsed: f64,
}

impl Sample {
    fn ops(&self) -> f64 {
        self.micros.len() as f64 / self.elapsed.max(1e-9)
    }
    fn pct(&mut self, p: f64) -> f64 {
        self.micros.sort_unstable();
        if self.micros.is_empty() {
            return 0.0;
        }
        let i = ((self.micros.len() as f64 - 1.0) * p).round() as usize;
        self.micros[i] as f64 / 1000.0
    }
}

async fn measure<F, Fut>(tasks: usize, dur: Duration, f: F) -> Result<Sample>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let start = Instant::now();
    let deadline = start + dur;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let f = f.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t as u64 * 1_000_003;
            while Instant::now() < deadline {
                let s = Instant::now();
                f(i).await?;
                lat.push(s.elapsed().as_micros() as u64);
                i += 1;
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut sample = Sample::default();
    for h in handles {
        sample.micros.extend(h.await??);
    }
    sample.elapsed = start.elapsed().as_secs_f64();
    Ok(sample)
}

/// Runs karen's and the raw side of one operation in two alternating rounds.
async fn compare<FK, FutK, FR, FutR>(tasks: usize, seconds: f64, karen: FK, raw: FR) -> Result<(Sample, Sample)>
where
    FK: Fn(u64) -> FutK + Clone + Send + Sync + 'static,
    FutK: Future<Output = Result<()>> + Send,
    FR: Fn(u64) -> FutR + Clone + Send + Sync + 'static,
    FutR: Future<Output = Result<()>> + Send,
{
    let half = Duration::from_secs_f64(seconds / 2.0);
    let (mut k, mut r) = (Sample::default(), Sample::default());
    for _ in 0..2 {
        let a = measure(tasks, half, karen.clone()).await?;
        k.micros.extend(a.micros);
        k.elapsed += a.elapsed;
        let b = measure(tasks, half, raw.clone()).await?;
        r.micros.extend(b.micros);
        r.elapsed += b.elapsed;
    }
    Ok((k, r))
}

async fn load<S: Store>(karen: &Karen<S>, raw: &Raw, scale: f64) -> Result<Vec<serde_json::Value>> {
    let sizes = data::Sizes::at(scale);
    let loaded = raw.count("customers").await?;
    if loaded as usize == sizes.customers {
        eprintln!("data of scale {scale} already loaded");
        raw.analyze().await?;
        return Ok(vec![]);
    }
    if loaded != 0 {
        bail!("the database holds {loaded} customers, not the {} of scale {scale}: use an empty one", sizes.customers);
    }
    let now = Utc::now();
    let mut rng = data::Rng::new(42);
    let mut report = Vec::new();
    let (cats, services, tiers, packages, items) = data::catalog(&mut rng, now);
    let t = Instant::now();
    let catalog_rows = cats.len() + services.len() + tiers.len() + packages.len() + items.len();
    karen.restore_many(cats).await?;
    karen.restore_many(services).await?;
    karen.restore_many(tiers).await?;
    karen.restore_many(packages).await?;
    karen.restore_many(items).await?;
    report.push(
        json!({"kind": "catalog", "rows": catalog_rows, "rows_per_s": catalog_rows as f64 / t.elapsed().as_secs_f64()}),
    );

    let t = Instant::now();
    let mut ids = Vec::with_capacity(sizes.customers);
    let mut pref_rows = 0;
    for from in (0..sizes.customers).step_by(5000) {
        let to = (from + 5000).min(sizes.customers);
        let batch = data::customers(from, to, now);
        let prefs: Vec<CustomerPreference> =
            batch.iter().enumerate().flat_map(|(k, c)| data::preferences(c, from + k, now)).collect();
        ids.extend(batch.iter().map(|c| c.id));
        pref_rows += prefs.len();
        karen.restore_many(batch).await?;
        karen.restore_many(prefs).await?;
        eprint!("\rcustomers {to}/{}   ", sizes.customers);
    }
    let rows = sizes.customers + pref_rows;
    report.push(
        json!({"kind": "customers+preferences", "rows": rows, "rows_per_s": rows as f64 / t.elapsed().as_secs_f64()}),
    );

    let t = Instant::now();
    let mut conv_rows = 0;
    for from in (0..sizes.conversations).step_by(5000) {
        let to = (from + 5000).min(sizes.conversations);
        let batch = data::conversations(from, to, &ids, now);
        conv_rows += batch.len();
        karen.restore_many(batch).await?;
        eprint!("\rconversations {to}/{}   ", sizes.conversations);
    }
    eprintln!();
    raw.analyze().await?;
    report.push(
        json!({"kind": "conversations", "rows": conv_rows, "rows_per_s": conv_rows as f64 / t.elapsed().as_secs_f64()}),
    );
    Ok(report)
}

async fn run<S: Store>(karen: Karen<S>, raw: Raw, args: &Args) -> Result<()> {
    let load_report = load(&karen, &raw, args.scale).await?;
    for l in &load_report {
        println!(
            "load {:<24} {:>9} rows  {:>10.0} rows/s (karen bulk path)",
            l["kind"].as_str().unwrap_or(""),
            l["rows"],
            l["rows_per_s"].as_f64().unwrap_or(0.0)
        );
    }
    let sizes = data::Sizes::at(args.scale);
    let now = Utc::now();
    // Shared for the whole run: leaked so the closures below can copy them.
    let customers: &'static [uuid::Uuid] =
        Vec::leak(data::customers(0, sizes.customers, now).iter().map(|c| c.id).collect());
    let vocab: &'static [String] = Vec::leak(data::vocabulary());
    let karen = Arc::new(karen);
    let pick = move |i: u64| customers[((i.wrapping_mul(2_654_435_761)) % customers.len() as u64) as usize];
    let n = sizes.customers as u64;
    let mut rows = Vec::new();
    macro_rules! op {
        ($name:expr, |$k:ident, $i:ident| $kbody:expr, |$r:ident, $j:ident| $rbody:expr) => {{
            let (kk, rr) = (karen.clone(), raw.clone());
            let (mut ks, mut rs) = compare(
                args.tasks,
                args.seconds,
                move |$i: u64| {
                    let $k = kk.clone();
                    async move {
                        $kbody;
                        Ok(())
                    }
                },
                move |$j: u64| {
                    let $r = rr.clone();
                    async move {
                        $rbody;
                        Ok(())
                    }
                },
            )
            .await?;
            let row = json!({
                "operation": $name, "karen_ops_s": ks.ops(), "raw_ops_s": rs.ops(), "ratio": ks.ops() / rs.ops().max(1e-9),
                "karen_p50_ms": ks.pct(0.5), "karen_p99_ms": ks.pct(0.99), "raw_p50_ms": rs.pct(0.5), "raw_p99_ms": rs.pct(0.99)
            });
            println!(
                "{:<22} karen {:>9.0}/s  raw {:>9.0}/s  ratio {:>5.2}  p50 {:>7.3}/{:<7.3} ms  p99 {:>7.3}/{:<7.3} ms",
                $name, ks.ops(), rs.ops(), ks.ops() / rs.ops().max(1e-9), ks.pct(0.5), rs.pct(0.5), ks.pct(0.99), rs.pct(0.99)
            );
            rows.push(row);
        }};
    }
    println!("{:<22} {:>16} {:>15} {:>11}  (p50 and p99: karen/raw)", "operation", "karen", "raw", "");
    op!(
        "preference lookup",
        |k, i| k.preferences(pick(i), Some(PreferenceType::CommunicationMethod)).await?,
        |r, i| r.preferences(pick(i), "communication_method", Utc::now()).await?
    );
    op!(
        "conversation history",
        |k, i| k.history(pick(i), Some(Medium::Email), &PageRequest::first()).await?,
        |r, i| r.history(pick(i), "email").await?
    );
    op!(
        "service search",
        |k, i| k
            .search_services(
                &[vocab[(i % 300) as usize].clone(), vocab[((i * 7) % 300) as usize].clone()],
                &PageRequest::first()
            )
            .await?,
        |r, i| r.search(&[vocab[(i % 300) as usize].clone(), vocab[((i * 7) % 300) as usize].clone()]).await?
    );
    op!("analytics (30 days)", |k, i| k.analytics(pick(i), 30).await?, |r, i| r
        .analytics(pick(i), Utc::now() - chrono::Duration::days(30), Utc::now())
        .await?);
    op!("customer by email", |k, i| k.customer_by_email(&format!("customer{}@example.com", i % n)).await?, |r, i| r
        .by_email(&format!("customer{}@example.com", i % n))
        .await?);
    op!("thread lookup", |k, i| k.thread(&format!("thread-{}", i % 1000)).await?, |r, i| r
        .thread(&format!("thread-{}", i % 1000))
        .await?);
    let run_id: &'static str = String::leak(uuid::Uuid::now_v7().simple().to_string());
    op!(
        "insert inbound message",
        |k, i| k
            .record_message(Conversation {
                customer_id: pick(i),
                external_id: Some(format!("bench-k-{run_id}-{i}")),
                medium: Medium::Sms,
                direction: Direction::Inbound,
                content: "Is Thursday still good?".into(),
                message_timestamp: Utc::now(),
                ..Default::default()
            })
            .await?,
        |r, i| r
            .insert_message(pick(i), &format!("bench-r-{run_id}-{i}"), "Is Thursday still good?", Utc::now())
            .await?
    );
    op!(
        "upsert preference",
        |k, i| k
            .upsert_preference(CustomerPreference {
                customer_id: pick(i),
                preference_type: PreferenceType::Custom,
                preference_key: "bench_counter".into(),
                preference_value: json!({"value": i}),
                confidence_score: "0.5".parse().unwrap(),
                source: PreferenceSource::Learned,
                medium: PreferenceMedium::General,
                ..Default::default()
            })
            .await?,
        |r, i| r.upsert_preference(pick(i), i as i64, Utc::now()).await?
    );
    if let Some(path) = &args.output {
        let doc = json!({"backend": karen.store().backend(), "scale": args.scale, "tasks": args.tasks, "seconds": args.seconds,
            "date": Utc::now().to_rfc3339(), "load": load_report, "operations": rows});
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.database_url.starts_with("postgres") {
        let store = karen_postgres::PgStore::connect(&args.database_url, (args.tasks as u32) * 2 + 2).await?;
        store.migrate().await?;
        let raw = Raw::Pg(store.pool().clone());
        run(Karen::new(store), raw, &args).await
    } else if args.database_url.starts_with("sqlite://") {
        let path = std::path::PathBuf::from(args.database_url.trim_start_matches("sqlite://"));
        let store = karen_sqlite::SqliteStore::open_with(&path, args.tasks as u32 + 1).await?;
        let raw = Raw::Sqlite(store.readers().clone(), store.writer().clone());
        run(Karen::new(store), raw, &args).await
    } else {
        bail!("use sqlite://PATH or postgres://...")
    }
}
