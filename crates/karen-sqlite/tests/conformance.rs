//! The conformance suite against real SQLite files, one fresh file per check.

use std::future::Future;
use std::pin::Pin;

use karen_conformance::Ctx;
use karen_sqlite::SqliteStore;

/// Runs one check against a fresh file in a temporary directory, removed afterwards.
async fn run<F>(check: F)
where
    F: FnOnce(Ctx<SqliteStore>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static,
{
    let dir = std::env::temp_dir().join(format!("karen-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open_with(&dir.join("karen.db"), 4).await.expect("open");
    let handle = store.clone();
    let outcome = tokio::spawn(check(Ctx::new(store))).await;
    handle.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

karen_conformance::conformance_tests!(run);
