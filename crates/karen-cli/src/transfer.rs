//! `karen export` / `karen import`: every row of every entity as JSON Lines, one
//! `{"kind": ..., "data": {...}}` per line, parents before children, streamed both ways, so data
//! moves between backends unchanged (ids and timestamps included). Also the token listing.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use karen_core::model::*;
use karen_core::query::PageRequest;
use karen_core::{Entity, EntityKind, Karen, Store, StoreError};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use uuid::Uuid;

/// Progress on standard error (indicatif, drawn only when it is a terminal): a bar when the
/// total is known, else a spinner; rows, rate and the kind being written.
struct Progress {
    bar: indicatif::ProgressBar,
    n: u64,
}

impl Progress {
    fn new(verb: &'static str, total: Option<u64>) -> Self {
        let (bar, template) = match total {
            Some(t) => (
                indicatif::ProgressBar::new(t),
                format!("{verb} {{pos}}/{{len}} rows [{{bar:30}}] {{per_sec}} {{msg}} ({{eta}})"),
            ),
            None => {
                (indicatif::ProgressBar::no_length(), format!("{{spinner}} {verb} {{pos}} rows, {{per_sec}} {{msg}}"))
            }
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(&template).expect("a valid template").progress_chars("=> "),
        );
        Progress { bar, n: 0 }
    }
    fn tick(&mut self, kind: &str) {
        self.n += 1;
        if self.n.is_multiple_of(256) {
            self.bar.set_position(self.n);
            self.bar.set_message(kind.to_string());
        }
    }
    fn done(&self) {
        self.bar.finish_and_clear();
    }
}

/// How an export carries attachment bytes (decisions.md item 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BlobMode {
    /// In a blob directory beside the output file (`OUTPUT.blobs`, laid out as karen's own).
    Dir,
    /// In the JSON Lines, as a `blob` line (base64) before the first attachment naming it.
    Inline,
    /// Not at all: attachment rows only.
    None,
}

/// The kind of the line of an inline blob.
const BLOB: &str = "blob";

/// The blob directory beside an export file.
pub fn blob_dir_of(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".blobs");
    name.into()
}

/// Where an export writes the bytes of the attachments it holds, each once.
struct BlobSink {
    mode: BlobMode,
    dir: Option<karen_blobs::DirStore>,
    written: HashSet<karen_core::blob::BlobKey>,
    bytes: u64,
}

/// The kind of the last line of an export: row counts per kind and the SHA-256 of every line
/// before it, so a truncated or edited file is told apart from a whole one.
const TRAILER: &str = "trailer";

/// What an export has written so far: counts per kind and the digest of its lines.
#[derive(Default)]
struct Tally {
    rows: std::collections::BTreeMap<String, u64>,
    digest: Sha256,
}

impl Tally {
    fn add(&mut self, kind: &str, line: &[u8]) {
        *self.rows.entry(kind.to_string()).or_default() += 1;
        self.digest.update(line);
    }
    fn trailer(self) -> serde_json::Value {
        let hex: String = self.digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
        json!({"kind": TRAILER, "data": {"rows": self.rows, "sha256": format!("sha256:{hex}")}})
    }
}

/// Writes one line of an export.
async fn write_line<W: AsyncWrite + Unpin>(
    out: &mut W,
    tally: &mut Tally,
    kind: &str,
    data: serde_json::Value,
) -> Result<()> {
    let mut line = serde_json::to_vec(&json!({"kind": kind, "data": data}))?;
    line.push(b'\n');
    out.write_all(&line).await?;
    tally.add(kind, &line);
    Ok(())
}

/// Writes every attachment row, each after the bytes it names when karen holds them (checked
/// against their checksum on the way: a corrupt blob stops the export naming the attachment).
async fn export_attachments<S: Store, W: AsyncWrite + Unpin>(
    k: &Karen<S>,
    out: &mut W,
    progress: &mut Progress,
    tally: &mut Tally,
    sink: &mut BlobSink,
) -> Result<()> {
    let mut page = PageRequest::of(500);
    loop {
        let p = k.list::<ConversationAttachment>(&[], &page).await?;
        for row in &p.items {
            if let (Some(key), Some(files)) = (k.stored_blob(row), k.files()) {
                if sink.mode != BlobMode::None && sink.written.insert(key) {
                    let what = || format!("attachment {}: its bytes", row.id);
                    match (&sink.dir, sink.mode) {
                        (Some(dir), BlobMode::Dir) => {
                            sink.bytes +=
                                karen_core::blob::copy(files.blobs.as_ref(), dir, &key).await.with_context(what)?;
                        }
                        _ => {
                            use base64::Engine;
                            let bytes = read_blob(files.blobs.as_ref(), &key).await.with_context(what)?;
                            sink.bytes += bytes.len() as u64;
                            let data = json!({"checksum": key.checksum(), "base64": base64_engine().encode(&bytes)});
                            write_line(out, tally, BLOB, data).await?;
                        }
                    }
                }
            }
            write_line(out, tally, EntityKind::ConversationAttachment.name(), serde_json::to_value(row)?).await?;
            progress.tick(EntityKind::ConversationAttachment.name());
        }
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 500),
            None => return Ok(()),
        }
    }
}

