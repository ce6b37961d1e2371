//! The SQL text that karen's SQL backends share: the generic get, insert, update, delete and
//! listing statements of an entity, built from its field table once, in the placeholder style of
//! the database. Knows no driver.

use karen_core::{Entity, EntityKind, Value};
use std::fmt::Write;
use std::sync::OnceLock;

/// How a database numbers its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `$1, $2, ...` (PostgreSQL).
    Dollar,
    /// `?1, ?2, ...` (SQLite).
    Question,
}

impl Placeholder {
    /// The placeholder of parameter `n` (from 1).
    pub fn nth(self, n: usize) -> String {
        match self {
            Placeholder::Dollar => format!("${n}"),
            Placeholder::Question => format!("?{n}"),
        }
    }
}

/// The generic statements of one entity.
#[derive(Debug)]
pub struct EntitySql {
    /// `a, b, c`: every column in field order.
    pub columns: String,
    /// `SELECT cols FROM t WHERE id = p1`
    pub get: String,
    /// `INSERT INTO t (cols) VALUES (p1, ..)` (without RETURNING).
    pub insert: String,
    /// `DELETE FROM t WHERE id = p1`
    pub delete: String,
}

impl EntitySql {
    fn build<E: Entity>(p: Placeholder) -> Self {
        let table = E::KIND.table();
        let names: Vec<&str> = E::FIELDS.iter().map(|f| f.name).collect();
        let columns = names.join(", ");
        let params: Vec<String> = (1..=names.len()).map(|i| p.nth(i)).collect();
        let id = p.nth(1);
        EntitySql {
            get: format!("SELECT {columns} FROM {table} WHERE id = {id}"),
            insert: format!("INSERT INTO {table} ({columns}) VALUES ({})", params.join(", ")),
            delete: format!("DELETE FROM {table} WHERE id = {id}"),
            columns,
        }
    }
}

/// The statements of `E` in style `p`, built on first use and kept for the process.
pub fn entity_sql<E: Entity>(p: Placeholder) -> &'static EntitySql {
    static DOLLAR: [OnceLock<EntitySql>; EntityKind::ALL.len()] = [const { OnceLock::new() }; EntityKind::ALL.len()];
    static QUESTION: [OnceLock<EntitySql>; EntityKind::ALL.len()] = [const { OnceLock::new() }; EntityKind::ALL.len()];
    let slot = EntityKind::ALL.iter().position(|k| *k == E::KIND).expect("every kind is listed");
    let cache = match p {
        Placeholder::Dollar => &DOLLAR,
        Placeholder::Question => &QUESTION,
    };
    cache[slot].get_or_init(|| EntitySql::build::<E>(p))
}

/// The fields whose values differ between two versions of a row, with their new values.
/// Updates write only these: an UPDATE that sets an indexed column rewrites that index's
/// entry even when the value is unchanged (SQLite), and one that sets none lets PostgreSQL
/// update in place (HOT). Measured on `upsert preference` (docs/performance.md).
pub fn changed_fields<E: Entity>(before: &E, after: &E) -> Vec<(&'static str, Value)> {
    before
        .to_record()
        .values
        .into_iter()
        .zip(after.to_record().values)
        .filter(|((_, old), (_, new))| old != new)
        .map(|(_, changed)| changed)
        .collect()
}

