//! Inbound e-mail (issue 15): parse + match + thread + store of one raw message through
//! `Karen::receive` on one connection, against the raw insert of the same rows (customer lookup,
//! message, attachment, one transaction) — target ≥ 0.5 of raw — for a 4 KB text message and
//! one with a 200 KB attachment; and `karen ingest email` of a 100,000-message mbox on SQLite
//! as a separate process (target ≥ 2,000 messages/s, peak resident memory ≤ 200 MB).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use karen_core::inbound::{BusinessIdentity, InboundRules};
use karen_core::model::Customer;
use karen_core::{Karen, Store};
use karen_inbound::corpus::{message_with_attachment_from, text_message_from};

use crate::measure::{self, op, Op};
use crate::raw::Raw;
use crate::report::Report;

/// Customers the benchmark's messages come from (created first, so messages match one).
const SENDERS: usize = 1000;

fn rules() -> InboundRules {
    InboundRules {
        identity: BusinessIdentity::new(&["office@757handy.com"], &[] as &[&str]).expect("a valid address"),
        ..Default::default()
    }
}

pub(crate) fn sender(i: u64) -> String {
    format!("sender{}@example.com", i % SENDERS as u64)
}

/// The two message shapes: the raw message of call `i` (its sender and a unique Message-ID
/// put into a message built once, so building it costs a copy, not an encoding).
pub(crate) fn shape(attachment: bool, run: u64, side: &'static str) -> impl Fn(u64) -> Vec<u8> + Send + Sync + 'static {
    let (from, id) = ("FROM-PLACEHOLDER@example.com", "ID-PLACEHOLDER@bench.example");
    let template = if attachment {
        message_with_attachment_from(from, id, 200 * 1024)
    } else {
        text_message_from(from, id, None, 4096)
    };
    let find =
        |needle: &str, hay: &[u8]| hay.windows(needle.len()).position(|w| w == needle.as_bytes()).expect("placeholder");
    let (f, i) = (find(from, &template), find(id, &template));
    assert!(f < i, "From comes before Message-ID");
    let parts = [template[..f].to_vec(), template[f + from.len()..i].to_vec(), template[i + id.len()..].to_vec()];
    move |n| {
        let id = format!("{side}-{}-{run}-{n}@bench.example", if attachment { "photo" } else { "text" });
        [parts[0].as_slice(), sender(n).as_bytes(), parts[1].as_slice(), id.as_bytes(), parts[2].as_slice()].concat()
    }
}

/// `Karen::receive` of the raw message `message(i)` of call `i`, each new, from a known sender.
pub(crate) fn receive_op<S: Store>(
    karen: Arc<Karen<S>>,
    message: impl Fn(u64) -> Vec<u8> + Send + Sync + 'static,
) -> Op {
    let (rules, message, next) = (Arc::new(rules()), Arc::new(message), Arc::new(AtomicU64::new(0)));
    op(move |_| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let (k, rules, raw) = (karen.clone(), rules.clone(), message(i));
        async move {
            let r = k.receive(karen_inbound::email::parse(&raw)?, &rules).await?;
            anyhow::ensure!(r.created, "each message is new");
            Ok(())
        }
    })
}

/// Creates the customers the benchmark's messages come from.
pub async fn senders<S: Store>(karen: &Karen<S>) -> Result<()> {
    let rows: Vec<Customer> = (0..SENDERS as u64)
        .map(|i| Customer { id: uuid::Uuid::now_v7(), primary_email: Some(sender(i)), ..Default::default() })
        .collect();
    karen.restore_many(rows).await?;
    Ok(())
}

