//! The preference engine (issue 10): which value wins, learning with provenance and history,
//! the customer summary columns, and the contact plan. Same behaviour on every backend.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::preferences::learn::{LearnOutcome, Observation};
use karen_core::preferences::plan::Urgency;
use karen_core::Store;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

fn obs(
    customer_id: Uuid,
    key: &str,
    value: serde_json::Value,
    source: PreferenceSource,
    confidence: &str,
) -> Observation {
    let ty = match key {
        "formality_level" | "detail_level" => PreferenceType::CommunicationStyle,
        "preferred_times" | "preferred_days" | "avoided_days" => PreferenceType::Scheduling,
        "after_hours_contact" => PreferenceType::Emergency,
        _ => PreferenceType::CommunicationMethod,
    };
    Observation {
        customer_id,
        preference_type: ty,
        preference_key: key.into(),
        medium: PreferenceMedium::General,
        value,
        metadata: None,
        source,
        confidence: dec(confidence),
        conversation_id: None,
        expires_at: None,
    }
}

/// Decisions.md item 9: source beats medium, the medium breaks a tie, a row expiring exactly
/// now and an inactive row are not candidates; the answer says who won, who lost and why.
pub async fn effective_value_resolution<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("eff@example.com")).await.unwrap();
    let msg = k.create(message(c.id, Medium::Email, Direction::Inbound, now)).await.unwrap();
    let row = |key: &str, v: &str, medium, source| CustomerPreference {
        source,
        learned_from_interaction_id: Some(msg.id),
        ..preference(c.id, key, json!(v), medium)
    };
    use PreferenceMedium::{General, Sms};
    use PreferenceSource::{Explicit, Learned};
    // Source beats medium: explicit general over learned sms.
    let general = k.create(row("preferred_channel", "email", General, Explicit)).await.unwrap();
    let sms_row = k.create(row("preferred_channel", "voice", Sms, Learned)).await.unwrap();
    // Equal source: the medium's row wins.
    k.create(row("secondary_channel", "email", General, Learned)).await.unwrap();
    let sms_secondary = k.create(row("secondary_channel", "sms", Sms, Learned)).await.unwrap();
    // The medium's row is expired exactly now: general wins.
    k.create(row("response_urgency", "flexible", General, Learned)).await.unwrap();
    k.create(CustomerPreference { expires_at: Some(now), ..row("response_urgency", "immediate", Sms, Explicit) })
        .await
        .unwrap();
    // The general row is inactive: only the medium's row counts.
    k.create(CustomerPreference { is_active: false, ..row("timezone", "America/Chicago", General, Explicit) })
        .await
        .unwrap();
    k.create(row("timezone", "America/New_York", Sms, Learned)).await.unwrap();

    let eff = k.effective_preferences(c.id, Some(Sms)).await.unwrap();
    let get = |key: &str| eff.iter().find(|e| e.preference_key == key).unwrap_or_else(|| panic!("{key} resolved"));
    let pc = get("preferred_channel");
    assert_eq!((pc.value.clone(), pc.winner.preference_id), (json!("email"), general.id));
    assert_eq!(pc.winner.learned_from_interaction_id, Some(msg.id), "provenance is reported");
    assert!(pc.winner.why.contains("explicit outranks learned"), "{}", pc.winner.why);
    assert_eq!(pc.loser.as_ref().unwrap().preference_id, sms_row.id);
    let sc = get("secondary_channel");
    assert_eq!(sc.winner.preference_id, sms_secondary.id);
    assert!(sc.winner.why.contains("more specific"), "{}", sc.winner.why);
    let ru = get("response_urgency");
    assert_eq!(ru.value, json!("flexible"));
    assert!(ru.loser.as_ref().unwrap().why.contains("expired"), "{:?}", ru.loser);
    let tz = get("timezone");
    assert_eq!(tz.value, json!("America/New_York"));
    assert!(tz.loser.as_ref().unwrap().why.contains("inactive"));

    // Asked without a medium: general rows alone.
    let general_only = k.effective_preferences(c.id, None).await.unwrap();
    let sc = general_only.iter().find(|e| e.preference_key == "secondary_channel").unwrap();
    assert_eq!(sc.value, json!("email"));
    assert!(general_only.iter().all(|e| e.preference_key != "timezone"), "the only general timezone row is inactive");
    // One microsecond earlier the expiring sms row would still have won.
    ctx.clock.set(now - Duration::microseconds(1));
    let before = k.effective_preferences(c.id, Some(Sms)).await.unwrap();
    assert_eq!(before.iter().find(|e| e.preference_key == "response_urgency").unwrap().value, json!("immediate"));
    assert_not_found(k.effective_preferences(Uuid::now_v7(), None).await);
}

