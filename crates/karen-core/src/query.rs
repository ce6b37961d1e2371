//! Query inputs and results shared by the store interface and its callers: pages and cursors,
//! listing filters, conversation history, service search, analytics and package details.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{Direction, Medium, PreferenceType};
use crate::error::{StoreError, StoreResult};
use crate::model::{Conversation, PackageService, Service, ServicePackage};
use crate::value::{FieldType, Value};

/// Default page size of every listing (the design's history limit).
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size a caller may ask for.
pub const MAX_LIMIT: u32 = 500;
/// Most distinct words a service search may carry (Firestore's `array-contains-any` limit).
pub const MAX_SEARCH_TERMS: usize = 30;

/// What page of a listing to return.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// The `next_cursor` of the previous page; none for the first page.
    pub cursor: Option<String>,
    /// Page size, 1 to [`MAX_LIMIT`]; [`DEFAULT_LIMIT`] when none.
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The first page with the default size.
    pub fn first() -> Self {
        PageRequest::default()
    }

    /// The first page of `limit` items.
    pub fn of(limit: u32) -> Self {
        PageRequest { cursor: None, limit: Some(limit) }
    }

    /// The page after `cursor`, of `limit` items.
    pub fn after(cursor: impl Into<String>, limit: u32) -> Self {
        PageRequest { cursor: Some(cursor.into()), limit: Some(limit) }
    }

    /// The checked page size.
    pub fn checked_limit(&self) -> StoreResult<u32> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
            Some(l) => Err(StoreError::invalid("limit", format!("must be between 1 and {MAX_LIMIT} (got {l})"))),
        }
    }
}

/// One page of results and the cursor of the next, if there is more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Pass as [`PageRequest::cursor`] to get the next page; none on the last page.
    pub next_cursor: Option<String>,
}

/// An equality-filtered listing of one entity in id order, as a backend receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// (field, value) pairs that must all be equal; fields come from `Entity::FILTERS`.
    pub filters: Vec<(&'static str, Value)>,
    /// Only ids greater than this.
    pub after: Option<Uuid>,
    /// At most this many rows.
    pub limit: u32,
}

/// Newest-first conversation history of a customer (pattern 2), as a backend receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryQuery {
    /// The customer.
    pub customer_id: Uuid,
    /// One medium, or all.
    pub medium: Option<Medium>,
    /// Only messages strictly before this (message_timestamp, id), in the listing's order.
    pub before: Option<(DateTime<Utc>, Uuid)>,
    /// At most this many rows.
    pub limit: u32,
    /// Answer not found when the customer does not exist, instead of an empty page (asked
    /// only when the page is empty: a customer's rows prove it exists).
    pub customer_must_exist: bool,
}

/// Active unexpired preferences of a customer (pattern 1), as a backend receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreferenceQuery {
    /// The customer.
    pub customer_id: Uuid,
    /// One type, or all.
    pub preference_type: Option<PreferenceType>,
    /// Rows with `expires_at <= now` are left out.
    pub now: DateTime<Utc>,
    /// Answer not found when the customer does not exist, instead of an empty list (asked
    /// only when the list is empty: a customer's rows prove it exists).
    pub customer_must_exist: bool,
}

/// Keyword search over active services (pattern 3), as the catalog snapshot receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSearchQuery {
    /// Lower-case words; a service matches when one of its keywords contains one of them as a word.
    pub terms: Vec<String>,
    /// Only services after this position in (is_featured desc, name, id) order.
    pub after: Option<SearchPosition>,
    /// At most this many rows.
    pub limit: u32,
}

/// A position in service search order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPosition {
    /// `is_featured` of the last row seen.
    pub is_featured: bool,
    /// `name` of the last row seen.
    pub name: String,
    /// `id` of the last row seen.
    pub id: Uuid,
}

/// What a conversation search is limited to (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationFilter {
    /// Only this customer's messages.
    pub customer_id: Option<Uuid>,
    /// Only messages on this medium.
    pub medium: Option<Medium>,
    /// Only messages in this direction.
    pub direction: Option<Direction>,
    /// Only messages whose `message_timestamp` is at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only messages whose `message_timestamp` is before this.
    pub to: Option<DateTime<Utc>>,
}

