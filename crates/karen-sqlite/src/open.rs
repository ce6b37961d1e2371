//! Opening a karen SQLite file: WAL, a busy timeout, foreign keys on, full sync; one writer
//! connection (writes queue in-process instead of failing with "database is locked") and a
//! pool of readers (WAL lets them read while the writer writes).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use karen_core::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::errors::map_err;

/// `PRAGMA application_id` of a karen file ("KARN"), so a file of another program is refused.
pub const KAREN_APPLICATION_ID: i32 = 0x4b41_524e;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses `sqlite://PATH` (or a bare path) into a file path.
pub fn path_of(url: &str) -> StoreResult<&str> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.is_empty() || path.contains('?') || path == ":memory:" {
        return Err(StoreError::invalid(
            "database_url",
            "must be sqlite://PATH to a file (query options and in-memory databases are not supported)",
        ));
    }
    Ok(path)
}

fn options(path: &Path) -> StoreResult<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str("sqlite://")
        .map_err(map_err)?
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("temp_store", "memory")
        // Keep the planner's statistics current as data grows (SQLite's advice for
        // long-lived connections): gathered when a connection closes.
        .optimize_on_close(true, None)
        .create_if_missing(true))
}

/// Opens the writer pool (one connection) and checks the file is karen's or empty.
pub async fn open_writer(path: &Path) -> StoreResult<SqlitePool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options(path)?)
        .await
        .map_err(|e| describe(path, e))?;
    let app_id: i32 =
        sqlx::query_scalar("PRAGMA application_id").fetch_one(&pool).await.map_err(|e| describe(path, e))?;
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        .fetch_one(&pool)
        .await
        .map_err(|e| describe(path, e))?;
    if app_id != KAREN_APPLICATION_ID && (app_id != 0 || tables > 0) {
        pool.close().await;
        return Err(StoreError::Unavailable(format!(
            "{} is not a karen database (it holds other tables or another program's application id)",
            path.display()
        )));
    }
    Ok(pool)
}

/// Opens the reader pool.
pub async fn open_readers(path: &Path, readers: u32) -> StoreResult<SqlitePool> {
    SqlitePoolOptions::new()
        .max_connections(readers.max(1))
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options(path)?.read_only(true))
        .await
        .map_err(|e| describe(path, e))
}

fn describe(path: &Path, err: sqlx::Error) -> StoreError {
    match map_err(err) {
        StoreError::Unavailable(msg) => StoreError::Unavailable(format!("{}: {msg}", path.display())),
        other => other,
    }
}
