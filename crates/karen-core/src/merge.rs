//! Merging customer B (the duplicate) into customer A (decisions.md item 25), written once for
//! every backend: the rules are pure functions here ([`merge_customer`], [`merge_preferences`],
//! [`consent_after`]), and [`apply`] runs the steps over a backend's [`MergeTx`]. The SQL
//! backends run it inside one transaction; Firestore runs each step as its own atomic write, in
//! an order that a rerun completes (docs/decisions.md K48).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::consent;
use crate::enums::{ConsentCause, ConsentChannel, ConsentStatus, HistoryReason, PreferenceMedium, PreferenceType};
use crate::error::{StoreError, StoreResult};
use crate::model::{ConsentRecord, Customer, CustomerPreference, PreferenceHistory};
use crate::preferences::summary;

/// The body of `POST /v1/customers/{id}/merge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The customer merged into the path's customer and then removed.
    pub duplicate_id: Uuid,
    /// Report what the merge would do without writing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// Where a merged-away customer went (the `customer_merges` record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The customer that was merged away.
    pub duplicate_id: Uuid,
    /// The customer it went into (followed along later merges).
    pub customer_id: Uuid,
    /// When the merge began.
    pub merged_at: DateTime<Utc>,
    /// Whether the merge completed (Firestore keeps an unfinished one until a rerun ends it;
    /// on the SQL backends a record exists only for a committed merge).
    pub done: bool,
}

/// Which row of a preference key stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreferenceOutcome {
    /// Only the duplicate had the key: its row moves.
    Moved,
    /// Both had it and the customer's row won.
    KeptCustomer,
    /// Both had it and the duplicate's row won: it moves and replaces the customer's.
    KeptDuplicate,
}

/// What the merge does with one of the duplicate's preference rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferenceMerge {
    /// Type of the key.
    pub preference_type: PreferenceType,
    /// Key.
    pub preference_key: String,
    /// Medium of the key.
    pub medium: PreferenceMedium,
    /// Which row stays.
    pub outcome: PreferenceOutcome,
    /// The id of the row that stays (under the customer).
    pub kept_id: Uuid,
    /// The duplicate's row.
    pub duplicate_row_id: Uuid,
    /// The losing row (of either), appended to the customer's history with reason `merged`.
    pub dropped: Option<PreferenceHistory>,
    /// Why, in words.
    pub why: String,
}

/// What a merge did, or would do for a dry run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeReport {
    /// The customer after the merge.
    pub customer: Customer,
    /// The customer merged away.
    pub duplicate_id: Uuid,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Fields of the customer filled from the duplicate's.
    pub filled_fields: Vec<String>,
    /// Tags the duplicate added.
    pub tags_added: Vec<String>,
    /// Rows moved to the customer, per table.
    pub moved: BTreeMap<String, u64>,
    /// Every preference of the duplicate and what became of it.
    pub preferences: Vec<PreferenceMerge>,
    /// Ledger rows appended so the more restrictive status of each channel stays current.
    pub consent_added: Vec<ConsentRecord>,
}

/// Counts of the duplicate's rows that move with a table-wide update.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MovedCounts {
    /// Messages.
    pub conversations: u64,
    /// Their attachments (they follow their message).
    pub attachments: u64,
    /// Preference history rows.
    pub history: u64,
}