/// Agreeing observations raise confidence (bounded at 1.00) and raise the source; an equal
/// source contradiction weakens and then supersedes; a higher source supersedes at once; a
/// lower source never replaces an explicit statement and is kept as contradicted evidence.
pub async fn learning_sequences_and_history<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("learn@example.com")).await.unwrap();
    use PreferenceSource::{Explicit, Inferred, Learned};
    let r = k.observe(obs(c.id, "formality_level", json!("casual"), Inferred, "0.60")).await.unwrap();
    assert_eq!(r.outcome, LearnOutcome::Created);
    let first = r.preference.unwrap();
    assert_eq!((first.confidence_score, first.source), (dec("0.60"), Inferred));

    // Reinforcement: 0.60 -> 0.60 + 0.40 * 0.30 = 0.72 -> 0.72 + 0.28 * 0.30 = 0.804 -> 0.81 ...
    let mut confidences = vec![first.confidence_score];
    for _ in 0..3 {
        let r = k.observe(obs(c.id, "formality_level", json!("casual"), Inferred, "0.60")).await.unwrap();
        assert_eq!(r.outcome, LearnOutcome::Reinforced);
        confidences.push(r.preference.unwrap().confidence_score);
    }
    assert_eq!(confidences, vec![dec("0.60"), dec("0.72"), dec("0.81"), dec("0.87")]);
    // Agreeing with a higher source raises the source (and archives the re-sourced version).
    ctx.clock.advance(Duration::minutes(1));
    let r = k.observe(obs(c.id, "formality_level", json!("casual"), Learned, "0.50")).await.unwrap();
    let p = r.preference.unwrap();
    assert_eq!((p.source, p.id), (Learned, first.id), "same row, higher source");
    assert_eq!(p.confidence_score, dec("0.91"), "0.87 + 0.13 * 0.25 = 0.9025, rounded up to the cent");

    // Equal-source contradiction: weakens, then supersedes once better supported.
    ctx.clock.advance(Duration::minutes(1));
    let r = k.observe(obs(c.id, "formality_level", json!("formal"), Learned, "0.90")).await.unwrap();
    assert_eq!(r.outcome, LearnOutcome::Weakened);
    let weakened = r.preference.unwrap();
    assert_eq!((weakened.preference_value["value"].clone(), weakened.confidence_score), (json!("casual"), dec("0.50")));
    ctx.clock.advance(Duration::minutes(1));
    let r = k.observe(obs(c.id, "formality_level", json!("formal"), Learned, "0.90")).await.unwrap();
    assert_eq!(r.outcome, LearnOutcome::Superseded, "support 0.45 -> 0.70 now beats 0.50 * 0.55 = 0.27");
    let formal = r.preference.unwrap();
    assert_eq!(
        (formal.preference_value["value"].clone(), formal.confidence_score, formal.id),
        (json!("formal"), dec("0.70"), first.id)
    );

    // Explicit beats learned at once; a learned contradiction never replaces it.
    ctx.clock.advance(Duration::minutes(1));
    let conv = k.create(message(c.id, Medium::Sms, Direction::Inbound, k.now())).await.unwrap();
    let r = k
        .observe(Observation {
            conversation_id: Some(conv.id),
            ..obs(c.id, "formality_level", json!("friendly"), Explicit, "1.00")
        })
        .await
        .unwrap();
    assert_eq!(r.outcome, LearnOutcome::Superseded);
    assert_eq!(
        r.preference.as_ref().unwrap().learned_from_interaction_id,
        Some(conv.id),
        "provenance of the new value"
    );
    ctx.clock.advance(Duration::minutes(1));
    let r = k.observe(obs(c.id, "formality_level", json!("casual"), Learned, "1.00")).await.unwrap();
    assert_eq!(r.outcome, LearnOutcome::Rejected);
    let kept = r.preference.unwrap();
    assert_eq!(
        (kept.preference_value["value"].clone(), kept.source, kept.confidence_score),
        (json!("friendly"), Explicit, dec("1.00"))
    );

    // History, newest first, with reasons.
    let history =
        k.preference_history(c.id, Some(PreferenceType::CommunicationStyle), Some("formality_level")).await.unwrap();
    let reasons: Vec<(HistoryReason, serde_json::Value)> =
        history.iter().map(|h| (h.reason, h.preference_value["value"].clone())).collect();
    assert_eq!(
        reasons,
        vec![
            (HistoryReason::Contradicted, json!("casual")), // the rejected learned observation
            (HistoryReason::Superseded, json!("formal")),   // replaced by the explicit statement
            (HistoryReason::Superseded, json!("casual")),   // replaced by the better-supported formal
            (HistoryReason::Contradicted, json!("formal")), // the first, weakening contradiction
            (HistoryReason::Superseded, json!("casual")),   // the inferred version, re-sourced as learned
        ]
    );
    assert_eq!(history[1].caused_by.as_deref(), Some(conv.id.to_string().as_str()));
    assert!(history.iter().all(|h| h.preference_id == first.id && h.customer_id == c.id));
    assert!(k.preference_history(c.id, Some(PreferenceType::Billing), None).await.unwrap().is_empty());
}

