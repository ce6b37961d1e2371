//! [`MergeTx`] over SQLite's writer transaction: the steps of a merge are core's
//! ([`karen_core::merge::apply`]); these are its reads and writes, all in one `BEGIN IMMEDIATE`
//! transaction (which holds the file, so both customers are held too).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use karen_core::merge::{MergeRecord, MergeTx, MovedCounts, PreferenceMerge, PreferenceStep};
use karen_core::model::{ConsentRecord, Customer, CustomerPreference, PreferenceHistory};
use karen_core::{Entity, StoreError, StoreResult};
use karen_sql::{MergeSql, Placeholder};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use crate::errors::map_err;
use crate::rows::{self, bind_entity, entity, sql, ts};
use crate::writes::update_changed;

fn statements() -> &'static MergeSql {
    static SQL: OnceLock<MergeSql> = OnceLock::new();
    SQL.get_or_init(|| karen_sql::merge_sql(Placeholder::Question, false))
}

/// A merge inside an open writer transaction.
pub(crate) struct SqliteMergeTx<'c> {
    /// The transaction's connection.
    pub conn: &'c mut SqliteConnection,
}

impl SqliteMergeTx<'_> {
    async fn rows_of<E: Entity>(&mut self, customer: Uuid) -> StoreResult<Vec<E>> {
        sqlx::query(&karen_sql::rows_of_customer_sql::<E>(Placeholder::Question))
            .bind(rows::uuid(customer))
            .fetch_all(&mut *self.conn)
            .await
            .map_err(map_err)?
            .iter()
            .map(entity)
            .collect()
    }

    async fn run(&mut self, text: &str, one: Uuid, two: Uuid) -> StoreResult<()> {
        sqlx::query(text)
            .bind(rows::uuid(one))
            .bind(rows::uuid(two))
            .execute(&mut *self.conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete<E: Entity>(&mut self, id: Uuid) -> StoreResult<()> {
        sqlx::query(&sql::<E>().delete).bind(rows::uuid(id)).execute(&mut *self.conn).await.map_err(map_err)?;
        Ok(())
    }

    async fn insert<E: Entity>(&mut self, row: &E) -> StoreResult<()> {
        bind_entity(sqlx::query(&sql::<E>().insert), row).execute(&mut *self.conn).await.map_err(map_err)?;
        Ok(())
    }
}

fn uuid_col(row: &sqlx::sqlite::SqliteRow, idx: usize) -> StoreResult<Uuid> {
    let text: String = row.try_get(idx).map_err(map_err)?;
    Uuid::try_parse(&text).map_err(|_| StoreError::Corrupt {
        entity: "customer_merge",
        field: "customer_id".into(),
        rule: "stored value is not a UUID".into(),
    })
}

impl MergeTx for SqliteMergeTx<'_> {
    async fn customers(&mut self, a: Uuid, b: Uuid) -> StoreResult<(Option<Customer>, Option<Customer>)> {
        let found: Vec<Customer> = sqlx::query(&statements().lock)
            .bind(rows::uuid(a))
            .bind(rows::uuid(b))
            .fetch_all(&mut *self.conn)
            .await
            .map_err(map_err)?
            .iter()
            .map(entity)
            .collect::<StoreResult<_>>()?;
        let pick = |id: Uuid| found.iter().find(|c| c.id == id).cloned();
        Ok((pick(a), pick(b)))
    }

    async fn merge_record(&mut self, id: Uuid) -> StoreResult<Option<MergeRecord>> {
        let row = sqlx::query(&statements().record)
            .bind(rows::uuid(id))
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            let at: String = r.try_get(2).map_err(map_err)?;
            let merged_at = DateTime::parse_from_rfc3339(&at)
                .map_err(|_| StoreError::Corrupt {
                    entity: "customer_merge",
                    field: "merged_at".into(),
                    rule: "stored value is not a timestamp".into(),
                })?
                .with_timezone(&Utc);
            Ok(MergeRecord { duplicate_id: uuid_col(&r, 0)?, customer_id: uuid_col(&r, 1)?, merged_at, done: true })
        })
        .transpose()
    }

    async fn begin(&mut self, a: Uuid, b: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(&statements().begin)
            .bind(rows::uuid(b))
            .bind(rows::uuid(a))
            .bind(ts(at))
            .execute(&mut *self.conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn preferences(&mut self, customer: Uuid) -> StoreResult<Vec<CustomerPreference>> {
        self.rows_of(customer).await
    }

    async fn consents(&mut self, customer: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        self.rows_of(customer).await
    }

    async fn counts(&mut self, b: Uuid) -> StoreResult<MovedCounts> {
        let row =
            sqlx::query(&statements().counts).bind(rows::uuid(b)).fetch_one(&mut *self.conn).await.map_err(map_err)?;
        let n = |i: usize| row.try_get::<i64, _>(i).map(|v| v as u64).map_err(map_err);
        Ok(MovedCounts { conversations: n(0)?, attachments: n(1)?, history: n(2)? })
    }

    async fn move_consents(&mut self, b: Uuid, a: Uuid, added: &[ConsentRecord]) -> StoreResult<()> {
        self.run(&statements().moves[0], b, a).await?;
        for row in added {
            self.insert(row).await?;
        }
        Ok(())
    }

    async fn merge_preference(
        &mut self,
        merge: &PreferenceMerge,
        a: Uuid,
        a_row: Option<&CustomerPreference>,
        b_row: &CustomerPreference,
    ) -> StoreResult<()> {
        for step in karen_core::merge::preference_steps(merge, a_row, b_row) {
            match step {
                PreferenceStep::Delete(row) => self.delete::<CustomerPreference>(row.id).await?,
                PreferenceStep::Move(row) => self.run(&statements().move_preference, row.id, a).await?,
                PreferenceStep::Archive(h) => self.insert::<PreferenceHistory>(h).await?,
            }
        }
        Ok(())
    }

    async fn move_history(&mut self, b: Uuid, a: Uuid) -> StoreResult<()> {
        self.run(&statements().moves[1], b, a).await
    }

    async fn move_conversations(&mut self, b: Uuid, a: Uuid) -> StoreResult<()> {
        self.run(&statements().moves[2], b, a).await
    }

    async fn finish(&mut self, b: &Customer, a: &Customer, merged: &Customer) -> StoreResult<()> {
        self.run(&statements().rechain, b.id, a.id).await?;
        self.delete::<Customer>(b.id).await?;
        update_changed(self.conn, a, merged).await
    }
}
