//! The inbound routes (decisions.md items 20 and 21): a raw e-mail, and Twilio's SMS and voice
//! webhooks, each recorded as a conversation of the right customer in the right thread by
//! [`karen_core::Karen::receive`]. The Twilio routes take no bearer token (Twilio cannot send
//! one): the `X-Twilio-Signature` is their authentication, checked before anything is read.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use karen_core::inbound::{InboundMessage, InboundRules, Received};
use karen_core::Store;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// How the inbound routes are configured.
#[derive(Debug, Clone)]
pub struct InboundConfig {
    /// The business's identity and the SMS thread gap.
    pub rules: InboundRules,
    /// Twilio's auth token, which signs its webhooks; none: the Twilio routes answer 503.
    pub twilio_auth_token: Option<String>,
    /// The public base URL Twilio calls (and signs), e.g. `https://karen.757handy.com`; the
    /// route's path and query are appended to it.
    pub public_url: Option<String>,
    /// Largest raw e-mail accepted, in bytes (413 beyond it); also the largest MMS media item
    /// fetched.
    pub max_email_bytes: usize,
    /// Hosts (`host` or `host:port`) MMS media and recordings are fetched from, with the
    /// webhook's AccountSid and the auth token; media elsewhere is recorded by its URL only.
    pub media_hosts: Vec<String>,
}

impl Default for InboundConfig {
    fn default() -> Self {
        InboundConfig {
            rules: InboundRules::default(),
            twilio_auth_token: None,
            public_url: None,
            max_email_bytes: 25 * 1024 * 1024,
            media_hosts: vec!["api.twilio.com".into()],
        }
    }
}

/// Whether the request's content type is `media` (parameters ignored).
fn is_media(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(media))
}

/// Bytes of an over-long body read and dropped before the 413 is sent, so that a client still
/// sending gets the answer instead of a reset connection; a longer body is cut off.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// Reads a body of at most `limit` bytes: 413 beyond it (after reading on up to
/// [`DRAIN_BYTES`] more, so the client reads the answer).
async fn body_of(req: Request, limit: usize) -> ApiResult<Vec<u8>> {
    use futures_util::StreamExt;
    let mut stream = req.into_body().into_data_stream();
    let mut out: Vec<u8> = Vec::new();
    let mut over = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("body", "the body could not be read to its end"))?;
        if over > 0 || out.len() + chunk.len() > limit {
            over += chunk.len();
            if over > DRAIN_BYTES {
                break;
            }
            continue;
        }
        out.extend_from_slice(&chunk);
    }
    if over > 0 {
        return Err(ApiError::too_large(limit));
    }
    Ok(out)
}

/// The answer to a recorded message: 201 when stored now, 200 for a redelivery.
fn answer(r: Received) -> (StatusCode, Json<Received>) {
    (if r.created { StatusCode::CREATED } else { StatusCode::OK }, Json(r))
}

/// POST /v1/inbound/email: the raw message (`message/rfc822`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn email<S: Store>(State(app): AppState<S>, req: Request) -> ApiResult<(StatusCode, Json<Received>)> {
    if !is_media(req.headers(), "message/rfc822") {
        return Err(ApiError::wrong_media_type("message/rfc822 (the raw message)"));
    }
    let raw = body_of(req, app.inbound.max_email_bytes).await?;
    let message = karen_inbound::email::parse(&raw)?;
    let received = app.karen.receive(message, &app.inbound.rules).await?;
    tracing::info!(
        conversation = %received.conversation.id,
        customer = %received.customer_id,
        created = received.created,
        customer_created = received.customer_created,
        attachments = received.attachment_ids.len(),
        "inbound e-mail"
    );
    Ok(answer(received))
}

/// The verified parameters of a Twilio webhook, or why not: 503 unconfigured, 415 not a form,
/// 403 a signature that does not verify (nothing is stored).
fn verified<S: Store>(
    app: &crate::app::App<S>,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Vec<(String, String)>> {
    let (Some(token), Some(base)) = (&app.inbound.twilio_auth_token, &app.inbound.public_url) else {
        return Err(ApiError::not_configured(
            "Twilio webhooks are not configured: start karen with --twilio-auth-token (KAREN_TWILIO_AUTH_TOKEN) \
             and --public-url (KAREN_PUBLIC_URL), the base URL Twilio calls",
        ));
    };
    if !is_media(headers, "application/x-www-form-urlencoded") {
        return Err(ApiError::wrong_media_type("application/x-www-form-urlencoded (Twilio's parameters)"));
    }
    let params: Vec<(String, String)> =
        form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let path = uri.0.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
    match signature {
        Some(sig) if karen_inbound::twilio::verify(token, &url, &params, sig) => Ok(params),
        Some(_) => {
            tracing::warn!(route = path, "a Twilio webhook with a signature that does not verify was refused");
            Err(ApiError::bad_signature(
                "X-Twilio-Signature does not verify for this URL and these parameters; nothing was stored",
            ))
        }
        None => Err(ApiError::bad_signature("X-Twilio-Signature is missing; nothing was stored")),
    }
}

/// Whether `url` is on one of the media hosts (its host, or host:port, listed).
fn allowed_media(url: &str, hosts: &[String]) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else { return false };
    let Some(host) = u.host_str() else { return false };
    let with_port = u.port().map(|p| format!("{host}:{p}"));
    matches!(u.scheme(), "https" | "http")
        && hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host) || with_port.as_deref().is_some_and(|w| h.eq_ignore_ascii_case(w)))
}

