//! The baseline: the same statements karen's backends run, sent through the driver directly and
//! read as plain rows, with no model, validation or store layer.

use chrono::{DateTime, Utc};
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

    /// Pattern 3, first page.
    pub async fn search(&self, terms: &[String]) -> R<usize> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query("SELECT s.*, sc.name, spt.price FROM services s JOIN service_categories sc ON sc.id = s.category_id LEFT JOIN service_pricing_tiers spt ON spt.service_id = s.id AND spt.is_default WHERE s.is_active AND sc.is_active AND s.search_terms && $1 ORDER BY s.is_featured DESC, s.name COLLATE \"C\", s.id LIMIT 51")
                .bind(terms).fetch_all(p).await?.len(),
            Raw::Sqlite(r, _) => sqlx::query("SELECT s.*, sc.name, spt.price FROM services s JOIN service_categories sc ON sc.id = s.category_id LEFT JOIN service_pricing_tiers spt ON spt.service_id = s.id AND spt.is_default = 1 WHERE s.is_active = 1 AND sc.is_active = 1 AND s.id IN (SELECT service_id FROM service_search_terms WHERE term IN (SELECT value FROM json_each(?1))) ORDER BY s.is_featured DESC, s.name, s.id LIMIT 51")
                .bind(serde_json::Value::from(terms.to_vec()).to_string()).fetch_all(r).await?.len(),
        })
    }

    /// Pattern 4, over 30 days.
    pub async fn analytics(&self, customer: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> R<usize> {
        Ok(match self {
            Raw::Pg(p) => sqlx::query("SELECT c.medium, count(*) FILTER (WHERE c.direction = 'inbound'), count(*) FILTER (WHERE c.direction = 'outbound'), count(*) FILTER (WHERE c.direction = 'inbound' AND c.response_id IS NOT NULL), COALESCE(array_agg((EXTRACT(EPOCH FROM (r.message_timestamp - c.message_timestamp)) * 1000000)::bigint) FILTER (WHERE c.direction = 'inbound' AND r.id IS NOT NULL), '{}') FROM conversations c LEFT JOIN conversations r ON r.id = c.response_id WHERE c.customer_id = $1 AND c.message_timestamp >= $2 AND c.message_timestamp <= $3 GROUP BY c.medium")
                .bind(customer).bind(from).bind(to).fetch_all(p).await?.len(),
            Raw::Sqlite(r, _) => {
                let (id, f, t) = (customer.to_string(), ts(from), ts(to));
                let a = sqlx::query("SELECT medium, direction, response_id IS NOT NULL, count(*) FROM conversations WHERE customer_id = ?1 AND message_timestamp >= ?2 AND message_timestamp <= ?3 GROUP BY medium, direction, response_id IS NOT NULL")
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
            Raw::Pg(p) => sqlx::query("INSERT INTO conversations (id, customer_id, external_id, medium, direction, content, message_timestamp, received_at, created_at, updated_at, cc_addresses, bcc_addresses, keywords, topics) VALUES ($1, $2, $3, 'sms', 'inbound', $4, $5, $5, $5, $5, '{}', '{}', '{}', '{}') ON CONFLICT (medium, external_id) WHERE external_id IS NOT NULL DO NOTHING")
                .bind(id).bind(customer).bind(external_id).bind(content).bind(at).execute(p).await?.rows_affected() as usize,
            Raw::Sqlite(_, w) => {
                let mut tx = w.begin_with("BEGIN IMMEDIATE").await?;
                let n = sqlx::query("INSERT INTO conversations (id, customer_id, external_id, medium, direction, content, message_timestamp, received_at, created_at, updated_at, cc_addresses, bcc_addresses, keywords, topics) VALUES (?1, ?2, ?3, 'sms', 'inbound', ?4, ?5, ?5, ?5, ?5, '[]', '[]', '[]', '[]') ON CONFLICT (medium, external_id) WHERE external_id IS NOT NULL DO NOTHING")
                    .bind(id.to_string()).bind(customer.to_string()).bind(external_id).bind(content).bind(ts(at)).execute(&mut *tx).await?.rows_affected() as usize;
                tx.commit().await?;
                n
            }
        })
    }

    /// Upserts a custom preference.
    pub async fn upsert_preference(&self, customer: Uuid, value: i64, at: DateTime<Utc>) -> R<usize> {
        let id = Uuid::now_v7();
        let v = serde_json::json!({ "value": value });
        Ok(match self {
            Raw::Pg(p) => sqlx::query("INSERT INTO customer_preferences (id, customer_id, preference_type, preference_key, preference_value, confidence_score, source, medium, created_at, updated_at, learned_at) VALUES ($1, $2, 'custom', 'bench_counter', $3, 0.5, 'learned', 'general', $4, $4, $4) ON CONFLICT (customer_id, preference_type, preference_key, medium) DO UPDATE SET preference_value = EXCLUDED.preference_value, updated_at = EXCLUDED.updated_at")
                .bind(id).bind(customer).bind(v).bind(at).execute(p).await?.rows_affected() as usize,
            Raw::Sqlite(_, w) => {
                let mut tx = w.begin_with("BEGIN IMMEDIATE").await?;
                let n = sqlx::query("INSERT INTO customer_preferences (id, customer_id, preference_type, preference_key, preference_value, confidence_score, source, medium, created_at, updated_at, learned_at) VALUES (?1, ?2, 'custom', 'bench_counter', ?3, 0.5, 'learned', 'general', ?4, ?4, ?4) ON CONFLICT (customer_id, preference_type, preference_key, medium) DO UPDATE SET preference_value = excluded.preference_value, updated_at = excluded.updated_at")
                    .bind(id.to_string()).bind(customer.to_string()).bind(v.to_string()).bind(ts(at)).execute(&mut *tx).await?.rows_affected() as usize;
                tx.commit().await?;
                n
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

    /// Rows of a table (to find what is loaded).
    pub async fn count(&self, table: &str) -> R<i64> {
        let q = format!("SELECT count(*) FROM {table}");
        Ok(match self {
            Raw::Pg(p) => sqlx::query(&q).fetch_one(p).await?.get(0),
            Raw::Sqlite(r, _) => sqlx::query(&q).fetch_one(r).await?.get(0),
        })
    }
}
