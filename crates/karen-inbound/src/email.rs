//! A raw RFC 5322 message as karen's [`InboundMessage`] (decisions.md item 20), parsed with
//! `mail-parser`: any MIME structure, RFC 2047 encoded words, quoted-printable and base64,
//! legacy charsets, nested messages. Nothing here refuses a message for its looks: what karen
//! cannot use is refused by the rules that need it (a sender, a size), naming the field.

use chrono::{DateTime, TimeZone, Utc};
use karen_core::enums::Medium;
use karen_core::inbound::{InboundAttachment, InboundMessage, Party};
use karen_core::{StoreError, StoreResult};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// MIME parts a message may have; more is refused (a bomb of nested multiparts).
pub const MAX_PARTS: usize = 10_000;

/// Levels of the MIME tree described in `raw_content.structure`; deeper parts are summarised.
const MAX_DEPTH: usize = 32;

/// `sha256:` and the lower-case hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A Message-ID as karen keeps it: without angle brackets or surrounding space; one longer than
/// an external id may be (255) becomes `sha256:` of itself, the same for a header naming it.
pub fn message_id(raw: &str) -> Option<String> {
    let id = raw.trim().trim_start_matches('<').trim_end_matches('>').trim();
    match id.len() {
        0 => None,
        1..=255 => Some(id.to_string()),
        _ => Some(sha256(id.as_bytes())),
    }
}

/// Reads `raw` into an inbound e-mail; `received_at` is not used for the message's time (the
/// Date header is, when it is a real date) but a message without a Message-ID gets `sha256:`
/// of its bytes, so its redelivery is recognised.
pub fn parse(raw: &[u8]) -> StoreResult<InboundMessage> {
    if raw.is_empty() {
        return Err(StoreError::invalid("body", "the message is empty"));
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| StoreError::invalid("body", "not an RFC 5322 message: no header could be read"))?;
    // RFC 5322 field names are printable ASCII without ':' (mail-parser reads anything).
    let field_name = |n: &str| !n.is_empty() && n.bytes().all(|b| (33..=126).contains(&b) && b != b':');
    if !message.headers().iter().any(|h| field_name(h.name())) {
        return Err(StoreError::invalid("body", "not an RFC 5322 message: no header could be read"));
    }
    if message.parts.len() > MAX_PARTS {
        return Err(StoreError::invalid("body", format!("the message has more than {MAX_PARTS} MIME parts")));
    }
    let external_id = message.message_id().and_then(message_id).unwrap_or_else(|| sha256(raw));
    let (content, content_type) = body(&message);
    Ok(InboundMessage {
        medium: Medium::Email,
        external_id,
        subject: message.subject().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        content,
        content_type,
        from: message.from().and_then(|a| parties(a).into_iter().next()),
        to: message.to().map(parties).unwrap_or_default(),
        cc: message.cc().map(parties).unwrap_or_default(),
        bcc: message.bcc().map(parties).unwrap_or_default(),
        sent_at: message.date().and_then(|d| date(d.to_timestamp())),
        references: references(&message),
        raw_content: raw_content(&message, raw),
        attachments: attachments(&message),
    })
}

/// A Date header's time, when it is one karen can store (years 1 to 9999).
fn date(timestamp: i64) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    let t = Utc.timestamp_opt(timestamp, 0).single()?;
    (1..=9999).contains(&t.year()).then_some(t)
}

/// The text of the message and the type of the part it came from: the first text/plain body
/// part, else text made from the first HTML part; none: empty text/plain.
fn body(message: &Message<'_>) -> (String, String) {
    let first_text = message
        .text_body
        .iter()
        .filter_map(|id| message.parts.get(*id as usize))
        .find(|p| matches!(p.body, PartType::Text(_)));
    if let Some(PartType::Text(t)) = first_text.map(|p| &p.body) {
        return (t.to_string(), "text/plain".into());
    }
    if let Some(html) = message.body_html(0) {
        let text = message.body_text(0).map(|t| t.to_string()).unwrap_or_else(|| html.to_string());
        return (text, "text/html".into());
    }
    (String::new(), "text/plain".into())
}

