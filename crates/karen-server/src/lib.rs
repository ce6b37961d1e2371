//! karen's HTTP JSON API over any [`karen_core::Store`]: every entity's CRUD and listing, every
//! query pattern of the design, bearer tokens with scopes, errors as `application/problem+json`
//! (RFC 9457), an OpenAPI 3.1 document built from the same route table, health checks, request
//! ids and graceful shutdown.

mod agents;
pub mod app;
pub mod auth;
mod crud;
pub mod error;
mod events;
mod extract;
pub mod files;
pub mod inbound;
mod lifecycle;
pub mod openapi;
mod queries;
pub mod routes;
mod server;
pub mod spec;
pub mod token_cache;
pub mod webhooks;

pub use inbound::InboundConfig;
pub use server::{router, serve, ServerConfig};
pub use webhooks::WebhookConfig;
