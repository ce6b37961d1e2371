//! [`SqliteStore`]: the store interface over one SQLite file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use karen_core::enums::{Direction, Medium, PreferenceType};
use karen_core::events::{Event, EventQuery};
use karen_core::model::{
    ConsentRecord, Conversation, ConversationAttachment, Customer, CustomerPreference, PackageService,
    PreferenceHistory, Service, ServiceCategory,
};
use karen_core::preferences::transaction::{self, Decide};
use karen_core::preferences::PreferenceKey;
use karen_core::query::{
    ConversationHit, ConversationSearch, HistoryQuery, ListQuery, MediumCounts, PackageItem, PreferenceQuery,
};
use karen_core::{Entity, EntityKind, Store, StoreError, StoreResult, Value};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::errors::map_err;
use crate::merge::SqliteMergeTx;
use crate::preferences::SqlitePreferenceTx;
use crate::rows::{self, bind, bind_entity, entity, entity_at, prefixed, sql, ts, Placeholder};
use crate::writes::{missing_reference, restricting_reference, update_changed};

/// Default number of reader connections.
pub const DEFAULT_READERS: u32 = 4;

/// karen's SQLite store: a writer connection and a pool of readers on one file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    path: PathBuf,
    /// The (device, inode) of the file opened: a file deleted or replaced under a running karen
    /// would swallow every later write (SQLite keeps writing to the unlinked file).
    file: Option<(u64, u64)>,
}

