//! `karen events tail`: the change-event feed (decisions.md item 27) as JSON lines, one event
//! per line as the HTTP API's items, following the log until interrupted (or, with `--once`,
//! until it is read to the end). The cursor to go on from is printed on standard error at the
//! end, for `--after`.

use anyhow::Context;
use karen_core::enums::EventType;
use karen_core::karen::{EventFeed, MAX_EVENT_WAIT};
use karen_core::{Karen, Store};
use uuid::Uuid;

/// What `karen events tail` takes.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// Start after this cursor (a `next_cursor` of GET /v1/events or the one this command
    /// printed last); default: from the oldest event kept.
    #[arg(long, conflicts_with = "from_now")]
    pub after: Option<String>,
    /// Start after the newest event: print only what happens from now on.
    #[arg(long)]
    pub from_now: bool,
    /// Only events of these types (comma-separated, e.g. conversation.created,preference.updated).
    #[arg(long, value_parser = parse_types)]
    pub types: Option<Vec<EventType>>,
    /// Only this customer's events.
    #[arg(long)]
    pub customer: Option<Uuid>,
    /// Print what is there and stop instead of waiting for more.
    #[arg(long)]
    pub once: bool,
}

fn parse_types(raw: &str) -> Result<Vec<EventType>, String> {
    karen_core::events::parse_types("--types", raw).map_err(|e| e.to_string())
}

/// Prints the feed of `args` until interrupted (or, with `--once`, to its end).
pub async fn tail<S: Store>(karen: &Karen<S>, args: &TailArgs) -> anyhow::Result<()> {
    let after = match (&args.after, args.from_now) {
        (Some(c), _) => Some(c.clone()),
        (None, true) => Some(karen.events_cursor_now().await.context("reading the newest event")?),
        (None, false) => None,
    };
    let mut feed = EventFeed {
        after,
        types: args.types.clone().unwrap_or_default(),
        customer_id: args.customer,
        limit: Some(karen_core::events::MAX_EVENT_LIMIT),
        wait: if args.once { std::time::Duration::ZERO } else { MAX_EVENT_WAIT },
    };
    let interrupted = crate::telemetry::shutdown_signal();
    tokio::pin!(interrupted);
    loop {
        let page = tokio::select! {
            page = karen.events(&feed) => page.context("reading events")?,
            () = &mut interrupted => break,
        };
        for event in &page.items {
            println!("{}", serde_json::to_string(event)?);
        }
        let done = page.items.is_empty() && args.once;
        feed.after = page.next_cursor;
        if done {
            break;
        }
    }
    if let Some(c) = &feed.after {
        eprintln!("go on with: --after {c}");
    }
    Ok(())
}
