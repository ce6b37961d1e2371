//! Attachment bytes over HTTP (decisions.md item 22): the upload of a file to a message
//! (multipart/form-data or a raw body) and the download of an attachment's content with its
//! type, a safe `Content-Disposition`, `ETag` (the checksum) and single byte ranges.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::{StreamExt, TryStreamExt};
use karen_core::blob::{ByteRange, ByteStream};
use karen_core::karen::Upload;
use karen_core::model::{ApiToken, ConversationAttachment, Scope};
use karen_core::{Store, StoreError};

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PathId, QueryPairs};

/// The query parameters of an upload.
const UPLOAD_PARAMS: &[&str] = &["filename", "checksum", "content_id", "inline"];

/// A boolean query parameter: `true` or `false`.
fn flag(q: &QueryPairs, name: &str) -> ApiResult<bool> {
    match q.one(name)? {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid(name, "must be true or false")),
    }
}

/// The media type of a header value, without parameters.
fn essence(value: &str) -> String {
    value.split(';').next().unwrap_or("").trim().to_string()
}

/// POST /v1/conversations/{id}/attachments: the bytes are streamed into the attachment store,
/// never held whole; the row is written once they are.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn upload<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
    req: Request,
) -> ApiResult<(StatusCode, Json<ConversationAttachment>)> {
    q.only(UPLOAD_PARAMS)?;
    let files = app.karen.files().ok_or_else(|| ApiError::not_configured("no attachment store is configured"))?;
    let limit = files.max_bytes;
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        // Refused before a byte of the body is read.
        return Err(StoreError::TooLarge { field: "file".into(), limit }.into());
    }
    let mut upload = Upload {
        file_name: q.one("filename")?.unwrap_or("").to_string(),
        content_type: None,
        checksum: q.one("checksum")?.map(str::to_string),
        content_id: q.one("content_id")?.map(str::to_string),
        is_inline: flag(&q, "inline")?,
    };
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body: ByteStream = match content_type.as_deref() {
        Some(ct) if essence(ct).eq_ignore_ascii_case("multipart/form-data") => {
            let boundary = multer::parse_boundary(ct)
                .map_err(|_| ApiError::bad_request("content-type", "multipart/form-data needs a boundary"))?;
            let body = req.into_body().into_data_stream();
            let mut form = multer::Multipart::new(body, boundary);
            let file = loop {
                let field = form
                    .next_field()
                    .await
                    .map_err(|e| ApiError::bad_request("body", format!("the multipart body cannot be read: {e}")))?
                    .ok_or_else(|| ApiError::invalid("file", "the form has no file part (a part named file)"))?;
                match field.name().unwrap_or("") {
                    "file" => break field,
                    name @ ("checksum" | "content_id" | "filename" | "inline") => {
                        let name = name.to_string();
                        let value = field.text().await.map_err(|e| {
                            ApiError::bad_request("body", format!("the multipart body cannot be read: {e}"))
                        })?;
                        match name.as_str() {
                            "checksum" => upload.checksum = Some(value),
                            "content_id" => upload.content_id = Some(value),
                            "filename" => upload.file_name = value,
                            _ => upload.is_inline = value == "true",
                        }
                    }
                    other => {
                        return Err(ApiError::invalid(
                            other,
                            "is not a field of an upload (file, checksum, content_id, filename, inline)",
                        ))
                    }
                }
            };
            if upload.file_name.is_empty() {
                upload.file_name = file.file_name().unwrap_or("").to_string();
            }
            upload.content_type = file.content_type().map(|m| m.essence_str().to_string());
            file_then_end(form, file)
        }
        other => {
            if upload.file_name.is_empty() {
                return Err(ApiError::invalid("filename", "a raw upload names its file with ?filename="));
            }
            upload.content_type = other.map(essence).filter(|t| !t.is_empty());
            req.into_body().into_data_stream().map_err(std::io::Error::other).boxed()
        }
    };
    if upload.file_name.is_empty() {
        return Err(ApiError::invalid("file_name", "the file part has no file name: send one, or ?filename="));
    }
    let row = app.karen.upload_attachment(id, upload, body).await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// The bytes of the file part, then a check that nothing follows it (a field after the file
/// would come too late to apply: the upload fails instead of ignoring it).
fn file_then_end(form: multer::Multipart<'static>, file: multer::Field<'static>) -> ByteStream {
    let bytes = file.map_err(std::io::Error::other);
    let end = futures_util::stream::once(async move {
        let mut form = form;
        match form.next_field().await {
            Ok(None) => None,
            Ok(Some(f)) => Some(Err(std::io::Error::other(format!(
                "a form part ({}) follows the file part; send the other fields first",
                f.name().unwrap_or("unnamed")
            )))),
            Err(e) => Some(Err(std::io::Error::other(e))),
        }
    })
    .filter_map(std::future::ready);
    bytes.chain(end).boxed()
}

/// Chunks read (and hashed) ahead of the socket: the blob is read and verified by a task of its
/// own while the connection sends what was read, so hashing and sending use two cores.
const READ_AHEAD: usize = 4;

