//! Forward-only migrations embedded in the binary, applied in order, each in its own
//! transaction under an advisory lock so two processes never migrate at once.

use karen_core::StoreResult;
use sqlx::{Executor, PgPool, Row};

use crate::errors::map_err;

/// The migrations, (version, name, SQL), in order. Never edit one after it has landed.
pub const MIGRATIONS: &[karen_sql::Migration] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "api_tokens", include_str!("../migrations/0002_api_tokens.sql")),
    (3, "preference_history", include_str!("../migrations/0003_preference_history.sql")),
    (4, "catalog_version", include_str!("../migrations/0004_catalog_version.sql")),
    (5, "drop_search_terms", include_str!("../migrations/0005_drop_search_terms.sql")),
    (6, "service_checks", include_str!("../migrations/0006_service_checks.sql")),
    (7, "package_catalog_version", include_str!("../migrations/0007_package_catalog_version.sql")),
    (8, "consent", include_str!("../migrations/0008_consent.sql")),
    (9, "merge", include_str!("../migrations/0009_merge.sql")),
    (10, "inbound", include_str!("../migrations/0010_inbound.sql")),
    (11, "search", include_str!("../migrations/0011_search.sql")),
    (12, "events", include_str!("../migrations/0012_events.sql")),
];

/// Arbitrary key of the advisory lock held while migrating.
const LOCK_KEY: i64 = 0x006b_6172_656e;

/// Applies the migrations the database lacks and returns how many ran. Fails with a clear
/// error when the database was migrated by a newer karen than this binary, or when one of its
/// applied migrations was edited since (checksums).
pub async fn migrate(pool: &PgPool) -> StoreResult<usize> {
    migrate_to(pool, i64::MAX).await
}

/// Applies the pending migrations up to and including version `up_to` (tests use it to build
/// a database at an older version, fill it, and then upgrade it).
pub async fn migrate_to(pool: &PgPool, up_to: i64) -> StoreResult<usize> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS karen_schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            checksum TEXT)",
    )
    .await
    .map_err(map_err)?;
    // Databases migrated before karen recorded checksums lack the column.
    conn.execute("ALTER TABLE karen_schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT")
        .await
        .map_err(map_err)?;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK_KEY).execute(&mut *conn).await.map_err(map_err)?;
    let result = apply(&mut conn, up_to).await;
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY).execute(&mut *conn).await.map_err(map_err)?;
    result
}

async fn apply(conn: &mut sqlx::PgConnection, up_to: i64) -> StoreResult<usize> {
    let recorded: Vec<(i64, Option<String>)> =
        sqlx::query("SELECT version, checksum FROM karen_schema_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    for (version, checksum) in karen_sql::verify_checksums(MIGRATIONS, &recorded)? {
        sqlx::query("UPDATE karen_schema_migrations SET checksum = $1 WHERE version = $2")
            .bind(checksum)
            .bind(version)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    let applied: Vec<i64> = recorded.iter().map(|(v, _)| *v).collect();
    let pending = karen_sql::pending_migrations(MIGRATIONS, &applied, up_to)?;
    let ran = pending.len();
    for (version, name, sql) in pending {
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(map_err)?;
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(map_err)?;
        sqlx::query("INSERT INTO karen_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)")
            .bind(version)
            .bind(name)
            .bind(karen_sql::checksum(sql))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
    }
    Ok(ran)
}
