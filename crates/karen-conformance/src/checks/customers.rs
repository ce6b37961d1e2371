//! Customers: CRUD, validation, identity rules, lookups, listing and the erasing delete.

use chrono::Duration;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::query::PageRequest;
use karen_core::{Store, Value};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

/// Create assigns a UUIDv7 and the store's timestamps; update changes only what it names and
/// moves `updated_at`; delete removes the row.
pub async fn crud_and_timestamps<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    k.store().ping().await.expect("the store answers");
    assert!(["postgres", "sqlite", "firestore"].contains(&k.store().backend()));
    let t0 = k.now();
    let c = k
        .create(Customer {
            billing_address: Some(json!({"street": "1 Atlantic Ave", "city": "Virginia Beach"})),
            tags: vec!["vip-lead".into(), "kitchen".into()],
            lifetime_value: dec("1250.5"),
            ..customer("ann@example.com")
        })
        .await
        .unwrap();
    assert_eq!(c.id.get_version_num(), 7, "karen generates UUIDv7");
    assert_eq!((c.created_at, c.updated_at), (t0, t0));
    assert_eq!(c.customer_since, Some(t0.date_naive()));
    assert_eq!(c.lifetime_value.to_string(), "1250.50");
    assert_eq!(c.customer_type, CustomerType::Individual);
    let got: Customer = k.get(c.id).await.unwrap();
    assert_same(&got, &c);
    let plain = k.create(Customer::default()).await.unwrap();
    assert_eq!(plain.lifetime_value.to_string(), "0.00", "defaults are stored at the column's scale");
    assert_same(&k.get::<Customer>(plain.id).await.unwrap(), &plain);
    k.delete::<Customer>(plain.id).await.unwrap();

    ctx.clock.advance(Duration::seconds(90));
    let patch = json!({"first_name": "Anna", "tags": [], "status": "inactive"});
    let updated: Customer = k.update(c.id, patch.as_object().unwrap()).await.unwrap();
    assert_eq!(updated.first_name.as_deref(), Some("Anna"));
    assert_eq!(updated.status, CustomerStatus::Inactive);
    assert!(updated.tags.is_empty());
    assert_eq!(updated.last_name, c.last_name, "fields not named are kept");
    assert_eq!(updated.created_at, t0);
    assert_eq!(updated.updated_at, t0 + Duration::seconds(90), "updated_at is maintained by the store");
    assert_same(&k.get::<Customer>(c.id).await.unwrap(), &updated);

    k.delete::<Customer>(c.id).await.unwrap();
    assert_not_found(k.get::<Customer>(c.id).await);
    assert_not_found(k.delete::<Customer>(c.id).await);
}