/// Explicit writes keep history too: replace (superseded), deactivate, delete; and an
/// observation on an expired value replaces it with the reason expired.
pub async fn history_of_writes_and_expiry<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("hist@example.com")).await.unwrap();
    let p = k
        .upsert_preference(CustomerPreference {
            expires_at: Some(k.now() + Duration::hours(1)),
            ..preference(c.id, "preferred_channel", json!("email"), PreferenceMedium::General)
        })
        .await
        .unwrap();
    ctx.clock.advance(Duration::seconds(1));
    let same = k
        .upsert_preference(preference(c.id, "preferred_channel", json!("email"), PreferenceMedium::General))
        .await
        .unwrap();
    assert_eq!(same.id, p.id);
    assert!(
        k.preference_history(c.id, None, None).await.unwrap().is_empty(),
        "rewriting the same value archives nothing"
    );
    ctx.clock.advance(Duration::seconds(1));
    k.upsert_preference(preference(c.id, "preferred_channel", json!("sms"), PreferenceMedium::General)).await.unwrap();
    ctx.clock.advance(Duration::seconds(1));
    k.update::<CustomerPreference>(p.id, json!({"is_active": false}).as_object().unwrap()).await.unwrap();
    ctx.clock.advance(Duration::seconds(1));
    k.update::<CustomerPreference>(
        p.id,
        json!({"is_active": true, "expires_at": k.now() + Duration::minutes(5)}).as_object().unwrap(),
    )
    .await
    .unwrap();
    ctx.clock.advance(Duration::minutes(10));
    let r = k.observe(obs(c.id, "preferred_channel", json!("voice"), PreferenceSource::Default, "0.30")).await.unwrap();
    assert_eq!(r.outcome, LearnOutcome::Created, "an expired value is replaced by any observation");
    ctx.clock.advance(Duration::seconds(1));
    k.delete::<CustomerPreference>(p.id).await.unwrap();
    let reasons: Vec<(HistoryReason, serde_json::Value)> = k
        .preference_history(c.id, None, Some("preferred_channel"))
        .await
        .unwrap()
        .iter()
        .map(|h| (h.reason, h.preference_value["value"].clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (HistoryReason::Deleted, json!("voice")),
            (HistoryReason::Expired, json!("sms")),
            (HistoryReason::Deactivated, json!("sms")),
            (HistoryReason::Superseded, json!("email")),
        ]
    );
    assert_invalid(
        k.update::<PreferenceHistory>(Uuid::now_v7(), json!({"reason": "deleted"}).as_object().unwrap()).await,
        "preference_history",
    );
    // Deleting the customer erases their history.
    k.delete::<Customer>(c.id).await.unwrap();
    let left = crate::fixtures::all::<PreferenceHistory, S>(k, &[("customer_id", karen_core::Value::Uuid(c.id))]).await;
    assert!(left.is_empty(), "history is erased with its customer");
}