/// The customer A becomes when B is merged into it: empty fields of A filled from B (e-mails and
/// phones: A's free primary, then its free secondary, take B's primary then secondary ones that
/// A does not already have), tags united, lifetime_value and total_jobs summed, customer_since
/// the earlier, last_contact_at the later. A's type, status and tier stay. The summary columns
/// follow `preferences`, A's rows after the merge. Returns the names of the filled fields.
pub fn merge_customer(
    a: &Customer,
    b: &Customer,
    preferences: &[CustomerPreference],
    now: DateTime<Utc>,
) -> StoreResult<(Customer, Vec<String>)> {
    let mut m = a.clone();
    let mut filled: Vec<String> = Vec::new();
    macro_rules! fill {
        ($($field:ident),*) => {$(
            if m.$field.is_none() && b.$field.is_some() {
                m.$field = b.$field.clone();
                filled.push(stringify!($field).to_string());
            }
        )*};
    }
    fill!(
        external_id,
        first_name,
        last_name,
        company_name,
        billing_address,
        service_address,
        referral_source,
        notes,
        metadata
    );
    let same_email = |x: &Option<String>, y: &str| x.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(y));
    for email in [&b.primary_email, &b.secondary_email].into_iter().flatten() {
        if same_email(&m.primary_email, email) || same_email(&m.secondary_email, email) {
            continue;
        }
        if m.primary_email.is_none() {
            m.primary_email = Some(email.clone());
            filled.push("primary_email".into());
        } else if m.secondary_email.is_none() {
            m.secondary_email = Some(email.clone());
            filled.push("secondary_email".into());
        }
    }
    for phone in [&b.primary_phone, &b.secondary_phone].into_iter().flatten() {
        if m.primary_phone.as_ref() == Some(phone) || m.secondary_phone.as_ref() == Some(phone) {
            continue;
        }
        if m.primary_phone.is_none() {
            m.primary_phone = Some(phone.clone());
            filled.push("primary_phone".into());
        } else if m.secondary_phone.is_none() {
            m.secondary_phone = Some(phone.clone());
            filled.push("secondary_phone".into());
        }
    }
    for tag in &b.tags {
        if !m.tags.contains(tag) {
            m.tags.push(tag.clone());
        }
    }
    m.lifetime_value += b.lifetime_value;
    m.total_jobs = a.total_jobs.checked_add(b.total_jobs).ok_or_else(|| {
        StoreError::invalid("total_jobs", "the sum of the two customers' total_jobs does not fit in a 32-bit integer")
    })?;
    m.customer_since = match (a.customer_since, b.customer_since) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    m.last_contact_at = a.last_contact_at.max(b.last_contact_at);
    for column in summary::COLUMNS {
        let general = preferences.iter().find(|p| {
            p.medium == PreferenceMedium::General
                && summary::column_of(p.preference_type, &p.preference_key) == Some(column)
        });
        let Some(key) = general.map(|p| (p.preference_type, p.preference_key.clone())) else { continue };
        if let Some(update) = summary::after_write(key.0, &key.1, PreferenceMedium::General, general, now) {
            match update.column {
                "preferred_contact_method" => m.preferred_contact_method = update.value,
                "preferred_contact_time" => m.preferred_contact_time = update.value,
                _ => m.communication_style = update.value,
            }
        }
    }
    m.updated_at = crate::validate::to_micros(now);
    Ok((m, filled))
}

/// Whether `a` beats `b` for the same key: item 9's rule (an active, unexpired row beats one that
/// is not; then the higher source), then the higher confidence, then the later update, then
/// A's row. Returns the verdict and why.
fn a_wins(a: &CustomerPreference, b: &CustomerPreference, now: DateTime<Utc>) -> (bool, String) {
    let (la, lb) = (a.is_effective_at(now), b.is_effective_at(now));
    if la != lb {
        return (la, "an active, unexpired row beats one that is not".into());
    }
    if a.source != b.source {
        return (
            a.source.rank() > b.source.rank(),
            "the higher source wins (explicit > learned > inferred > default)".into(),
        );
    }
    if a.confidence_score != b.confidence_score {
        return (a.confidence_score > b.confidence_score, "equal source: the higher confidence wins".into());
    }
    if a.updated_at != b.updated_at {
        return (a.updated_at > b.updated_at, "equal source and confidence: the later update wins".into());
    }
    (true, "equal in every respect: the customer's own row stays".into())
}

/// What becomes of each of B's preferences (in id order) when merged into A (`into`): a key only
/// B has moves; for a key both have, the winner of [`a_wins`] stays under A and the loser goes
/// to A's history with reason `merged`.
pub fn merge_preferences(
    a_rows: &[CustomerPreference],
    b_rows: &[CustomerPreference],
    into: Uuid,
    duplicate: Uuid,
    now: DateTime<Utc>,
) -> Vec<PreferenceMerge> {
    let key = |p: &CustomerPreference| (p.preference_type, p.preference_key.clone(), p.medium);
    let of_a: HashMap<_, &CustomerPreference> = a_rows.iter().map(|p| (key(p), p)).collect();
    let mut b_sorted: Vec<&CustomerPreference> = b_rows.iter().collect();
    b_sorted.sort_by_key(|p| p.id);
    let caused_by = Some(format!("merge of customer {duplicate}"));
    b_sorted
        .into_iter()
        .map(|b| {
            let (outcome, kept_id, loser, why) = match of_a.get(&key(b)) {
                None => (PreferenceOutcome::Moved, b.id, None, "only the duplicate had this key".to_string()),
                Some(a) => match a_wins(a, b, now) {
                    (true, why) => (PreferenceOutcome::KeptCustomer, a.id, Some(b), why),
                    (false, why) => (PreferenceOutcome::KeptDuplicate, b.id, Some(*a), why),
                },
            };
            let dropped = loser.map(|l| {
                let mut h = PreferenceHistory::of(l, HistoryReason::Merged, now, caused_by.clone());
                h.customer_id = into;
                h
            });
            PreferenceMerge {
                preference_type: b.preference_type,
                preference_key: b.preference_key.clone(),
                medium: b.medium,
                outcome,
                kept_id,
                duplicate_row_id: b.id,
                dropped,
                why,
            }
        })
        .collect()
}