/// The whole bytes of a blob, checked against its key on the way.
async fn read_blob(store: &dyn karen_core::blob::BlobStore, key: &karen_core::blob::BlobKey) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let (size, inner) = store.open(key).await?;
    let range = karen_core::blob::ByteRange { start: 0, end: size };
    let mut stream = karen_core::blob::verified(inner, *key, range, |_| {});
    let mut bytes = Vec::with_capacity(size as usize);
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}

fn base64_engine() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

async fn export_kind<S: Store, E: Entity, W: AsyncWrite + Unpin>(
    k: &Karen<S>,
    out: &mut W,
    progress: &mut Progress,
    tally: &mut Tally,
) -> Result<()> {
    let mut page = PageRequest::of(500);
    loop {
        let p = k.list::<E>(&[], &page).await?;
        for row in &p.items {
            let mut line = serde_json::to_vec(&json!({"kind": E::KIND.name(), "data": row}))?;
            line.push(b'\n');
            out.write_all(&line).await?;
            tally.add(E::KIND.name(), &line);
            progress.tick(E::KIND.name());
        }
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 500),
            None => return Ok(()),
        }
    }
}

/// What an export wrote.
pub struct ExportReport {
    /// Rows written.
    pub rows: u64,
    /// Attachment blobs written, and their bytes.
    pub blobs: (u64, u64),
}