/// Every rule names its field, and a rejected write leaves nothing behind.
pub async fn validation_names_the_field_and_writes_nothing<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let base = customer("bob@example.com");
    let cases: Vec<(Customer, &str)> = vec![
        (Customer { primary_email: Some("not-an-email".into()), ..base.clone() }, "primary_email"),
        (Customer { secondary_email: Some("a@b".into()), ..base.clone() }, "secondary_email"),
        (Customer { primary_phone: Some("555-0100".into()), ..base.clone() }, "primary_phone"),
        (Customer { secondary_phone: Some("call me".into()), ..base.clone() }, "secondary_phone"),
        (Customer { first_name: Some("x".repeat(101)), ..base.clone() }, "first_name"),
        (Customer { company_name: Some("x".repeat(201)), ..base.clone() }, "company_name"),
        (Customer { external_id: Some("x".repeat(256)), ..base.clone() }, "external_id"),
        (Customer { lifetime_value: dec("-1"), ..base.clone() }, "lifetime_value"),
        (Customer { lifetime_value: dec("1.001"), ..base.clone() }, "lifetime_value"),
        (Customer { lifetime_value: dec("100000000"), ..base.clone() }, "lifetime_value"),
        (Customer { total_jobs: -1, ..base.clone() }, "total_jobs"),
        (Customer { billing_address: Some(json!("1 Main St")), ..base.clone() }, "billing_address"),
        (Customer { tags: vec!["".into()], ..base.clone() }, "tags[0]"),
        (Customer { notes: Some("a\0b".into()), ..base.clone() }, "notes"),
        (Customer { tags: vec!["a\0".into()], ..base.clone() }, "tags"),
        (Customer { metadata: Some(json!({"k": ["x\u{0}"]})), ..base.clone() }, "metadata"),
    ];
    for (bad, field) in cases {
        assert_invalid(k.create(bad).await, field);
    }
    assert!(all::<Customer, S>(k, &[]).await.is_empty(), "no rejected customer was written");

    let c = k.create(base).await.unwrap();
    let patches = [
        (json!({"customer_tier": "gold"}), "customer_tier"),
        (json!({"primary_phone": "12"}), "primary_phone"),
        (json!({"total_jobs": 3_000_000_000u64}), "total_jobs"),
        (json!({"id": Uuid::now_v7()}), "id"),
        (json!({"created_at": "2020-01-01T00:00:00Z"}), "created_at"),
        (json!({"favourite_colour": "blue"}), "favourite_colour"),
        (json!({"first_name": "Ok", "lifetime_value": "-5"}), "lifetime_value"),
    ];
    for (patch, field) in patches {
        assert_invalid(k.update::<Customer>(c.id, patch.as_object().unwrap()).await, field);
    }
    assert_eq!(k.get::<Customer>(c.id).await.unwrap(), c, "rejected updates changed nothing");
}

/// `primary_email` is unique case-insensitively and stored as given; `external_id` is unique.
pub async fn email_is_unique_case_insensitively<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let a = k.create(customer("Ann.Lee@Example.com")).await.unwrap();
    assert_eq!(a.primary_email.as_deref(), Some("Ann.Lee@Example.com"));
    assert_conflict(k.create(customer("ann.lee@example.COM")).await, "primary_email");
    let b = k.create(Customer { external_id: Some("crm-1".into()), ..customer("b@example.com") }).await.unwrap();
    assert_conflict(
        k.create(Customer { external_id: Some("crm-1".into()), ..customer("c@example.com") }).await,
        "external_id",
    );
    let patch = json!({"primary_email": "ANN.LEE@example.com"});
    assert_conflict(k.update::<Customer>(b.id, patch.as_object().unwrap()).await, "primary_email");
    // Customers without e-mail do not collide.
    k.create(Customer { primary_email: None, ..Default::default() }).await.unwrap();
    k.create(Customer { primary_email: None, ..Default::default() }).await.unwrap();
    assert_eq!(all::<Customer, S>(k, &[]).await.len(), 4);
}

/// Lookups by e-mail (any case), phone (any common form, primary or secondary) and external id.
pub async fn lookups_by_email_phone_and_external_id<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let a = k
        .create(Customer {
            primary_phone: Some("(757) 555-0101".into()),
            external_id: Some("gmail:ann".into()),
            ..customer("ann@example.com")
        })
        .await
        .unwrap();
    assert_eq!(a.primary_phone.as_deref(), Some("+17575550101"), "phones are stored in E.164");
    let b = k
        .create(Customer {
            primary_phone: Some("+1 757 555 0102".into()),
            secondary_phone: Some("757.555.0101".into()),
            ..customer("bob@example.com")
        })
        .await
        .unwrap();
    assert_eq!(k.customer_by_email("ANN@example.COM").await.unwrap().id, a.id);
    assert_not_found(k.customer_by_email("nobody@example.com").await);
    assert_invalid(k.customer_by_email("nonsense").await, "email");
    let by_phone: Vec<Uuid> = k.customers_by_phone("757-555-0101").await.unwrap().iter().map(|c| c.id).collect();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(by_phone, expected, "primary and secondary phones match, ordered by id");
    assert!(k.customers_by_phone("+17575559999").await.unwrap().is_empty());
    assert_invalid(k.customers_by_phone("x").await, "phone");
    assert_eq!(k.customer_by_external_id("gmail:ann").await.unwrap().id, a.id);
    assert_not_found(k.customer_by_external_id("gmail:nobody").await);
}

