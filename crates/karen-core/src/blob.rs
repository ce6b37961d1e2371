//! Attachment bytes (decisions.md item 22): the [`BlobStore`] interface a place that keeps bytes
//! implements, the content address of a blob ([`BlobKey`], the SHA-256 of its bytes), and the
//! two streams every store shares: [`stage`], which hashes, counts and limits bytes while they
//! are written, and [`verified`], which hands out a blob's bytes only while they still hash to
//! its key. The stores themselves (a directory, object stores) are in `karen-blobs`; this crate
//! knows none of them.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use sha2::{Digest, Sha256};

/// Bytes arriving or leaving in chunks.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// The content address of a blob: the SHA-256 of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey([u8; 32]);

impl BlobKey {
    /// The key of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobKey {
        BlobKey(Sha256::digest(bytes).into())
    }

    /// The key of 64 hex digits (either case); none for anything else.
    pub fn from_hex(hex: &str) -> Option<BlobKey> {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(BlobKey(out))
    }

    /// The key a `checksum` column names (`sha256:<hex>`); none for another form.
    pub fn from_checksum(checksum: &str) -> Option<BlobKey> {
        checksum.strip_prefix("sha256:").and_then(BlobKey::from_hex)
    }

    /// 64 lower-case hex digits.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The `checksum` column's form: `sha256:<hex>`.
    pub fn checksum(&self) -> String {
        format!("sha256:{}", self.hex())
    }

    /// Where the blob lives below a store's root: `sha256/ab/cd/<hex>`, sharded by its first
    /// two bytes so that no directory or listing prefix holds more than a few thousand entries.
    pub fn relative_path(&self) -> String {
        let hex = self.hex();
        format!("sha256/{}/{}/{hex}", &hex[0..2], &hex[2..4])
    }
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobKey({})", self.hex())
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.checksum())
    }
}

/// A stored blob as a listing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its key.
    pub key: BlobKey,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written (a commit of equal bytes writes it again).
    pub modified: DateTime<Utc>,
}

/// What can go wrong with bytes.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob has this key.
    #[error("the blob {0} is missing from the store")]
    Missing(BlobKey),
    /// The bytes read do not hash to the key they are stored under.
    #[error("the blob {key} is corrupt: its bytes hash to {actual}")]
    Corrupt {
        /// The key it is stored under.
        key: BlobKey,
        /// What its bytes hash to.
        actual: BlobKey,
    },
    /// The body is longer than the limit.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The bytes being written stopped arriving (a dropped connection).
    #[error("the body could not be read to its end: {0}")]
    Body(String),
    /// The store failed (a disk, the network, an object store's answer).
    #[error("the blob store failed: {0}")]
    Store(String),
}

impl BlobError {
    /// A store failure from any error.
    pub fn store(err: impl fmt::Display) -> BlobError {
        BlobError::Store(err.to_string())
    }
}

