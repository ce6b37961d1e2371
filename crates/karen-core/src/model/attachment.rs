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

impl Entity for ConversationAttachment {
    const KIND: EntityKind = EntityKind::ConversationAttachment;
    const IMMUTABLE: &'static [&'static str] = &["id", "conversation_id", "created_at"];
    const FILTERS: &'static [&'static str] = &["conversation_id", "file_type", "virus_scan_status"];
    super::record_methods!();

    fn validate(&mut self) -> StoreResult<()> {
        v::required_text("file_name", &self.file_name, 255)?;
        v::opt_max_len("file_type", &self.file_type, 100)?;
        if let Some(size) = self.file_size {
            v::int_range("file_size", size, 0, i32::MAX)?;
        }
        v::opt_max_len("storage_path", &self.storage_path, 500)?;
        v::opt_max_len("content_id", &self.content_id, 255)?;
        if let Some(c) = &self.checksum {
            checksum("checksum", c)?;
        }
        v::opt_json_object("virus_scan_result", &self.virus_scan_result)?;
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
        }
    }
}