/// Writes every row to `output` (standard output when none), then the trailer. API tokens
/// (their hashes would work as tokens on the target) only with `include_tokens`. Attachment
/// bytes as `blobs` says (default: a blob directory beside a file, inline on standard output).
pub async fn export<S: Store>(
    k: &Karen<S>,
    output: Option<&Path>,
    include_tokens: bool,
    blobs: Option<BlobMode>,
) -> Result<ExportReport> {
    let mode = blobs.unwrap_or(if output.is_some() { BlobMode::Dir } else { BlobMode::Inline });
    let dir = match (mode, output) {
        (BlobMode::Dir, Some(p)) => Some(karen_blobs::DirStore::open(blob_dir_of(p))?),
        (BlobMode::Dir, None) => bail!("--blobs dir needs --output (the blob directory goes beside it)"),
        _ => None,
    };
    let mut blob_sink = BlobSink { mode, dir, written: HashSet::new(), bytes: 0 };
    let sink: Box<dyn AsyncWrite + Unpin + Send> = match output {
        Some(p) => Box::new(tokio::fs::File::create(p).await.with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(tokio::io::stdout()),
    };
    let mut out = BufWriter::new(sink);
    let mut progress = Progress::new("exported", None);
    let mut tally = Tally::default();
    let t = &mut tally;
    for kind in EntityKind::ALL {
        match kind {
            EntityKind::Customer => export_kind::<S, Customer, _>(k, &mut out, &mut progress, t).await?,
            EntityKind::CustomerPreference => {
                export_kind::<S, CustomerPreference, _>(k, &mut out, &mut progress, t).await?
            }
            EntityKind::Conversation => export_kind::<S, Conversation, _>(k, &mut out, &mut progress, t).await?,
            EntityKind::ConversationAttachment => {
                export_attachments(k, &mut out, &mut progress, t, &mut blob_sink).await?
            }
            EntityKind::ServiceCategory => export_kind::<S, ServiceCategory, _>(k, &mut out, &mut progress, t).await?,
            EntityKind::Service => export_kind::<S, Service, _>(k, &mut out, &mut progress, t).await?,
            EntityKind::ServicePricingTier => {
                export_kind::<S, ServicePricingTier, _>(k, &mut out, &mut progress, t).await?
            }
            EntityKind::ServicePackage => export_kind::<S, ServicePackage, _>(k, &mut out, &mut progress, t).await?,
            EntityKind::PackageService => export_kind::<S, PackageService, _>(k, &mut out, &mut progress, t).await?,
            EntityKind::ApiToken if !include_tokens => {}
            EntityKind::ApiToken => export_kind::<S, ApiToken, _>(k, &mut out, &mut progress, t).await?,
            EntityKind::PreferenceHistory => {
                export_kind::<S, PreferenceHistory, _>(k, &mut out, &mut progress, t).await?
            }
            EntityKind::Consent => export_kind::<S, ConsentRecord, _>(k, &mut out, &mut progress, t).await?,
            // Delivery configuration and its log stay with their database, as the event log
            // does: a copy that delivered the source's events again would send them twice,
            // signed with the source's secrets (docs/decisions.md K54).
            EntityKind::Webhook | EntityKind::WebhookDelivery => {}
        }
    }
    let mut trailer = serde_json::to_vec(&tally.trailer())?;
    trailer.push(b'\n');
    out.write_all(&trailer).await?;
    out.flush().await?;
    progress.done();
    Ok(ExportReport { rows: progress.n, blobs: (blob_sink.written.len() as u64, blob_sink.bytes) })
}

/// A row waiting for the row it refers to (a response, a parent category) to be imported.
struct Waiting {
    kind: String,
    data: serde_json::Value,
    line: u64,
}

/// The id a row of `kind` refers to within its own kind, if any: such rows may come before
/// their target in id order and wait for it.
fn self_reference(kind: &str, data: &serde_json::Value) -> Option<Uuid> {
    let field = match kind {
        "conversation" => "response_id",
        "service_category" => "parent_category_id",
        _ => return None,
    };
    data.get(field).and_then(|v| v.as_str()).and_then(|s| Uuid::try_parse(s).ok())
}

/// Stores one exported row as it is. A row already stored under its id and equal to it is
/// skipped (a rerun after a crash); a different one is refused naming the line. Returns the id
/// and whether the row was stored now.
async fn restore_row<S: Store, E: Entity>(k: &Karen<S>, data: serde_json::Value, line: u64) -> Result<(Uuid, bool)> {
    let mut row: E =
        serde_json::from_value(data).with_context(|| format!("line {line}: not a valid {}", E::KIND.name()))?;
    let err = match k.restore(row.clone()).await {
        Ok(stored) => return Ok((stored.id(), true)),
        Err(err @ StoreError::Conflict { .. }) => err,
        Err(err) => return Err(err).with_context(|| format!("line {line}: importing a {}", E::KIND.name())),
    };
    match k.get::<E>(row.id()).await {
        Ok(stored) => {
            // Compare as restore would have stored it (normalised forms).
            row.validate().with_context(|| format!("line {line}: importing a {}", E::KIND.name()))?;
            if stored == row {
                Ok((row.id(), false))
            } else {
                bail!("line {line}: a different {} with id {} is already stored", E::KIND.name(), row.id())
            }
        }
        Err(StoreError::NotFound { .. }) => {
            Err(err).with_context(|| format!("line {line}: importing a {}", E::KIND.name()))
        }
        Err(other) => Err(other.into()),
    }
}

async fn restore_one<S: Store>(k: &Karen<S>, kind: &str, data: serde_json::Value, line: u64) -> Result<(Uuid, bool)> {
    match kind {
        "customer" => restore_row::<S, Customer>(k, data, line).await,
        "customer_preference" => restore_row::<S, CustomerPreference>(k, data, line).await,
        "conversation" => restore_row::<S, Conversation>(k, data, line).await,
        "conversation_attachment" => restore_row::<S, ConversationAttachment>(k, data, line).await,
        "service_category" => restore_row::<S, ServiceCategory>(k, data, line).await,
        "service" => restore_row::<S, Service>(k, data, line).await,
        "service_pricing_tier" => restore_row::<S, ServicePricingTier>(k, data, line).await,
        "service_package" => restore_row::<S, ServicePackage>(k, data, line).await,
        "package_service" => restore_row::<S, PackageService>(k, data, line).await,
        "api_token" => restore_row::<S, ApiToken>(k, data, line).await,
        "preference_history" => restore_row::<S, PreferenceHistory>(k, data, line).await,
        "consent" => restore_row::<S, ConsentRecord>(k, data, line).await,
        other => bail!("line {line}: unknown kind {other:?}"),
    }
}

/// How an import went.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Rows stored now.
    pub stored: u64,
    /// Rows that were already stored, equal (a rerun).
    pub skipped: u64,
    /// Whether the input ended with a matching trailer.
    pub complete: bool,
}

