//! The migrated PostgreSQL schema itself: the design's section 6.1 SQL runs on it, and it
//! rejects, by itself, every row that breaks a CHECK, UNIQUE or FOREIGN KEY of the design and
//! decisions.md (the second wall behind karen's validation).

mod common;

use common::TestDb;
use karen_postgres::PgStore;
use sqlx::{Executor, PgPool, Row};

async fn migrated() -> (TestDb, PgPool) {
    let db = TestDb::create().await;
    let store = PgStore::connect(&db.url, 4).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), karen_postgres::MIGRATIONS.len());
    (db, store.pool().clone())
}

const CUSTOMER: &str = "11111111-1111-1111-1111-111111111111";
const CONVERSATION: &str = "22222222-2222-2222-2222-222222222222";
const CATEGORY: &str = "33333333-3333-3333-3333-333333333333";
const SERVICE: &str = "44444444-4444-4444-4444-444444444444";
const PACKAGE: &str = "55555555-5555-5555-5555-555555555555";

/// A few valid rows written by plain SQL, as another client would.
async fn seed(pool: &PgPool) {
    let sql = format!(
        "INSERT INTO customers (id, primary_email, first_name) VALUES ('{CUSTOMER}', 'Ann@Example.com', 'Ann');
         INSERT INTO conversations (id, customer_id, medium, direction, content, message_timestamp, external_id)
             VALUES ('{CONVERSATION}', '{CUSTOMER}', 'email', 'inbound', 'Leaky faucet', now(), 'gmail-1');
         INSERT INTO customer_preferences (customer_id, preference_type, preference_key, preference_value, source, confidence_score, priority)
             VALUES ('{CUSTOMER}', 'communication_method', 'preferred_channel', '{{\"value\": \"email\"}}', 'learned', 0.85, 1);
         INSERT INTO service_categories (id, name, slug) VALUES ('{CATEGORY}', 'Plumbing', 'plumbing');
         INSERT INTO services (id, category_id, name, slug, pricing_model, keywords, is_featured)
             VALUES ('{SERVICE}', '{CATEGORY}', 'Faucet Repair', 'faucet-repair', 'tiered', ARRAY['Faucet Repair', 'plumbing'], false);
         INSERT INTO service_pricing_tiers (service_id, tier_name, price, is_default) VALUES ('{SERVICE}', 'Basic', 85, true);
         INSERT INTO service_packages (id, name, slug, total_price) VALUES ('{PACKAGE}', 'Kitchen Refresh', 'kitchen-refresh', 275);
         INSERT INTO package_services (package_id, service_id) VALUES ('{PACKAGE}', '{SERVICE}');"
    );
    pool.execute(sql.as_str()).await.expect("valid rows are accepted");
}

