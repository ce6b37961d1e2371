//! `api_tokens`: bearer tokens of the HTTP API. Only the SHA-256 of a token is stored; the token
//! itself is shown once, when it is created.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entity::{Entity, EntityKind, Unique};
use crate::error::{StoreError, StoreResult};
use crate::validate as v;

/// What a token may do. `admin` includes `write`, which includes `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read every entity and query.
    Read,
    /// Create, change and delete data.
    Write,
    /// Manage tokens.
    Admin,
}

impl Scope {
    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    /// Parses a scope name.
    pub fn parse(s: &str) -> StoreResult<Scope> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            _ => Err(StoreError::invalid("scopes", format!("unknown scope {s:?}; scopes are read, write, admin"))),
        }
    }
}

crate::entity_struct! {
    /// An HTTP API token.
    pub struct ApiToken {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// A name to recognise it by (at most 100 characters).
        pub name: String = Text,
        /// Its scopes: read, write, admin.
        pub scopes: Vec<String> = TextArray,
        /// `sha256:` and the hex SHA-256 of the token; unique.
        pub token_hash: String = Text,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
        /// When it was revoked; a revoked token is refused.
        pub revoked_at: Option<DateTime<Utc>> = Timestamp,
    }
}

impl Default for ApiToken {
    fn default() -> Self {
        ApiToken {
            id: Uuid::nil(),
            name: String::new(),
            scopes: Vec::new(),
            token_hash: String::new(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            revoked_at: None,
        }
    }
}

impl ApiToken {
    /// True when the token is not revoked and holds `scope` (or a scope that includes it).
    pub fn allows(&self, scope: Scope) -> bool {
        self.revoked_at.is_none() && self.scopes.iter().filter_map(|s| Scope::parse(s).ok()).any(|held| held >= scope)
    }
}

impl Entity for ApiToken {
    const KIND: EntityKind = EntityKind::ApiToken;
    const IMMUTABLE: &'static [&'static str] = &["id", "token_hash", "created_at"];
    const FILTERS: &'static [&'static str] = &["token_hash", "name"];
    const UNIQUES: &'static [Unique] =
        &[Unique::new("uq__api_tokens__token_hash", &["token_hash"], "token_hash must be unique")];
    const SECRET_FIELDS: &'static [&'static str] = &["token_hash"];
    super::record_methods!();

    crate::field_rules!(name: Text(100));

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        if self.scopes.is_empty() {
            return Err(StoreError::invalid("scopes", "must name at least one scope: read, write, admin"));
        }
        for s in &self.scopes {
            Scope::parse(s)?;
        }
        self.scopes.sort_by_key(|s| Scope::parse(s).ok());
        self.scopes.dedup();
        crate::model::attachment::checksum("token_hash", &self.token_hash)?;
        v::opt_micros(&mut self.revoked_at);
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
        }
    }
}
