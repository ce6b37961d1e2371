//! Standard Webhooks signatures (https://www.standardwebhooks.com): each delivery carries
//! `webhook-id` (the event's id, the same on every attempt), `webhook-timestamp` (seconds since
//! the epoch, of this attempt) and `webhook-signature`: `v1,` and the base64 of the
//! HMAC-SHA256, keyed with the base64-decoded part of the `whsec_` secret, of
//! `{id}.{timestamp}.{body}`.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `webhook-signature` value of `body` sent as message `id` at `timestamp` with `secret`;
/// none when the secret is not of the `whsec_<base64>` form.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", b64.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_signs_as_published() {
        // The example of the Standard Webhooks specification's reference libraries.
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        assert_eq!(signature("not-a-secret", "m", 1, b""), None);
    }
}
