//! The in-process catalog snapshot behind service search (pattern 3) and quotes (item 23).
//!
//! Search is the slowest query pattern, and the catalog it reads (services, categories, pricing
//! tiers, packages and their services) is small and rarely written. [`CatalogCache`] keeps the
//! whole catalog in memory with an index from word to services, and answers searches and
//! quotes from it.
//!
//! Coherence comes from the store's catalog version ([`Store::catalog_version`]): a number
//! that every committed write to services, categories, pricing tiers, packages or package
//! services changes, in the same
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

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::model::{PackageService, Service, ServiceCategory, ServicePackage, ServicePricingTier};
use crate::query::{SearchPosition, ServiceHit, ServiceSearchQuery};
use crate::quote::{self, Quote, QuoteRequest};
use crate::store::{list_every, Store};

/// Loads that raced a catalog write before search falls back to the store.
const LOAD_ATTEMPTS: usize = 3;

/// The catalog at one catalog version: what search and quotes read.
#[derive(Debug)]
struct Snapshot {
    version: i64,
    /// Active services of active categories, in search order (featured first, name, id).
    hits: Vec<ServiceHit>,
    /// Word -> positions in `hits`, ascending.
    postings: HashMap<String, Vec<u32>>,
    /// Every service with whether its category is active.
    services: HashMap<Uuid, (Service, bool)>,
    /// The tiers of each service, by sort_order then id.
    tiers: HashMap<Uuid, Vec<ServicePricingTier>>,
    /// Every package.
    packages: HashMap<Uuid, ServicePackage>,
    /// The items of each package, by sort_order then id.
    items: HashMap<Uuid, Vec<PackageService>>,
}

/// The catalog rows a snapshot is built from.
#[derive(Debug, Default)]
struct Rows {
    categories: Vec<ServiceCategory>,
    services: Vec<Service>,
    tiers: Vec<ServicePricingTier>,
    packages: Vec<ServicePackage>,
    items: Vec<PackageService>,
}

