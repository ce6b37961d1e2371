//! `karen-bench`: what karen's layers cost over talking to the database directly.
//!
//! For each backend it loads deterministic synthetic data through karen's bulk path, alternating
//! chunk by chunk with the raw driver's fastest path into a second database of the same schema;
//! then it runs each query pattern and write through karen and as the same SQL through the
//! driver, alternating in one process; then the reads with the design's index set instead of
//! karen's; the keyed lookups at a tenth of the scale; and an HTTP load against `karen serve`.
//! On Firestore's emulator it counts the RPCs and documents each operation costs.
//!
//! ```sh
//! cargo run --release -p karen-bench -- --scale 0.1
//! ```

mod agents;
mod data;
mod events;
mod files;
mod http;
mod inbound;
mod indexes;
mod load;
mod measure;
mod ops;
mod raw;
mod report;
mod search;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use karen_core::{Karen, Store};
use raw::Raw;
use report::Report;

/// karen against the raw driver, on every backend, in one run.
#[derive(Debug, Parser)]
struct Args {
    /// Scale factor: 1 = 100,000 customers and 3,000,000 messages. The scaling table also
    /// loads a tenth of it.
    #[arg(long, default_value_t = 0.1)]
    scale: f64,
    /// Seconds per operation and side, split over two alternating rounds.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Concurrent tasks.
    #[arg(long, default_value_t = 4)]
    tasks: usize,
    /// Backends to run, of sqlite, postgres and firestore (firestore needs
    /// FIRESTORE_EMULATOR_HOST and is skipped, saying so, without it).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres,firestore")]
    backends: Vec<String>,
    /// Folder of the SQLite files (kept between runs: a loaded scale is reused).
    #[arg(long, default_value = "/var/tmp/karen-bench")]
    sqlite_dir: PathBuf,
    /// PostgreSQL server; the bench creates its databases `<prefix>_<scale>` there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres_url: String,
    /// Name prefix of the PostgreSQL databases (kept between runs: a loaded scale is reused).
    #[arg(long, default_value = "karen_bench")]
    database_prefix: String,
    /// Scale of the Firestore run (the emulator is slow to load; RPC counts do not depend on size).
    #[arg(long, default_value_t = 0.001)]
    firestore_scale: f64,
    /// Where to write every table as JSON.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Run only the inbound tables (issue 15): receive against raw inserts on fresh SQLite and
    /// PostgreSQL databases, and `karen ingest email` of an mbox.
    #[arg(long)]
    inbound_only: bool,
    /// Run only the attachment-bytes tables (issue 16): uploads and downloads through `karen
    /// serve` against a file copy, and the server's memory while a 100 MiB file is uploaded.
    #[arg(long)]
    files_only: bool,
    /// Run only the search tables (issue 17) at --scale: a customer's search and a search of
    /// every message against the unindexed scan, the index's cost to a bulk load (at
    /// --search-load-scale, into fresh databases) and the RPCs of a search on Firestore.
    #[arg(long)]
    search_only: bool,
    /// Run only the event tables (issue 20): an inbound e-mail and a preference upsert with the
    /// event log against without it, on fresh SQLite and PostgreSQL databases.
    #[arg(long)]
    events_only: bool,
    /// Events the webhook delivery row delivers.
    #[arg(long, default_value_t = 20_000)]
    delivery_events: usize,
    /// Scale of the load-cost row of the search tables.
    #[arg(long, default_value_t = 0.1)]
    search_load_scale: f64,
    /// Messages of the mbox `karen ingest email` reads.
    #[arg(long, default_value_t = 100_000)]
    ingest_messages: usize,
    /// The `karen` binary the ingest row runs (default: beside this one).
    #[arg(long)]
    karen_binary: Option<PathBuf>,
}