/// The (device, inode) of the file at `path`, where the platform has them.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the file of `sqlite://PATH` or a bare path, and applies
    /// pending migrations. Fails clearly on a file that is not karen's or is newer than karen.
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(Path::new(crate::open::path_of(url)?), DEFAULT_READERS).await
    }

    /// Opens `path` with `readers` reader connections and migrates it.
    pub async fn open_with(path: &Path, readers: u32) -> StoreResult<Self> {
        let writer = crate::open::open_writer(path).await?;
        crate::migrate::migrate(&writer).await?;
        let readers = crate::open::open_readers(path, readers).await?;
        Ok(SqliteStore { writer, readers, path: path.to_path_buf(), file: file_id(path) })
    }

    /// How many migrations the file at `path` has applied, read without migrating it.
    pub async fn applied_migrations(path: &str) -> StoreResult<usize> {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
        let mut conn = sqlx::ConnectOptions::connect(&options).await.map_err(map_err)?;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM karen_schema_migrations")
            .fetch_one(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer pool (one connection), for tests and tools that speak SQL directly.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The reader pool.
    pub fn readers(&self) -> &SqlitePool {
        &self.readers
    }

    /// Applies pending migrations (already done by `open`; returns 0 then).
    pub async fn migrate(&self) -> StoreResult<usize> {
        crate::migrate::migrate(&self.writer).await
    }

    /// Refreshes the query planner's statistics (`PRAGMA optimize`, which analyzes what needs
    /// it): run after a bulk load, since plans chosen without statistics can pick a poor index.
    pub async fn optimize(&self) -> StoreResult<()> {
        sqlx::query("PRAGMA optimize").execute(&self.writer).await.map_err(map_err)?;
        sqlx::query("ANALYZE").execute(&self.writer).await.map_err(map_err)?;
        Ok(())
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }

    /// Unavailable when the file karen opened is no longer the one at its path (deleted,
    /// moved or replaced while karen runs): its writes would be lost, so none is made.
    fn check_file(&self) -> StoreResult<()> {
        match self.file {
            Some(id) if file_id(&self.path) != Some(id) => Err(StoreError::Unavailable(format!(
                "the database file {} was deleted or replaced while karen was running; writes would be lost, so none is made: restart karen",
                self.path.display()
            ))),
            _ => Ok(()),
        }
    }

    /// The writer's transaction (every write goes through it), after checking the file.
    async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.check_file()?;
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)
    }

    async fn fetch_all<E: Entity>(&self, q: rows::SqliteQuery<'_>) -> StoreResult<Vec<E>> {
        q.fetch_all(&self.readers).await.map_err(map_err)?.iter().map(entity).collect()
    }

    /// Rows of one customer; when there are none and `must_exist`, whether the customer
    /// exists (rows of a customer prove it does, so only an empty answer asks).
    async fn fetch_of_customer<E: Entity>(
        &self,
        q: rows::SqliteQuery<'_>,
        customer_id: Uuid,
        must_exist: bool,
    ) -> StoreResult<Vec<E>> {
        let rows: Vec<E> = self.fetch_all(q).await?;
        if rows.is_empty() && must_exist {
            let text = karen_sql::customer_exists_sql(Placeholder::Question);
            let found = sqlx::query(&text)
                .bind(rows::uuid(customer_id))
                .fetch_optional(&self.readers)
                .await
                .map_err(map_err)?;
            if found.is_none() {
                return Err(StoreError::not_found("customer", customer_id));
            }
        }
        Ok(rows)
    }

    async fn fetch_optional<E: Entity>(&self, q: rows::SqliteQuery<'_>) -> StoreResult<Option<E>> {
        q.fetch_optional(&self.readers).await.map_err(map_err)?.as_ref().map(entity).transpose()
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.check_file()?;
        sqlx::query("SELECT 1").execute(&self.readers).await.map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %e.id()))]
    async fn insert<E: Entity>(&self, e: &E) -> StoreResult<E> {
        let mut tx = self.begin().await?;
        if let Err(err) = bind_entity(sqlx::query(&sql::<E>().insert), e).execute(&mut *tx).await {
            return Err(missing_reference(&mut tx, map_err(err), e).await);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(e.clone())
    }

    /// One transaction; each row through the one-row INSERT, prepared once and reused. SQLite
    /// runs in-process, so a statement costs no round trip, and sqlx resolves parameter names
    /// per bind: a 500-row multi-VALUES statement made the load quadratic (measured: 1,019
    /// message rows/s, 93% of the time in `sqlite3_bind_parameter_name`; docs/performance.md).
    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), rows = rows.len()))]
    async fn insert_many<E: Entity>(&self, rows: &[E]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let text = &sql::<E>().insert;
        for row in rows {
            if let Err(err) = bind_entity(sqlx::query(text), row).execute(&mut *tx).await {
                return Err(missing_reference(&mut tx, map_err(err), row).await);
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn get<E: Entity>(&self, id: Uuid) -> StoreResult<E> {
        self.fetch_optional(sqlx::query(&sql::<E>().get).bind(rows::uuid(id)))
            .await?
            .ok_or_else(|| StoreError::not_found(E::KIND.name(), id))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn update<E, F>(&self, id: Uuid, change: F) -> StoreResult<E>
    where
        E: Entity,
        F: Fn(E) -> StoreResult<E> + Send + Sync + 'static,
    {
        let mut tx = self.begin().await?;
        let get = &sql::<E>().get;
        let row = sqlx::query(get)
            .bind(rows::uuid(id))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
            .ok_or_else(|| StoreError::not_found(E::KIND.name(), id))?;
        let current: E = entity(&row)?;
        let next = change(current.clone())?;
        if let Err(err) = update_changed(&mut tx, &current, &next).await {
            return Err(missing_reference(&mut tx, err, &next).await);
        }
        // Read back: the updated_at trigger may have changed the row after the UPDATE.
        let row = sqlx::query(get).bind(rows::uuid(id)).fetch_one(&mut *tx).await.map_err(map_err)?;
        let stored = entity(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok(stored)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn delete<E: Entity>(&self, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = match sqlx::query(&sql::<E>().delete).bind(rows::uuid(id)).execute(&mut *tx).await {
            Ok(done) => done,
            Err(err) => return Err(restricting_reference(&mut tx, map_err(err), E::KIND, id).await),
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(E::KIND.name(), id));
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn delete_customer(&self, id: Uuid) -> StoreResult<Vec<(EntityKind, u64)>> {
        static STATEMENTS: std::sync::OnceLock<Vec<(EntityKind, String)>> = std::sync::OnceLock::new();
        let statements = STATEMENTS.get_or_init(|| karen_sql::erase_customer_sql(Placeholder::Question));
        let mut tx = self.begin().await?;
        let before = crate::events::last_position(&mut *tx).await?;
        let mut removed = Vec::with_capacity(statements.len());
        for (kind, text) in statements {
            let done = sqlx::query(text).bind(rows::uuid(id)).execute(&mut *tx).await.map_err(map_err)?;
            removed.push((*kind, done.rows_affected()));
        }
        if removed.last().is_some_and(|(_, n)| *n == 0) {
            return Err(StoreError::not_found("customer", id));
        }
        crate::events::drop_erased_rows_events(&mut tx, before, id).await?;
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
        let mut tx = self.begin().await?;
        let report =
            karen_core::merge::apply(&mut SqliteMergeTx { conn: &mut tx }, into, duplicate, at, dry_run).await?;
        if dry_run {
            tx.rollback().await.map_err(map_err)?;
        } else {
            tx.commit().await.map_err(map_err)?;
        }
        Ok(report)
    }

    async fn merge_record(&self, id: Uuid) -> StoreResult<Option<karen_core::merge::MergeRecord>> {
        let mut conn = self.readers.acquire().await.map_err(map_err)?;
        karen_core::merge::MergeTx::merge_record(&mut SqliteMergeTx { conn: &mut conn }, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name()))]
    async fn list<E: Entity>(&self, query: &ListQuery) -> StoreResult<Vec<E>> {
        let (text, bound) =
            karen_sql::list_sql::<E>(Placeholder::Question, &query.filters, query.after.is_some(), query.limit);
        let mut q = sqlx::query(&text);
        for (_, value) in bound {
            q = bind(q, value.clone());
        }
        if let Some(after) = query.after {
            q = q.bind(rows::uuid(after));
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
        let mut tx = self.begin().await?;
        let out = transaction::apply(&mut SqlitePreferenceTx { conn: &mut tx }, key, &decide).await?;
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
             WHERE customer_id = ?1 AND (?2 IS NULL OR preference_type = ?2) AND (?3 IS NULL OR preference_key = ?3)
             ORDER BY superseded_at DESC, id DESC LIMIT 1000",
            sql::<PreferenceHistory>().columns
        );
        let ty = preference_type.map(|t| t.as_str());
        self.fetch_all(sqlx::query(&text).bind(rows::uuid(customer_id)).bind(ty).bind(preference_key)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %q.customer_id))]
    async fn active_preferences(&self, q: &PreferenceQuery) -> StoreResult<Vec<CustomerPreference>> {
        let text = karen_sql::active_preferences_sql(Placeholder::Question, q.preference_type.is_some());
        let mut query = sqlx::query(&text).bind(rows::uuid(q.customer_id)).bind(ts(q.now));
        if let Some(t) = q.preference_type {
            query = query.bind(t.as_str());
        }
        self.fetch_of_customer(query, q.customer_id, q.customer_must_exist).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %q.customer_id))]
    async fn conversation_history(&self, q: &HistoryQuery) -> StoreResult<Vec<Conversation>> {
        let text = karen_sql::history_sql(Placeholder::Question, q.medium.is_some(), q.before.is_some());
        let mut query = sqlx::query(&text).bind(rows::uuid(q.customer_id));
        if let Some(m) = q.medium {
            query = query.bind(m.as_str());
        }
        if let Some((t, id)) = q.before {
            query = query.bind(ts(t)).bind(rows::uuid(id));
        }
        self.fetch_of_customer(query.bind(i64::from(q.limit)), q.customer_id, q.customer_must_exist).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>> {
        crate::events::events(&self.readers, query).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn last_event_position(&self) -> StoreResult<i64> {
        crate::events::last_position(&self.readers).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(&crate::events::prune_sql())
            .bind(crate::events::prune_param(before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_conversations(&self, q: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
        crate::search::search(&self.readers, q).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %customer_id))]
    async fn latest_by_medium(&self, customer_id: Uuid) -> StoreResult<Vec<Conversation>> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| karen_sql::latest_by_medium_sql(Placeholder::Question));
        self.fetch_all(sqlx::query(text).bind(rows::uuid(customer_id))).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn thread_messages(&self, thread_id: &str) -> StoreResult<Vec<Conversation>> {
        let text = format!(
            "SELECT {} FROM conversations WHERE conversation_thread_id = ?1 ORDER BY message_timestamp, id LIMIT 1000",
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
            "SELECT {} FROM conversations WHERE medium = ?1 AND external_id = ?2",
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
        let text = match (&c.external_id, if_new) {
            (Some(_), true) => IF_NEW.get_or_init(|| {
                format!(
                    "{} ON CONFLICT (medium, external_id) WHERE external_id IS NOT NULL DO NOTHING",
                    sql::<Conversation>().insert
                )
            }),
            _ => &sql::<Conversation>().insert,
        };
        let mut tx = self.begin().await?;
        let done = match bind_entity(sqlx::query(text), c).execute(&mut *tx).await {
            Ok(done) => done,
            Err(err) => return Err(missing_reference(&mut tx, map_err(err), c).await),
        };
        if done.rows_affected() == 1 {
            if let Some(consent) = consent {
                if let Err(err) =
                    bind_entity(sqlx::query(&sql::<ConsentRecord>().insert), consent).execute(&mut *tx).await
                {
                    return Err(missing_reference(&mut tx, map_err(err), consent).await);
                }
            }
            for a in attachments {
                bind_entity(sqlx::query(&sql::<ConversationAttachment>().insert), a)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)?;
            return Ok((c.clone(), true));
        }
        let text = format!(
            "SELECT {} FROM conversations WHERE medium = ?1 AND external_id = ?2",
            sql::<Conversation>().columns
        );
        let row = sqlx::query(&text)
            .bind(c.medium.as_str())
            .bind(c.external_id.as_deref())
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let existing = entity(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok((existing, false))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(n = batch.len()))]
    async fn insert_messages(&self, batch: &[(Conversation, Vec<ConversationAttachment>)]) -> StoreResult<Vec<bool>> {
        let text = format!(
            "{} ON CONFLICT (medium, external_id) WHERE external_id IS NOT NULL DO NOTHING",
            sql::<Conversation>().insert
        );
        let mut tx = self.begin().await?;
        let mut out = Vec::with_capacity(batch.len());
        for (c, files) in batch {
            let done = match bind_entity(sqlx::query(&text), c).execute(&mut *tx).await {
                Ok(done) => done,
                Err(err) => return Err(missing_reference(&mut tx, map_err(err), c).await),
            };
            let inserted = done.rows_affected() == 1;
            if inserted {
                for a in files {
                    bind_entity(sqlx::query(&sql::<ConversationAttachment>().insert), a)
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
        sqlx::query_scalar("SELECT version FROM karen_catalog_version WHERE id = 1")
            .fetch_one(&self.readers)
            .await
            .map_err(map_err)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(parent = ?parent))]
    async fn category_children(&self, parent: Option<Uuid>) -> StoreResult<Vec<ServiceCategory>> {
        let text = format!(
            "SELECT {} FROM service_categories WHERE parent_category_id IS ?1 ORDER BY sort_order, name, id",
            sql::<ServiceCategory>().columns
        );
        self.fetch_all(sqlx::query(&text).bind(parent.map(rows::uuid))).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn category_ancestors(&self, id: Uuid) -> StoreResult<Vec<ServiceCategory>> {
        let text = format!(
            "WITH RECURSIVE up(id, parent, depth) AS (
                SELECT id, parent_category_id, 0 FROM service_categories WHERE id = ?1
                UNION ALL
                SELECT c.id, c.parent_category_id, up.depth + 1
                FROM service_categories c JOIN up ON c.id = up.parent WHERE up.depth < 64)
             SELECT {} FROM up JOIN service_categories c ON c.id = up.id ORDER BY up.depth",
            prefixed::<ServiceCategory>("c")
        );
        let mut chain: Vec<ServiceCategory> = self.fetch_all(sqlx::query(&text).bind(rows::uuid(id))).await?;
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
             WHERE ps.package_id = ?1 ORDER BY ps.sort_order, ps.id",
            prefixed::<PackageService>("ps"),
            prefixed::<Service>("s")
        );
        let rows = sqlx::query(&text).bind(rows::uuid(package_id)).fetch_all(&self.readers).await.map_err(map_err)?;
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
        // One read transaction: both queries see the same snapshot.
        let mut tx = self.readers.begin().await.map_err(map_err)?;
        let (id, from, to) = (rows::uuid(customer_id), ts(from), ts(to));
        let rows = sqlx::query(
            "SELECT c.medium, c.direction, c.response_id IS NOT NULL, count(c.id)
             FROM customers cu
             LEFT JOIN conversations c
                    ON c.customer_id = cu.id AND c.message_timestamp >= ?2 AND c.message_timestamp <= ?3
             WHERE cu.id = ?1
             GROUP BY c.medium, c.direction, c.response_id IS NOT NULL",
        )
        .bind(&id)
        .bind(&from)
        .bind(&to)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        // No row: no such customer. One row without a medium: a customer without messages.
        if rows.is_empty() {
            return Err(StoreError::not_found("customer", customer_id));
        }
        let mut out: Vec<MediumCounts> = Vec::new();
        for row in &rows {
            let Some(medium) = row.try_get::<Option<String>, _>(0).map_err(map_err)? else { continue };
            let medium: Medium = medium.parse().map_err(|e| StoreError::corrupt("conversation", e))?;
            let direction: Direction = row
                .try_get::<String, _>(1)
                .map_err(map_err)?
                .parse()
                .map_err(|e| StoreError::corrupt("conversation", e))?;
            let answered: bool = row.try_get(2).map_err(map_err)?;
            let n: i64 = row.try_get(3).map_err(map_err)?;
            let entry = match out.iter_mut().position(|c| c.medium == medium) {
                Some(i) => &mut out[i],
                None => {
                    out.push(MediumCounts {
                        medium,
                        inbound: 0,
                        outbound: 0,
                        responded: 0,
                        response_delays_us: Vec::new(),
                    });
                    out.last_mut().expect("just pushed")
                }
            };
            match direction {
                Direction::Inbound => {
                    entry.inbound += n;
                    if answered {
                        entry.responded += n;
                    }
                }
                Direction::Outbound => entry.outbound += n,
            }
        }
        let delays = sqlx::query(
            "SELECT c.medium, c.message_timestamp, r.message_timestamp
             FROM conversations c JOIN conversations r ON r.id = c.response_id
             WHERE c.customer_id = ?1 AND c.direction = 'inbound'
               AND c.message_timestamp >= ?2 AND c.message_timestamp <= ?3",
        )
        .bind(&id)
        .bind(&from)
        .bind(&to)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        for row in &delays {
            let medium: Medium = row
                .try_get::<String, _>(0)
                .map_err(map_err)?
                .parse()
                .map_err(|e| StoreError::corrupt("conversation", e))?;
            let (Value::Timestamp(sent), Value::Timestamp(answered)) = (
                rows::decode(row, 1, "message_timestamp", karen_core::FieldType::Timestamp)?,
                rows::decode(row, 2, "message_timestamp", karen_core::FieldType::Timestamp)?,
            ) else {
                continue;
            };
            if let Some(entry) = out.iter_mut().find(|c| c.medium == medium) {
                entry.response_delays_us.push((answered - sent).num_microseconds().unwrap_or(i64::MAX));
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(out)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customer_by_email(&self, email: &str) -> StoreResult<Option<Customer>> {
        let text =
            format!("SELECT {} FROM customers WHERE lower(primary_email) = lower(?1)", sql::<Customer>().columns);
        self.fetch_optional(sqlx::query(&text).bind(email)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customers_by_email(&self, email: &str) -> StoreResult<Vec<Customer>> {
        let text = format!(
            "SELECT {} FROM customers WHERE lower(primary_email) = lower(?1)
             UNION SELECT {0} FROM customers WHERE lower(secondary_email) = lower(?1) ORDER BY id",
            sql::<Customer>().columns
        );
        self.fetch_all(sqlx::query(&text).bind(email)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customers_by_phone(&self, phone: &str) -> StoreResult<Vec<Customer>> {
        let text = format!(
            "SELECT {} FROM customers WHERE primary_phone = ?1 OR secondary_phone = ?1 ORDER BY id",
            sql::<Customer>().columns
        );
        self.fetch_all(sqlx::query(&text).bind(phone)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customer_by_external_id(&self, external_id: &str) -> StoreResult<Option<Customer>> {
        let text = format!("SELECT {} FROM customers WHERE external_id = ?1", sql::<Customer>().columns);
        self.fetch_optional(sqlx::query(&text).bind(external_id)).await
    }
}
