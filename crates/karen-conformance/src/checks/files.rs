//! Attachment bytes (decisions.md item 22) on every backend: uploads are content-addressed and
//! described by karen, downloads are verified, refused uploads leave nothing, erasure and the
//! sweep remove only bytes no row names, and inbound parts are stored the same way.

use bytes::Bytes;
use futures_util::StreamExt;
use karen_core::blob::{self, BlobKey, ByteRange, ByteStream};
use karen_core::enums::*;
use karen_core::inbound::{BusinessIdentity, InboundRules};
use karen_core::karen::Upload;
use karen_core::model::*;
use karen_core::{Karen, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::*;
use crate::{Ctx, MAX_ATTACHMENT_BYTES};

/// A customer with one message; the message's id.
async fn message_of<S: Store>(k: &Karen<S>, email: &str) -> (Uuid, Uuid) {
    let c = k.create(customer(email)).await.unwrap();
    let m = k.create(message(c.id, Medium::Email, Direction::Inbound, crate::start_time())).await.unwrap();
    (c.id, m.id)
}

fn upload(name: &str, media: &str) -> Upload {
    Upload { file_name: name.into(), content_type: Some(media.into()), ..Default::default() }
}

/// `bytes` in chunks of `n`.
fn chunked(bytes: &[u8], n: usize) -> ByteStream {
    let parts: Vec<std::io::Result<Bytes>> = bytes.chunks(n.max(1)).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures_util::stream::iter(parts).boxed()
}

/// Everything a stream gives, or the error it ended with.
async fn read_all(mut s: ByteStream) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

async fn content<S: Store>(k: &Karen<S>, id: Uuid) -> Result<Vec<u8>, String> {
    let opened = k.open_attachment(id, false).await.map_err(|e| e.to_string())?;
    let size = opened.size;
    read_all(opened.bytes(ByteRange { start: 0, end: size })).await
}

async fn blob_count<S: Store>(k: &Karen<S>) -> usize {
    k.files().unwrap().blobs.list().await.unwrap().len()
}

/// Writes `bytes` under `key` whatever they hash to: damage done behind karen's back.
async fn overwrite<S: Store>(k: &Karen<S>, key: BlobKey, bytes: &'static [u8]) {
    let store = k.files().unwrap().blobs.clone();
    let staged = blob::stage(store.as_ref(), blob::once(bytes), u64::MAX).await.unwrap();
    staged.blob.commit(key).await.unwrap();
}

/// Uploads get their size, checksum and location from karen; equal bytes are stored once;
/// reads are verified, whole or by range; a corrupt or missing blob is an error, never bytes.
pub async fn uploads_are_content_addressed_and_verified<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let (_, m1) = message_of(k, "files-a@example.com").await;
    let (_, m2) = message_of(k, "files-b@example.com").await;
    let body = b"Photo of the leak under the sink".repeat(1000);
    let a = k.upload_attachment(m1, upload("leak.jpg", "image/JPEG"), chunked(&body, 7000)).await.unwrap();
    let key = BlobKey::of(&body);
    assert_eq!(a.conversation_id, m1);
    assert_eq!(a.file_size, Some(body.len() as i32));
    assert_eq!(a.checksum.as_deref(), Some(key.checksum().as_str()));
    assert_eq!(a.file_type.as_deref(), Some("image/jpeg"), "media types are stored in lower case");
    assert_eq!(a.storage_path, Some(k.files().unwrap().blobs.location(&key)));
    assert_eq!(a.virus_scan_status, VirusScanStatus::Skipped, "no scanner: skipped and served");
    assert_eq!(k.get::<ConversationAttachment>(a.id).await.unwrap(), a);

    // The same bytes again, under another name of another customer: one blob.
    let claimed = Upload { checksum: Some(key.checksum()), ..upload("copy.jpg", "image/jpeg") };
    let b = k.upload_attachment(m2, claimed, chunked(&body, 100_000)).await.unwrap();
    assert_eq!((b.checksum.as_deref(), b.storage_path.as_deref()), (a.checksum.as_deref(), a.storage_path.as_deref()));
    assert_eq!(blob_count(k).await, 1, "equal bytes are stored once");

    assert_eq!(content(k, a.id).await.unwrap(), body);
    let opened = k.open_attachment(b.id, false).await.unwrap();
    assert_eq!(opened.size, body.len() as u64);
    assert_eq!(read_all(opened.bytes(ByteRange { start: 10, end: 20 })).await.unwrap(), &body[10..20]);

    // A 0-byte file is a file.
    let empty = k.upload_attachment(m1, upload("empty.txt", "text/plain"), chunked(b"", 1)).await.unwrap();
    assert_eq!(empty.file_size, Some(0));
    assert_eq!(empty.checksum, Some(BlobKey::of(b"").checksum()));
    assert_eq!(content(k, empty.id).await.unwrap(), b"");

    // Corrupt behind karen's back: the read ends with an error before its last bytes.
    overwrite(k, key, b"not the photo at all").await;
    let err = content(k, a.id).await.unwrap_err();
    assert!(err.contains("corrupt"), "{err}");
    let report = k.verify_blobs(|_, _| {}).await.unwrap();
    let mut corrupt: Vec<Uuid> = report.corrupt.iter().map(|(id, _)| *id).collect();
    corrupt.sort();
    assert_eq!(corrupt, vec![a.id, b.id]);
    assert!(report.missing.is_empty());

    // Missing: a clear error naming no content, and verify reports it.
    assert!(k.files().unwrap().blobs.delete(&key).await.unwrap());
    match k.open_attachment(a.id, false).await {
        Err(StoreError::Corrupt { field, rule, .. }) => {
            assert_eq!(field, "content");
            assert!(rule.contains("missing"), "{rule}");
        }
        other => panic!("a missing blob must be an error: {:?}", other.map(|o| o.size)),
    }
    let report = k.verify_blobs(|_, _| {}).await.unwrap();
    assert_eq!(report.missing.len(), 2);
    assert!(!report.ok());

    // A row with metadata only has no content to serve.
    let meta = k
        .create(ConversationAttachment { conversation_id: m1, file_name: "remote.pdf".into(), ..Default::default() })
        .await
        .unwrap();
    assert!(matches!(k.open_attachment(meta.id, false).await, Err(StoreError::NotFound { .. })));
}