/// The inbound tables on fresh databases of every SQL backend asked for, then the ingest.
async fn run_inbound(args: &Args, report: &mut Report) -> Result<()> {
    for backend in &args.backends {
        match backend.as_str() {
            "sqlite" => {
                std::fs::create_dir_all(&args.sqlite_dir)?;
                for name in ["inbound-karen.db", "inbound-raw.db"] {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(args.sqlite_dir.join(format!("{name}{suffix}")));
                    }
                }
                let k = open_sqlite(&args.sqlite_dir, "inbound-karen.db", 1).await?;
                let r = open_sqlite(&args.sqlite_dir, "inbound-raw.db", 1).await?;
                seed_senders(&r.karen).await?;
                inbound::compare(report, "sqlite", k.karen.clone(), &r.raw, args.seconds).await?;
            }
            "postgres" => {
                let base = args.postgres_url.trim_end_matches('/');
                let (kdb, rdb) =
                    (format!("{}_inbound", args.database_prefix), format!("{}_inbound_raw", args.database_prefix));
                let k = open_postgres(base, &kdb, 1, true).await?;
                let r = open_postgres(base, &rdb, 1, true).await?;
                seed_senders(&r.karen).await?;
                inbound::compare(report, "postgres", k.karen.clone(), &r.raw, args.seconds).await?;
                k.karen.store().pool().close().await;
                r.karen.store().pool().close().await;
                drop_postgres(base, &kdb).await?;
                drop_postgres(base, &rdb).await?;
            }
            _ => {}
        }
    }
    let binary = match &args.karen_binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("karen"),
    };
    std::fs::create_dir_all(&args.sqlite_dir)?;
    inbound::ingest(report, &args.sqlite_dir, &binary, args.ingest_messages)
}