/// Reads an export line by line as bytes: numbers lines, drops a UTF-8 byte order mark on the
/// first, refuses a line that is not UTF-8 naming it, and checks the trailer against the lines
/// before it.
struct ExportReader {
    lines: BufReader<Box<dyn AsyncRead + Unpin + Send>>,
    line_no: u64,
    tally: Tally,
    trailer_seen: bool,
}

impl ExportReader {
    async fn open(input: Option<&Path>) -> Result<Self> {
        let source: Box<dyn AsyncRead + Unpin + Send> = match input {
            Some(p) => Box::new(tokio::fs::File::open(p).await.with_context(|| format!("opening {}", p.display()))?),
            None => Box::new(tokio::io::stdin()),
        };
        Ok(ExportReader { lines: BufReader::new(source), line_no: 0, tally: Tally::default(), trailer_seen: false })
    }

    /// The next row as (line number, kind, data); none at the end of the input.
    async fn next(&mut self) -> Result<Option<(u64, String, serde_json::Value)>> {
        loop {
            let mut raw = Vec::new();
            if self.lines.read_until(b'\n', &mut raw).await? == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let n = self.line_no;
            let mut text = std::str::from_utf8(&raw).map_err(|e| anyhow::anyhow!("line {n}: not UTF-8 ({e})"))?;
            if n == 1 {
                text = text.strip_prefix('\u{feff}').unwrap_or(text);
            }
            if text.trim().is_empty() {
                continue;
            }
            if self.trailer_seen {
                bail!("line {n}: the export's trailer must be its last line");
            }
            let v: serde_json::Value = serde_json::from_str(text).with_context(|| format!("line {n}: not JSON"))?;
            let (Some(kind), Some(data)) = (v.get("kind").and_then(|k| k.as_str()), v.get("data")) else {
                bail!("line {n}: expected {{\"kind\": ..., \"data\": {{...}}}}");
            };
            if kind == TRAILER {
                let expected = std::mem::take(&mut self.tally).trailer();
                if expected["data"] != *data {
                    bail!(
                        "line {n}: the trailer does not match the lines before it (the file was changed or cut): \
                         it says {data}, the lines give {}",
                        expected["data"]
                    );
                }
                self.trailer_seen = true;
                continue;
            }
            let mut hashed = text.as_bytes().to_vec();
            if !hashed.ends_with(b"\n") {
                hashed.push(b'\n');
            }
            self.tally.add(kind, &hashed);
            return Ok(Some((n, kind.to_string(), data.clone())));
        }
    }
}

/// Reads an export from `input` (standard input when none) into `k`. A file is checked whole
/// first: one without its trailer, or whose trailer does not match, is refused before anything
/// is written, unless `allow_partial` (standard input is checked at its end). Rows already
/// stored and equal are skipped, so a rerun after a crash completes the import.
pub async fn import<S: Store>(k: &Karen<S>, input: Option<&Path>, allow_partial: bool) -> Result<ImportReport> {
    let mut total = None;
    if let (Some(path), false) = (input, allow_partial) {
        let mut check = ExportReader::open(Some(path)).await?;
        let mut rows = 0;
        while check.next().await?.is_some() {
            rows += 1;
        }
        total = Some(rows);
        if !check.trailer_seen {
            bail!(
                "{} ends without the export's trailer: it was cut short (--allow-partial imports it anyway)",
                path.display()
            );
        }
    }
    let mut reader = ExportReader::open(input).await?;
    let mut report = ImportReport::default();
    let mut blobs = BlobSource {
        dir: input.map(blob_dir_of).filter(|d| d.is_dir()).map(karen_blobs::DirStore::open).transpose()?,
        stored: HashSet::new(),
    };
    let mut progress = Progress::new("imported", total);
    let mut imported: HashSet<Uuid> = HashSet::new();
    let mut waiting: HashMap<Uuid, Vec<Waiting>> = HashMap::new();
    while let Some((line_no, kind, mut data)) = reader.next().await? {
        if kind == BLOB {
            blobs.store_inline(k, &data, line_no).await?;
            continue;
        }
        if kind == EntityKind::ConversationAttachment.name() {
            blobs.bring(k, &mut data, line_no).await?;
        }
        if let Some(target) = self_reference(&kind, &data) {
            if !imported.contains(&target) && !exists(k, &kind, target).await? {
                waiting.entry(target).or_default().push(Waiting { kind, data, line: line_no });
                continue;
            }
        }
        let mut ready = vec![Waiting { kind, data, line: line_no }];
        while let Some(row) = ready.pop() {
            let kind = row.kind.clone();
            let (id, stored) = restore_one(k, &row.kind, row.data, row.line).await?;
            if stored {
                report.stored += 1;
            } else {
                report.skipped += 1;
            }
            imported.insert(id);
            progress.tick(&kind);
            if let Some(next) = waiting.remove(&id) {
                ready.extend(next);
            }
        }
    }
    progress.done();
    if let Some((target, rows)) = waiting.iter().next() {
        bail!(
            "{} row(s) refer to rows that are neither in the input nor in the database (first: line {} refers to {target})",
            waiting.values().map(Vec::len).sum::<usize>(),
            rows[0].line
        );
    }
    report.complete = reader.trailer_seen;
    if !report.complete && !allow_partial {
        bail!("the input ended without the export's trailer: it was cut short (--allow-partial accepts it)");
    }
    Ok(report)
}

