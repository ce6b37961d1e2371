//! karen's embedded SQLite backend: one file, WAL, one writer and several readers, migrations
//! embedded in the binary and applied on open.

mod errors;
mod events;
mod merge;
mod migrate;
mod open;
mod preferences;
mod rows;
mod search;
mod store;
mod writes;

pub use migrate::{migrate_to, MIGRATIONS};
pub use open::KAREN_APPLICATION_ID;
pub use store::SqliteStore;