/// Bytes being written: staged where no reader looks until [`StagedBlob::commit`] makes them
/// the blob of a key. Dropping a staged blob without committing leaves at most a staging file
/// that [`BlobStore::sweep_staging`] removes.
pub trait StagedBlob: Send {
    /// Appends a chunk.
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, Result<(), BlobError>>;
    /// Makes the staged bytes the blob of `key`, durably (a blob of equal bytes may be replaced
    /// by them; its modification time becomes now).
    fn commit(self: Box<Self>, key: BlobKey) -> BoxFuture<'static, Result<(), BlobError>>;
    /// Throws the staged bytes away.
    fn abort(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// A place that keeps blobs by key. Implementations: `karen_blobs::DirStore` (a directory) and
/// `karen_blobs::ObjectBlobStore` (S3, Google Cloud Storage, Azure through `object_store`).
pub trait BlobStore: Send + Sync + 'static {
    /// The store's URL (`file:///...`, `s3://bucket/prefix`, ...), for messages.
    fn url(&self) -> String;
    /// The URL of the blob of `key`: what an attachment's `storage_path` holds.
    fn location(&self, key: &BlobKey) -> String;
    /// Starts writing new bytes.
    fn stage(&self) -> BoxFuture<'_, Result<Box<dyn StagedBlob>, BlobError>>;
    /// The size and the bytes of the blob of `key`, from its start; [`BlobError::Missing`] when
    /// there is none.
    fn open(&self, key: &BlobKey) -> BoxFuture<'_, Result<(u64, ByteStream), BlobError>>;
    /// Removes the blob of `key`; whether there was one.
    fn delete(&self, key: &BlobKey) -> BoxFuture<'_, Result<bool, BlobError>>;
    /// Every blob, in no particular order.
    fn list(&self) -> BoxFuture<'_, Result<Vec<BlobInfo>, BlobError>>;
    /// Removes staged bytes last written before `before` (uploads that never committed: a crash,
    /// a dropped connection); how many.
    fn sweep_staging(&self, before: DateTime<Utc>) -> BoxFuture<'_, Result<u64, BlobError>>;
}

/// Bytes written and hashed, not yet committed.
pub struct Staged {
    /// The key of the bytes.
    pub key: BlobKey,
    /// How many bytes.
    pub size: u64,
    /// The staged bytes, to commit under `key` or abort.
    pub blob: Box<dyn StagedBlob>,
}

/// Writes `body` into a new staged blob of `store`, hashing and counting as it goes; refuses a
/// body longer than `limit` bytes as soon as it passes the limit. On any error the staged bytes
/// are thrown away.
pub async fn stage(store: &dyn BlobStore, mut body: ByteStream, limit: u64) -> Result<Staged, BlobError> {
    let mut blob = store.stage().await?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let result: Result<(), BlobError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(BlobError::TooLarge { limit });
            }
            hasher.update(&chunk);
            blob.write(chunk).await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(Staged { key: BlobKey(hasher.finalize().into()), size, blob }),
        Err(e) => {
            blob.abort().await;
            Err(e)
        }
    }
}

/// Bytes `start..end` of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// The bytes `range` of a blob whose full bytes `inner` are, checked against `key` on the way:
/// every byte is hashed (those before and after the range too), and the last chunk is held back
/// until the whole blob hashed to its key, so a reader never receives the complete answer of a
/// corrupt blob: the stream ends with an error instead, and `on_corrupt` is called once.
pub fn verified(
    inner: ByteStream,
    key: BlobKey,
    range: ByteRange,
    on_corrupt: impl FnOnce(&BlobError) + Send + 'static,
) -> ByteStream {
    Box::pin(Verified {
        inner,
        key,
        range,
        offset: 0,
        hasher: Some(Sha256::new()),
        held: None,
        on_corrupt: Some(Box::new(on_corrupt)),
    })
}

/// Told once when a verified read finds its blob corrupt.
type OnCorrupt = Box<dyn FnOnce(&BlobError) + Send>;

/// The stream of [`verified`].
struct Verified {
    inner: ByteStream,
    key: BlobKey,
    range: ByteRange,
    /// Bytes of the blob read so far.
    offset: u64,
    /// None once the blob is read to its end.
    hasher: Option<Sha256>,
    /// The latest part of the range, sent when the next arrives or the hash is checked.
    held: Option<Bytes>,
    on_corrupt: Option<OnCorrupt>,
}

impl Verified {
    fn fail(&mut self, err: BlobError) -> Poll<Option<io::Result<Bytes>>> {
        if let Some(report) = self.on_corrupt.take() {
            report(&err);
        }
        self.held = None;
        self.hasher = None;
        Poll::Ready(Some(Err(io::Error::other(err))))
    }
}

impl Stream for Verified {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(hasher) = this.hasher.as_mut() else {
                return Poll::Ready(this.held.take().map(Ok));
            };
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return this.fail(BlobError::Store(e.to_string())),
                Poll::Ready(Some(Ok(chunk))) => {
                    hasher.update(&chunk);
                    let (from, to) = (this.offset, this.offset + chunk.len() as u64);
                    this.offset = to;
                    let (a, b) = (this.range.start.max(from), this.range.end.min(to));
                    if a < b {
                        let part = chunk.slice((a - from) as usize..(b - from) as usize);
                        if let Some(previous) = this.held.replace(part) {
                            return Poll::Ready(Some(Ok(previous)));
                        }
                    }
                }
                Poll::Ready(None) => {
                    let actual = BlobKey(this.hasher.take().expect("checked above").finalize().into());
                    if actual != this.key {
                        return this.fail(BlobError::Corrupt { key: this.key, actual });
                    }
                    return Poll::Ready(this.held.take().map(Ok));
                }
            }
        }
    }
}

