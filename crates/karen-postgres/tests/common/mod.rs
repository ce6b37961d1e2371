//! A fresh PostgreSQL database per test, dropped afterwards whether the test passed or not.
// Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use karen_conformance::Ctx;
use karen_postgres::PgStore;

pub use karen_postgres::testing::TestDb;

/// Runs one check against a fresh migrated database and drops it afterwards.
pub async fn run<F>(check: F)
where
    F: FnOnce(Ctx<PgStore>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static,
{
    let db = TestDb::create().await;
    let store = PgStore::connect(&db.url, 8).await.expect("connect to test database");
    store.migrate().await.expect("migrate");
    let pool = store.pool().clone();
    let outcome = tokio::spawn(check(Ctx::new(store))).await;
    pool.close().await;
    db.drop_db().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}