/// Concurrent observations of one key lose nothing: every agreeing observation counts.
pub async fn concurrent_observations_lose_nothing<S: Store>(ctx: Ctx<S>) {
    let ctx = Arc::new(ctx);
    let c = ctx.karen.create(customer("conc@example.com")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            ctx.karen.observe(obs(c.id, "preferred_channel", json!("sms"), PreferenceSource::Learned, "0.20")).await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().expect("every observation succeeds").outcome);
    }
    assert_eq!(outcomes.iter().filter(|o| **o == LearnOutcome::Created).count(), 1);
    assert_eq!(outcomes.iter().filter(|o| **o == LearnOutcome::Reinforced).count(), 11);
    // Sequentially: 0.20, then 11 reinforcements with g = 0.10.
    let mut expected = dec("0.20");
    for _ in 0..11 {
        expected = karen_core::preferences::learn::reinforce(expected, dec("0.10"));
    }
    let now = ctx.karen.preferences(c.id, None).await.unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].confidence_score, expected, "no reinforcement was lost");
}

/// The customer summary columns follow the effective general preferences after every write.
pub async fn summary_columns_follow_general_preferences<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("sum@example.com")).await.unwrap();
    let summary = |c: &Customer| {
        (c.preferred_contact_method.clone(), c.preferred_contact_time.clone(), c.communication_style.clone())
    };
    k.observe(obs(c.id, "preferred_channel", json!("sms"), PreferenceSource::Learned, "0.8")).await.unwrap();
    k.observe(obs(
        c.id,
        "preferred_times",
        json!({"start": "09:00", "end": "11:30"}),
        PreferenceSource::Learned,
        "0.8",
    ))
    .await
    .unwrap();
    let style = k
        .upsert_preference(CustomerPreference {
            preference_type: PreferenceType::CommunicationStyle,
            ..preference(c.id, "formality_level", json!("formal"), PreferenceMedium::General)
        })
        .await
        .unwrap();
    // A medium-specific row does not feed the summary.
    k.upsert_preference(preference(c.id, "preferred_channel", json!("voice"), PreferenceMedium::Voice)).await.unwrap();
    let got: Customer = k.get(c.id).await.unwrap();
    assert_eq!(summary(&got), (Some("sms".into()), Some("09:00-11:30".into()), Some("formal".into())));
    ctx.clock.advance(Duration::seconds(1));
    k.observe(obs(c.id, "preferred_channel", json!("email"), PreferenceSource::Explicit, "1")).await.unwrap();
    k.update::<CustomerPreference>(style.id, json!({"is_active": false}).as_object().unwrap()).await.unwrap();
    let got: Customer = k.get(c.id).await.unwrap();
    assert_eq!(summary(&got), (Some("email".into()), Some("09:00-11:30".into()), None));
    assert_eq!(got.updated_at, k.now());
    let times = k.preferences(c.id, Some(PreferenceType::Scheduling)).await.unwrap();
    k.delete::<CustomerPreference>(times[0].id).await.unwrap();
    let got: Customer = k.get(c.id).await.unwrap();
    assert_eq!(got.preferred_contact_time, None, "deleting the row clears the column");
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
}