/// Reads a whole blob and checks it against its key: its size when it is whole.
pub async fn check(store: &dyn BlobStore, key: &BlobKey) -> Result<u64, BlobError> {
    let (_, mut bytes) = store.open(key).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.map_err(BlobError::store)?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    let actual = BlobKey(hasher.finalize().into());
    if actual == *key {
        Ok(size)
    } else {
        Err(BlobError::Corrupt { key: *key, actual })
    }
}

/// Copies the blob of `key` from `from` to `to`, checking on the way that its bytes still hash
/// to it (export, import); its size.
pub async fn copy(from: &dyn BlobStore, to: &dyn BlobStore, key: &BlobKey) -> Result<u64, BlobError> {
    let (_, bytes) = from.open(key).await?;
    let staged = stage(to, bytes, u64::MAX).await?;
    if staged.key != *key {
        staged.blob.abort().await;
        return Err(BlobError::Corrupt { key: *key, actual: staged.key });
    }
    staged.blob.commit(*key).await?;
    Ok(staged.size)
}

/// Stores bytes held in memory under their key; the key.
pub async fn put(to: &dyn BlobStore, bytes: impl Into<Bytes>) -> Result<BlobKey, BlobError> {
    let staged = stage(to, once(bytes), u64::MAX).await?;
    let key = staged.key;
    staged.blob.commit(key).await?;
    Ok(key)
}

/// A stream of one chunk (bytes already in memory: an e-mail's part, imported bytes).
pub fn once(bytes: impl Into<Bytes>) -> ByteStream {
    futures_util::stream::once(std::future::ready(Ok(bytes.into()))).boxed()
}

/// What a virus scanner said about some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanVerdict {
    /// The signature found; none when the bytes are clean.
    pub signature: Option<String>,
    /// The engine's name (`ClamAV`).
    pub engine: String,
    /// The engine's and its signatures' versions.
    pub engine_version: String,
}

/// A virus scanner (ClamAV's clamd: `karen_blobs::Clamd`).
pub trait Scanner: Send + Sync + 'static {
    /// Scans `bytes`: the verdict, or why there is none (the scanner is down, refused the size).
    fn scan(&self, bytes: ByteStream) -> BoxFuture<'_, Result<ScanVerdict, String>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        futures_util::stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p))).collect::<Vec<_>>()).boxed()
    }

    async fn collect(mut s: ByteStream) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        while let Some(c) = s.next().await {
            match c {
                Ok(c) => out.extend_from_slice(&c),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
        (out, None)
    }

    #[test]
    fn keys_read_and_write_their_forms() {
        let k = BlobKey::of(b"abc");
        assert_eq!(k.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(BlobKey::from_checksum(&k.checksum()), Some(k));
        assert_eq!(BlobKey::from_hex(&k.hex().to_uppercase()), Some(k));
        assert_eq!(k.relative_path(), format!("sha256/ba/78/{}", k.hex()));
        assert_eq!(BlobKey::from_hex("zz"), None);
        assert_eq!(BlobKey::from_checksum("md5:abc"), None);
    }

    #[tokio::test]
    async fn a_range_of_whole_bytes_comes_out_whole() {
        let all = b"hello world, hello karen";
        let key = BlobKey::of(all);
        let stream = chunks(&[b"hello ", b"world, ", b"hello karen"]);
        let (out, err) = collect(verified(stream, key, ByteRange { start: 3, end: 15 }, |_| {})).await;
        assert_eq!(err, None);
        assert_eq!(out, &all[3..15]);
        let stream = chunks(&[b"hello ", b"world, ", b"hello karen"]);
        let (out, _) = collect(verified(stream, key, ByteRange { start: 0, end: 24 }, |_| {})).await;
        assert_eq!(out, all);
    }

    #[tokio::test]
    async fn corrupt_bytes_never_come_out_complete() {
        let key = BlobKey::of(b"hello world");
        let reported = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = reported.clone();
        let stream = chunks(&[b"hello ", b"w0rld"]);
        let (out, err) = collect(verified(stream, key, ByteRange { start: 0, end: 11 }, move |_| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst)
        }))
        .await;
        assert!(out.len() < 11, "the last chunk is held back: {out:?}");
        assert!(err.unwrap().contains("corrupt"));
        assert!(reported.load(std::sync::atomic::Ordering::SeqCst));
    }
}
