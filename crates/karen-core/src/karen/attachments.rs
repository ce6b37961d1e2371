//! Attachment bytes on [`Karen`] (decisions.md item 22): uploads, verified downloads, the
//! removal of bytes no row names any more, checking every blob, and virus scanning.
//!
//! A blob is committed before the row that names it, and bytes are removed only when no row
//! names them: uploads hold the shared side of [`Files::gate`] from committing their blob until
//! their row is written, and a removal holds the exclusive side from asking whether any row
//! names the blob until it is gone, so within one process a removal can never take the bytes of
//! a row that commits meanwhile. Across processes the sweep leaves blobs written within its
//! grace period alone (an upload commits its blob again, which makes it new).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{checked, Karen};
use crate::blob::{self, BlobError, BlobKey, BlobStore, ByteRange, ByteStream, Scanner, Staged};
use crate::entity::Entity;
use crate::enums::VirusScanStatus;
use crate::error::{StoreError, StoreResult};
use crate::model::{Conversation, ConversationAttachment};
use crate::query::ListQuery;
use crate::store::{list_every, Store};
use crate::value::Value;

/// Largest attachment accepted when nothing else is configured: 50 MiB.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 50 * 1024 * 1024;

/// Scans of one attachment that may fail (clamd down, a refused size) before its status becomes
/// `error`.
pub const MAX_SCAN_ATTEMPTS: i64 = 5;

/// Where karen keeps attachment bytes, and how they are scanned.
pub struct Files {
    /// The blob store.
    pub blobs: Arc<dyn BlobStore>,
    /// The virus scanner; none: new attachments are `skipped` and served.
    pub scanner: Option<Arc<dyn Scanner>>,
    /// Largest attachment accepted, in bytes.
    pub max_bytes: u64,
    /// Uploads (shared) against removals (exclusive); see the module.
    gate: tokio::sync::RwLock<()>,
}

impl Files {
    /// Bytes kept in `blobs`, scanned by `scanner` when there is one.
    pub fn new(blobs: Arc<dyn BlobStore>, scanner: Option<Arc<dyn Scanner>>, max_bytes: u64) -> Files {
        Files { blobs, scanner, max_bytes, gate: tokio::sync::RwLock::new(()) }
    }
}

/// What an upload says about its bytes; karen computes the rest (size, checksum, where).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upload {
    /// The file's name.
    pub file_name: String,
    /// Its media type as the client declared it.
    pub content_type: Option<String>,
    /// The checksum the client computed (`sha256:<hex>`); the upload is refused when the bytes
    /// hash to another.
    pub checksum: Option<String>,
    /// Content-ID of an inline part.
    pub content_id: Option<String>,
    /// Shown inline in the message.
    pub is_inline: bool,
}

/// An attachment whose bytes are about to be read.
pub struct Opened {
    /// The row.
    pub attachment: ConversationAttachment,
    /// The key of its bytes.
    pub key: BlobKey,
    /// The blob's size in bytes.
    pub size: u64,
    inner: ByteStream,
}

impl Opened {
    /// The bytes of `range`, verified against the checksum on the way (see [`blob::verified`]):
    /// a blob that fails it ends the stream with an error and a log line.
    pub fn bytes(self, range: ByteRange) -> ByteStream {
        let id = self.attachment.id;
        blob::verified(self.inner, self.key, range, move |e| {
            tracing::error!(attachment = %id, error = %e, "an attachment's bytes failed their checksum while being sent");
        })
    }
}

/// What a sweep of the blob store found and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Blobs in the store.
    pub blobs: u64,
    /// Blobs some row names.
    pub named: u64,
    /// Blobs no row names, removed.
    pub removed: u64,
    /// Blobs no row names but written within the grace period, left for a later sweep.
    pub recent: u64,
    /// Staged bytes of uploads that never committed, removed.
    pub staged_removed: u64,
}

/// What checking every blob found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Blobs rows name that were read and hashed.
    pub checked: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Attachments whose blob is missing: (attachment id, checksum).
    pub missing: Vec<(Uuid, String)>,
    /// Attachments whose blob's bytes no longer hash to its checksum.
    pub corrupt: Vec<(Uuid, String)>,
}