/// One write of a preference merge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PreferenceStep<'a> {
    /// Delete this row (the loser, A's or B's).
    Delete(&'a CustomerPreference),
    /// Move this row of B to A.
    Move(&'a CustomerPreference),
    /// Append this row to A's history.
    Archive(&'a PreferenceHistory),
}

/// The writes of one preference merge, in the order every backend makes them: the loser's
/// delete first (so the key is free), then the move, then the history row.
pub fn preference_steps<'a>(
    m: &'a PreferenceMerge,
    a_row: Option<&'a CustomerPreference>,
    b_row: &'a CustomerPreference,
) -> Vec<PreferenceStep<'a>> {
    let mut steps = match (m.outcome, a_row) {
        (PreferenceOutcome::KeptCustomer, _) => vec![PreferenceStep::Delete(b_row)],
        (PreferenceOutcome::KeptDuplicate, Some(old)) => vec![PreferenceStep::Delete(old), PreferenceStep::Move(b_row)],
        (PreferenceOutcome::KeptDuplicate, None) | (PreferenceOutcome::Moved, _) => vec![PreferenceStep::Move(b_row)],
    };
    steps.extend(m.dropped.as_ref().map(PreferenceStep::Archive));
    steps
}

/// A's preferences after the merge described by `merges`.
pub fn preferences_after(
    a_rows: &[CustomerPreference],
    b_rows: &[CustomerPreference],
    merges: &[PreferenceMerge],
    into: Uuid,
) -> Vec<CustomerPreference> {
    let mut out: Vec<CustomerPreference> = a_rows
        .iter()
        .filter(|a| {
            !merges.iter().any(|m| {
                m.outcome == PreferenceOutcome::KeptDuplicate
                    && m.dropped.as_ref().is_some_and(|d| d.preference_id == a.id)
            })
        })
        .cloned()
        .collect();
    for m in merges.iter().filter(|m| m.outcome != PreferenceOutcome::KeptCustomer) {
        if let Some(b) = b_rows.iter().find(|b| b.id == m.duplicate_row_id) {
            out.push(CustomerPreference { customer_id: into, ..b.clone() });
        }
    }
    out
}

/// The ledger rows to append to A after B's rows joined it, so that on every channel the more
/// restrictive status of the two customers is current (decisions.md item 24): opted_out when
/// either had opted out, unless the latest row of the joined ledger already says so.
pub fn consent_after(
    into: Uuid,
    duplicate: Uuid,
    a_rows: &[ConsentRecord],
    b_rows: &[ConsentRecord],
    now: DateTime<Utc>,
) -> Vec<ConsentRecord> {
    let (a, b) = (consent::current(into, a_rows), consent::current(duplicate, b_rows));
    let joined: Vec<ConsentRecord> = a_rows.iter().chain(b_rows).cloned().collect();
    let after = consent::current(into, &joined);
    ConsentChannel::ALL
        .iter()
        .filter(|&&c| a.channel(c).status == ConsentStatus::OptedOut || b.channel(c).status == ConsentStatus::OptedOut)
        .filter(|&&c| after.channel(c).status != ConsentStatus::OptedOut)
        .map(|&channel| ConsentRecord {
            id: Uuid::now_v7(),
            customer_id: into,
            channel,
            status: ConsentStatus::OptedOut,
            cause: ConsentCause::Merge,
            keyword: None,
            conversation_id: None,
            note: Some(format!(
                "merge of customer {duplicate}: one of the two had opted out, the more restrictive status stays"
            )),
            recorded_by: "merge".into(),
            recorded_at: crate::validate::to_micros(now),
        })
        .collect()
}

