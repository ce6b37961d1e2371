//! The service catalog: the category tree, services, tiers, packages and keyword search.

use std::sync::Arc;

use chrono::NaiveDate;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::query::{search_terms, ListQuery, PageRequest, ServiceHit};
use karen_core::{Karen, Store, Value};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

/// Names and slugs are unique; slugs have their form; children and ancestors come in order.
pub async fn categories_unique_and_tree<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let root = k.create(category("Plumbing Services", None)).await.unwrap();
    assert_eq!(root.slug, "plumbing-services");
    assert_conflict(
        k.create(ServiceCategory { slug: "other".into(), ..category("Plumbing Services", None) }).await,
        "name",
    );
    assert_conflict(
        k.create(ServiceCategory { slug: "plumbing-services".into(), ..category("Other", None) }).await,
        "slug",
    );
    assert_invalid(k.create(ServiceCategory { slug: "Bad Slug".into(), ..category("Bad", None) }).await, "slug");
    assert_invalid(k.create(category("", None)).await, "name");
    assert_invalid(k.create(category(&"n".repeat(101), None)).await, "name");
    assert_reference(k.create(category("Orphan", Some(Uuid::now_v7()))).await, "parent_category_id");
    let b = k.create(ServiceCategory { sort_order: 2, ..category("Faucets", Some(root.id)) }).await.unwrap();
    let a = k.create(ServiceCategory { sort_order: 1, ..category("Drains", Some(root.id)) }).await.unwrap();
    let c = k.create(ServiceCategory { sort_order: 2, ..category("Disposals", Some(root.id)) }).await.unwrap();
    let leaf = k.create(category("Kitchen Faucets", Some(b.id))).await.unwrap();
    let electrical = k.create(ServiceCategory { sort_order: -1, ..category("Electrical", None) }).await.unwrap();
    let kids: Vec<Uuid> = k.category_children(Some(root.id)).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(kids, vec![a.id, c.id, b.id], "by sort_order, then name");
    let roots: Vec<Uuid> = k.category_children(None).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(roots, vec![electrical.id, root.id]);
    assert_not_found(k.category_children(Some(Uuid::now_v7())).await);
    let up: Vec<Uuid> = k.category_ancestors(leaf.id).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(up, vec![b.id, root.id], "nearest first");
    assert!(k.category_ancestors(root.id).await.unwrap().is_empty());
    assert_not_found(k.category_ancestors(Uuid::now_v7()).await);
    let listed = all::<ServiceCategory, S>(k, &[("parent_category_id", Value::Uuid(root.id))]).await;
    assert_eq!(listed.len(), 3);
}

/// A category cannot become its own ancestor, and the tree is at most 8 levels deep.
pub async fn category_cycles_and_depth<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let mut chain = vec![k.create(category("Level 1", None)).await.unwrap()];
    for depth in 2..=8 {
        let parent = chain.last().unwrap().id;
        chain.push(k.create(category(&format!("Level {depth}"), Some(parent))).await.unwrap());
    }
    assert_invalid(k.create(category("Level 9", Some(chain[7].id))).await, "parent_category_id");
    let set_parent = |p: Uuid| json!({ "parent_category_id": p }).as_object().unwrap().clone();
    assert_invalid(k.update::<ServiceCategory>(chain[0].id, &set_parent(chain[0].id)).await, "parent_category_id");
    assert_invalid(k.update::<ServiceCategory>(chain[0].id, &set_parent(chain[5].id)).await, "parent_category_id");
    assert_invalid(k.update::<ServiceCategory>(chain[2].id, &set_parent(chain[6].id)).await, "parent_category_id");
    // Moving a subtree of height 3 under a node of depth 6 would make depth 9.
    let other = k.create(category("Other", None)).await.unwrap();
    let mid = k.create(category("Mid", Some(other.id))).await.unwrap();
    k.create(category("Low", Some(mid.id))).await.unwrap();
    assert_invalid(k.update::<ServiceCategory>(other.id, &set_parent(chain[5].id)).await, "parent_category_id");
    let moved: ServiceCategory = k.update(other.id, &set_parent(chain[4].id)).await.unwrap();
    assert_eq!(moved.parent_category_id, Some(chain[4].id));
    assert_eq!(k.category_ancestors(chain[0].id).await.unwrap().len(), 0, "the root did not move");
}

