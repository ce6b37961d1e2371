//! karen as a Model Context Protocol server, on the official Rust SDK (`rmcp`): the tools an LLM
//! agent uses to answer a customer (find them, read their context and history, search and quote
//! services, plan contact, record what it learned and what it sent), over stdio (`karen mcp`)
//! and the streamable HTTP transport (`/mcp` on `karen serve`).
//!
//! Every tool's input schema is generated from the Rust type its arguments are read into, and
//! every failure of a call (an argument that does not fit, a rule broken, a row not found) is a
//! tool error naming the field and the rule, never a protocol error: the agent reads it and can
//! correct itself.

mod args;
mod server;
mod tools;

pub use server::{http_service, serve_stdio, Access, KarenMcp};
pub use tools::{Tool, TOOLS};