/// Measures both shapes on one backend (fresh, empty databases for `karen` and `raw`; the
/// raw one has the senders already).
pub async fn compare<S: Store>(
    report: &mut Report,
    backend: &str,
    karen: Arc<Karen<S>>,
    raw: &Raw,
    seconds: f64,
) -> Result<()> {
    senders(&karen).await?;
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    for (name, attachment) in [("inbound e-mail, 4 KB text", false), ("inbound e-mail, 200 KB attachment", true)] {
        // The harness may call an index twice (its rounds restart): a counter keeps ids unique.
        let message = Arc::new(shape(attachment, run, "karen"));
        let (k, rules, next) = (karen.clone(), Arc::new(rules()), Arc::new(AtomicU64::new(0)));
        let karen_op: Op = op(move |_| {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (k, rules, raw) = (k.clone(), rules.clone(), message(i));
            async move {
                let parsed = karen_inbound::email::parse(&raw)?;
                let r = k.receive(parsed, &rules).await?;
                anyhow::ensure!(
                    r.created && !r.customer_created,
                    "each message is new, from a known customer: {:?} {} {}",
                    r.conversation.external_id,
                    r.created,
                    r.customer_created
                );
                Ok(())
            }
        });
        // The raw side writes the rows karen writes, from a message parsed once beforehand.
        let sample = karen_inbound::email::parse(&shape(attachment, run, "probe")(0))?;
        let (raw, template, next) = (raw.clone(), Arc::new(sample), Arc::new(AtomicU64::new(0)));
        let raw_op: Op = op(move |_| {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (raw, t) = (raw.clone(), template.clone());
            async move {
                raw.insert_email(&sender(i), &format!("raw-{attachment}-{run}-{i}@bench.example"), &t).await.map(|_| ())
            }
        });
        let (ks, rs) = measure::compare(1, seconds, &karen_op, &raw_op).await?;
        report.operation(backend, name, &ks, &rs);
    }
    Ok(())
}

/// `Karen::receive` of the 200 KB-attachment message with its bytes kept in a directory store
/// (decision 22: a blob written and fsynced before the message commits) against the same
/// receive on a karen keeping attachment metadata only; both on fresh SQLite files in `dir`.
pub async fn blob_cost(report: &mut Report, dir: &Path, seconds: f64) -> Result<()> {
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let mut sides = Vec::new();
    for (name, keep) in [("inbound-blobs.db", true), ("inbound-noblobs.db", false)] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
        }
        let blobs = dir.join(format!("{name}.blobs"));
        let _ = std::fs::remove_dir_all(&blobs);
        let mut karen = Karen::new(karen_sqlite::SqliteStore::open_with(&dir.join(name), 2).await?);
        if keep {
            let store = Arc::new(karen_blobs::DirStore::open(&blobs)?);
            karen = karen.with_files(karen_core::karen::Files::new(store, None, u64::MAX));
        }
        senders(&karen).await?;
        sides.push(receive_op(Arc::new(karen), shape(true, run, if keep { "blobs" } else { "noblobs" })));
    }
    let (with, without) = measure::compare(1, seconds, &sides[0], &sides[1]).await?;
    report.operation("sqlite", "inbound e-mail, 200 KB attachment: bytes kept / metadata only", &with, &without);
    Ok(())
}

/// Writes an mbox of `n` messages (2 KB bodies; 5,000 senders; a fifth are replies to an
/// earlier message, so threading looks them up) unless it exists.
fn write_mbox(path: &Path, n: usize) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let tmp = path.with_extension("tmp");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    for i in 0..n {
        let from = format!("person{}@example.com", i % 5000);
        let reply = (i >= 5000 && i % 5 == 0).then(|| format!("mbox-{}@bench.example", i - 5000));
        writeln!(out, "From {from} Tue Dec  1 09:00:00 2026")?;
        let raw = text_message_from(&from, &format!("mbox-{i}@bench.example"), reply.as_deref(), 2048);
        out.write_all(&raw)?;
        out.write_all(b"\r\n\r\n")?;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The peak resident memory of process `pid` so far (VmHWM), in kB.
pub fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `karen ingest email` over a 100,000-message mbox into a fresh SQLite file.
pub fn ingest(report: &mut Report, dir: &Path, karen_binary: &Path, messages: usize) -> Result<()> {
    let mbox = dir.join(format!("inbound-{messages}.mbox"));
    write_mbox(&mbox, messages).context("writing the mbox")?;
    let db = dir.join("inbound-ingest.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let started = Instant::now();
    let child = std::process::Command::new(karen_binary)
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .args(["ingest", "email"])
        .arg(&mbox)
        .args(["--business-address", "office@757handy.com"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", karen_binary.display()))?;
    let peak = Arc::new(AtomicU64::new(0));
    let pid = child.id();
    let watch = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            while let Some(kb) = peak_kb(pid) {
                peak.fetch_max(kb, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let out = child.wait_with_output()?;
    let secs = started.elapsed().as_secs_f64();
    let _ = watch.join();
    let summary = String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string();
    anyhow::ensure!(out.status.success(), "karen ingest failed: {summary}");
    anyhow::ensure!(summary.contains(&format!("{messages} stored")), "not every message was stored: {summary}");
    let peak_mb = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    report.ingest(messages, secs, peak_mb, std::fs::metadata(&mbox)?.len());
    Ok(())
}
