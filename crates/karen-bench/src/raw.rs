//! The baseline: the same statements karen's backends run, sent through the driver directly and
//! read as plain rows, with no model, validation or store layer.

use chrono::{DateTime, Utc};
use karen_core::{Entity, Value};
use sqlx::{PgPool, Row, SqlitePool};
use uuid::Uuid;

/// A pool of the backend under test.
#[derive(Clone)]
pub enum Raw {
    /// PostgreSQL.
    Pg(PgPool),
    /// SQLite: readers and the writer.
    Sqlite(SqlitePool, SqlitePool),
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

type R<T> = anyhow::Result<T>;

impl Raw {
    /// Pattern 1.
    pub async fn preferences(&self, customer: Uuid, ty: &str, now: DateTime<Utc>) -> R<usize> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query("SELECT * FROM customer_preferences WHERE customer_id = $1 AND preference_type = $2 AND is_active AND (expires_at IS NULL OR expires_at > $3) ORDER BY priority, confidence_score DESC NULLS LAST, id")
                .bind(customer).bind(ty).bind(now).fetch_all(p).await?.len(),
            Raw::Sqlite(r, _) => sqlx::query("SELECT * FROM customer_preferences WHERE customer_id = ?1 AND preference_type = ?2 AND is_active = 1 AND (expires_at IS NULL OR expires_at > ?3) ORDER BY priority, confidence_score DESC NULLS LAST, id")
                .bind(customer.to_string()).bind(ty).bind(ts(now)).fetch_all(r).await?.len(),
        })
    }

    /// Pattern 2, first page.
    pub async fn history(&self, customer: Uuid, medium: &str) -> R<usize> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query("SELECT * FROM conversations WHERE customer_id = $1 AND medium = $2 ORDER BY message_timestamp DESC, id DESC LIMIT 51")
                .bind(customer).bind(medium).fetch_all(p).await?.len(),
            Raw::Sqlite(r, _) => sqlx::query("SELECT * FROM conversations WHERE customer_id = ?1 AND medium = ?2 ORDER BY message_timestamp DESC, id DESC LIMIT 51")
                .bind(customer.to_string()).bind(medium).fetch_all(r).await?.len(),
        })
    }

    /// Pattern 3, first page, as the database alone can answer it: the design's query on
    /// PostgreSQL (`keywords && $1` on its GIN index), the same test over the JSON array on
    /// SQLite. karen answers from its catalog snapshot and keeps no search index (K28); the
    /// bench's keywords are single words, so both sides find the same services.
    pub async fn search(&self, terms: &[String]) -> R<usize> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query("SELECT s.*, sc.name, spt.price FROM services s JOIN service_categories sc ON sc.id = s.category_id LEFT JOIN service_pricing_tiers spt ON spt.service_id = s.id AND spt.is_default WHERE s.is_active AND sc.is_active AND s.keywords && $1 ORDER BY s.is_featured DESC, s.name COLLATE \"C\", s.id LIMIT 51")
                .bind(terms).fetch_all(p).await?.len(),
            Raw::Sqlite(r, _) => sqlx::query("SELECT s.*, sc.name, spt.price FROM services s JOIN service_categories sc ON sc.id = s.category_id LEFT JOIN service_pricing_tiers spt ON spt.service_id = s.id AND spt.is_default = 1 WHERE s.is_active = 1 AND sc.is_active = 1 AND EXISTS (SELECT 1 FROM json_each(s.keywords) k WHERE k.value IN (SELECT value FROM json_each(?1))) ORDER BY s.is_featured DESC, s.name, s.id LIMIT 51")
                .bind(serde_json::Value::from(terms.to_vec()).to_string()).fetch_all(r).await?.len(),
        })
    }

    /// Pattern 4, over 30 days.
    pub async fn analytics(&self, customer: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> R<usize> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query("SELECT c.medium, count(*) FILTER (WHERE c.direction = 'inbound'), count(*) FILTER (WHERE c.direction = 'outbound'), count(*) FILTER (WHERE c.direction = 'inbound' AND c.response_id IS NOT NULL), COALESCE(array_agg((EXTRACT(EPOCH FROM (r.message_timestamp - c.message_timestamp)) * 1000000)::bigint) FILTER (WHERE c.direction = 'inbound' AND r.id IS NOT NULL), '{}') FROM customers cu LEFT JOIN conversations c ON c.customer_id = cu.id AND c.message_timestamp >= $2 AND c.message_timestamp <= $3 LEFT JOIN conversations r ON r.id = c.response_id WHERE cu.id = $1 GROUP BY c.medium")
                .bind(customer).bind(from).bind(to).fetch_all(p).await?.len(),
            Raw::Sqlite(r, _) => {
                let (id, f, t) = (customer.to_string(), ts(from), ts(to));
                let a = sqlx::query("SELECT c.medium, c.direction, c.response_id IS NOT NULL, count(c.id) FROM customers cu LEFT JOIN conversations c ON c.customer_id = cu.id AND c.message_timestamp >= ?2 AND c.message_timestamp <= ?3 WHERE cu.id = ?1 GROUP BY c.medium, c.direction, c.response_id IS NOT NULL")
                    .bind(&id).bind(&f).bind(&t).fetch_all(r).await?.len();
                let b = sqlx::query("SELECT c.medium, c.message_timestamp, r.message_timestamp FROM conversations c JOIN conversations r ON r.id = c.response_id WHERE c.customer_id = ?1 AND c.direction = 'inbound' AND c.message_timestamp >= ?2 AND c.message_timestamp <= ?3")
                    .bind(&id).bind(&f).bind(&t).fetch_all(r).await?.len();
                a + b
            }
        })
    }

    /// A customer by e-mail.
    pub async fn by_email(&self, email: &str) -> R<usize> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query("SELECT * FROM customers WHERE lower(primary_email) = lower($1)")
                .bind(email)
                .fetch_all(p)
                .await?
                .len(),
            Raw::Sqlite(r, _) => sqlx::query("SELECT * FROM customers WHERE lower(primary_email) = lower(?1)")
                .bind(email)
                .fetch_all(r)
                .await?
                .len(),
        })
    }

    /// A thread's messages.
    pub async fn thread(&self, thread: &str) -> R<usize> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query("SELECT * FROM conversations WHERE conversation_thread_id = $1 ORDER BY message_timestamp, id LIMIT 1000").bind(thread).fetch_all(p).await?.len(),
            Raw::Sqlite(r, _) => sqlx::query("SELECT * FROM conversations WHERE conversation_thread_id = ?1 ORDER BY message_timestamp, id LIMIT 1000").bind(thread).fetch_all(r).await?.len(),
        })
    }

    /// An inbound message (the columns an agent sets; the rest take their defaults).
    pub async fn insert_message(
        &self,
        customer: Uuid,
        external_id: &str,
        content: &str,
        at: DateTime<Utc>,
    ) -> R<usize> {
        let id = Uuid::now_v7();
        Ok(match self {
            Raw::Pg(p) => sqlx::query("INSERT INTO conversations (id, customer_id, external_id, medium, direction, content, message_timestamp, received_at, created_at, updated_at, cc_addresses, bcc_addresses, keywords, topics) VALUES ($1, $2, $3, 'sms', 'inbound', $4, $5, $5, $5, $5, '{}', '{}', '{}', '{}') ON CONFLICT (medium, external_id) WHERE external_id IS NOT NULL DO NOTHING RETURNING *")
                .bind(id).bind(customer).bind(external_id).bind(content).bind(at).fetch_optional(p).await?.map_or(0, |_| 1),
            Raw::Sqlite(_, w) => {
                let mut tx = w.begin_with("BEGIN IMMEDIATE").await?;
                let n = sqlx::query("INSERT INTO conversations (id, customer_id, external_id, medium, direction, content, message_timestamp, received_at, created_at, updated_at, cc_addresses, bcc_addresses, keywords, topics) VALUES (?1, ?2, ?3, 'sms', 'inbound', ?4, ?5, ?5, ?5, ?5, '[]', '[]', '[]', '[]') ON CONFLICT (medium, external_id) WHERE external_id IS NOT NULL DO NOTHING")
                    .bind(id.to_string()).bind(customer.to_string()).bind(external_id).bind(content).bind(ts(at)).execute(&mut *tx).await?.rows_affected() as usize;
                tx.commit().await?;
                n
            }
        })
    }

    /// The rows of an inbound e-mail from `from` (the customer looked up by e-mail), with
    /// Message-ID `external_id`, shaped as `m` (parsed once beforehand), attachments included,
    /// in one transaction: what `Karen::receive` writes, without parsing, matching rules or
    /// threading.
    pub async fn insert_email(
        &self,
        from: &str,
        external_id: &str,
        m: &karen_core::inbound::InboundMessage,
    ) -> R<usize> {
        use sha2::{Digest, Sha256};
        let id = Uuid::now_v7();
        let now = Utc::now();
        let raw = m.raw_content.to_string();
        let files: Vec<(Uuid, &str, Option<&str>, i32, String)> = m
            .attachments
            .iter()
            .map(|a| {
                let bytes = a.bytes.as_deref().unwrap_or_default();
                let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
                (
                    Uuid::now_v7(),
                    a.file_name.as_str(),
                    a.content_type.as_deref(),
                    bytes.len() as i32,
                    format!("sha256:{hex}"),
                )
            })
            .collect();
        const CONV: &str = "INSERT INTO conversations (id, customer_id, conversation_thread_id, external_id, medium, direction, subject, content, content_type, raw_content, from_address, to_address, status, message_timestamp, received_at, created_at, updated_at, cc_addresses, bcc_addresses, keywords, topics) VALUES ({1}, {2}, {3}, {4}, 'email', 'inbound', {5}, {6}, {7}, {8}, {9}, 'office@757handy.com', 'received', {10}, {10}, {10}, {10}, {e}, {e}, {e}, {e})";
        const FILE: &str = "INSERT INTO conversation_attachments (id, conversation_id, file_name, file_type, file_size, checksum, is_inline, virus_scan_status, created_at) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, FALSE, 'skipped', {7})";
        let fill = |t: &str, pg: bool| {
            let mut t = t.replace("{e}", if pg { "'{}'" } else { "'[]'" });
            for n in (1..=10).rev() {
                t = t.replace(&format!("{{{n}}}"), &if pg { format!("${n}") } else { format!("?{n}") });
            }
            if pg {
                t.replace("$8, $9", "$8::jsonb, $9")
            } else {
                t
            }
        };
        Ok(match self {
            Raw::Pg(p) => {
                let mut tx = p.begin().await?;
                let customer: Uuid =
                    sqlx::query_scalar("SELECT id FROM customers WHERE lower(primary_email) = lower($1)")
                        .bind(from)
                        .fetch_one(&mut *tx)
                        .await?;
                sqlx::query(&fill(CONV, true))
                    .bind(id)
                    .bind(customer)
                    .bind(id.to_string())
                    .bind(external_id)
                    .bind(&m.subject)
                    .bind(&m.content)
                    .bind(&m.content_type)
                    .bind(&raw)
                    .bind(from)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                for (fid, name, ty, size, sum) in &files {
                    sqlx::query(&fill(FILE, true))
                        .bind(fid)
                        .bind(id)
                        .bind(name)
                        .bind(ty)
                        .bind(size)
                        .bind(sum)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                1
            }
            Raw::Sqlite(_, w) => {
                let mut tx = w.begin_with("BEGIN IMMEDIATE").await?;
                let customer: String =
                    sqlx::query_scalar("SELECT id FROM customers WHERE lower(primary_email) = lower(?1)")
                        .bind(from)
                        .fetch_one(&mut *tx)
                        .await?;
                sqlx::query(&fill(CONV, false))
                    .bind(id.to_string())
                    .bind(customer)
                    .bind(id.to_string())
                    .bind(external_id)
                    .bind(&m.subject)
                    .bind(&m.content)
                    .bind(&m.content_type)
                    .bind(&raw)
                    .bind(from)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
                for (fid, name, ty, size, sum) in &files {
                    sqlx::query(&fill(FILE, false))
                        .bind(fid.to_string())
                        .bind(id.to_string())
                        .bind(name)
                        .bind(ty)
                        .bind(size)
                        .bind(sum)
                        .bind(ts(now))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                1
            }
        })
    }

    /// Upserts a custom preference the way karen's engine does, as plain SQL in one
    /// transaction: read the current row (locked), copy it to the history as superseded, then
    /// update it (or insert the first one).
    pub async fn upsert_preference(&self, customer: Uuid, value: i64, at: DateTime<Utc>) -> R<usize> {
        let v = serde_json::json!({ "value": value });
        let key = "customer_id = {c} AND preference_type = 'custom' AND preference_key = 'bench_counter' AND medium = 'general'";
        let history = "INSERT INTO customer_preference_history (id, preference_id, customer_id, preference_type, preference_key, preference_value, confidence_score, source, medium, context, learned_from_interaction_id, learned_at, expires_at, is_active, priority, created_at, updated_at, created_by, updated_by, superseded_at, caused_by, reason) SELECT {h}, id, customer_id, preference_type, preference_key, preference_value, confidence_score, source, medium, context, learned_from_interaction_id, learned_at, expires_at, is_active, priority, created_at, updated_at, created_by, updated_by, {t}, 'upsert', 'superseded' FROM customer_preferences WHERE id = {id}";
        let insert = "INSERT INTO customer_preferences (id, customer_id, preference_type, preference_key, preference_value, confidence_score, source, medium, created_at, updated_at, learned_at) VALUES ({id}, {c}, 'custom', 'bench_counter', {v}, 0.5, 'learned', 'general', {t}, {t}, {t})";
        let update = "UPDATE customer_preferences SET preference_value = {v}, updated_at = {t} WHERE id = {id}";
        let fill = |text: &str, p: [&str; 5]| {
            text.replace("{c}", p[0])
                .replace("{id}", p[1])
                .replace("{v}", p[2])
                .replace("{t}", p[3])
                .replace("{h}", p[4])
        };
        Ok(match self {
            Raw::Pg(p) => {
                let ph = ["$1", "$2", "$3", "$4", "$5"];
                let select = format!("SELECT * FROM customer_preferences WHERE {} FOR UPDATE", fill(key, ph));
                let history = fill(history, ["$1", "$1", "$1", "$2", "$3"]);
                let update = format!("{} RETURNING *", fill(update, ["", "$1", "$2", "$3", ""]));
                let insert = fill(insert, ph);
                // Two callers that both find no row both insert; the loser retries, as karen does.
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match pg_upsert_once(p, [&select, &history, &update, &insert], customer, &v, at).await {
                        Err(sqlx::Error::Database(e)) if attempt < 3 && e.code().as_deref() == Some("23505") => {
                            continue
                        }
                        other => break other?,
                    }
                }
                1
            }
            Raw::Sqlite(_, w) => {
                let ph = ["?1", "?2", "?3", "?4", "?5"];
                let mut tx = w.begin_with("BEGIN IMMEDIATE").await?;
                let current = sqlx::query(&format!("SELECT * FROM customer_preferences WHERE {}", fill(key, ph)))
                    .bind(customer.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                match current {
                    Some(row) => {
                        let id: String = row.get("id");
                        sqlx::query(&fill(history, ["?1", "?1", "?1", "?2", "?3"]))
                            .bind(&id)
                            .bind(ts(at))
                            .bind(Uuid::now_v7().to_string())
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(&fill(update, ["", "?1", "?2", "?3", ""]))
                            .bind(&id)
                            .bind(v.to_string())
                            .bind(ts(at))
                            .execute(&mut *tx)
                            .await?;
                    }
                    None => {
                        sqlx::query(&fill(insert, ph))
                            .bind(customer.to_string())
                            .bind(Uuid::now_v7().to_string())
                            .bind(v.to_string())
                            .bind(ts(at))
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                1
            }
        })
    }

    /// Refreshes planner statistics after a load.
    pub async fn analyze(&self) -> R<()> {
        match self {
            Raw::Pg(p) => {
                sqlx::query("ANALYZE").execute(p).await?;
            }
            Raw::Sqlite(_, w) => {
                sqlx::query("ANALYZE").execute(w).await?;
            }
        }
        Ok(())
    }

    /// The 20 newest messages whose subject or content contain both words: the scan a store
    /// without a full-text index runs (`ILIKE` on PostgreSQL, `LIKE`, case-insensitive for
    /// ASCII, on SQLite).
    pub async fn scan_two_words(&self, a: &str, b: &str) -> R<usize> {
        let (a, b) = (format!("%{a}%"), format!("%{b}%"));
        Ok(match self {
            Raw::Pg(p) => sqlx::query(
                "SELECT id FROM conversations
                  WHERE (subject ILIKE $1 OR content ILIKE $1) AND (subject ILIKE $2 OR content ILIKE $2)
                  ORDER BY message_timestamp DESC, id DESC LIMIT 20",
            )
            .bind(a)
            .bind(b)
            .fetch_all(p)
            .await?
            .len(),
            Raw::Sqlite(r, _) => sqlx::query(
                "SELECT id FROM conversations
                  WHERE (subject LIKE ?1 OR content LIKE ?1) AND (subject LIKE ?2 OR content LIKE ?2)
                  ORDER BY message_timestamp DESC, id DESC LIMIT 20",
            )
            .bind(a)
            .bind(b)
            .fetch_all(r)
            .await?
            .len(),
        })
    }

    /// How many messages the search index says `query` matches.
    pub async fn count_matches(&self, query: &karen_core::search::Query) -> R<i64> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query_scalar(
                "SELECT count(*) FROM conversations WHERE search_vector @@ websearch_to_tsquery('karen_search', $1)",
            )
            .bind(query.to_websearch())
            .fetch_one(p)
            .await?,
            Raw::Sqlite(r, _) => {
                sqlx::query_scalar("SELECT count(*) FROM conversation_fts WHERE conversation_fts MATCH ?1")
                    .bind(query.to_fts5())
                    .fetch_one(r)
                    .await?
            }
        })
    }

    /// Bytes the database holds.
    pub async fn database_bytes(&self) -> R<u64> {
        let n: i64 = match self {
            Raw::Pg(p) => sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(p).await?,
            Raw::Sqlite(_, w) => {
                sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
                    .fetch_one(w)
                    .await?
            }
        };
        Ok(n as u64)
    }

    /// Rows of a table (to find what is loaded).
    pub async fn count(&self, table: &str) -> R<i64> {
        let q = format!("SELECT count(*) FROM {table}");
        Ok(match self {
            Raw::Pg(p) => sqlx::query(&q).fetch_one(p).await?.get(0),
            Raw::Sqlite(r, _) => sqlx::query(&q).fetch_one(r).await?.get(0),
        })
    }
}

