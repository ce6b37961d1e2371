//! The one preference transaction, written once for every backend: read the key's current row
//! (held), decide, write the row (insert, replace with only the changed fields, or delete),
//! append the history rows, set the customer's summary column. Each backend implements the
//! small [`PreferenceTx`] over its own transaction and calls [`apply`] inside it.

use std::future::Future;

use uuid::Uuid;

use super::{PreferenceChange, PreferenceKey, PreferenceWrite, SummaryUpdate};
use crate::error::StoreResult;
use crate::model::{CustomerPreference, PreferenceHistory};

/// The reads and writes of a preference change inside one open backend transaction. Errors
/// are already the store's (a missing customer is a reference error on `customer_id`).
pub trait PreferenceTx: Send {
    /// The current row of `key`, held against concurrent changes until the transaction ends.
    fn current(&mut self, key: &PreferenceKey) -> impl Future<Output = StoreResult<Option<CustomerPreference>>> + Send;

    /// Inserts `row`, a new row of its key; returns the row as stored.
    fn insert(&mut self, row: &CustomerPreference) -> impl Future<Output = StoreResult<CustomerPreference>> + Send;

    /// Replaces `before` (the current row) by `after` (same id), writing only what changed;
    /// returns the row as stored.
    fn replace(
        &mut self,
        before: &CustomerPreference,
        after: &CustomerPreference,
    ) -> impl Future<Output = StoreResult<CustomerPreference>> + Send;

    /// Deletes the current row.
    fn delete(&mut self, row: &CustomerPreference) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends a history row.
    fn append_history(&mut self, row: &PreferenceHistory) -> impl Future<Output = StoreResult<()>> + Send;

    /// Sets one summary column (and `updated_at`) of the customer.
    fn set_summary(
        &mut self,
        customer_id: Uuid,
        update: &SummaryUpdate,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What a caller decides from the current row of a key: the change, and anything else it wants
/// back from the transaction (the learning outcome of an observation). It may run more than
/// once when a backend retries an aborted transaction.
pub trait Decide<R>:
    Fn(Option<CustomerPreference>) -> StoreResult<(PreferenceChange, R)> + Send + Sync + 'static
{
}

impl<R, F> Decide<R> for F where
    F: Fn(Option<CustomerPreference>) -> StoreResult<(PreferenceChange, R)> + Send + Sync + 'static
{
}

/// Runs one change of `key` inside `tx`: the steps every backend shares. Returns the row after
/// the change (none when deleted or absent) and what `decide` returned beside the change.
pub async fn apply<T, R, F>(tx: &mut T, key: &PreferenceKey, decide: &F) -> StoreResult<(Option<CustomerPreference>, R)>
where
    T: PreferenceTx,
    F: Decide<R>,
{
    let current = tx.current(key).await?;
    let (change, out) = decide(current.clone())?;
    let after = match change.write {
        PreferenceWrite::Keep => current,
        PreferenceWrite::Upsert(row) => Some(match &current {
            Some(cur) => tx.replace(cur, &row).await?,
            None => tx.insert(&row).await?,
        }),
        PreferenceWrite::Delete => {
            if let Some(cur) = &current {
                tx.delete(cur).await?;
            }
            None
        }
    };
    for h in &change.history {
        tx.append_history(h).await?;
    }
    if let Some(s) = &change.summary {
        tx.set_summary(key.customer_id, s).await?;
    }
    Ok((after, out))
}
