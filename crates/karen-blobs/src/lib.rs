//! Where karen keeps attachment bytes and how it scans them (decisions.md item 22): the
//! [`karen_core::blob::BlobStore`] implementations, a directory ([`DirStore`], the default) and
//! object stores ([`ObjectBlobStore`]: `s3://`, `gs://`, `az://`), chosen by URL with [`open`],
//! and ClamAV's clamd as the [`karen_core::blob::Scanner`] ([`Clamd`]). Knows no database.

pub mod clamd;
pub mod dir;
pub mod object;

use std::sync::Arc;

use karen_core::blob::{BlobError, BlobStore};

pub use clamd::Clamd;
pub use dir::DirStore;
pub use object::ObjectBlobStore;

/// The blob store a URL names: `file:///path` or a plain path (a directory), `s3://bucket/prefix`
/// (credentials, region and endpoint from the `AWS_*` environment variables, e.g.
/// `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP=true` for a local S3-compatible server),
/// `gs://bucket/prefix` (`GOOGLE_*`), `az://container/prefix` (`AZURE_*`).
pub fn open(url: &str) -> Result<Arc<dyn BlobStore>, BlobError> {
    let bad = |e: &dyn std::fmt::Display| BlobError::Store(format!("blob store URL {url:?}: {e}"));
    let Some((scheme, _)) = url.split_once("://") else {
        return Ok(Arc::new(DirStore::open(url)?));
    };
    if scheme == "file" {
        let parsed = url::Url::parse(url).map_err(|e| bad(&e))?;
        let path = parsed.to_file_path().map_err(|_| bad(&"a file URL needs an absolute path"))?;
        return Ok(Arc::new(DirStore::open(path)?));
    }
    let parsed = url::Url::parse(url).map_err(|e| bad(&e))?;
    let prefix = parsed.path().trim_matches('/').to_string();
    let store: Arc<dyn object_store::ObjectStore> = match scheme {
        "s3" => Arc::new(object_store::aws::AmazonS3Builder::from_env().with_url(url).build().map_err(|e| bad(&e))?),
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(url).build().map_err(|e| bad(&e))?,
        ),
        "az" | "azure" => {
            Arc::new(object_store::azure::MicrosoftAzureBuilder::from_env().with_url(url).build().map_err(|e| bad(&e))?)
        }
        other => return Err(bad(&format!("unsupported scheme {other}: use a path, file://, s3://, gs:// or az://"))),
    };
    let base = format!(
        "{scheme}://{}{}",
        parsed.host_str().unwrap_or(""),
        if prefix.is_empty() { String::new() } else { format!("/{prefix}") }
    );
    Ok(Arc::new(ObjectBlobStore::new(store, &base, &prefix)))
}