/// `bytes` driven by a task of its own, `READ_AHEAD` chunks ahead of whoever reads the result;
/// it stops when the reader goes away.
fn ahead(mut bytes: ByteStream) -> ByteStream {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(READ_AHEAD);
    tokio::spawn(async move {
        while let Some(chunk) = bytes.next().await {
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
    });
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

/// A `Range: bytes=...` header's single range against a blob of `size` bytes: none to send it
/// whole (no header, several ranges, or one that is not valid, which RFC 9110 says to ignore);
/// an error for a range that starts past the end (416).
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<ByteRange>, ()> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return Ok(None) };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(last)) if start <= last => ByteRange { start, end: last.saturating_add(1).min(size) },
        (Ok(start), Err(_)) if b.is_empty() => ByteRange { start, end: size },
        (Err(_), Ok(suffix)) if a.is_empty() && suffix > 0 => {
            ByteRange { start: size.saturating_sub(suffix), end: size }
        }
        _ => return Ok(None),
    };
    if range.start >= size {
        return Err(());
    }
    Ok(Some(range))
}

/// `Content-Disposition: attachment` with the file name in a form every client reads safely:
/// an ASCII fallback without quotes, backslashes or controls, and the exact name percent-encoded
/// in UTF-8 (RFC 6266, RFC 8187).
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// GET /v1/attachments/{id}/content: the bytes, checked against the checksum while they are
/// sent; `unsafe=true` (admin) also serves infected and unscanned content.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn download<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
    token: Option<axum::Extension<ApiToken>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    q.only(&["unsafe"])?;
    let allow_unsafe = flag(&q, "unsafe")?;
    if allow_unsafe && !token.is_some_and(|t| t.allows(Scope::Admin)) {
        return Err(ApiError::forbidden("admin"));
    }
    let opened = app.karen.open_attachment(id, allow_unsafe).await?;
    let etag = format!("\"{}\"", opened.key.checksum());
    let common = |b: axum::http::response::Builder| {
        b.header(header::ETAG, &etag)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CACHE_CONTROL, "private, no-cache")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok(common(Response::builder().status(StatusCode::NOT_MODIFIED)).body(Body::empty()).expect("valid"));
    }
    let size = opened.size;
    // If-Range naming another version: the whole content, as if no range were asked for.
    let honour_range = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()).is_none_or(|v| v.trim() == etag);
    let range = if honour_range { requested_range(&headers, size) } else { Ok(None) };
    let range = match range {
        Ok(r) => r,
        Err(()) => {
            let mut r = ApiError::range_not_satisfiable(size).into_response();
            r.headers_mut()
                .insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"));
            return Ok(r);
        }
    };
    let media = opened.attachment.file_type.clone().unwrap_or_else(|| "application/octet-stream".into());
    let disposition = content_disposition(&opened.attachment.file_name);
    let (status, whole) = match range {
        Some(_) => (StatusCode::PARTIAL_CONTENT, false),
        None => (StatusCode::OK, true),
    };
    let range = range.unwrap_or(ByteRange { start: 0, end: size });
    let mut builder = common(Response::builder().status(status))
        .header(header::CONTENT_TYPE, media)
        .header(header::CONTENT_LENGTH, range.end - range.start)
        .header(header::CONTENT_DISPOSITION, disposition)
        // Served content never runs as a page of this origin.
        .header(header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'");
    if !whole {
        builder = builder.header(header::CONTENT_RANGE, format!("bytes {}-{}/{size}", range.start, range.end - 1));
    }
    builder
        .body(Body::from_stream(ahead(opened.bytes(range))))
        .map_err(|_| ApiError::invalid("file_name", "cannot be sent as a header"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> Result<Option<ByteRange>, ()> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        requested_range(&h, size)
    }

    #[test]
    fn ranges_read_as_rfc_9110_says() {
        assert_eq!(range("bytes=0-9", 100), Ok(Some(ByteRange { start: 0, end: 10 })));
        assert_eq!(range("bytes=90-", 100), Ok(Some(ByteRange { start: 90, end: 100 })));
        assert_eq!(range("bytes=-5", 100), Ok(Some(ByteRange { start: 95, end: 100 })));
        assert_eq!(range("bytes=50-500", 100), Ok(Some(ByteRange { start: 50, end: 100 })));
        assert_eq!(range("bytes=100-", 100), Err(()));
        assert_eq!(range("bytes=0-1,5-6", 100), Ok(None), "several ranges: the whole");
        assert_eq!(range("bytes=9-3", 100), Ok(None), "invalid: ignored");
        assert_eq!(range("items=0-1", 100), Ok(None));
    }

    #[test]
    fn file_names_are_sent_safely() {
        let d = content_disposition("Rechnung \"März\"\\..pdf");
        assert!(
            d.starts_with(
                "attachment; filename=\"Rechnung _M_rz__..pdf\"; filename*=UTF-8''Rechnung%20%22M%C3%A4rz%22%5C"
            ),
            "{d}"
        );
        assert!(HeaderValue::from_str(&content_disposition("a\u{202e}b.exe")).is_ok());
    }
}
