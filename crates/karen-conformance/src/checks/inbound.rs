//! Inbound messages (decisions.md items 20 and 21): raw e-mails and Twilio parameters become
//! conversations of the right customer in the right thread, with their attachments, on every
//! backend.

use chrono::Duration;
use karen_core::enums::*;
use karen_core::inbound::{BusinessIdentity, InboundRules, Received};
use karen_core::model::*;
use karen_core::{Karen, Store, StoreError};

use crate::fixtures::*;
use crate::Ctx;

fn rules() -> InboundRules {
    InboundRules {
        identity: BusinessIdentity::new(&["office@757handy.com"], &["+17575550100"]).unwrap(),
        ..Default::default()
    }
}

/// An e-mail with these headers (one per line, already formatted) and a text body.
fn mail(headers: &[&str], body: &str) -> Vec<u8> {
    let mut out = headers.join("\r\n");
    out.push_str("\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    out.push_str(body);
    out.into_bytes()
}

async fn email<S: Store>(k: &Karen<S>, raw: &[u8]) -> Received {
    k.receive(karen_inbound::email::parse(raw).unwrap(), &rules()).await.unwrap()
}

fn twilio(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// E-mail threads follow In-Reply-To and References only, within one customer: a reply found
/// through References when In-Reply-To names an unknown message, a reply-to-all from another
/// address of the same customer, a new subject sent as a reply; the same subject from another
/// customer or without references starts a thread. New addresses become customers; the
/// business's own messages are outbound to their recipient; redeliveries write nothing;
/// attachments commit with their message; last_contact_at follows.
pub async fn email_threads_follow_headers_within_a_customer<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let first = email(
        k,
        &mail(
            &[
                "From: Dana Reyes <Dana@Example.com>",
                "To: 757 Handy <office@757handy.com>",
                "Subject: Leaky faucet",
                "Message-ID: <m1@example.com>",
                "Date: Mon, 01 Jun 2026 08:00:00 -0400",
            ],
            "The kitchen faucet drips.",
        ),
    )
    .await;
    assert!(first.created && first.customer_created);
    let dana = k.get::<Customer>(first.customer_id).await.unwrap();
    assert_eq!(
        (dana.first_name.as_deref(), dana.last_name.as_deref(), dana.primary_email.as_deref()),
        (Some("Dana"), Some("Reyes"), Some("Dana@Example.com"))
    );
    assert_eq!(dana.referral_source.as_deref(), Some("inbound_email"));
    let m = &first.conversation;
    assert_eq!(
        (m.direction, m.medium, m.external_id.as_deref()),
        (Direction::Inbound, Medium::Email, Some("m1@example.com"))
    );
    assert_eq!(m.message_timestamp.to_rfc3339(), "2026-06-01T12:00:00+00:00", "the Date header, in UTC");
    assert_eq!(
        m.raw_content.as_ref().unwrap()["headers"][0],
        serde_json::json!({"name": "From", "value": "Dana Reyes <Dana@Example.com>"})
    );
    let thread = first.thread_id.clone().unwrap();

    // The business answers; In-Reply-To names a message karen never saw, References has m1.
    let reply = email(
        k,
        &mail(
            &[
                "From: office@757handy.com",
                "To: dana@example.com",
                "Subject: Re: Leaky faucet",
                "Message-ID: <r1@757handy.com>",
                "In-Reply-To: <lost@elsewhere.example>",
                "References: <m1@example.com> <lost@elsewhere.example>",
            ],
            "Thursday at 9?",
        ),
    )
    .await;
    assert_eq!(
        (reply.customer_id, reply.thread_id.as_deref(), reply.customer_created),
        (dana.id, Some(thread.as_str()), false)
    );
    assert_eq!(reply.conversation.direction, Direction::Outbound);

    // Reply-to-all from Dana's work address (her secondary e-mail), a new subject.
    k.update::<Customer>(
        dana.id,
        &serde_json::from_value(serde_json::json!({"secondary_email": "dana.work@example.com"})).unwrap(),
    )
    .await
    .unwrap();
    let work = email(
        k,
        &mail(
            &[
                "From: Dana at work <DANA.WORK@example.com>",
                "To: office@757handy.com, dana@example.com",
                "Subject: Also the porch light",
                "Message-ID: <m2@example.com>",
                "In-Reply-To: <r1@757handy.com>",
            ],
            "While you are here, the porch light flickers.",
        ),
    )
    .await;
    assert_eq!(
        (work.customer_id, work.thread_id.as_deref()),
        (dana.id, Some(thread.as_str())),
        "the headers, not the subject, thread it"
    );

    // The old subject without references starts a thread; another customer citing Dana's
    // message gets a thread of their own.
    let fresh = email(
        k,
        &mail(
            &[
                "From: dana@example.com",
                "To: office@757handy.com",
                "Subject: Leaky faucet",
                "Message-ID: <m3@example.com>",
            ],
            "Again.",
        ),
    )
    .await;
    assert_eq!(fresh.customer_id, dana.id);
    assert_ne!(fresh.thread_id.as_deref(), Some(thread.as_str()));
    let eve = email(
        k,
        &mail(
            &[
                "From: eve@example.com",
                "To: office@757handy.com",
                "Subject: Re: Leaky faucet",
                "Message-ID: <e1@example.com>",
                "In-Reply-To: <m1@example.com>",
            ],
            "Forwarded to me by Dana: can you do mine too?",
        ),
    )
    .await;
    assert!(eve.customer_created);
    assert_ne!(eve.customer_id, dana.id);
    assert_ne!(eve.thread_id.as_deref(), Some(thread.as_str()), "never another customer's thread");

    // A redelivery writes nothing; a message without Message-ID is recognised by its bytes.
    let again = email(
        k,
        &mail(
            &[
                "From: Dana Reyes <Dana@Example.com>",
                "To: 757 Handy <office@757handy.com>",
                "Subject: Leaky faucet",
                "Message-ID: <m1@example.com>",
                "Date: Mon, 01 Jun 2026 08:00:00 -0400",
            ],
            "The kitchen faucet drips.",
        ),
    )
    .await;
    assert_eq!((again.created, again.conversation.id), (false, first.conversation.id));
    let anonymous = mail(&["From: dana@example.com", "To: office@757handy.com", "Subject: no id"], "hello");
    let one = email(k, &anonymous).await;
    let two = email(k, &anonymous).await;
    assert!(one.created && !two.created);
    assert!(one.conversation.external_id.as_deref().unwrap().starts_with("sha256:"));
    assert_eq!(two.conversation.id, one.conversation.id);

    // An outbound message to a new address makes that recipient the customer.
    let out = email(
        k,
        &mail(
            &["From: office@757handy.com", "To: Frank Ng <frank@example.com>", "Message-ID: <o1@757handy.com>"],
            "Your quote",
        ),
    )
    .await;
    assert!(out.customer_created);
    assert_eq!(out.conversation.direction, Direction::Outbound);
    assert_eq!(k.get::<Customer>(out.customer_id).await.unwrap().primary_email.as_deref(), Some("frank@example.com"));

    // Attachments commit with the message, sized and checksummed from their bytes.
    let with_file = b"From: dana@example.com\r\nTo: office@757handy.com\r\nMessage-ID: <a1@example.com>\r\n\
        Subject: photo\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n\
        --XX\r\nContent-Type: text/plain\r\n\r\nSee the photo.\r\n\
        --XX\r\nContent-Type: image/png; name=leak.png\r\nContent-Disposition: attachment; filename=leak.png\r\n\
        Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--XX--\r\n";
    let r = email(k, with_file).await;
    assert_eq!(r.attachment_ids.len(), 1);
    let file = k.get::<ConversationAttachment>(r.attachment_ids[0]).await.unwrap();
    assert_eq!(
        (file.file_name.as_str(), file.file_type.as_deref(), file.file_size),
        ("leak.png", Some("image/png"), Some(5))
    );
    assert_eq!(
        file.checksum.as_deref(),
        Some("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );
    assert_eq!(file.conversation_id, r.conversation.id);
    assert_eq!(r.conversation.content.trim(), "See the photo.");
    assert_eq!(email(k, with_file).await.attachment_ids, r.attachment_ids, "a redelivery names the stored rows");

    // last_contact_at follows the newest message (messages without Date are stamped now).
    let dana = k.get::<Customer>(dana.id).await.unwrap();
    assert_eq!(dana.last_contact_at, Some(k.now()));

    // Refusals name the field and store nothing.
    let before = all::<Conversation, S>(k, &[]).await.len();
    for (raw, field) in [
        (mail(&["To: office@757handy.com", "Subject: who?", "Message-ID: <x1@example.com>"], "no sender"), "from"),
        (
            mail(
                &["From: office@757handy.com", "To: office@757handy.com", "Message-ID: <x2@example.com>"],
                "to ourselves",
            ),
            "to",
        ),
        (mail(&["From: not an address", "To: office@757handy.com", "Message-ID: <x3@example.com>"], "?"), "from"),
    ] {
        let err = k.receive(karen_inbound::email::parse(&raw).unwrap(), &rules()).await.unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
    }
    assert_eq!(all::<Conversation, S>(k, &[]).await.len(), before);
}

/// SMS: the customer by primary or secondary phone (several: the one contacted most recently,
/// the others listed as candidates), new numbers become customers; a thread stays open while
/// its last message is younger than the gap; STOP applies; MMS media and a call's recording are
/// attachments that point at Twilio.
pub async fn sms_threads_by_time_and_number<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let sms = |sid: &str, from: &str, body: &str| {
        karen_inbound::twilio::parse_sms(&twilio(&[
            ("MessageSid", sid),
            ("From", from),
            ("To", "+17575550100"),
            ("Body", body),
        ]))
        .unwrap()
    };
    let first = k.receive(sms("SM1", "+17575550142", "Is Thursday OK?"), &rules()).await.unwrap();
    assert!(first.customer_created);
    let c = k.get::<Customer>(first.customer_id).await.unwrap();
    assert_eq!((c.primary_phone.as_deref(), c.referral_source.as_deref()), (Some("+17575550142"), Some("inbound_sms")));
    assert_eq!(first.conversation.phone_number.as_deref(), Some("+17575550142"));
    ctx.clock.advance(Duration::hours(2));
    let second = k.receive(sms("SM2", "+17575550142", "Or Friday"), &rules()).await.unwrap();
    assert_eq!((second.customer_id, &second.thread_id), (c.id, &first.thread_id));
    ctx.clock.advance(Duration::hours(25));
    let later = k.receive(sms("SM3", "+17575550142", "About the deck now"), &rules()).await.unwrap();
    assert_eq!(later.customer_id, c.id);
    assert_ne!(later.thread_id, first.thread_id, "after the gap, a new thread");
    assert_eq!(k.get::<Customer>(c.id).await.unwrap().last_contact_at, Some(k.now()));
    let again = k.receive(sms("SM3", "+17575550142", "About the deck now"), &rules()).await.unwrap();
    assert_eq!((again.created, again.conversation.id), (false, later.conversation.id));

    // STOP by SMS closes the channel, through this route too.
    k.receive(sms("SM4", "+17575550142", "Stop."), &rules()).await.unwrap();
    assert!(!k.consent(c.id).await.unwrap().channel(ConsentChannel::Sms).allowed());

    // Two customers share a number: the one contacted most recently gets the message.
    let shared = "+17575550177";
    let older =
        k.create(Customer { secondary_phone: Some(shared.into()), ..customer("old@example.com") }).await.unwrap();
    let newer = k
        .create(Customer { primary_phone: None, secondary_phone: Some(shared.into()), ..customer("new@example.com") })
        .await
        .unwrap();
    k.create(message(newer.id, Medium::Email, Direction::Inbound, k.now())).await.unwrap();
    let r = k.receive(sms("SM5", shared, "hi"), &rules()).await.unwrap();
    assert_eq!(r.customer_id, newer.id);
    assert_eq!(r.conversation.metadata.as_ref().unwrap()["match_candidates"], serde_json::json!([older.id]));

    // MMS media and a call's recording point at Twilio (karen does not fetch them yet).
    let mms = karen_inbound::twilio::parse_sms(&twilio(&[
        ("MessageSid", "MM1"),
        ("From", "+17575550142"),
        ("To", "+17575550100"),
        ("Body", ""),
        ("NumMedia", "1"),
        ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"),
        ("MediaContentType0", "image/jpeg"),
    ]))
    .unwrap();
    let r = k.receive(mms, &rules()).await.unwrap();
    let media = k.get::<ConversationAttachment>(r.attachment_ids[0]).await.unwrap();
    assert_eq!(
        (media.file_type.as_deref(), media.storage_path.as_deref().map(|p| p.starts_with("https://api.twilio.com/"))),
        (Some("image/jpeg"), Some(true))
    );
    let call = karen_inbound::twilio::parse_voice(&twilio(&[
        ("CallSid", "CA1"),
        ("From", "+17575550142"),
        ("To", "+17575550100"),
        ("TranscriptionText", "Please call me back about the deck."),
        ("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"),
    ]))
    .unwrap();
    let v = k.receive(call, &rules()).await.unwrap();
    assert_eq!((v.customer_id, v.conversation.medium, v.attachment_ids.len()), (c.id, Medium::Voice, 1));
    assert_eq!(v.conversation.content, "Please call me back about the deck.");

    // A number that is not one refuses the message, naming the field.
    let err = k.receive(sms("SM9", "not-a-number", "x"), &rules()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid { field, .. } if field == "from"), "{err}");
}

/// A batch (the backfill path) records what one-by-one receiving would: a reply answering a
/// message of the same batch joins its thread, a message repeated in the batch or stored before
/// is a redelivery, a bad message is refused alone, an outbound one goes through consent.
pub async fn a_batch_records_what_one_by_one_would<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let parse = |raw: Vec<u8>| karen_inbound::email::parse(&raw).unwrap();
    let before = email(
        k,
        &mail(&["From: ann@example.com", "To: office@757handy.com", "Message-ID: <b0@example.com>"], "earlier"),
    )
    .await;
    let batch = vec![
        parse(mail(
            &[
                "From: Ann Lee <ann@example.com>",
                "To: office@757handy.com",
                "Subject: Deck",
                "Message-ID: <b1@example.com>",
            ],
            "Stain the deck?",
        )),
        parse(mail(
            &[
                "From: ann@example.com",
                "To: office@757handy.com",
                "Subject: Re: Deck",
                "Message-ID: <b2@example.com>",
                "In-Reply-To: <b1@example.com>",
            ],
            "Also the rail.",
        )),
        parse(mail(
            &["From: ann@example.com", "To: office@757handy.com", "Subject: Deck", "Message-ID: <b1@example.com>"],
            "Stain the deck?",
        )),
        parse(mail(&["From: not an address", "To: office@757handy.com", "Message-ID: <b3@example.com>"], "bad")),
        parse(mail(
            &[
                "From: office@757handy.com",
                "To: ann@example.com",
                "Subject: Re: Deck",
                "Message-ID: <b4@757handy.com>",
                "In-Reply-To: <b2@example.com>",
            ],
            "Tuesday.",
        )),
        parse(mail(&["From: ann@example.com", "To: office@757handy.com", "Message-ID: <b0@example.com>"], "earlier")),
        parse(mail(
            &["From: new.person@example.com", "To: office@757handy.com", "Message-ID: <b5@example.com>"],
            "hello",
        )),
    ];
    let out = k.receive_batch(batch, &rules()).await;
    assert_eq!(out.len(), 7);
    let ok = |i: usize| out[i].as_ref().unwrap_or_else(|e| panic!("message {i}: {e}"));
    assert!(ok(0).created && ok(1).created && ok(4).created && ok(6).created);
    assert_eq!(ok(1).thread_id, ok(0).thread_id, "a reply to a message of the same batch joins its thread");
    assert_eq!(ok(4).thread_id, ok(0).thread_id, "the business's answer too");
    assert_eq!(ok(4).conversation.direction, Direction::Outbound);
    assert_eq!(
        (ok(2).created, ok(2).conversation.id),
        (false, ok(0).conversation.id),
        "repeated in the batch: a redelivery"
    );
    assert_eq!((ok(5).created, ok(5).conversation.id), (false, before.conversation.id), "stored before: a redelivery");
    assert_eq!(out[3].as_ref().unwrap_err().field(), Some("from"), "refused alone");
    assert!(ok(6).customer_created);
    assert_eq!(ok(0).customer_id, before.customer_id);
    assert_eq!(all::<Conversation, S>(k, &[]).await.len(), 5, "each message once");
}