/// `UPDATE t SET a = p2, b = p3 WHERE id = p1` for the named fields (from [`changed_fields`]),
/// with `RETURNING` every column when `returning`.
pub fn update_fields_sql<E: Entity>(p: Placeholder, fields: &[(&'static str, Value)], returning: bool) -> String {
    let sets: Vec<String> = fields.iter().enumerate().map(|(i, (n, _))| format!("{n} = {}", p.nth(i + 2))).collect();
    let mut text = format!("UPDATE {} SET {} WHERE id = {}", E::KIND.table(), sets.join(", "), p.nth(1));
    if returning {
        let _ = write!(text, " RETURNING {}", entity_sql::<E>(p).columns);
    }
    text
}

/// Pattern 1: active, unexpired preferences of a customer, by priority, confidence desc, id.
/// Parameters: customer, now, then the type when `typed`. Optional filters are added only when
/// used: `(p IS NULL OR col = p)` makes PostgreSQL plan worse (docs/performance.md).
pub fn active_preferences_sql(p: Placeholder, typed: bool) -> String {
    let columns = &entity_sql::<karen_core::model::CustomerPreference>(p).columns;
    let type_filter = if typed { format!(" AND preference_type = {}", p.nth(3)) } else { String::new() };
    format!(
        "SELECT {columns} FROM customer_preferences
         WHERE customer_id = {} AND is_active = TRUE AND (expires_at IS NULL OR expires_at > {}){type_filter}
         ORDER BY priority, confidence_score DESC NULLS LAST, id",
        p.nth(1),
        p.nth(2)
    )
}

/// Whether a customer exists (parameter 1): asked only when a customer's listing came back
/// empty and the caller needs to tell "no such customer" from "no rows". Rows of a customer
/// prove it exists (they cannot outlive it), so a non-empty answer costs nothing more.
pub fn customer_exists_sql(p: Placeholder) -> String {
    format!("SELECT 1 FROM customers WHERE id = {}", p.nth(1))
}

/// The preference row of one key (customer, type, key, medium: parameters 1 to 4), the first
/// step of the preference transaction; `FOR UPDATE` where the database locks rows (PostgreSQL;
/// SQLite's writer transaction already holds the file).
pub fn preference_by_key_sql(p: Placeholder, for_update: bool) -> String {
    format!(
        "SELECT {} FROM customer_preferences
         WHERE customer_id = {} AND preference_type = {} AND preference_key = {} AND medium = {}{}",
        entity_sql::<karen_core::model::CustomerPreference>(p).columns,
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4),
        if for_update { " FOR UPDATE" } else { "" }
    )
}

/// Pattern 2: a customer's messages, newest first by (message_timestamp, id). Parameters:
/// customer, then the medium when `by_medium`, then (timestamp, id) when `before`, then the limit.
pub fn history_sql(p: Placeholder, by_medium: bool, before: bool) -> String {
    let columns = &entity_sql::<karen_core::model::Conversation>(p).columns;
    let mut cond = String::new();
    let mut n = 2;
    if by_medium {
        let _ = write!(cond, " AND medium = {}", p.nth(n));
        n += 1;
    }
    if before {
        let _ = write!(cond, " AND (message_timestamp, id) < ({}, {})", p.nth(n), p.nth(n + 1));
        n += 2;
    }
    format!(
        "SELECT {columns} FROM conversations WHERE customer_id = {}{cond}
         ORDER BY message_timestamp DESC, id DESC LIMIT {}",
        p.nth(1),
        p.nth(n)
    )
}

/// The newest message of a customer (parameter 1) on each medium, in `Medium::ALL` order: one
/// statement of one index seek per medium (the reply context's `latest_by_medium`).
pub fn latest_by_medium_sql(p: Placeholder) -> String {
    let columns = &entity_sql::<karen_core::model::Conversation>(p).columns;
    karen_core::enums::Medium::ALL
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "SELECT * FROM (SELECT {columns} FROM conversations WHERE customer_id = {} AND medium = '{}'
                 ORDER BY message_timestamp DESC, id DESC LIMIT 1) AS m{i}",
                p.nth(1),
                m.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The statements that erase a customer (parameter 1) and everything of theirs, children first,
/// with the entity each deletes: run in one transaction, their row counts are the erasure
/// report (issue 19); the last deletes the customer row itself.
pub fn erase_customer_sql(p: Placeholder) -> Vec<(EntityKind, String)> {
    let id = p.nth(1);
    let of = |kind: EntityKind| (kind, format!("DELETE FROM {} WHERE customer_id = {id}", kind.table()));
    vec![
        (
            EntityKind::ConversationAttachment,
            format!(
                "DELETE FROM conversation_attachments WHERE conversation_id IN (SELECT id FROM conversations WHERE customer_id = {id})"
            ),
        ),
        of(EntityKind::Consent),
        of(EntityKind::PreferenceHistory),
        of(EntityKind::CustomerPreference),
        of(EntityKind::Conversation),
        (EntityKind::Customer, format!("DELETE FROM customers WHERE id = {id}")),
    ]
}

/// The statements of a merge of customer B into A (decisions.md item 25), run by each SQL
/// backend's [`karen_core::merge::MergeTx`] inside one transaction.
#[derive(Debug)]
pub struct MergeSql {
    /// The two customers (parameters 1, 2) in id order, `FOR UPDATE` where rows are locked,
    /// so two merges of the same customers take turns instead of deadlocking.
    pub lock: String,
    /// The merge record of a duplicate (parameter 1): duplicate_id, customer_id, merged_at.
    pub record: String,
    /// Records the merge of B (1) into A (2) at (3); the consent trigger reads it.
    pub begin: String,
    /// B's (1) messages, their attachments and its history rows.
    pub counts: String,
    /// Moves B's (1) consent rows, history rows and messages to A (2), in that order.
    pub moves: [String; 3],
    /// Moves one preference row (1) to A (2).
    pub move_preference: String,
    /// Earlier merges into B (1) now point at A (2).
    pub rechain: String,
}

/// The merge statements in style `p`; `for_update` where the database locks rows.
pub fn merge_sql(p: Placeholder, for_update: bool) -> MergeSql {
    let (one, two, three) = (p.nth(1), p.nth(2), p.nth(3));
    let columns = &entity_sql::<karen_core::model::Customer>(p).columns;
    let mv = |table: &str| format!("UPDATE {table} SET customer_id = {two} WHERE customer_id = {one}");
    MergeSql {
        lock: format!(
            "SELECT {columns} FROM customers WHERE id IN ({one}, {two}) ORDER BY id{}",
            if for_update { " FOR UPDATE" } else { "" }
        ),
        record: format!("SELECT duplicate_id, customer_id, merged_at FROM customer_merges WHERE duplicate_id = {one}"),
        begin: format!(
            "INSERT INTO customer_merges (duplicate_id, customer_id, merged_at) VALUES ({one}, {two}, {three})"
        ),
        counts: format!(
            "SELECT (SELECT COUNT(*) FROM conversations WHERE customer_id = {one}),
                    (SELECT COUNT(*) FROM conversation_attachments
                     WHERE conversation_id IN (SELECT id FROM conversations WHERE customer_id = {one})),
                    (SELECT COUNT(*) FROM customer_preference_history WHERE customer_id = {one})"
        ),
        moves: [mv("customer_consents"), mv("customer_preference_history"), mv("conversations")],
        move_preference: format!("UPDATE customer_preferences SET customer_id = {two} WHERE id = {one}"),
        rechain: mv("customer_merges"),
    }
}

/// Every row of `E` of one customer (parameter 1), in id order.
pub fn rows_of_customer_sql<E: Entity>(p: Placeholder) -> String {
    format!(
        "SELECT {} FROM {} WHERE customer_id = {} ORDER BY id",
        entity_sql::<E>(p).columns,
        E::KIND.table(),
        p.nth(1)
    )
}

/// `alias.a, alias.b, ...` for the columns of `E`.
pub fn prefixed<E: Entity>(alias: &str) -> String {
    E::FIELDS.iter().map(|f| format!("{alias}.{}", f.name)).collect::<Vec<_>>().join(", ")
}

/// A listing of `E` in id order: the statement and the (field, value) parameters to bind in
/// order. Null filters become `IS NULL` and take no parameter.
pub fn list_sql<'a, E: Entity>(
    p: Placeholder,
    filters: &'a [(&'static str, Value)],
    after: bool,
    limit: u32,
) -> (String, Vec<&'a (&'static str, Value)>) {
    let mut text = format!("SELECT {} FROM {} WHERE 1 = 1", entity_sql::<E>(p).columns, E::KIND.table());
    let mut bound = Vec::new();
    for pair in filters {
        if pair.1 == Value::Null {
            let _ = write!(text, " AND {} IS NULL", pair.0);
        } else {
            bound.push(pair);
            let _ = write!(text, " AND {} = {}", pair.0, p.nth(bound.len()));
        }
    }
    if after {
        let _ = write!(text, " AND id > {}", p.nth(bound.len() + 1));
    }
    let _ = write!(text, " ORDER BY id LIMIT {limit}");
    (text, bound)
}

