//! Price quotes (decisions.md item 23): what a service or a package costs, exactly, with every
//! step that made the figure, so an agent can say the price and why.
//!
//! Pricing is pure: it reads a service with its tiers (or a package with its items) and
//! computes. [`crate::catalog`] holds those rows in memory, so a quote costs the catalog
//! version check and no other read.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::PricingModel;
use crate::error::{StoreError, StoreResult};
use crate::model::{PackageService, Service, ServicePackage, ServicePricingTier};

/// The largest quantity a quote accepts.
pub const MAX_QUANTITY: i32 = 1_000_000;
/// The rule of a quote's hours: more than 0, less than 10,000, at most 2 places.
pub const HOURS: crate::rules::Rule = crate::rules::Rule::Positive(6, 2);
/// The rule of a quote's quantity.
pub const QUANTITY: crate::rules::Rule = crate::rules::Rule::Int(1, MAX_QUANTITY);

/// What to price: a service (with a quantity, hours or a tier) or a package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// The service to price (give it or package_id, not both).
    #[serde(default)]
    pub service_id: Option<Uuid>,
    /// How many units, 1 to 1,000,000 (fixed and tiered services only); 1 by default.
    #[serde(default)]
    pub quantity: Option<i32>,
    /// How many hours, > 0 with at most 2 decimals (hourly services only); by default the
    /// service's estimated duration.
    #[serde(default)]
    pub hours: Option<Decimal>,
    /// The pricing tier to use (tiered services only); by default the tier whose quantity range
    /// holds the quantity.
    #[serde(default)]
    pub tier_id: Option<Uuid>,
    /// The package to price (give it alone).
    #[serde(default)]
    pub package_id: Option<Uuid>,
}

impl QuoteRequest {
    /// A quote of `service_id` for quantity 1 (or its estimated hours).
    pub fn service(service_id: Uuid) -> Self {
        QuoteRequest { service_id: Some(service_id), ..Default::default() }
    }

    /// A quote of `package_id`.
    pub fn package(package_id: Uuid) -> Self {
        QuoteRequest { package_id: Some(package_id), ..Default::default() }
    }

    /// Checks the request's own rules (one target; quantity and hours in range), before any
    /// catalog row is read.
    pub fn check(&self) -> StoreResult<()> {
        match (self.service_id, self.package_id) {
            (None, None) => {
                return Err(StoreError::invalid("service_id", "one of service_id or package_id is required"))
            }
            (Some(_), Some(_)) => {
                return Err(StoreError::invalid("package_id", "give service_id or package_id, not both"));
            }
            (None, Some(_)) => {
                for (field, given) in [
                    ("quantity", self.quantity.is_some()),
                    ("hours", self.hours.is_some()),
                    ("tier_id", self.tier_id.is_some()),
                ] {
                    if given {
                        return Err(StoreError::invalid(field, "does not apply to a package quote"));
                    }
                }
            }
            (Some(_), None) => {}
        }
        use crate::rules::Checked;
        self.quantity.clone().check("quantity", QUANTITY)?;
        self.hours.clone().check("hours", HOURS)
    }
}

/// Which rule a step of a quote applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteRule {
    /// `fixed`: base_price × quantity.
    BasePrice,
    /// `tiered`: the tier's price × quantity.
    TierPrice,
    /// `hourly`: hourly_rate × hours.
    HourlyRate,
    /// `estimate`: the range [minimum_charge or base_price, maximum_charge].
    EstimateRange,
    /// Raised to the service's minimum_charge.
    MinimumCharge,
    /// Lowered to the service's maximum_charge.
    MaximumCharge,
    /// Rounded half away from zero to the currency's minor unit.
    Rounding,
    /// A package's own price.
    PackagePrice,
    /// The sum of a package's non-optional services and the savings it gives.
    PackageSavings,
}

/// One step of a quote: the rule, what it did in words, and the amount after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteStep {
    /// The rule.
    pub rule: QuoteRule,
    /// What it did, in words.
    pub detail: String,
    /// The total after this step (an estimate's low end).
    pub amount: Option<Decimal>,
}

/// An estimate's range; either end may be open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceRange {
    /// The lowest figure (minimum_charge, else base_price).
    pub low: Option<Decimal>,
    /// The highest figure (maximum_charge).
    pub high: Option<Decimal>,
}

/// One service of a package quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageQuoteItem {
    /// The service.
    pub service_id: Uuid,
    /// Its name.
    pub service_name: String,
    /// How many the package includes.
    pub quantity: i32,
    /// Optional parts are listed but not summed.
    pub is_optional: bool,
    /// Its price in the sum: included_price × quantity, else the service's own quote.
    pub price: Option<Decimal>,
    /// Whether that price is binding (a service's estimate is not).
    pub binding: bool,
    /// Why it has no price, when it has none.
    pub error: Option<String>,
}

