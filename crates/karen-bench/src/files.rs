//! Attachment bytes (issue 16): upload and download throughput of 1 MiB and 20 MiB files
//! through `karen serve` (its own process, on SQLite with the directory store) against copying
//! the same bytes file to file (`std::fs::copy`, what `cp` does, without its process start) —
//! target ≥ 0.7 — and the server's peak resident memory while a 100 MiB file is uploaded
//! (target < 64 MiB: the body is streamed to the store, never held whole).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::inbound::peak_kb;
use crate::measure::{self, op};
use crate::report::Report;

/// A `karen serve` process of the benchmark.
struct Server {
    child: std::process::Child,
    base: String,
    token: String,
    message: String,
    client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `karen serve` on a fresh SQLite file in `dir` with its blobs beside it, and makes a
/// token and a message to attach files to.
async fn start(karen: &Path, dir: &Path) -> Result<Server> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let db = format!("sqlite://{}", dir.join("files.db").display());
    let token = std::process::Command::new(karen)
        .args(["--database-url", &db, "token", "create", "--name", "bench", "--scope", "write"])
        .output()
        .with_context(|| format!("running {}", karen.display()))?;
    anyhow::ensure!(token.status.success(), "karen token create failed");
    let token = String::from_utf8(token.stdout)?.trim().to_string();
    let port = free_port()?;
    let child = std::process::Command::new(karen)
        .args(["--database-url", &db, "--max-attachment-bytes", &(256u64 << 20).to_string()])
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--request-timeout", "600"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut server = Server { child, base, token, message: String::new(), client };
    let customer: serde_json::Value =
        server.post_json("/v1/customers", serde_json::json!({"primary_email": "bench-files@example.com"})).await?;
    let message: serde_json::Value = server
        .post_json(
            "/v1/conversations",
            serde_json::json!({"customer_id": customer["id"], "medium": "email", "direction": "inbound",
                "content": "files", "message_timestamp": "2026-11-30T10:00:00Z"}),
        )
        .await?;
    server.message = message["id"].as_str().context("a message id")?.to_string();
    Ok(server)
}

impl Server {
    async fn post_json(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value> {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "{path}: {}", resp.status());
        Ok(serde_json::from_slice(&resp.bytes().await?)?)
    }

    /// Uploads `body` as a raw body; the attachment's id.
    async fn upload(&self, body: reqwest::Body, name: &str) -> Result<String> {
        let resp = self
            .client
            .post(format!("{}/v1/conversations/{}/attachments?filename={name}", self.base, self.message))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(resp.status().as_u16() == 201, "upload: {}", resp.status());
        let row: serde_json::Value = serde_json::from_slice(&resp.bytes().await?)?;
        Ok(row["id"].as_str().context("an attachment id")?.to_string())
    }

    /// Reads attachment `id`'s content to its end; its length.
    async fn download(&self, id: &str) -> Result<usize> {
        use futures_util::StreamExt;
        let resp = self
            .client
            .get(format!("{}/v1/attachments/{id}/content", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "download: {}", resp.status());
        let mut n = 0;
        let mut s = resp.bytes_stream();
        while let Some(c) = s.next().await {
            n += c?.len();
        }
        Ok(n)
    }
}

/// Bytes of file `i` of size `size`: distinct per call, so no upload meets stored bytes.
fn bytes_of(size: usize, i: u64) -> Vec<u8> {
    let mut v: Vec<u8> = (0..size).map(|j| (j as u64).wrapping_mul(2654435761) as u8).collect();
    v[..8].copy_from_slice(&i.to_le_bytes());
    v
}

/// `base` with its first 8 bytes replaced by `i`: a distinct file for the price of a copy.
fn variant(base: &bytes::Bytes, i: u64) -> bytes::Bytes {
    let mut v = bytes::BytesMut::from(base.as_ref());
    v[..8].copy_from_slice(&i.to_le_bytes());
    v.freeze()
}

/// The baseline: `source` copied to a new file in `scratch` (and fsynced with its folder when
/// `durable`), then removed.
fn copy_op(source: &Path, scratch: &Path, copies: &Arc<AtomicU64>, durable: bool) -> measure::Op {
    let (source, scratch, copies) = (source.to_path_buf(), scratch.to_path_buf(), copies.clone());
    op(move |_| {
        let (source, scratch, copies) = (source.clone(), scratch.clone(), copies.clone());
        async move {
            let n = copies.fetch_add(1, Ordering::Relaxed);
            let target: PathBuf = scratch.join(format!("copy-{n}"));
            tokio::task::spawn_blocking(move || {
                std::fs::copy(&source, &target)?;
                if durable {
                    std::fs::File::open(&target)?.sync_all()?;
                    std::fs::File::open(&scratch)?.sync_all()?;
                }
                std::fs::remove_file(&target)
            })
            .await??;
            Ok(())
        }
    })
}

/// Every row of the attachment table.
pub async fn run(report: &mut Report, dir: &Path, karen: &Path, seconds: f64) -> Result<()> {
    let server = Arc::new(start(karen, &dir.join("files")).await?);
    let scratch = dir.join("files-copy");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    for (label, size) in [("1 MiB", 1usize << 20), ("20 MiB", 20usize << 20)] {
        // Upload: HTTP, hashing, the staged file fsynced and renamed, the row written.
        let source = scratch.join(format!("source-{size}"));
        std::fs::write(&source, bytes_of(size, 0))?;
        let base = bytes::Bytes::from(bytes_of(size, 0));
        let up = {
            let (server, base) = (server.clone(), base.clone());
            op(move |i| {
                let (server, body) = (server.clone(), variant(&base, i + 1));
                async move {
                    server.upload(reqwest::Body::from(body), "bench.bin").await?;
                    Ok(())
                }
            })
        };
        let copies = Arc::new(AtomicU64::new(0));
        let copy = copy_op(&source, &scratch, &copies, false);
        // The same copy made durable as karen makes an upload: the file and its folder fsynced.
        let durable = copy_op(&source, &scratch, &copies, true);
        let (k, c) = measure::compare(1, seconds, &up, &copy).await?;
        let (_, d) = measure::compare(1, seconds / 2.0, &up, &durable).await?;
        report.files("upload", label, size, &k, &c, Some(&d));

        // Download: HTTP, the blob read and hashed on the way.
        let id = server.upload(reqwest::Body::from(bytes_of(size, u64::MAX)), "read.bin").await?;
        let down = {
            let (server, id) = (server.clone(), id.clone());
            op(move |_| {
                let (server, id) = (server.clone(), id.clone());
                async move {
                    anyhow::ensure!(server.download(&id).await? == size, "a whole download");
                    Ok(())
                }
            })
        };
        let (k, c) = measure::compare(1, seconds, &down, &copy).await?;
        report.files("download", label, size, &k, &c, None);
    }

    // Peak memory of the server while a 100 MiB file streams in from disk.
    let big = scratch.join("upload-100MiB");
    std::fs::write(&big, bytes_of(100 << 20, 7))?;
    let pid = server.child.id();
    let before = peak_kb(pid).unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = peak_kb(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let file = tokio::fs::File::open(&big).await?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
    server.upload(body, "big.bin").await?;
    done.store(true, Ordering::Relaxed);
    let _ = watch.join();
    report.upload_memory(100, before as f64 / 1024.0, peak.load(Ordering::Relaxed).max(before) as f64 / 1024.0);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
