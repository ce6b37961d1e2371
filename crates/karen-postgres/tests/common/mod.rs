//! A fresh PostgreSQL database per test, dropped afterwards whether the test passed or not.
// Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use karen_conformance::Ctx;
use karen_postgres::PgStore;
use sqlx::{Connection, PgConnection};

/// The server tests use: `KAREN_TEST_POSTGRES_URL` without a database name, or the local one.
pub fn server_url() -> String {
    std::env::var("KAREN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A database created for one test.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl TestDb {
    /// Creates an empty database with a unique name.
    pub async fn create() -> TestDb {
        let name = format!("karen_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin =
            PgConnection::connect(&format!("{}/postgres", server_url())).await.expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
        TestDb { url: format!("{}/{name}", server_url()), name }
    }

    /// Drops the database.
    pub async fn drop_db(self) {
        let mut admin =
            PgConnection::connect(&format!("{}/postgres", server_url())).await.expect("connect to PostgreSQL");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut admin)
            .await
            .expect("drop test database");
    }
}

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
