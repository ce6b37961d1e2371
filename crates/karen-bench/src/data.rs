//! Deterministic synthetic data at a scale factor: at scale 1, 100,000 customers with ~10
//! preferences each, 3,000,000 messages skewed across customers over two years, 50 categories
//! in two levels, 500 services with 3–8 keywords from a vocabulary of 300, 1–4 tiers each with
//! exactly one default, and 40 packages. The same seed gives the same rows on every backend.

use chrono::{DateTime, Duration, Utc};
use karen_core::enums::*;
use karen_core::model::*;
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

/// xorshift64*: deterministic and fast.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A deterministic UUIDv7-shaped id (time-ordered by `at`).
    pub fn id(&mut self, at: DateTime<Utc>) -> Uuid {
        let ms = at.timestamp_millis() as u64;
        let r = self.next();
        let hi = (ms << 16) | 0x7000 | (r & 0x0fff);
        let lo = (self.next() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        Uuid::from_u64_pair(hi, lo)
    }
}

/// The vocabulary of service keywords.
pub fn vocabulary() -> Vec<String> {
    let base = [
        "faucet", "leak", "drain", "toilet", "pipe", "water", "heater", "light", "outlet", "switch", "fan", "drywall",
        "paint", "door", "window", "deck", "fence", "gutter", "roof", "tile", "cabinet", "shelf", "lock", "garage",
        "sink",
    ];
    (0..300)
        .map(
            |i| {
                if i < base.len() {
                    base[i].to_string()
                } else {
                    format!("{}{}", base[i % base.len()], i / base.len())
                }
            },
        )
        .collect()
}

/// Sizes at a scale.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Customers.
    pub customers: usize,
    /// Messages.
    pub conversations: usize,
}

impl Sizes {
    /// The sizes of scale `s`.
    pub fn at(s: f64) -> Sizes {
        Sizes { customers: ((100_000.0 * s) as usize).max(10), conversations: ((3_000_000.0 * s) as usize).max(100) }
    }
}

/// The generated catalog: categories, services, tiers, packages, package items.
pub type Catalog =
    (Vec<ServiceCategory>, Vec<Service>, Vec<ServicePricingTier>, Vec<ServicePackage>, Vec<PackageService>);

