//! Scratch databases for tests: each test creates its own database on the server of
//! `KAREN_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`) and drops it after.

use sqlx::{Connection, PgConnection};

/// The server tests use, without a database name.
pub fn server_url() -> String {
    std::env::var("KAREN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A database created for one test.
#[derive(Debug)]
pub struct TestDb {
    /// Its name, `karen_test_<uuid>`.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl TestDb {
    /// Creates an empty database with a unique name. Panics when the server cannot be reached:
    /// a test that needs PostgreSQL fails rather than skips.
    pub async fn create() -> TestDb {
        let name = format!("karen_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&format!("{}/postgres", server_url()))
            .await
            .expect("connect to PostgreSQL (is it running? see README)");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
        TestDb { url: format!("{}/{name}", server_url()), name }
    }

    /// Drops the database, closing its other connections.
    pub async fn drop_db(self) {
        let mut admin =
            PgConnection::connect(&format!("{}/postgres", server_url())).await.expect("connect to PostgreSQL");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut admin)
            .await
            .expect("drop test database");
    }
}
