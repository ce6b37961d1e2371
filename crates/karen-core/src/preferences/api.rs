//! The preference engine's entry points on [`Karen`]. Every write of a preference row, whatever
//! the caller (create, patch, delete, upsert, observation), goes through [`Karen::change_key`]:
//! one store transaction that reads the key's current row, decides, writes the row, appends
//! history and updates the customer's summary column.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::learn::{self, LearnResult, Observation};
use super::plan::{self, ContactPlan, Urgency};
use super::resolve::{self, EffectivePreference};
use super::{summary, PreferenceChange, PreferenceKey, PreferenceWrite};
use crate::enums::{HistoryReason, PreferenceMedium, PreferenceType};
use crate::error::{StoreError, StoreResult};
use crate::model::{Customer, CustomerPreference, PreferenceHistory};
use crate::store::Store;
use crate::value::Value;
use crate::{Entity, Karen};

/// How many times a change is tried when a concurrent insert of the same key wins the race.
const ATTEMPTS: usize = 3;

/// The history a replacement of `current` by `next` calls for.
fn replacement_history(
    current: &CustomerPreference,
    next: &CustomerPreference,
    now: DateTime<Utc>,
    caused_by: &Option<String>,
) -> Vec<PreferenceHistory> {
    let reason = if !current.is_effective_at(now) && current.is_active {
        Some(HistoryReason::Expired)
    } else if current.preference_value != next.preference_value || current.source != next.source {
        Some(HistoryReason::Superseded)
    } else if current.is_active && !next.is_active {
        Some(HistoryReason::Deactivated)
    } else {
        None
    };
    reason.map(|r| vec![PreferenceHistory::of(current, r, now, caused_by.clone())]).unwrap_or_default()
}