/// Id-ordered listing: pages never skip or repeat, filters apply, bad cursors and limits are
/// invalid input.
pub async fn list_pages_filters_and_cursors<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let mut ids = Vec::new();
    for i in 0..7 {
        let tier = if i % 2 == 0 { CustomerTier::Vip } else { CustomerTier::Standard };
        ids.push(
            k.create(Customer { customer_tier: tier, ..customer(&format!("c{i}@example.com")) }).await.unwrap().id,
        );
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut page = PageRequest::of(3);
    let mut pages = 0;
    loop {
        let p = k.list::<Customer>(&[], &page).await.unwrap();
        pages += 1;
        assert!(p.items.len() <= 3);
        seen.extend(p.items.iter().map(|c| c.id));
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 3),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every row once, in id order");
    let vips = all::<Customer, S>(k, &[("customer_tier", Value::Text("vip".into()))]).await;
    assert_eq!(vips.len(), 4);
    assert!(vips.iter().all(|c| c.customer_tier == CustomerTier::Vip));
    assert_invalid(k.list::<Customer>(&[], &PageRequest::after("garbage", 3)).await, "cursor");
    assert_invalid(k.list::<Customer>(&[], &PageRequest::of(0)).await, "limit");
    assert_invalid(k.list::<Customer>(&[], &PageRequest::of(501)).await, "limit");
    assert_invalid(k.list::<Customer>(&[("notes", Value::Text("x".into()))], &PageRequest::first()).await, "notes");
}

/// Reads, updates and deletes of ids that do not exist are not-found errors.
pub async fn missing_rows_are_not_found<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let id = Uuid::now_v7();
    assert_not_found(k.get::<Customer>(id).await);
    assert_not_found(k.get::<Conversation>(id).await);
    assert_not_found(k.get::<ServicePackage>(id).await);
    let patch = json!({"first_name": "x"});
    assert_not_found(k.update::<Customer>(id, patch.as_object().unwrap()).await);
    assert_not_found(k.delete::<CustomerPreference>(id).await);
    assert_not_found(k.delete::<PackageService>(id).await);
}

/// Deleting a customer removes their preferences, messages and attachments, and nothing of
/// anyone else (decisions.md item 17); another customer's preference learned from one of the
/// deleted messages survives with its link cleared.
pub async fn delete_erases_everything_of_the_customer_and_nothing_else<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let a = k.create(customer("a@example.com")).await.unwrap();
    let b = k.create(customer("b@example.com")).await.unwrap();
    let mut a_msgs = Vec::new();
    for (who, msgs) in [(&a, &mut a_msgs), (&b, &mut Vec::new())] {
        for i in 0..5 {
            let m =
                k.create(message(who.id, Medium::Email, Direction::Inbound, now - Duration::minutes(i))).await.unwrap();
            k.create(ConversationAttachment {
                conversation_id: m.id,
                file_name: "faucet.jpg".into(),
                ..Default::default()
            })
            .await
            .unwrap();
            msgs.push(m);
        }
        k.upsert_preference(preference(who.id, "preferred_channel", json!("email"), PreferenceMedium::General))
            .await
            .unwrap();
        k.upsert_preference(preference(who.id, "language", json!("en"), PreferenceMedium::Sms)).await.unwrap();
    }
    // karen refuses a preference learned from another customer's message; one that another
    // program wrote (or an import restored) is unlinked, not deleted, with that message.
    let b_learned = k
        .restore(CustomerPreference {
            id: Uuid::now_v7(),
            learned_from_interaction_id: Some(a_msgs[0].id),
            created_at: k.now(),
            updated_at: k.now(),
            ..preference(b.id, "detail_level", json!("brief"), PreferenceMedium::General)
        })
        .await
        .unwrap();

    k.delete::<Customer>(a.id).await.unwrap();

    assert_not_found(k.get::<Customer>(a.id).await);
    let cid = |c: &Customer| ("customer_id", Value::Uuid(c.id));
    assert!(all::<CustomerPreference, S>(k, &[cid(&a)]).await.is_empty());
    assert!(all::<Conversation, S>(k, &[cid(&a)]).await.is_empty());
    for m in &a_msgs {
        assert!(all::<ConversationAttachment, S>(k, &[("conversation_id", Value::Uuid(m.id))]).await.is_empty());
    }
    assert_eq!(all::<CustomerPreference, S>(k, &[cid(&b)]).await.len(), 3, "b keeps every preference");
    let b_msgs = all::<Conversation, S>(k, &[cid(&b)]).await;
    assert_eq!(b_msgs.len(), 5);
    for m in &b_msgs {
        assert_eq!(all::<ConversationAttachment, S>(k, &[("conversation_id", Value::Uuid(m.id))]).await.len(), 1);
    }
    let kept: CustomerPreference = k.get(b_learned.id).await.unwrap();
    assert_eq!(kept.learned_from_interaction_id, None, "link to the erased message is cleared");
}