impl VerifyReport {
    /// Whether every blob is present and whole.
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.corrupt.is_empty()
    }
}

/// What a scan pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// Attachments found clean.
    pub clean: u64,
    /// Attachments found infected.
    pub infected: u64,
    /// Attachments whose scan failed and will be tried again.
    pub retrying: u64,
    /// Attachments whose scan failed for the last time (status `error`).
    pub errors: u64,
}

/// A blob failure as the caller sees it: the attachment's stored bytes missing or corrupt is
/// karen's fault (a server error naming no content); the store failing is unavailability.
fn blob_error(err: BlobError) -> StoreError {
    match err {
        BlobError::Missing(_) | BlobError::Corrupt { .. } => {
            StoreError::Corrupt { entity: "conversation_attachment", field: "content".into(), rule: err.to_string() }
        }
        BlobError::TooLarge { limit } => StoreError::TooLarge { field: "file".into(), limit },
        BlobError::Body(e) => StoreError::invalid("file", format!("the upload stopped before its end: {e}")),
        BlobError::Store(e) => StoreError::Unavailable(format!("the attachment store failed: {e}")),
    }
}

impl<S: Store> Karen<S> {
    /// karen keeping attachment bytes in `files` (without it, uploads and downloads answer
    /// that no attachment store is configured, and inbound bytes are described only).
    pub fn with_files(mut self, files: Files) -> Self {
        self.files = Some(Arc::new(files));
        self
    }

    /// The attachment store, when one is configured.
    pub fn files(&self) -> Option<&Files> {
        self.files.as_deref()
    }

    fn files_or_refuse(&self) -> StoreResult<&Files> {
        self.files().ok_or_else(|| StoreError::Unavailable("no attachment store is configured".into()))
    }

    /// The scan status a new attachment starts with.
    fn new_scan_status(&self) -> VirusScanStatus {
        match self.files().and_then(|f| f.scanner.as_ref()) {
            Some(_) => VirusScanStatus::Pending,
            None => VirusScanStatus::Skipped,
        }
    }

    /// Stores an uploaded file as an attachment of message `conversation_id`: the bytes are
    /// streamed into the blob store (hashed and counted on the way, refused past the limit),
    /// then the row is written with the checksum, size and location karen computed. Equal bytes
    /// are stored once.
    pub async fn upload_attachment(
        &self,
        conversation_id: Uuid,
        upload: Upload,
        body: ByteStream,
    ) -> StoreResult<ConversationAttachment> {
        let files = self.files_or_refuse()?;
        // Everything that can be refused without the bytes is refused before reading them.
        let mut row = ConversationAttachment {
            id: Uuid::now_v7(),
            conversation_id,
            file_name: upload.file_name,
            file_type: upload.content_type,
            content_id: upload.content_id,
            is_inline: upload.is_inline,
            checksum: upload.checksum.clone(),
            virus_scan_status: self.new_scan_status(),
            ..Default::default()
        };
        checked(&mut row)?;
        self.store.get::<Conversation>(conversation_id).await?;
        let staged = blob::stage(files.blobs.as_ref(), body, files.max_bytes).await.map_err(blob_error)?;
        if let Some(claimed) = &upload.checksum {
            if *claimed != staged.key.checksum() {
                staged.blob.abort().await;
                return Err(StoreError::invalid(
                    "checksum",
                    format!("the bytes received hash to {}, not to the checksum sent", staged.key.checksum()),
                ));
            }
        }
        self.describe(&mut row, &staged)?;
        row.stamp(self.now(), true);
        let _shared = files.gate.read().await;
        staged.blob.commit(staged.key).await.map_err(blob_error)?;
        match self.store.insert(&row).await {
            Ok(stored) => Ok(stored),
            Err(e) => {
                drop(_shared);
                // The bytes may now be named by nothing: remove them unless another row has them.
                let _ = self.remove_unnamed(&[staged.key]).await;
                Err(e)
            }
        }
    }