/// A conversation search as a backend runs it (decisions.md item 26): the parsed query, the
/// filters, and the position after which the page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSearch {
    /// What to look for; never empty when a backend receives it.
    pub query: crate::search::Query,
    /// What the search is limited to.
    pub filter: ConversationFilter,
    /// Only matches after this position in (rank desc, message_timestamp desc, id desc) order.
    pub after: Option<RankPosition>,
    /// At most this many rows.
    pub limit: u32,
}

/// A position in search order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankPosition {
    /// The rank of the last row seen.
    pub rank: f64,
    /// Its `message_timestamp`.
    pub at: DateTime<Utc>,
    /// Its id.
    pub id: Uuid,
}

/// A message found by search: the message, its rank (higher is better; each backend's own
/// ranking, docs/decisions.md K52) and a snippet that marks the matches. A backend marks them
/// with [`crate::search::MARK_START`]/[`crate::search::MARK_END`]; `Karen` hands them on as
/// escaped HTML with `<mark>` elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationHit {
    /// The message.
    pub conversation: Conversation,
    /// Its rank for the query.
    pub rank: f64,
    /// The text around the matches.
    pub snippet: String,
}

/// A service found by search, with its category name and default tier price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceHit {
    /// The service.
    pub service: Service,
    /// Its category's name.
    pub category_name: String,
    /// The price of its default tier, if it has one.
    pub price: Option<Decimal>,
}

/// A package with the services it includes, in `sort_order`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageDetail {
    /// The package.
    pub package: ServicePackage,
    /// Its items.
    pub items: Vec<PackageItem>,
}

/// One service of a package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageItem {
    /// The package_services row.
    pub item: PackageService,
    /// The service it names.
    pub service: Service,
}

/// Raw per-medium counts a backend returns for analytics; [`MediumStats`] is computed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumCounts {
    /// The medium.
    pub medium: Medium,
    /// Inbound messages in the window.
    pub inbound: i64,
    /// Outbound messages in the window.
    pub outbound: i64,
    /// Inbound messages in the window that have a response.
    pub responded: i64,
    /// For each responded inbound message, response time in microseconds.
    pub response_delays_us: Vec<i64>,
}

/// Communication analytics of a customer on one medium (decisions.md item 8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediumStats {
    /// The medium.
    pub medium: Medium,
    /// All messages in the window.
    pub message_count: i64,
    /// Inbound messages.
    pub inbound_count: i64,
    /// Outbound messages.
    pub outbound_count: i64,
    /// inbound / all: what the design's query called `response_rate`.
    pub inbound_share: f64,
    /// Inbound messages with a response / inbound messages; none without inbound messages.
    pub response_rate: Option<f64>,
    /// Median first-response time in seconds.
    pub median_first_response_seconds: Option<f64>,
    /// Mean first-response time in seconds.
    pub mean_first_response_seconds: Option<f64>,
}

impl MediumStats {
    /// Computes the report of one medium from its counts.
    pub fn from_counts(mut c: MediumCounts) -> Self {
        let total = c.inbound + c.outbound;
        c.response_delays_us.sort_unstable();
        let n = c.response_delays_us.len();
        let secs = |us: f64| us / 1_000_000.0;
        let median = match n {
            0 => None,
            _ if n % 2 == 1 => Some(secs(c.response_delays_us[n / 2] as f64)),
            _ => Some(secs((c.response_delays_us[n / 2 - 1] as f64 + c.response_delays_us[n / 2] as f64) / 2.0)),
        };
        let mean = (n > 0).then(|| secs(c.response_delays_us.iter().map(|&d| d as f64).sum::<f64>() / n as f64));
        MediumStats {
            medium: c.medium,
            message_count: total,
            inbound_count: c.inbound,
            outbound_count: c.outbound,
            inbound_share: if total == 0 { 0.0 } else { c.inbound as f64 / total as f64 },
            response_rate: (c.inbound > 0).then(|| c.responded as f64 / c.inbound as f64),
            median_first_response_seconds: median,
            mean_first_response_seconds: mean,
        }
    }
}