/// API tokens: scopes are checked, the hash is unique and immutable, revoking disables.
pub async fn api_tokens<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let token = |name: &str, scopes: &[&str], token_hash: &str| ApiToken {
        name: name.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        token_hash: token_hash.into(),
        ..Default::default()
    };
    let hash = format!("sha256:{}", "0f".repeat(32));
    let other = format!("sha256:{}", "1".repeat(64));
    let t = k.create(token("agent", &["write", "read"], &hash)).await.unwrap();
    assert_eq!(t.scopes, vec!["read", "write"], "scopes are kept in order, once");
    assert!(t.allows(Scope::Read) && t.allows(Scope::Write) && !t.allows(Scope::Admin));
    let found = all::<ApiToken, S>(k, &[("token_hash", Value::Text(hash.clone()))]).await;
    assert_eq!(found, vec![t.clone()]);
    assert_conflict(k.create(token("copy", &["read"], &hash)).await, "token_hash");
    assert_invalid(k.create(token("x", &["root"], &other)).await, "scopes");
    assert_invalid(k.create(token("x", &[], &other)).await, "scopes");
    assert_invalid(k.create(token("x", &["read"], "plain")).await, "token_hash");
    assert_invalid(
        k.update::<ApiToken>(t.id, json!({"token_hash": format!("sha256:{}", "2".repeat(64))}).as_object().unwrap())
            .await,
        "token_hash",
    );
    let revoked: ApiToken = k.update(t.id, json!({"revoked_at": k.now()}).as_object().unwrap()).await.unwrap();
    assert!(!revoked.allows(Scope::Read), "a revoked token allows nothing");
}