/// The reads and writes of a merge, over one backend. On the SQL backends every method runs in
/// one open transaction that holds both customers; on Firestore each write method is one
/// atomic commit, idempotent, so that a rerun of [`apply`] after a crash completes the merge.
pub trait MergeTx: Send {
    /// The two customers (held until the transaction ends where the backend holds rows).
    fn customers(
        &mut self,
        a: Uuid,
        b: Uuid,
    ) -> impl Future<Output = StoreResult<(Option<Customer>, Option<Customer>)>> + Send;

    /// The merge record of `id` as a duplicate, if any.
    fn merge_record(&mut self, id: Uuid) -> impl Future<Output = StoreResult<Option<MergeRecord>>> + Send;

    /// Records that B is being merged into A (Firestore: refuses, as a conflict, a merge of B
    /// into another customer or of A away that began meanwhile; resumes one of B into A).
    fn begin(&mut self, a: Uuid, b: Uuid, at: DateTime<Utc>) -> impl Future<Output = StoreResult<()>> + Send;

    /// A customer's preference rows.
    fn preferences(&mut self, customer: Uuid) -> impl Future<Output = StoreResult<Vec<CustomerPreference>>> + Send;

    /// A customer's consent ledger.
    fn consents(&mut self, customer: Uuid) -> impl Future<Output = StoreResult<Vec<ConsentRecord>>> + Send;

    /// How many messages, attachments and history rows B has.
    fn counts(&mut self, b: Uuid) -> impl Future<Output = StoreResult<MovedCounts>> + Send;

