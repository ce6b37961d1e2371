//! karen's PostgreSQL backend: embedded, versioned migrations and the [`karen_core::Store`]
//! interface over a sqlx connection pool.

pub mod copy;
mod errors;
mod events;
mod merge;
mod migrate;
mod preferences;
mod rows;
mod search;
mod store;
pub mod testing;
mod writes;

pub use migrate::{migrate, migrate_to, MIGRATIONS};
pub use store::PgStore;