/// A category with children or services cannot be deleted (decisions.md item 1).
pub async fn category_delete_is_restricted<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let root = k.create(category("Root", None)).await.unwrap();
    let child = k.create(category("Child", Some(root.id))).await.unwrap();
    let svc = k.create(service(child.id, "Fix It", &["fix"])).await.unwrap();
    assert_in_use(k.delete::<ServiceCategory>(root.id).await, "parent_category_id");
    assert_in_use(k.delete::<ServiceCategory>(child.id).await, "category_id");
    k.delete::<Service>(svc.id).await.unwrap();
    k.delete::<ServiceCategory>(child.id).await.unwrap();
    k.delete::<ServiceCategory>(root.id).await.unwrap();
    assert!(all::<ServiceCategory, S>(k, &[]).await.is_empty());
}

/// Service rules: pricing model requirements, charge range, difficulty, duration, currency,
/// unique slug, an existing category.
pub async fn services_rules<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let cat = k.create(category("Plumbing", None)).await.unwrap();
    let s = k
        .create(Service {
            short_description: Some("Fix leaky faucets, replace old fixtures".into()),
            base_price: Some(dec("85")),
            minimum_charge: Some(dec("85.00")),
            maximum_charge: Some(dec("350.00")),
            estimated_duration_minutes: Some(120),
            difficulty_level: Some(2),
            emergency_service: true,
            availability_zones: vec!["virginia_beach".into(), "norfolk".into()],
            required_tools: vec!["wrench_set".into()],
            metadata: Some(json!({"popular_brands": ["Moen", "Delta"]})),
            created_by: "admin".into(),
            ..service(cat.id, "Faucet Repair & Replacement", &["faucet repair", "leaky faucet"])
        })
        .await
        .unwrap();
    assert_eq!(s.slug, "faucet-repair-replacement");
    assert_eq!(s.base_price, Some(dec("85.00")));
    assert_eq!((s.currency.as_str(), s.warranty_period_days), ("USD", 90));
    assert_same(&k.get::<Service>(s.id).await.unwrap(), &s);
    let ok = service(cat.id, "Drain Cleaning", &["drain"]);
    let cases: Vec<(Service, &str)> = vec![
        (Service { pricing_model: PricingModel::Fixed, ..ok.clone() }, "base_price"),
        (Service { pricing_model: PricingModel::Hourly, ..ok.clone() }, "hourly_rate"),
        (Service { minimum_charge: Some(dec("10")), maximum_charge: Some(dec("5")), ..ok.clone() }, "minimum_charge"),
        (Service { base_price: Some(dec("-1")), ..ok.clone() }, "base_price"),
        (Service { hourly_rate: Some(dec("12.345")), ..ok.clone() }, "hourly_rate"),
        (Service { difficulty_level: Some(6), ..ok.clone() }, "difficulty_level"),
        (Service { estimated_duration_minutes: Some(0), ..ok.clone() }, "estimated_duration_minutes"),
        (Service { currency: "usd".into(), ..ok.clone() }, "currency"),
        (Service { slug: "drain_cleaning".into(), ..ok.clone() }, "slug"),
        (Service { name: "n".repeat(201), ..ok.clone() }, "name"),
        (Service { short_description: Some("d".repeat(501)), ..ok.clone() }, "short_description"),
        (Service { warranty_period_days: -1, ..ok.clone() }, "warranty_period_days"),
    ];
    for (bad, field) in cases {
        assert_invalid(k.create(bad).await, field);
    }
    assert_conflict(k.create(Service { slug: s.slug.clone(), ..ok.clone() }).await, "slug");
    assert_reference(k.create(Service { category_id: Uuid::now_v7(), ..ok.clone() }).await, "category_id");
    assert_eq!(all::<Service, S>(k, &[]).await.len(), 1);
    let upd: Service =
        k.update(s.id, json!({"pricing_model": "hourly", "hourly_rate": 65}).as_object().unwrap()).await.unwrap();
    assert_eq!(upd.hourly_rate, Some(dec("65.00")));
    assert_invalid(k.update::<Service>(s.id, json!({"hourly_rate": null}).as_object().unwrap()).await, "hourly_rate");
}