/// The addresses of a header (groups flattened), those without an address left out.
fn parties(a: &Address<'_>) -> Vec<Party> {
    a.iter()
        .filter_map(|addr| {
            let address = addr.address()?.trim();
            (!address.is_empty()).then(|| Party {
                address: address.to_string(),
                name: addr.name().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            })
        })
        .collect()
}

/// The ids of a header holding message ids.
fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => message_id(t).into_iter().collect(),
        HeaderValue::TextList(list) => list.iter().filter_map(|t| message_id(t)).collect(),
        _ => Vec::new(),
    }
}

/// The messages this one answers, nearest first: In-Reply-To, then References from the end.
fn references(message: &Message<'_>) -> Vec<String> {
    let mut out: Vec<String> = ids(message.in_reply_to());
    let mut refs = ids(message.references());
    refs.reverse();
    for r in refs {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// `type/subtype` of a part, lower-cased (text/plain when it states none).
fn mime_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_lowercase(),
            None => ct.ctype().to_lowercase(),
        },
        None => match part.body {
            PartType::Multipart(_) => "multipart/mixed".into(),
            PartType::Message(_) => "message/rfc822".into(),
            _ => "text/plain".into(),
        },
    }
}

/// Decision 20's `raw_content`: the headers in order, the MIME tree, the size and the checksum
/// of the raw bytes (`blob`: null until karen stores the bytes, issue 16).
fn raw_content(message: &Message<'_>, raw: &[u8]) -> Value {
    // Objects, not [name, value] pairs: Firestore stores no array inside an array.
    let headers: Vec<Value> = message.headers_raw().map(|(n, v)| json!({"name": n, "value": v.trim()})).collect();
    json!({
        "headers": headers,
        "structure": structure(message, 0, 0),
        "size": raw.len(),
        "checksum": sha256(raw),
        "blob": null,
    })
}

/// The MIME tree from part `id`: type, size, part id, children, a nested message's tree.
fn structure(message: &Message<'_>, id: usize, depth: usize) -> Value {
    let Some(part) = message.parts.get(id) else { return Value::Null };
    let mut node = json!({"part": id, "type": mime_type(part), "size": part.len()});
    if let Some(name) = part.attachment_name() {
        node["name"] = json!(name);
    }
    if depth >= MAX_DEPTH {
        node["truncated"] = json!(true);
        return node;
    }
    match &part.body {
        PartType::Multipart(children) => {
            node["children"] = children.iter().map(|c| structure(message, *c as usize, depth + 1)).collect();
        }
        PartType::Message(nested) => node["message"] = structure(nested, 0, depth + 1),
        _ => {}
    }
    node
}

/// The non-body parts: their decoded bytes, name, type, Content-ID and whether inline.
fn attachments(message: &Message<'_>) -> Vec<InboundAttachment> {
    message
        .attachments
        .iter()
        .filter_map(|id| message.parts.get(*id as usize).map(|p| (*id, p)))
        .map(|(id, part)| {
            let ty = mime_type(part);
            let disposition = part.content_disposition().map(|d| d.ctype().to_ascii_lowercase());
            let file_name = part
                .attachment_name()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| default_name(id, &ty));
            InboundAttachment {
                file_name,
                bytes: Some(part.contents().to_vec()),
                url: None,
                content_id: part.content_id().and_then(message_id),
                is_inline: disposition.as_deref() == Some("inline") || matches!(part.body, PartType::InlineBinary(_)),
                content_type: Some(ty),
            }
        })
        .collect()
}

/// A name for a part that has none: `part-N` with an extension from its type.
fn default_name(id: u32, ty: &str) -> String {
    let ext = match ty {
        "message/rfc822" => "eml",
        "text/calendar" => "ics",
        "text/html" => "html",
        "text/plain" => "txt",
        "message/delivery-status" => "txt",
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        _ => "bin",
    };
    format!("part-{id}.{ext}")
}