/// The contact plan across a time zone, a weekend and a daylight-saving change.
pub async fn contact_plan_across_zones_weekends_and_dst<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("plan@example.com")).await.unwrap();
    use PreferenceSource::Explicit;
    for o in [
        obs(c.id, "preferred_channel", json!("sms"), Explicit, "1"),
        obs(c.id, "secondary_channel", json!("email"), Explicit, "1"),
        obs(c.id, "avoid_channels", json!(["voice"]), Explicit, "1"),
        obs(c.id, "business_hours_only", json!(true), Explicit, "1"),
        obs(c.id, "timezone", json!("America/Los_Angeles"), Explicit, "1"),
    ] {
        k.observe(o).await.unwrap();
    }
    // Wednesday 2026-06-03 18:00 UTC = 11:00 PDT: allowed now, on the preferred channel.
    let p = k.contact_plan(c.id, Some(utc(2026, 6, 3, 18, 0)), Urgency::Normal).await.unwrap();
    assert_eq!(
        (p.channel_now, p.channels.clone(), p.timezone.as_str()),
        (Some(Medium::Sms), vec![Medium::Sms, Medium::Email], "America/Los_Angeles")
    );
    // Wednesday 15:00 UTC = 08:00 PDT: not yet; 09:00 PDT = 16:00 UTC. (In New York it would be allowed.)
    let p = k.contact_plan(c.id, Some(utc(2026, 6, 3, 15, 0)), Urgency::Normal).await.unwrap();
    assert_eq!(p.channel_now, None);
    let next = p.next.unwrap();
    assert_eq!((next.at, next.channel), (utc(2026, 6, 3, 16, 0), Medium::Sms));
    assert_eq!(next.local, "2026-06-03T09:00:00-07:00");
    // Friday 2026-06-05 17:30 PDT: the weekend is skipped to Monday 09:00 PDT.
    let p = k.contact_plan(c.id, Some(utc(2026, 6, 6, 0, 30)), Urgency::Normal).await.unwrap();
    assert_eq!(p.next.unwrap().at, utc(2026, 6, 8, 16, 0));
    // Urgent ignores the windows unless after-hours contact was refused.
    let p = k.contact_plan(c.id, Some(utc(2026, 6, 6, 0, 30)), Urgency::Urgent).await.unwrap();
    assert_eq!(p.channel_now, Some(Medium::Sms));
    k.observe(Observation {
        preference_type: PreferenceType::Emergency,
        ..obs(c.id, "after_hours_contact", json!(false), Explicit, "1")
    })
    .await
    .unwrap();
    let p = k.contact_plan(c.id, Some(utc(2026, 6, 6, 0, 30)), Urgency::Urgent).await.unwrap();
    assert_eq!(p.channel_now, None);
    // Daylight saving starts Sunday 2026-03-08 in the US: asked on Saturday 2026-03-07 at
    // noon PST, the next allowed moment is Monday 09:00 PDT = 16:00 UTC (not 17:00 as in PST).
    let p = k.contact_plan(c.id, Some(utc(2026, 3, 7, 20, 0)), Urgency::Normal).await.unwrap();
    let next = p.next.unwrap();
    assert_eq!((next.at, next.local.as_str()), (utc(2026, 3, 9, 16, 0), "2026-03-09T09:00:00-07:00"));
    // And the week before, Monday 09:00 PST was 17:00 UTC.
    let p = k.contact_plan(c.id, Some(utc(2026, 2, 28, 20, 0)), Urgency::Normal).await.unwrap();
    assert_eq!(p.next.unwrap().at, utc(2026, 3, 2, 17, 0));
    // Preferred days and times narrow the window further: Thursdays 10:00-12:00 only.
    k.observe(obs(c.id, "preferred_days", json!(["thursday"]), Explicit, "1")).await.unwrap();
    k.observe(obs(c.id, "preferred_times", json!({"start": "10:00", "end": "12:00"}), Explicit, "1")).await.unwrap();
    let p = k.contact_plan(c.id, Some(utc(2026, 6, 3, 18, 0)), Urgency::Normal).await.unwrap();
    assert_eq!(p.next.unwrap().at, utc(2026, 6, 4, 17, 0), "Thursday 10:00 PDT");
    // A new explicit statement replaces the earlier one at once; avoiding every channel leaves
    // nothing to use.
    k.observe(obs(c.id, "avoid_channels", json!(["voice", "sms", "email"]), Explicit, "1")).await.unwrap();
    let p = k.contact_plan(c.id, Some(utc(2026, 6, 4, 17, 30)), Urgency::Normal).await.unwrap();
    assert!(p.channels.is_empty() && p.channel_now.is_none() && p.next.is_none());
    // Without a timezone preference the business's zone applies.
    let other = k.create(customer("plan2@example.com")).await.unwrap();
    let p = k.contact_plan(other.id, Some(utc(2026, 6, 6, 3, 0)), Urgency::Normal).await.unwrap();
    assert_eq!((p.timezone.as_str(), p.channel_now), ("America/New_York", Some(Medium::Email)));
}
