//! karen's Google Firestore backend, in the design's document layout (sections 1.3, 2.3, 3.6):
//! `customers/{id}` with `preferences` and `preference_history` subcollections,
//! `conversations/{id}` with `attachments`, `service_categories/{id}`, `services/{id}` with
//! `pricing_tiers`, `service_packages/{id}` with `services`, and karen's `api_tokens` and
//! `_karen_unique` (unique markers), `_karen_meta` (catalog version, migrations). It speaks
//! Firestore's REST API.

pub mod auth;
pub mod client;
pub mod codec;
pub mod events;
pub mod indexes;
pub mod layout;
pub mod migrate;
mod store;

pub use store::FirestoreStore;
