//! Forward-only migrations embedded in the binary, applied on open in one immediate
//! transaction each; numbered like the PostgreSQL backend's.

use karen_core::StoreResult;
use sqlx::SqlitePool;

use crate::errors::map_err;
use crate::open::KAREN_APPLICATION_ID;

/// The migrations, (version, name, SQL), in order. Never edit one after it has landed.
pub const MIGRATIONS: &[karen_sql::Migration] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "api_tokens", include_str!("../migrations/0002_api_tokens.sql")),
    (3, "preference_history", include_str!("../migrations/0003_preference_history.sql")),
    (4, "catalog_version", include_str!("../migrations/0004_catalog_version.sql")),
];

/// Applies the migrations the file lacks and returns how many ran; refuses a file migrated by
/// a newer karen.
pub async fn migrate(writer: &SqlitePool) -> StoreResult<usize> {
    migrate_to(writer, i64::MAX).await
}

/// Applies the pending migrations up to and including version `up_to` (tests use it to build
/// a file at an older version, fill it, and then upgrade it).
pub async fn migrate_to(writer: &SqlitePool, up_to: i64) -> StoreResult<usize> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS karen_schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')))",
    )
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM karen_schema_migrations ORDER BY version")
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
    let pending = karen_sql::pending_migrations(MIGRATIONS, &applied, up_to)?;
    let ran = pending.len();
    for (version, name, sql) in pending {
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(map_err)?;
        sqlx::query("INSERT INTO karen_schema_migrations (version, name) VALUES (?1, ?2)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    sqlx::raw_sql(&format!("PRAGMA application_id = {KAREN_APPLICATION_ID}"))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok(ran)
}