/// Where an import finds attachment bytes: `blob` lines, and the blob directory beside the
/// input; every blob is checked against its checksum before it is stored.
struct BlobSource {
    dir: Option<karen_blobs::DirStore>,
    /// Blobs stored by this import.
    stored: HashSet<karen_core::blob::BlobKey>,
}

impl BlobSource {
    /// Stores the bytes of a `blob` line in `k`'s attachment store.
    async fn store_inline<S: Store>(&mut self, k: &Karen<S>, data: &serde_json::Value, line: u64) -> Result<()> {
        use base64::Engine;
        let files = k.files().with_context(|| format!("line {line}: no attachment store to import bytes into"))?;
        let claimed = data.get("checksum").and_then(|c| c.as_str()).unwrap_or("");
        let key = karen_core::blob::BlobKey::from_checksum(claimed)
            .with_context(|| format!("line {line}: a blob needs a checksum sha256:<hex>"))?;
        let bytes = base64_engine()
            .decode(data.get("base64").and_then(|b| b.as_str()).unwrap_or(""))
            .with_context(|| format!("line {line}: the blob is not base64"))?;
        let actual = karen_core::blob::BlobKey::of(&bytes);
        if actual != key {
            bail!("line {line}: the blob's bytes hash to {actual}, not to its checksum {key}");
        }
        karen_core::blob::put(files.blobs.as_ref(), bytes).await?;
        self.stored.insert(key);
        Ok(())
    }

    /// Makes an attachment row name bytes in `k`'s store: copied (and checked) from the blob
    /// directory, or stored from a `blob` line before it; a row whose bytes the export does not
    /// hold stays as it is (metadata only).
    async fn bring<S: Store>(&mut self, k: &Karen<S>, data: &mut serde_json::Value, line: u64) -> Result<()> {
        let Some(key) =
            data.get("checksum").and_then(|c| c.as_str()).and_then(karen_core::blob::BlobKey::from_checksum)
        else {
            return Ok(());
        };
        let Some(files) = k.files() else { return Ok(()) };
        if !self.stored.contains(&key) {
            let Some(dir) = &self.dir else { return Ok(()) };
            match karen_core::blob::copy(dir, files.blobs.as_ref(), &key).await {
                Ok(_) => {
                    self.stored.insert(key);
                }
                Err(karen_core::blob::BlobError::Missing(_)) => return Ok(()),
                Err(e) => return Err(e).with_context(|| format!("line {line}: the attachment's bytes")),
            }
        }
        data["storage_path"] = json!(files.blobs.location(&key));
        Ok(())
    }
}

async fn exists<S: Store>(k: &Karen<S>, kind: &str, id: Uuid) -> Result<bool> {
    let found = match kind {
        "conversation" => k.get::<Conversation>(id).await.map(|_| ()),
        _ => k.get::<ServiceCategory>(id).await.map(|_| ()),
    };
    match found {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Prints the tokens, one per line (id, name, scopes, created, revoked).
pub async fn print_tokens<S: Store>(k: &Karen<S>) -> Result<()> {
    let mut page = PageRequest::of(500);
    println!("{:<36}  {:<20}  {:<17}  {:<27}  revoked", "id", "name", "scopes", "created");
    loop {
        let p = k.list::<ApiToken>(&[], &page).await?;
        for t in &p.items {
            let revoked = t.revoked_at.map_or("-".to_string(), |r| r.to_rfc3339());
            println!(
                "{:<36}  {:<20}  {:<17}  {:<27}  {revoked}",
                t.id,
                t.name,
                t.scopes.join(","),
                t.created_at.to_rfc3339()
            );
        }
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 500),
            None => return Ok(()),
        }
    }
}

/// Revokes a token.
pub async fn revoke_token<S: Store>(k: &Karen<S>, id: Uuid) -> Result<()> {
    k.revoke_token(id).await?;
    Ok(())
}