/// Every refusal happens before anything is committed, and leaves no blob and no staged bytes.
pub async fn refused_uploads_leave_nothing<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let (_, m) = message_of(k, "refused@example.com").await;
    let rows =
        || async { all::<ConversationAttachment, S>(k, &[("conversation_id", karen_core::Value::Uuid(m))]).await };

    // Names: a path, NUL, 300 characters, a right-to-left override, dots.
    for bad in
        ["../../etc/passwd", "a/b.txt", "c:\\x.txt", "nul\0.txt", &"x".repeat(300), "invoice\u{202E}fdp.exe", "..", ""]
    {
        let r = k.upload_attachment(m, upload(bad, "text/plain"), chunked(b"x", 1)).await;
        assert_invalid(r, "file_name");
    }
    assert_invalid(k.upload_attachment(m, upload("a.txt", "not a type"), chunked(b"x", 1)).await, "file_type");
    // A checksum the bytes do not have.
    let wrong = Upload { checksum: Some(BlobKey::of(b"other").checksum()), ..upload("a.txt", "text/plain") };
    assert_invalid(k.upload_attachment(m, wrong, chunked(b"these bytes", 3)).await, "checksum");
    let malformed = Upload { checksum: Some("md5:abc".into()), ..upload("a.txt", "text/plain") };
    assert_invalid(k.upload_attachment(m, malformed, chunked(b"x", 1)).await, "checksum");
    // Over the limit: refused as soon as it passes it.
    let big = vec![7u8; MAX_ATTACHMENT_BYTES as usize + 1];
    match k.upload_attachment(m, upload("big.bin", "application/octet-stream"), chunked(&big, 64 * 1024)).await {
        Err(StoreError::TooLarge { field, limit }) => {
            assert_eq!((field.as_str(), limit), ("file", MAX_ATTACHMENT_BYTES))
        }
        other => panic!("an upload over the limit must be refused: {other:?}"),
    }
    // The connection drops mid-upload.
    let dropped: ByteStream = futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"first half")),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset")),
    ])
    .boxed();
    assert_invalid(k.upload_attachment(m, upload("half.bin", "application/octet-stream"), dropped).await, "file");
    // A message that does not exist: not found, and its body is never read.
    let unread: ByteStream =
        futures_util::stream::once(async { panic!("the body of a refused upload was read") }).boxed();
    assert!(matches!(
        k.upload_attachment(Uuid::now_v7(), upload("a.txt", "text/plain"), unread).await,
        Err(StoreError::NotFound { .. })
    ));

    assert!(rows().await.is_empty(), "no row was written");
    assert_eq!(blob_count(k).await, 0, "no blob was committed");
    // Nothing was left staged either: a sweep that would remove any staged bytes finds none.
    let report = k.sweep_blobs(chrono::Duration::hours(-1)).await.unwrap();
    assert_eq!((report.blobs, report.staged_removed), (0, 0), "{report:?}");
}