/// Splits search input into distinct lower-case words (letters and digits), as service search
/// matches them (decisions.md item 19).
pub fn search_terms<S: AsRef<str>>(keywords: &[S]) -> StoreResult<Vec<String>> {
    let mut terms: Vec<String> = Vec::new();
    for k in keywords {
        for word in words(k.as_ref()) {
            if !terms.contains(&word) {
                terms.push(word);
            }
        }
    }
    if terms.is_empty() {
        return Err(StoreError::invalid("keywords", "must contain at least one word"));
    }
    if terms.len() > MAX_SEARCH_TERMS {
        return Err(StoreError::invalid(
            "keywords",
            format!("must contain at most {MAX_SEARCH_TERMS} distinct words (got {})", terms.len()),
        ));
    }
    Ok(terms)
}

/// Text holding at least one word (a letter or digit), as JSON Schema states it (Python's and
/// Unicode-aware engines' `\w` less the underscore).
pub const WORD_PATTERN: &str = r"^[^\x00]*[^\W_][^\x00]*$";

/// The lower-case words of a text: maximal runs of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

pub mod cursor {
    //! Cursors are opaque and bound to their listing: `<tag>.<position>`, where the tag is a
    //! digest of what the listing is (its entity and filters, its customer and medium, its
    //! search terms) and the position is hex. A cursor of one listing is refused by any other
    //! (another entity, other filters, another customer), naming `cursor`.
    use super::*;
    use sha2::{Digest, Sha256};

    /// The form of every cursor (a listing's tag, a dot, the position in hex), as JSON Schema
    /// states it; whether a cursor of that form belongs to a listing only karen can tell.
    pub const PATTERN: &str = r"^[0-9a-f]{16}\.([0-9a-f]{2})+$";

    fn bad() -> StoreError {
        StoreError::invalid("cursor", "is not a cursor returned by this listing")
    }

    /// The tag of a listing: the first 8 bytes of the SHA-256 of its description, in hex.
    fn tag(listing: &str) -> String {
        Sha256::digest(listing.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A cursor of `listing` at `position`.
    pub fn seal(listing: &str, position: &str) -> String {
        let hex: String = position.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{}.{hex}", tag(listing))
    }

    /// The position of a cursor of `listing`; refused when it belongs to another listing or
    /// was not made by karen.
    pub fn open(listing: &str, cursor: &str) -> StoreResult<String> {
        let (t, hex) = cursor.split_once('.').ok_or_else(bad)?;
        if t != tag(listing) || hex.len() % 2 != 0 || !hex.is_ascii() {
            return Err(bad());
        }
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad()))
            .collect::<StoreResult<_>>()?;
        String::from_utf8(bytes).map_err(|_| bad())
    }

    /// Position in an id-ordered listing.
    pub fn encode_id(id: Uuid) -> String {
        id.simple().to_string()
    }
    /// Decodes [`encode_id`].
    pub fn decode_id(s: &str) -> StoreResult<Uuid> {
        Uuid::try_parse(s).map_err(|_| bad())
    }
    /// Position in a (timestamp, id) listing.
    pub fn encode_time(at: DateTime<Utc>, id: Uuid) -> String {
        format!("{}_{}", at.timestamp_micros(), id.simple())
    }
    /// Decodes [`encode_time`].
    pub fn decode_time(s: &str) -> StoreResult<(DateTime<Utc>, Uuid)> {
        let (t, id) = s.split_once('_').ok_or_else(bad)?;
        let at = DateTime::from_timestamp_micros(t.parse().map_err(|_| bad())?).ok_or_else(bad)?;
        Ok((at, Uuid::try_parse(id).map_err(|_| bad())?))
    }
    /// Position in conversation search (the rank's exact bits, the time, the id).
    pub fn encode_rank(p: &RankPosition) -> String {
        format!("{:016x}_{}", p.rank.to_bits(), encode_time(p.at, p.id))
    }
    /// Decodes [`encode_rank`].
    pub fn decode_rank(s: &str) -> StoreResult<RankPosition> {
        let (bits, rest) = s.split_once('_').ok_or_else(bad)?;
        let rank = f64::from_bits(u64::from_str_radix(bits, 16).map_err(|_| bad())?);
        if !rank.is_finite() {
            return Err(bad());
        }
        let (at, id) = decode_time(rest)?;
        Ok(RankPosition { rank, at, id })
    }
    /// Position in service search.
    pub fn encode_search(p: &SearchPosition) -> String {
        format!("{}_{}_{}", u8::from(p.is_featured), p.id.simple(), p.name)
    }
    /// Decodes [`encode_search`].
    pub fn decode_search(s: &str) -> StoreResult<SearchPosition> {
        let mut parts = s.splitn(3, '_');
        let featured = match parts.next() {
            Some("1") => true,
            Some("0") => false,
            _ => return Err(bad()),
        };
        let id = Uuid::try_parse(parts.next().ok_or_else(bad)?).map_err(|_| bad())?;
        let name = parts.next().ok_or_else(bad)?.to_string();
        Ok(SearchPosition { is_featured: featured, name, id })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn cursors_open_only_in_their_listing() {
            let c = seal("history:a:sms", "1700000000_abc");
            assert_eq!(open("history:a:sms", &c).unwrap(), "1700000000_abc");
            for other in ["history:b:sms", "history:a:email", "list:customer"] {
                assert!(open(other, &c).is_err(), "{other}");
            }
            for forged in ["", "nope", "1700000000_abc", "zz.00", &format!("{}x", c)] {
                assert!(open("history:a:sms", forged).is_err(), "{forged}");
            }
        }
    }
}