    /// Moves B's ledger rows to A and appends `added`, together.
    fn move_consents(
        &mut self,
        b: Uuid,
        a: Uuid,
        added: &[ConsentRecord],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Carries out one preference merge: the kept row ends under A, the dropped one is gone
    /// and its history row appended, together. `a_row` is A's row of the key, if any.
    fn merge_preference(
        &mut self,
        merge: &PreferenceMerge,
        a: Uuid,
        a_row: Option<&CustomerPreference>,
        b_row: &CustomerPreference,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Moves B's preference history to A.
    fn move_history(&mut self, b: Uuid, a: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

    /// Moves B's messages (and with them their attachments) to A.
    fn move_conversations(&mut self, b: Uuid, a: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

    /// Ends the merge: earlier merges into B now point at A, B is removed, A becomes `merged`
    /// (written over `a`, the version read at the start), the record is complete.
    fn finish(&mut self, b: &Customer, a: &Customer, merged: &Customer)
        -> impl Future<Output = StoreResult<()>> + Send;
}

/// The error for a merge whose customer `id` (the one merged into) or duplicate is gone.
fn gone(record: Option<MergeRecord>, id: Uuid, field: &str, into: Uuid) -> StoreError {
    match record {
        Some(r) if field == "duplicate_id" && r.customer_id == into && r.done => StoreError::Conflict {
            entity: "customer",
            rule: format!("customer {id} was already merged into customer {into}"),
        },
        Some(r) => StoreError::Conflict {
            entity: "customer",
            rule: format!("customer {id} was merged into customer {}; use that customer", r.customer_id),
        },
        None if field == "duplicate_id" => {
            StoreError::Reference { field: field.into(), rule: format!("customer {id} does not exist") }
        }
        None => StoreError::not_found("customer", id),
    }
}

/// Merges B (`duplicate`) into A (`into`) over `tx`, or with `dry_run` reports what it would do
/// and writes nothing. Refuses a merge into itself, into or of a merged-away customer, and
/// (Firestore) one that conflicts with a merge in progress.
pub async fn apply<T: MergeTx>(
    tx: &mut T,
    into: Uuid,
    duplicate: Uuid,
    now: DateTime<Utc>,
    dry_run: bool,
) -> StoreResult<MergeReport> {
    if into == duplicate {
        return Err(StoreError::invalid("duplicate_id", "a customer cannot be merged into itself"));
    }
    let (a, b) = tx.customers(into, duplicate).await?;
    let Some(a) = a else { return Err(gone(tx.merge_record(into).await?, into, "id", into)) };
    let Some(b) = b else { return Err(gone(tx.merge_record(duplicate).await?, duplicate, "duplicate_id", into)) };
    if let Some(r) = tx.merge_record(into).await?.filter(|r| !r.done) {
        return Err(StoreError::Conflict {
            entity: "customer",
            rule: format!("customer {into} is being merged into customer {}", r.customer_id),
        });
    }
    if let Some(r) = tx.merge_record(duplicate).await?.filter(|r| r.customer_id != into) {
        return Err(StoreError::Conflict {
            entity: "customer",
            rule: format!("customer {duplicate} is being merged into customer {}", r.customer_id),
        });
    }
    if !dry_run {
        tx.begin(into, duplicate, now).await?;
    }
    let (a_consent, b_consent) = (tx.consents(into).await?, tx.consents(duplicate).await?);
    let consent_added = consent_after(into, duplicate, &a_consent, &b_consent, now);
    if !dry_run {
        tx.move_consents(duplicate, into, &consent_added).await?;
    }
    let (a_prefs, b_prefs) = (tx.preferences(into).await?, tx.preferences(duplicate).await?);
    let merges = merge_preferences(&a_prefs, &b_prefs, into, duplicate, now);
    if !dry_run {
        for m in &merges {
            let b_row = b_prefs.iter().find(|p| p.id == m.duplicate_row_id).expect("each merge is of a row of B");
            let a_row = a_prefs.iter().find(|p| {
                (p.preference_type, &p.preference_key, p.medium)
                    == (b_row.preference_type, &b_row.preference_key, b_row.medium)
            });
            tx.merge_preference(m, into, a_row, b_row).await?;
        }
    }
    let counts = tx.counts(duplicate).await?;
    if !dry_run {
        tx.move_history(duplicate, into).await?;
        tx.move_conversations(duplicate, into).await?;
    }
    let after = preferences_after(&a_prefs, &b_prefs, &merges, into);
    let (merged, filled_fields) = merge_customer(&a, &b, &after, now)?;
    if !dry_run {
        tx.finish(&b, &a, &merged).await?;
    }
    let tags_added = merged.tags.iter().filter(|t| !a.tags.contains(t)).cloned().collect();
    let moved = BTreeMap::from([
        ("conversations".to_string(), counts.conversations),
        ("conversation_attachments".to_string(), counts.attachments),
        (
            "customer_preferences".to_string(),
            merges.iter().filter(|m| m.outcome != PreferenceOutcome::KeptCustomer).count() as u64,
        ),
        ("customer_preference_history".to_string(), counts.history),
        ("customer_consents".to_string(), b_consent.len() as u64),
    ]);
    Ok(MergeReport {
        customer: merged,
        duplicate_id: duplicate,
        dry_run,
        filled_fields,
        tags_added,
        moved,
        preferences: merges,
        consent_added,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::PreferenceSource;
    use rust_decimal::Decimal;
    use serde_json::json;

    fn pref(customer: Uuid, source: PreferenceSource, confidence: &str, value: &str) -> CustomerPreference {
        CustomerPreference {
            id: Uuid::now_v7(),
            customer_id: customer,
            preference_type: PreferenceType::CommunicationMethod,
            preference_key: "preferred_channel".into(),
            preference_value: json!({"value": value}),
            source,
            confidence_score: confidence.parse().unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn customer_fields_fill_sum_and_unite() {
        let a = Customer {
            id: Uuid::now_v7(),
            first_name: Some("Dana".into()),
            primary_email: Some("dana@example.com".into()),
            tags: vec!["vip".into()],
            lifetime_value: Decimal::new(10050, 2),
            total_jobs: 2,
            customer_since: chrono::NaiveDate::from_ymd_opt(2024, 5, 1),
            ..Default::default()
        };
        let b = Customer {
            id: Uuid::now_v7(),
            first_name: Some("D.".into()),
            last_name: Some("Reyes".into()),
            primary_email: Some("DANA@example.com".into()),
            secondary_email: Some("dana.work@example.com".into()),
            primary_phone: Some("+17575550100".into()),
            tags: vec!["vip".into(), "gutters".into()],
            lifetime_value: Decimal::new(2500, 2),
            total_jobs: 1,
            customer_since: chrono::NaiveDate::from_ymd_opt(2023, 1, 9),
            ..Default::default()
        };
        let now = Utc::now();
        let (m, filled) = merge_customer(&a, &b, &[], now).unwrap();
        assert_eq!(m.first_name.as_deref(), Some("Dana"), "A's own values stay");
        assert_eq!(m.last_name.as_deref(), Some("Reyes"));
        assert_eq!(
            m.secondary_email.as_deref(),
            Some("dana.work@example.com"),
            "the same e-mail in another case is not taken twice"
        );
        assert_eq!(m.primary_phone.as_deref(), Some("+17575550100"));
        assert_eq!(m.tags, vec!["vip".to_string(), "gutters".to_string()]);
        assert_eq!(m.lifetime_value, Decimal::new(12550, 2));
        assert_eq!(m.total_jobs, 3);
        assert_eq!(m.customer_since, chrono::NaiveDate::from_ymd_opt(2023, 1, 9));
        assert_eq!(filled, vec!["last_name", "secondary_email", "primary_phone"]);
        let huge = Customer { total_jobs: i32::MAX, ..b.clone() };
        assert_eq!(merge_customer(&a, &huge, &[], now).unwrap_err().field(), Some("total_jobs"));
    }

    #[test]
    fn conflicting_preferences_keep_the_stronger_and_archive_the_other() {
        let (a, b, now) = (Uuid::now_v7(), Uuid::now_v7(), Utc::now());
        let a_rows = vec![pref(a, PreferenceSource::Learned, "0.90", "sms")];
        let b_rows = vec![pref(b, PreferenceSource::Explicit, "0.50", "email")];
        let m = merge_preferences(&a_rows, &b_rows, a, b, now);
        assert_eq!(m[0].outcome, PreferenceOutcome::KeptDuplicate, "explicit beats learned whatever the confidence");
        let dropped = m[0].dropped.as_ref().unwrap();
        assert_eq!(
            (dropped.customer_id, dropped.reason, dropped.preference_id),
            (a, HistoryReason::Merged, a_rows[0].id)
        );
        let after = preferences_after(&a_rows, &b_rows, &m, a);
        assert_eq!(after.len(), 1);
        assert_eq!((after[0].id, after[0].customer_id), (b_rows[0].id, a));
        let (merged, _) = merge_customer(&Customer::default(), &Customer::default(), &after, now).unwrap();
        assert_eq!(merged.preferred_contact_method.as_deref(), Some("email"), "the summary follows the kept row");

        let same = vec![pref(b, PreferenceSource::Learned, "0.50", "email")];
        let m = merge_preferences(&a_rows, &same, a, b, now);
        assert_eq!(m[0].outcome, PreferenceOutcome::KeptCustomer, "equal source: higher confidence");
        assert_eq!(m[0].dropped.as_ref().unwrap().preference_id, same[0].id);
        let mut inactive = a_rows.clone();
        inactive[0].is_active = false;
        assert_eq!(merge_preferences(&inactive, &same, a, b, now)[0].outcome, PreferenceOutcome::KeptDuplicate);
        let other = vec![CustomerPreference { preference_key: "backup_channel".into(), ..same[0].clone() }];
        let m = merge_preferences(&a_rows, &other, a, b, now);
        assert_eq!((m[0].outcome, m[0].dropped.is_none()), (PreferenceOutcome::Moved, true));
    }

    #[test]
    fn the_more_restrictive_consent_stays_current() {
        let (a, b, now) = (Uuid::now_v7(), Uuid::now_v7(), Utc::now());
        let row = |customer, channel, status| ConsentRecord {
            id: Uuid::now_v7(),
            customer_id: customer,
            channel,
            status,
            ..Default::default()
        };
        // B opted out of sms first, A opted in later: A's opt-in would be the latest row.
        let b_rows = vec![row(b, ConsentChannel::Sms, ConsentStatus::OptedOut)];
        let a_rows = vec![
            row(a, ConsentChannel::Sms, ConsentStatus::OptedIn),
            row(a, ConsentChannel::Email, ConsentStatus::OptedOut),
        ];
        let added = consent_after(a, b, &a_rows, &b_rows, now);
        assert_eq!(added.len(), 1, "email is already opted out by A's latest row: {added:?}");
        assert_eq!(
            (added[0].channel, added[0].status, added[0].cause),
            (ConsentChannel::Sms, ConsentStatus::OptedOut, ConsentCause::Merge)
        );
        let joined: Vec<ConsentRecord> = a_rows.iter().chain(&b_rows).chain(&added).cloned().collect();
        assert!(ConsentChannel::ALL.iter().take(2).all(|&c| !consent::current(a, &joined).channel(c).allowed()));
        assert!(consent_after(a, b, &[], &[row(b, ConsentChannel::Voice, ConsentStatus::OptedIn)], now).is_empty());
    }
}
