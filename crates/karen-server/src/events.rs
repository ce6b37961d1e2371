//! GET /v1/events: the change-event feed (decisions.md item 27), a long poll of up to 30
//! seconds over [`karen_core::Karen::events`].

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use karen_core::events::{parse_types, Event, MAX_EVENT_LIMIT};
use karen_core::karen::{EventFeed, MAX_EVENT_WAIT};
use karen_core::query::Page;
use karen_core::Store;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;

/// The query parameters of the feed.
pub const FEED_PARAMS: [&str; 5] = ["after", "types", "customer_id", "limit", "wait"];

/// GET /v1/events?after=&types=&customer_id=&limit=&wait=
#[tracing::instrument(level = "debug", skip_all)]
pub async fn feed<S: Store>(State(app): AppState<S>, q: QueryPairs) -> ApiResult<Json<Page<Event>>> {
    q.only(&FEED_PARAMS)?;
    let limit = q
        .one("limit")?
        .map(|l| {
            l.parse::<u32>()
                .map_err(|_| ApiError::invalid("limit", format!("must be a whole number from 1 to {MAX_EVENT_LIMIT}")))
        })
        .transpose()?;
    let wait = q
        .one("wait")?
        .map(|w| {
            w.parse::<u64>().ok().filter(|s| *s <= MAX_EVENT_WAIT.as_secs()).map(Duration::from_secs).ok_or_else(|| {
                ApiError::invalid(
                    "wait",
                    format!("must be a whole number of seconds from 0 to {}", MAX_EVENT_WAIT.as_secs()),
                )
            })
        })
        .transpose()?
        .unwrap_or_default();
    let feed = EventFeed {
        after: q.one("after")?.map(str::to_string),
        types: q.one("types")?.map(|t| parse_types("types", t)).transpose()?.unwrap_or_default(),
        customer_id: q.uuid("customer_id")?,
        limit,
        wait,
    };
    Ok(Json(app.karen.events(&feed).await?))
}