/// The event tables on fresh databases of every SQL backend asked for.
async fn run_events(args: &Args, report: &mut Report) -> Result<()> {
    for backend in &args.backends {
        match backend.as_str() {
            "sqlite" => {
                std::fs::create_dir_all(&args.sqlite_dir)?;
                for name in ["events-with.db", "events-without.db"] {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(args.sqlite_dir.join(format!("{name}{suffix}")));
                    }
                }
                let with = open_sqlite(&args.sqlite_dir, "events-with.db", 1).await?;
                let without = open_sqlite(&args.sqlite_dir, "events-without.db", 1).await?;
                events::without_events_sqlite(without.karen.store()).await?;
                events::compare(report, "sqlite", with.karen, without.karen, args.seconds).await?;
                events::delivery(report, &args.sqlite_dir, args.delivery_events).await?;
            }
            "postgres" => {
                let base = args.postgres_url.trim_end_matches('/');
                let (wdb, odb) =
                    (format!("{}_events", args.database_prefix), format!("{}_events_off", args.database_prefix));
                let with = open_postgres(base, &wdb, 1, true).await?;
                let without = open_postgres(base, &odb, 1, true).await?;
                events::without_events_postgres(without.karen.store()).await?;
                let pools = (with.karen.store().pool().clone(), without.karen.store().pool().clone());
                events::compare(report, "postgres", with.karen, without.karen, args.seconds).await?;
                pools.0.close().await;
                pools.1.close().await;
                drop_postgres(base, &wdb).await?;
                drop_postgres(base, &odb).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The search tables on every backend asked for.
async fn run_search(args: &Args, report: &mut Report) -> Result<()> {
    let workload = load::workload(args.scale);
    for backend in &args.backends {
        match backend.as_str() {
            "sqlite" => {
                std::fs::create_dir_all(&args.sqlite_dir)?;
                let name = format!("karen-{}.db", tag(args.scale));
                let fresh = !args.sqlite_dir.join(&name).exists();
                let mut main = open_sqlite(&args.sqlite_dir, &name, args.tasks).await?;
                if fresh {
                    // Loaded as before the search migration, which then indexes what is stored.
                    sqlx::raw_sql(
                        "DROP TRIGGER trg_conversations_search_insert; DROP TRIGGER trg_conversations_search_update;
                         DROP TRIGGER trg_conversations_search_delete; DROP TABLE conversation_fts;
                         DROP VIEW conversation_search_docs; DROP TABLE conversation_search_ids;
                         DELETE FROM karen_schema_migrations WHERE version = 12;",
                    )
                    .execute(main.karen.store().writer())
                    .await?;
                    search::ensure(&main.karen, &main.raw, args.scale).await?;
                    main.karen.store().close().await;
                    let t = std::time::Instant::now();
                    main = open_sqlite(&args.sqlite_dir, &name, args.tasks).await?;
                    let messages = main.raw.count("conversations").await?;
                    report.search_migration("sqlite", messages, t.elapsed().as_secs_f64());
                }
                search::ensure(&main.karen, &main.raw, args.scale).await?;
                search::tables(report, "sqlite", main.karen.clone(), &main.raw, &workload, args.tasks, args.seconds)
                    .await?;
                main.karen.store().close().await;
                let names = ["search-with.db", "search-without.db"];
                for name in names {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(args.sqlite_dir.join(format!("{name}{suffix}")));
                    }
                }
                let with = open_sqlite(&args.sqlite_dir, names[0], 1).await?;
                let without = open_sqlite(&args.sqlite_dir, names[1], 1).await?;
                for trigger in ["insert", "update", "delete"] {
                    sqlx::query(&format!("DROP TRIGGER trg_conversations_search_{trigger}"))
                        .execute(without.karen.store().writer())
                        .await?;
                }
                let (w, wo) = ((&*with.karen, &with.raw), (&*without.karen, &without.raw));
                search::load_cost(report, "sqlite", w, wo, args.search_load_scale).await?;
                with.karen.store().close().await;
                without.karen.store().close().await;
                for name in names {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(args.sqlite_dir.join(format!("{name}{suffix}")));
                    }
                }
            }
            "postgres" => {
                let base = args.postgres_url.trim_end_matches('/');
                let prefix = &args.database_prefix;
                let main = open_postgres(base, &format!("{prefix}_{}", tag(args.scale)), args.tasks, false).await?;
                if main.raw.count("customers").await? == 0 {
                    // Loaded as before the search migration, which then indexes what is stored.
                    sqlx::raw_sql(
                        "ALTER TABLE conversations DROP COLUMN search_vector; DROP FUNCTION karen_search_text;
                         DROP TEXT SEARCH CONFIGURATION karen_search; DROP TEXT SEARCH DICTIONARY karen_porter;
                         DELETE FROM karen_schema_migrations WHERE version = 11;",
                    )
                    .execute(main.karen.store().pool())
                    .await?;
                    search::ensure(&main.karen, &main.raw, args.scale).await?;
                    let t = std::time::Instant::now();
                    main.karen.store().migrate().await?;
                    let messages = main.raw.count("conversations").await?;
                    report.search_migration("postgres", messages, t.elapsed().as_secs_f64());
                    main.raw.analyze().await?;
                }
                search::ensure(&main.karen, &main.raw, args.scale).await?;
                search::tables(report, "postgres", main.karen.clone(), &main.raw, &workload, args.tasks, args.seconds)
                    .await?;
                main.karen.store().pool().close().await;
                let names = [format!("{prefix}_search_with"), format!("{prefix}_search_without")];
                let with = open_postgres(base, &names[0], 1, true).await?;
                let without = open_postgres(base, &names[1], 1, true).await?;
                sqlx::query("ALTER TABLE conversations DROP COLUMN search_vector")
                    .execute(without.karen.store().pool())
                    .await?;
                let (w, wo) = ((&*with.karen, &with.raw), (&*without.karen, &without.raw));
                search::load_cost(report, "postgres", w, wo, args.search_load_scale).await?;
                with.karen.store().pool().close().await;
                without.karen.store().pool().close().await;
                for name in &names {
                    drop_postgres(base, name).await?;
                }
            }
            "firestore" => {
                let Some(host) = std::env::var("FIRESTORE_EMULATOR_HOST").ok().filter(|h| !h.is_empty()) else {
                    report.note("firestore: skipped (FIRESTORE_EMULATOR_HOST is not set)");
                    continue;
                };
                let project = format!("karen-bench-{}", uuid::Uuid::new_v4().simple());
                let store = karen_firestore::FirestoreStore::emulator(&host, &project)?;
                let karen = Arc::new(Karen::new(store));
                load::fill(&karen, None, args.firestore_scale).await?;
                let workload = load::workload(args.firestore_scale);
                search::firestore(report, karen, &workload, args.tasks, args.seconds / 2.0).await?;
            }
            other => anyhow::bail!("unknown backend {other}: use sqlite, postgres or firestore"),
        }
    }
    Ok(())
}

/// The raw side's database needs the same senders as karen's.
async fn seed_senders<S: Store>(karen: &Karen<S>) -> Result<()> {
    inbound::senders(karen).await
}

/// A loaded SQL database of one scale: karen over it and the raw pool of the same database.
struct Target<S> {
    karen: Arc<Karen<S>>,
    raw: Raw,
}

fn tag(scale: f64) -> String {
    format!("{scale}").replace('.', "_")
}

async fn open_sqlite(dir: &std::path::Path, name: &str, tasks: usize) -> Result<Target<karen_sqlite::SqliteStore>> {
    let store = karen_sqlite::SqliteStore::open_with(&dir.join(name), tasks as u32 + 1).await?;
    let raw = Raw::Sqlite(store.readers().clone(), store.writer().clone());
    Ok(Target { karen: Arc::new(Karen::new(store)), raw })
}

async fn open_postgres(base: &str, db: &str, tasks: usize, fresh: bool) -> Result<Target<karen_postgres::PgStore>> {
    let admin = sqlx::PgPool::connect(&format!("{base}/postgres")).await.context("connecting to PostgreSQL")?;
    if fresh {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&admin).await?;
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(db)
        .fetch_one(&admin)
        .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {db}")).execute(&admin).await?;
    }
    admin.close().await;
    let store = karen_postgres::PgStore::connect(&format!("{base}/{db}"), tasks as u32 * 2 + 2).await?;
    store.migrate().await?;
    let raw = Raw::Pg(store.pool().clone());
    Ok(Target { karen: Arc::new(Karen::new(store)), raw })
}

