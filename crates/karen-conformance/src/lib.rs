//! The conformance suite: every behaviour of the store interface, written once as public async
//! check functions over any [`Store`], and run unchanged by each backend's tests through
//! [`conformance_tests!`]. A backend passes when every check passes against a fresh database.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use karen_core::{FixedClock, Karen, Store};

pub mod checks;
pub mod fixtures;

/// What a check gets: karen over a fresh, migrated, empty store, and the clock it reads.
pub struct Ctx<S> {
    /// karen over the store under test, keeping attachment bytes in a blob store of its own.
    pub karen: Karen<S>,
    /// The clock karen reads; checks move it to test expiry, windows and `updated_at`.
    pub clock: Arc<FixedClock>,
    /// The directory of the blob store [`Ctx::new`] made, removed when the context is dropped.
    blob_dir: Option<std::path::PathBuf>,
}

/// The largest attachment of the suite's blob stores: 1 MiB, so the limit is cheap to pass.
pub const MAX_ATTACHMENT_BYTES: u64 = 1024 * 1024;

impl<S: Store> Ctx<S> {
    /// A context over `store` with the clock at [`start_time`] and attachment bytes in a new
    /// directory store (no scanner: attachments are `skipped`).
    pub fn new(store: S) -> Self {
        let dir = std::env::temp_dir().join(format!("karen-conformance-blobs-{}", uuid::Uuid::new_v4()));
        let blobs = Arc::new(karen_blobs::DirStore::open(&dir).expect("a temporary directory"));
        let mut ctx = Ctx::with_blobs(store, blobs);
        ctx.blob_dir = Some(dir);
        ctx
    }

    /// A context over `store` keeping attachment bytes in `blobs` (an object store).
    pub fn with_blobs(store: S, blobs: Arc<dyn karen_core::blob::BlobStore>) -> Self {
        let clock = Arc::new(FixedClock::new(start_time()));
        let files = karen_core::karen::Files::new(blobs, None, MAX_ATTACHMENT_BYTES);
        Ctx { karen: Karen::with_clock(store, clock.clone()).with_files(files), clock, blob_dir: None }
    }
}

impl<S> Drop for Ctx<S> {
    fn drop(&mut self) {
        if let Some(dir) = &self.blob_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The instant every check starts at: 2026-06-01 12:00:00 UTC.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).single().expect("valid date")
}

/// Generates one `#[tokio::test]` per conformance check. `$run` is an async function
/// `run(check)` of the backend's tests that builds a fresh store, wraps it in a [`Ctx`], awaits
/// `check(&ctx)` and cleans up, whether the check passed or panicked.
#[macro_export]
macro_rules! conformance_tests {
    ($run:path) => {
        $crate::conformance_tests!(@each $run;
            customers::crud_and_timestamps,
            customers::validation_names_the_field_and_writes_nothing,
            customers::email_is_unique_case_insensitively,
            customers::lookups_by_email_phone_and_external_id,
            customers::list_pages_filters_and_cursors,
            customers::cursors_belong_to_their_listing,
            customers::missing_rows_are_not_found,
            customers::delete_erases_everything_of_the_customer_and_nothing_else,
            customers::api_tokens,
            customers::bulk_restore_is_all_or_nothing,
            preferences::crud_and_taxonomy,
            preferences::unique_key_and_upsert,
            preferences::concurrent_upserts_keep_one_row,
            preferences::listing_order_expiry_and_activity,
            preferences::references_are_checked,
            conversations::crud_unicode_and_large_content,
            conversations::nlp_results_and_the_full_analysis,
            conversations::redelivery_is_idempotent,
            conversations::history_pages_newest_first,
            conversations::threads_oldest_first,
            conversations::validation_and_references,
            conversations::deleting_a_message_unlinks_what_referred_to_it,
            conversations::references_stay_within_the_customer,
            conversations::attachments,
            files::uploads_are_content_addressed_and_verified,
            files::refused_uploads_leave_nothing,
            files::erasure_and_sweep_remove_only_unnamed_bytes,
            files::inbound_parts_are_stored_as_blobs,
            conversations::analytics_per_medium,
            catalog::categories_unique_and_tree,
            catalog::category_cycles_and_depth,
            catalog::category_delete_is_restricted,
            catalog::services_rules,
            catalog::pricing_tiers,
            catalog::packages_and_their_services,
            catalog::search_by_keyword_words,
            catalog::search_pages_and_limits,
            catalog::updates_are_not_lost_under_concurrency,
            catalog::search_snapshot_follows_every_catalog_write,
            quotes::quotes_price_every_model_and_clamp,
            quotes::package_quotes_sum_their_services,
            quotes::quotes_follow_catalog_writes_of_others,
            context::reply_context_gathers_every_part,
            context::reply_context_refusals,
            lifecycle::sms_keywords_change_consent,
            lifecycle::explicit_changes_and_erasure,
            lifecycle::customer_data_holds_everything_of_theirs,
            lifecycle::duplicate_candidates_name_their_reasons,
            merge::merge_moves_everything_and_resolves_conflicts,
            merge::concurrent_merges_one_wins,
            inbound::email_threads_follow_headers_within_a_customer,
            inbound::sms_threads_by_time_and_number,
            inbound::a_batch_records_what_one_by_one_would,
            search::the_same_messages_for_every_query,
            search::pages_cursors_and_refusals,
            search::the_index_follows_every_write,
            events::every_write_appends_its_event,
            events::a_follower_sees_every_event_once_under_concurrent_writers,
            events::webhooks_and_their_deliveries_are_stored,
            events::a_merge_moves_rows_as_updates_and_deletes_the_duplicate,
            engine::effective_value_resolution,
            engine::learning_sequences_and_history,
            engine::history_of_writes_and_expiry,
            engine::concurrent_observations_lose_nothing,
            engine::summary_columns_follow_general_preferences,
            engine::contact_plan_across_zones_weekends_and_dst,
        );
    };
    (@each $run:path; $($module:ident :: $name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $run(|ctx| Box::pin(async move { $crate::checks::$module::$name(ctx).await })).await;
            }
        )+

        /// Every check, one after another, through the same runner (for tests that observe a
        /// backend across the whole suite, such as Firestore's index coverage).
        #[allow(dead_code)]
        async fn every_check_in_sequence() {
            $( $run(|ctx| Box::pin(async move { $crate::checks::$module::$name(ctx).await })).await; )+
        }
    };
}