/// The bulk path stores every row exactly as given, or none of them.
pub async fn bulk_restore_is_all_or_nothing<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let at = k.now() - Duration::days(3);
    let rows: Vec<Customer> = (0..120)
        .map(|i| Customer {
            id: Uuid::now_v7(),
            created_at: at,
            updated_at: at,
            customer_since: Some(at.date_naive()),
            lifetime_value: dec("0.00"),
            ..customer(&format!("bulk{i}@example.com"))
        })
        .collect();
    k.restore_many(rows.clone()).await.unwrap();
    let stored = all::<Customer, S>(k, &[]).await;
    assert_eq!(stored.len(), 120);
    assert_same(&stored[7], &rows[7]);
    // Text that bulk formats treat specially arrives unchanged.
    let tricky = Customer {
        id: Uuid::now_v7(),
        created_at: at,
        updated_at: at,
        lifetime_value: dec("0.00"),
        notes: Some("tab\there\\ back\\slash \\N \\. line\nbreak\r\n \"quoted\" é 🚰".into()),
        tags: vec!["a,b".into(), "{brace}".into(), "say \"hi\"".into(), "back\\slash".into(), "NULL".into()],
        metadata: Some(json!({"k": "v\tw\\x", "n": [1, 2]})),
        ..customer("tricky@example.com")
    };
    k.restore_many(vec![tricky.clone()]).await.unwrap();
    assert_same(&k.get::<Customer>(tricky.id).await.unwrap(), &tricky);
    // A batch with one duplicate e-mail writes nothing.
    let mut bad: Vec<Customer> =
        (0..5).map(|i| Customer { id: Uuid::now_v7(), ..customer(&format!("new{i}@example.com")) }).collect();
    bad.push(Customer { id: Uuid::now_v7(), ..customer("BULK3@example.com") });
    let err = k.restore_many(bad).await;
    assert_conflict(err, "primary_email");
    assert_eq!(
        all::<Customer, S>(k, &[]).await.len(),
        121,
        "nothing of the failed batch was written (120 + the tricky one)"
    );
    assert_invalid(
        k.restore_many(vec![Customer { id: Uuid::now_v7(), primary_email: Some("x".into()), ..Default::default() }])
            .await,
        "primary_email",
    );
    // A batch may refer to rows earlier in the same batch (a category tree, parents first),
    // but not to rows that exist nowhere.
    let root = ServiceCategory { id: Uuid::now_v7(), created_at: at, updated_at: at, ..category("Bulk Root", None) };
    let child =
        ServiceCategory { id: Uuid::now_v7(), created_at: at, updated_at: at, ..category("Bulk Child", Some(root.id)) };
    k.restore_many(vec![root.clone(), child.clone()]).await.unwrap();
    assert_eq!(k.category_ancestors(child.id).await.unwrap()[0].id, root.id);
    let orphan = ServiceCategory { id: Uuid::now_v7(), ..category("Bulk Orphan", Some(Uuid::now_v7())) };
    assert_reference(k.restore_many(vec![orphan]).await, "parent_category_id");
}

/// A cursor opens only the listing that made it: another entity's listing, the same listing
/// with other filters, another customer's history or another medium's are refused naming
/// `cursor`; the listing that made it goes on from it.
pub async fn cursors_belong_to_their_listing<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let a = k.create(customer("a@example.com")).await.unwrap();
    let b = k.create(customer("b@example.com")).await.unwrap();
    for i in 0..3 {
        let at = k.now() - Duration::minutes(i);
        k.create(message(a.id, Medium::Sms, Direction::Inbound, at)).await.unwrap();
        k.create(message(b.id, Medium::Sms, Direction::Inbound, at)).await.unwrap();
    }
    let first = k.list::<Customer>(&[], &PageRequest::of(1)).await.unwrap();
    let c = first.next_cursor.expect("more customers");
    let next = k.list::<Customer>(&[], &PageRequest::after(c.clone(), 1)).await.unwrap();
    assert_ne!(next.items[0].id, first.items[0].id, "the listing goes on from its cursor");
    assert_invalid(k.list::<ApiToken>(&[], &PageRequest::after(c.clone(), 1)).await, "cursor");
    let active = [("status", Value::Text("active".into()))];
    assert_invalid(k.list::<Customer>(&active, &PageRequest::after(c.clone(), 1)).await, "cursor");
    let h = k.history(a.id, Some(Medium::Sms), &PageRequest::of(1)).await.unwrap();
    let hc = h.next_cursor.expect("more messages");
    assert_eq!(k.history(a.id, Some(Medium::Sms), &PageRequest::after(hc.clone(), 1)).await.unwrap().items.len(), 1);
    assert_invalid(k.history(b.id, Some(Medium::Sms), &PageRequest::after(hc.clone(), 1)).await, "cursor");
    assert_invalid(k.history(a.id, None, &PageRequest::after(hc.clone(), 1)).await, "cursor");
    assert_invalid(k.history(a.id, Some(Medium::Sms), &PageRequest::after(c, 1)).await, "cursor");
}