async fn drop_postgres(base: &str, db: &str) -> Result<()> {
    let admin = sqlx::PgPool::connect(&format!("{base}/postgres")).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&admin).await?;
    admin.close().await;
    Ok(())
}

/// Every table of one SQL backend.
async fn run_sql<S: Store + Clone>(
    args: &Args,
    report: &mut Report,
    main: Target<S>,
    raw_copy: Option<Target<S>>,
    small: Target<S>,
) -> Result<()> {
    let backend = main.karen.store().backend();
    let loaded = load::ensure(&main.karen, &main.raw, raw_copy.as_ref().map(|t| &t.raw), args.scale).await?;
    report.load(backend, args.scale, &loaded);
    load::ensure(&small.karen, &small.raw, None, args.scale / 10.0).await?;

    let workload = load::workload(args.scale);
    let karen_ops = ops::karen_ops(main.karen.clone(), &workload);
    let raw_ops = ops::raw_ops(&main.raw, &workload);
    let mut karen_samples = Vec::new();
    for (i, name) in ops::NAMES.iter().enumerate() {
        let (k, r) = measure::compare(args.tasks, args.seconds, &karen_ops[i], &raw_ops[i]).await?;
        report.operation(backend, name, &k, &r);
        karen_samples.push(k);
    }

    indexes::compare(args, report, backend, &main.raw, &karen_ops).await?;

    let small_ops = ops::karen_ops(small.karen.clone(), &load::workload(args.scale / 10.0));
    for i in ops::KEYED {
        let s = measure::measure(args.tasks, std::time::Duration::from_secs_f64(args.seconds), &small_ops[i]).await?;
        report.scaling(backend, ops::NAMES[i], args.scale, &karen_samples[i], &s);
    }

    http::compare(args, report, backend, main.karen.store().clone(), &workload, &karen_samples).await?;
    agents(args, report, backend, main.karen.clone(), &workload, None).await
}

/// The agents table: each part of the reply context alone, the context, quotes. On Firestore,
/// `usage` counts the RPCs of a context call.
async fn agents<S: Store>(
    args: &Args,
    report: &mut Report,
    backend: &str,
    karen: Arc<Karen<S>>,
    workload: &ops::Workload,
    usage: Option<&karen_firestore::client::Usage>,
) -> Result<()> {
    let a = agents::ops(karen, workload).await?;
    let dur = std::time::Duration::from_secs_f64(args.seconds);
    // With every core busy (the bench's tasks) a call costs the sum of its parts' work; with
    // one caller its concurrent reads overlap. Both are reported.
    let mut levels = vec![args.tasks];
    if args.tasks > 1 {
        levels.push(1);
    }
    for tasks in levels {
        let label = |name: &str| format!("{name} ({tasks} task{})", if tasks == 1 { "" } else { "s" });
        let mut slowest: f64 = 0.0;
        for (name, part) in &a.parts {
            let s = measure::measure(tasks, dur, part).await?;
            slowest = slowest.max(s.ms(0.5));
            report.agents(backend, &label(name), &s, None, None);
        }
        let s = measure::measure(tasks, dur, &a.context).await?;
        report.agents(backend, &label("reply context (all parts)"), &s, Some(slowest), None);
    }
    if let Some(u) = usage {
        const CALLS: u64 = 20;
        let before = u.rpcs();
        for i in 0..CALLS {
            (a.context)(i).await?;
        }
        let rpcs = (u.rpcs() - before) as f64 / CALLS as f64;
        let s = measure::measure(1, dur, &a.context).await?;
        report.agents(backend, "reply context, RPCs counted (1 task)", &s, None, Some(rpcs));
    }
    let s = measure::measure(args.tasks, dur, &a.quote).await?;
    report.agents(backend, "quote", &s, None, None);
    let s = measure::measure(args.tasks, dur, &a.quotes_10).await?;
    report.agents(backend, "10 quotes in one call (ops/s × 10 = quotes/s)", &s, None, None);
    Ok(())
}

