//! Choosing the backend from a database URL, once, at start-up.

use anyhow::{bail, Result};

/// A parsed `--database-url`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://` or `postgresql://`.
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseUrl {
    /// Parses the URL a user gave.
    pub fn parse(url: Option<&str>) -> Result<Self> {
        let Some(url) = url else {
            bail!("--database-url is required (postgres://...)");
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            bail!("unsupported database URL scheme in {:?}: use postgres://", redact(url))
        }
    }

    /// The URL with any password replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Postgres(u) => redact(u),
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

/// Applies pending migrations and returns how many ran.
pub async fn migrate(url: &DatabaseUrl) -> Result<usize> {
    match url {
        DatabaseUrl::Postgres(u) => {
            let store = karen_postgres::PgStore::connect(u, 2).await?;
            Ok(store.migrate().await?)
        }
    }
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
    }
}