/// What a package quote adds: the services, their sum and the savings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageQuote {
    /// The package's services in sort order.
    pub items: Vec<PackageQuoteItem>,
    /// The sum of the non-optional services' prices (none when one cannot be priced).
    pub services_sum: Option<Decimal>,
    /// services_sum − total_price.
    pub savings: Option<Decimal>,
    /// The package's stored `savings_amount`.
    pub stored_savings_amount: Decimal,
    /// The stored savings differ from the computed ones.
    pub savings_differs: bool,
}

/// A priced service or package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The service priced.
    pub service_id: Option<Uuid>,
    /// The package priced.
    pub package_id: Option<Uuid>,
    /// Its name.
    pub name: String,
    /// The service's pricing model (none for a package).
    pub pricing_model: Option<PricingModel>,
    /// The quantity priced.
    pub quantity: i32,
    /// The hours priced (hourly services).
    pub hours: Option<Decimal>,
    /// The price; for an estimate, the low end of its range (else its high end).
    pub total: Decimal,
    /// ISO 4217 code.
    pub currency: String,
    /// False for an estimate: the figure is not a promise.
    pub binding: bool,
    /// An estimate's range.
    pub range: Option<PriceRange>,
    /// The tier used (tiered services).
    pub tier: Option<ServicePricingTier>,
    /// Every step applied, in order.
    pub steps: Vec<QuoteStep>,
    /// The package's services and savings (package quotes).
    pub package: Option<PackageQuote>,
}

