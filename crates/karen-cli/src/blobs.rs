//! `karen blobs sweep|verify` and `karen scan`: the attachment store's upkeep (decisions.md
//! item 22).

use anyhow::{bail, Result};
use karen_core::{Karen, Store};

/// Removes blobs no row names and staged uploads that never completed; prints the report.
pub async fn sweep<S: Store>(karen: &Karen<S>, grace_minutes: i64) -> Result<()> {
    let report = karen.sweep_blobs(chrono::Duration::minutes(grace_minutes.max(0))).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "{} blobs: {} named, {} removed, {} too recent to remove; {} staged uploads removed",
        report.blobs, report.named, report.removed, report.recent, report.staged_removed
    );
    Ok(())
}

/// Re-hashes every blob rows name, with a progress bar; fails listing what is missing or corrupt.
pub async fn verify<S: Store>(karen: &Karen<S>) -> Result<()> {
    let bar = indicatif::ProgressBar::no_length();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying {pos}/{len} blobs [{bar:30}] {binary_bytes_per_sec} ({eta})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    let report = karen
        .verify_blobs(|total, _bytes| {
            bar.set_length(total);
            bar.inc(1);
        })
        .await?;
    bar.finish_and_clear();
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.ok() {
        for (id, checksum) in &report.missing {
            eprintln!("attachment {id}: its blob {checksum} is missing");
        }
        for (id, checksum) in &report.corrupt {
            eprintln!("attachment {id}: its blob {checksum} is corrupt (its bytes hash to another checksum)");
        }
        bail!("{} attachments have missing and {} corrupt bytes", report.missing.len(), report.corrupt.len());
    }
    eprintln!("{} blobs, {} bytes: all whole", report.checked, report.bytes);
    Ok(())
}

/// Scans pending attachments once; prints the report.
pub async fn scan<S: Store>(karen: &Karen<S>) -> Result<()> {
    let report = karen.scan_pending().await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "{} clean, {} infected, {} to retry, {} failed for good",
        report.clean, report.infected, report.retrying, report.errors
    );
    Ok(())
}