/// Erasure removes the bytes of the erased customer that no other row names (decision 17),
/// keeps shared ones; the sweep removes bytes whose rows were deleted once they are older than
/// its grace period, and never bytes a row names.
pub async fn erasure_and_sweep_remove_only_unnamed_bytes<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let (a, ma) = message_of(k, "erased@example.com").await;
    let (_, mb) = message_of(k, "stays@example.com").await;
    let shared =
        k.upload_attachment(ma, upload("shared.pdf", "application/pdf"), chunked(b"the quote", 4)).await.unwrap();
    let only_a = k.upload_attachment(ma, upload("mine.pdf", "application/pdf"), chunked(b"only A's", 4)).await.unwrap();
    let kept = k.upload_attachment(mb, upload("quote.pdf", "application/pdf"), chunked(b"the quote", 4)).await.unwrap();
    assert_eq!(blob_count(k).await, 2);

    let report = k.erase_customer(a).await.unwrap();
    assert_eq!(report.blobs_removed, 1, "{report:?}");
    assert_eq!(report.rows.get("conversation_attachments"), Some(&2));
    assert_eq!(blob_count(k).await, 1);
    assert_eq!(content(k, kept.id).await.unwrap(), b"the quote", "the shared bytes stay for B");
    assert!(matches!(k.open_attachment(shared.id, false).await, Err(StoreError::NotFound { .. })));
    let gone = BlobKey::from_checksum(only_a.checksum.as_deref().unwrap()).unwrap();
    assert!(matches!(k.files().unwrap().blobs.open(&gone).await, Err(blob::BlobError::Missing(_))));

    // A row deleted on its own leaves its bytes to the sweep.
    let orphan = k.upload_attachment(mb, upload("draft.pdf", "application/pdf"), chunked(b"draft", 2)).await.unwrap();
    k.delete::<ConversationAttachment>(orphan.id).await.unwrap();
    assert_eq!(blob_count(k).await, 2);
    let recent = k.sweep_blobs(chrono::Duration::minutes(60)).await.unwrap();
    assert_eq!((recent.blobs, recent.named, recent.recent, recent.removed), (2, 1, 1, 0), "{recent:?}");
    let swept = k.sweep_blobs(chrono::Duration::zero() - chrono::Duration::minutes(1)).await.unwrap();
    assert_eq!((swept.named, swept.removed), (1, 1), "{swept:?}");
    assert_eq!(content(k, kept.id).await.unwrap(), b"the quote", "named bytes are never swept");
    assert!(k.verify_blobs(|_, _| {}).await.unwrap().ok());
}

/// An inbound e-mail's parts are stored as blobs with the message, and read back verified.
pub async fn inbound_parts_are_stored_as_blobs<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let rules = InboundRules {
        identity: BusinessIdentity::new(&["office@757handy.com"], &["+17575550100"]).unwrap(),
        ..Default::default()
    };
    let raw = b"From: dana@example.com\r\nTo: office@757handy.com\r\nMessage-ID: <blob1@example.com>\r\n\
        Subject: photo\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n\
        --XX\r\nContent-Type: text/plain\r\n\r\nSee the photo.\r\n\
        --XX\r\nContent-Type: image/png; name=leak.png\r\nContent-Disposition: attachment; filename=\"../../leak.png\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--XX--\r\n";
    let r = k.receive(karen_inbound::email::parse(raw).unwrap(), &rules).await.unwrap();
    assert_eq!(r.attachment_ids.len(), 1);
    let file = k.get::<ConversationAttachment>(r.attachment_ids[0]).await.unwrap();
    assert_eq!(file.file_name, "leak.png", "a sender's path is cut to its file name");
    let key = BlobKey::of(b"hello");
    assert_eq!(file.storage_path, Some(k.files().unwrap().blobs.location(&key)));
    assert_eq!(content(k, file.id).await.unwrap(), b"hello");
    // A redelivery stores nothing twice.
    let again = k.receive(karen_inbound::email::parse(raw).unwrap(), &rules).await.unwrap();
    assert!(!again.created);
    assert_eq!(blob_count(k).await, 1);
    // A batch (the mailbox backfill) stores its parts the same way.
    let second = String::from_utf8_lossy(raw).replace("blob1@", "blob2@").replace("aGVsbG8=", "d29ybGQ=");
    let out = k.receive_batch(vec![karen_inbound::email::parse(second.as_bytes()).unwrap()], &rules).await;
    let r2 = out.into_iter().next().unwrap().unwrap();
    assert_eq!(content(k, r2.attachment_ids[0]).await.unwrap(), b"world");
    assert_eq!(blob_count(k).await, 2);
}
