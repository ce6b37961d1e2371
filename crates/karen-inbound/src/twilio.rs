//! Twilio webhooks (decisions.md item 21): the `X-Twilio-Signature` check, and the parameters of
//! an incoming SMS/MMS or a call's recording/transcription callback as karen's
//! [`InboundMessage`].
//!
//! The signature is what Twilio documents ("Validating requests"): the full URL Twilio called,
//! then every POST parameter sorted by name with its value appended (no separators), signed with
//! HMAC-SHA1 under the account's auth token, base64-encoded.

use base64::Engine;
use hmac::{Hmac, Mac};
use karen_core::enums::Medium;
use karen_core::inbound::{InboundAttachment, InboundMessage, Party};
use karen_core::{StoreError, StoreResult};
use serde_json::{Map, Value};
use sha1::Sha1;

/// The form parameters of a webhook, in the order received.
pub type Params = Vec<(String, String)>;

/// The string Twilio signs: `url` and the parameters sorted by name (then value), each name
/// followed by its value.
fn signed_data(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.as_bytes().to_vec();
    for (k, v) in sorted {
        data.extend_from_slice(k.as_bytes());
        data.extend_from_slice(v.as_bytes());
    }
    data
}

fn mac(auth_token: &str) -> Hmac<Sha1> {
    Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes a key of any length")
}

/// The signature Twilio sends for `params` posted to `url` (what a test or a proxy computes).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut m = mac(auth_token);
    m.update(&signed_data(url, params));
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

/// Whether `header` is the signature of `params` posted to `url`, compared in constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else { return false };
    let mut m = mac(auth_token);
    m.update(&signed_data(url, params));
    m.verify_slice(&given).is_ok()
}

/// The value of parameter `name`, if given and not empty.
fn get<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.trim().is_empty())
}

fn required<'p>(params: &'p [(String, String)], name: &str) -> StoreResult<&'p str> {
    get(params, name).ok_or_else(|| StoreError::invalid(name, "is required (a Twilio parameter)"))
}

/// Every parameter as a JSON object (a repeated name keeps its values as an array): the
/// message's `raw_content`.
fn raw(params: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in params {
        match map.get_mut(k) {
            None => {
                map.insert(k.clone(), Value::String(v.clone()));
            }
            Some(Value::Array(a)) => a.push(Value::String(v.clone())),
            Some(other) => *other = Value::Array(vec![other.clone(), Value::String(v.clone())]),
        }
    }
    Value::Object(map)
}

fn party(number: &str) -> Party {
    Party { address: number.trim().to_string(), name: None }
}

/// An incoming SMS or MMS: MessageSid (SmsSid in older callbacks), From, To, Body, and the
/// media of MMS (`MediaUrl0..`, `MediaContentType0..`) as attachments that point at Twilio.
pub fn parse_sms(params: &[(String, String)]) -> StoreResult<InboundMessage> {
    let sid = get(params, "MessageSid")
        .or_else(|| get(params, "SmsSid"))
        .ok_or_else(|| StoreError::invalid("MessageSid", "is required (a Twilio parameter)"))?;
    let from = required(params, "From")?;
    let count: usize = match get(params, "NumMedia") {
        Some(n) => n.trim().parse().map_err(|_| StoreError::invalid("NumMedia", "must be a whole number"))?,
        None => 0,
    };
    let mut attachments = Vec::new();
    for i in 0..count.min(10) {
        let Some(url) = get(params, &format!("MediaUrl{i}")) else { continue };
        let ty = get(params, &format!("MediaContentType{i}")).map(str::to_string);
        attachments.push(InboundAttachment {
            file_name: format!("{sid}-media-{i}"),
            content_type: ty,
            bytes: None,
            url: Some(url.to_string()),
            content_id: None,
            is_inline: false,
        });
    }
    let body = params.iter().find(|(k, _)| k == "Body").map(|(_, v)| v.clone()).unwrap_or_default();
    Ok(phone_message(Medium::Sms, sid, from, body, params, attachments))
}

/// A call's recording or transcription callback: CallSid, From, To, the transcription as the
/// text, the recording as an attachment that points at Twilio.
pub fn parse_voice(params: &[(String, String)]) -> StoreResult<InboundMessage> {
    let sid = required(params, "CallSid")?;
    let from = required(params, "From")?;
    let attachments = get(params, "RecordingUrl")
        .map(|url| InboundAttachment {
            file_name: format!("{}.wav", get(params, "RecordingSid").unwrap_or(sid)),
            content_type: Some("audio/x-wav".into()),
            bytes: None,
            url: Some(url.to_string()),
            content_id: None,
            is_inline: false,
        })
        .into_iter()
        .collect();
    let text = get(params, "TranscriptionText").unwrap_or_default().to_string();
    Ok(phone_message(Medium::Voice, sid, from, text, params, attachments))
}

/// The message of a webhook: its id, sender, text, the recipient of `To`, every parameter.
fn phone_message(
    medium: Medium,
    sid: &str,
    from: &str,
    content: String,
    params: &[(String, String)],
    attachments: Vec<InboundAttachment>,
) -> InboundMessage {
    InboundMessage {
        medium,
        external_id: sid.to_string(),
        subject: None,
        content,
        content_type: "text/plain".into(),
        from: Some(party(from)),
        to: get(params, "To").map(party).into_iter().collect(),
        cc: Vec::new(),
        bcc: Vec::new(),
        sent_at: None,
        references: Vec::new(),
        raw_content: raw(params),
        attachments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The worked example of Twilio's security documentation.
    #[test]
    fn signatures_match_twilios_documented_example() {
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let token = "12345";
        assert_eq!(signature(token, url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify(token, url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!verify(token, url, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B9="));
        assert!(!verify("other", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!verify(token, url, &params, "not base64 at all!"));
        let mut changed = params.clone();
        changed[2].1 = "9999".into();
        assert!(!verify(token, url, &changed, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), "a changed parameter fails");
    }

    #[test]
    fn sms_and_mms_parameters() {
        let m = parse_sms(&p(&[
            ("MessageSid", "SM1"),
            ("From", "+17575550142"),
            ("To", "+17575550100"),
            ("Body", "Photo of the leak"),
            ("NumMedia", "1"),
            ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/SM1/Media/ME1"),
            ("MediaContentType0", "image/jpeg"),
        ]))
        .unwrap();
        assert_eq!((m.external_id.as_str(), m.content.as_str()), ("SM1", "Photo of the leak"));
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(m.raw_content["NumMedia"], "1");
        assert_eq!(parse_sms(&p(&[("From", "+1")])).unwrap_err().field(), Some("MessageSid"));
        assert_eq!(
            parse_sms(&p(&[("MessageSid", "SM2"), ("From", "+1"), ("NumMedia", "x")])).unwrap_err().field(),
            Some("NumMedia")
        );
        let v = parse_voice(&p(&[("CallSid", "CA1"), ("From", "+17575550142"), ("TranscriptionText", "Call me back")]))
            .unwrap();
        assert_eq!((v.medium, v.content.as_str()), (Medium::Voice, "Call me back"));
        assert_eq!(parse_voice(&p(&[("CallSid", "CA1")])).unwrap_err().field(), Some("From"));
    }
}
