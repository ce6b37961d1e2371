//! The in-process catalog snapshot behind service search (pattern 3).
//!
//! Search is the slowest query pattern, and the catalog it reads (services, categories, default
//! tiers) is small and rarely written. [`CatalogCache`] keeps every searchable service in memory
//! with an index from word to services, and answers searches from it.
//!
//! Coherence comes from the store's catalog version ([`Store::catalog_version`]): a number
//! that every committed write to services, categories or pricing tiers changes, in the same
//! transaction as the write (a trigger-maintained row on the SQL backends, a version document
//! on Firestore), whoever wrote it. Each search reads the version first, one keyed read, and
//! serves the snapshot only if it was built at that version. A write committed before the search
//! began is therefore always seen, by this process and by every other; a stale answer after a
//! committed catalog write would be a bug, and the conformance suite tests for it.
//!
//! A snapshot is consistent: the version is read before and after loading it, and a load that
//! raced a write is retried. When writes never let it settle, the search is answered from the
//! last load without keeping it: that load began after every write committed before the search
//! did, so none of them is missed. The snapshot answers every search; the backends keep no
//! search index of their own (docs/decisions.md K28).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::error::StoreResult;
use crate::model::{Service, ServiceCategory, ServicePricingTier};
use crate::query::{ListQuery, SearchPosition, ServiceHit, ServiceSearchQuery};
use crate::store::Store;
use crate::value::Value;

/// Loads that raced a catalog write before search falls back to the store.
const LOAD_ATTEMPTS: usize = 3;

/// Rows per listing page while loading a snapshot.
const LOAD_PAGE: u32 = 500;

/// Every searchable service at one catalog version.
#[derive(Debug)]
struct Snapshot {
    version: i64,
    /// Active services of active categories, in search order (featured first, name, id).
    hits: Vec<ServiceHit>,
    /// Word -> positions in `hits`, ascending.
    postings: HashMap<String, Vec<u32>>,
}

impl Snapshot {
    fn build(version: i64, mut hits: Vec<ServiceHit>) -> Self {
        hits.sort_by(|a, b| {
            (!a.service.is_featured, a.service.name.as_bytes(), a.service.id).cmp(&(
                !b.service.is_featured,
                b.service.name.as_bytes(),
                b.service.id,
            ))
        });
        let mut postings: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, hit) in hits.iter().enumerate() {
            for t in hit.service.search_terms() {
                postings.entry(t).or_default().push(i as u32);
            }
        }
        Snapshot { version, hits, postings }
    }

    fn search(&self, q: &ServiceSearchQuery) -> Vec<ServiceHit> {
        let mut found: Vec<u32> = q.terms.iter().filter_map(|t| self.postings.get(t)).flatten().copied().collect();
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .map(|i| &self.hits[i as usize])
            .filter(|h| match &q.after {
                None => true,
                Some(p) => is_after(&h.service, p),
            })
            .take(q.limit as usize)
            .cloned()
            .collect()
    }
}

/// Whether `s` comes after position `p` in search order (is_featured desc, name bytes, id).
fn is_after(s: &Service, p: &SearchPosition) -> bool {
    (!s.is_featured, s.name.as_bytes(), s.id) > (!p.is_featured, p.name.as_bytes(), p.id)
}

/// The snapshot of one [`crate::Karen`], shared by its callers.
#[derive(Debug, Default)]
pub struct CatalogCache {
    current: Mutex<Option<Arc<Snapshot>>>,
    loads: AtomicU64,
}

impl CatalogCache {
    /// Searches through the snapshot, loading it first when the store's catalog version has
    /// moved since it was built.
    pub async fn search<S: Store>(&self, store: &S, q: &ServiceSearchQuery) -> StoreResult<Vec<ServiceHit>> {
        let version = store.catalog_version().await?;
        let cached = self.current.lock().expect("catalog lock").clone();
        if let Some(snap) = cached.filter(|s| s.version == version) {
            return Ok(snap.search(q));
        }
        let mut seen = version;
        let mut last = Vec::new();
        for _ in 0..LOAD_ATTEMPTS {
            let hits = load_hits(store).await?;
            let after = store.catalog_version().await?;
            if after == seen {
                let snap = Arc::new(Snapshot::build(seen, hits));
                self.loads.fetch_add(1, Ordering::Relaxed);
                *self.current.lock().expect("catalog lock") = Some(snap.clone());
                return Ok(snap.search(q));
            }
            seen = after;
            last = hits;
        }
        // Writes kept racing the load: answer from the newest load, not kept as the snapshot.
        Ok(Snapshot::build(seen, last).search(q))
    }

    /// How many snapshots have been loaded (each load follows a catalog write, or is the first).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }
}

/// Every active service of an active category with its category name and default price,
/// through the store's listings.
async fn load_hits<S: Store>(store: &S) -> StoreResult<Vec<ServiceHit>> {
    let categories: HashMap<Uuid, ServiceCategory> =
        list_all::<S, ServiceCategory>(store, vec![("is_active", Value::Bool(true))])
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    let prices: HashMap<Uuid, rust_decimal::Decimal> =
        list_all::<S, ServicePricingTier>(store, vec![("is_default", Value::Bool(true))])
            .await?
            .into_iter()
            .map(|t| (t.service_id, t.price))
            .collect();
    let services = list_all::<S, Service>(store, vec![("is_active", Value::Bool(true))]).await?;
    Ok(services
        .into_iter()
        .filter_map(|s| {
            let category = categories.get(&s.category_id)?;
            Some(ServiceHit { category_name: category.name.clone(), price: prices.get(&s.id).copied(), service: s })
        })
        .collect())
}

/// Every row of `E` matching `filters`, page by page in id order.
async fn list_all<S: Store, E: crate::Entity>(store: &S, filters: Vec<(&'static str, Value)>) -> StoreResult<Vec<E>> {
    let mut out: Vec<E> = Vec::new();
    loop {
        let after = out.last().map(|e| e.id());
        let page = store.list::<E>(&ListQuery { filters: filters.clone(), after, limit: LOAD_PAGE }).await?;
        let done = page.len() < LOAD_PAGE as usize;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}
