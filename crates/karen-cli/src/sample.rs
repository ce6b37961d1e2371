//! The sample data of `karen seed --sample` and `karen serve --demo`: the design's 757 Handy
//! catalog (plumbing, faucet repair & replacement with its tiers, the kitchen plumbing refresh
//! package) extended to a few categories and services, three customers with preferences, and a
//! short e-mail and SMS conversation.

use anyhow::Result;
use chrono::Duration;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::{Karen, Store};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

fn dec(s: &str) -> Decimal {
    s.parse().expect("sample decimal")
}

fn kw(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Loads the sample unless a category named "Plumbing Services" exists; returns what it did.
pub async fn seed<S: Store>(k: &Karen<S>) -> Result<String> {
    if k.category_children(None).await?.iter().any(|c| c.slug == "plumbing-services") {
        return Ok("sample data already present; nothing loaded".into());
    }
    // A spinner on a terminal (a remote Firestore takes a while for these rows).
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("loading the 757 Handy sample data");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let loaded = load(k).await;
    spinner.finish_and_clear();
    loaded
}

/// Writes the sample rows.
async fn load<S: Store>(k: &Karen<S>) -> Result<String> {
    let cat = |name: &str, slug: &str, parent: Option<Uuid>, order: i32, description: &str| ServiceCategory {
        name: name.into(),
        slug: slug.into(),
        parent_category_id: parent,
        sort_order: order,
        description: Some(description.into()),
        ..Default::default()
    };
    let plumbing = k
        .create(ServiceCategory {
            icon_url: Some("https://example.com/icons/plumbing.svg".into()),
            seo_title: Some("Professional Plumbing Services | 757 Handy".into()),
            seo_description: Some("Expert plumbing services in Virginia Beach and Hampton Roads.".into()),
            ..cat(
                "Plumbing Services",
                "plumbing-services",
                None,
                1,
                "Complete plumbing services for residential and commercial properties",
            )
        })
        .await?;
    let kitchen = k
        .create(cat("Kitchen Plumbing", "kitchen-plumbing", Some(plumbing.id), 1, "Sinks, faucets and disposals"))
        .await?;
    let electrical = k.create(cat("Electrical", "electrical", None, 2, "Fixtures, outlets, switches and fans")).await?;
    let carpentry =
        k.create(cat("Carpentry & Drywall", "carpentry-drywall", None, 3, "Patches, trim, doors and shelving")).await?;

    let faucet = k
        .create(Service {
            category_id: kitchen.id,
            name: "Faucet Repair & Replacement".into(),
            slug: "faucet-repair-replacement".into(),
            short_description: Some("Fix leaky faucets, replace old fixtures".into()),
            full_description: Some("Complete faucet repair and replacement services for kitchens and bathrooms.".into()),
            pricing_model: PricingModel::Tiered,
            base_price: Some(dec("85.00")),
            minimum_charge: Some(dec("85.00")),
            maximum_charge: Some(dec("350.00")),
            estimated_duration_minutes: Some(120),
            difficulty_level: Some(2),
            emergency_service: true,
            availability_zones: kw(&["virginia_beach", "norfolk", "chesapeake"]),
            required_skills: kw(&["plumbing_basic", "tool_usage"]),
            required_tools: kw(&["wrench_set", "pliers", "pipe_tape"]),
            required_materials: kw(&["faucet_parts", "sealant"]),
            seo_title: Some("Faucet Repair Service | Fast & Reliable | 757 Handy".into()),
            keywords: kw(&["faucet repair", "leaky faucet", "plumbing", "virginia beach"]),
            metadata: Some(json!({"popular_brands": ["Moen", "Delta", "Kohler"], "common_issues": ["dripping", "low_pressure", "handle_broken"], "tools_provided": true})),
            created_by: "admin".into(),
            updated_by: "admin".into(),
            ..Default::default()
        })
        .await?;
    for (i, (name, desc, min, max, price, default)) in [
        ("Basic Repair", "Minor repairs, washer replacement", 1, Some(1), "85.00", true),
        ("Cartridge Replacement", "New cartridge or valve, includes parts", 1, Some(1), "145.00", false),
        (
            "Full Replacement",
            "Remove the old faucet and install a new one (fixture not included)",
            1,
            Some(2),
            "225.00",
            false,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        k.create(ServicePricingTier {
            service_id: faucet.id,
            tier_name: name.into(),
            tier_description: Some(desc.into()),
            min_quantity: min,
            max_quantity: max,
            price: dec(price),
            unit: Some(TierUnit::Each),
            is_default: default,
            sort_order: i as i32 + 1,
            ..Default::default()
        })
        .await?;
    }
    let simple =
        |category_id: Uuid, name: &str, slug: &str, model: PricingModel, price: &str, words: &[&str]| Service {
            category_id,
            name: name.into(),
            slug: slug.into(),
            pricing_model: model,
            base_price: (model == PricingModel::Fixed).then(|| dec(price)),
            hourly_rate: (model == PricingModel::Hourly).then(|| dec(price)),
            minimum_charge: (model == PricingModel::Estimate).then(|| dec(price)),
            keywords: kw(words),
            availability_zones: kw(&["virginia_beach", "norfolk", "chesapeake"]),
            ..Default::default()
        };
    let drain = k
        .create(simple(
            plumbing.id,
            "Drain Cleaning",
            "drain-cleaning",
            PricingModel::Fixed,
            "120.00",
            &["drain cleaning", "clogged drain", "plumbing"],
        ))
        .await?;
    let disposal = k
        .create(simple(
            kitchen.id,
            "Garbage Disposal Installation",
            "garbage-disposal-installation",
            PricingModel::Fixed,
            "189.00",
            &["garbage disposal", "kitchen sink", "plumbing"],
        ))
        .await?;
    k.create(Service {
        is_featured: true,
        ..simple(
            plumbing.id,
            "Water Heater Flush",
            "water-heater-flush",
            PricingModel::Fixed,
            "149.00",
            &["water heater", "maintenance", "plumbing"],
        )
    })
    .await?;
    k.create(simple(
        electrical.id,
        "Light Fixture Installation",
        "light-fixture-installation",
        PricingModel::Fixed,
        "95.00",
        &["light fixture", "lighting", "electrical"],
    ))
    .await?;
    k.create(simple(
        electrical.id,
        "Outlet & Switch Repair",
        "outlet-switch-repair",
        PricingModel::Hourly,
        "75.00",
        &["outlet repair", "light switch", "electrical"],
    ))
    .await?;
    k.create(simple(
        carpentry.id,
        "Drywall Patch & Repair",
        "drywall-patch-repair",
        PricingModel::Estimate,
        "90.00",
        &["drywall repair", "hole in wall", "patch"],
    ))
    .await?;

    let package = k
        .create(ServicePackage {
            name: "Kitchen Plumbing Refresh".into(),
            slug: "kitchen-plumbing-refresh".into(),
            description: Some("Complete kitchen plumbing maintenance package".into()),
            package_type: PackageType::Bundle,
            total_price: dec("275.00"),
            savings_amount: dec("50.00"),
            estimated_duration_hours: Some(dec("4.5")),
            is_featured: true,
            available_from: Some("2026-01-01".parse()?),
            available_until: Some("2026-12-31".parse()?),
            terms_and_conditions: Some("Package must be used within 12 months of purchase.".into()),
            image_urls: kw(&["https://example.com/packages/kitchen-refresh.jpg"]),
            ..Default::default()
        })
        .await?;
    for (i, (service, price, note)) in [
        (faucet.id, "85.00", Some("Includes up to 2 faucets")),
        (drain.id, "100.00", None),
        (disposal.id, "90.00", None),
    ]
    .into_iter()
    .enumerate()
    {
        k.create(PackageService {
            package_id: package.id,
            service_id: service,
            included_price: Some(dec(price)),
            sort_order: i as i32 + 1,
            notes: note.map(str::to_string),
            ..Default::default()
        })
        .await?;
    }

    let now = k.now();
    let dana = k
        .create(Customer {
            first_name: Some("Dana".into()),
            last_name: Some("Whitfield".into()),
            primary_email: Some("dana.whitfield@example.com".into()),
            primary_phone: Some("(757) 555-0142".into()),
            service_address: Some(
                json!({"street": "412 Laskin Rd", "city": "Virginia Beach", "state": "VA", "zip": "23451"}),
            ),
            referral_source: Some("google".into()),
            tags: kw(&["homeowner"]),
            ..Default::default()
        })
        .await?;
    let marco = k
        .create(Customer {
            first_name: Some("Marco".into()),
            last_name: Some("Ruiz".into()),
            company_name: Some("Ruiz Rentals LLC".into()),
            customer_type: CustomerType::Business,
            customer_tier: CustomerTier::Premium,
            primary_email: Some("marco@ruizrentals.example".into()),
            primary_phone: Some("+1 757 555 0178".into()),
            tags: kw(&["landlord", "repeat"]),
            ..Default::default()
        })
        .await?;
    k.create(Customer {
        first_name: Some("Priya".into()),
        last_name: Some("Natarajan".into()),
        primary_email: Some("priya.n@example.com".into()),
        primary_phone: Some("757.555.0199".into()),
        ..Default::default()
    })
    .await?;

    let inbound = k
        .create(Conversation {
            customer_id: dana.id,
            conversation_thread_id: Some("thread_email_dana_faucet".into()),
            external_id: Some("gmail-18c2f0a9d1".into()),
            medium: Medium::Email,
            direction: Direction::Inbound,
            subject: Some("Need help with leaky faucet".into()),
            content: "Hi, I have a leaky faucet in my kitchen. It drips all night. Could someone come by this week? Email is best, I'm at work during the day.".into(),
            from_address: Some("dana.whitfield@example.com".into()),
            to_address: Some("hello@757handy.com".into()),
            status: ConversationStatus::Replied,
            processing_stage: Some(ProcessingStage::Completed),
            intent: Some("service_request".into()),
            sentiment: Some(Sentiment::Neutral),
            priority: Some(MessagePriority::Normal),
            confidence_score: Some(dec("0.92")),
            entities: Some(json!([{"type": "location", "value": "kitchen"}, {"type": "issue", "value": "leaky faucet"}])),
            keywords: kw(&["faucet", "leak", "kitchen", "repair"]),
            topics: kw(&["plumbing", "maintenance"]),
            message_timestamp: now - Duration::days(2),
            agent_id: Some("communication_agent".into()),
            ..Default::default()
        })
        .await?;
    k.create(ConversationAttachment {
        conversation_id: inbound.id,
        file_name: "kitchen_faucet.jpg".into(),
        file_type: Some("image/jpeg".into()),
        file_size: Some(1_024_576),
        storage_path: Some("gs://karen-attachments/sample/kitchen_faucet.jpg".into()),
        content_id: Some("image001".into()),
        checksum: Some(format!("sha256:{}", "3f".repeat(32))),
        virus_scan_status: VirusScanStatus::Clean,
        virus_scan_result: Some(json!({"engine": "clamav", "result": "clean"})),
        ..Default::default()
    })
    .await?;
    let reply = k
        .create(Conversation {
            customer_id: dana.id,
            conversation_thread_id: Some("thread_email_dana_faucet".into()),
            medium: Medium::Email,
            direction: Direction::Outbound,
            subject: Some("Re: Need help with leaky faucet".into()),
            content: "Hi Dana, thanks for reaching out! A basic faucet repair is $85. We can come Thursday between 9 and 11am. Does that work?".into(),
            from_address: Some("hello@757handy.com".into()),
            to_address: Some("dana.whitfield@example.com".into()),
            status: ConversationStatus::Processed,
            response_method: Some(ResponseMethod::Template),
            response_template_used: Some("service_inquiry_response".into()),
            message_timestamp: now - Duration::days(2) + Duration::minutes(4),
            agent_id: Some("communication_agent".into()),
            ..Default::default()
        })
        .await?;
    let patch = json!({"response_id": reply.id, "response_generated_at": reply.message_timestamp, "response_method": "template"});
    k.update::<Conversation>(inbound.id, patch.as_object().expect("object")).await?;
    k.create(Conversation {
        customer_id: dana.id,
        external_id: Some("twilio-SM7f3e".into()),
        medium: Medium::Sms,
        direction: Direction::Inbound,
        content: "Thursday 9-11 works. Side door is open, dog is friendly!".into(),
        phone_number: Some("(757) 555-0142".into()),
        intent: Some("appointment_confirmation".into()),
        sentiment: Some(Sentiment::Positive),
        message_timestamp: now - Duration::days(1),
        ..Default::default()
    })
    .await?;

    let pref = |customer_id: Uuid,
                ty: PreferenceType,
                key: &str,
                value: serde_json::Value,
                source: PreferenceSource,
                conf: &str| {
        CustomerPreference {
            customer_id,
            preference_type: ty,
            preference_key: key.into(),
            preference_value: json!({ "value": value }),
            source,
            confidence_score: dec(conf),
            learned_from_interaction_id: (source != PreferenceSource::Explicit).then_some(inbound.id),
            ..Default::default()
        }
    };
    use PreferenceSource::{Explicit, Learned};
    use PreferenceType::{Billing, CommunicationMethod, CommunicationStyle, Scheduling};
    for p in [
        pref(dana.id, CommunicationMethod, "preferred_channel", json!("email"), Explicit, "0.95"),
        pref(dana.id, CommunicationMethod, "secondary_channel", json!("sms"), Learned, "0.70"),
        pref(dana.id, CommunicationMethod, "timezone", json!("America/New_York"), Learned, "0.90"),
        pref(dana.id, Scheduling, "preferred_times", json!({"start": "09:00", "end": "11:00"}), Learned, "0.60"),
        pref(dana.id, CommunicationStyle, "formality_level", json!("friendly"), Learned, "0.65"),
        pref(dana.id, PreferenceType::Service, "property_access", json!("must_be_present"), Learned, "0.55"),
        CustomerPreference {
            learned_from_interaction_id: None,
            ..pref(marco.id, CommunicationMethod, "preferred_channel", json!("sms"), Explicit, "1.00")
        },
        CustomerPreference {
            learned_from_interaction_id: None,
            ..pref(marco.id, Billing, "billing_frequency", json!("monthly"), Explicit, "1.00")
        },
    ] {
        k.upsert_preference(p).await?;
    }
    // She answered the SMS quickly, so a learner guessed SMS; her explicit "email is best" stands,
    // and the guess is kept in the history as contradicted evidence.
    k.observe(karen_core::preferences::learn::Observation {
        customer_id: dana.id,
        preference_type: CommunicationMethod,
        preference_key: "preferred_channel".into(),
        medium: PreferenceMedium::General,
        value: json!("sms"),
        metadata: None,
        source: Learned,
        confidence: dec("0.60"),
        conversation_id: None,
        expires_at: None,
    })
    .await?;
    Ok("sample data loaded: 4 categories, 7 services, 3 tiers, 1 package, 3 customers, 3 messages with 1 attachment, 8 preferences and 1 history entry"
        .into())
}
