//! `conversation_attachments` (schema-design.md section 2.2, decisions.md item 12).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::entity::{Entity, EntityKind};
use crate::enums::VirusScanStatus;
use crate::error::{StoreError, StoreResult};
use crate::validate as v;

crate::entity_struct! {
    /// A file attached to a message.
    pub struct ConversationAttachment {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// The message it belongs to.
        pub conversation_id: Uuid = Uuid,
        /// File name (required, at most 255 characters).
        pub file_name: String = Text,
        /// MIME type.
        pub file_type: Option<String> = Text,
        /// Size in bytes, >= 0.
        pub file_size: Option<i32> = Int,
        /// Where the file is stored.
        pub storage_path: Option<String> = Text,
        /// Content id of an inline e-mail attachment.
        pub content_id: Option<String> = Text,
        /// Inline in the message body.
        pub is_inline: bool = Bool,
        /// `sha256:` and 64 lower-case hex digits.
        pub checksum: Option<String> = Text,
        /// Virus scan state.
        pub virus_scan_status: VirusScanStatus = Text,
        /// Virus scan details (a JSON object).
        pub virus_scan_result: Option<serde_json::Value> = Json,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
    }
}

impl Default for ConversationAttachment {
    fn default() -> Self {
        ConversationAttachment {
            id: Uuid::nil(),
            conversation_id: Uuid::nil(),
            file_name: String::new(),
            file_type: None,
            file_size: None,
            storage_path: None,
            content_id: None,
            is_inline: false,
            checksum: None,
            virus_scan_status: VirusScanStatus::Pending,
            virus_scan_result: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

/// Checks the `sha256:<64 lower-case hex>` form of decisions.md item 12.
pub fn checksum(field: &str, value: &str) -> StoreResult<()> {
    let ok = value
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(field, "must be sha256: followed by 64 lower-case hex digits"))
    }
}

/// Characters that reorder how text is shown (bidirectional controls): a name such as
/// `invoice\u{202E}fdp.exe` would look like `invoiceexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks that `name` is a plain file name: not empty, at most 255 characters, no path
/// separator, no control or bidirectional control character, not `.` or `..`.
pub fn file_name(field: &str, name: &str) -> StoreResult<()> {
    v::required_text(field, name, 255)?;
    if name.contains(['/', '\\']) {
        return Err(StoreError::invalid(field, "must be a file name without / or \\"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(StoreError::invalid(field, "must not contain control characters"));
    }
    if name.chars().any(is_bidi_control) {
        return Err(StoreError::invalid(
            field,
            "must not contain bidirectional control characters (U+202E and the like)",
        ));
    }
    if name == "." || name == ".." {
        return Err(StoreError::invalid(field, "must be a file name, not . or .."));
    }
    Ok(())
}

/// A plain file name made from one a sender chose (an e-mail part's, a client's path): the part
/// after the last path separator, control and bidirectional characters dropped, at most 255
/// characters; `fallback` when nothing is left.
pub fn safe_file_name(raw: &str, fallback: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).take(255).collect();
    let clean = clean.trim().to_string();
    if clean.is_empty() || clean == "." || clean == ".." {
        fallback.to_string()
    } else {
        clean
    }
}

/// Checks that `media` is a MIME type (`type/subtype` of token characters, RFC 9110 section 8.3)
/// without parameters, and returns it in lower case.
pub fn media_type(field: &str, media: &str) -> StoreResult<String> {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    match media.split_once('/') {
        Some((t, sub)) if token(t) && token(sub) && media.len() <= 100 => Ok(media.to_ascii_lowercase()),
        _ => Err(StoreError::invalid(field, "must be a media type such as image/jpeg (type/subtype, no parameters)")),
    }
}

impl Entity for ConversationAttachment {
    const KIND: EntityKind = EntityKind::ConversationAttachment;
    const IMMUTABLE: &'static [&'static str] = &["id", "conversation_id", "created_at"];
    const FILTERS: &'static [&'static str] = &["conversation_id", "file_type", "virus_scan_status", "checksum"];
    super::record_methods!();

    crate::field_rules!(
        file_name: FileName,
        file_type: MediaType,
        file_size: Int(0, i32::MAX),
        storage_path: MaxLen(500),
        content_id: MaxLen(255),
        checksum: Checksum,
        virus_scan_result: Object,
    );

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
        }
    }
}