impl Snapshot {
    fn build(version: i64, rows: Rows) -> Self {
        let active: HashMap<Uuid, &ServiceCategory> =
            rows.categories.iter().filter(|c| c.is_active).map(|c| (c.id, c)).collect();
        let mut tiers: HashMap<Uuid, Vec<ServicePricingTier>> = HashMap::new();
        for t in rows.tiers {
            tiers.entry(t.service_id).or_default().push(t);
        }
        for list in tiers.values_mut() {
            list.sort_by_key(|t| (t.sort_order, t.id));
        }
        let mut items: HashMap<Uuid, Vec<PackageService>> = HashMap::new();
        for i in rows.items {
            items.entry(i.package_id).or_default().push(i);
        }
        for list in items.values_mut() {
            list.sort_by_key(|i| (i.sort_order, i.id));
        }
        let mut hits: Vec<ServiceHit> = rows
            .services
            .iter()
            .filter(|s| s.is_active)
            .filter_map(|s| {
                let category = active.get(&s.category_id)?;
                let price = tiers.get(&s.id).and_then(|ts| ts.iter().find(|t| t.is_default)).map(|t| t.price);
                Some(ServiceHit { category_name: category.name.clone(), price, service: s.clone() })
            })
            .collect();
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
        let services = rows
            .services
            .into_iter()
            .map(|s| {
                let offered = active.contains_key(&s.category_id);
                (s.id, (s, offered))
            })
            .collect();
        let packages = rows.packages.into_iter().map(|p| (p.id, p)).collect();
        Snapshot { version, hits, postings, services, tiers, packages, items }
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

    /// Searchable services sharing a word with `terms`, most shared words first, then in
    /// search order; each with the words it shares, at most `limit`.
    fn matching(&self, terms: &[String], limit: usize) -> Vec<(ServiceHit, Vec<String>)> {
        let mut shared: HashMap<u32, Vec<String>> = HashMap::new();
        for t in terms {
            for &i in self.postings.get(t).into_iter().flatten() {
                shared.entry(i).or_default().push(t.clone());
            }
        }
        let mut found: Vec<(u32, Vec<String>)> = shared.into_iter().collect();
        found.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        found.into_iter().take(limit).map(|(i, words)| (self.hits[i as usize].clone(), words)).collect()
    }

    /// A service with its tiers, if it exists.
    fn service(&self, id: Uuid) -> Option<(&Service, &[ServicePricingTier])> {
        self.services.get(&id).map(|(s, _)| (s, self.tiers.get(&id).map_or(&[][..], Vec::as_slice)))
    }

    /// Prices `req` (checked) on `today`, the business's local date.
    fn quote(&self, req: &QuoteRequest, today: NaiveDate) -> StoreResult<Quote> {
        if let Some(id) = req.package_id {
            let package = self
                .packages
                .get(&id)
                .ok_or_else(|| StoreError::Reference { field: "package_id".into(), rule: "names no package".into() })?;
            if !package.is_active {
                return Err(StoreError::invalid("package_id", "names an inactive package"));
            }
            if package.available_from.is_some_and(|d| today < d) || package.available_until.is_some_and(|d| today > d) {
                return Err(StoreError::invalid(
                    "package_id",
                    format!(
                        "the package is not on sale on {today} (available {:?} to {:?})",
                        package.available_from, package.available_until
                    ),
                ));
            }
            let items = self.items.get(&id).map_or(&[][..], Vec::as_slice);
            return Ok(quote::price_package(package, items, |sid| self.service(sid)));
        }
        let id = req.service_id.expect("a checked request names a service or a package");
        let (service, offered) = self
            .services
            .get(&id)
            .ok_or_else(|| StoreError::Reference { field: "service_id".into(), rule: "names no service".into() })?;
        if !service.is_active {
            return Err(StoreError::invalid("service_id", "names an inactive service"));
        }
        if !offered {
            return Err(StoreError::invalid("service_id", "names a service of an inactive category"));
        }
        quote::price_service(service, self.tiers.get(&id).map_or(&[][..], Vec::as_slice), req)
    }
}

/// Whether `s` comes after position `p` in search order (is_featured desc, name bytes, id).
fn is_after(s: &Service, p: &SearchPosition) -> bool {
    (!s.is_featured, s.name.as_bytes(), s.id) > (!p.is_featured, p.name.as_bytes(), p.id)
}

/// A service that matches a message, with its quote (decisions.md item 28).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedService {
    /// The service with its category name and default price.
    pub service: ServiceHit,
    /// The message's words it shares (its keywords' words).
    pub matched_terms: Vec<String>,
    /// Its quote for quantity 1 (or its estimated hours).
    pub quote: Option<Quote>,
    /// Why it could not be quoted, when it could not.
    pub quote_error: Option<String>,
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
        Ok(self.current(store).await?.search(q))
    }

    /// Prices `req` from the snapshot (decisions.md item 23) on `today`, the business's local
    /// date (packages are on sale between their available dates).
    pub async fn quote<S: Store>(&self, store: &S, req: &QuoteRequest, today: NaiveDate) -> StoreResult<Quote> {
        req.check()?;
        self.current(store).await?.quote(req, today)
    }

    /// Prices every request of `reqs` from one snapshot: one version check for all.
    pub async fn quotes<S: Store>(
        &self,
        store: &S,
        reqs: &[QuoteRequest],
        today: NaiveDate,
    ) -> StoreResult<Vec<StoreResult<Quote>>> {
        let snap = self.current(store).await?;
        Ok(reqs.iter().map(|r| r.check().and_then(|()| snap.quote(r, today))).collect())
    }

    /// The services that share most words with `terms` (at most `limit`), each with the words
    /// it shares and its quote for quantity 1 (or why it cannot be quoted), from one snapshot.
    pub async fn match_and_quote<S: Store>(
        &self,
        store: &S,
        terms: &[String],
        limit: usize,
        today: NaiveDate,
    ) -> StoreResult<Vec<MatchedService>> {
        let snap = self.current(store).await?;
        Ok(snap
            .matching(terms, limit)
            .into_iter()
            .map(|(hit, matched_terms)| {
                let (quote, quote_error) = match snap.quote(&QuoteRequest::service(hit.service.id), today) {
                    Ok(q) => (Some(q), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                MatchedService { service: hit, matched_terms, quote, quote_error }
            })
            .collect())
    }

    /// The snapshot at the store's current catalog version, loaded when it has moved.
    async fn current<S: Store>(&self, store: &S) -> StoreResult<Arc<Snapshot>> {
        let version = store.catalog_version().await?;
        let cached = self.current.lock().expect("catalog lock").clone();
        if let Some(snap) = cached.filter(|s| s.version == version) {
            return Ok(snap);
        }
        let mut seen = version;
        let mut last = Rows::default();
        for _ in 0..LOAD_ATTEMPTS {
            let rows = load_rows(store).await?;
            let after = store.catalog_version().await?;
            if after == seen {
                let snap = Arc::new(Snapshot::build(seen, rows));
                self.loads.fetch_add(1, Ordering::Relaxed);
                *self.current.lock().expect("catalog lock") = Some(snap.clone());
                return Ok(snap);
            }
            seen = after;
            last = rows;
        }
        // Writes kept racing the load: answer from the newest load, not kept as the snapshot.
        Ok(Arc::new(Snapshot::build(seen, last)))
    }

    /// How many snapshots have been loaded (each load follows a catalog write, or is the first).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }
}

/// Every catalog row, through the store's listings.
async fn load_rows<S: Store>(store: &S) -> StoreResult<Rows> {
    Ok(Rows {
        categories: list_every(store, Vec::new()).await?,
        services: list_every(store, Vec::new()).await?,
        tiers: list_every(store, Vec::new()).await?,
        packages: list_every(store, Vec::new()).await?,
        items: list_every(store, Vec::new()).await?,
    })
}