    /// Sets what karen computed about staged bytes on their row.
    fn describe(&self, row: &mut ConversationAttachment, staged: &Staged) -> StoreResult<()> {
        let files = self.files_or_refuse()?;
        row.file_size = Some(
            i32::try_from(staged.size)
                .map_err(|_| StoreError::TooLarge { field: "file".into(), limit: i32::MAX as u64 })?,
        );
        row.checksum = Some(staged.key.checksum());
        row.storage_path = Some(files.blobs.location(&staged.key));
        Ok(())
    }

    /// Describes bytes karen holds in memory (an inbound e-mail's part, fetched MMS media) on
    /// their row: size, checksum, where they will be, the scan status; the bytes to commit with
    /// the row. Without an attachment store the row gets size and checksum only.
    pub(crate) fn describe_bytes(
        &self,
        row: &mut ConversationAttachment,
        bytes: Vec<u8>,
    ) -> StoreResult<Option<(BlobKey, bytes::Bytes)>> {
        let key = BlobKey::of(&bytes);
        row.file_size = Some(
            i32::try_from(bytes.len())
                .map_err(|_| StoreError::TooLarge { field: "attachments".into(), limit: i32::MAX as u64 })?,
        );
        row.checksum = Some(key.checksum());
        let Some(files) = self.files() else { return Ok(None) };
        row.storage_path = Some(files.blobs.location(&key));
        row.virus_scan_status = self.new_scan_status();
        Ok(Some((key, bytes.into())))
    }

    /// Runs `write` (the rows naming `blobs`) with the blobs committed first and no removal
    /// running in between (the module's rule); when the write fails, blobs no row names are
    /// removed again.
    pub(crate) async fn with_blobs_committed<T>(
        &self,
        blobs: &[(BlobKey, bytes::Bytes)],
        write: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let Some(files) = self.files().filter(|_| !blobs.is_empty()) else {
            return write.await;
        };
        let shared = files.gate.read().await;
        for (key, bytes) in blobs {
            let staged =
                blob::stage(files.blobs.as_ref(), blob::once(bytes.clone()), u64::MAX).await.map_err(blob_error)?;
            debug_assert_eq!(staged.key, *key);
            staged.blob.commit(*key).await.map_err(blob_error)?;
        }
        let result = write.await;
        drop(shared);
        if result.is_err() {
            let keys: Vec<BlobKey> = blobs.iter().map(|(k, _)| *k).collect();
            let _ = self.remove_unnamed(&keys).await;
        }
        result
    }

    /// Opens the bytes of attachment `id` for reading. Content scanned `infected` or still
    /// `pending` is refused unless `allow_unsafe` (an admin asked for it explicitly); a row
    /// without stored bytes (metadata only) is not found.
    pub async fn open_attachment(&self, id: Uuid, allow_unsafe: bool) -> StoreResult<Opened> {
        let files = self.files_or_refuse()?;
        let row: ConversationAttachment = self.store.get(id).await?;
        let key = self.stored_blob(&row).ok_or_else(|| StoreError::NotFound {
            entity: "attachment content",
            id: format!("{id} (only its metadata is stored)"),
        })?;
        match row.virus_scan_status {
            VirusScanStatus::Infected if !allow_unsafe => {
                let signature = row
                    .virus_scan_result
                    .as_ref()
                    .and_then(|r| r.get("signature"))
                    .and_then(|s| s.as_str())
                    .unwrap_or("a virus");
                return Err(StoreError::Conflict {
                    entity: "conversation_attachment",
                    rule: format!("the content is infected ({signature}); an admin may read it with unsafe=true"),
                });
            }
            VirusScanStatus::Pending if !allow_unsafe => {
                return Err(StoreError::Conflict {
                    entity: "conversation_attachment",
                    rule:
                        "the content has not been scanned yet; try again later (an admin may read it with unsafe=true)"
                            .into(),
                })
            }
            _ => {}
        }
        let (size, inner) = files.blobs.open(&key).await.map_err(|e| {
            tracing::error!(attachment = %id, error = %e, "an attachment's bytes cannot be read");
            blob_error(e)
        })?;
        Ok(Opened { attachment: row, key, size, inner })
    }

