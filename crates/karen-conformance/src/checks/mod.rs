//! The checks, grouped by what they exercise. Each takes a fresh [`crate::Ctx`].

pub mod catalog;
pub mod context;
pub mod conversations;
pub mod customers;
pub mod engine;
pub mod events;
pub mod files;
pub mod inbound;
pub mod lifecycle;
pub mod merge;
pub mod preferences;
pub mod quotes;
pub mod search;