#[tokio::test]
async fn design_section_6_1_queries_run_verbatim() {
    let (db, pool) = migrated().await;
    seed(&pool).await;
    // The four statements of schema-design.md section 6.1, with each `?` numbered for PostgreSQL.
    let preference_lookup = "SELECT * FROM customer_preferences 
WHERE customer_id = $1 AND preference_type = $2 AND is_active = true
ORDER BY priority, confidence_score DESC;";
    let history = "SELECT * FROM conversations 
WHERE customer_id = $1 AND medium = $2
ORDER BY message_timestamp DESC 
LIMIT 50;";
    let search = "SELECT s.*, sc.name as category_name, spt.price
FROM services s
JOIN service_categories sc ON s.category_id = sc.id
LEFT JOIN service_pricing_tiers spt ON s.id = spt.service_id AND spt.is_default = true
WHERE s.is_active = true 
AND s.keywords && $1::text[]
ORDER BY s.is_featured DESC, s.name;";
    let analytics = "SELECT 
    medium,
    COUNT(*) as message_count,
    AVG(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END) as response_rate
FROM conversations 
WHERE customer_id = $1 
AND message_timestamp >= NOW() - INTERVAL '30 days'
GROUP BY medium;";
    let customer: uuid::Uuid = CUSTOMER.parse().unwrap();
    let rows =
        sqlx::query(preference_lookup).bind(customer).bind("communication_method").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<String, _>("preference_key"), "preferred_channel");
    let rows = sqlx::query(history).bind(customer).bind("email").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 1);
    let rows = sqlx::query(search).bind(vec!["Faucet Repair".to_string()]).fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<String, _>("category_name"), "Plumbing");
    assert_eq!(rows[0].get::<rust_decimal::Decimal, _>("price").to_string(), "85.00");
    let rows = sqlx::query(analytics).bind(customer).fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<i64, _>("message_count"), 1);
    pool.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn the_schema_rejects_every_broken_rule() {
    let (db, pool) = migrated().await;
    seed(&pool).await;
    let c = CUSTOMER;
    let v = CONVERSATION;
    let s = SERVICE;
    let p = PACKAGE;
    let missing = "99999999-9999-9999-9999-999999999999";
    let conv = |cols: &str, vals: &str| {
        format!("INSERT INTO conversations (customer_id, content, message_timestamp, {cols}) VALUES ('{c}', 'x', now(), {vals})")
    };
    let pref = |cols: &str, vals: &str| {
        format!("INSERT INTO customer_preferences (customer_id, preference_type, preference_key, preference_value, source, {cols}) VALUES ('{c}', 'custom', 'k', '{{\"value\": 1}}', 'learned', {vals})")
    };
    let svc = |cols: &str, vals: &str| {
        format!("INSERT INTO services (category_id, name, slug, pricing_model, {cols}) VALUES ('{CATEGORY}', 'S', 'slug-x', 'estimate', {vals})")
    };
    let pkg = |cols: &str, vals: &str| {
        format!("INSERT INTO service_packages (name, slug, total_price, {cols}) VALUES ('P', 'p-x', 1, {vals})")
    };
    // (statement, SQLSTATE, constraint name)
    let cases: Vec<(String, &str, &str)> = vec![
        ("INSERT INTO customers (customer_type) VALUES ('robot')".into(), "23514", "ck__customers__customer_type"),
        ("INSERT INTO customers (status) VALUES ('asleep')".into(), "23514", "ck__customers__status"),
        ("INSERT INTO customers (customer_tier) VALUES ('gold')".into(), "23514", "ck__customers__customer_tier"),
        ("INSERT INTO customers (lifetime_value) VALUES (-1)".into(), "23514", "ck__customers__lifetime_value"),
        ("INSERT INTO customers (primary_phone) VALUES ('757-555-0100')".into(), "23514", "ck__customers__primary_phone"),
        ("INSERT INTO customers (primary_email) VALUES ('ann@example.COM')".into(), "23505", "uq__customers__primary_email"),
        ("INSERT INTO customers (external_id) VALUES (NULL), ('x'), ('x')".into(), "23505", "uq__customers__external_id"),
        (conv("medium, direction", "'fax', 'inbound'"), "23514", "ck__conversations__medium"),
        (conv("medium, direction", "'email', 'sideways'"), "23514", "ck__conversations__direction"),
        (conv("medium, direction, status", "'email', 'inbound', 'lost'"), "23514", "ck__conversations__status"),
        (conv("medium, direction, processing_stage", "'email', 'inbound', 'x'"), "23514", "ck__conversations__processing_stage"),
        (conv("medium, direction, response_method", "'email', 'inbound', 'x'"), "23514", "ck__conversations__response_method"),
        (conv("medium, direction, sentiment", "'email', 'inbound', 'x'"), "23514", "ck__conversations__sentiment"),
        (conv("medium, direction, priority", "'email', 'inbound', 'x'"), "23514", "ck__conversations__priority"),
        (conv("medium, direction, confidence_score", "'email', 'inbound', 1.5"), "23514", "ck__conversations__confidence_score"),
        (conv("medium, direction, external_id", "'email', 'inbound', 'gmail-1'"), "23505", "uq__conversations__external_id"),
        (conv("medium, direction, response_id", &format!("'email', 'inbound', '{missing}'")), "23503", "fk__conversations__response_id"),
        (format!("INSERT INTO conversations (customer_id, medium, direction, content, message_timestamp) VALUES ('{missing}', 'sms', 'inbound', 'x', now())"), "23503", "fk__conversations__customer_id"),
        (pref("medium", "'fax'"), "23514", "ck__customer_preferences__medium"),
        (pref("priority", "6"), "23514", "ck__customer_preferences__priority"),
        (pref("confidence_score", "1.01"), "23514", "ck__customer_preferences__confidence_score"),
        (format!("INSERT INTO customer_preferences (customer_id, preference_type, preference_key, preference_value, source) VALUES ('{c}', 'custom', 'k', '{{\"value\": 1}}', 'guessed')"), "23514", "ck__customer_preferences__source"),
        (format!("INSERT INTO customer_preferences (customer_id, preference_type, preference_key, preference_value, source) VALUES ('{c}', 'custom', 'k', '\"email\"', 'learned')"), "23514", "ck__customer_preferences__preference_value"),
        (format!("INSERT INTO customer_preferences (customer_id, preference_type, preference_key, preference_value, source) VALUES ('{c}', 'communication_method', 'preferred_channel', '{{\"value\": 1}}', 'learned')"), "23505", "uq__customer_preferences__preference_key"),
        (pref("learned_from_interaction_id", &format!("'{missing}'")), "23503", "fk__customer_preferences__learned_from_interaction_id"),
        (format!("INSERT INTO conversation_attachments (conversation_id, file_name, file_size) VALUES ('{v}', 'f', -1)"), "23514", "ck__conversation_attachments__file_size"),
        (format!("INSERT INTO conversation_attachments (conversation_id, file_name, checksum) VALUES ('{v}', 'f', 'md5:1')"), "23514", "ck__conversation_attachments__checksum"),
        (format!("INSERT INTO conversation_attachments (conversation_id, file_name, virus_scan_status) VALUES ('{v}', 'f', 'x')"), "23514", "ck__conversation_attachments__virus_scan_status"),
        (format!("INSERT INTO conversation_attachments (conversation_id, file_name) VALUES ('{missing}', 'f')"), "23503", "fk__conversation_attachments__conversation_id"),
        ("INSERT INTO service_categories (name, slug) VALUES ('Plumbing', 'other')".into(), "23505", "uq__service_categories__name"),
        ("INSERT INTO service_categories (name, slug) VALUES ('Other', 'plumbing')".into(), "23505", "uq__service_categories__slug"),
        ("INSERT INTO service_categories (name, slug) VALUES ('Other', 'Not A Slug')".into(), "23514", "ck__service_categories__slug"),
        (format!("INSERT INTO service_categories (name, slug, parent_category_id) VALUES ('Other', 'other', '{missing}')"), "23503", "fk__service_categories__parent_category_id"),
        (svc("pricing_model", "'free'").replace("'estimate', 'free'", "'free'").replace("pricing_model, pricing_model", "pricing_model"), "23514", "ck__services__pricing_model"),
        (svc("base_price", "-1"), "23514", "ck__services__base_price"),
        (svc("hourly_rate", "-1"), "23514", "ck__services__hourly_rate"),
        (svc("warranty_period_days", "-1"), "23514", "ck__services__warranty_period_days"),
        (svc("minimum_charge", "-1"), "23514", "ck__services__minimum_charge"),
        (svc("estimated_duration_minutes", "0"), "23514", "ck__services__estimated_duration_minutes"),
        (svc("difficulty_level", "6"), "23514", "ck__services__difficulty_level"),
        (svc("currency", "'usd'"), "23514", "ck__services__currency"),
        (svc("minimum_charge, maximum_charge", "10, 5"), "23514", "ck__services__charge_range"),
        (svc("slug", "'faucet-repair'").replace("'slug-x', 'estimate', 'faucet-repair'", "'faucet-repair', 'estimate'").replace("slug, pricing_model, slug", "slug, pricing_model"), "23505", "uq__services__slug"),
        (format!("INSERT INTO services (category_id, name, slug, pricing_model) VALUES ('{missing}', 'S', 's', 'estimate')"), "23503", "fk__services__category_id"),
        (format!("INSERT INTO service_pricing_tiers (service_id, tier_name, price) VALUES ('{s}', 'T', -1)"), "23514", "ck__service_pricing_tiers__price"),
        (format!("INSERT INTO service_pricing_tiers (service_id, tier_name, price, min_quantity) VALUES ('{s}', 'T', 1, -1)"), "23514", "ck__service_pricing_tiers__min_quantity"),
        (format!("INSERT INTO service_pricing_tiers (service_id, tier_name, price, min_quantity, max_quantity) VALUES ('{s}', 'T', 1, 3, 2)"), "23514", "ck__service_pricing_tiers__max_quantity"),
        (format!("INSERT INTO service_pricing_tiers (service_id, tier_name, price, unit) VALUES ('{s}', 'T', 1, 'yard')"), "23514", "ck__service_pricing_tiers__unit"),
        (format!("INSERT INTO service_pricing_tiers (service_id, tier_name, price, is_default) VALUES ('{s}', 'T', 1, true)"), "23505", "uq__service_pricing_tiers__is_default"),
        (format!("INSERT INTO service_pricing_tiers (service_id, tier_name, price) VALUES ('{missing}', 'T', 1)"), "23503", "fk__service_pricing_tiers__service_id"),
        (pkg("total_price", "-1").replace("total_price, total_price", "total_price").replace("1, -1", "-1"), "23514", "ck__service_packages__total_price"),
        (pkg("savings_amount", "-1"), "23514", "ck__service_packages__savings_amount"),
        (pkg("estimated_duration_hours", "0"), "23514", "ck__service_packages__estimated_duration_hours"),
        (pkg("package_type", "'x'"), "23514", "ck__service_packages__package_type"),
        (pkg("available_from, available_until", "'2025-02-01', '2025-01-01'"), "23514", "ck__service_packages__available_from"),
        ("INSERT INTO service_packages (name, slug, total_price) VALUES ('P', 'kitchen-refresh', 1)".into(), "23505", "uq__service_packages__slug"),
        (format!("INSERT INTO package_services (package_id, service_id) VALUES ('{p}', '{s}')"), "23505", "uq__package_services__service_id"),
        (format!("INSERT INTO package_services (package_id, service_id, quantity) VALUES ('{p}', '{s}', 0)"), "23514", "ck__package_services__quantity"),
        (format!("INSERT INTO package_services (package_id, service_id, included_price) VALUES ('{p}', '{s}', -1)"), "23514", "ck__package_services__included_price"),
        (format!("INSERT INTO package_services (package_id, service_id) VALUES ('{missing}', '{s}')"), "23503", "fk__package_services__package_id"),
        (format!("INSERT INTO package_services (package_id, service_id) VALUES ('{p}', '{missing}')"), "23503", "fk__package_services__service_id"),
        (format!("DELETE FROM service_categories WHERE id = '{CATEGORY}'"), "23503", "fk__services__category_id"),
            // The consent ledger (decisions.md item 24): checked, and never edited.
        (format!("INSERT INTO customer_consents (id, customer_id, channel, status, cause, recorded_by, recorded_at) VALUES (gen_random_uuid(), '{c}', 'fax', 'opted_out', 'request', 'x', now())"), "23514", "ck__customer_consents__channel"),
        (format!("INSERT INTO customer_consents (id, customer_id, channel, status, cause, recorded_by, recorded_at) VALUES (gen_random_uuid(), '{c}', 'sms', 'opted_out', 'request', 'x', now()); UPDATE customer_consents SET status = 'opted_in' WHERE customer_id = '{c}'"), "23514", "ck__customer_consents__never_edited"),
        (format!("INSERT INTO customer_consents (id, customer_id, channel, status, cause, recorded_by, recorded_at) VALUES (gen_random_uuid(), '{missing}', 'sms', 'opted_out', 'request', 'x', now())"), "23503", "fk__customer_consents__customer_id"),
    ];
    let mut failures = Vec::new();
    for (sql, code, constraint) in &cases {
        match pool.execute(sql.as_str()).await {
            Ok(_) => failures.push(format!("accepted: {sql}")),
            Err(sqlx::Error::Database(e)) => {
                if e.code().as_deref() != Some(*code) || e.constraint() != Some(*constraint) {
                    failures.push(format!(
                        "{sql}\n  expected {code} {constraint}, got {:?} {:?}: {}",
                        e.code(),
                        e.constraint(),
                        e.message()
                    ));
                }
            }
            Err(e) => failures.push(format!("{sql}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases wrong:\n{}", failures.len(), cases.len(), failures.join("\n"));
    pool.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn upgrading_a_populated_database_keeps_its_data_and_a_newer_schema_is_refused() {
    let db = TestDb::create().await;
    let store = PgStore::connect(&db.url, 4).await.unwrap();
    let pool = store.pool().clone();
    assert_eq!(karen_postgres::migrate_to(&pool, 1).await.unwrap(), 1);
    seed(&pool).await;
    assert_eq!(store.migrate().await.unwrap(), karen_postgres::MIGRATIONS.len() - 1, "the rest applies on top");
    assert_eq!(store.migrate().await.unwrap(), 0, "nothing left to apply");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM package_services").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 1, "a populated database keeps its rows");
    // Migration 5 dropped the word-search column, its trigger and index (search answers from
    // the catalog snapshot, K28); the design's keywords column and its GIN index stay.
    let gone: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'services' AND column_name = 'search_terms'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(gone, 0, "services.search_terms is gone");
    let triggers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_trigger WHERE tgname = 'trg_services_search_terms'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(triggers, 0, "its trigger is gone");
    let keywords_index: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_services_keywords'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(keywords_index, 1, "the design's keywords index stays");
    let karen = karen_core::Karen::new(store.clone());
    let found = karen.search_services(&["faucet"], &karen_core::query::PageRequest::first()).await.unwrap();
    assert_eq!(found.items.len(), 1, "the seeded service is found by the word search");
    sqlx::query("INSERT INTO karen_schema_migrations (version, name) VALUES (999, 'from the future')")
        .execute(&pool)
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err().to_string();
    assert!(err.contains("newer than this karen binary"), "{err}");
    pool.close().await;
    db.drop_db().await;
}

/// Applied migrations carry checksums; a database recorded before they were kept gets them
/// filled in, and an applied migration that differs from this binary's is refused.
#[tokio::test]
async fn an_edited_landed_migration_is_refused() {
    let (db, pool) = migrated().await;
    sqlx::query("UPDATE karen_schema_migrations SET checksum = NULL").execute(&pool).await.unwrap();
    let store = PgStore::connect(&db.url, 2).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), 0);
    let missing: i64 = sqlx::query_scalar("SELECT count(*) FROM karen_schema_migrations WHERE checksum IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(missing, 0, "checksums are filled in");
    sqlx::query("UPDATE karen_schema_migrations SET checksum = 'sha256:00' WHERE version = 3")
        .execute(&pool)
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err().to_string();
    assert!(err.contains("migration 3 (preference_history) was changed after it was applied"), "{err}");
    pool.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn updated_at_is_maintained_for_other_writers_and_left_to_karen_for_its_own() {
    use sqlx::Connection;
    let (db, pool) = migrated().await;
    seed(&pool).await;
    let stamp = "2020-01-01T00:00:00Z";
    sqlx::query(&format!("UPDATE customers SET updated_at = '{stamp}'")).execute(&pool).await.unwrap();
    // Another client, without karen's session mark, changes a row and leaves updated_at alone.
    let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE customers SET first_name = 'Anne'").execute(&mut other).await.unwrap();
    let moved: bool = sqlx::query_scalar(&format!("SELECT updated_at > '{stamp}' FROM customers"))
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert!(moved, "the trigger stamps other writers' updates");
    // karen's own sessions keep the value karen wrote, even when it is unchanged.
    sqlx::query(&format!("UPDATE customers SET updated_at = '{stamp}'")).execute(&pool).await.unwrap();
    sqlx::query("UPDATE customers SET first_name = 'Ann'").execute(&pool).await.unwrap();
    let kept: bool =
        sqlx::query_scalar(&format!("SELECT updated_at = '{stamp}' FROM customers")).fetch_one(&pool).await.unwrap();
    assert!(kept, "karen's clock is not overwritten");
    other.close().await.unwrap();
    pool.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn another_clients_catalog_writes_reach_karens_search_snapshot() {
    use karen_core::query::PageRequest;
    use sqlx::Connection;
    let (db, pool) = migrated().await;
    seed(&pool).await;
    let karen = karen_core::Karen::new(PgStore::from_pool(pool.clone()));
    let names = || async {
        let page = karen.search_services(&["faucet"], &PageRequest::first()).await.unwrap();
        page.items
            .into_iter()
            .map(|h| (h.service.name, h.category_name, h.price.map(|p| p.to_string())))
            .collect::<Vec<_>>()
    };
    assert_eq!(names().await, vec![("Faucet Repair".into(), "Plumbing".into(), Some("85.00".into()))]);
    // A client that is not karen writes the catalog with plain SQL; the trigger bumps the version.
    let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
    other.execute("UPDATE services SET name = 'Faucet Fix'").await.unwrap();
    assert_eq!(names().await[0].0, "Faucet Fix");
    other.execute("UPDATE service_pricing_tiers SET price = 90").await.unwrap();
    assert_eq!(names().await[0].2.as_deref(), Some("90.00"));
    other.execute("UPDATE service_categories SET is_active = false").await.unwrap();
    assert!(names().await.is_empty());
    // An uncommitted write is not seen; its commit is.
    let mut tx = other.begin().await.unwrap();
    tx.execute("UPDATE service_categories SET is_active = true").await.unwrap();
    assert!(names().await.is_empty(), "an uncommitted write is invisible");
    tx.commit().await.unwrap();
    assert_eq!(names().await.len(), 1);
    other.execute("TRUNCATE services CASCADE").await.unwrap();
    assert!(names().await.is_empty());
    assert!(karen.catalog_loads() >= 6, "{}", karen.catalog_loads());
    other.close().await.unwrap();
    pool.close().await;
    db.drop_db().await;
}

/// A database that goes away while karen serves is unavailable (503 over HTTP), not an
/// internal error: its connections are cut, and new ones find no database.
#[tokio::test]
async fn a_database_that_is_gone_is_unavailable() {
    let db = TestDb::create().await;
    let store = PgStore::connect(&db.url, 2).await.unwrap();
    store.migrate().await.unwrap();
    let karen = karen_core::Karen::new(store.clone());
    let c = karen.create(karen_core::model::Customer::default()).await.unwrap();
    let name = db.name.clone();
    db.drop_db().await;
    for attempt in 0..3 {
        match karen.get::<karen_core::model::Customer>(c.id).await {
            Err(karen_core::StoreError::Unavailable(_)) => {}
            other => panic!("attempt {attempt} on the dropped {name}: expected unavailable, got {other:?}"),
        }
    }
    store.pool().close().await;
}

/// Migration 11 on a populated database: the messages stored before it get their generated
/// search vector, rows another program writes are found, and both a customer's search and a
/// search of everyone use the GIN index through the explicit configuration.
#[tokio::test]
async fn search_indexes_stored_messages_and_uses_the_gin_index() {
    use karen_core::query::{ConversationFilter, PageRequest};
    let db = TestDb::create().await;
    let store = PgStore::connect(&db.url, 4).await.unwrap();
    let pool = store.pool().clone();
    assert_eq!(karen_postgres::migrate_to(&pool, 10).await.unwrap(), 10);
    let customer = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO customers (id, first_name) VALUES ($1, 'Dana')")
        .bind(customer)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO conversations (id, customer_id, medium, direction, content, message_timestamp)
         SELECT gen_random_uuid(), $1, 'sms', 'inbound',
                CASE WHEN i % 1000 = 7 THEN 'Our water heater is leaking' ELSE 'See you on Tuesday' END,
                now() - i * interval '1 minute'
           FROM generate_series(1, 20000) i",
    )
    .bind(customer)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(store.migrate().await.unwrap(), 2, "search (11), then events (12)");
    let karen = karen_core::Karen::new(store);
    let mine = ConversationFilter { customer_id: Some(customer), ..Default::default() };
    let found = karen.search_conversations("leaks", &mine, &PageRequest::of(100)).await.unwrap();
    assert_eq!(found.items.len(), 20, "every stored message is indexed");
    sqlx::query(
        "INSERT INTO conversations (id, customer_id, medium, direction, content, message_timestamp)
         VALUES (gen_random_uuid(), $1, 'email', 'inbound', 'The faucets drip', now())",
    )
    .bind(customer)
    .execute(&pool)
    .await
    .unwrap();
    let all = ConversationFilter::default();
    assert_eq!(karen.search_conversations("faucet", &all, &PageRequest::first()).await.unwrap().items.len(), 1);
    sqlx::query("ANALYZE conversations").execute(&pool).await.unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id FROM conversations WHERE search_vector @@ websearch_to_tsquery('karen_search', '\"leak\"')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(plan.join("\n").contains("idx_conversations_search"), "{}", plan.join("\n"));
    pool.close().await;
    db.drop_db().await;
}