/// The catalog: categories, services, tiers, packages, package items.
pub fn catalog(rng: &mut Rng, now: DateTime<Utc>) -> Catalog {
    let vocab = vocabulary();
    let mut cats = Vec::new();
    for i in 0..10 {
        cats.push(ServiceCategory {
            id: rng.id(now),
            name: format!("Category {i}"),
            slug: format!("category-{i}"),
            sort_order: i,
            created_at: now,
            updated_at: now,
            ..Default::default()
        });
    }
    for i in 0..40 {
        let parent = cats[i % 10].id;
        cats.push(ServiceCategory {
            id: rng.id(now),
            name: format!("Category {}-{i}", i % 10),
            slug: format!("category-{}-{i}", i % 10),
            parent_category_id: Some(parent),
            sort_order: i as i32,
            is_active: i % 17 != 0,
            created_at: now,
            updated_at: now,
            ..Default::default()
        });
    }
    let mut services = Vec::new();
    let mut tiers = Vec::new();
    for i in 0..500 {
        let mut keywords: Vec<String> = (0..3 + rng.below(6)).map(|_| vocab[rng.below(vocab.len())].clone()).collect();
        keywords.sort();
        keywords.dedup();
        let s = Service {
            id: rng.id(now),
            category_id: cats[10 + rng.below(40)].id,
            name: format!("Service {:03}", (i * 7919) % 500),
            slug: format!("service-{i}"),
            pricing_model: PricingModel::Tiered,
            keywords,
            is_featured: rng.below(10) == 0,
            is_active: rng.below(20) != 0,
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        let n = 1 + rng.below(4);
        let default = rng.below(n);
        for t in 0..n {
            tiers.push(ServicePricingTier {
                id: rng.id(now),
                service_id: s.id,
                tier_name: format!("Tier {t}"),
                price: Decimal::new(5000 + rng.below(40000) as i64, 2),
                is_default: t == default,
                sort_order: t as i32,
                created_at: now,
                ..Default::default()
            });
        }
        services.push(s);
    }
    let mut packages = Vec::new();
    let mut items = Vec::new();
    for i in 0..40 {
        let p = ServicePackage {
            id: rng.id(now),
            name: format!("Package {i}"),
            slug: format!("package-{i}"),
            total_price: Decimal::new(20000 + i * 500, 2),
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        let mut chosen: Vec<usize> = (0..2 + rng.below(3)).map(|_| rng.below(500)).collect();
        chosen.sort();
        chosen.dedup();
        for (k, s) in chosen.into_iter().enumerate() {
            items.push(PackageService {
                id: rng.id(now),
                package_id: p.id,
                service_id: services[s].id,
                sort_order: k as i32,
                ..Default::default()
            });
        }
        packages.push(p);
    }
    (cats, services, tiers, packages, items)
}

/// Customers `from..to` (deterministic by index).
pub fn customers(from: usize, to: usize, now: DateTime<Utc>) -> Vec<Customer> {
    (from..to)
        .map(|i| {
            let mut rng = Rng::new(1_000_003 * i as u64 + 7);
            // Ids do not depend on `now`, so a later run finds the customers an earlier one loaded.
            let epoch = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("valid epoch");
            Customer {
                id: rng.id(epoch),
                first_name: Some(format!("First{i}")),
                last_name: Some(format!("Last{i}")),
                primary_email: Some(format!("customer{i}@example.com")),
                primary_phone: Some(format!("+1757{:07}", i % 10_000_000)),
                created_at: now,
                updated_at: now,
                customer_since: Some(now.date_naive()),
                lifetime_value: Decimal::new(0, 2),
                ..Default::default()
            }
        })
        .collect()
}

/// About ten preferences of a customer over the six types.
pub fn preferences(customer: &Customer, i: usize, now: DateTime<Utc>) -> Vec<CustomerPreference> {
    use PreferenceType::*;
    let mut rng = Rng::new(31 * i as u64 + 3);
    let choices: [(PreferenceType, &str, serde_json::Value); 12] = [
        (CommunicationMethod, "preferred_channel", json!(["email", "sms", "voice"][i % 3])),
        (CommunicationMethod, "secondary_channel", json!(["sms", "email", "none"][i % 3])),
        (CommunicationMethod, "business_hours_only", json!(i.is_multiple_of(2))),
        (CommunicationMethod, "timezone", json!("America/New_York")),
        (Scheduling, "preferred_days", json!(["monday", "thursday"])),
        (Scheduling, "preferred_times", json!({"start": "09:00", "end": "17:00"})),
        (Service, "property_type", json!("residential")),
        (CommunicationStyle, "formality_level", json!(["formal", "casual", "friendly"][i % 3])),
        (CommunicationStyle, "detail_level", json!("standard")),
        (Emergency, "after_hours_contact", json!(!i.is_multiple_of(5))),
        (Billing, "preferred_payment_method", json!("credit_card")),
        (Billing, "invoice_delivery", json!("email")),
    ];
    let skip = rng.below(12);
    choices
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != skip && (*k != (skip + 5) % 12))
        .map(|(k, (ty, key, value))| CustomerPreference {
            id: rng.id(now - Duration::days(400)),
            customer_id: customer.id,
            preference_type: *ty,
            preference_key: key.to_string(),
            preference_value: json!({ "value": value }),
            confidence_score: Decimal::new(30 + rng.below(70) as i64, 2),
            source: [PreferenceSource::Learned, PreferenceSource::Explicit, PreferenceSource::Inferred][k % 3],
            medium: if k % 4 == 0 { PreferenceMedium::Email } else { PreferenceMedium::General },
            priority: 1 + rng.below(5) as i32,
            learned_at: Some(now),
            created_at: now,
            updated_at: now,
            ..Default::default()
        })
        .collect()
}

/// The body text every message repeats a part of.
pub const TEXT: &str = "Hi, I have a leaky faucet in the kitchen and the disposal hums but does not spin. Could someone come by this week? \
Mornings are best, the side door is open and the dog is friendly. Thanks so much for the quick answer last time. ";

/// The sentence message `i` opens with: two words of [`vocabulary`], so a search for two of
/// them matches about 1 message in 45,000 (drawn from its own generator, so every other field
/// of the message is what it was before messages had topics).
pub fn topic(i: usize) -> String {
    static VOCABULARY: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let vocabulary = VOCABULARY.get_or_init(vocabulary);
    let mut rng = Rng::new(104_729 * i as u64 + 3);
    let (a, b) = (&vocabulary[rng.below(vocabulary.len())], &vocabulary[rng.below(vocabulary.len())]);
    format!("About the {a} and the {b}.")
}

/// Messages number `from..to` of `total`, skewed across `customers` (a few have thousands,
/// most tens) over two years ending `now`; ~30% in threads, half the inbound ones answered.
pub fn conversations(from: usize, to: usize, customers: &[Uuid], now: DateTime<Utc>) -> Vec<Conversation> {
    let mut out = Vec::with_capacity((to - from) * 3 / 2);
    for i in from..to {
        let mut rng = Rng::new(7_919 * i as u64 + 11);
        let skew = rng.unit().powi(3);
        let customer_id = customers[((customers.len() as f64) * skew) as usize % customers.len()];
        let at = now - Duration::seconds((rng.unit() * 2.0 * 365.0 * 86_400.0) as i64);
        let medium = [Medium::Email, Medium::Sms, Medium::Voice, Medium::Chat][rng.below(4)];
        let len = 200 + rng.below(1800);
        let content =
            format!("{} {}", topic(i), TEXT.chars().cycle().skip(rng.below(50)).take(len).collect::<String>());
        let thread = (rng.below(10) < 3).then(|| format!("thread-{}", i / 4));
        let inbound = rng.below(2) == 0;
        let mut msg = Conversation {
            id: rng.id(at),
            customer_id,
            conversation_thread_id: thread.clone(),
            external_id: Some(format!("ext-{i}")),
            medium,
            direction: if inbound { Direction::Inbound } else { Direction::Outbound },
            content,
            message_timestamp: at,
            received_at: Some(at),
            created_at: at,
            updated_at: at,
            ..Default::default()
        };
        if inbound && rng.below(2) == 0 {
            let reply_at = at + Duration::minutes(1 + rng.below(60) as i64);
            let reply = Conversation {
                id: rng.id(reply_at),
                customer_id,
                conversation_thread_id: thread,
                medium,
                direction: Direction::Outbound,
                content: "Thanks! We can come Thursday between 9 and 11.".into(),
                message_timestamp: reply_at,
                received_at: Some(reply_at),
                created_at: reply_at,
                updated_at: reply_at,
                ..Default::default()
            };
            msg.response_id = Some(reply.id);
            out.push(reply);
        }
        out.push(msg);
    }
    out
}
