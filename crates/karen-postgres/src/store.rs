//! [`PgStore`]: the store interface over PostgreSQL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use karen_core::enums::Medium;
use karen_core::enums::PreferenceType;
use karen_core::events::{Event, EventQuery};
use karen_core::model::{ConsentRecord, ConversationAttachment, PreferenceHistory};
use karen_core::model::{Conversation, Customer, CustomerPreference, PackageService, Service, ServiceCategory};
use karen_core::preferences::transaction::{self, Decide};
use karen_core::preferences::PreferenceKey;
use karen_core::query::{
    ConversationHit, ConversationSearch, HistoryQuery, ListQuery, MediumCounts, PackageItem, PreferenceQuery,
};
use karen_core::{Entity, EntityKind, Store, StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::errors::map_err;
use crate::merge::PgMergeTx;
use crate::preferences::PgPreferenceTx;
use crate::rows::{self, bind, bind_entity, entity, entity_at, pg_sql, prefixed, sql, Placeholder};
use crate::writes::{field_type, update_changed};

/// karen's PostgreSQL store: a connection pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("PgStore").field("pool_size", &self.pool.size()).finish()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) with a pool of up to `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::invalid("database_url", format!("is not a PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // Marks karen's sessions: the updated_at trigger leaves karen's clock alone.
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(conn, "SET karen.clock = 'on'").await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(PgStore { pool })
    }

    /// Wraps an existing pool. Its connections should run `SET karen.clock = 'on'` (as
    /// [`PgStore::connect`]'s do) or the `updated_at` trigger will overwrite karen's clock.
    pub fn from_pool(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// The pool, for migrations and tests that speak SQL directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<usize> {
        crate::migrate(&self.pool).await
    }

    async fn fetch_all<E: Entity>(&self, q: rows::PgQuery<'_>) -> StoreResult<Vec<E>> {
        q.fetch_all(&self.pool).await.map_err(map_err)?.iter().map(entity).collect()
    }

    /// Rows of one customer; when there are none and `must_exist`, whether the customer
    /// exists (rows of a customer prove it does, so only an empty answer asks).
    async fn fetch_of_customer<E: Entity>(
        &self,
        q: rows::PgQuery<'_>,
        customer_id: Uuid,
        must_exist: bool,
    ) -> StoreResult<Vec<E>> {
        let rows: Vec<E> = self.fetch_all(q).await?;
        if rows.is_empty() && must_exist {
            let text = karen_sql::customer_exists_sql(Placeholder::Dollar);
            let found = sqlx::query(&text).bind(customer_id).fetch_optional(&self.pool).await.map_err(map_err)?;
            if found.is_none() {
                return Err(StoreError::not_found("customer", customer_id));
            }
        }
        Ok(rows)
    }

    async fn fetch_optional<E: Entity>(&self, q: rows::PgQuery<'_>) -> StoreResult<Option<E>> {
        q.fetch_optional(&self.pool).await.map_err(map_err)?.as_ref().map(entity).transpose()
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %e.id()))]
    async fn insert<E: Entity>(&self, e: &E) -> StoreResult<E> {
        bind_entity(sqlx::query(&sql::<E>().insert), e).execute(&self.pool).await.map_err(map_err)?;
        Ok(e.clone())
    }

    /// One transaction, one `COPY ... FROM STDIN`: PostgreSQL's fastest path. Constraints are
    /// checked as for INSERTs and a broken one fails the whole batch with the same error.
    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), rows = rows.len()))]
    async fn insert_many<E: Entity>(&self, rows: &[E]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let mut copy = tx.copy_in_raw(&crate::copy::copy_statement::<E>()).await.map_err(map_err)?;
        copy.send(crate::copy::copy_payload(rows)).await.map_err(map_err)?;
        copy.finish().await.map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn get<E: Entity>(&self, id: Uuid) -> StoreResult<E> {
        self.fetch_optional(sqlx::query(&sql::<E>().get).bind(id))
            .await?
            .ok_or_else(|| StoreError::not_found(E::KIND.name(), id))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn update<E, F>(&self, id: Uuid, change: F) -> StoreResult<E>
    where
        E: Entity,
        F: Fn(E) -> StoreResult<E> + Send + Sync + 'static,
    {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let row = sqlx::query(&pg_sql::<E>().get_for_update)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
            .ok_or_else(|| StoreError::not_found(E::KIND.name(), id))?;
        let current: E = entity(&row)?;
        let next = change(current.clone())?;
        let stored = update_changed(&mut tx, current, &next).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(stored)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn delete<E: Entity>(&self, id: Uuid) -> StoreResult<()> {
        let done = sqlx::query(&sql::<E>().delete).bind(id).execute(&self.pool).await.map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(E::KIND.name(), id));
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn delete_customer(&self, id: Uuid) -> StoreResult<Vec<(EntityKind, u64)>> {
        static STATEMENTS: std::sync::OnceLock<Vec<(EntityKind, String)>> = std::sync::OnceLock::new();
        let statements = STATEMENTS.get_or_init(|| karen_sql::erase_customer_sql(Placeholder::Dollar));
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let mut removed = Vec::with_capacity(statements.len());
        for (kind, text) in statements {
            let done = sqlx::query(text).bind(id).execute(&mut *tx).await.map_err(map_err)?;
            removed.push((*kind, done.rows_affected()));
        }
        if removed.last().is_some_and(|(_, n)| *n == 0) {
            return Err(StoreError::not_found("customer", id));
        }
        tx.commit().await.map_err(map_err)?;
        Ok(removed)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(into = %into, duplicate = %duplicate))]
    async fn merge_customers(
        &self,
        into: Uuid,
        duplicate: Uuid,
        at: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<karen_core::merge::MergeReport> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let report = karen_core::merge::apply(&mut PgMergeTx { conn: &mut tx }, into, duplicate, at, dry_run).await?;
        if dry_run {
            tx.rollback().await.map_err(map_err)?;
        } else {
            tx.commit().await.map_err(map_err)?;
        }
        Ok(report)
    }

    async fn merge_record(&self, id: Uuid) -> StoreResult<Option<karen_core::merge::MergeRecord>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        karen_core::merge::MergeTx::merge_record(&mut PgMergeTx { conn: &mut conn }, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name()))]
    async fn list<E: Entity>(&self, query: &ListQuery) -> StoreResult<Vec<E>> {
        let (text, bound) =
            karen_sql::list_sql::<E>(Placeholder::Dollar, &query.filters, query.after.is_some(), query.limit);
        let mut q = sqlx::query(&text);
        for (name, value) in bound {
            q = bind(q, value.clone(), field_type::<E>(name));
        }
        if let Some(after) = query.after {
            q = q.bind(after);
        }
        self.fetch_all(q).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %key.customer_id))]
    async fn change_preference<R, F>(
        &self,
        key: &PreferenceKey,
        decide: F,
    ) -> StoreResult<(Option<CustomerPreference>, R)>
    where
        R: Send + 'static,
        F: Decide<R>,
    {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let out = transaction::apply(&mut PgPreferenceTx { conn: &mut tx }, key, &decide).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(out)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %customer_id))]
    async fn preference_history(
        &self,
        customer_id: Uuid,
        preference_type: Option<PreferenceType>,
        preference_key: Option<&str>,
    ) -> StoreResult<Vec<PreferenceHistory>> {
        let text = format!(
            "SELECT {} FROM customer_preference_history
             WHERE customer_id = $1 AND ($2::text IS NULL OR preference_type = $2) AND ($3::text IS NULL OR preference_key = $3)
             ORDER BY superseded_at DESC, id DESC LIMIT 1000",
            sql::<PreferenceHistory>().columns
        );
        self.fetch_all(
            sqlx::query(&text).bind(customer_id).bind(preference_type.map(|t| t.as_str())).bind(preference_key),
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %q.customer_id))]
    async fn active_preferences(&self, q: &PreferenceQuery) -> StoreResult<Vec<CustomerPreference>> {
        let text = karen_sql::active_preferences_sql(Placeholder::Dollar, q.preference_type.is_some());
        let mut query = sqlx::query(&text).bind(q.customer_id).bind(q.now);
        if let Some(t) = q.preference_type {
            query = query.bind(t.as_str());
        }
        self.fetch_of_customer(query, q.customer_id, q.customer_must_exist).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %q.customer_id))]
    async fn conversation_history(&self, q: &HistoryQuery) -> StoreResult<Vec<Conversation>> {
        let text = karen_sql::history_sql(Placeholder::Dollar, q.medium.is_some(), q.before.is_some());
        let mut query = sqlx::query(&text).bind(q.customer_id);
        if let Some(m) = q.medium {
            query = query.bind(m.as_str());
        }
        if let Some((t, id)) = q.before {
            query = query.bind(t).bind(id);
        }
        self.fetch_of_customer(query.bind(i64::from(q.limit)), q.customer_id, q.customer_must_exist).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_conversations(&self, q: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
        crate::search::search(&self.pool, q).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>> {
        crate::events::events(&self.pool, query).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn last_event_position(&self) -> StoreResult<i64> {
        crate::events::last_position(&self.pool).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        crate::events::prune(&self.pool, before).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %customer_id))]
    async fn latest_by_medium(&self, customer_id: Uuid) -> StoreResult<Vec<Conversation>> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| karen_sql::latest_by_medium_sql(Placeholder::Dollar));
        self.fetch_all(sqlx::query(text).bind(customer_id)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn thread_messages(&self, thread_id: &str) -> StoreResult<Vec<Conversation>> {
        let text = format!(
            "SELECT {} FROM conversations WHERE conversation_thread_id = $1
             ORDER BY message_timestamp, id LIMIT 1000",
            sql::<Conversation>().columns
        );
        self.fetch_all(sqlx::query(&text).bind(thread_id)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn conversation_by_external_id(
        &self,
        medium: Medium,
        external_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        let text = format!(
            "SELECT {} FROM conversations WHERE medium = $1 AND external_id = $2",
            sql::<Conversation>().columns
        );
        self.fetch_optional(sqlx::query(&text).bind(medium.as_str()).bind(external_id)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %c.id))]
    async fn insert_message(
        &self,
        c: &Conversation,
        consent: Option<&ConsentRecord>,
        attachments: &[ConversationAttachment],
        if_new: bool,
    ) -> StoreResult<(Conversation, bool)> {
        static IF_NEW: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        static PLAIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = match (&c.external_id, if_new) {
            (Some(_), true) => IF_NEW.get_or_init(|| {
                format!(
                    "{} ON CONFLICT (medium, external_id) WHERE external_id IS NOT NULL DO NOTHING RETURNING {}",
                    pg_sql::<Conversation>().insert,
                    sql::<Conversation>().columns
                )
            }),
            _ => PLAIN.get_or_init(|| {
                format!("{} RETURNING {}", pg_sql::<Conversation>().insert, sql::<Conversation>().columns)
            }),
        };
        let inserted = if consent.is_none() && attachments.is_empty() {
            // One statement, no transaction to open.
            bind_entity(sqlx::query(text), c).fetch_optional(&self.pool).await.map_err(map_err)?
        } else {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            let row = bind_entity(sqlx::query(text), c).fetch_optional(&mut *tx).await.map_err(map_err)?;
            if row.is_some() {
                if let Some(consent) = consent {
                    bind_entity(sqlx::query(&pg_sql::<ConsentRecord>().insert), consent)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                for a in attachments {
                    bind_entity(sqlx::query(&pg_sql::<ConversationAttachment>().insert), a)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
            }
            tx.commit().await.map_err(map_err)?;
            row
        };
        if let Some(row) = inserted {
            return Ok((entity(&row)?, true));
        }
        let external_id = c.external_id.as_deref().unwrap_or_default();
        let existing = self
            .conversation_by_external_id(c.medium, external_id)
            .await?
            .ok_or_else(|| StoreError::not_found("conversation", external_id))?;
        Ok((existing, false))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(n = batch.len()))]
    async fn insert_messages(&self, batch: &[(Conversation, Vec<ConversationAttachment>)]) -> StoreResult<Vec<bool>> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| {
            format!(
                "{} ON CONFLICT (medium, external_id) WHERE external_id IS NOT NULL DO NOTHING",
                pg_sql::<Conversation>().insert
            )
        });
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let mut out = Vec::with_capacity(batch.len());
        for (c, files) in batch {
            let inserted =
                bind_entity(sqlx::query(text), c).execute(&mut *tx).await.map_err(map_err)?.rows_affected() == 1;
            if inserted {
                for a in files {
                    bind_entity(sqlx::query(&pg_sql::<ConversationAttachment>().insert), a)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
            }
            out.push(inserted);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(out)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn catalog_version(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT version FROM karen_catalog_version WHERE id")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(parent = ?parent))]
    async fn category_children(&self, parent: Option<Uuid>) -> StoreResult<Vec<ServiceCategory>> {
        let text = format!(
            "SELECT {} FROM service_categories WHERE parent_category_id IS NOT DISTINCT FROM $1
             ORDER BY sort_order, name COLLATE \"C\", id",
            sql::<ServiceCategory>().columns
        );
        self.fetch_all(sqlx::query(&text).bind(parent)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn category_ancestors(&self, id: Uuid) -> StoreResult<Vec<ServiceCategory>> {
        let text = format!(
            "WITH RECURSIVE up(id, parent, depth) AS (
                SELECT id, parent_category_id, 0 FROM service_categories WHERE id = $1
                UNION ALL
                SELECT c.id, c.parent_category_id, up.depth + 1
                FROM service_categories c JOIN up ON c.id = up.parent WHERE up.depth < 64)
             SELECT {} FROM up JOIN service_categories c ON c.id = up.id ORDER BY up.depth",
            prefixed::<ServiceCategory>("c")
        );
        let mut chain: Vec<ServiceCategory> = self.fetch_all(sqlx::query(&text).bind(id)).await?;
        if chain.is_empty() {
            return Err(StoreError::not_found("service_category", id));
        }
        chain.remove(0);
        Ok(chain)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(package_id = %package_id))]
    async fn package_items(&self, package_id: Uuid) -> StoreResult<Vec<PackageItem>> {
        let text = format!(
            "SELECT {}, {} FROM package_services ps JOIN services s ON s.id = ps.service_id
             WHERE ps.package_id = $1 ORDER BY ps.sort_order, ps.id",
            prefixed::<PackageService>("ps"),
            prefixed::<Service>("s")
        );
        let rows = sqlx::query(&text).bind(package_id).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(PackageItem { item: entity_at(row, 0)?, service: entity_at(row, PackageService::FIELDS.len())? })
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %customer_id))]
    async fn communication_counts(
        &self,
        customer_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<MediumCounts>> {
        let rows = sqlx::query(
            "SELECT c.medium,
                    count(*) FILTER (WHERE c.direction = 'inbound'),
                    count(*) FILTER (WHERE c.direction = 'outbound'),
                    count(*) FILTER (WHERE c.direction = 'inbound' AND c.response_id IS NOT NULL),
                    COALESCE(array_agg((EXTRACT(EPOCH FROM (r.message_timestamp - c.message_timestamp)) * 1000000)::bigint)
                             FILTER (WHERE c.direction = 'inbound' AND r.id IS NOT NULL), '{}')
             FROM customers cu
             LEFT JOIN conversations c
                    ON c.customer_id = cu.id AND c.message_timestamp >= $2 AND c.message_timestamp <= $3
             LEFT JOIN conversations r ON r.id = c.response_id
             WHERE cu.id = $1
             GROUP BY c.medium",
        )
        .bind(customer_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        // No row: no such customer. One row without a medium: a customer without messages.
        if rows.is_empty() {
            return Err(StoreError::not_found("customer", customer_id));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(medium) = row.try_get::<Option<String>, _>(0).map_err(map_err)? else { continue };
            out.push(MediumCounts {
                medium: medium.parse().map_err(|e| StoreError::corrupt("conversation", e))?,
                inbound: row.try_get(1).map_err(map_err)?,
                outbound: row.try_get(2).map_err(map_err)?,
                responded: row.try_get(3).map_err(map_err)?,
                response_delays_us: row.try_get(4).map_err(map_err)?,
            });
        }
        Ok(out)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customer_by_email(&self, email: &str) -> StoreResult<Option<Customer>> {
        let text =
            format!("SELECT {} FROM customers WHERE lower(primary_email) = lower($1)", sql::<Customer>().columns);
        self.fetch_optional(sqlx::query(&text).bind(email)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customers_by_email(&self, email: &str) -> StoreResult<Vec<Customer>> {
        let text = format!(
            "SELECT {} FROM customers WHERE lower(primary_email) = lower($1)
             UNION SELECT {0} FROM customers WHERE lower(secondary_email) = lower($1) ORDER BY id",
            sql::<Customer>().columns
        );
        self.fetch_all(sqlx::query(&text).bind(email)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customers_by_phone(&self, phone: &str) -> StoreResult<Vec<Customer>> {
        let text = format!(
            "SELECT {} FROM customers WHERE primary_phone = $1 OR secondary_phone = $1 ORDER BY id",
            sql::<Customer>().columns
        );
        self.fetch_all(sqlx::query(&text).bind(phone)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customer_by_external_id(&self, external_id: &str) -> StoreResult<Option<Customer>> {
        let text = format!("SELECT {} FROM customers WHERE external_id = $1", sql::<Customer>().columns);
        self.fetch_optional(sqlx::query(&text).bind(external_id)).await
    }
}
