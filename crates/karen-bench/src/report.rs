//! The tables: each row is shown on stderr as it is measured, and at the end every table is
//! printed as Markdown (what docs/performance.md holds) and written as JSON.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{json, Value};

use crate::load::Loaded;
use crate::measure::Sample;
use crate::Args;

/// Every figure of a run.
pub struct Report {
    header: Value,
    /// Table name -> (column names, rows).
    tables: BTreeMap<&'static str, (Vec<&'static str>, Vec<Vec<Value>>)>,
    order: Vec<&'static str>,
    notes: Vec<String>,
}

fn r2(x: f64) -> Value {
    json!((x * 100.0).round() / 100.0)
}

fn r0(x: f64) -> Value {
    json!(x.round() as i64)
}

fn ms(x: f64) -> Value {
    json!((x * 1000.0).round() / 1000.0)
}

impl Report {
    /// A report of the run `args` describes.
    pub fn new(args: &Args) -> Self {
        Report {
            header: json!({"date": chrono::Utc::now().to_rfc3339(), "scale": args.scale, "tasks": args.tasks,
                "seconds": args.seconds, "firestore_scale": args.firestore_scale}),
            tables: BTreeMap::new(),
            order: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn row(&mut self, table: &'static str, columns: &[&'static str], row: Vec<Value>) {
        eprintln!("{table}: {}", row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("  "));
        if !self.tables.contains_key(table) {
            self.order.push(table);
        }
        self.tables.entry(table).or_insert_with(|| (columns.to_vec(), Vec::new())).1.push(row);
    }

    /// A line printed under the tables.
    pub fn note(&mut self, text: &str) {
        eprintln!("{text}");
        self.notes.push(text.to_string());
    }

    /// The load table (none when the data was reused).
    pub fn load(&mut self, backend: &str, scale: f64, loaded: &Option<Vec<Loaded>>) {
        let Some(loaded) = loaded else {
            self.note(&format!("{backend}: scale {scale} was already loaded; no load figures (use empty databases)"));
            return;
        };
        let all = Loaded {
            kind: "all rows",
            rows: loaded.iter().map(|l| l.rows).sum(),
            karen_secs: loaded.iter().map(|l| l.karen_secs).sum(),
            raw_secs: loaded.iter().map(|l| l.raw_secs).sum(),
        };
        for l in loaded.iter().chain([&all]) {
            let karen = l.rows as f64 / l.karen_secs.max(1e-9);
            let raw = l.raw_secs.map(|s| l.rows as f64 / s.max(1e-9));
            self.row(
                "load",
                &["backend", "rows", "count", "karen rows/s", "raw rows/s", "karen/raw"],
                vec![
                    json!(backend),
                    json!(l.kind),
                    json!(l.rows),
                    r0(karen),
                    raw.map_or(Value::Null, r0),
                    raw.map_or(Value::Null, |r| r2(karen / r)),
                ],
            );
        }
    }

    /// A row of the operations table.
    pub fn operation(&mut self, backend: &str, name: &str, k: &Sample, r: &Sample) {
        self.row(
            "operations",
            &[
                "backend",
                "operation",
                "karen ops/s",
                "raw ops/s",
                "karen/raw",
                "p50 karen",
                "p50 raw",
                "p99 karen",
                "p99 raw",
            ],
            vec![
                json!(backend),
                json!(name),
                r0(k.ops()),
                r0(r.ops()),
                r2(k.ops() / r.ops().max(1e-9)),
                ms(k.ms(0.5)),
                ms(r.ms(0.5)),
                ms(k.ms(0.99)),
                ms(r.ms(0.99)),
            ],
        );
    }

    /// A row of the index-set table.
    pub fn index_set(&mut self, backend: &str, name: &str, karens: &Sample, design: &Sample) {
        self.row(
            "index sets",
            &[
                "backend",
                "operation",
                "karen's set ops/s",
                "design's set ops/s",
                "karen's/design's",
                "p50 karen's",
                "p50 design's",
            ],
            vec![
                json!(backend),
                json!(name),
                r0(karens.ops()),
                r0(design.ops()),
                r2(karens.ops() / design.ops().max(1e-9)),
                ms(karens.ms(0.5)),
                ms(design.ms(0.5)),
            ],
        );
    }

    /// A row of the scaling table.
    pub fn scaling(&mut self, backend: &str, name: &str, scale: f64, big: &Sample, small: &Sample) {
        self.row(
            "scaling",
            &["backend", "operation", "scales", "p50 small", "p50 large", "p50 growth", "ops/s small", "ops/s large"],
            vec![
                json!(backend),
                json!(name),
                json!(format!("{} -> {scale}", scale / 10.0)),
                ms(small.ms(0.5)),
                ms(big.ms(0.5)),
                r2(big.ms(0.5) / small.ms(0.5).max(1e-9)),
                r0(small.ops()),
                r0(big.ops()),
            ],
        );
    }

    /// A row of the HTTP table.
    pub fn http(&mut self, backend: &str, name: &str, http: &Sample, in_process: &Sample) {
        self.row(
            "http",
            &["backend", "operation", "HTTP req/s", "in-process ops/s", "HTTP/in-process", "HTTP p50", "HTTP p99"],
            vec![
                json!(backend),
                json!(name),
                r0(http.ops()),
                r0(in_process.ops()),
                r2(http.ops() / in_process.ops().max(1e-9)),
                ms(http.ms(0.5)),
                ms(http.ms(0.99)),
            ],
        );
    }

    /// A row of the agents table: the reply context, each of its parts alone, quotes.
    /// `slowest` is the p50 of the context's slowest part; `rpcs` the Firestore RPCs per call.
    pub fn agents(&mut self, backend: &str, name: &str, s: &Sample, slowest: Option<f64>, rpcs: Option<f64>) {
        self.row(
            "agents",
            &["backend", "call", "ops/s", "p50", "p99", "p50 / slowest part p50", "RPCs/call"],
            vec![
                json!(backend),
                json!(name),
                r0(s.ops()),
                ms(s.ms(0.5)),
                ms(s.ms(0.99)),
                slowest.map_or(Value::Null, |p| r2(s.ms(0.5) / p.max(1e-9))),
                rpcs.map_or(Value::Null, r2),
            ],
        );
    }

    /// The ingest row: a mailbox backfilled by `karen ingest email` as its own process.
    pub fn ingest(&mut self, messages: usize, seconds: f64, peak_mb: f64, bytes: u64) {
        self.row(
            "karen ingest email (SQLite, one process)",
            &["messages", "mbox MB", "seconds", "messages/s", "peak resident MB"],
            vec![
                json!(messages),
                r0(bytes as f64 / 1e6),
                r2(seconds),
                r0(messages as f64 / seconds.max(1e-9)),
                r0(peak_mb),
            ],
        );
    }

    /// A row of the attachment table: karen's transfer against a file copy of the same bytes.
    pub fn files(
        &mut self,
        direction: &str,
        label: &str,
        size: usize,
        k: &Sample,
        copy: &Sample,
        durable: Option<&Sample>,
    ) {
        let mbs = |s: &Sample| s.ops() * size as f64 / (1024.0 * 1024.0);
        self.row(
            "attachment bytes (karen serve, SQLite, directory store)",
            &[
                "operation",
                "file",
                "karen MiB/s",
                "file copy MiB/s",
                "karen/copy",
                "copy+fsync MiB/s",
                "karen/(copy+fsync)",
                "p50 karen",
                "p99 karen",
            ],
            vec![
                json!(direction),
                json!(label),
                r0(mbs(k)),
                r0(mbs(copy)),
                r2(k.ops() / copy.ops().max(1e-9)),
                durable.map_or(Value::Null, |d| r0(mbs(d))),
                durable.map_or(Value::Null, |d| r2(k.ops() / d.ops().max(1e-9))),
                ms(k.ms(0.5)),
                ms(k.ms(0.99)),
            ],
        );
    }

    /// The row of the server's memory while a large file is uploaded.
    pub fn upload_memory(&mut self, mib: u64, before_mb: f64, peak_mb: f64) {
        self.row(
            "upload memory (karen serve)",
            &["file MiB", "peak resident MiB before", "peak resident MiB during upload", "growth MiB"],
            vec![json!(mib), r0(before_mb), r0(peak_mb), r0(peak_mb - before_mb)],
        );
    }

    /// A row of the search table: karen's search against the unindexed scan a store without a
    /// full-text index would run, when measured; `hits` is how many messages the query matches.
    pub fn search(&mut self, backend: &str, name: &str, hits: i64, k: &Sample, scan: Option<&Sample>) {
        self.row(
            "conversation search",
            &["backend", "search", "matches", "ops/s", "p50", "p99", "scan ops/s", "scan p50", "karen/scan ops"],
            vec![
                json!(backend),
                json!(name),
                json!(hits),
                r2(k.ops()),
                ms(k.ms(0.5)),
                ms(k.ms(0.99)),
                scan.map_or(Value::Null, |s| r2(s.ops())),
                scan.map_or(Value::Null, |s| ms(s.ms(0.5))),
                scan.map_or(Value::Null, |s| r2(k.ops() / s.ops().max(1e-9))),
            ],
        );
    }

    /// The row of what the search index costs a bulk load of messages.
    pub fn search_load(&mut self, backend: &str, rows: usize, with: f64, without: f64, index_mb: f64) {
        self.row(
            "message bulk load with the search index",
            &["backend", "messages", "rows/s with index", "rows/s without", "with/without", "index MB"],
            vec![
                json!(backend),
                json!(rows),
                r0(rows as f64 / with),
                r0(rows as f64 / without),
                r2(without / with),
                r0(index_mb),
            ],
        );
    }

    /// The row of the search migration over messages already stored.
    pub fn search_migration(&mut self, backend: &str, messages: i64, seconds: f64) {
        self.row(
            "indexing stored messages (the search migration)",
            &["backend", "messages", "seconds", "messages/s"],
            vec![json!(backend), json!(messages), r2(seconds), r0(messages as f64 / seconds.max(1e-9))],
        );
    }

    /// The row of webhook delivery to a local receiver against plain POSTs to it.
    pub fn delivery(&mut self, backend: &str, events: usize, karen_secs: f64, raw_secs: f64) {
        self.row(
            "webhook delivery to a local receiver",
            &["backend", "events", "karen events/s", "plain POSTs/s", "karen/plain"],
            vec![
                json!(backend),
                json!(events),
                r0(events as f64 / karen_secs.max(1e-9)),
                r0(events as f64 / raw_secs.max(1e-9)),
                r2(raw_secs / karen_secs.max(1e-9)),
            ],
        );
    }

    /// A row of the Firestore table.
    pub fn firestore(&mut self, name: &str, rpcs: f64, docs: f64, s: &Sample) {
        self.row(
            "firestore (emulator)",
            &["operation", "RPCs/call", "documents read/call", "ops/s", "p50", "p99"],
            vec![json!(name), r2(rpcs), r2(docs), r0(s.ops()), ms(s.ms(0.5)), ms(s.ms(0.99))],
        );
    }

    /// Prints every table as Markdown and writes the JSON.
    pub fn finish(self, output: Option<&std::path::Path>) -> Result<()> {
        println!("karen-bench {}", self.header);
        let mut doc = self.header.clone();
        for name in &self.order {
            let (columns, rows) = &self.tables[name];
            println!("\n### {name}\n");
            println!("| {} |", columns.join(" | "));
            println!("|{}", columns.iter().map(|_| " --- |").collect::<String>());
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        Value::Null => "-".into(),
                        other => other.to_string(),
                    })
                    .collect();
                println!("| {} |", cells.join(" | "));
            }
            let objects: Vec<Value> = rows
                .iter()
                .map(|r| Value::Object(columns.iter().map(|c| c.to_string()).zip(r.iter().cloned()).collect()))
                .collect();
            doc[*name] = Value::Array(objects);
        }
        for n in &self.notes {
            println!("\n{n}");
        }
        doc["notes"] = json!(self.notes);
        if let Some(path) = output {
            std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
        }
        Ok(())
    }
}