impl<S: Store> Karen<S> {
    /// Runs `decide` on the current row of `key` in one transaction and applies its change,
    /// validating written rows and setting the summary column the key feeds.
    pub(crate) async fn change_key<R, F>(
        &self,
        key: &PreferenceKey,
        decide: F,
    ) -> StoreResult<(Option<CustomerPreference>, R)>
    where
        R: Send + 'static,
        F: Fn(Option<CustomerPreference>) -> StoreResult<(PreferenceChange, R)> + Clone + Send + Sync + 'static,
    {
        let now = self.now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let decide = decide.clone();
            let k = key.clone();
            let result = self
                .store()
                .change_preference(key, move |current| {
                    let (mut change, out) = decide(current)?;
                    if let PreferenceWrite::Upsert(row) = &mut change.write {
                        crate::karen::checked(row.as_mut())?;
                    }
                    for h in &mut change.history {
                        crate::karen::checked(h)?;
                    }
                    change.summary = match &change.write {
                        PreferenceWrite::Keep => None,
                        PreferenceWrite::Upsert(row) => {
                            summary::after_write(k.preference_type, &k.preference_key, k.medium, Some(row), now)
                        }
                        PreferenceWrite::Delete => {
                            summary::after_write(k.preference_type, &k.preference_key, k.medium, None, now)
                        }
                    };
                    Ok((change, out))
                })
                .await;
            match result {
                Err(StoreError::Conflict { .. }) if attempt < ATTEMPTS => continue,
                other => return other,
            }
        }
    }

    /// Inserts a new preference; a row of the same key is a conflict.
    pub(crate) async fn create_preference(&self, p: CustomerPreference) -> StoreResult<CustomerPreference> {
        let key = PreferenceKey::of(&p);
        let (row, ()) = self
            .change_key(&key, move |current| match current {
                Some(_) => Err(crate::entity::unique_violation(CustomerPreference::UNIQUES[0].constraint)),
                None => Ok((
                    PreferenceChange {
                        write: PreferenceWrite::Upsert(Box::new(p.clone())),
                        history: vec![],
                        summary: None,
                    },
                    (),
                )),
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("customer_preference", key.preference_key))
    }

    /// Stores `p` as the value of its key, keeping the id and `created_at` of a current row and
    /// archiving the version it replaces.
    pub(crate) async fn replace_preference(
        &self,
        p: CustomerPreference,
        caused_by: Option<String>,
    ) -> StoreResult<CustomerPreference> {
        let now = self.now();
        let key = PreferenceKey::of(&p);
        let (row, ()) = self
            .change_key(&key, move |current| {
                let mut next = p.clone();
                let history = match &current {
                    Some(cur) => {
                        next.id = cur.id;
                        next.created_at = cur.created_at;
                        next.created_by = cur.created_by.clone();
                        replacement_history(cur, &next, now, &caused_by)
                    }
                    None => vec![],
                };
                Ok((PreferenceChange { write: PreferenceWrite::Upsert(Box::new(next)), history, summary: None }, ()))
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("customer_preference", key.preference_key))
    }

    /// Applies a patch to the preference `id`.
    pub(crate) async fn patch_preference(
        &self,
        id: Uuid,
        patch: &crate::patch::Patch,
    ) -> StoreResult<CustomerPreference> {
        let now = self.now();
        let current: CustomerPreference = self.store().get(id).await?;
        if CustomerPreference::SAME_CUSTOMER.iter().any(|f| patch.contains_key(*f)) {
            let next = crate::patch::apply(&current, patch)?;
            self.check_relations(&next, &next.to_record()).await?;
        }
        let key = PreferenceKey::of(&current);
        let patch = patch.clone();
        let (row, ()) = self
            .change_key(&key, move |cur| {
                let cur = cur.filter(|c| c.id == id).ok_or_else(|| StoreError::not_found("customer_preference", id))?;
                let mut next = crate::patch::apply(&cur, &patch)?;
                next.stamp(now, false);
                let history = replacement_history(&cur, &next, now, &Some("update".into()));
                Ok((PreferenceChange { write: PreferenceWrite::Upsert(Box::new(next)), history, summary: None }, ()))
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("customer_preference", id))
    }

    /// Deletes the preference `id`, archiving it.
    pub(crate) async fn delete_preference(&self, id: Uuid) -> StoreResult<()> {
        let now = self.now();
        let current: CustomerPreference = self.store().get(id).await?;
        self.change_key(&PreferenceKey::of(&current), move |cur| {
            let cur = cur.filter(|c| c.id == id).ok_or_else(|| StoreError::not_found("customer_preference", id))?;
            Ok((
                PreferenceChange {
                    write: PreferenceWrite::Delete,
                    history: vec![PreferenceHistory::of(&cur, HistoryReason::Deleted, now, Some("delete".into()))],
                    summary: None,
                },
                (),
            ))
        })
        .await?;
        Ok(())
    }

    /// Records an observation of a customer's preference and learns from it (see
    /// [`learn`](super::learn) for the rule).
    pub async fn observe(&self, obs: Observation) -> StoreResult<LearnResult> {
        if obs.customer_id.is_nil() {
            return Err(StoreError::invalid("customer_id", "is required"));
        }
        // Validate the observation as the row it would be, before touching anything.
        let mut probe = obs.as_row(self.now());
        crate::karen::checked(&mut probe).map_err(|e| match e {
            // Name the observation's fields, not the row's.
            StoreError::Invalid { field, rule } => {
                let field = match field.as_str() {
                    "confidence_score" => "confidence".to_string(),
                    "preference_value.value" | "preference_value" => "value".to_string(),
                    "preference_value.metadata" => "metadata".to_string(),
                    _ => field,
                };
                StoreError::Invalid { field, rule }
            }
            other => other,
        })?;
        // The message it was learned from is the customer's own.
        self.check_same_customer("conversation_id", obs.customer_id, obs.conversation_id).await?;
        let now = self.now();
        let key = PreferenceKey::of(&probe);
        let (preference, outcome) = self.change_key(&key, move |current| Ok(learn::decide(current, &obs, now))).await?;
        Ok(LearnResult { outcome, preference })
    }

    /// Every preference row of a customer, whatever its state.
    pub(crate) async fn all_preferences(&self, customer_id: Uuid) -> StoreResult<Vec<CustomerPreference>> {
        crate::store::list_every(self.store(), vec![("customer_id", Value::Uuid(customer_id))]).await
    }

    /// The winning value of each (type, key) of a customer asked with `medium` (none: general
    /// only), with the winner's provenance and the losing candidate (decisions.md item 9).
    pub async fn effective_preferences(
        &self,
        customer_id: Uuid,
        medium: Option<PreferenceMedium>,
    ) -> StoreResult<Vec<EffectivePreference>> {
        self.get::<Customer>(customer_id).await?;
        let rows = self.all_preferences(customer_id).await?;
        Ok(resolve::resolve(&rows, medium, self.now()))
    }

    /// Earlier versions and contradicted evidence of a customer's preferences, newest first,
    /// optionally of one type and key.
    pub async fn preference_history(
        &self,
        customer_id: Uuid,
        preference_type: Option<PreferenceType>,
        preference_key: Option<&str>,
    ) -> StoreResult<Vec<PreferenceHistory>> {
        self.get::<Customer>(customer_id).await?;
        self.store().preference_history(customer_id, preference_type, preference_key).await
    }

    /// How to reach a customer at `at` (now when none): the channel allowed now, or the next
    /// allowed moment and channel; never a channel they opted out of.
    pub async fn contact_plan(
        &self,
        customer_id: Uuid,
        at: Option<DateTime<Utc>>,
        urgency: Urgency,
    ) -> StoreResult<ContactPlan> {
        let (prefs, consent) =
            futures_util::try_join!(self.effective_preferences(customer_id, None), self.consent_ledger(customer_id))?;
        let consent = crate::consent::current(customer_id, &consent);
        Ok(plan::plan(&prefs, &consent, at.map_or_else(|| self.now(), crate::validate::to_micros), urgency))
    }
}
