//! `karen ingest email`: a mailbox backfilled through the same path as `POST /v1/inbound/email`
//! (parse, match, thread, store), message by message in file order so replies follow what they
//! answer; mbox files are streamed. A message stored earlier is a redelivery, so a rerun over
//! the same input stores nothing twice.

use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use karen_core::inbound::{BusinessIdentity, InboundRules};
use karen_core::{Karen, Store};
use karen_inbound::mailbox::{self, Item, Kind, Mbox};

/// The business's identity on the command line (shared by `serve` and `ingest`).
#[derive(Debug, Clone, clap::Args)]
pub struct IdentityArgs {
    /// One of the business's own e-mail addresses (repeatable, or comma-separated in the
    /// environment): messages from them are outbound.
    #[arg(long = "business-address", env = "KAREN_BUSINESS_ADDRESSES", value_delimiter = ',')]
    pub business_addresses: Vec<String>,
    /// One of the business's own phone numbers (its Twilio numbers; repeatable).
    #[arg(long = "business-number", env = "KAREN_BUSINESS_NUMBERS", value_delimiter = ',')]
    pub business_numbers: Vec<String>,
    /// Hours an SMS or call thread stays open after its last message.
    #[arg(long, default_value_t = 24, env = "KAREN_SMS_THREAD_HOURS")]
    pub sms_thread_hours: u32,
}

impl IdentityArgs {
    /// The inbound rules these arguments describe.
    pub fn rules(&self) -> Result<InboundRules> {
        let trimmed =
            |v: &[String]| v.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>();
        let identity = BusinessIdentity::new(&trimmed(&self.business_addresses), &trimmed(&self.business_numbers))
            .context("reading --business-address / --business-number")?;
        Ok(InboundRules {
            identity,
            phone_thread_gap: chrono::Duration::hours(i64::from(self.sms_thread_hours.max(1))),
        })
    }
}

/// What an ingest did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Messages stored now.
    pub stored: u64,
    /// Messages stored before (redeliveries).
    pub redelivered: u64,
    /// Customers created for new addresses.
    pub customers_created: u64,
    /// Messages refused: where, and why.
    pub refused: Vec<(String, String)>,
    /// Seconds taken.
    pub seconds: f64,
}

impl Summary {
    /// Prints the summary on stderr (the refused ones too: all with `verbose`, else 20).
    pub fn print(&self, verbose: bool) {
        let total = self.stored + self.redelivered + self.refused.len() as u64;
        eprintln!(
            "{total} messages in {:.1} s ({:.0}/s): {} stored, {} already stored, {} refused; {} new customers",
            self.seconds,
            total as f64 / self.seconds.max(1e-9),
            self.stored,
            self.redelivered,
            self.refused.len(),
            self.customers_created
        );
        let shown = if verbose { self.refused.len() } else { self.refused.len().min(20) };
        for (source, why) in &self.refused[..shown] {
            eprintln!("  refused {source}: {why}");
        }
        if shown < self.refused.len() {
            eprintln!("  ... and {} more (--verbose lists them all)", self.refused.len() - shown);
        }
    }
}

/// The messages of one path.
type Source = Box<dyn Iterator<Item = Item>>;

/// The messages of every path, in order, and their total size.
fn items(paths: &[PathBuf]) -> Result<(Vec<Source>, u64)> {
    let mut out: Vec<Source> = Vec::new();
    let mut bytes = 0;
    for path in paths {
        match mailbox::kind(path).with_context(|| format!("reading {}", path.display()))? {
            Kind::Mbox => {
                bytes += std::fs::metadata(path)?.len();
                out.push(Box::new(Mbox::open(path)?));
            }
            Kind::Eml => {
                bytes += std::fs::metadata(path)?.len();
                let p = path.clone();
                out.push(Box::new(std::iter::once_with(move || Item {
                    source: p.display().to_string(),
                    bytes: std::fs::read(&p),
                })));
            }
            Kind::Maildir => {
                let files = mailbox::maildir_files(path)?;
                for f in &files {
                    bytes += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                }
                out.push(Box::new(
                    files.into_iter().map(|f| Item { source: f.display().to_string(), bytes: std::fs::read(&f) }),
                ));
            }
        }
    }
    Ok((out, bytes))
}

/// Messages written per transaction: a transaction per message costs more than the message
/// on SQLite (docs/performance.md).
const BATCH: usize = 256;

/// Records a batch of parsed messages and counts the outcomes.
async fn record<S: Store>(
    karen: &Karen<S>,
    batch: Vec<(String, karen_core::inbound::InboundMessage)>,
    rules: &InboundRules,
    summary: &mut Summary,
) -> Result<()> {
    let (sources, messages): (Vec<String>, Vec<_>) = batch.into_iter().unzip();
    for (source, outcome) in sources.into_iter().zip(karen.receive_batch(messages, rules).await) {
        match outcome {
            Ok(r) if r.created => {
                summary.stored += 1;
                summary.customers_created += u64::from(r.customer_created);
            }
            Ok(_) => summary.redelivered += 1,
            // The database going away ends the run; what was stored stays, and a rerun resumes.
            Err(err @ karen_core::StoreError::Unavailable(_)) | Err(err @ karen_core::StoreError::Backend(_)) => {
                return Err(err).context(format!("storing {source}"));
            }
            Err(err) => summary.refused.push((source, err.to_string())),
        }
    }
    Ok(())
}

/// Ingests every message of `paths` into `karen`.
pub async fn email<S: Store>(karen: &Karen<S>, paths: &[PathBuf], rules: &InboundRules) -> Result<Summary> {
    let (sources, total_bytes) = items(paths)?;
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:30}] {msg} ({eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let mut summary = Summary::default();
    let mut batch: Vec<(String, karen_core::inbound::InboundMessage)> = Vec::with_capacity(BATCH);
    for item in sources.into_iter().flatten() {
        let raw = match item.bytes {
            Ok(raw) => raw,
            Err(err) => {
                summary.refused.push((item.source, format!("cannot be read: {err}")));
                continue;
            }
        };
        bar.inc(raw.len() as u64);
        match karen_inbound::email::parse(&raw) {
            Ok(message) => batch.push((item.source, message)),
            Err(err) => summary.refused.push((item.source, err.to_string())),
        }
        if batch.len() == BATCH {
            record(karen, std::mem::take(&mut batch), rules, &mut summary).await?;
            bar.set_message(format!("{} messages", summary.stored + summary.redelivered));
        }
    }
    record(karen, batch, rules, &mut summary).await?;
    bar.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