/// A migration: (version, name, SQL).
pub type Migration = (i64, &'static str, &'static str);

/// The checksum recorded with an applied migration: `sha256:` and the hex SHA-256 of its SQL.
pub fn checksum(sql: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(sql.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Compares the checksums a database recorded for its applied migrations with this binary's:
/// a landed migration that was edited afterwards is refused, since the database was built by
/// SQL this binary does not have. Rows recorded before karen kept checksums (none) are
/// returned as (version, this binary's checksum), to be filled in.
pub fn verify_checksums(
    all: &[Migration],
    applied: &[(i64, Option<String>)],
) -> karen_core::StoreResult<Vec<(i64, String)>> {
    let mut unrecorded = Vec::new();
    for (version, recorded) in applied {
        let Some((_, name, sql)) = all.iter().find(|m| m.0 == *version) else { continue };
        match recorded {
            None => unrecorded.push((*version, checksum(sql))),
            Some(r) if *r != checksum(sql) => {
                return Err(karen_core::StoreError::Unavailable(format!(
                    "migration {version} ({name}) was changed after it was applied to this database \
                     (recorded {r}, this karen has {}); migrations are never edited once landed: \
                     use the karen binary that applied it",
                    checksum(sql)
                )))
            }
            Some(_) => {}
        }
    }
    Ok(unrecorded)
}

/// The migrations to apply, in order, given the versions a database has applied: those not yet
/// applied up to and including `up_to`. Refuses a database that has a version this binary does
/// not know (it was migrated by a newer karen).
pub fn pending_migrations<'a>(
    all: &'a [Migration],
    applied: &[i64],
    up_to: i64,
) -> karen_core::StoreResult<Vec<&'a Migration>> {
    let known = all.last().map_or(0, |m| m.0);
    if let Some(newest) = applied.iter().copied().max().filter(|v| *v > known) {
        return Err(karen_core::StoreError::Unavailable(format!(
            "the database is at schema version {newest}, newer than this karen binary knows ({known}); upgrade karen"
        )));
    }
    Ok(all.iter().filter(|m| !applied.contains(&m.0) && m.0 <= up_to).collect())
}