/// Digits after the decimal point of a currency (ISO 4217's minor unit; 2 for most).
pub fn minor_units(currency: &str) -> u32 {
    const ZERO: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
        "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if ZERO.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

fn round(amount: Decimal, currency: &str) -> Decimal {
    amount.round_dp_with_strategy(minor_units(currency), RoundingStrategy::MidpointAwayFromZero)
}

/// Whether `quantity` lies in the tier's [min_quantity, max_quantity] (max null: no bound).
pub fn holds(t: &ServicePricingTier, quantity: i32) -> bool {
    t.min_quantity <= quantity && t.max_quantity.is_none_or(|m| quantity <= m)
}

/// The tier of `tiers` that prices `quantity`: the one whose [min_quantity, max_quantity] holds
/// it (several: lowest sort_order, then id), else the default tier.
pub fn tier_for(tiers: &[ServicePricingTier], quantity: i32) -> Option<&ServicePricingTier> {
    tiers
        .iter()
        .filter(|t| holds(t, quantity))
        .min_by_key(|t| (t.sort_order, t.id))
        .or_else(|| tiers.iter().find(|t| t.is_default))
}

/// Prices `service` (with its `tiers`) for `req`'s quantity, hours or tier.
pub fn price_service(service: &Service, tiers: &[ServicePricingTier], req: &QuoteRequest) -> StoreResult<Quote> {
    let model = service.pricing_model;
    if req.quantity.is_some_and(|q| q != 1) && matches!(model, PricingModel::Hourly | PricingModel::Estimate) {
        return Err(StoreError::invalid("quantity", format!("does not apply to a {model} service")));
    }
    if req.hours.is_some() && model != PricingModel::Hourly {
        return Err(StoreError::invalid("hours", format!("applies only to an hourly service, not a {model} one")));
    }
    if req.tier_id.is_some() && model != PricingModel::Tiered {
        return Err(StoreError::invalid("tier_id", format!("applies only to a tiered service, not a {model} one")));
    }
    let quantity = req.quantity.unwrap_or(1);
    let q = Decimal::from(quantity);
    let currency = service.currency.clone();
    let mut steps = Vec::new();
    let mut tier = None;
    let mut hours = None;
    let mut range = None;
    let raw = match model {
        PricingModel::Fixed => {
            let base = service
                .base_price
                .ok_or_else(|| StoreError::invalid("service_id", "the fixed service has no base_price"))?;
            let amount = base * q;
            steps.push(step(QuoteRule::BasePrice, format!("base_price {base} × quantity {quantity}"), amount));
            amount
        }
        PricingModel::Tiered => {
            let chosen = match req.tier_id {
                Some(id) => {
                    let t = tiers
                        .iter()
                        .find(|t| t.id == id)
                        .ok_or_else(|| StoreError::invalid("tier_id", "is not a tier of this service"))?;
                    if !holds(t, quantity) {
                        return Err(StoreError::invalid(
                            "tier_id",
                            format!("tier '{}' holds quantities {}, not {quantity}", t.tier_name, span(t)),
                        ));
                    }
                    t
                }
                None if tiers.is_empty() => {
                    return Err(StoreError::invalid(
                        "service_id",
                        "the tiered service has no pricing tiers to quote from",
                    ));
                }
                None => tier_for(tiers, quantity).ok_or_else(|| {
                    StoreError::invalid(
                        "quantity",
                        format!("no tier of this service holds quantity {quantity} and it has no default tier"),
                    )
                })?,
            };
            let amount = chosen.price * q;
            let why = if req.tier_id.is_some() {
                "chosen by the caller"
            } else if holds(chosen, quantity) {
                "holds the quantity"
            } else {
                "the default tier: no tier holds the quantity"
            };
            steps.push(step(
                QuoteRule::TierPrice,
                format!(
                    "tier '{}' ({}, {why}): price {} × quantity {quantity}",
                    chosen.tier_name,
                    span(chosen),
                    chosen.price
                ),
                amount,
            ));
            tier = Some(chosen.clone());
            amount
        }
        PricingModel::Hourly => {
            let rate = service
                .hourly_rate
                .ok_or_else(|| StoreError::invalid("service_id", "the hourly service has no hourly_rate"))?;
            let (amount, detail) = match (req.hours, service.estimated_duration_minutes) {
                (Some(h), _) => {
                    hours = Some(h);
                    (rate * h, format!("hourly_rate {rate} × {h} hours"))
                }
                (None, Some(m)) => {
                    let h = Decimal::from(m) / Decimal::from(60);
                    hours = Some(h.round_dp(2));
                    (
                        rate * Decimal::from(m) / Decimal::from(60),
                        format!("hourly_rate {rate} × {m} minutes / 60 (the estimated duration)"),
                    )
                }
                (None, None) => {
                    return Err(StoreError::invalid(
                        "hours",
                        "is required: the hourly service has no estimated_duration_minutes",
                    ));
                }
            };
            steps.push(step(QuoteRule::HourlyRate, detail, amount));
            amount
        }
        PricingModel::Estimate => {
            let low = service.minimum_charge.or(service.base_price);
            let high = service.maximum_charge;
            if low.is_none() && high.is_none() {
                return Err(StoreError::invalid(
                    "service_id",
                    "the estimate service has no minimum_charge, base_price or maximum_charge to quote from",
                ));
            }
            let shown = |d: Option<Decimal>| d.map_or_else(|| "open".to_string(), |d| d.to_string());
            steps.push(QuoteStep {
                rule: QuoteRule::EstimateRange,
                detail: format!("an estimate, not binding: from {} to {}", shown(low), shown(high)),
                amount: low.or(high),
            });
            range = Some(PriceRange { low, high });
            low.or(high).unwrap_or_default()
        }
    };
    let clamp = |value: Decimal, steps: &mut Vec<QuoteStep>, record: bool| {
        let mut v = value;
        if let Some(min) = service.minimum_charge {
            if v < min {
                v = min;
                if record {
                    steps.push(step(QuoteRule::MinimumCharge, format!("raised to minimum_charge {min}"), v));
                }
            }
        }
        if let Some(max) = service.maximum_charge {
            if v > max {
                v = max;
                if record {
                    steps.push(step(QuoteRule::MaximumCharge, format!("lowered to maximum_charge {max}"), v));
                }
            }
        }
        v
    };
    let mut total = clamp(raw, &mut steps, true);
    if let Some(r) = &mut range {
        r.low = r.low.map(|l| round(clamp(l, &mut steps, false), &currency));
        r.high = r.high.map(|h| round(clamp(h, &mut steps, false), &currency));
    }
    let rounded = round(total, &currency);
    if rounded != total {
        steps.push(step(
            QuoteRule::Rounding,
            format!("rounded half away from zero to {} decimals", minor_units(&currency)),
            rounded,
        ));
    }
    total = rounded;
    Ok(Quote {
        service_id: Some(service.id),
        package_id: None,
        name: service.name.clone(),
        pricing_model: Some(model),
        quantity,
        hours,
        total,
        currency,
        binding: model != PricingModel::Estimate,
        range,
        tier,
        steps,
        package: None,
    })
}

/// Prices `package`: its total_price, beside the sum of its non-optional services and the
/// savings. `service` gives each item's service with its tiers (none: not in the catalog).
pub fn price_package<'a>(
    package: &ServicePackage,
    items: &[PackageService],
    service: impl Fn(Uuid) -> Option<(&'a Service, &'a [ServicePricingTier])>,
) -> Quote {
    let currency = package.currency.clone();
    let mut quoted = Vec::new();
    let mut sum = Some(Decimal::ZERO);
    let mut sum_binding = true;
    for item in items {
        let found = service(item.service_id);
        let name = found.map(|(s, _)| s.name.clone()).unwrap_or_default();
        let priced: Result<(Decimal, bool), String> = match (item.included_price, found) {
            (Some(p), _) => Ok((p * Decimal::from(item.quantity), true)),
            (None, None) => Err("the service is not in the catalog".into()),
            (None, Some((s, tiers))) => {
                let req = QuoteRequest {
                    service_id: Some(s.id),
                    quantity: matches!(s.pricing_model, PricingModel::Fixed | PricingModel::Tiered)
                        .then_some(item.quantity),
                    ..Default::default()
                };
                match price_service(s, tiers, &req) {
                    Ok(q) if q.currency != currency => {
                        Err(format!("priced in {}, the package in {currency}", q.currency))
                    }
                    Ok(q) => {
                        let per_job = matches!(s.pricing_model, PricingModel::Hourly | PricingModel::Estimate);
                        let total = if per_job { q.total * Decimal::from(item.quantity) } else { q.total };
                        Ok((total, q.binding))
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        let (price, binding, error) = match priced {
            Ok((p, b)) => (Some(p), b, None),
            Err(e) => (None, false, Some(e)),
        };
        if !item.is_optional {
            sum = sum.zip(price).map(|(s, p)| s + p);
            sum_binding &= binding;
        }
        quoted.push(PackageQuoteItem {
            service_id: item.service_id,
            service_name: name,
            quantity: item.quantity,
            is_optional: item.is_optional,
            price,
            binding,
            error,
        });
    }
    let sum = sum.map(|s| round(s, &currency));
    let savings = sum.map(|s| s - package.total_price);
    let differs = savings.is_some_and(|s| s != package.savings_amount);
    let mut steps =
        vec![step(QuoteRule::PackagePrice, format!("total_price {}", package.total_price), package.total_price)];
    steps.push(QuoteStep {
        rule: QuoteRule::PackageSavings,
        detail: match (sum, savings) {
            (Some(s), Some(v)) => format!(
                "non-optional services sum to {s}{}: savings {v}{}",
                if sum_binding { "" } else { " (estimates included)" },
                if differs {
                    format!(", the stored savings_amount {} differs", package.savings_amount)
                } else {
                    String::new()
                }
            ),
            _ => "a non-optional service cannot be priced: no savings computed".into(),
        },
        amount: Some(package.total_price),
    });
    Quote {
        service_id: None,
        package_id: Some(package.id),
        name: package.name.clone(),
        pricing_model: None,
        quantity: 1,
        hours: None,
        total: package.total_price,
        currency,
        binding: true,
        range: None,
        tier: None,
        steps,
        package: Some(PackageQuote {
            items: quoted,
            services_sum: sum,
            savings,
            stored_savings_amount: package.savings_amount,
            savings_differs: differs,
        }),
    }
}

fn step(rule: QuoteRule, detail: String, amount: Decimal) -> QuoteStep {
    QuoteStep { rule, detail, amount: Some(amount) }
}

fn span(t: &ServicePricingTier) -> String {
    match t.max_quantity {
        Some(m) => format!("{}–{m}", t.min_quantity),
        None => format!("{} and up", t.min_quantity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    fn service(model: PricingModel) -> Service {
        Service { id: Uuid::now_v7(), name: "Faucet repair".into(), pricing_model: model, ..Default::default() }
    }

    fn tier(name: &str, min: i32, max: Option<i32>, price: &str, sort: i32, default: bool) -> ServicePricingTier {
        ServicePricingTier {
            id: Uuid::now_v7(),
            tier_name: name.into(),
            min_quantity: min,
            max_quantity: max,
            price: dec(price),
            sort_order: sort,
            is_default: default,
            ..Default::default()
        }
    }

    #[test]
    fn fixed_multiplies_and_clamps() {
        let mut s = service(PricingModel::Fixed);
        s.base_price = Some(dec("40.00"));
        s.minimum_charge = Some(dec("95.00"));
        s.maximum_charge = Some(dec("150.00"));
        let q = |n| price_service(&s, &[], &QuoteRequest { quantity: Some(n), ..QuoteRequest::service(s.id) }).unwrap();
        assert_eq!(q(1).total, dec("95.00"));
        assert_eq!(q(1).steps.last().unwrap().rule, QuoteRule::MinimumCharge);
        assert_eq!(q(3).total, dec("120.00"));
        assert_eq!(q(3).steps.len(), 1);
        assert_eq!(q(5).total, dec("150.00"));
        assert_eq!(q(5).steps.last().unwrap().rule, QuoteRule::MaximumCharge);
        assert!(q(5).binding);
    }

    #[test]
    fn tiers_pick_the_holding_one_then_the_default() {
        let s = service(PricingModel::Tiered);
        let small = tier("small", 1, Some(5), "10.00", 1, true);
        let big = tier("big", 6, None, "8.00", 2, false);
        let overlap = tier("promo", 4, Some(8), "9.00", 0, false);
        let tiers = vec![small.clone(), big.clone(), overlap.clone()];
        assert_eq!(tier_for(&tiers, 2).unwrap().id, small.id);
        assert_eq!(tier_for(&tiers, 5).unwrap().id, overlap.id, "lowest sort_order of the holding tiers");
        assert_eq!(tier_for(&tiers, 100).unwrap().id, big.id);
        assert_eq!(tier_for(&tiers, 0).unwrap().id, small.id, "none holds 0: the default");
        let q = price_service(&s, &tiers, &QuoteRequest { quantity: Some(10), ..QuoteRequest::service(s.id) }).unwrap();
        assert_eq!(q.total, dec("80.00"));
        assert_eq!(q.tier.unwrap().id, big.id);
        let err = price_service(&s, &[], &QuoteRequest::service(s.id)).unwrap_err();
        assert!(matches!(err, StoreError::Invalid { ref field, .. } if field == "service_id"), "{err}");
    }

    #[test]
    fn hourly_defaults_to_the_estimated_duration_and_rounds_half_away_from_zero() {
        let mut s = service(PricingModel::Hourly);
        s.hourly_rate = Some(dec("85.01"));
        s.estimated_duration_minutes = Some(50);
        let q = price_service(&s, &[], &QuoteRequest::service(s.id)).unwrap();
        // 85.01 × 50 / 60 = 70.841666…
        assert_eq!(q.total, dec("70.84"));
        assert_eq!(q.steps.last().unwrap().rule, QuoteRule::Rounding);
        let q =
            price_service(&s, &[], &QuoteRequest { hours: Some(dec("0.5")), ..QuoteRequest::service(s.id) }).unwrap();
        // 42.505 rounds up, away from zero (banker's rounding would give 42.50).
        assert_eq!(q.total, dec("42.51"));
        s.estimated_duration_minutes = None;
        let err = price_service(&s, &[], &QuoteRequest::service(s.id)).unwrap_err();
        assert!(matches!(err, StoreError::Invalid { ref field, .. } if field == "hours"), "{err}");
    }

    #[test]
    fn estimates_are_ranges_and_not_binding() {
        let mut s = service(PricingModel::Estimate);
        s.base_price = Some(dec("200.00"));
        s.maximum_charge = Some(dec("900.00"));
        let q = price_service(&s, &[], &QuoteRequest::service(s.id)).unwrap();
        assert!(!q.binding);
        assert_eq!(q.range, Some(PriceRange { low: Some(dec("200.00")), high: Some(dec("900.00")) }));
        assert_eq!(q.total, dec("200.00"));
        let err = price_service(&s, &[], &QuoteRequest { quantity: Some(2), ..QuoteRequest::service(s.id) });
        assert!(matches!(err, Err(StoreError::Invalid { ref field, .. }) if field == "quantity"));
    }

    #[test]
    fn currencies_round_to_their_minor_unit() {
        assert_eq!(minor_units("JPY"), 0);
        assert_eq!(minor_units("KWD"), 3);
        assert_eq!(minor_units("USD"), 2);
        assert_eq!(round(dec("2.5"), "JPY"), dec("3"));
        assert_eq!(round(dec("-2.5"), "JPY"), dec("-3"));
    }

    #[test]
    fn requests_name_the_field_they_break() {
        let id = Uuid::now_v7();
        let cases = [
            (QuoteRequest::default(), "service_id"),
            (QuoteRequest { service_id: Some(id), package_id: Some(id), ..Default::default() }, "package_id"),
            (QuoteRequest { quantity: Some(2), ..QuoteRequest::package(id) }, "quantity"),
            (QuoteRequest { quantity: Some(0), ..QuoteRequest::service(id) }, "quantity"),
            (QuoteRequest { hours: Some(dec("-1")), ..QuoteRequest::service(id) }, "hours"),
            (QuoteRequest { hours: Some(dec("1.234")), ..QuoteRequest::service(id) }, "hours"),
        ];
        for (req, field) in cases {
            let err = req.check().unwrap_err();
            assert_eq!(err.field(), Some(field), "{req:?}: {err}");
        }
    }
}