async fn run_firestore(args: &Args, report: &mut Report) -> Result<()> {
    let Some(host) = std::env::var("FIRESTORE_EMULATOR_HOST").ok().filter(|h| !h.is_empty()) else {
        report.note("firestore: skipped (FIRESTORE_EMULATOR_HOST is not set)");
        return Ok(());
    };
    let project = format!("karen-bench-{}", uuid::Uuid::new_v4().simple());
    let store = karen_firestore::FirestoreStore::emulator(&host, &project)?;
    let karen = Arc::new(Karen::new(store.clone()));
    load::fill(&karen, None, args.firestore_scale).await?;
    let workload = load::workload(args.firestore_scale);
    let karen_ops = ops::karen_ops(karen.clone(), &workload);
    let usage = store.client().usage();
    for (i, name) in ops::NAMES.iter().enumerate() {
        // Warm (the catalog snapshot's first load is not what a search costs afterwards).
        karen_ops[i](u64::MAX / 2).await?;
        let (rpcs, docs) = (usage.rpcs(), usage.documents_read());
        const CALLS: u64 = 20;
        for c in 0..CALLS {
            karen_ops[i](c).await?;
        }
        let per_call = |now: u64, before: u64| (now - before) as f64 / CALLS as f64;
        let (rpcs, docs) = (per_call(usage.rpcs(), rpcs), per_call(usage.documents_read(), docs));
        let sample =
            measure::measure(args.tasks, std::time::Duration::from_secs_f64(args.seconds / 2.0), &karen_ops[i]).await?;
        report.firestore(name, rpcs, docs, &sample);
    }
    agents(args, report, "firestore", karen, &workload, Some(usage)).await
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut report = Report::new(&args);
    if args.files_only {
        let binary = match &args.karen_binary {
            Some(b) => b.clone(),
            None => std::env::current_exe()?.with_file_name("karen"),
        };
        std::fs::create_dir_all(&args.sqlite_dir)?;
        files::run(&mut report, &args.sqlite_dir, &binary, args.seconds).await?;
        inbound::blob_cost(&mut report, &args.sqlite_dir, args.seconds).await?;
        return report.finish(args.output.as_deref());
    }
    if args.search_only {
        run_search(&args, &mut report).await?;
        return report.finish(args.output.as_deref());
    }
    if args.inbound_only {
        run_inbound(&args, &mut report).await?;
        return report.finish(args.output.as_deref());
    }
    if args.events_only {
        run_events(&args, &mut report).await?;
        return report.finish(args.output.as_deref());
    }
    for backend in &args.backends {
        match backend.as_str() {
            "sqlite" => {
                std::fs::create_dir_all(&args.sqlite_dir)?;
                let raw_file = format!("raw-{}.db", tag(args.scale));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(args.sqlite_dir.join(format!("{raw_file}{suffix}")));
                }
                let main = open_sqlite(&args.sqlite_dir, &format!("karen-{}.db", tag(args.scale)), args.tasks).await?;
                let raw = open_sqlite(&args.sqlite_dir, &raw_file, args.tasks).await?;
                let small =
                    open_sqlite(&args.sqlite_dir, &format!("karen-{}.db", tag(args.scale / 10.0)), args.tasks).await?;
                let raw_store = raw.karen.store().clone();
                run_sql(&args, &mut report, main, Some(raw), small).await?;
                raw_store.close().await;
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(args.sqlite_dir.join(format!("{raw_file}{suffix}")));
                }
            }
            "postgres" => {
                let base = args.postgres_url.trim_end_matches('/');
                let prefix = &args.database_prefix;
                let raw_db = format!("{prefix}_raw_{}", tag(args.scale));
                let main = open_postgres(base, &format!("{prefix}_{}", tag(args.scale)), args.tasks, false).await?;
                let raw = open_postgres(base, &raw_db, args.tasks, true).await?;
                let small =
                    open_postgres(base, &format!("{prefix}_{}", tag(args.scale / 10.0)), args.tasks, false).await?;
                let raw_pool = raw.karen.store().pool().clone();
                run_sql(&args, &mut report, main, Some(raw), small).await?;
                raw_pool.close().await;
                drop_postgres(base, &raw_db).await?;
            }
            "firestore" => run_firestore(&args, &mut report).await?,
            other => anyhow::bail!("unknown backend {other}: use sqlite, postgres or firestore"),
        }
    }
    report.finish(args.output.as_deref())
}