/// Tiers: at most one default per service, quantity range, price rules, cascade with the service.
pub async fn pricing_tiers<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let cat = k.create(category("Plumbing", None)).await.unwrap();
    let s = k.create(service(cat.id, "Faucet Repair", &["faucet"])).await.unwrap();
    let s2 = k.create(service(cat.id, "Toilet Repair", &["toilet"])).await.unwrap();
    let tier = |name: &str, price: &str, default: bool| ServicePricingTier {
        service_id: s.id,
        tier_name: name.into(),
        price: dec(price),
        is_default: default,
        unit: Some(TierUnit::Each),
        ..Default::default()
    };
    let basic =
        k.create(ServicePricingTier { max_quantity: Some(1), ..tier("Basic Repair", "85", true) }).await.unwrap();
    assert_eq!((basic.min_quantity, basic.price), (1, dec("85.00")));
    k.create(tier("Replacement", "225", false)).await.unwrap();
    assert_conflict(k.create(tier("Premium", "350", true)).await, "default");
    k.create(ServicePricingTier { service_id: s2.id, ..tier("Basic", "95", true) }).await.unwrap();
    assert_invalid(
        k.create(ServicePricingTier { min_quantity: 2, max_quantity: Some(1), ..tier("X", "1", false) }).await,
        "max_quantity",
    );
    assert_invalid(k.create(ServicePricingTier { min_quantity: -1, ..tier("X", "1", false) }).await, "min_quantity");
    assert_invalid(k.create(tier("X", "-0.01", false)).await, "price");
    assert_invalid(k.create(tier("", "1", false)).await, "tier_name");
    assert_reference(
        k.create(ServicePricingTier { service_id: Uuid::now_v7(), ..tier("X", "1", false) }).await,
        "service_id",
    );
    assert_invalid(
        k.update::<ServicePricingTier>(basic.id, json!({"unit": "yard"}).as_object().unwrap()).await,
        "unit",
    );
    assert_eq!(all::<ServicePricingTier, S>(k, &[("service_id", Value::Uuid(s.id))]).await.len(), 2);
    k.delete::<Service>(s.id).await.unwrap();
    assert!(all::<ServicePricingTier, S>(k, &[("service_id", Value::Uuid(s.id))]).await.is_empty());
    assert_eq!(all::<ServicePricingTier, S>(k, &[]).await.len(), 1, "only the deleted service's tiers went");
}

