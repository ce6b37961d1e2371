//! Quotes (decisions.md item 23), priced from the catalog snapshot.

use super::Karen;
use crate::error::StoreResult;
use crate::quote::{Quote, QuoteRequest};
use crate::store::Store;

impl<S: Store> Karen<S> {
    /// Prices a service for a quantity, hours or tier, or a package with the sum of its
    /// services and the savings, exactly, with every step applied. Reads the catalog
    /// snapshot, which follows every committed catalog write (one version check).
    pub async fn quote(&self, req: &QuoteRequest) -> StoreResult<Quote> {
        self.catalog.quote(&self.store, req, self.business_today()).await
    }

    /// Prices several requests from one snapshot; each answer is the quote or why it failed.
    pub async fn quotes(&self, reqs: &[QuoteRequest]) -> StoreResult<Vec<StoreResult<Quote>>> {
        self.catalog.quotes(&self.store, reqs, self.business_today()).await
    }

    /// Today's date where the business is (its zone, America/New_York).
    pub(super) fn business_today(&self) -> chrono::NaiveDate {
        self.now().with_timezone(&crate::preferences::plan::DEFAULT_TIMEZONE).date_naive()
    }
}
