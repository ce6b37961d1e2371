//! API tokens: minting, lookup by stored hash and revocation. A token is `krn_` and 64 hex
//! digits drawn from the operating system's random source; only `sha256:<hex>` of it is stored,
//! so a stolen database does not hand out working tokens. The server, the CLI and the bench all
//! mint through here.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Karen;
use crate::entity::Entity;
use crate::error::StoreResult;
use crate::model::{ApiToken, Scope};
use crate::query::PageRequest;
use crate::store::Store;
use crate::value::Value;

/// A new random token. Two UUIDv4 values give 244 random bits from the OS generator.
pub fn generate_token() -> String {
    format!("krn_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// The stored form of a token: `sha256:` and the hex digest.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl<S: Store> Karen<S> {
    /// Creates a token with `scopes` and returns it with its stored row; the token itself is
    /// not kept anywhere.
    pub async fn create_token(&self, name: &str, scopes: &[Scope]) -> StoreResult<(String, ApiToken)> {
        let token = generate_token();
        let row = self
            .create(ApiToken {
                name: name.to_string(),
                scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
                token_hash: hash_token(&token),
                ..Default::default()
            })
            .await?;
        Ok((token, row))
    }

    /// The token row with this stored hash ([`hash_token`] of the presented token), if one
    /// exists (revoked or not).
    pub async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiToken>> {
        let filters = [("token_hash", Value::Text(hash.to_string()))];
        Ok(self.list::<ApiToken>(&filters, &PageRequest::of(1)).await?.items.into_iter().next())
    }

    /// Revokes a token now; the row stays, so the revocation is on record. Revoking a revoked
    /// token keeps its first revocation time.
    pub async fn revoke_token(&self, id: Uuid) -> StoreResult<ApiToken> {
        let now = self.now();
        self.store()
            .update::<ApiToken, _>(id, move |mut t: ApiToken| {
                if t.revoked_at.is_none() {
                    t.revoked_at = Some(now);
                }
                super::checked(&mut t)?;
                t.stamp(now, false);
                Ok(t)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (generate_token(), generate_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        let h = hash_token(&a);
        assert_eq!(h.len(), 71);
        assert!(h.starts_with("sha256:"));
        assert_eq!(h, hash_token(&a));
        assert_ne!(h, hash_token(&b));
        // Known vector: SHA-256 of "abc".
        assert_eq!(hash_token("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
