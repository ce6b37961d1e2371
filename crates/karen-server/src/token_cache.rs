//! [`TokenCache`]: tokens verified recently, so a request does not cost a token query.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use karen_core::model::ApiToken;

/// Most tokens kept; the cache is emptied when it would grow beyond (a flood of bad tokens is
/// never cached: only valid ones are).
const TOKEN_CACHE_MAX: usize = 10_000;

/// Tokens verified within the last `ttl`, by stored hash, so a request does not cost a token
/// query: measured, the query was as expensive as a keyed lookup itself (docs/performance.md).
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (ApiToken, Instant)>>,
}

impl TokenCache {
    /// An empty cache trusting a verification for `ttl` (zero: never cached).
    pub fn new(ttl: Duration) -> Self {
        TokenCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn get(&self, hash: &str) -> Option<ApiToken> {
        let entries = self.entries.lock().expect("token cache");
        entries.get(hash).filter(|(_, at)| at.elapsed() < self.ttl).map(|(t, _)| t.clone())
    }

    pub(crate) fn put(&self, hash: String, token: ApiToken) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("token cache");
        if entries.len() >= TOKEN_CACHE_MAX {
            entries.clear();
        }
        entries.insert(hash, (token, Instant::now()));
    }

    /// Forgets every verification (after a revocation through this server).
    pub fn clear(&self) {
        self.entries.lock().expect("token cache").clear();
    }
}
