//! The real server over real HTTP, through every route of the OpenAPI document, on SQLite and
//! on PostgreSQL: statuses, bodies, errors, auth, and that no documented route goes unvisited.

mod common;

use common::{inbound_config, Backend, TestServer, PUBLIC_URL, TWILIO_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

async fn every_route(backend: Backend) {
    let s = TestServer::start_with(backend, inbound_config()).await;
    let (get, post, patch, put, delete) = (Method::GET, Method::POST, Method::PATCH, Method::PUT, Method::DELETE);

    // Health and the document.
    let (st, body) = s.call(get.clone(), "/healthz", "/healthz", None).await;
    assert_eq!((st, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (st, body) = s.call(get.clone(), "/readyz", "/readyz", None).await;
    assert_eq!((st, body["status"].as_str()), (StatusCode::OK, Some("ready")));
    let (st, doc) = s.call(get.clone(), "/openapi.json", "/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");

    // Customers.
    let (st, ann) = s
        .call(post.clone(), "/v1/customers", "/v1/customers", Some(json!({
            "first_name": "Ann", "primary_email": "Ann@Example.com", "primary_phone": "(757) 555-0100", "external_id": "crm-1"
        })))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{ann}");
    assert_eq!(ann["primary_phone"], "+17575550100");
    let ann_id = id(&ann);
    let (st, dup) =
        s.call(post.clone(), "/v1/customers", "/v1/customers", Some(json!({"primary_email": "ann@example.com"}))).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(dup["type"], "urn:karen:problem:conflict");
    let (st, got) = s.call(get.clone(), "/v1/customers/{id}", &format!("/v1/customers/{ann_id}"), None).await;
    assert_eq!((st, &got), (StatusCode::OK, &ann));
    let (st, upd) = s
        .call(
            patch.clone(),
            "/v1/customers/{id}",
            &format!("/v1/customers/{ann_id}"),
            Some(json!({"customer_tier": "vip"})),
        )
        .await;
    assert_eq!((st, upd["customer_tier"].as_str()), (StatusCode::OK, Some("vip")));
    let (st, page) = s.call(get.clone(), "/v1/customers", "/v1/customers?customer_tier=vip&limit=10", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], Value::Null);
    let (st, e) = s.call(get.clone(), "/v1/customers", "/v1/customers?shoe_size=9", None).await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("shoe_size")));
    let (st, by) =
        s.call(get.clone(), "/v1/customers/by-email", "/v1/customers/by-email?email=ANN%40example.com", None).await;
    assert_eq!((st, id(&by)), (StatusCode::OK, ann_id.clone()));
    let (st, by) =
        s.call(get.clone(), "/v1/customers/by-phone", "/v1/customers/by-phone?phone=757-555-0100", None).await;
    assert_eq!((st, by.as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, by) = s
        .call(get.clone(), "/v1/customers/by-external-id", "/v1/customers/by-external-id?external_id=crm-1", None)
        .await;
    assert_eq!((st, id(&by)), (StatusCode::OK, ann_id.clone()));
    let (st, _) =
        s.call(get.clone(), "/v1/customers/by-email", "/v1/customers/by-email?email=nobody%40example.com", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A customer id that names no row is 404 on the customer's routes, told by the store doing
    // the work (not by a read before it).
    let ghost = uuid::Uuid::now_v7();
    for (template, path) in [
        ("/v1/customers/{id}/preferences", format!("/v1/customers/{ghost}/preferences")),
        ("/v1/customers/{id}/conversations", format!("/v1/customers/{ghost}/conversations?medium=sms")),
    ] {
        let (st, body) = s.call(get.clone(), template, &path, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (st, body) = s
        .call(
            post.clone(),
            "/v1/customers/{id}/observations",
            &format!("/v1/customers/{ghost}/observations"),
            Some(json!({"preference_type": "communication_style", "preference_key": "detail_level",
                        "value": "brief", "source": "learned", "confidence": "0.7"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");

    // Conversations, attachments, threads, history, analytics.
    let now = chrono::Utc::now();
    let (st, reply) = s
        .call(
            post.clone(),
            "/v1/conversations",
            "/v1/conversations",
            Some(json!({
                "customer_id": ann_id, "medium": "email", "direction": "outbound", "content": "We can come Thursday.",
                "conversation_thread_id": "t-1", "message_timestamp": now.to_rfc3339()
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{reply}");
    let msg = json!({
        "customer_id": ann_id, "medium": "email", "direction": "inbound", "content": "Leaky faucet — help! 🚰",
        "external_id": "gmail-1", "conversation_thread_id": "t-1", "response_id": id(&reply),
        "message_timestamp": (now - chrono::Duration::minutes(2)).to_rfc3339()
    });
    let (st, inbound) =
        s.call(post.clone(), "/v1/conversations/ingest", "/v1/conversations/ingest", Some(msg.clone())).await;
    assert_eq!(st, StatusCode::CREATED, "{inbound}");
    let (st, again) = s.call(post.clone(), "/v1/conversations/ingest", "/v1/conversations/ingest", Some(msg)).await;
    assert_eq!((st, &again), (StatusCode::OK, &inbound), "a redelivery returns the stored message");
    let (st, by) = s
        .call(
            get.clone(),
            "/v1/conversations/by-external-id",
            "/v1/conversations/by-external-id?medium=email&external_id=gmail-1",
            None,
        )
        .await;
    assert_eq!((st, id(&by)), (StatusCode::OK, id(&inbound)));
    let (st, thread) =
        s.call(get.clone(), "/v1/threads/{thread_id}/conversations", "/v1/threads/t-1/conversations", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(thread.as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![id(&inbound), id(&reply)]);
    let (st, hist) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/conversations",
            &format!("/v1/customers/{ann_id}/conversations?medium=email&limit=1"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(id(&hist["items"][0]), id(&reply), "newest first");
    let cursor = hist["next_cursor"].as_str().unwrap().to_string();
    let (st, hist2) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/conversations",
            &format!("/v1/customers/{ann_id}/conversations?medium=email&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!((st, id(&hist2["items"][0])), (StatusCode::OK, id(&inbound)));
    // Search: by stem, with the snippet's match marked; refusals name the parameter.
    let (st, found) = s
        .call(
            get.clone(),
            "/v1/conversations/search",
            &format!("/v1/conversations/search?q=faucets&customer_id={ann_id}&medium=email&direction=inbound"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{found}");
    assert_eq!(
        found["items"].as_array().unwrap().iter().map(|h| id(&h["conversation"])).collect::<Vec<_>>(),
        [id(&inbound)]
    );
    assert!(found["items"][0]["snippet"].as_str().unwrap().contains("<mark>faucet</mark>"), "{found}");
    assert!(found["items"][0]["rank"].as_f64().unwrap() > 0.0, "{found}");
    let long = "a".repeat(karen_core::search::MAX_QUERY_CHARS + 1);
    for (query, field) in [
        (format!("q={long}"), "q"),
        ("q=x&customer_id=nope".to_string(), "customer_id"),
        (format!("q=x&customer_id={ann_id}&from=yesterday"), "from"),
        (format!("q=x&customer_id={ann_id}&medium=fax"), "medium"),
        (format!("q=x&customer_id={ann_id}&cursor=abc"), "cursor"),
        (format!("q=x&customer_id={ann_id}&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"), "to"),
        (format!("customer_id={ann_id}"), "q"),
    ] {
        let (st, body) =
            s.call(get.clone(), "/v1/conversations/search", &format!("/v1/conversations/search?{query}"), None).await;
        assert!(st.is_client_error(), "{query}: {st} {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let (st, body) = s
        .call(
            get.clone(),
            "/v1/conversations/search",
            &format!("/v1/conversations/search?q=faucet&customer_id={}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    // The event feed: the messages just written, in order, and a cursor that goes on from them.
    let (st, feed) = s
        .call(
            get.clone(),
            "/v1/events",
            &format!("/v1/events?customer_id={ann_id}&types=conversation.created&limit=1"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{feed}");
    assert_eq!(feed["items"][0]["type"], "conversation.created", "{feed}");
    assert_eq!(feed["items"][0]["entity_id"], id(&reply), "{feed}");
    assert_eq!(feed["items"][0]["customer_id"], json!(ann_id), "{feed}");
    let after = feed["next_cursor"].as_str().unwrap().to_string();
    let (st, feed) = s
        .call(
            get.clone(),
            "/v1/events",
            &format!(
                "/v1/events?customer_id={ann_id}&types=conversation.created,conversation.updated&after={after}&wait=1"
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{feed}");
    let ids: Vec<_> = feed["items"].as_array().unwrap().iter().map(|e| e["entity_id"].clone()).collect();
    assert_eq!(ids, [json!(id(&inbound))], "{feed}");
    for (query, field) in [
        ("after=abc".to_string(), "after"),
        (format!("after={cursor}"), "after"),
        ("types=conversation.sent".to_string(), "types"),
        ("limit=1001".to_string(), "limit"),
        ("wait=31".to_string(), "wait"),
        ("customer_id=ann".to_string(), "customer_id"),
        ("since=1".to_string(), "since"),
    ] {
        let (st, body) = s.call(get.clone(), "/v1/events", &format!("/v1/events?{query}"), None).await;
        assert!(st.is_client_error(), "{query}: {st} {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let (st, stats) = s
        .call(get.clone(), "/v1/customers/{id}/analytics", &format!("/v1/customers/{ann_id}/analytics?days=7"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(stats[0]["medium"], "email");
    assert_eq!(stats[0]["response_rate"], 1.0);
    assert_eq!(stats[0]["median_first_response_seconds"], 120.0);
    let (st, c) =
        s.call(get.clone(), "/v1/conversations", &format!("/v1/conversations?customer_id={ann_id}"), None).await;
    assert_eq!((st, c["items"].as_array().unwrap().len()), (StatusCode::OK, 2));
    let (st, c) =
        s.call(get.clone(), "/v1/conversations/{id}", &format!("/v1/conversations/{}", id(&inbound)), None).await;
    assert_eq!((st, c["content"].as_str()), (StatusCode::OK, Some("Leaky faucet — help! 🚰")));
    let (st, c) = s
        .call(
            patch.clone(),
            "/v1/conversations/{id}",
            &format!("/v1/conversations/{}", id(&inbound)),
            Some(json!({"status": "replied"})),
        )
        .await;
    assert_eq!((st, c["status"].as_str()), (StatusCode::OK, Some("replied")));
    let (st, att) = s
        .call(
            post.clone(),
            "/v1/attachments",
            "/v1/attachments",
            Some(json!({
                "conversation_id": id(&inbound), "file_name": "faucet.jpg", "file_size": 1024,
                "checksum": format!("sha256:{}", "a".repeat(64))
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{att}");
    let (st, _) = s.call(get.clone(), "/v1/attachments/{id}", &format!("/v1/attachments/{}", id(&att)), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, a) = s
        .call(
            patch.clone(),
            "/v1/attachments/{id}",
            &format!("/v1/attachments/{}", id(&att)),
            Some(json!({"virus_scan_status": "clean"})),
        )
        .await;
    assert_eq!((st, a["virus_scan_status"].as_str()), (StatusCode::OK, Some("clean")));
    let (st, l) = s
        .call(get.clone(), "/v1/attachments", &format!("/v1/attachments?conversation_id={}", id(&inbound)), None)
        .await;
    assert_eq!((st, l["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, _) = s.call(delete.clone(), "/v1/attachments/{id}", &format!("/v1/attachments/{}", id(&att)), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    // Attachment bytes: a raw upload, then its content (tests/files.rs holds the rest).
    let resp = s
        .request(
            post.clone(),
            "/v1/conversations/{id}/attachments",
            &format!("/v1/conversations/{}/attachments?filename=note.txt", id(&inbound)),
        )
        .header("content-type", "text/plain")
        .body("the note")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let file: Value = resp.json().await.unwrap();
    assert_eq!((file["file_name"].as_str(), file["file_size"].as_i64()), (Some("note.txt"), Some(8)));
    let resp = s
        .request(get.clone(), "/v1/attachments/{id}/content", &format!("/v1/attachments/{}/content", id(&file)))
        .send()
        .await
        .unwrap();
    assert_eq!((resp.status(), resp.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "text/plain"));
    assert_eq!(resp.text().await.unwrap(), "the note");
    let (st, e) = s
        .call(get.clone(), "/v1/attachments/{id}/content", &format!("/v1/attachments/{}/content", id(&att)), None)
        .await;
    assert_eq!((st, e["type"].as_str()), (StatusCode::NOT_FOUND, Some("urn:karen:problem:not-found")), "{e}");

    // Preferences.
    let (st, p) = s
        .call(
            put.clone(),
            "/v1/customers/{id}/preferences",
            &format!("/v1/customers/{ann_id}/preferences"),
            Some(json!({
                "preference_type": "communication_method", "preference_key": "preferred_channel",
                "preference_value": {"value": "email"}, "source": "explicit", "confidence_score": "0.9"
            })),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["confidence_score"], "0.90");
    let (st, e) = s
        .call(
            put.clone(),
            "/v1/customers/{id}/preferences",
            &format!("/v1/customers/{ann_id}/preferences"),
            Some(json!({
                "preference_type": "communication_method", "preference_key": "preferred_channel",
                "preference_value": {"value": "fax"}, "source": "explicit"
            })),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("preference_value.value")));
    let (st, p2) = s
        .call(
            post.clone(),
            "/v1/preferences",
            "/v1/preferences",
            Some(json!({
                "customer_id": ann_id, "preference_type": "communication_style", "preference_key": "formality_level",
                "preference_value": {"value": "friendly"}, "source": "learned", "priority": 2,
                "learned_from_interaction_id": id(&inbound)
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p2}");
    let (st, list) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/preferences",
            &format!("/v1/customers/{ann_id}/preferences?type=communication_method"),
            None,
        )
        .await;
    assert_eq!((st, list.as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, _) = s.call(get.clone(), "/v1/preferences/{id}", &format!("/v1/preferences/{}", id(&p2)), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            patch.clone(),
            "/v1/preferences/{id}",
            &format!("/v1/preferences/{}", id(&p2)),
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, l) = s
        .call(get.clone(), "/v1/preferences", &format!("/v1/preferences?customer_id={ann_id}&is_active=true"), None)
        .await;
    assert_eq!((st, l["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, _) = s.call(delete.clone(), "/v1/preferences/{id}", &format!("/v1/preferences/{}", id(&p2)), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, learned) = s
        .call(
            post.clone(),
            "/v1/customers/{id}/observations",
            &format!("/v1/customers/{ann_id}/observations"),
            Some(json!({
                "preference_type": "communication_method", "preference_key": "preferred_channel", "value": "sms",
                "source": "learned", "confidence": "0.8", "conversation_id": id(&inbound)
            })),
        )
        .await;
    assert_eq!(
        (st, learned["outcome"].as_str()),
        (StatusCode::OK, Some("rejected")),
        "learned never replaces explicit: {learned}"
    );
    let (st, e) = s
        .call(
            post.clone(),
            "/v1/customers/{id}/observations",
            &format!("/v1/customers/{ann_id}/observations"),
            Some(json!({
                "preference_type": "communication_method", "preference_key": "preferred_channel", "value": "sms",
                "source": "learned", "confidence": "2"
            })),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("confidence")));
    let (st, eff) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/effective-preferences",
            &format!("/v1/customers/{ann_id}/effective-preferences?medium=sms"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let channel = eff.as_array().unwrap().iter().find(|p| p["preference_key"] == "preferred_channel").unwrap();
    assert_eq!((channel["value"].as_str(), channel["winner"]["source"].as_str()), (Some("email"), Some("explicit")));
    let (st, hist) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/preference-history",
            &format!("/v1/customers/{ann_id}/preference-history?type=communication_method&key=preferred_channel"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(hist[0]["reason"], "contradicted");
    let (st, plan) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/contact-plan",
            &format!("/v1/customers/{ann_id}/contact-plan?at=2026-06-03T15:00:00Z&urgency=normal"),
            None,
        )
        .await;
    assert_eq!((st, plan["channel_now"].as_str()), (StatusCode::OK, Some("email")));
    let (st, e) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/contact-plan",
            &format!("/v1/customers/{ann_id}/contact-plan?at=yesterday"),
            None,
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("at")));

    // Catalog.
    let (st, root) = s
        .call(post.clone(), "/v1/categories", "/v1/categories", Some(json!({"name": "Plumbing", "slug": "plumbing"})))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{root}");
    let (st, child) = s
        .call(
            post.clone(),
            "/v1/categories",
            "/v1/categories",
            Some(json!({"name": "Kitchen", "slug": "kitchen", "parent_category_id": id(&root)})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, roots) = s.call(get.clone(), "/v1/categories/roots", "/v1/categories/roots", None).await;
    assert_eq!((st, roots.as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, kids) = s
        .call(get.clone(), "/v1/categories/{id}/children", &format!("/v1/categories/{}/children", id(&root)), None)
        .await;
    assert_eq!((st, id(&kids[0])), (StatusCode::OK, id(&child)));
    let (st, up) = s
        .call(get.clone(), "/v1/categories/{id}/ancestors", &format!("/v1/categories/{}/ancestors", id(&child)), None)
        .await;
    assert_eq!((st, id(&up[0])), (StatusCode::OK, id(&root)));
    let (st, _) = s.call(get.clone(), "/v1/categories/{id}", &format!("/v1/categories/{}", id(&child)), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = s
        .call(
            patch.clone(),
            "/v1/categories/{id}",
            &format!("/v1/categories/{}", id(&root)),
            Some(json!({"parent_category_id": id(&child)})),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("parent_category_id")));
    let (st, l) =
        s.call(get.clone(), "/v1/categories", &format!("/v1/categories?parent_category_id={}", id(&root)), None).await;
    assert_eq!((st, l["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, svc) = s
        .call(
            post.clone(),
            "/v1/services",
            "/v1/services",
            Some(json!({
                "category_id": id(&child), "name": "Faucet Repair", "slug": "faucet-repair", "pricing_model": "tiered",
                "keywords": ["Faucet Repair", "leaky faucet"]
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{svc}");
    let (st, e) = s
        .call(
            post.clone(),
            "/v1/services",
            "/v1/services",
            Some(json!({
            "category_id": uuid::Uuid::now_v7(), "name": "X", "slug": "x", "pricing_model": "tiered"})),
        )
        .await;
    assert_eq!(
        (st, e["type"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("urn:karen:problem:missing-reference"))
    );
    let (st, tier) = s
        .call(
            post.clone(),
            "/v1/pricing-tiers",
            "/v1/pricing-tiers",
            Some(json!({
                "service_id": id(&svc), "tier_name": "Basic", "price": 85, "is_default": true
            })),
        )
        .await;
    assert_eq!((st, tier["price"].as_str()), (StatusCode::CREATED, Some("85.00")));
    let (st, _) =
        s.call(get.clone(), "/v1/pricing-tiers/{id}", &format!("/v1/pricing-tiers/{}", id(&tier)), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            patch.clone(),
            "/v1/pricing-tiers/{id}",
            &format!("/v1/pricing-tiers/{}", id(&tier)),
            Some(json!({"price": "90.00"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, l) =
        s.call(get.clone(), "/v1/pricing-tiers", &format!("/v1/pricing-tiers?service_id={}", id(&svc)), None).await;
    assert_eq!((st, l["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, hits) = s.call(get.clone(), "/v1/services/search", "/v1/services/search?q=FAUCET", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (hits["items"][0]["price"].as_str(), hits["items"][0]["category_name"].as_str()),
        (Some("90.00"), Some("Kitchen"))
    );
    let (st, _) = s.call(get.clone(), "/v1/services/{id}", &format!("/v1/services/{}", id(&svc)), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            patch.clone(),
            "/v1/services/{id}",
            &format!("/v1/services/{}", id(&svc)),
            Some(json!({"is_featured": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, l) = s.call(get.clone(), "/v1/services", "/v1/services?is_featured=true", None).await;
    assert_eq!((st, l["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, pkg) = s
        .call(
            post.clone(),
            "/v1/packages",
            "/v1/packages",
            Some(json!({"name": "Kitchen Refresh", "slug": "kitchen-refresh", "total_price": "275.00"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, item) = s
        .call(
            post.clone(),
            "/v1/package-services",
            "/v1/package-services",
            Some(json!({"package_id": id(&pkg), "service_id": id(&svc)})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{item}");
    let (st, _) =
        s.call(get.clone(), "/v1/package-services/{id}", &format!("/v1/package-services/{}", id(&item)), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            patch.clone(),
            "/v1/package-services/{id}",
            &format!("/v1/package-services/{}", id(&item)),
            Some(json!({"quantity": 2})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, l) = s
        .call(get.clone(), "/v1/package-services", &format!("/v1/package-services?package_id={}", id(&pkg)), None)
        .await;
    assert_eq!((st, l["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (st, detail) =
        s.call(get.clone(), "/v1/packages/{id}/detail", &format!("/v1/packages/{}/detail", id(&pkg)), None).await;
    assert_eq!((st, detail["items"][0]["item"]["quantity"].as_i64()), (StatusCode::OK, Some(2)));
    let (st, _) = s.call(get.clone(), "/v1/packages/{id}", &format!("/v1/packages/{}", id(&pkg)), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            patch.clone(),
            "/v1/packages/{id}",
            &format!("/v1/packages/{}", id(&pkg)),
            Some(json!({"is_featured": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, l) = s.call(get.clone(), "/v1/packages", "/v1/packages?is_featured=true", None).await;
    assert_eq!((st, l["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    // Consent: an inbound STOP closes sms; outbound sms is refused; an explicit change reopens it.
    let sms = |direction: &str, body: &str, ext: &str| {
        json!({"customer_id": ann_id, "medium": "sms", "direction": direction, "content": body, "external_id": ext,
               "message_timestamp": now.to_rfc3339()})
    };
    let (st, stop) = s
        .call(
            post.clone(),
            "/v1/conversations/ingest",
            "/v1/conversations/ingest",
            Some(sms("inbound", "Stop.", "SM-stop")),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{stop}");
    let consent_path = format!("/v1/customers/{ann_id}/consent");
    let (st, state) = s.call(get.clone(), "/v1/customers/{id}/consent", &consent_path, None).await;
    assert_eq!(st, StatusCode::OK, "{state}");
    assert_eq!(
        (state["channels"][0]["channel"].as_str(), state["channels"][0]["status"].as_str()),
        (Some("sms"), Some("opted_out"))
    );
    assert_eq!(state["channels"][0]["record"]["conversation_id"], stop["id"]);
    let (st, e) = s
        .call(
            post.clone(),
            "/v1/conversations/ingest",
            "/v1/conversations/ingest",
            Some(sms("outbound", "See you Tuesday", "SM-out")),
        )
        .await;
    assert_eq!((st, e["type"].as_str()), (StatusCode::CONFLICT, Some("urn:karen:problem:conflict")), "{e}");
    assert!(e["rule"].as_str().unwrap().contains(state["channels"][0]["record"]["id"].as_str().unwrap()), "{e}");
    let (st, row) = s
        .call(
            post.clone(),
            "/v1/customers/{id}/consent",
            &consent_path,
            Some(json!({"channel": "sms", "status": "opted_in", "note": "called to opt back in"})),
        )
        .await;
    assert_eq!((st, row["cause"].as_str()), (StatusCode::CREATED, Some("request")), "{row}");
    let (st, e) = s
        .call(
            post.clone(),
            "/v1/customers/{id}/consent",
            &consent_path,
            Some(json!({"channel": "fax", "status": "opted_in"})),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("channel")), "{e}");
    let (st, _) = s
        .call(
            post.clone(),
            "/v1/conversations/ingest",
            "/v1/conversations/ingest",
            Some(sms("outbound", "See you Tuesday", "SM-out")),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "after opting back in, sms goes out");
    let (st, _) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/consent",
            &format!("/v1/customers/{}/consent", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, data) =
        s.call(get.clone(), "/v1/customers/{id}/export", &format!("/v1/customers/{ann_id}/export"), None).await;
    assert_eq!((st, data["customer"]["id"].as_str()), (StatusCode::OK, ann["id"].as_str()), "{data}");
    assert_eq!(data["consent"].as_array().map(Vec::len), Some(2), "the STOP and the opt-in");
    assert!(data["conversations"].as_array().unwrap().iter().any(|m| m["id"] == stop["id"]));

    let (st, twin) = s
        .call(
            post.clone(),
            "/v1/customers",
            "/v1/customers",
            Some(json!({"first_name": "Ann", "secondary_email": "ANN@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{twin}");
    let (st, dups) = s.call(get.clone(), "/v1/customers/duplicates", "/v1/customers/duplicates?limit=10", None).await;
    assert_eq!(st, StatusCode::OK, "{dups}");
    let pair =
        dups["items"].as_array().unwrap().iter().find(|p| p["b"]["id"] == twin["id"]).expect("the twin is paired");
    assert_eq!(pair["a"]["id"], ann["id"]);
    assert_eq!(pair["reasons"][0], "a.primary_email = b.secondary_email (ann@example.com)");

    // Merging the twin into Ann: a dry run, the merge, then the twin answers where it went.
    let merge_path = format!("/v1/customers/{ann_id}/merge");
    let merge = |body: Value| s.call(post.clone(), "/v1/customers/{id}/merge", &merge_path, Some(body));
    let (st, dry) = merge(json!({"duplicate_id": twin["id"], "dry_run": true})).await;
    assert_eq!((st, dry["dry_run"].as_bool()), (StatusCode::OK, Some(true)), "{dry}");
    let (st, _) = s.call(get.clone(), "/v1/customers/{id}", &format!("/v1/customers/{}", id(&twin)), None).await;
    assert_eq!(st, StatusCode::OK, "a dry run removes nothing");
    let (st, report) = merge(json!({"duplicate_id": twin["id"]})).await;
    assert_eq!((st, report["customer"]["id"].as_str()), (StatusCode::OK, ann["id"].as_str()), "{report}");
    assert_eq!(report["moved"], dry["moved"], "the dry run said what the merge did");
    let (st, gone) = s.call(get.clone(), "/v1/customers/{id}", &format!("/v1/customers/{}", id(&twin)), None).await;
    assert_eq!(
        (st, gone["type"].as_str(), gone["merged_into"].as_str()),
        (StatusCode::NOT_FOUND, Some("urn:karen:problem:merged"), ann["id"].as_str()),
        "{gone}"
    );
    for (body, status, part) in [
        (json!({"duplicate_id": twin["id"]}), StatusCode::CONFLICT, "already merged"),
        (json!({"duplicate_id": ann["id"]}), StatusCode::UNPROCESSABLE_ENTITY, "into itself"),
        (json!({"duplicate_id": uuid::Uuid::now_v7()}), StatusCode::UNPROCESSABLE_ENTITY, "does not exist"),
        (json!({"duplicate_id": "nope"}), StatusCode::UNPROCESSABLE_ENTITY, "UUID"),
        (json!({"duplicate_id": twin["id"], "force": true}), StatusCode::UNPROCESSABLE_ENTITY, "force"),
    ] {
        let (st, e) = merge(body.clone()).await;
        let said = format!("{} {}", e["rule"].as_str().unwrap_or(""), e["detail"].as_str().unwrap_or(""));
        assert!(st == status && said.contains(part), "{body}: {st} {e}");
    }

    // Quotes and reply context.
    let quote = |body: Value| s.call(post.clone(), "/v1/quotes", "/v1/quotes", Some(body));
    let (st, q) = quote(json!({"service_id": id(&svc), "quantity": 3})).await;
    assert_eq!((st, q["total"].as_str(), q["binding"].as_bool()), (StatusCode::OK, Some("270.00"), Some(true)), "{q}");
    assert_eq!((q["tier"]["id"].as_str(), q["steps"][0]["rule"].as_str()), (tier["id"].as_str(), Some("tier_price")));
    let (st, q) = quote(json!({"package_id": id(&pkg)})).await;
    assert_eq!((st, q["total"].as_str()), (StatusCode::OK, Some("275.00")), "{q}");
    assert_eq!(
        (q["package"]["services_sum"].as_str(), q["package"]["savings"].as_str()),
        (Some("180.00"), Some("-95.00"))
    );
    for (body, status, field) in [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "service_id"),
        (json!({"service_id": id(&svc), "quantity": 0}), StatusCode::UNPROCESSABLE_ENTITY, "quantity"),
        (json!({"service_id": id(&svc), "colour": "red"}), StatusCode::UNPROCESSABLE_ENTITY, "colour"),
        (json!({"service_id": uuid::Uuid::now_v7()}), StatusCode::UNPROCESSABLE_ENTITY, "service_id"),
        (json!({"package_id": id(&pkg), "hours": 2}), StatusCode::UNPROCESSABLE_ENTITY, "hours"),
    ] {
        let (st, e) = quote(body.clone()).await;
        assert_eq!((st, e["field"].as_str()), (status, Some(field)), "{body}: {e}");
    }
    let (st, c) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/context",
            &format!("/v1/customers/{ann_id}/context?conversation_id={}&history=5", id(&inbound)),
            None,
        )
        .await;
    assert_eq!((st, c["message"]["id"].as_str()), (StatusCode::OK, inbound["id"].as_str()), "{c}");
    assert_eq!(c["services"][0]["service"]["service"]["id"], svc["id"], "the leaky faucet matches the service");
    assert_eq!(c["services"][0]["quote"]["total"], "90.00");
    assert_eq!(c["customer"]["id"], ann["id"]);
    let (st, by) = s
        .call(
            get.clone(),
            "/v1/context/by-message",
            "/v1/context/by-message?medium=email&external_id=gmail-1&history=5",
            None,
        )
        .await;
    let without_clock = |mut v: Value| {
        v["contact_plan"]["at"] = Value::Null;
        v
    };
    assert_eq!(st, StatusCode::OK);
    assert!(without_clock(by) == without_clock(c), "by the external id: the same document (but for the moment asked)");
    let (st, e) = s
        .call(get.clone(), "/v1/context/by-message", "/v1/context/by-message?medium=email&external_id=nope", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{e}");
    let (st, e) = s
        .call(get.clone(), "/v1/customers/{id}/context", &format!("/v1/customers/{ann_id}/context?history=0"), None)
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("history")));
    let (st, e) = s
        .call(
            get.clone(),
            "/v1/customers/{id}/context",
            &format!("/v1/customers/{ann_id}/context?conversation_id=x"),
            None,
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("conversation_id")));

    let (st, e) = s.call(delete.clone(), "/v1/categories/{id}", &format!("/v1/categories/{}", id(&child)), None).await;
    assert_eq!((st, e["type"].as_str()), (StatusCode::CONFLICT, Some("urn:karen:problem:in-use")));
    for (template, row) in [
        ("/v1/package-services/{id}", &item),
        ("/v1/packages/{id}", &pkg),
        ("/v1/pricing-tiers/{id}", &tier),
        ("/v1/services/{id}", &svc),
        ("/v1/categories/{id}", &child),
        ("/v1/conversations/{id}", &reply),
    ] {
        let (st, _) = s.call(delete.clone(), template, &template.replace("{id}", &id(row)), None).await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{template}");
    }

    // Webhooks (admin): the secret is shown once; private targets are refused by default.
    let post_hook = |body: serde_json::Value| s.call(post.clone(), "/v1/webhooks", "/v1/webhooks", Some(body));
    let (st, hook) = post_hook(json!({"url": "https://203.0.113.10/karen", "types": ["conversation.created"]})).await;
    assert_eq!(st, StatusCode::CREATED, "{hook}");
    assert!(hook["secret"].as_str().unwrap().starts_with("whsec_"), "{hook}");
    let hook_id = id(&hook);
    for (body, field) in [
        (json!({"url": "http://127.0.0.1:9/hook"}), "url"),
        (json!({"url": "http://localhost/hook"}), "url"),
        (json!({"url": "http://[fd00::1]/hook"}), "url"),
        (json!({"url": "http://169.254.169.254/latest"}), "url"),
        (json!({"url": "mailto:ann@example.com"}), "url"),
        (json!({"url": "https://203.0.113.10/", "types": ["conversation.created", "conversation.created"]}), "types"),
    ] {
        let (st, problem) = post_hook(body.clone()).await;
        assert!(st.is_client_error(), "{body}: {st} {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    let (st, hooks) = s.call(get.clone(), "/v1/webhooks", "/v1/webhooks", None).await;
    assert_eq!((st, hooks["items"][0]["id"].clone()), (StatusCode::OK, json!(hook_id)));
    assert!(hooks["items"][0].get("secret").is_none(), "{hooks}");
    let (st, one) = s.call(get.clone(), "/v1/webhooks/{id}", &format!("/v1/webhooks/{hook_id}"), None).await;
    assert_eq!((st, one.get("secret")), (StatusCode::OK, None), "{one}");
    let (st, changed) = s
        .call(
            patch.clone(),
            "/v1/webhooks/{id}",
            &format!("/v1/webhooks/{hook_id}"),
            Some(json!({"description": "the agents", "status": "disabled"})),
        )
        .await;
    assert_eq!(
        (st, &changed["description"], &changed["status"]),
        (StatusCode::OK, &json!("the agents"), &json!("disabled"))
    );
    for body in [json!({"secret": "whsec_x"}), json!({"url": "http://10.0.0.1/"}), json!([])] {
        let (st, problem) =
            s.call(patch.clone(), "/v1/webhooks/{id}", &format!("/v1/webhooks/{hook_id}"), Some(body.clone())).await;
        assert!(st.is_client_error(), "{body}: {st} {problem}");
    }
    let (st, deliveries) = s
        .call(
            get.clone(),
            "/v1/webhooks/{id}/deliveries",
            &format!("/v1/webhooks/{hook_id}/deliveries?outcome=failed"),
            None,
        )
        .await;
    assert_eq!((st, deliveries["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{deliveries}");
    let (st, problem) = s
        .call(
            get.clone(),
            "/v1/webhooks/{id}/deliveries",
            &format!("/v1/webhooks/{hook_id}/deliveries?outcome=lost"),
            None,
        )
        .await;
    assert_eq!((st, &problem["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("outcome")), "{problem}");
    let (st, _) = s.call(delete.clone(), "/v1/webhooks/{id}", &format!("/v1/webhooks/{hook_id}"), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) =
        s.call(get.clone(), "/v1/webhooks/{id}/deliveries", &format!("/v1/webhooks/{hook_id}/deliveries"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Tokens (admin), auth and scopes.
    let (st, tokens) = s.call(get.clone(), "/v1/tokens", "/v1/tokens", None).await;
    assert_eq!(st, StatusCode::OK);
    let reader = tokens["items"].as_array().unwrap().iter().find(|t| t["name"] == "test-reader").unwrap().clone();
    let (st, t) = s.call(get.clone(), "/v1/tokens/{id}", &format!("/v1/tokens/{}", id(&reader)), None).await;
    assert_eq!((st, t["scopes"].clone()), (StatusCode::OK, json!(["read"])));
    // The stored hash is never shown, in a listing or a read, nor in the schema.
    assert!(tokens["items"].as_array().unwrap().iter().all(|t| t.get("token_hash").is_none()), "{tokens}");
    assert!(t.get("token_hash").is_none(), "{t}");
    assert!(doc["components"]["schemas"]["ApiToken"]["properties"].get("token_hash").is_none());
    let url = format!("{}/v1/customers/{ann_id}", s.base);
    // The scheme is case-insensitive (RFC 9110).
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let r = s.client.get(&url).header("authorization", format!("{scheme} {}", s.read_token)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{scheme}");
    }
    // Every body is a JSON object: an array is not read positionally into an entity.
    for body in ["[]", "[\"x@example.com\"]", "\"text\"", "42", "null"] {
        let r = s
            .client
            .post(format!("{}/v1/customers", s.base))
            .bearer_auth(&s.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(
            (problem["field"].as_str(), problem["rule"].as_str()),
            (Some("body"), Some("must be a JSON object"))
        );
    }
    // Years run from 1 to 9999, one rule named in the error, whichever side of it.
    for at in ["0000-06-01T00:00:00Z", "10000-01-01T00:00:00Z", "2026-13-01T00:00:00Z"] {
        let (st, problem) = s
            .call(
                post.clone(),
                "/v1/conversations/ingest",
                "/v1/conversations/ingest",
                Some(json!({"customer_id": ann_id, "medium": "sms", "direction": "inbound",
                            "content": "hi", "message_timestamp": at})),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{at}: {problem}");
        assert_eq!(problem["field"], "message_timestamp", "{at}");
        assert_eq!(problem["rule"], karen_core::validate::YEAR_RULE, "{at}");
    }
    assert_eq!(s.client.get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.client.get(&url).bearer_auth("krn_wrong").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.client.get(&url).bearer_auth(&s.read_token).send().await.unwrap().status(), StatusCode::OK);
    let denied = s.client.delete(&url).bearer_auth(&s.read_token).send().await.unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(denied.headers()["content-type"], "application/problem+json");
    assert_eq!(
        s.client.get(format!("{}/v1/tokens", s.base)).bearer_auth(&s.read_token).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let (st, _) = s.call(delete.clone(), "/v1/tokens/{id}", &format!("/v1/tokens/{}", id(&reader)), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        s.client.get(&url).bearer_auth(&s.read_token).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "revoked"
    );

    // Deleting the customer erases what is theirs.
    let (st, report) = s.call(delete.clone(), "/v1/customers/{id}", &format!("/v1/customers/{ann_id}"), None).await;
    assert_eq!((st, report["rows"]["customers"].as_u64()), (StatusCode::OK, Some(1)), "{report}");
    assert!(report["rows"]["conversations"].as_u64().unwrap() >= 2, "{report}");
    assert_eq!(report["rows"]["customer_consents"], 2, "{report}");
    let (st, _) =
        s.call(get.clone(), "/v1/conversations/{id}", &format!("/v1/conversations/{}", id(&inbound)), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Inbound: a raw e-mail and Twilio's webhooks (tests/inbound.rs holds the rest).
    let raw = b"From: Zoe <zoe@example.com>\r\nTo: office@757handy.com\r\nSubject: Gutters\r\nMessage-ID: <z1@example.com>\r\n\r\nClean them?\r\n";
    let (st, _, body) =
        s.post_raw("/v1/inbound/email", "/v1/inbound/email", "message/rfc822", raw.to_vec(), &[], true).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let got: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (got["customer_created"].as_bool(), got["conversation"]["subject"].as_str()),
        (Some(true), Some("Gutters"))
    );
    for (route, params) in [
        (
            "/v1/inbound/twilio/sms",
            vec![("MessageSid", "SMe2e"), ("From", "+17575550188"), ("To", "+17575550100"), ("Body", "hi")],
        ),
        (
            "/v1/inbound/twilio/voice",
            vec![("CallSid", "CAe2e"), ("From", "+17575550188"), ("TranscriptionText", "call me")],
        ),
    ] {
        let params: Vec<(String, String)> = params.into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let sig = karen_inbound::twilio::signature(TWILIO_TOKEN, &format!("{PUBLIC_URL}{route}"), &params);
        let form = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        let (st, ty, body) = s
            .post_raw(
                route,
                route,
                "application/x-www-form-urlencoded",
                form.into_bytes(),
                &[("x-twilio-signature", sig)],
                false,
            )
            .await;
        assert_eq!(
            (st, ty.as_str(), body.as_str()),
            (StatusCode::OK, "text/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"),
            "{route}"
        );
    }

    // Every documented route was exercised.
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        .collect();
    let visited = s.visited.lock().unwrap().clone();
    let missed: Vec<_> = documented.difference(&visited).collect();
    assert!(missed.is_empty(), "routes never called: {missed:?}");
    let undocumented: Vec<_> = visited.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routes called but not documented: {undocumented:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_on_sqlite() {
    every_route(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_on_postgres() {
    every_route(Backend::Postgres).await;
}

#[tokio::test]
async fn a_token_revoked_by_another_process_stops_working_within_the_cache_time() {
    let ttl = std::time::Duration::from_millis(300);
    let s = TestServer::start_with(
        Backend::Sqlite,
        karen_server::ServerConfig { token_cache_ttl: ttl, ..Default::default() },
    )
    .await;
    let url = format!("{}/v1/customers", s.base);
    let get = || async { s.client.get(&url).bearer_auth(&s.read_token).send().await.unwrap().status() };
    assert_eq!(get().await, StatusCode::OK);
    // Another process (the CLI's `karen token revoke`) revokes it in the database.
    let other = karen_core::Karen::new(karen_sqlite::SqliteStore::open(&s.database_url).await.unwrap());
    let hash = karen_core::karen::hash_token(&s.read_token);
    let row = other.token_by_hash(&hash).await.unwrap().expect("the token exists");
    other.revoke_token(row.id).await.unwrap();
    tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
    assert_eq!(get().await, StatusCode::UNAUTHORIZED, "the cached verification expired");
    other.store().close().await;
    s.stop().await;
}

#[tokio::test]
async fn transport_errors_are_problems() {
    let s = TestServer::start_with(
        Backend::Sqlite,
        karen_server::ServerConfig { max_body_bytes: 1024, ..Default::default() },
    )
    .await;
    let url = format!("{}/v1/customers", s.base);
    let big = json!({"notes": "x".repeat(2048)});
    let r = s.client.post(&url).bearer_auth(&s.token).json(&big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = s.client.post(&url).bearer_auth(&s.token).body("{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = s.client.put(&url).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = s.client.get(format!("{}/v2/nothing", s.base)).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers().contains_key("x-request-id"), "every answer carries a request id");
    s.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TestServer::start(Backend::Sqlite).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let body = serde_json::json!({"first_name": "Late", "notes": "x".repeat(10_000)}).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /v1/customers HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        s.token,
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // Shut down while the request is half sent; the rest arrives afterwards.
    s.signal_shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    conn.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the in-flight request completes: {}",
        &answer[..answer.len().min(200)]
    );
    s.stop().await;
}

/// A client that sends half its headers is cut off after the header timeout instead of holding
/// its connection forever, and no more than `max_connections` are served at once: the next
/// client is answered when one of them ends.
#[tokio::test]
async fn stalled_clients_are_cut_off_and_connections_are_limited() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(
        Backend::Sqlite,
        karen_server::ServerConfig {
            header_read_timeout: std::time::Duration::from_millis(1000),
            request_timeout: std::time::Duration::from_millis(1000),
            max_connections: 2,
            ..Default::default()
        },
    )
    .await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let stall = || async {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: karen\r\n").await.unwrap();
        c
    };
    // Cut off: the server closes the connection (read returns 0) without an answer's body.
    let mut half = stall().await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), half.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the half-sent request was not cut off");
    assert!(!String::from_utf8_lossy(&buf).contains("\"status\""), "no answer to half a request");

    // Limited: two stalled clients hold both slots; a third is answered once they are cut off.
    let (a, b) = (stall().await, stall().await);
    let third = tokio::spawn({
        let url = format!("{}/healthz", s.base);
        async move { reqwest::get(url).await.unwrap().status() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!third.is_finished(), "a third connection was served while two held the slots");
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), third).await.unwrap().unwrap();
    assert_eq!(status, StatusCode::OK);
    drop((a, b));

    // A body that never finishes is answered 408 after the request timeout.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/customers HTTP/1.1\r\nHost: karen\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"notes\":",
        s.token
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), slow.read(&mut answer)).await.unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    s.stop().await;
}

/// The check every answer of `TestServer::call` goes through can fail: a customer that breaks
/// its documented schema, an undocumented status and an undocumented content type are caught.
#[tokio::test]
async fn answers_are_checked_against_the_document() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (st, customer) =
        s.call(Method::POST, "/v1/customers", "/v1/customers", Some(json!({"primary_email": "doc@example.com"}))).await;
    assert_eq!(st, StatusCode::CREATED);
    let doc = &s.document;
    let schema = common::schema::answer_schema(doc, "post", "/v1/customers", 201, "application/json").unwrap().unwrap();
    assert_eq!(common::schema::check(doc, schema, &customer, "body"), Ok(()));
    for (field, wrong) in [("id", json!(5)), ("total_jobs", json!("many")), ("primary_email", json!("a\u{0}@b.c"))] {
        let mut broken = customer.clone();
        broken[field] = wrong;
        assert!(common::schema::check(doc, schema, &broken, "body").is_err(), "{field}");
    }
    let mut extra = customer.clone();
    extra["undocumented"] = json!(1);
    assert!(common::schema::check(doc, schema, &extra, "body").is_err(), "an undocumented field");
    assert!(common::schema::answer_schema(doc, "post", "/v1/customers", 418, "application/json").is_err());
    assert!(common::schema::answer_schema(doc, "post", "/v1/customers", 201, "text/html").is_err());
    s.stop().await;
}