/// The error for a broken CHECK, from the constraint's name (`ck__<table>__<field>`).
pub fn check_violation(constraint: &str) -> karen_core::StoreError {
    let field = constraint.splitn(3, "__").nth(2).unwrap_or(constraint);
    karen_core::StoreError::invalid(field, format!("violates database rule {constraint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use karen_core::model::ServicePricingTier;

    #[test]
    fn statements_follow_the_field_table() {
        let s = entity_sql::<ServicePricingTier>(Placeholder::Question);
        assert!(s.get.starts_with("SELECT id, service_id, tier_name"));
        assert!(s.get.ends_with("FROM service_pricing_tiers WHERE id = ?1"));
        let filters = [("service_id", Value::Null), ("is_default", Value::Bool(true))];
        let (text, bound) = list_sql::<ServicePricingTier>(Placeholder::Dollar, &filters, true, 10);
        assert!(
            text.ends_with("WHERE 1 = 1 AND service_id IS NULL AND is_default = $1 AND id > $2 ORDER BY id LIMIT 10"),
            "{text}"
        );
        assert_eq!(bound.len(), 1);
    }

    #[test]
    fn edited_migrations_are_refused_and_old_records_filled_in() {
        let all: [Migration; 2] = [(1, "one", "CREATE TABLE a (x INT);"), (2, "two", "CREATE TABLE b (y INT);")];
        let good = Some(checksum(all[0].2));
        assert_eq!(verify_checksums(&all, &[(1, good.clone()), (2, None)]).unwrap(), vec![(2, checksum(all[1].2))]);
        let edited = Some(checksum("CREATE TABLE a (x BIGINT);"));
        let err = verify_checksums(&all, &[(1, edited)]).unwrap_err().to_string();
        assert!(err.contains("migration 1 (one) was changed after it was applied"), "{err}");
        assert!(checksum("x").starts_with("sha256:") && checksum("x").len() == 71);
    }

    #[test]
    fn updates_write_only_what_changed() {
        let before = ServicePricingTier { tier_name: "Basic".into(), ..Default::default() };
        assert!(changed_fields(&before, &before.clone()).is_empty());
        let after = ServicePricingTier { tier_name: "Plus".into(), is_default: true, ..before.clone() };
        let changed = changed_fields(&before, &after);
        assert_eq!(changed, vec![("tier_name", Value::Text("Plus".into())), ("is_default", Value::Bool(true))]);
        assert_eq!(
            update_fields_sql::<ServicePricingTier>(Placeholder::Dollar, &changed, false),
            "UPDATE service_pricing_tiers SET tier_name = $2, is_default = $3 WHERE id = $1"
        );
        assert!(update_fields_sql::<ServicePricingTier>(Placeholder::Question, &changed, true)
            .ends_with("WHERE id = ?1 RETURNING id, service_id, tier_name, tier_description, min_quantity, max_quantity, price, unit, is_default, sort_order, created_at"));
    }
}

/// A parameter of a conversation search's filter, in the order [`search_filter_sql`] numbers
/// them; each backend binds it in its own types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchParam {
    /// `customer_id`.
    Customer,
    /// `medium`.
    Medium,
    /// `direction`.
    Direction,
    /// `message_timestamp >=`.
    From,
    /// `message_timestamp <`.
    To,
}

/// The conditions of a conversation search's filter on the messages aliased `c` (each
/// starting with ` AND `), numbered from `*n`, and the parameters to bind in order. The
/// customer is left out when `with_customer` is false (SQLite matches it in its index).
pub fn search_filter_sql(
    p: Placeholder,
    n: &mut usize,
    filter: &karen_core::query::ConversationFilter,
    with_customer: bool,
) -> (String, Vec<SearchParam>) {
    let mut cond = String::new();
    let mut params = Vec::new();
    let wanted = [
        (SearchParam::Customer, with_customer && filter.customer_id.is_some(), "c.customer_id ="),
        (SearchParam::Medium, filter.medium.is_some(), "c.medium ="),
        (SearchParam::Direction, filter.direction.is_some(), "c.direction ="),
        (SearchParam::From, filter.from.is_some(), "c.message_timestamp >="),
        (SearchParam::To, filter.to.is_some(), "c.message_timestamp <"),
    ];
    for (param, _, sql) in wanted.into_iter().filter(|w| w.1) {
        let _ = write!(cond, " AND {sql} {}", p.nth(*n));
        *n += 1;
        params.push(param);
    }
    (cond, params)
}

/// The condition that a search row (columns `rank`, `message_timestamp`, `id`) comes after
/// the position bound as parameters `n` (rank), `n + 1` (time) and `n + 2` (id).
pub fn rank_after_sql(p: Placeholder, n: usize) -> String {
    let (rank, at, id) = (p.nth(n), p.nth(n + 1), p.nth(n + 2));
    format!("(rank < {rank} OR (rank = {rank} AND (message_timestamp, id) < ({at}, {id})))")
}

/// The columns of an event row in [`karen_core::events::Event`] order.
pub const EVENT_COLUMNS: &str = "position, id, type, entity_id, customer_id, occurred_at";

/// The statement of [`karen_core::Store::events`]: the position bound first, the customer
/// second when the query names one, then each type; the limit is written in (it is checked).
pub fn events_sql(p: Placeholder, query: &karen_core::events::EventQuery) -> String {
    let mut text = format!("SELECT {EVENT_COLUMNS} FROM karen_events WHERE position > {}", p.nth(1));
    let mut n = 2;
    if query.customer_id.is_some() {
        let _ = write!(text, " AND customer_id = {}", p.nth(n));
        n += 1;
    }
    if !query.types.is_empty() {
        let list: Vec<String> = (n..n + query.types.len()).map(|i| p.nth(i)).collect();
        let _ = write!(text, " AND type IN ({})", list.join(", "));
    }
    let _ = write!(text, " ORDER BY position LIMIT {}", query.limit);
    text
}

/// The statement that deletes the events older than the time bound as parameter 1: every
/// event before the first one that is not older, found by walking positions from the oldest
/// (events are written in time order, so no index on the time is needed).
pub fn prune_events_sql(p: Placeholder) -> String {
    format!(
        "DELETE FROM karen_events WHERE position < coalesce((SELECT position FROM karen_events \
         WHERE occurred_at >= {t} ORDER BY position LIMIT 1), (SELECT max(position) + 1 FROM karen_events))",
        t = p.nth(1)
    )
}
