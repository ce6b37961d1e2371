//! The preference engine: which value wins (decisions.md item 9), how observations are learned
//! with provenance and history (items 10 and 18), the customer summary columns, and the contact
//! plan the secretary asks before every outbound message. Pure rules here; [`crate::Karen`]
//! runs them inside one store transaction per key through [`crate::Store::change_preference`],
//! whose steps are written once in [`transaction`].

mod api;
pub mod learn;
pub mod plan;
pub mod resolve;
pub mod summary;
pub mod transaction;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{PreferenceMedium, PreferenceType};
use crate::model::{CustomerPreference, PreferenceHistory};

/// The unique key of a preference row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PreferenceKey {
    /// The customer.
    pub customer_id: Uuid,
    /// The type.
    pub preference_type: PreferenceType,
    /// The key.
    pub preference_key: String,
    /// The medium.
    pub medium: PreferenceMedium,
}

impl PreferenceKey {
    /// The key of a row.
    pub fn of(p: &CustomerPreference) -> Self {
        PreferenceKey {
            customer_id: p.customer_id,
            preference_type: p.preference_type,
            preference_key: p.preference_key.clone(),
            medium: p.medium,
        }
    }
}

/// What happens to the row of a key.
#[derive(Debug, Clone, PartialEq)]
pub enum PreferenceWrite {
    /// Leave it as it is.
    Keep,
    /// Insert it, or replace the current row (same id) with it.
    Upsert(Box<CustomerPreference>),
    /// Delete the current row.
    Delete,
}

/// A new value of one of the customer's summary columns (`preferred_contact_method`,
/// `preferred_contact_time`, `communication_style`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryUpdate {
    /// The column.
    pub column: &'static str,
    /// Its new value.
    pub value: Option<String>,
    /// When (the customer's `updated_at`).
    pub at: DateTime<Utc>,
}

/// Everything one change of a key writes, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct PreferenceChange {
    /// The row.
    pub write: PreferenceWrite,
    /// History rows to append.
    pub history: Vec<PreferenceHistory>,
    /// The customer summary column to set, when the key feeds one.
    pub summary: Option<SummaryUpdate>,
}
