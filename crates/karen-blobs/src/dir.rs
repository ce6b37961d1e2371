//! [`DirStore`]: blobs as files in a directory, the default (`./karen-blobs` beside
//! `./karen.db`).
//!
//! Layout: `<root>/sha256/ab/cd/<64 hex>` holds the blob whose key starts with `abcd`;
//! `<root>/staging/<uuid>` holds bytes being written. A commit fsyncs the staged file, renames
//! it to its final name and fsyncs that directory, so a crash leaves either no blob or the
//! whole blob under its name, never part of one; a staged file left by a crash is removed by
//! [`BlobStore::sweep_staging`].
//!
//! Written by hand rather than with `object_store::local::LocalFileSystem`, which neither
//! fsyncs a file before renaming it nor the directory after (docs/decisions.md K51).

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use karen_core::blob::{BlobError, BlobInfo, BlobKey, BlobStore, ByteStream, StagedBlob};
use tokio::io::AsyncWriteExt;

/// Chunk size of reads.
const READ_CHUNK: usize = 256 * 1024;

/// Blobs in a directory.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// The store rooted at `root`; its folders are made when the first blob is written, so
    /// opening writes nothing. The path is made absolute so that `storage_path` URLs mean one
    /// place.
    pub fn open(root: impl AsRef<Path>) -> Result<DirStore, BlobError> {
        let root = root.as_ref();
        let root = std::path::absolute(root).map_err(|e| BlobError::Store(format!("{}: {e}", root.display())))?;
        Ok(DirStore { root })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of the blob of `key`.
    pub fn path_of(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.relative_path())
    }
}

fn io_error(what: &str, path: &Path, e: io::Error) -> BlobError {
    BlobError::Store(format!("{what} {}: {e}", path.display()))
}

fn modified(meta: &std::fs::Metadata) -> DateTime<Utc> {
    meta.modified().map(DateTime::<Utc>::from).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Bytes handed to the file system at a time: a body's small chunks are gathered, so each write
/// is one trip to the blocking pool, not one per network chunk.
const WRITE_BUFFER: usize = 512 * 1024;

/// Bytes being written to `<root>/staging/<uuid>`.
struct StagedFile {
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    path: PathBuf,
    root: PathBuf,
}

impl StagedBlob for StagedFile {
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, Result<(), BlobError>> {
        async move {
            let file = self.file.as_mut().ok_or_else(|| BlobError::Store("the staged file is closed".into()))?;
            file.write_all(&chunk).await.map_err(|e| io_error("writing", &self.path, e))
        }
        .boxed()
    }

    fn commit(mut self: Box<Self>, key: BlobKey) -> BoxFuture<'static, Result<(), BlobError>> {
        async move {
            let file = self.file.take().ok_or_else(|| BlobError::Store("the staged file is closed".into()))?;
            let result = async {
                let mut file = file;
                file.flush().await.map_err(|e| io_error("writing", &self.path, e))?;
                let file = file.into_inner();
                file.sync_all().await.map_err(|e| io_error("syncing", &self.path, e))?;
                drop(file);
                let target = self.root.join(key.relative_path());
                let dir = target.parent().expect("a blob path has a folder").to_path_buf();
                tokio::fs::create_dir_all(&dir).await.map_err(|e| io_error("creating", &dir, e))?;
                tokio::fs::rename(&self.path, &target).await.map_err(|e| io_error("renaming", &self.path, e))?;
                // The rename is durable once the directory holding the new name is synced.
                let d = tokio::fs::File::open(&dir).await.map_err(|e| io_error("opening", &dir, e))?;
                d.sync_all().await.map_err(|e| io_error("syncing", &dir, e))
            }
            .await;
            if result.is_err() {
                let _ = tokio::fs::remove_file(&self.path).await;
            }
            result
        }
        .boxed()
    }

    fn abort(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        async move {
            drop(self.file.take());
            let _ = tokio::fs::remove_file(&self.path).await;
        }
        .boxed()
    }
}

impl BlobStore for DirStore {
    fn url(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn location(&self, key: &BlobKey) -> String {
        format!("file://{}", self.path_of(key).display())
    }

    fn stage(&self) -> BoxFuture<'_, Result<Box<dyn StagedBlob>, BlobError>> {
        async move {
            let dir = self.root.join("staging");
            tokio::fs::create_dir_all(&dir).await.map_err(|e| io_error("creating", &dir, e))?;
            let path = dir.join(uuid::Uuid::new_v4().to_string());
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
                .map_err(|e| io_error("creating", &path, e))?;
            let file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
            Ok(Box::new(StagedFile { file: Some(file), path, root: self.root.clone() }) as Box<dyn StagedBlob>)
        }
        .boxed()
    }

    fn open(&self, key: &BlobKey) -> BoxFuture<'_, Result<(u64, ByteStream), BlobError>> {
        let (path, key) = (self.path_of(key), *key);
        async move {
            let file = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::Missing(key)),
                Err(e) => return Err(io_error("opening", &path, e)),
            };
            let size = file.metadata().await.map_err(|e| io_error("reading", &path, e))?.len();
            let stream: ByteStream = tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK).boxed();
            Ok((size, stream))
        }
        .boxed()
    }

    fn delete(&self, key: &BlobKey) -> BoxFuture<'_, Result<bool, BlobError>> {
        let path = self.path_of(key);
        async move {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(io_error("removing", &path, e)),
            }
        }
        .boxed()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<BlobInfo>, BlobError>> {
        let root = self.root.join("sha256");
        async move {
            tokio::task::spawn_blocking(move || list_dir(&root)).await.map_err(|e| BlobError::Store(e.to_string()))?
        }
        .boxed()
    }

    fn sweep_staging(&self, before: DateTime<Utc>) -> BoxFuture<'_, Result<u64, BlobError>> {
        let dir = self.root.join("staging");
        async move {
            tokio::task::spawn_blocking(move || {
                let mut removed = 0;
                if !dir.exists() {
                    return Ok(0);
                }
                for entry in std::fs::read_dir(&dir).map_err(|e| io_error("reading", &dir, e))? {
                    let entry = entry.map_err(|e| io_error("reading", &dir, e))?;
                    let meta = entry.metadata().map_err(|e| io_error("reading", &entry.path(), e))?;
                    if meta.is_file() && modified(&meta) < before && std::fs::remove_file(entry.path()).is_ok() {
                        removed += 1;
                    }
                }
                Ok(removed)
            })
            .await
            .map_err(|e| BlobError::Store(e.to_string()))?
        }
        .boxed()
    }
}

/// Every blob below `sha256/`: files whose name is a key, two folders deep.
fn list_dir(root: &Path) -> Result<Vec<BlobInfo>, BlobError> {
    let mut out = Vec::new();
    if !root.exists() {
        return Ok(out);
    }
    let read = |p: &Path| std::fs::read_dir(p).map_err(|e| io_error("reading", p, e));
    for a in read(root)? {
        let a = a.map_err(|e| io_error("reading", root, e))?.path();
        if !a.is_dir() {
            continue;
        }
        for b in read(&a)? {
            let b = b.map_err(|e| io_error("reading", &a, e))?.path();
            if !b.is_dir() {
                continue;
            }
            for f in read(&b)? {
                let f = f.map_err(|e| io_error("reading", &b, e))?;
                let Some(key) = f.file_name().to_str().and_then(BlobKey::from_hex) else { continue };
                let meta = f.metadata().map_err(|e| io_error("reading", &f.path(), e))?;
                out.push(BlobInfo { key, size: meta.len(), modified: modified(&meta) });
            }
        }
    }
    Ok(out)
}