/// Fetches the bytes of media on an allowed host (decision 21), with HTTP basic auth as the
/// webhook's account, at most `limit` bytes each. A fetch that fails leaves the item recorded by
/// its URL only, with a warning: the message itself is never lost for its media.
async fn fetch_media(message: &mut InboundMessage, params: &[(String, String)], token: &str, config: &InboundConfig) {
    let account = params.iter().find(|(k, _)| k == "AccountSid").map(|(_, v)| v.clone());
    let client = match reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build() {
        Ok(c) => c,
        Err(_) => return,
    };
    for a in message.attachments.iter_mut() {
        let Some(url) = a.url.clone().filter(|u| allowed_media(u, &config.media_hosts)) else { continue };
        let mut req = client.get(&url);
        if let Some(sid) = &account {
            req = req.basic_auth(sid, Some(token));
        }
        let outcome = async {
            let resp = req.send().await?.error_for_status()?;
            if resp.content_length().is_some_and(|n| n as usize > config.max_email_bytes) {
                return Ok(None);
            }
            let bytes = resp.bytes().await?;
            Ok::<_, reqwest::Error>((bytes.len() <= config.max_email_bytes).then(|| bytes.to_vec()))
        };
        match outcome.await {
            Ok(Some(bytes)) => a.bytes = Some(bytes),
            Ok(None) => tracing::warn!(
                limit = config.max_email_bytes,
                "MMS media larger than the limit: recorded by its URL only"
            ),
            Err(err) => tracing::warn!(status = ?err.status(), "fetching MMS media failed: recorded by its URL only"),
        }
    }
}

/// How a webhook's parameters are read into a message.
type Parse = fn(&[(String, String)]) -> karen_core::StoreResult<InboundMessage>;

/// A verified webhook's message, with its media fetched, recorded; Twilio is answered with
/// empty TwiML.
async fn twilio<S: Store>(
    app: &crate::app::App<S>,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
    parse: Parse,
    kind: &str,
) -> ApiResult<Response> {
    let params = verified(app, uri, headers, body)?;
    let mut message = parse(&params)?;
    if let Some(token) = &app.inbound.twilio_auth_token {
        fetch_media(&mut message, &params, token, &app.inbound).await;
    }
    let received = app.karen.receive(message, &app.inbound.rules).await?;
    tracing::info!(
        conversation = %received.conversation.id,
        customer = %received.customer_id,
        created = received.created,
        customer_created = received.customer_created,
        kind,
        "inbound Twilio webhook"
    );
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>")
        .into_response())
}

/// POST /v1/inbound/twilio/sms
#[tracing::instrument(level = "debug", skip_all)]
pub async fn twilio_sms<S: Store>(
    State(app): AppState<S>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    twilio(&app, &uri, &headers, &body, karen_inbound::twilio::parse_sms, "sms").await
}

/// POST /v1/inbound/twilio/voice
#[tracing::instrument(level = "debug", skip_all)]
pub async fn twilio_voice<S: Store>(
    State(app): AppState<S>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    twilio(&app, &uri, &headers, &body, karen_inbound::twilio::parse_voice, "voice").await
}

/// The schemas of the inbound routes.
pub fn schemas(schemas: &mut BTreeMap<String, Value>) {
    let uuid = json!({"type": "string", "format": "uuid"});
    schemas.insert(
        "Received".into(),
        json!({
            "type": "object",
            "required": ["conversation", "customer_id", "customer_created", "thread_id", "created", "attachment_ids"],
            "properties": {
                "conversation": {"$ref": "#/components/schemas/Conversation"},
                "customer_id": uuid,
                "customer_created": {"type": "boolean", "description": "Whether the customer was created for this message."},
                "thread_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "created": {"type": "boolean", "description": "false: a redelivery, nothing was written."},
                "attachment_ids": {"type": "array", "items": uuid}
            }
        }),
    );
    let text = json!({"type": "string"});
    schemas.insert(
        "TwilioSms".into(),
        json!({
            "type": "object", "required": ["MessageSid", "From"],
            "description": "Twilio's parameters of an incoming message (https://www.twilio.com/docs/messaging/guides/webhook-request).",
            "properties": {"MessageSid": text, "From": text, "To": text, "Body": text, "NumMedia": text,
                "MediaUrl0": text, "MediaContentType0": text}
        }),
    );
    schemas.insert(
        "TwilioVoice".into(),
        json!({
            "type": "object", "required": ["CallSid", "From"],
            "description": "Twilio's parameters of a recording or transcription callback.",
            "properties": {"CallSid": text, "From": text, "To": text, "TranscriptionText": text,
                "RecordingUrl": text, "RecordingSid": text, "RecordingDuration": text}
        }),
    );
}