/// Packages and their services: rules, uniqueness, detail order, cascades.
pub async fn packages_and_their_services<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let cat = k.create(category("Plumbing", None)).await.unwrap();
    let faucet = k.create(service(cat.id, "Faucet Repair", &["faucet"])).await.unwrap();
    let drain = k.create(service(cat.id, "Drain Cleaning", &["drain"])).await.unwrap();
    let date = |s: &str| s.parse::<NaiveDate>().unwrap();
    let pkg = k
        .create(ServicePackage {
            name: "Kitchen Plumbing Refresh".into(),
            slug: "kitchen-plumbing-refresh".into(),
            total_price: dec("275"),
            savings_amount: dec("50"),
            estimated_duration_hours: Some(dec("4.5")),
            is_featured: true,
            available_from: Some(date("2025-01-01")),
            available_until: Some(date("2025-12-31")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((pkg.package_type, pkg.validity_period_days), (PackageType::Bundle, 365));
    assert_eq!(pkg.estimated_duration_hours, Some(dec("4.50")));
    let ok = ServicePackage { name: "P".into(), slug: "p".into(), total_price: dec("1"), ..Default::default() };
    let cases: Vec<(ServicePackage, &str)> = vec![
        (ServicePackage { total_price: dec("-1"), ..ok.clone() }, "total_price"),
        (ServicePackage { savings_amount: dec("-1"), ..ok.clone() }, "savings_amount"),
        (ServicePackage { estimated_duration_hours: Some(dec("0")), ..ok.clone() }, "estimated_duration_hours"),
        (ServicePackage { estimated_duration_hours: Some(dec("100")), ..ok.clone() }, "estimated_duration_hours"),
        (
            ServicePackage {
                available_from: Some(date("2025-02-01")),
                available_until: Some(date("2025-01-01")),
                ..ok.clone()
            },
            "available_from",
        ),
        (ServicePackage { currency: "US".into(), ..ok.clone() }, "currency"),
        (ServicePackage { max_uses: Some(0), ..ok.clone() }, "max_uses"),
    ];
    for (bad, field) in cases {
        assert_invalid(k.create(bad).await, field);
    }
    assert_conflict(k.create(ServicePackage { slug: pkg.slug.clone(), ..ok.clone() }).await, "slug");

    let item = |service_id: Uuid, sort_order: i32| PackageService {
        package_id: pkg.id,
        service_id,
        sort_order,
        included_price: Some(dec("85")),
        ..Default::default()
    };
    let i2 = k.create(item(drain.id, 2)).await.unwrap();
    let i1 = k
        .create(PackageService { notes: Some("Includes up to 2 faucets".into()), ..item(faucet.id, 1) })
        .await
        .unwrap();
    assert_conflict(k.create(item(faucet.id, 3)).await, "once");
    assert_invalid(k.create(PackageService { quantity: 0, ..item(drain.id, 1) }).await, "quantity");
    assert_invalid(
        k.create(PackageService { included_price: Some(dec("-1")), ..item(drain.id, 1) }).await,
        "included_price",
    );
    assert_reference(k.create(item(Uuid::now_v7(), 1)).await, "service_id");
    assert_reference(k.create(PackageService { package_id: Uuid::now_v7(), ..item(drain.id, 1) }).await, "package_id");
    let detail = k.package_detail(pkg.id).await.unwrap();
    assert_same(&detail.package, &pkg);
    assert_eq!(
        detail.items.iter().map(|i| (i.item.id, i.service.id)).collect::<Vec<_>>(),
        vec![(i1.id, faucet.id), (i2.id, drain.id)]
    );
    assert_not_found(k.package_detail(Uuid::now_v7()).await);

    k.delete::<Service>(drain.id).await.unwrap();
    assert_eq!(k.package_detail(pkg.id).await.unwrap().items.len(), 1, "a deleted service leaves its packages");
    k.delete::<ServicePackage>(pkg.id).await.unwrap();
    assert!(all::<PackageService, S>(k, &[]).await.is_empty());
    assert!(k.get::<Service>(faucet.id).await.is_ok(), "deleting a package keeps its services");
}

/// Pattern 3 with decisions.md item 19: words match case-insensitively inside keywords;
/// inactive services and services of inactive categories are left out; each service once,
/// featured first, then by name; category name and default price are attached.
pub async fn search_by_keyword_words<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let plumbing = k.create(category("Plumbing Services", None)).await.unwrap();
    let hidden = k.create(ServiceCategory { is_active: false, ..category("Hidden", None) }).await.unwrap();
    let faucet = k
        .create(service(plumbing.id, "Faucet Repair & Replacement", &["Faucet Repair", "leaky faucet", "plumbing"]))
        .await
        .unwrap();
    k.create(ServicePricingTier {
        service_id: faucet.id,
        tier_name: "Basic".into(),
        price: dec("85"),
        is_default: true,
        ..Default::default()
    })
    .await
    .unwrap();
    k.create(ServicePricingTier {
        service_id: faucet.id,
        tier_name: "Premium".into(),
        price: dec("350"),
        ..Default::default()
    })
    .await
    .unwrap();
    let featured = k
        .create(Service {
            is_featured: true,
            ..service(plumbing.id, "Water Heater Install", &["WATER heater", "plumbing"])
        })
        .await
        .unwrap();
    let alpha = k.create(service(plumbing.id, "Another Plumbing Job", &["plumbing-general"])).await.unwrap();
    k.create(Service { is_active: false, ..service(plumbing.id, "Retired Faucet Job", &["faucet"]) }).await.unwrap();
    k.create(service(hidden.id, "Hidden Faucet Job", &["faucet"])).await.unwrap();
    k.create(service(plumbing.id, "Drywall Patch", &["drywall"])).await.unwrap();

    let hits = k.search_services(&["faucet"], &PageRequest::first()).await.unwrap();
    assert_eq!(hits.items.len(), 1);
    assert_eq!(hits.items[0].service.id, faucet.id);
    assert_eq!(hits.items[0].category_name, "Plumbing Services");
    assert_eq!(hits.items[0].price, Some(dec("85.00")));

    let hits = k.search_services(&["PLUMBING", "Faucet"], &PageRequest::first()).await.unwrap();
    let ids: Vec<Uuid> = hits.items.iter().map(|h| h.service.id).collect();
    assert_eq!(ids, vec![featured.id, alpha.id, faucet.id], "featured first, then by name, each once");
    assert_eq!(hits.items[0].price, None, "no default tier, no price");
    let hits = k.search_services(&["heater repair"], &PageRequest::first()).await.unwrap();
    assert_eq!(hits.items.iter().map(|h| h.service.id).collect::<Vec<_>>(), vec![featured.id, faucet.id]);
    assert!(k.search_services(&["roof"], &PageRequest::first()).await.unwrap().items.is_empty());
    assert!(k.search_services(&["fauc"], &PageRequest::first()).await.unwrap().items.is_empty(), "whole words only");

    let upd: Service = k.update(faucet.id, json!({"keywords": ["sink"]}).as_object().unwrap()).await.unwrap();
    assert_eq!(upd.keywords, vec!["sink"]);
    assert!(
        k.search_services(&["faucet"], &PageRequest::first()).await.unwrap().items.is_empty(),
        "search follows keyword edits"
    );
    assert_eq!(k.search_services(&["Sink"], &PageRequest::first()).await.unwrap().items.len(), 1);
}

/// Search pages with a cursor over (featured, name, id) and rejects empty or oversized input.
pub async fn search_pages_and_limits<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let cat = k.create(category("General", None)).await.unwrap();
    let mut expected = Vec::new();
    for i in 0..23 {
        let name = format!("Job {:02}", i % 10); // names repeat: the id breaks ties
        let s = k
            .create(Service {
                is_featured: i % 5 == 0,
                slug: format!("job-{i}"),
                ..service(cat.id, &name, &["repair"])
            })
            .await
            .unwrap();
        expected.push(s);
    }
    expected.sort_by(|a, b| b.is_featured.cmp(&a.is_featured).then(a.name.cmp(&b.name)).then(a.id.cmp(&b.id)));
    let mut got = Vec::new();
    let mut page = PageRequest::of(4);
    loop {
        let p = k.search_services(&["repair"], &page).await.unwrap();
        got.extend(p.items.iter().map(|h| h.service.id));
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 4),
            None => break,
        }
    }
    assert_eq!(got, expected.iter().map(|s| s.id).collect::<Vec<_>>());
    assert_invalid(k.search_services::<&str>(&[], &PageRequest::first()).await, "keywords");
    assert_invalid(k.search_services(&["  ", "--"], &PageRequest::first()).await, "keywords");
    let many: Vec<String> = (0..31).map(|i| format!("word{i}")).collect();
    assert_invalid(k.search_services(&many, &PageRequest::first()).await, "keywords");
    let thirty: Vec<String> = (0..29).map(|i| format!("word{i}")).chain(["repair".to_string()]).collect();
    assert_eq!(k.search_services(&thirty, &PageRequest::of(500)).await.unwrap().items.len(), 23);
    assert_invalid(k.search_services(&["repair"], &PageRequest::after("1_x_y", 4)).await, "cursor");
}

