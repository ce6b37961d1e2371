//! karen-core: the domain model of the Karen AI Secretary's data layer, its validation rules,
//! the [`Store`] interface every backend implements, and [`Karen`], the facade that applies the
//! rules before anything reaches a backend.
//!
//! This crate knows no database: backends live in their own crates and depend on this one.

pub mod blob;
pub mod catalog;
pub mod clock;
pub mod consent;
pub mod context;
pub mod customer_data;
pub mod duplicates;
pub mod entity;
pub mod enums;
pub mod error;
pub mod events;
pub mod inbound;
pub mod karen;
pub mod merge;
pub mod model;
pub mod patch;
pub mod preferences;
pub mod query;
pub mod quote;
pub mod rules;
pub mod search;
pub mod store;
pub mod taxonomy;
pub mod validate;
pub mod value;

pub use clock::{Clock, FixedClock, SystemClock};
pub use entity::{unique_violation, Entity, EntityKind, OnDelete, Reference, Unique, REFERENCES};
pub use error::{StoreError, StoreResult};
pub use karen::Karen;
pub use store::Store;
pub use value::{Field, FieldType, Record, Value};
