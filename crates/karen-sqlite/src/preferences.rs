//! [`PreferenceTx`] over SQLite's writer transaction: the steps of a preference change are
//! core's ([`karen_core::preferences::transaction::apply`]); these are its reads and writes.

use karen_core::model::{CustomerPreference, PreferenceHistory};
use karen_core::preferences::transaction::PreferenceTx;
use karen_core::preferences::{PreferenceKey, SummaryUpdate};
use karen_core::StoreResult;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::errors::map_err;
use crate::rows::{self, bind_entity, entity, sql, ts};
use crate::writes::{missing_reference, update_changed};

/// A preference change inside an open `BEGIN IMMEDIATE` transaction (which already holds the
/// file's write lock, so the row read is held too).
pub(crate) struct SqlitePreferenceTx<'c> {
    /// The transaction's connection.
    pub conn: &'c mut SqliteConnection,
}

impl SqlitePreferenceTx<'_> {
    /// Reads a preference back (the `updated_at` trigger may have changed it).
    async fn read(&mut self, id: Uuid) -> StoreResult<CustomerPreference> {
        let row = sqlx::query(&sql::<CustomerPreference>().get)
            .bind(rows::uuid(id))
            .fetch_one(&mut *self.conn)
            .await
            .map_err(map_err)?;
        entity(&row)
    }
}

impl PreferenceTx for SqlitePreferenceTx<'_> {
    async fn current(&mut self, key: &PreferenceKey) -> StoreResult<Option<CustomerPreference>> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| karen_sql::preference_by_key_sql(karen_sql::Placeholder::Question, false));
        sqlx::query(text)
            .bind(rows::uuid(key.customer_id))
            .bind(key.preference_type.as_str())
            .bind(&key.preference_key)
            .bind(key.medium.as_str())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(entity)
            .transpose()
    }

    async fn insert(&mut self, row: &CustomerPreference) -> StoreResult<CustomerPreference> {
        let done = bind_entity(sqlx::query(&sql::<CustomerPreference>().insert), row).execute(&mut *self.conn).await;
        if let Err(err) = done {
            return Err(missing_reference(self.conn, map_err(err), row).await);
        }
        self.read(row.id).await
    }

    async fn replace(
        &mut self,
        before: &CustomerPreference,
        after: &CustomerPreference,
    ) -> StoreResult<CustomerPreference> {
        if let Err(err) = update_changed(self.conn, before, after).await {
            return Err(missing_reference(self.conn, err, after).await);
        }
        self.read(after.id).await
    }

    async fn delete(&mut self, row: &CustomerPreference) -> StoreResult<()> {
        sqlx::query(&sql::<CustomerPreference>().delete)
            .bind(rows::uuid(row.id))
            .execute(&mut *self.conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn append_history(&mut self, row: &PreferenceHistory) -> StoreResult<()> {
        let done = bind_entity(sqlx::query(&sql::<PreferenceHistory>().insert), row).execute(&mut *self.conn).await;
        match done {
            Ok(_) => Ok(()),
            Err(err) => Err(missing_reference(self.conn, map_err(err), row).await),
        }
    }

    async fn set_summary(&mut self, customer_id: Uuid, s: &SummaryUpdate) -> StoreResult<()> {
        let column = karen_core::preferences::summary::checked_column(s.column)?;
        sqlx::query(&format!("UPDATE customers SET {column} = ?1, updated_at = ?2 WHERE id = ?3"))
            .bind(&s.value)
            .bind(ts(s.at))
            .bind(rows::uuid(customer_id))
            .execute(&mut *self.conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