    /// The key of the bytes of `row` that this store holds: bytes karen stored are at their
    /// key's location; a row describing a file elsewhere (a URL, a row written through the CRUD
    /// routes with a checksum of its own) has metadata only.
    pub fn stored_blob(&self, row: &ConversationAttachment) -> Option<BlobKey> {
        let files = self.files()?;
        row.blob_key().filter(|k| row.storage_path.as_deref() == Some(files.blobs.location(k).as_str()))
    }

    /// Whether some attachment row names the blob of `key`.
    async fn is_named(&self, key: &BlobKey) -> StoreResult<bool> {
        let rows: Vec<ConversationAttachment> = self
            .store
            .list(&ListQuery { filters: vec![("checksum", Value::Text(key.checksum()))], after: None, limit: 1 })
            .await?;
        Ok(!rows.is_empty())
    }

    /// Removes the blobs of `keys` that no row names; how many went.
    pub(crate) async fn remove_unnamed(&self, keys: &[BlobKey]) -> StoreResult<u64> {
        let Some(files) = self.files() else { return Ok(0) };
        let _exclusive = files.gate.write().await;
        let mut removed = 0;
        for key in keys.iter().collect::<BTreeSet<_>>() {
            if !self.is_named(key).await? && files.blobs.delete(key).await.map_err(blob_error)? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The blob keys of every attachment of customer `customer_id`'s messages.
    pub(crate) async fn customer_blobs(&self, customer_id: Uuid) -> StoreResult<Vec<BlobKey>> {
        if self.files().is_none() {
            return Ok(Vec::new());
        }
        let conversations: Vec<Conversation> =
            list_every(&self.store, vec![("customer_id", Value::Uuid(customer_id))]).await?;
        Ok(self.attachments_of(&conversations).await?.iter().filter_map(ConversationAttachment::blob_key).collect())
    }

    /// Removes blobs no row names that were written before `grace` ago, and staged bytes of
    /// uploads that never committed.
    pub async fn sweep_blobs(&self, grace: chrono::Duration) -> StoreResult<SweepReport> {
        let files = self.files_or_refuse()?;
        let cutoff: DateTime<Utc> = Utc::now() - grace;
        let named = self.named_blobs().await?;
        let mut report = SweepReport::default();
        let mut unnamed = Vec::new();
        for info in files.blobs.list().await.map_err(blob_error)? {
            report.blobs += 1;
            if named.contains_key(&info.key) {
                report.named += 1;
            } else if info.modified >= cutoff {
                report.recent += 1;
            } else {
                unnamed.push(info.key);
            }
        }
        report.removed = self.remove_unnamed(&unnamed).await?;
        report.staged_removed = files.blobs.sweep_staging(cutoff).await.map_err(blob_error)?;
        Ok(report)
    }

    /// Every blob rows name (by checksum: the sweep keeps anything a row could mean), with the
    /// attachments that name it as stored in this store (what verify checks).
    async fn named_blobs(&self) -> StoreResult<BTreeMap<BlobKey, Vec<Uuid>>> {
        self.files_or_refuse()?;
        let rows: Vec<ConversationAttachment> = list_every(&self.store, vec![]).await?;
        let mut named: BTreeMap<BlobKey, Vec<Uuid>> = BTreeMap::new();
        for a in rows {
            if let Some(key) = a.blob_key() {
                let ids = named.entry(key).or_default();
                if self.stored_blob(&a).is_some() {
                    ids.push(a.id);
                }
            }
        }
        Ok(named)
    }

    /// Reads and hashes every blob a row names, reporting each missing or corrupt one with the
    /// attachments naming it; `progress` is told the bytes of each blob checked.
    pub async fn verify_blobs(&self, mut progress: impl FnMut(u64, u64)) -> StoreResult<VerifyReport> {
        let files = self.files_or_refuse()?;
        let named = self.named_blobs().await?;
        let mut report = VerifyReport::default();
        let total = named.values().filter(|ids| !ids.is_empty()).count() as u64;
        for (key, ids) in named.into_iter().filter(|(_, ids)| !ids.is_empty()) {
            match blob::check(files.blobs.as_ref(), &key).await {
                Ok(size) => {
                    report.bytes += size;
                    progress(total, size);
                }
                Err(BlobError::Missing(_)) => report.missing.extend(ids.into_iter().map(|id| (id, key.checksum()))),
                Err(BlobError::Corrupt { .. }) => report.corrupt.extend(ids.into_iter().map(|id| (id, key.checksum()))),
                Err(e) => return Err(blob_error(e)),
            }
            report.checked += 1;
        }
        Ok(report)
    }

    /// Scans every `pending` attachment with stored bytes with the configured scanner and
    /// records each verdict (decisions.md item 22). A failed scan is counted in the row's
    /// `virus_scan_result.attempts` and tried again by the next pass; after
    /// [`MAX_SCAN_ATTEMPTS`] the status becomes `error`.
    pub async fn scan_pending(&self) -> StoreResult<ScanReport> {
        let files = self.files_or_refuse()?;
        let scanner = files
            .scanner
            .clone()
            .ok_or_else(|| StoreError::Unavailable("no virus scanner is configured (--clamd)".into()))?;
        let pending: Vec<ConversationAttachment> =
            list_every(&self.store, vec![("virus_scan_status", Value::Text(VirusScanStatus::Pending.as_str().into()))])
                .await?;
        let mut report = ScanReport::default();
        for row in pending {
            let Some(key) = row.checksum.as_deref().and_then(BlobKey::from_checksum) else { continue };
            let outcome = match files.blobs.open(&key).await {
                Ok((_, bytes)) => {
                    scanner.scan(blob::verified(bytes, key, ByteRange { start: 0, end: u64::MAX }, |_| {})).await
                }
                Err(e) => Err(e.to_string()),
            };
            let now = self.now();
            let attempts =
                row.virus_scan_result.as_ref().and_then(|r| r.get("attempts")).and_then(|a| a.as_i64()).unwrap_or(0)
                    + 1;
            let (status, result) = match outcome {
                Ok(v) => {
                    let status = if v.signature.is_some() { VirusScanStatus::Infected } else { VirusScanStatus::Clean };
                    let result = serde_json::json!({
                        "engine": v.engine,
                        "engine_version": v.engine_version,
                        "signature": v.signature,
                        "scanned_at": now,
                    });
                    (status, result)
                }
                Err(why) => {
                    tracing::warn!(attachment = %row.id, attempts, error = %why, "scanning an attachment failed");
                    let status =
                        if attempts >= MAX_SCAN_ATTEMPTS { VirusScanStatus::Error } else { VirusScanStatus::Pending };
                    (status, serde_json::json!({ "attempts": attempts, "error": why, "scanned_at": now }))
                }
            };
            match status {
                VirusScanStatus::Clean => report.clean += 1,
                VirusScanStatus::Infected => report.infected += 1,
                VirusScanStatus::Error => report.errors += 1,
                _ => report.retrying += 1,
            }
            let mut patch = crate::patch::Patch::new();
            patch.insert("virus_scan_status".into(), serde_json::json!(status));
            patch.insert("virus_scan_result".into(), result);
            match self.update::<ConversationAttachment>(row.id, &patch).await {
                // Erased meanwhile: nothing to record.
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }
}

impl ConversationAttachment {
    /// The blob key of its stored bytes, when karen holds them.
    pub fn blob_key(&self) -> Option<BlobKey> {
        self.checksum.as_deref().and_then(BlobKey::from_checksum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_failures_read_as_their_meaning() {
        let key = BlobKey::of(b"x");
        assert!(matches!(blob_error(BlobError::Missing(key)), StoreError::Corrupt { .. }));
        assert!(matches!(blob_error(BlobError::TooLarge { limit: 5 }), StoreError::TooLarge { limit: 5, .. }));
        assert!(matches!(blob_error(BlobError::Store("disk".into())), StoreError::Unavailable(_)));
        assert!(matches!(blob_error(BlobError::Body("reset".into())), StoreError::Invalid { .. }));
    }
}
