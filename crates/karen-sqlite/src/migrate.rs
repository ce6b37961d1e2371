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
    (5, "drop_search_terms", include_str!("../migrations/0005_drop_search_terms.sql")),
    (6, "service_checks", include_str!("../migrations/0006_service_checks.sql")),
    (7, "json_checks", include_str!("../migrations/0007_json_checks.sql")),
    (8, "package_catalog_version", include_str!("../migrations/0008_package_catalog_version.sql")),
    (9, "consent", include_str!("../migrations/0009_consent.sql")),
    (10, "merge", include_str!("../migrations/0010_merge.sql")),
    (11, "inbound", include_str!("../migrations/0011_inbound.sql")),
    (12, "search", include_str!("../migrations/0012_search.sql")),
    (13, "events", include_str!("../migrations/0013_events.sql")),
];

/// Applies the migrations the file lacks and returns how many ran; refuses a file migrated by
/// a newer karen, or one whose applied migrations were edited since (checksums).
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
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
            checksum TEXT)",
    )
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    // Files migrated before karen recorded checksums lack the column.
    let has_checksum: bool = sqlx::query_scalar(
        "SELECT count(*) > 0 FROM pragma_table_info('karen_schema_migrations') WHERE name = 'checksum'",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(map_err)?;
    if !has_checksum {
        sqlx::query("ALTER TABLE karen_schema_migrations ADD COLUMN checksum TEXT")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    let recorded: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT version, checksum FROM karen_schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
    for (version, checksum) in karen_sql::verify_checksums(MIGRATIONS, &recorded)? {
        sqlx::query("UPDATE karen_schema_migrations SET checksum = ?1 WHERE version = ?2")
            .bind(checksum)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    let applied: Vec<i64> = recorded.iter().map(|(v, _)| *v).collect();
    let pending = karen_sql::pending_migrations(MIGRATIONS, &applied, up_to)?;
    let ran = pending.len();
    for (version, name, sql) in pending {
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(map_err)?;
        // A migration may edit table definitions in place (7 does): a new schema version makes
        // every open connection read the schema again.
        let schema_version: i64 =
            sqlx::query_scalar("PRAGMA schema_version").fetch_one(&mut *tx).await.map_err(map_err)?;
        sqlx::raw_sql(&format!("PRAGMA schema_version = {}", schema_version + 1))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("INSERT INTO karen_schema_migrations (version, name, checksum) VALUES (?1, ?2, ?3)")
            .bind(version)
            .bind(name)
            .bind(karen_sql::checksum(sql))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    sqlx::raw_sql(&format!("PRAGMA application_id = {KAREN_APPLICATION_ID}"))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    crate::search::backfill(writer).await?;
    Ok(ran)
}
