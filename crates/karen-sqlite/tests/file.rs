//! What a user expects of an embedded database file: the right pragmas, clear refusals of files
//! that are not karen's, data that survives reopening, and a schema that enforces the design's
//! rules by itself.

use std::path::PathBuf;

use karen_core::model::Customer;
use karen_core::{Karen, StoreError};
use karen_sqlite::SqliteStore;
use sqlx::Executor;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("karen-file-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn unavailable_message(err: StoreError) -> String {
    match err {
        StoreError::Unavailable(msg) => msg,
        other => panic!("expected an unavailable error, got {other:?}"),
    }
}

#[tokio::test]
async fn pragmas_of_an_embedded_database() {
    let dir = temp_dir();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.join("k.db").display())).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.writer()).await.unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(store.readers()).await.unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(store.writer()).await.unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(store.writer()).await.unwrap();
    let app: i32 = sqlx::query_scalar("PRAGMA application_id").fetch_one(store.writer()).await.unwrap();
    assert_eq!((mode.as_str(), fk, sync, busy, app), ("wal", 1, 2, 10_000, karen_sqlite::KAREN_APPLICATION_ID));
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn files_that_are_not_karen_databases_are_refused() {
    let dir = temp_dir();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "shopping list: washers, pipe tape\n".repeat(200)).unwrap();
    let msg = unavailable_message(SqliteStore::open_with(&text, 1).await.unwrap_err());
    assert!(msg.contains("not a SQLite database"), "{msg}");
    assert_eq!(std::fs::read_to_string(&text).unwrap().len(), 34 * 200, "the file is left untouched");

    let other = dir.join("other.db");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", other.display())).await.unwrap();
        pool.execute("CREATE TABLE recipes (name TEXT)").await.unwrap();
        pool.close().await;
    }
    let msg = unavailable_message(SqliteStore::open_with(&other, 1).await.unwrap_err());
    assert!(msg.contains("is not a karen database"), "{msg}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_file_from_a_newer_karen_is_refused_and_data_survives_upgrades() {
    let dir = temp_dir();
    let path = dir.join("k.db");
    // A file at schema version 1 with a customer, written as an older karen would.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    assert_eq!(karen_sqlite::migrate_to(&pool, 1).await.unwrap(), 1);
    let id = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO customers (id, first_name, created_at, updated_at) VALUES (?1, 'Zoë', ?2, ?2)")
        .bind(id.to_string())
        .bind("2026-01-01T00:00:00.000000Z")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    // Opening it with this karen upgrades it and keeps the row.
    let karen = Karen::new(SqliteStore::open_with(&path, 2).await.unwrap());
    let c: Customer = karen.get(id).await.unwrap();
    assert_eq!(c.first_name.as_deref(), Some("Zoë"));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM karen_schema_migrations")
        .fetch_one(karen.store().writer())
        .await
        .unwrap();
    assert_eq!(n as usize, karen_sqlite::MIGRATIONS.len());
    karen.store().close().await;

    let reopened = SqliteStore::open_with(&path, 2).await.unwrap();
    assert_eq!(reopened.migrate().await.unwrap(), 0, "nothing left to apply on a populated file");
    let karen = Karen::new(reopened);
    assert_eq!(karen.get::<Customer>(c.id).await.unwrap(), c);
    sqlx::query("INSERT INTO karen_schema_migrations (version, name) VALUES (999, 'from the future')")
        .execute(karen.store().writer())
        .await
        .unwrap();
    karen.store().close().await;
    let msg = unavailable_message(SqliteStore::open_with(&path, 2).await.unwrap_err());
    assert!(msg.contains("newer than this karen binary"), "{msg}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_schema_rejects_broken_rows_by_itself() {
    let dir = temp_dir();
    let store = SqliteStore::open_with(&dir.join("k.db"), 1).await.unwrap();
    let w = store.writer();
    let c = "11111111-1111-1111-1111-111111111111";
    let v = "22222222-2222-2222-2222-222222222222";
    let cat = "33333333-3333-3333-3333-333333333333";
    let s = "44444444-4444-4444-4444-444444444444";
    let missing = "99999999-9999-9999-9999-999999999999";
    let ts = "2026-06-01T12:00:00.000000Z";
    w.execute(
        format!(
            "INSERT INTO customers (id, primary_email) VALUES ('{c}', 'Ann@Example.com');
             INSERT INTO conversations (id, customer_id, medium, direction, content, message_timestamp, external_id)
                 VALUES ('{v}', '{c}', 'email', 'inbound', 'x', '{ts}', 'gmail-1');
             INSERT INTO service_categories (id, name, slug) VALUES ('{cat}', 'Plumbing', 'plumbing');
             INSERT INTO services (id, category_id, name, slug, pricing_model) VALUES ('{s}', '{cat}', 'S', 's', 'tiered');
             INSERT INTO service_pricing_tiers (id, service_id, tier_name, price, is_default) VALUES ('t1', '{s}', 'T', 1, 1);"
        )
        .as_str(),
    )
    .await
    .unwrap();
    let conv = |extra_cols: &str, extra_vals: &str| {
        format!(
            "INSERT INTO conversations (id, customer_id, content, message_timestamp, medium, direction{extra_cols})
             VALUES ('n', '{c}', 'x', '{ts}', 'email', 'inbound'{extra_vals})"
        )
    };
    // (statement, text the error must contain)
    let cases: Vec<(String, &str)> = vec![
        ("INSERT INTO customers (id, status) VALUES ('x', 'asleep')".into(), "ck__customers__status"),
        ("INSERT INTO customers (id, customer_type) VALUES ('x', 'robot')".into(), "ck__customers__customer_type"),
        ("INSERT INTO customers (id, customer_tier) VALUES ('x', 'gold')".into(), "ck__customers__customer_tier"),
        ("INSERT INTO customers (id, lifetime_value) VALUES ('x', -1)".into(), "ck__customers__lifetime_value"),
        ("INSERT INTO customers (id, primary_phone) VALUES ('x', '757-555-0100')".into(), "ck__customers__primary_phone"),
        ("INSERT INTO customers (id, tags) VALUES ('x', '\"a\"')".into(), "ck__customers__tags"),
        ("INSERT INTO customers (id, primary_email) VALUES ('x', 'ann@example.COM')".into(), "uq__customers__primary_email"),
        (conv(", status", ", 'lost'"), "ck__conversations__status"),
        (conv(", sentiment", ", 'grumpy'"), "ck__conversations__sentiment"),
        (conv(", confidence_score", ", 1.5"), "ck__conversations__confidence_score"),
        (conv(", raw_content", ", '{not json'"), "ck__conversations__raw_content"),
        (conv(", external_id", ", 'gmail-1'"), "conversations.medium, conversations.external_id"),
        (conv(", response_id", &format!(", '{missing}'")), "FOREIGN KEY"),
        (conv("", "").replace(&format!("'{c}'"), &format!("'{missing}'")), "FOREIGN KEY"),
        (format!("INSERT INTO customer_preferences (id, customer_id, preference_type, preference_key, preference_value, source, priority) VALUES ('p', '{c}', 'custom', 'k', '{{\"value\": 1}}', 'learned', 6)"), "ck__customer_preferences__priority"),
        (format!("INSERT INTO customer_preferences (id, customer_id, preference_type, preference_key, preference_value, source) VALUES ('p', '{c}', 'custom', 'k', '{{\"no\": 1}}', 'learned')"), "ck__customer_preferences__preference_value"),
        (format!("INSERT INTO customer_preferences (id, customer_id, preference_type, preference_key, preference_value, source) VALUES ('p', '{c}', 'custom', 'k', '{{\"value\": 1}}', 'guessed')"), "ck__customer_preferences__source"),
        (format!("INSERT INTO conversation_attachments (id, conversation_id, file_name, checksum) VALUES ('a', '{v}', 'f', 'sha256:{}')", "A".repeat(64)), "ck__conversation_attachments__checksum"),
        (format!("INSERT INTO conversation_attachments (id, conversation_id, file_name, file_size) VALUES ('a', '{v}', 'f', -1)"), "ck__conversation_attachments__file_size"),
        ("INSERT INTO service_categories (id, name, slug) VALUES ('c2', 'Other', 'Not-A-Slug')".into(), "ck__service_categories__slug"),
        ("INSERT INTO service_categories (id, name, slug) VALUES ('c2', 'Other', 'a--b')".into(), "ck__service_categories__slug"),
        ("INSERT INTO service_categories (id, name, slug) VALUES ('c2', 'Plumbing', 'other')".into(), "service_categories.name"),
        (format!("INSERT INTO services (id, category_id, name, slug, pricing_model) VALUES ('s2', '{cat}', 'S', 's2', 'free')"), "ck__services__pricing_model"),
        (format!("INSERT INTO services (id, category_id, name, slug, pricing_model) VALUES ('s2', '{cat}', 'S', 's2', 'fixed')"), "ck__services__base_price_fixed"),
        (format!("INSERT INTO services (id, category_id, name, slug, pricing_model, currency) VALUES ('s2', '{cat}', 'S', 's2', 'tiered', 'usd')"), "ck__services__currency"),
        (format!("INSERT INTO services (id, category_id, name, slug, pricing_model, minimum_charge, maximum_charge) VALUES ('s2', '{cat}', 'S', 's2', 'tiered', 10, 5)"), "ck__services__charge_range"),
        (format!("INSERT INTO service_pricing_tiers (id, service_id, tier_name, price, is_default) VALUES ('t2', '{s}', 'T', 1, 1)"), "service_pricing_tiers.service_id"),
        (format!("INSERT INTO service_pricing_tiers (id, service_id, tier_name, price, min_quantity, max_quantity) VALUES ('t2', '{s}', 'T', 1, 3, 2)"), "ck__service_pricing_tiers__max_quantity"),
        ("INSERT INTO service_packages (id, name, slug, total_price, available_from, available_until) VALUES ('k', 'P', 'p', 1, '2025-02-01', '2025-01-01')".into(), "ck__service_packages__available_from"),
        (format!("INSERT INTO package_services (id, package_id, service_id) VALUES ('ps', '{missing}', '{s}')"), "FOREIGN KEY"),
        (format!("INSERT INTO services (id, category_id, name, slug, pricing_model, warranty_period_days) VALUES ('s2', '{cat}', 'S', 's2', 'tiered', -1)"), "ck__services__warranty_period_days"),
        (format!("INSERT INTO services (id, category_id, name, slug, pricing_model, requires_permit) VALUES ('s2', '{cat}', 'S', 's2', 'tiered', 7)"), "ck__services__requires_permit"),
        (format!("INSERT INTO services (id, category_id, name, slug, pricing_model, emergency_service) VALUES ('s2', '{cat}', 'S', 's2', 'tiered', 2)"), "ck__services__emergency_service"),
        (format!("UPDATE services SET requires_permit = 7 WHERE id = '{s}'"), "ck__services__requires_permit"),
        (format!("UPDATE services SET warranty_period_days = -5 WHERE id = '{s}'"), "ck__services__warranty_period_days"),
        ("INSERT INTO service_packages (id, name, slug, total_price) VALUES ('k2', 'P2', 'p2', 1)".into(), ""),
        (format!("INSERT INTO package_services (id, package_id, service_id, is_optional) VALUES ('ps2', 'k2', '{s}', 3)"), "ck__package_services__is_optional"),
        (format!("DELETE FROM service_categories WHERE id = '{cat}'"), "FOREIGN KEY"),
        // The consent ledger (decisions.md item 24): checked, and never edited.
        (format!("INSERT INTO customer_consents (id, customer_id, channel, status, cause, recorded_by, recorded_at) VALUES ('k1', '{c}', 'fax', 'opted_out', 'request', 'x', '{ts}')"), "ck__customer_consents__channel"),
        (format!("INSERT INTO customer_consents (id, customer_id, channel, status, cause, recorded_by, recorded_at) VALUES ('k1', '{c}', 'sms', 'maybe', 'request', 'x', '{ts}')"), "ck__customer_consents__status"),
        (format!("INSERT INTO customer_consents (id, customer_id, channel, status, cause, recorded_by, recorded_at) VALUES ('k1', '{missing}', 'sms', 'opted_out', 'request', 'x', '{ts}')"), "FOREIGN KEY"),
        (format!("INSERT INTO customer_consents (id, customer_id, channel, status, cause, conversation_id, recorded_by, recorded_at) VALUES ('k1', '{c}', 'sms', 'opted_out', 'keyword', '{v}', 'x', '{ts}')"), ""),
        ("UPDATE customer_consents SET status = 'opted_in' WHERE id = 'k1'".into(), "ck__customer_consents__never_edited"),
        ("UPDATE customer_consents SET conversation_id = NULL, note = 'x' WHERE id = 'k1'".into(), "ck__customer_consents__never_edited"),
        ("UPDATE customer_consents SET conversation_id = NULL WHERE id = 'k1'".into(), ""),
    ];
    let mut failures = Vec::new();
    for (sql, expected) in &cases {
        match w.execute(sql.as_str()).await {
            // A setup row for the cases after it.
            Ok(_) if expected.is_empty() => {}
            Ok(_) => failures.push(format!("accepted: {sql}")),
            Err(e) if e.to_string().contains(expected) => {}
            Err(e) => failures.push(format!("{sql}\n  expected {expected:?}, got {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases wrong:\n{}", failures.len(), cases.len(), failures.join("\n"));
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn another_programs_catalog_writes_reach_karens_search_snapshot() {
    use karen_core::model::{Service, ServiceCategory};
    use karen_core::query::PageRequest;
    let dir = temp_dir();
    let path = dir.join("k.db");
    let karen = Karen::new(SqliteStore::open_with(&path, 2).await.unwrap());
    let cat = karen
        .create(ServiceCategory { name: "Plumbing".into(), slug: "plumbing".into(), ..Default::default() })
        .await
        .unwrap();
    karen
        .create(Service {
            category_id: cat.id,
            name: "Faucet Repair".into(),
            slug: "faucet-repair".into(),
            keywords: vec!["faucet".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let names = || async {
        let page = karen.search_services(&["faucet"], &PageRequest::first()).await.unwrap();
        page.items.into_iter().map(|h| h.service.name).collect::<Vec<_>>()
    };
    assert_eq!(names().await, vec!["Faucet Repair"]);
    // Another program writes the file with plain SQL; the triggers bump the version.
    let other = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    other.execute("UPDATE services SET name = 'Faucet Fix'").await.unwrap();
    assert_eq!(names().await, vec!["Faucet Fix"]);
    other.execute("UPDATE service_categories SET is_active = 0").await.unwrap();
    assert!(names().await.is_empty());
    other.execute("UPDATE service_categories SET is_active = 1").await.unwrap();
    other.execute("DELETE FROM services").await.unwrap();
    assert!(names().await.is_empty());
    assert_eq!(karen.catalog_loads(), 4);
    other.close().await;
    karen.store().close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// A row another program wrote with a value karen cannot read is corruption (a server error),
/// not invalid input blamed on the caller.
#[tokio::test]
async fn unreadable_stored_rows_are_corruption() {
    let dir = temp_dir();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.join("k.db").display())).await.unwrap();
    let karen = Karen::new(store.clone());
    let c = karen.create(Customer { primary_email: Some("x@example.com".into()), ..Default::default() }).await.unwrap();
    let mut conn = store.writer().acquire().await.unwrap();
    conn.execute("PRAGMA ignore_check_constraints = ON").await.unwrap();
    sqlx::query("UPDATE customers SET status = 'bogus' WHERE id = ?1")
        .bind(c.id.hyphenated().to_string())
        .execute(&mut *conn)
        .await
        .unwrap();
    conn.execute("PRAGMA ignore_check_constraints = OFF").await.unwrap();
    drop(conn);
    match karen.get::<Customer>(c.id).await {
        Err(StoreError::Corrupt { entity: "customer", field, .. }) => assert_eq!(field, "status"),
        other => panic!("expected corruption, got {other:?}"),
    }
    store.close().await;
}

/// Applied migrations are recorded with a checksum: a file whose record was made before
/// checksums gets them filled in, and one whose applied migration differs from this binary's
/// is refused at open.
#[tokio::test]
async fn an_edited_landed_migration_is_refused() {
    let dir = temp_dir();
    let path = dir.join("k.db");
    // A file as an older karen left it: migrated, with a table without checksums.
    let store = SqliteStore::open_with(&path, 1).await.unwrap();
    let w = store.writer();
    w.execute("ALTER TABLE karen_schema_migrations DROP COLUMN checksum").await.unwrap();
    store.close().await;
    let store = SqliteStore::open_with(&path, 1).await.unwrap();
    let recorded: Vec<String> = sqlx::query_scalar("SELECT checksum FROM karen_schema_migrations ORDER BY version")
        .fetch_all(store.writer())
        .await
        .unwrap();
    let expected: Vec<String> = karen_sqlite::MIGRATIONS.iter().map(|m| karen_sql_checksum(m.2)).collect();
    assert_eq!(recorded, expected, "checksums are filled in for migrations applied before they were kept");
    // The file says migration 2 was different SQL: this binary's migration 2 was edited.
    sqlx::query("UPDATE karen_schema_migrations SET checksum = 'sha256:00' WHERE version = 2")
        .execute(store.writer())
        .await
        .unwrap();
    store.close().await;
    let msg = unavailable_message(SqliteStore::open_with(&path, 1).await.unwrap_err());
    assert!(msg.contains("migration 2 (api_tokens) was changed after it was applied"), "{msg}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The checksum of a migration's SQL, computed here independently of karen.
fn karen_sql_checksum(sql: &str) -> String {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(sql.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Another program must be able to open, check and write karen's file: Debian's own `sqlite3`
/// (3.40, older than the SQLite karen links) finds nothing wrong with a populated file, writes a
/// row with empty JSON fields, and is refused invalid JSON by the same CHECKs.
#[tokio::test]
async fn the_system_sqlite3_checks_and_writes_the_file() {
    use karen_core::enums::{Direction, Medium};
    use karen_core::model::Conversation;
    let dir = temp_dir();
    let path = dir.join("k.db");
    let store = SqliteStore::open_with(&path, 1).await.unwrap();
    let karen = Karen::new(store.clone());
    let c = karen.create(Customer { primary_email: Some("a@example.com".into()), ..Default::default() }).await.unwrap();
    karen
        .create(Conversation {
            customer_id: c.id,
            medium: Medium::Sms,
            direction: Direction::Inbound,
            content: "hi".into(),
            message_timestamp: karen.now(),
            ..Default::default()
        })
        .await
        .unwrap();
    store.close().await;
    let sqlite3 = |sql: &str| {
        std::process::Command::new("sqlite3")
            .arg(&path)
            .arg(sql)
            .output()
            .expect("the sqlite3 command runs (.ci/run installs Debian's sqlite3)")
    };
    let version = String::from_utf8_lossy(&sqlite3("SELECT sqlite_version()").stdout).trim().to_string();
    let check = sqlite3("PRAGMA integrity_check");
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok", "sqlite3 {version} checks the file");
    let id = "01234567-89ab-7def-8123-456789abcdef";
    let wrote = sqlite3(&format!("INSERT INTO customers (id, first_name, metadata) VALUES ('{id}', 'Zoë', NULL)"));
    assert!(wrote.status.success(), "sqlite3 {version}: {}", String::from_utf8_lossy(&wrote.stderr));
    let refused = sqlite3("INSERT INTO customers (id, metadata) VALUES ('x', '{not json')");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("ck__customers__metadata"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let karen = Karen::new(SqliteStore::open_with(&path, 1).await.unwrap());
    let read: Customer = karen.get(uuid::Uuid::parse_str(id).unwrap()).await.unwrap();
    assert_eq!(read.first_name.as_deref(), Some("Zoë"));
    karen.store().close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// A file deleted or replaced under a running karen would take every later write with it
/// (SQLite keeps writing to the unlinked file): writes and the readiness check refuse, naming
/// the file, and nothing is written anywhere.
#[tokio::test]
async fn a_file_deleted_while_running_refuses_writes() {
    use karen_core::Store;
    let dir = temp_dir();
    let path = dir.join("k.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display())).await.unwrap();
    let karen = Karen::new(store);
    karen.create(Customer { primary_email: Some("before@example.com".into()), ..Default::default() }).await.unwrap();
    karen.store().ping().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let err = karen.create(Customer { primary_email: Some("after@example.com".into()), ..Default::default() }).await;
    let msg = unavailable_message(err.unwrap_err());
    assert!(msg.contains("was deleted or replaced") && msg.contains("k.db"), "{msg}");
    assert!(msg.contains("restart karen"), "{msg}");
    unavailable_message(karen.store().ping().await.unwrap_err());
    // Replaced by another file at the same path: still refused.
    std::fs::write(&path, b"").unwrap();
    unavailable_message(karen.store().ping().await.unwrap_err());
    assert!(!std::fs::read(&path).unwrap().iter().any(|b| *b != 0), "nothing was written to the new file");
}

/// Migration 12 on a populated file: the messages stored before it are indexed in batches
/// when the file is opened (a run cut short is finished by the next), a message written by
/// another program afterwards is indexed by the triggers, and VACUUM, which may renumber the
/// messages' rowids, leaves the index right.
#[tokio::test]
async fn search_indexes_stored_messages_and_rows_written_by_others() {
    use karen_core::query::{ConversationFilter, PageRequest};
    let dir = temp_dir();
    let path = dir.join("k.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    assert_eq!(karen_sqlite::migrate_to(&pool, 11).await.unwrap(), 11);
    let customer = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO customers (id, first_name) VALUES (?1, 'Dana')")
        .bind(customer.to_string())
        .execute(&pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for i in 0..5_000 {
        let content = if i % 1_000 == 7 { "Our water heater is leaking" } else { "See you on Tuesday" };
        sqlx::query(
            "INSERT INTO conversations (id, customer_id, medium, direction, content, message_timestamp)
             VALUES (?1, ?2, 'sms', 'inbound', ?3, ?4)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(customer.to_string())
        .bind(content)
        .bind(format!("2026-01-01T00:00:{:02}.{:06}Z", i / 1_000_000, i % 1_000_000))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    // A cut-short backfill: version 12 applied, only part of the messages indexed.
    assert_eq!(karen_sqlite::migrate_to(&pool, 12).await.unwrap(), 1);
    sqlx::query("INSERT INTO conversation_fts (conversation_fts) VALUES ('delete-all')").execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM conversation_search_ids WHERE rowid > 2500").execute(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO conversation_fts (rowid, subject, content)
         SELECT doc_id, subject, content FROM conversation_search_docs",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = SqliteStore::open_with(&path, 2).await.unwrap();
    let indexed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM conversation_search_ids").fetch_one(store.writer()).await.unwrap();
    assert_eq!(indexed, 5_000, "every stored message is indexed on open");
    let karen = Karen::new(store);
    // Searches of everyone ask the FTS5 index (a customer's search reads their messages).
    let filter = ConversationFilter::default();
    let search = |q: &'static str| {
        let (karen, filter) = (&karen, &filter);
        async move {
            let (mut n, mut page) = (0, PageRequest::of(500));
            loop {
                let p = karen.search_conversations(q, filter, &page).await.unwrap();
                n += p.items.len();
                match p.next_cursor {
                    Some(c) => page = PageRequest::after(c, 500),
                    None => return n,
                }
            }
        }
    };
    assert_eq!(search("leaks").await, 5);

    // Another program writes, edits and deletes messages; the triggers follow.
    let w = karen.store().writer();
    let other = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO conversations (id, customer_id, medium, direction, content, message_timestamp)
         VALUES (?1, ?2, 'email', 'inbound', 'The faucet drips', '2026-02-01T00:00:00.000000Z')",
    )
    .bind(&other)
    .bind(customer.to_string())
    .execute(w)
    .await
    .unwrap();
    assert_eq!(search("faucets").await, 1);
    sqlx::query("UPDATE conversations SET content = 'The faucet is leaking' WHERE id = ?1")
        .bind(&other)
        .execute(w)
        .await
        .unwrap();
    assert_eq!((search("leaking").await, search("drips").await), (6, 0));
    sqlx::query("DELETE FROM conversations WHERE content = 'See you on Tuesday' AND rowid % 2 = 0")
        .execute(w)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations WHERE content = 'See you on Tuesday'")
        .fetch_one(w)
        .await
        .unwrap();
    assert!(left < 4_995);
    sqlx::query("VACUUM").execute(w).await.unwrap();
    assert_eq!((search("leaking").await, search("tuesday").await), (6, left as usize));
    sqlx::query("INSERT INTO conversation_fts (conversation_fts, rank) VALUES ('integrity-check', 1)")
        .execute(w)
        .await
        .unwrap();
    karen.store().close().await;
    std::fs::remove_dir_all(dir).unwrap();
}