/// Concurrent partial updates of different fields of one row both survive (row-level
/// read-modify-write in one transaction).
pub async fn updates_are_not_lost_under_concurrency<S: Store>(ctx: Ctx<S>) {
    let ctx = Arc::new(ctx);
    let cat = ctx.karen.create(category("Concurrency", None)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let ctx = ctx.clone();
        let id = cat.id;
        tasks.push(tokio::spawn(async move {
            let field = if i % 2 == 0 { "sort_order" } else { "seo_title" };
            let value = if i % 2 == 0 { json!(i + 1) } else { json!(format!("title {i}")) };
            ctx.karen.update::<ServiceCategory>(id, json!({ field: value }).as_object().unwrap()).await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("update");
    }
    let got: ServiceCategory = ctx.karen.get(cat.id).await.unwrap();
    assert!([1, 3, 5, 7].contains(&got.sort_order), "a sort_order write survived: {}", got.sort_order);
    assert!(got.seo_title.is_some(), "a seo_title write survived");
}

/// The ids and (name, category, price) of a search, as a caller sees them.
type Seen = Vec<(Uuid, String, String, Option<rust_decimal::Decimal>)>;

/// Every row of `E` the store holds now (the test catalogs are small).
async fn all_rows<S: Store, E: karen_core::Entity>(store: &S) -> Vec<E> {
    store.list::<E>(&ListQuery { filters: vec![], after: None, limit: 10_000 }).await.unwrap()
}

/// Pattern 3 computed from the store's rows as they are now, by decision 19's rule: active
/// services of active categories with a keyword word among the terms, featured first, then by
/// name (bytes) and id, with the category name and the default tier's price.
async fn search_rows<S: Store>(store: &S, terms: &[&str]) -> Vec<ServiceHit> {
    let terms = search_terms(terms).unwrap();
    let categories: Vec<ServiceCategory> = all_rows(store).await;
    let tiers: Vec<ServicePricingTier> = all_rows(store).await;
    let mut hits: Vec<ServiceHit> = all_rows::<S, Service>(store)
        .await
        .into_iter()
        .filter(|s| s.is_active && s.search_terms().iter().any(|w| terms.contains(w)))
        .filter_map(|s| {
            let category = categories.iter().find(|c| c.id == s.category_id && c.is_active)?;
            let price = tiers.iter().find(|t| t.service_id == s.id && t.is_default).map(|t| t.price);
            Some(ServiceHit { category_name: category.name.clone(), price, service: s })
        })
        .collect();
    hits.sort_by(|a, b| {
        (!a.service.is_featured, a.service.name.as_bytes(), a.service.id).cmp(&(
            !b.service.is_featured,
            b.service.name.as_bytes(),
            b.service.id,
        ))
    });
    hits
}

/// Searches through `karen` (its catalog snapshot) and from the store's rows as they are now,
/// asserts both agree, and returns what was found.
async fn search_both<S: Store>(karen: &Karen<S>, terms: &[&str]) -> Seen {
    let hits = karen.search_services(terms, &PageRequest::of(500)).await.unwrap().items;
    let rows = search_rows(karen.store(), terms).await;
    assert_eq!(hits, rows, "the snapshot answers {terms:?} as the stored rows do");
    hits.into_iter().map(|h| (h.service.id, h.service.name, h.category_name, h.price)).collect()
}

/// Service search is answered from an in-process snapshot of the catalog (docs/decisions.md
/// K23). It agrees with the stored rows, is reloaded only after catalog writes, and is
/// never stale: each committed write through another karen (another process, with its own
/// snapshot) to a service, a category or a default tier is seen by the very next search.
pub async fn search_snapshot_follows_every_catalog_write<S: Store + Clone>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let other = Karen::with_clock(k.store().clone(), ctx.clock.clone());
    let plumbing = other.create(category("Plumbing Services", None)).await.unwrap();
    let faucet = other.create(service(plumbing.id, "Faucet Repair", &["Faucet Repair", "plumbing"])).await.unwrap();
    let tier = other
        .create(ServicePricingTier {
            service_id: faucet.id,
            tier_name: "Basic".into(),
            price: dec("85"),
            is_default: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let drain = other.create(service(plumbing.id, "Drain Cleaning", &["drain", "plumbing"])).await.unwrap();

    let seen = search_both(k, &["faucet"]).await;
    assert_eq!(seen, vec![(faucet.id, "Faucet Repair".into(), "Plumbing Services".into(), Some(dec("85.00")))]);
    assert_eq!(k.catalog_loads(), 1, "the first search loads the snapshot");
    for _ in 0..3 {
        search_both(k, &["plumbing"]).await;
    }
    assert_eq!(k.catalog_loads(), 1, "searches without catalog writes reuse the snapshot");

    let patch = |v: serde_json::Value| v.as_object().unwrap().clone();
    other.update::<Service>(faucet.id, &patch(json!({"name": "Faucet Fix"}))).await.unwrap();
    assert_eq!(search_both(k, &["faucet"]).await[0].1, "Faucet Fix", "a rename is seen");
    assert_eq!(k.catalog_loads(), 2, "one write, one reload");

    other.update::<ServicePricingTier>(tier.id, &patch(json!({"price": "95.50"}))).await.unwrap();
    assert_eq!(search_both(k, &["faucet"]).await[0].3, Some(dec("95.50")), "a default tier's price is seen");

    other.update::<ServiceCategory>(plumbing.id, &patch(json!({"name": "Plumbing"}))).await.unwrap();
    assert_eq!(search_both(k, &["faucet"]).await[0].2, "Plumbing", "a category rename is seen");

    other.update::<ServiceCategory>(plumbing.id, &patch(json!({"is_active": false}))).await.unwrap();
    assert!(search_both(k, &["plumbing"]).await.is_empty(), "an inactive category hides its services");
    other.update::<ServiceCategory>(plumbing.id, &patch(json!({"is_active": true}))).await.unwrap();
    assert_eq!(search_both(k, &["plumbing"]).await.len(), 2);

    other.update::<Service>(drain.id, &patch(json!({"keywords": ["drain", "sewer"]}))).await.unwrap();
    assert_eq!(search_both(k, &["plumbing"]).await.len(), 1, "a removed keyword is seen");
    assert_eq!(search_both(k, &["sewer"]).await[0].0, drain.id, "an added keyword is seen");

    other.update::<Service>(drain.id, &patch(json!({"is_active": false}))).await.unwrap();
    assert!(search_both(k, &["sewer"]).await.is_empty(), "an inactive service is hidden");

    let featured = other
        .create(Service { is_featured: true, ..service(plumbing.id, "Zinc Pipe Swap", &["plumbing"]) })
        .await
        .unwrap();
    let ids: Vec<Uuid> = search_both(k, &["plumbing"]).await.iter().map(|s| s.0).collect();
    assert_eq!(ids, vec![featured.id, faucet.id], "a new service is found, featured first");

    other.delete::<ServicePricingTier>(tier.id).await.unwrap();
    assert_eq!(search_both(k, &["faucet"]).await[0].3, None, "a deleted default tier takes its price");
    other.delete::<Service>(faucet.id).await.unwrap();
    assert!(search_both(k, &["faucet"]).await.is_empty(), "a deleted service is gone");

    // karen's own writes are seen by its own next search too.
    k.update::<Service>(featured.id, &patch(json!({"name": "Zinc Pipe Replacement"}))).await.unwrap();
    assert_eq!(search_both(k, &["plumbing"]).await[0].1, "Zinc Pipe Replacement");
    assert!(k.catalog_loads() >= 12, "every write above made the next search reload: {}", k.catalog_loads());

    // Writes outside the catalog leave the snapshot alone.
    let loads = k.catalog_loads();
    let c = other.create(customer("snapshot@example.com")).await.unwrap();
    other.delete::<Customer>(c.id).await.unwrap();
    search_both(k, &["plumbing"]).await;
    assert_eq!(k.catalog_loads(), loads, "customer writes do not reload the catalog");
}
