//! `karen search "q"`: conversation search from the command line (decisions.md item 26),
//! one JSON line per match, best first, as the HTTP API's items.

use anyhow::Context;
use chrono::{DateTime, Utc};
use karen_core::enums::{Direction, Medium};
use karen_core::query::{ConversationFilter, PageRequest};
use karen_core::{Karen, Store};
use uuid::Uuid;

/// What `karen search` takes.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words (matched by stem), "a phrase", -excluded, OR between alternatives.
    pub query: String,
    /// Only this customer's messages (required on Firestore).
    #[arg(long)]
    pub customer: Option<Uuid>,
    /// Only this medium (email, sms, voice, chat, webhook).
    #[arg(long, value_parser = parse_enum::<Medium>)]
    pub medium: Option<Medium>,
    /// Only this direction (inbound, outbound).
    #[arg(long, value_parser = parse_enum::<Direction>)]
    pub direction: Option<Direction>,
    /// Only messages sent at or after this moment (RFC 3339).
    #[arg(long)]
    pub from: Option<DateTime<Utc>>,
    /// Only messages sent before this moment (RFC 3339).
    #[arg(long)]
    pub to: Option<DateTime<Utc>>,
    /// How many matches to print, best first.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}

fn parse_enum<T: std::str::FromStr<Err = karen_core::StoreError>>(raw: &str) -> Result<T, String> {
    raw.parse().map_err(|e: karen_core::StoreError| e.to_string())
}

/// Prints the matches of `args` as JSON lines and their count on standard error.
pub async fn run<S: Store>(karen: &Karen<S>, args: &SearchArgs) -> anyhow::Result<()> {
    let filter = ConversationFilter {
        customer_id: args.customer,
        medium: args.medium,
        direction: args.direction,
        from: args.from,
        to: args.to,
    };
    let mut printed: u32 = 0;
    let mut page = PageRequest::of(args.limit.clamp(1, karen_core::query::MAX_LIMIT));
    loop {
        let found = karen.search_conversations(&args.query, &filter, &page).await.context("searching messages")?;
        for hit in &found.items {
            if printed == args.limit {
                break;
            }
            println!("{}", serde_json::to_string(hit)?);
            printed += 1;
        }
        match found.next_cursor {
            Some(cursor) if printed < args.limit => {
                page = PageRequest::after(cursor, (args.limit - printed).min(karen_core::query::MAX_LIMIT))
            }
            _ => break,
        }
    }
    eprintln!("{printed} matching message{}", if printed == 1 { "" } else { "s" });
    Ok(())
}
