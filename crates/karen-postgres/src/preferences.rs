//! [`PreferenceTx`] over a PostgreSQL transaction: the steps of a preference change are core's
//! ([`karen_core::preferences::transaction::apply`]); these are its reads and writes. The
//! current row is read `FOR UPDATE`, so concurrent changes of a key take turns.

use karen_core::model::{CustomerPreference, PreferenceHistory};
use karen_core::preferences::transaction::PreferenceTx;
use karen_core::preferences::{PreferenceKey, SummaryUpdate};
use karen_core::StoreResult;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::errors::map_err;
use crate::rows::{bind_entity, entity, pg_sql, sql};
use crate::writes::update_changed;

/// A preference change inside an open transaction.
pub(crate) struct PgPreferenceTx<'c> {
    /// The transaction's connection.
    pub conn: &'c mut PgConnection,
}

impl PreferenceTx for PgPreferenceTx<'_> {
    async fn current(&mut self, key: &PreferenceKey) -> StoreResult<Option<CustomerPreference>> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| karen_sql::preference_by_key_sql(karen_sql::Placeholder::Dollar, true));
        sqlx::query(text)
            .bind(key.customer_id)
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
        let q = bind_entity(sqlx::query(&pg_sql::<CustomerPreference>().insert), row);
        q.execute(&mut *self.conn).await.map_err(map_err)?;
        Ok(row.clone())
    }

    async fn replace(
        &mut self,
        before: &CustomerPreference,
        after: &CustomerPreference,
    ) -> StoreResult<CustomerPreference> {
        update_changed(self.conn, before.clone(), after).await
    }

    async fn delete(&mut self, row: &CustomerPreference) -> StoreResult<()> {
        sqlx::query(&sql::<CustomerPreference>().delete)
            .bind(row.id)
            .execute(&mut *self.conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn append_history(&mut self, row: &PreferenceHistory) -> StoreResult<()> {
        bind_entity(sqlx::query(&sql::<PreferenceHistory>().insert), row)
            .execute(&mut *self.conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn set_summary(&mut self, customer_id: Uuid, s: &SummaryUpdate) -> StoreResult<()> {
        let column = karen_core::preferences::summary::checked_column(s.column)?;
        sqlx::query(&format!("UPDATE customers SET {column} = $1, updated_at = $2 WHERE id = $3"))
            .bind(&s.value)
            .bind(s.at)
            .bind(customer_id)
            .execute(&mut *self.conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