impl Value {
    /// Parses text (a query-string value) as a value of `ty`, naming `field` when it does not fit.
    pub fn parse_as(field: &str, ty: FieldType, text: &str) -> StoreResult<Value> {
        let bad = |what: &str| StoreError::invalid(field, format!("must be {what}"));
        Ok(match ty {
            FieldType::Uuid => Value::Uuid(Uuid::try_parse(text).map_err(|_| bad("a UUID"))?),
            FieldType::Text if text.contains('\0') => return Err(bad("text without the NUL character")),
            FieldType::Text => Value::Text(text.to_string()),
            FieldType::Bool => Value::Bool(match text {
                "true" => true,
                "false" => false,
                _ => return Err(bad("true or false")),
            }),
            FieldType::Int => Value::Int(text.parse().map_err(|_| bad("a 32-bit integer"))?),
            FieldType::Decimal(_) => Value::Decimal(text.parse().map_err(|_| bad("a decimal number"))?),
            FieldType::Timestamp => Value::Timestamp(
                DateTime::parse_from_rfc3339(text).map_err(|_| bad("an RFC 3339 timestamp"))?.with_timezone(&Utc),
            ),
            FieldType::Date => Value::Date(text.parse().map_err(|_| bad("a date YYYY-MM-DD"))?),
            FieldType::Json | FieldType::TextArray => return Err(bad("a plain value (this field cannot be filtered)")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_distinct_lowercase_words() {
        assert_eq!(
            search_terms(&["Faucet Repair", "faucet", "leaky-faucet"]).unwrap(),
            vec!["faucet", "repair", "leaky"]
        );
        assert!(search_terms(&["  ", "--"]).is_err());
        let many: Vec<String> = (0..31).map(|i| format!("w{i}")).collect();
        assert!(search_terms(&many).unwrap_err().to_string().contains("at most 30"));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        let at = DateTime::from_timestamp_micros(1_750_000_000_123_456).unwrap();
        assert_eq!(cursor::decode_time(&cursor::encode_time(at, id)).unwrap(), (at, id));
        let p = SearchPosition { is_featured: true, name: "A_b c".into(), id };
        assert_eq!(cursor::decode_search(&cursor::encode_search(&p)).unwrap(), p);
        for bad in ["", "x", "1_nope_x", "12_34"] {
            assert_eq!(cursor::decode_time(bad).unwrap_err().field(), Some("cursor"));
            assert!(cursor::decode_search(bad).is_err());
        }
    }

    #[test]
    fn medium_stats_from_counts() {
        let s = MediumStats::from_counts(MediumCounts {
            medium: Medium::Email,
            inbound: 3,
            outbound: 1,
            responded: 2,
            response_delays_us: vec![3_000_000, 1_000_000],
        });
        assert_eq!((s.message_count, s.inbound_share), (4, 0.75));
        assert_eq!(s.response_rate, Some(2.0 / 3.0));
        assert_eq!(s.median_first_response_seconds, Some(2.0));
        assert_eq!(s.mean_first_response_seconds, Some(2.0));
    }
}
