//! Quotes (decisions.md item 23): every pricing model and clamp, packages and their savings,
//! the errors that name their field, and quotes that follow catalog writes.

use chrono::NaiveDate;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::quote::{QuoteRequest, QuoteRule};
use karen_core::{Karen, Store, StoreError};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

fn priced(model: PricingModel) -> Service {
    Service { pricing_model: model, ..Default::default() }
}

async fn make<S: Store>(k: &Karen<S>, category_id: Uuid, name: &str, s: Service) -> Service {
    k.create(Service { category_id, name: name.into(), slug: slugify(name), ..s }).await.unwrap()
}

async fn tier<S: Store>(
    k: &Karen<S>,
    service_id: Uuid,
    name: &str,
    range: (i32, Option<i32>),
    price: &str,
    sort: i32,
    default: bool,
) -> ServicePricingTier {
    k.create(ServicePricingTier {
        service_id,
        tier_name: name.into(),
        min_quantity: range.0,
        max_quantity: range.1,
        price: dec(price),
        sort_order: sort,
        is_default: default,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn of(service_id: Uuid, quantity: Option<i32>, hours: Option<&str>, tier_id: Option<Uuid>) -> QuoteRequest {
    QuoteRequest { service_id: Some(service_id), quantity, hours: hours.map(dec), tier_id, package_id: None }
}

fn rules(q: &karen_core::quote::Quote) -> Vec<QuoteRule> {
    q.steps.iter().map(|s| s.rule).collect()
}

/// Fixed, tiered, hourly and estimate services priced exactly, clamped to their minimum and
/// maximum charge and rounded half away from zero; every refusal names its field.
pub async fn quotes_price_every_model_and_clamp<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let cat = k.create(category("Handyman", None)).await.unwrap();

    let fixed = make(
        k,
        cat.id,
        "Shelf Mounting",
        Service {
            base_price: Some(dec("40.00")),
            minimum_charge: Some(dec("95.00")),
            maximum_charge: Some(dec("150.00")),
            ..priced(PricingModel::Fixed)
        },
    )
    .await;
    let q = k.quote(&of(fixed.id, None, None, None)).await.unwrap();
    assert_eq!((q.total, q.binding, q.currency.as_str()), (dec("95.00"), true, "USD"));
    assert_eq!(rules(&q), vec![QuoteRule::BasePrice, QuoteRule::MinimumCharge]);
    let q = k.quote(&of(fixed.id, Some(3), None, None)).await.unwrap();
    assert_eq!((q.total, rules(&q)), (dec("120.00"), vec![QuoteRule::BasePrice]));
    let q = k.quote(&of(fixed.id, Some(5), None, None)).await.unwrap();
    assert_eq!((q.total, rules(&q)), (dec("150.00"), vec![QuoteRule::BasePrice, QuoteRule::MaximumCharge]));
    assert_invalid(k.quote(&of(fixed.id, None, Some("2"), None)).await, "hours");
    assert_invalid(k.quote(&of(fixed.id, None, None, Some(Uuid::now_v7()))).await, "tier_id");

    let hourly = make(
        k,
        cat.id,
        "Drywall Repair",
        Service {
            hourly_rate: Some(dec("85.01")),
            estimated_duration_minutes: Some(50),
            ..priced(PricingModel::Hourly)
        },
    )
    .await;
    let q = k.quote(&of(hourly.id, None, None, None)).await.unwrap();
    assert_eq!(q.total, dec("70.84"), "85.01 × 50/60 = 70.8416…");
    assert_eq!(rules(&q), vec![QuoteRule::HourlyRate, QuoteRule::Rounding]);
    let q = k.quote(&of(hourly.id, None, Some("0.5"), None)).await.unwrap();
    assert_eq!(q.total, dec("42.51"), "42.505 rounds half away from zero");
    assert_eq!(q.hours, Some(dec("0.5")));
    assert_invalid(k.quote(&of(hourly.id, Some(2), None, None)).await, "quantity");
    assert_invalid(k.quote(&of(hourly.id, None, Some("0"), None)).await, "hours");
    let no_duration =
        make(k, cat.id, "Odd Jobs", Service { hourly_rate: Some(dec("60")), ..priced(PricingModel::Hourly) }).await;
    assert_invalid(k.quote(&of(no_duration.id, None, None, None)).await, "hours");
    assert_eq!(k.quote(&of(no_duration.id, None, Some("1.25"), None)).await.unwrap().total, dec("75.00"));

    let estimate = make(
        k,
        cat.id,
        "Deck Rebuild",
        Service {
            base_price: Some(dec("200.00")),
            maximum_charge: Some(dec("900.00")),
            ..priced(PricingModel::Estimate)
        },
    )
    .await;
    let q = k.quote(&of(estimate.id, None, None, None)).await.unwrap();
    assert!(!q.binding, "an estimate is not binding");
    let range = q.range.clone().unwrap();
    assert_eq!((range.low, range.high, q.total), (Some(dec("200.00")), Some(dec("900.00")), dec("200.00")));
    assert_eq!(rules(&q), vec![QuoteRule::EstimateRange]);
    let open = make(k, cat.id, "Mystery Leak", priced(PricingModel::Estimate)).await;
    assert_invalid(k.quote(&of(open.id, None, None, None)).await, "service_id");

    let tiered = make(
        k,
        cat.id,
        "Window Cleaning",
        Service { minimum_charge: Some(dec("30.00")), ..priced(PricingModel::Tiered) },
    )
    .await;
    assert_invalid(k.quote(&of(tiered.id, None, None, None)).await, "service_id");
    let small = tier(k, tiered.id, "Small", (2, Some(5)), "12.50", 1, true).await;
    let large = tier(k, tiered.id, "Large", (6, None), "9.99", 2, false).await;
    let promo = tier(k, tiered.id, "Promo", (4, Some(8)), "11.00", 0, false).await;
    let q = k.quote(&of(tiered.id, Some(3), None, None)).await.unwrap();
    assert_eq!((q.total, q.tier.as_ref().map(|t| t.id)), (dec("37.50"), Some(small.id)));
    let q = k.quote(&of(tiered.id, Some(5), None, None)).await.unwrap();
    assert_eq!(q.tier.as_ref().map(|t| t.id), Some(promo.id), "overlapping tiers: lowest sort_order");
    assert_eq!(q.total, dec("55.00"));
    let q = k.quote(&of(tiered.id, Some(20), None, None)).await.unwrap();
    assert_eq!((q.total, q.tier.as_ref().map(|t| t.id)), (dec("199.80"), Some(large.id)));
    let q = k.quote(&of(tiered.id, None, None, None)).await.unwrap();
    assert_eq!(q.tier.as_ref().map(|t| t.id), Some(small.id), "no tier holds 1: the default tier");
    assert_eq!((q.total, rules(&q)), (dec("30.00"), vec![QuoteRule::TierPrice, QuoteRule::MinimumCharge]));
    let q = k.quote(&of(tiered.id, Some(7), None, Some(large.id))).await.unwrap();
    assert_eq!(q.total, dec("69.93"));
    assert_invalid(k.quote(&of(tiered.id, Some(3), None, Some(large.id))).await, "tier_id");
    let elsewhere = tier(k, hourly.id, "Elsewhere", (1, None), "1", 0, false).await;
    assert_invalid(k.quote(&of(tiered.id, Some(3), None, Some(elsewhere.id))).await, "tier_id");

    assert_reference(k.quote(&of(Uuid::now_v7(), None, None, None)).await, "service_id");
    assert_invalid(k.quote(&QuoteRequest::default()).await, "service_id");
    assert_invalid(k.quote(&of(fixed.id, Some(0), None, None)).await, "quantity");
    let patch = |v: serde_json::Value| v.as_object().unwrap().clone();
    k.update::<Service>(fixed.id, &patch(json!({"is_active": false}))).await.unwrap();
    assert_invalid(k.quote(&of(fixed.id, None, None, None)).await, "service_id");
    k.update::<ServiceCategory>(cat.id, &patch(json!({"is_active": false}))).await.unwrap();
    assert_invalid(k.quote(&of(hourly.id, None, None, None)).await, "service_id");
}

/// A package is priced at its total_price beside the sum of its non-optional services
/// (included_price × quantity, else the service's own quote) and the savings; a stored
/// savings_amount that differs is reported; inactive or off-sale packages are refused.
pub async fn package_quotes_sum_their_services<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let cat = k.create(category("Seasonal", None)).await.unwrap();
    let gutters =
        make(k, cat.id, "Gutter Cleaning", Service { base_price: Some(dec("120.00")), ..priced(PricingModel::Fixed) })
            .await;
    let filters =
        make(k, cat.id, "HVAC Filter Swap", Service { base_price: Some(dec("25.00")), ..priced(PricingModel::Fixed) })
            .await;
    let check = make(
        k,
        cat.id,
        "Safety Check",
        Service {
            hourly_rate: Some(dec("80.00")),
            estimated_duration_minutes: Some(45),
            ..priced(PricingModel::Hourly)
        },
    )
    .await;
    let pkg = k
        .create(ServicePackage {
            name: "Fall Tune-Up".into(),
            slug: "fall-tune-up".into(),
            total_price: dec("199.00"),
            savings_amount: dec("20.00"),
            ..Default::default()
        })
        .await
        .unwrap();
    let item = |service_id: Uuid, quantity: i32, included: Option<&str>, optional: bool, sort: i32| PackageService {
        package_id: pkg.id,
        service_id,
        quantity,
        included_price: included.map(dec),
        is_optional: optional,
        sort_order: sort,
        ..Default::default()
    };
    k.create(item(gutters.id, 1, Some("110.00"), false, 0)).await.unwrap();
    k.create(item(filters.id, 2, None, false, 1)).await.unwrap();
    k.create(item(check.id, 1, None, true, 2)).await.unwrap();

    let q = k.quote(&QuoteRequest::package(pkg.id)).await.unwrap();
    assert_eq!((q.total, q.binding, q.package_id), (dec("199.00"), true, Some(pkg.id)));
    let p = q.package.clone().unwrap();
    let prices: Vec<(Uuid, Option<Decimal>, bool)> =
        p.items.iter().map(|i| (i.service_id, i.price, i.is_optional)).collect();
    assert_eq!(
        prices,
        vec![
            (gutters.id, Some(dec("110.00")), false),
            (filters.id, Some(dec("50.00")), false),
            (check.id, Some(dec("60.00")), true)
        ]
    );
    assert_eq!(p.services_sum, Some(dec("160.00")), "optional parts are not summed");
    assert_eq!(p.savings, Some(dec("-39.00")));
    assert!(p.savings_differs, "the stored 20.00 differs from the computed -39.00");
    assert_eq!(rules(&q), vec![QuoteRule::PackagePrice, QuoteRule::PackageSavings]);

    let patch = |v: serde_json::Value| v.as_object().unwrap().clone();
    k.update::<ServicePackage>(pkg.id, &patch(json!({"total_price": "140.00"}))).await.unwrap();
    let p = k.quote(&QuoteRequest::package(pkg.id)).await.unwrap().package.unwrap();
    assert_eq!(
        (p.savings, p.savings_differs),
        (Some(dec("20.00")), false),
        "a package write is seen by the next quote"
    );

    assert_invalid(k.quote(&QuoteRequest { quantity: Some(2), ..QuoteRequest::package(pkg.id) }).await, "quantity");
    assert_reference(k.quote(&QuoteRequest::package(Uuid::now_v7())).await, "package_id");
    let later = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    k.update::<ServicePackage>(pkg.id, &patch(json!({"available_from": later.to_string()}))).await.unwrap();
    assert_invalid(k.quote(&QuoteRequest::package(pkg.id)).await, "package_id");
    k.update::<ServicePackage>(pkg.id, &patch(json!({"available_from": null, "is_active": false}))).await.unwrap();
    assert_invalid(k.quote(&QuoteRequest::package(pkg.id)).await, "package_id");
}

/// Quotes read the catalog snapshot, and a write by another karen over the same database to a
/// service, a tier, a package or a package's services is seen by the next quote.
pub async fn quotes_follow_catalog_writes_of_others<S: Store + Clone>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let other = Karen::with_clock(k.store().clone(), ctx.clock.clone());
    let cat = other.create(category("Plumbing", None)).await.unwrap();
    let faucet = make(&other, cat.id, "Faucet Repair", priced(PricingModel::Tiered)).await;
    let basic = tier(&other, faucet.id, "Basic", (1, None), "85.00", 0, true).await;
    let pkg = other
        .create(ServicePackage {
            name: "Kitchen".into(),
            slug: "kitchen".into(),
            total_price: dec("100"),
            ..Default::default()
        })
        .await
        .unwrap();

    assert_eq!(k.quote(&QuoteRequest::service(faucet.id)).await.unwrap().total, dec("85.00"));
    let loads = k.catalog_loads();
    for _ in 0..3 {
        k.quote(&QuoteRequest::service(faucet.id)).await.unwrap();
    }
    assert_eq!(k.catalog_loads(), loads, "quotes without catalog writes reuse the snapshot");

    let patch = |v: serde_json::Value| v.as_object().unwrap().clone();
    other.update::<ServicePricingTier>(basic.id, &patch(json!({"price": "90.00"}))).await.unwrap();
    assert_eq!(k.quote(&QuoteRequest::service(faucet.id)).await.unwrap().total, dec("90.00"));

    let p = k.quote(&QuoteRequest::package(pkg.id)).await.unwrap().package.unwrap();
    assert_eq!(p.services_sum, Some(Decimal::ZERO));
    let item = other
        .create(PackageService { package_id: pkg.id, service_id: faucet.id, quantity: 2, ..Default::default() })
        .await
        .unwrap();
    let p = k.quote(&QuoteRequest::package(pkg.id)).await.unwrap().package.unwrap();
    assert_eq!(p.services_sum, Some(dec("180.00")), "a package item written by another karen is seen");
    other.update::<PackageService>(item.id, &patch(json!({"included_price": "70.00"}))).await.unwrap();
    let p = k.quote(&QuoteRequest::package(pkg.id)).await.unwrap().package.unwrap();
    assert_eq!(p.services_sum, Some(dec("140.00")));
    other.delete::<ServicePackage>(pkg.id).await.unwrap();
    assert_reference(k.quote(&QuoteRequest::package(pkg.id)).await, "package_id");

    let many = k.quotes(&[QuoteRequest::service(faucet.id), QuoteRequest::service(Uuid::now_v7())]).await.unwrap();
    assert_eq!(many[0].as_ref().unwrap().total, dec("90.00"));
    assert!(matches!(many[1], Err(StoreError::Reference { .. })));
}
