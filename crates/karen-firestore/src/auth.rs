//! How karen's requests to Firestore are authorized: the emulator's owner token, a fixed
//! access token, or Google's Application Default Credentials through the `gcp_auth` crate
//! (docs/decisions.md K56).

use std::path::PathBuf;
use std::sync::Arc;

use gcp_auth::{CustomServiceAccount, TokenProvider};
use karen_core::{StoreError, StoreResult};

/// The OAuth scope of Firestore's API (Cloud Datastore's, which covers Firestore).
pub const SCOPE: &str = "https://www.googleapis.com/auth/datastore";

/// What authorizes a request.
#[derive(Clone)]
pub enum Credentials {
    /// The emulator, which takes any token; `owner` bypasses its security rules.
    Emulator,
    /// A fixed access token (`GOOGLE_OAUTH_ACCESS_TOKEN`). Google's expire within an hour and
    /// karen cannot renew them.
    Token(String),
    /// Tokens from Google's Application Default Credentials, renewed before they expire and
    /// when Firestore refuses one.
    Google(GoogleAuth),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token itself.
        f.write_str(match self {
            Credentials::Emulator => "Credentials::Emulator",
            Credentials::Token(_) => "Credentials::Token",
            Credentials::Google(_) => "Credentials::Google",
        })
    }
}

impl Credentials {
    /// The credentials the environment names: `GOOGLE_OAUTH_ACCESS_TOKEN` when set, else
    /// Application Default Credentials ([`GoogleAuth::from_environment`]).
    pub async fn from_environment() -> StoreResult<Credentials> {
        match std::env::var("GOOGLE_OAUTH_ACCESS_TOKEN").ok().filter(|t| !t.is_empty()) {
            Some(token) => Ok(Credentials::Token(token)),
            None => Ok(Credentials::Google(GoogleAuth::from_environment().await?)),
        }
    }

    /// The bearer token for the next request, and the generation of the source that gave it
    /// (what [`Credentials::refused`] is told).
    pub(crate) async fn bearer(&self) -> StoreResult<(String, u64)> {
        match self {
            Credentials::Emulator => Ok(("owner".to_string(), 0)),
            Credentials::Token(t) => Ok((t.clone(), 0)),
            Credentials::Google(g) => g.token().await,
        }
    }

    /// Firestore refused the token of `generation`: whether a new one is worth a retry (only
    /// Application Default Credentials can give one).
    pub(crate) async fn refused(&self, generation: u64) -> StoreResult<bool> {
        match self {
            Credentials::Google(g) => g.renew(generation).await.map(|()| true),
            _ => Ok(false),
        }
    }
}

/// Where Application Default Credentials come from.
#[derive(Debug, Clone)]
enum Source {
    /// Google's search order ([`gcp_auth::provider`]): the service-account key file named by
    /// `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's user credentials
    /// (`~/.config/gcloud/application_default_credentials.json`), the metadata server (Cloud
    /// Run, GKE, GCE), then `gcloud auth print-access-token`.
    Environment,
    /// One service-account key file.
    KeyFile(PathBuf),
}

/// Access tokens from Application Default Credentials. The provider caches each token and
/// fetches a new one 20 seconds before it expires; when Firestore refuses a token anyway
/// (revoked, or a clock that disagrees), [`GoogleAuth::renew`] replaces the provider, and with
/// it its cache, once per refused generation.
#[derive(Clone)]
pub struct GoogleAuth {
    source: Source,
    current: Arc<tokio::sync::RwLock<(u64, Arc<dyn TokenProvider>)>>,
}

impl GoogleAuth {
    /// Application Default Credentials, found in Google's order (see the crate docs of
    /// `gcp_auth`): the first source present is used.
    pub async fn from_environment() -> StoreResult<GoogleAuth> {
        GoogleAuth::start(Source::Environment).await
    }

    /// The service-account key file at `path` (the JSON file Google's console gives).
    pub async fn from_key_file(path: impl Into<PathBuf>) -> StoreResult<GoogleAuth> {
        GoogleAuth::start(Source::KeyFile(path.into())).await
    }

    async fn start(source: Source) -> StoreResult<GoogleAuth> {
        let provider = provider(&source).await?;
        Ok(GoogleAuth { source, current: Arc::new(tokio::sync::RwLock::new((0, provider))) })
    }

    async fn token(&self) -> StoreResult<(String, u64)> {
        let (generation, provider) = self.current.read().await.clone();
        let token = provider.token(&[SCOPE]).await.map_err(|e| failed("cannot get a Google access token", &e))?;
        Ok((token.as_str().to_string(), generation))
    }

    /// Starts a new provider unless one newer than `generation` already took its place.
    async fn renew(&self, generation: u64) -> StoreResult<()> {
        let mut current = self.current.write().await;
        if current.0 == generation {
            tracing::info!(generation, "Firestore refused the access token; renewing the credentials");
            *current = (generation + 1, provider(&self.source).await?);
        }
        Ok(())
    }
}

async fn provider(source: &Source) -> StoreResult<Arc<dyn TokenProvider>> {
    match source {
        Source::Environment => gcp_auth::provider().await.map_err(|e| {
            failed(
                "no Google credentials found (set FIRESTORE_EMULATOR_HOST for the emulator, \
                 GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or \
                 GOOGLE_OAUTH_ACCESS_TOKEN, or run where the metadata server or gcloud answers)",
                &e,
            )
        }),
        Source::KeyFile(path) => CustomServiceAccount::from_file(path)
            .map(|p| Arc::new(p) as Arc<dyn TokenProvider>)
            .map_err(|e| failed(&format!("cannot read the service-account key {}", path.display()), &e)),
    }
}

/// The store is unavailable for want of credentials, with the error's chain of causes.
fn failed(what: &str, e: &gcp_auth::Error) -> StoreError {
    let mut message = format!("{what}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    StoreError::Unavailable(message)
}
