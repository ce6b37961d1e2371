//! One file, 8 concurrent writers and 8 concurrent readers for 30 seconds (KAREN_SOAK_SECONDS
//! to change it): no error of any kind ("database is locked" included), and every acknowledged
//! write is there at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use karen_core::enums::{Direction, Medium, PreferenceMedium, PreferenceSource, PreferenceType};
use karen_core::model::{Conversation, Customer, CustomerPreference};
use karen_core::query::PageRequest;
use karen_core::{Karen, Value};
use karen_sqlite::SqliteStore;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_and_eight_readers_lose_nothing() {
    let seconds: u64 = std::env::var("KAREN_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let dir = std::env::temp_dir().join(format!("karen-soak-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let karen = Arc::new(Karen::new(SqliteStore::open_with(&dir.join("k.db"), 8).await.unwrap()));
    let mut customers = Vec::new();
    for i in 0..8 {
        let c = karen
            .create(Customer { primary_email: Some(format!("w{i}@example.com")), ..Default::default() })
            .await
            .unwrap();
        customers.push(c.id);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let written = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (w, customer_id) in customers.iter().copied().enumerate() {
        let (karen, written) = (karen.clone(), written.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let msg = Conversation {
                    customer_id,
                    external_id: Some(format!("soak-{w}-{n}")),
                    medium: Medium::Sms,
                    direction: Direction::Inbound,
                    content: format!("message {n} from writer {w}"),
                    message_timestamp: karen.now(),
                    ..Default::default()
                };
                let (_, created) = karen.record_message(msg).await.map_err(|e| format!("writer {w}: {e}"))?;
                assert!(created);
                karen
                    .upsert_preference(CustomerPreference {
                        customer_id,
                        preference_type: PreferenceType::Custom,
                        preference_key: "last_seen".into(),
                        preference_value: json!({ "value": n }),
                        source: PreferenceSource::Learned,
                        medium: PreferenceMedium::General,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| format!("writer {w}: {e}"))?;
                n += 1;
                written.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(usize, u64), String>((w, n))
        }));
    }
    for (r, customer_id) in customers.iter().copied().enumerate() {
        let (karen, reads) = (karen.clone(), reads.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                karen
                    .history(customer_id, Some(Medium::Sms), &PageRequest::first())
                    .await
                    .map_err(|e| format!("reader {r}: {e}"))?;
                karen.preferences(customer_id, None).await.map_err(|e| format!("reader {r}: {e}"))?;
                reads.fetch_add(1, Ordering::Relaxed);
            }
            Ok((usize::MAX, 0))
        }));
    }
    let mut per_writer = Vec::new();
    for t in tasks {
        let (w, n) = t.await.expect("task").expect("no operation failed");
        if w != usize::MAX {
            per_writer.push((w, n));
        }
    }
    let total = written.load(Ordering::Relaxed);
    assert!(total > 0 && reads.load(Ordering::Relaxed) > 0);
    for (w, n) in per_writer {
        let filters = [("customer_id", Value::Uuid(customers[w]))];
        let mut stored = 0u64;
        let mut page = PageRequest::of(500);
        loop {
            let p = karen.list::<Conversation>(&filters, &page).await.unwrap();
            stored += p.items.len() as u64;
            match p.next_cursor {
                Some(c) => page = PageRequest::after(c, 500),
                None => break,
            }
        }
        assert_eq!(stored, n, "writer {w}: every acknowledged message is stored");
        let prefs = karen.preferences(customers[w], None).await.unwrap();
        assert_eq!(prefs.len(), 1);
        assert_eq!(prefs[0].preference_value, json!({ "value": n - 1 }), "writer {w}: the last upsert won");
    }
    println!("soak: {seconds} s, {total} message+preference writes, {} read rounds", reads.load(Ordering::Relaxed));
    karen.store().close().await;
    std::fs::remove_dir_all(dir).unwrap();
}
