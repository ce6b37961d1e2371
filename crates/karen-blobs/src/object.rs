//! [`ObjectBlobStore`]: blobs in an object store (S3 and S3-compatible servers, Google Cloud
//! Storage, Azure Blob Storage) through the `object_store` crate.
//!
//! Layout below the URL's path: `sha256/ab/cd/<64 hex>`, and `staging/<uuid>` for an upload
//! larger than [`SMALL`] while it is written (a multipart upload, copied to its final name on
//! commit, then removed). A smaller upload is held in memory until its key is known and put
//! under its final name in one request. An object store makes a put visible whole or not at
//! all, so a crash never leaves part of a blob under a final name.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use karen_core::blob::{BlobError, BlobInfo, BlobKey, BlobStore, ByteStream, StagedBlob};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};

/// Uploads up to this size are put in one request; larger ones in parts of this size.
pub const SMALL: usize = 8 * 1024 * 1024;

/// Parts of a multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// Blobs in an object store.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    /// The store's URL (`s3://bucket/prefix`), without a trailing slash.
    url: String,
    /// The prefix below the bucket.
    prefix: Path,
}

impl ObjectBlobStore {
    /// Blobs in `store` below `prefix`; `url` is the store's URL for `storage_path`.
    pub fn new(store: Arc<dyn ObjectStore>, url: &str, prefix: &str) -> ObjectBlobStore {
        ObjectBlobStore { store, url: url.trim_end_matches('/').to_string(), prefix: Path::from(prefix) }
    }

    fn path(&self, relative: &str) -> Path {
        Path::from_iter(self.prefix.parts().chain(Path::from(relative).parts()))
    }
}

fn store_error(e: object_store::Error) -> BlobError {
    BlobError::Store(e.to_string())
}

/// Bytes being written: in memory until [`SMALL`], then a multipart upload to `staging/`.
struct StagedObject {
    store: Arc<dyn ObjectStore>,
    buffer: BytesMut,
    upload: Option<(Path, WriteMultipart)>,
    staging: Path,
    target: Box<dyn Fn(&BlobKey) -> Path + Send>,
}

impl StagedBlob for StagedObject {
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, Result<(), BlobError>> {
        async move {
            if self.upload.is_none() && self.buffer.len() + chunk.len() <= SMALL {
                self.buffer.extend_from_slice(&chunk);
                return Ok(());
            }
            if self.upload.is_none() {
                let upload = self.store.put_multipart(&self.staging).await.map_err(store_error)?;
                let mut writer = WriteMultipart::new_with_chunk_size(upload, SMALL);
                writer.write(&std::mem::take(&mut self.buffer));
                self.upload = Some((self.staging.clone(), writer));
            }
            let (_, writer) = self.upload.as_mut().expect("started above");
            writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(store_error)?;
            writer.write(&chunk);
            Ok(())
        }
        .boxed()
    }

    fn commit(mut self: Box<Self>, key: BlobKey) -> BoxFuture<'static, Result<(), BlobError>> {
        async move {
            let target = (self.target)(&key);
            match self.upload.take() {
                None => {
                    let bytes = std::mem::take(&mut self.buffer).freeze();
                    self.store.put(&target, PutPayload::from(bytes)).await.map_err(store_error)?;
                }
                Some((staging, writer)) => {
                    writer.finish().await.map_err(store_error)?;
                    let copied = self.store.copy(&staging, &target).await.map_err(store_error);
                    let _ = self.store.delete(&staging).await;
                    copied?;
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn abort(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        async move {
            if let Some((_, writer)) = self.upload.take() {
                let _ = writer.abort().await;
            }
        }
        .boxed()
    }
}

impl BlobStore for ObjectBlobStore {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn location(&self, key: &BlobKey) -> String {
        format!("{}/{}", self.url, key.relative_path())
    }

    fn stage(&self) -> BoxFuture<'_, Result<Box<dyn StagedBlob>, BlobError>> {
        let me = self.clone();
        async move {
            let staging = self.path(&format!("staging/{}", uuid::Uuid::new_v4()));
            Ok(Box::new(StagedObject {
                store: self.store.clone(),
                buffer: BytesMut::new(),
                upload: None,
                staging,
                target: Box::new(move |k| me.path(&k.relative_path())),
            }) as Box<dyn StagedBlob>)
        }
        .boxed()
    }

    fn open(&self, key: &BlobKey) -> BoxFuture<'_, Result<(u64, ByteStream), BlobError>> {
        let (path, key) = (self.path(&key.relative_path()), *key);
        async move {
            match self.store.get(&path).await {
                Ok(got) => {
                    let size = got.meta.size;
                    let stream: ByteStream = got.into_stream().map_err(std::io::Error::other).boxed();
                    Ok((size, stream))
                }
                Err(object_store::Error::NotFound { .. }) => Err(BlobError::Missing(key)),
                Err(e) => Err(store_error(e)),
            }
        }
        .boxed()
    }

    fn delete(&self, key: &BlobKey) -> BoxFuture<'_, Result<bool, BlobError>> {
        let path = self.path(&key.relative_path());
        async move {
            match self.store.head(&path).await {
                Ok(_) => {}
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(store_error(e)),
            }
            self.store.delete(&path).await.map_err(store_error)?;
            Ok(true)
        }
        .boxed()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<BlobInfo>, BlobError>> {
        async move {
            let prefix = self.path("sha256");
            let mut out = Vec::new();
            let mut listing = self.store.list(Some(&prefix));
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(store_error)?;
                let Some(key) = meta.location.filename().and_then(BlobKey::from_hex) else { continue };
                out.push(BlobInfo { key, size: meta.size, modified: meta.last_modified });
            }
            Ok(out)
        }
        .boxed()
    }

    fn sweep_staging(&self, before: DateTime<Utc>) -> BoxFuture<'_, Result<u64, BlobError>> {
        async move {
            let prefix = self.path("staging");
            let old: Vec<Path> = self
                .store
                .list(Some(&prefix))
                .try_filter(|m| std::future::ready(m.last_modified < before))
                .map_ok(|m| m.location)
                .try_collect()
                .await
                .map_err(store_error)?;
            for p in &old {
                self.store.delete(p).await.map_err(store_error)?;
            }
            Ok(old.len() as u64)
        }
        .boxed()
    }
}