/// Rows of one table made ready for the driver before the clock starts: the raw side of the
/// load comparison pays only for the database's work and the transfer.
pub enum Prepared {
    /// PostgreSQL: the `COPY ... FROM STDIN` statement and its text-format payload.
    Copy(String, Vec<u8>),
    /// SQLite: the one-row INSERT and each row's parameters.
    Rows(String, Vec<Vec<Cell>>),
}

/// One SQLite parameter.
pub enum Cell {
    /// NULL.
    Null,
    /// TEXT.
    Text(String),
    /// INTEGER.
    Int(i64),
    /// REAL.
    Real(f64),
}

impl Raw {
    /// Prepares `rows` for [`Raw::load`] (not timed).
    pub fn prepare<E: Entity>(&self, rows: &[E]) -> Prepared {
        let columns: Vec<&str> = E::FIELDS.iter().map(|f| f.name).collect();
        let table = E::KIND.table();
        match self {
            // The payload is built before the clock starts, so sharing karen's encoder costs
            // the raw side nothing it is timed for.
            Raw::Pg(_) => {
                Prepared::Copy(karen_postgres::copy::copy_statement::<E>(), karen_postgres::copy::copy_payload(rows))
            }
            Raw::Sqlite(..) => {
                let params: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
                let text = format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), params.join(", "));
                let cells =
                    rows.iter().map(|r| r.to_record().values.into_iter().map(|(_, v)| cell(v)).collect()).collect();
                Prepared::Rows(text, cells)
            }
        }
    }

    /// Writes prepared rows in one transaction through the driver's fastest path: `COPY` on
    /// PostgreSQL, a reused prepared one-row INSERT on SQLite.
    pub async fn load(&self, prepared: Prepared) -> R<()> {
        match (self, prepared) {
            (Raw::Pg(p), Prepared::Copy(statement, payload)) => {
                let mut tx = p.begin().await?;
                let mut copy = tx.copy_in_raw(&statement).await?;
                copy.send(payload).await?;
                copy.finish().await?;
                tx.commit().await?;
            }
            (Raw::Sqlite(_, w), Prepared::Rows(text, rows)) => {
                let mut tx = w.begin_with("BEGIN IMMEDIATE").await?;
                for row in rows {
                    let mut q = sqlx::query(&text);
                    for c in row {
                        q = match c {
                            Cell::Null => q.bind(None::<String>),
                            Cell::Text(s) => q.bind(s),
                            Cell::Int(i) => q.bind(i),
                            Cell::Real(f) => q.bind(f),
                        };
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            _ => anyhow::bail!("rows prepared for another backend"),
        }
        Ok(())
    }
}

/// A value as SQLite stores it in karen's schema (text UUIDs, timestamps and JSON; REAL money).
fn cell(v: Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Uuid(u) => Cell::Text(u.hyphenated().to_string()),
        Value::Text(s) => Cell::Text(s),
        Value::Bool(b) => Cell::Int(i64::from(b)),
        Value::Int(i) => Cell::Int(i64::from(i)),
        Value::Decimal(d) => Cell::Real(d.to_string().parse().unwrap_or(0.0)),
        Value::Timestamp(t) => Cell::Text(ts(t)),
        Value::Date(d) => Cell::Text(d.format("%Y-%m-%d").to_string()),
        Value::Json(j) => Cell::Text(j.to_string()),
        Value::TextArray(a) => Cell::Text(serde_json::Value::from(a).to_string()),
    }
}

impl Raw {
    /// The `CREATE INDEX` statements of the named indexes that exist.
    pub async fn index_definitions(&self, names: &[&str]) -> R<Vec<(String, String)>> {
        let mut out = Vec::new();
        for name in names {
            let def: Option<String> = match self {
                Raw::Pg(p) => {
                    sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE indexname = $1")
                        .bind(name)
                        .fetch_optional(p)
                        .await?
                }
                Raw::Sqlite(_, w) => {
                    sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1")
                        .bind(name)
                        .fetch_optional(w)
                        .await?
                }
            };
            if let Some(def) = def {
                out.push((name.to_string(), def));
            }
        }
        Ok(out)
    }

    /// Runs one statement on the writer.
    pub async fn execute(&self, sql: &str) -> R<()> {
        match self {
            Raw::Pg(p) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
            Raw::Sqlite(_, w) => {
                sqlx::raw_sql(sql).execute(w).await?;
            }
        }
        Ok(())
    }
}

/// One attempt of the raw PostgreSQL upsert: read the key's row (holding it), archive it and
/// update it, or insert one; `texts` are the select, history, update and insert statements.
async fn pg_upsert_once(
    p: &PgPool,
    texts: [&str; 4],
    customer: Uuid,
    v: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let [select, history, update, insert] = texts;
    let mut tx = p.begin().await?;
    match sqlx::query(select).bind(customer).fetch_optional(&mut *tx).await? {
        Some(row) => {
            let id: Uuid = row.get("id");
            sqlx::query(history).bind(id).bind(at).bind(Uuid::now_v7()).execute(&mut *tx).await?;
            sqlx::query(update).bind(id).bind(v).bind(at).fetch_one(&mut *tx).await?;
        }
        None => {
            sqlx::query(insert).bind(customer).bind(Uuid::now_v7()).bind(v).bind(at).execute(&mut *tx).await?;
        }
    }
    tx.commit().await
}
