//! Choosing the backend from a database URL, once, at start-up.

use anyhow::{bail, Result};

/// The database used when no URL is given: a file in the current directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://karen.db";

/// A parsed `--database-url`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://` or `postgresql://`.
    Postgres(String),
    /// `sqlite://PATH`: an embedded file.
    Sqlite(String),
    /// `firestore://PROJECT`: Google Firestore (the emulator when FIRESTORE_EMULATOR_HOST is set).
    Firestore(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseUrl {
    /// Parses the URL a user gave.
    pub fn parse(url: Option<&str>) -> Result<Self> {
        let url = url.unwrap_or(DEFAULT_DATABASE_URL);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else if url.starts_with("sqlite://") {
            Ok(DatabaseUrl::Sqlite(url.to_string()))
        } else if let Some(project) = url.strip_prefix("firestore://") {
            Ok(DatabaseUrl::Firestore(project.trim_end_matches('/').to_string()))
        } else {
            bail!(
                "unsupported database URL {:?}: use sqlite://PATH, postgres://USER@HOST:PORT/DB or firestore://PROJECT",
                redact(url)
            )
        }
    }

    /// The URL with any password replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Postgres(u) => redact(u),
            DatabaseUrl::Sqlite(u) => u.clone(),
            DatabaseUrl::Firestore(p) => format!("firestore://{p}"),
        }
    }
}

/// Replaces the password of `scheme://user:password@host` with `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// Where attachment bytes are kept and how they are scanned (global flags).
#[derive(Debug, Clone, clap::Args)]
pub struct FilesArgs {
    /// Where attachment bytes are kept: a directory (a path or file:///PATH; default: karen-blobs
    /// beside a SQLite database, else ./karen-blobs), s3://BUCKET/PREFIX (AWS_* variables: keys,
    /// region, AWS_ENDPOINT_URL), gs://BUCKET/PREFIX or az://CONTAINER/PREFIX.
    #[arg(long, global = true, env = "KAREN_BLOB_URL")]
    pub blob_url: Option<String>,
    /// ClamAV's clamd (a socket path or HOST:PORT): new attachments are `pending` until scanned
    /// (`serve` scans in the background, `karen scan` on demand); without it they are `skipped`.
    #[arg(long, global = true, env = "KAREN_CLAMD")]
    pub clamd: Option<String>,
    /// Largest attachment accepted, in bytes.
    #[arg(long, global = true, default_value_t = karen_core::karen::DEFAULT_MAX_ATTACHMENT_BYTES, env = "KAREN_MAX_ATTACHMENT_BYTES")]
    pub max_attachment_bytes: u64,
}

impl FilesArgs {
    /// The blob store's URL: the flag's, or the default for `db`.
    pub fn blob_url(&self, db: &DatabaseUrl) -> String {
        if let Some(u) = self.blob_url.as_deref().filter(|u| !u.is_empty()) {
            return u.to_string();
        }
        match db {
            DatabaseUrl::Sqlite(u) => {
                let path = u.trim_start_matches("sqlite://").split('?').next().unwrap_or("");
                let dir = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty());
                dir.unwrap_or(std::path::Path::new(".")).join("karen-blobs").display().to_string()
            }
            _ => "karen-blobs".into(),
        }
    }

    /// The attachment store and scanner these flags name.
    pub fn files(&self, db: &DatabaseUrl) -> Result<karen_core::karen::Files> {
        let blobs = karen_blobs::open(&self.blob_url(db))?;
        let scanner = match self.clamd.as_deref().filter(|c| !c.is_empty()) {
            Some(address) => {
                let clamd = karen_blobs::Clamd::parse(address).map_err(anyhow::Error::msg)?;
                Some(std::sync::Arc::new(clamd) as std::sync::Arc<dyn karen_core::blob::Scanner>)
            }
            None => None,
        };
        Ok(karen_core::karen::Files::new(blobs, scanner, self.max_attachment_bytes))
    }
}

/// What a command works on: the database and the attachment store.
#[derive(Debug, Clone)]
pub struct Target {
    /// The database.
    pub db: DatabaseUrl,
    /// The attachment store and scanner.
    pub files: FilesArgs,
}

impl Target {
    /// The database URL without its password.
    pub fn redacted(&self) -> String {
        self.db.redacted()
    }
}

/// Opens the store of `url` (migrated), wraps it in `Karen` as `$k`, and evaluates `$body`
/// with it: the one place where the backend is chosen, so every command is generic over it.
macro_rules! with_karen {
    ($url:expr, |$k:ident| $body:expr) => {{
        let files = $url.files.files(&$url.db)?;
        match &$url.db {
            $crate::backend::DatabaseUrl::Postgres(u) => {
                let store = karen_postgres::PgStore::connect(u, 16).await?;
                store.migrate().await?;
                let $k = karen_core::Karen::new(store).with_files(files);
                $body
            }
            $crate::backend::DatabaseUrl::Sqlite(u) => {
                let store = karen_sqlite::SqliteStore::open(u).await?;
                let $k = karen_core::Karen::new(store).with_files(files);
                $body
            }
            $crate::backend::DatabaseUrl::Firestore(project) => {
                let store = karen_firestore::FirestoreStore::connect(project).await?;
                store.migrate().await?;
                let $k = karen_core::Karen::new(store).with_files(files);
                $body
            }
        }
    }};
}
pub(crate) use with_karen;

/// Applies pending migrations and returns how many ran.
pub async fn migrate(url: &DatabaseUrl) -> Result<usize> {
    match url {
        DatabaseUrl::Postgres(u) => {
            let store = karen_postgres::PgStore::connect(u, 2).await?;
            Ok(store.migrate().await?)
        }
        DatabaseUrl::Sqlite(u) => {
            // Opening a SQLite file applies pending migrations; count what it did.
            let path = u.trim_start_matches("sqlite://");
            let before = applied_sqlite_migrations(path).await;
            let store = karen_sqlite::SqliteStore::open(u).await?;
            store.close().await;
            Ok(karen_sqlite::MIGRATIONS.len().saturating_sub(before))
        }
        // Firestore has no schema: collections appear with their first document, and documents
        // an older karen wrote are moved by document migrations. The composite indexes its
        // queries need are in firestore.indexes.json (deploy them with gcloud).
        DatabaseUrl::Firestore(project) => {
            Ok(karen_firestore::FirestoreStore::connect(project).await?.migrate().await?)
        }
    }
}

/// How many karen migrations a SQLite file already has (0 for a new or foreign file).
async fn applied_sqlite_migrations(path: &str) -> usize {
    if !std::path::Path::new(path).exists() {
        return 0;
    }
    karen_sqlite::SqliteStore::applied_migrations(path).await.unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let u = DatabaseUrl::parse(Some("postgres://karen:s3cret@db:5432/karen")).unwrap();
        assert_eq!(u.redacted(), "postgres://karen:***@db:5432/karen");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert!(DatabaseUrl::parse(Some("mysql://x")).is_err());
        assert_eq!(DatabaseUrl::parse(None).unwrap(), DatabaseUrl::Sqlite(DEFAULT_DATABASE_URL.into()));
        assert_eq!(
            DatabaseUrl::parse(Some("firestore://karen-prod")).unwrap(),
            DatabaseUrl::Firestore("karen-prod".into())
        );
    }
}
