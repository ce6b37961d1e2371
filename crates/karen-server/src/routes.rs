//! The route table: every route once, as it states itself ([`RouteSpec`]) with its handler.
//! The router, the auth layer and the OpenAPI document are all built from this list, so they
//! cannot disagree.

use std::sync::Arc;

use axum::routing::{delete, get, patch, post, put, MethodRouter};
use karen_core::enums::{Direction, Medium, PreferenceMedium, PreferenceType};
use karen_core::model::*;
use karen_core::rules::{schema_of, Rule};
use karen_core::{Entity, EntityKind, Store};
use serde_json::json;

use crate::app::App;
use crate::spec::{collection_path, filter_schema, page_params, param, schema_name, RouteSpec, Shape};
use crate::{agents, crud, files, inbound, lifecycle, openapi, queries};

/// A route: what it states and its handler.
pub struct Route<S> {
    /// Method, path, scope, shapes and statuses.
    pub spec: RouteSpec,
    /// The handler.
    pub handler: MethodRouter<Arc<App<S>>>,
}

/// The table being built.
struct Table<S> {
    routes: Vec<Route<S>>,
}

impl<S: Store> Table<S> {
    fn add(&mut self, spec: RouteSpec, handler: MethodRouter<Arc<App<S>>>) {
        self.routes.push(Route { spec, handler });
    }
}

/// The CRUD routes of entity `E`, each needing `read` or `write`; all five when `full`,
/// else the listing and the read (tokens are created by the CLI and revoked, not deleted).
fn crud_routes<S: Store, E: Entity>(t: &mut Table<S>, tag: &'static str, full: bool, read: Scope, write: Scope) {
    let base = collection_path(E::KIND);
    let item = format!("{base}/{{id}}");
    let name = schema_name(E::KIND);
    let entity = E::KIND.name().replace('_', " ");
    let mut query = Vec::new();
    for f in E::FILTERS {
        let ty = E::FIELDS.iter().find(|x| x.name == *f).map(|x| x.ty).expect("filters are fields");
        query.push(param(f, false, &format!("Only rows whose {f} equals this."), filter_schema(ty)));
    }
    query.extend(page_params());
    t.add(
        RouteSpec::new("get", base, &format!("List {entity}s in id order, filtered by equality"), tag)
            .scope(read)
            .ok(200, Shape::page(name))
            .query(query),
        get(crud::list::<S, E>),
    );
    t.add(
        RouteSpec::new("get", &item, &format!("Read one {entity}"), tag).scope(read).ok(200, Shape::of(name)),
        get(crud::get::<S, E>),
    );
    if !full {
        return;
    }
    t.add(
        RouteSpec::new("post", base, &format!("Create a {entity}"), tag)
            .scope(write)
            .body(Shape::of(&format!("{name}Create")))
            .ok(201, Shape::of(name))
            .conflict(),
        post(crud::create::<S, E>),
    );
    t.add(
        RouteSpec::new("patch", &item, &format!("Change the named fields of a {entity}"), tag)
            .scope(write)
            .body(Shape::PatchOf(name.to_string()))
            .ok(200, Shape::of(name))
            .conflict(),
        patch(crud::update::<S, E>),
    );
    if E::KIND == EntityKind::Customer {
        // Erasure answers with what it removed (issue 19).
        t.add(
            RouteSpec::new("delete", &item, "Erase a customer and everything of theirs; answers what was removed", tag)
                .scope(write)
                .ok(200, Shape::of("ErasureReport")),
            delete(lifecycle::erase::<S>),
        );
        return;
    }
    t.add(
        RouteSpec::new("delete", &item, &format!("Delete a {entity} and what belongs to it"), tag)
            .scope(write)
            .ok(204, Shape::Empty)
            .in_use(),
        delete(crud::delete::<S, E>),
    );
}

/// Every route of the API.
pub fn routes<S: Store>() -> Vec<Route<S>> {
    let mut t = Table { routes: Vec::new() };
    let string = || json!({"type": "string"});

    t.add(
        RouteSpec::new("get", "/healthz", "The process is up", "health").public().ok(200, Shape::of("Health")),
        get(queries::healthz),
    );
    t.add(
        RouteSpec::new("get", "/readyz", "The database answers (503 when it does not)", "health")
            .public()
            .ok(200, Shape::of("Health"))
            .answers(503, "The database is unavailable."),
        get(queries::readyz::<S>),
    );
    t.add(
        RouteSpec::new("get", "/openapi.json", "This document", "meta").ok(200, Shape::of("OpenApi")),
        get(openapi::serve::<S>),
    );

    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/by-email",
            "The customer with this primary e-mail (case-insensitive)",
            "customers",
        )
        .ok(200, Shape::of("Customer"))
        .query(vec![param("email", true, "E-mail address.", schema_of(string(), Rule::Email))])
        .not_found(),
        get(queries::customer_by_email::<S>),
    );
    t.add(
        RouteSpec::new("get", "/v1/customers/by-phone", "Customers with this primary or secondary phone", "customers")
            .ok(200, Shape::list("Customer"))
            .query(vec![param(
                "phone",
                true,
                "Phone number in E.164 or a common national form.",
                schema_of(string(), Rule::Phone),
            )])
            .not_found(),
        get(queries::customers_by_phone::<S>),
    );
    t.add(
        RouteSpec::new("get", "/v1/customers/by-external-id", "The customer with this external id", "customers")
            .ok(200, Shape::of("Customer"))
            .query(vec![param("external_id", true, "External id.", string())])
            .not_found(),
        get(queries::customer_by_external_id::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/preferences",
            "Active, unexpired preferences of a customer by priority, then confidence (pattern 1)",
            "preferences",
        )
        .ok(200, Shape::list("CustomerPreference"))
        .query(vec![param("type", false, "Only this preference type.", PreferenceType::schema_json())]),
        get(queries::customer_preferences::<S>),
    );
    t.add(
        RouteSpec::new(
            "put",
            "/v1/customers/{id}/preferences",
            "Insert or replace the preference of (type, key, medium) of a customer",
            "preferences",
        )
        .body(Shape::of("CustomerPreferenceUpsert"))
        .ok(200, Shape::of("CustomerPreference"))
        .conflict(),
        put(queries::upsert_preference::<S>),
    );
    let mut history = vec![param("medium", false, "Only this medium.", Medium::schema_json())];
    history.extend(page_params());
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/conversations",
            "A customer's messages, newest first (pattern 2)",
            "conversations",
        )
        .ok(200, Shape::page("Conversation"))
        .query(history),
        get(queries::customer_history::<S>),
    );
    let mut search = vec![
        param(
            "q",
            true,
            "What to find in subjects and contents: words (matched by stem, diacritics folded), \"a phrase\", -excluded, OR between alternatives; at most 10,000 characters.",
            json!({"type": "string", "maxLength": karen_core::search::MAX_QUERY_CHARS}),
        ),
        param(
            "customer_id",
            false,
            "Only this customer's messages (required on the Firestore backend).",
            json!({"type": "string", "format": "uuid"}),
        ),
        param("medium", false, "Only this medium.", Medium::schema_json()),
        param("direction", false, "Only this direction.", Direction::schema_json()),
        param("from", false, "Only messages sent at or after this moment (RFC 3339).", json!({"type": "string", "format": "date-time"})),
        param("to", false, "Only messages sent before this moment (RFC 3339).", json!({"type": "string", "format": "date-time"})),
    ];
    search.extend(page_params());
    t.add(
        RouteSpec::new(
            "get",
            "/v1/conversations/search",
            "Full-text search over messages, best first (subject above content, ties newest first), each with its rank and a snippet whose matches are in <mark> elements (decisions.md item 26)",
            "conversations",
        )
        .ok(200, Shape::page("ConversationHit"))
        .query(search)
        .not_found(),
        get(queries::search_conversations::<S>),
    );
    let uuid = json!({"type": "string", "format": "uuid"});
    t.add(
        RouteSpec::new(
            "get",
            "/v1/events",
            "The change events after a cursor, in commit order: every event once to a reader that passes back next_cursor, which is always set; with wait, the answer waits up to that many seconds for the first event (decisions.md item 27)",
            "events",
        )
        .ok(200, Shape::page("Event"))
        .query(vec![
            param("after", false, "The next_cursor of the previous answer; none: from the oldest event kept.", json!({"type": "string", "pattern": karen_core::query::cursor::PATTERN})),
            param("types", false, "Only events of these types, comma-separated.", json!({"type": "string", "pattern": "^(customer|preference|consent|conversation|attachment)\\.(created|updated|deleted)(,(customer|preference|consent|conversation|attachment)\\.(created|updated|deleted))*$"})),
            param("customer_id", false, "Only this customer's events.", uuid),
            param("limit", false, "Page size, 1 to 1000 (default 100).", json!({"type": "integer", "minimum": 1, "maximum": 1000})),
            param("wait", false, "Seconds to wait for a first event when there is none yet, 0 to 30 (default 0).", json!({"type": "integer", "minimum": 0, "maximum": 30})),
        ]),
        get(crate::events::feed::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/analytics",
            "Messages per medium over a window, with response rate and times (pattern 4)",
            "customers",
        )
        .ok(200, Shape::list("MediumStats"))
        .query(vec![param(
            "days",
            false,
            "Window length in days, 1 to 3660 (default 30).",
            json!({"type": "integer", "minimum": 1, "maximum": 3660}),
        )]),
        get(queries::customer_analytics::<S>),
    );
    t.add(
        RouteSpec::new(
            "post",
            "/v1/conversations/ingest",
            "Record a delivered message; a redelivery (same medium and external_id) returns the stored one with 200",
            "conversations",
        )
        .body(Shape::of("ConversationCreate"))
        .ok(201, Shape::of("Conversation"))
        .also(200, "A redelivery: the message stored earlier, unchanged.", Shape::of("Conversation"))
        .conflict(),
        post(queries::ingest::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/conversations/by-external-id",
            "The message with this medium and external id",
            "conversations",
        )
        .ok(200, Shape::of("Conversation"))
        .query(vec![
            param("medium", true, "Medium.", Medium::schema_json()),
            param("external_id", true, "External id.", string()),
        ])
        .not_found(),
        get(queries::conversation_by_external_id::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/threads/{thread_id}/conversations",
            "The messages of a thread, oldest first",
            "conversations",
        )
        .ok(200, Shape::list("Conversation")),
        get(queries::thread::<S>),
    );
    t.add(
        RouteSpec::new("get", "/v1/categories/roots", "Top-level categories", "catalog")
            .ok(200, Shape::list("ServiceCategory")),
        get(queries::category_roots::<S>),
    );
    t.add(
        RouteSpec::new("get", "/v1/categories/{id}/children", "Child categories by sort order, then name", "catalog")
            .ok(200, Shape::list("ServiceCategory")),
        get(queries::category_children::<S>),
    );
    t.add(
        RouteSpec::new("get", "/v1/categories/{id}/ancestors", "Ancestors of a category, nearest first", "catalog")
            .ok(200, Shape::list("ServiceCategory")),
        get(queries::category_ancestors::<S>),
    );
    let mut search = vec![param(
        "q",
        true,
        "Words to find in service keywords (case-insensitive, at most 30 words).",
        json!({"type": "string", "pattern": karen_core::query::WORD_PATTERN}),
    )];
    search.extend(page_params());
    t.add(
        RouteSpec::new(
            "get",
            "/v1/services/search",
            "Active services whose keywords share a word with q, with category name and default price, featured first (pattern 3)",
            "catalog",
        )
        .ok(200, Shape::page("ServiceHit"))
        .query(search),
        get(queries::search_services::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/consent",
            "Current consent per channel (sms, email, voice) with the ledger row that set it (decisions.md item 24)",
            "customers",
        )
        .ok(200, Shape::of("ConsentState")),
        get(lifecycle::current::<S>),
    );
    t.add(
        RouteSpec::new(
            "post",
            "/v1/customers/{id}/consent",
            "Record an explicit change of consent (a new ledger row; the ledger is never edited)",
            "customers",
        )
        .body(Shape::of("ConsentChange"))
        .ok(201, Shape::of("ConsentRecord")),
        post(lifecycle::change::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/export",
            "Everything held about a customer: the row, preferences and history, consent ledger, messages, attachments' metadata",
            "customers",
        )
        .ok(200, Shape::of("CustomerData")),
        get(lifecycle::export::<S>),
    );
    t.add(
        RouteSpec::new(
            "post",
            "/v1/conversations/{id}/attachments",
            "Attach a file to a message: multipart/form-data with a file part, or the raw bytes with ?filename=; karen stores the bytes (equal bytes once) and computes checksum, size and storage_path (decisions.md item 22)",
            "conversations",
        )
        .scope(Scope::Write)
        .body(Shape::Upload)
        .query(vec![
            param(
                "filename",
                false,
                "The file's name (required for a raw body; overrides a form part's).",
                openapi::upload_file_name("The file's name."),
            ),
            param(
                "checksum",
                false,
                "sha256:<hex> as the client computed it; 422 when the bytes hash to another.",
                schema_of(string(), Rule::Checksum),
            ),
            param("content_id", false, "Content-ID of an inline part.", schema_of(string(), Rule::MaxLen(255))),
            param("inline", false, "Shown inline in the message (true or false).", json!({"type": "string", "enum": ["true", "false"]})),
        ])
        .ok(201, Shape::of("ConversationAttachment"))
        .answers(503, "No attachment store is configured, or it or the database is unavailable."),
        post(files::upload::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/attachments/{id}/content",
            "An attachment's bytes, verified against its checksum while sent, with its type, Content-Disposition, ETag and single byte ranges; infected or unscanned content only for an admin with unsafe=true",
            "conversations",
        )
        .scope(Scope::Read)
        .query(vec![param(
            "unsafe",
            false,
            "true: serve infected or not yet scanned content too (admin scope).",
            json!({"type": "string", "enum": ["true", "false"]}),
        )])
        .ok(200, Shape::Bytes)
        .also(206, "The range asked for (Range: bytes=...).", Shape::Bytes)
        .also(304, "The content has the ETag of If-None-Match.", Shape::Empty)
        .answers(403, "The token lacks the read scope, or unsafe=true without the admin scope.")
        .answers(409, "The content is infected or not scanned yet (the rule names which).")
        .answers(416, "The range starts past the end of the content.")
        .answers(503, "No attachment store is configured, or it or the database is unavailable."),
        get(files::download::<S>),
    );
    t.add(
        RouteSpec::new(
            "post",
            "/v1/inbound/email",
            "Record a raw e-mail (message/rfc822) as it arrived: parsed, matched to its customer (created when new) and threaded by its headers (decisions.md item 20); 201 stored, 200 a redelivery",
            "inbound",
        )
        .body(Shape::Raw("message/rfc822"))
        .ok(201, Shape::of("Received"))
        .also(200, "A redelivery: the message stored earlier; nothing was written.", Shape::of("Received")),
        post(inbound::email::<S>),
    );
    for (path, kind, form) in [
        ("/v1/inbound/twilio/sms", "an incoming SMS or MMS", "TwilioSms"),
        ("/v1/inbound/twilio/voice", "a call's recording or transcription callback", "TwilioVoice"),
    ] {
        t.add(
            RouteSpec::new(
                "post",
                path,
                &format!("Twilio's webhook for {kind}, verified by X-Twilio-Signature (no bearer token); recorded as decisions.md item 21 says; answers empty TwiML"),
                "inbound",
            )
            .public()
            .body(Shape::Form(form.into()))
            .ok(200, Shape::Raw("text/xml"))
            .answers(403, "X-Twilio-Signature is missing or does not verify; nothing was stored.")
            .answers(500, "An internal error; logged with the request id.")
            .answers(503, "Twilio is not configured (--twilio-auth-token and --public-url), or the database is unavailable."),
            if kind.contains("SMS") { post(inbound::twilio_sms::<S>) } else { post(inbound::twilio_voice::<S>) },
        );
    }
    t.add(
        RouteSpec::new(
            "post",
            "/v1/customers/{id}/merge",
            "Merge a duplicate customer into this one: messages, attachments, preferences (conflicts resolved by item 9), history and consent (the stricter status) move, empty fields fill, then the duplicate is removed and answers 404 with merged_into (decisions.md item 25); dry_run reports without writing",
            "customers",
        )
        .body(Shape::of("MergeRequest"))
        .ok(200, Shape::of("MergeReport"))
        .answers(409, "The duplicate was already merged, one of the two was merged away or is being merged, or a concurrent change won; the rule says which."),
        post(lifecycle::merge::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/duplicates",
            "Pairs of customers that are probably one person (shared e-mail or phone, or the same name and service address), with the reasons",
            "customers",
        )
        .ok(200, Shape::page("DuplicatePair"))
        .query(page_params()),
        get(lifecycle::duplicates::<S>),
    );
    t.add(
        RouteSpec::new(
            "post",
            "/v1/quotes",
            "Price a service (quantity, hours or tier) or a package, exactly, with every step applied (decisions.md item 23)",
            "agents",
        )
        .scope(Scope::Read)
        .body(Shape::of("QuoteRequest"))
        .ok(200, Shape::of("Quote")),
        post(agents::quote::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/context",
            "Everything needed to answer a message in one call: customer, preferences, consent, plan, thread, history, analytics, matching services with quotes (decisions.md item 28)",
            "agents",
        )
        .ok(200, Shape::of("ReplyContext"))
        .query(vec![
            param(
                "conversation_id",
                false,
                "The message being answered (the customer's own).",
                json!({"type": "string", "format": "uuid"}),
            ),
            agents::history_param(),
        ]),
        get(agents::customer_context::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/context/by-message",
            "The reply context of the message with this (medium, external_id): the one just received",
            "agents",
        )
        .ok(200, Shape::of("ReplyContext"))
        .query(vec![
            param("medium", true, "The message's medium.", Medium::schema_json()),
            param("external_id", true, "The message's id in its source system.", string()),
            agents::history_param(),
        ])
        .not_found(),
        get(agents::context_by_message::<S>),
    );
    t.add(
        RouteSpec::new("get", "/v1/packages/{id}/detail", "A package with its services", "catalog")
            .ok(200, Shape::of("PackageDetail")),
        get(queries::package_detail::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/effective-preferences",
            "The winning value of each preference asked with a medium, with provenance and the losing candidate (decisions.md item 9)",
            "preferences",
        )
        .ok(200, Shape::list("EffectivePreference"))
        .query(vec![param(
            "medium",
            false,
            "email, sms or voice; without it only general rows count.",
            PreferenceMedium::schema_json(),
        )]),
        get(queries::effective_preferences::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/preference-history",
            "Earlier versions and contradicted evidence, newest first (decisions.md item 18)",
            "preferences",
        )
        .ok(200, Shape::list("PreferenceHistory"))
        .query(vec![
            param("type", false, "Only this preference type.", PreferenceType::schema_json()),
            param("key", false, "Only this preference key.", string()),
        ]),
        get(queries::preference_history::<S>),
    );
    t.add(
        RouteSpec::new(
            "post",
            "/v1/customers/{id}/observations",
            "Learn from an observation: reinforce, supersede, weaken or keep as evidence",
            "preferences",
        )
        .body(Shape::of("Observation"))
        .ok(200, Shape::of("LearnResult"))
        .conflict(),
        post(queries::observe::<S>),
    );
    t.add(
        RouteSpec::new(
            "get",
            "/v1/customers/{id}/contact-plan",
            "Which channel to use now, or the next allowed moment and channel",
            "preferences",
        )
        .ok(200, Shape::of("ContactPlan"))
        .query(vec![
            param(
                "at",
                false,
                "The moment (RFC 3339); now by default.",
                json!({"type": "string", "format": "date-time"}),
            ),
            param(
                "urgency",
                false,
                "normal (default) or urgent.",
                json!({"type": "string", "enum": ["normal", "urgent"]}),
            ),
        ]),
        get(queries::contact_plan::<S>),
    );
    t.add(
        RouteSpec::new("delete", "/v1/tokens/{id}", "Revoke a token (admin)", "tokens")
            .scope(Scope::Admin)
            .ok(204, Shape::Empty)
            .in_use(),
        delete(queries::revoke_token::<S>),
    );

    let (read, write) = (Scope::Read, Scope::Write);
    crud_routes::<S, Customer>(&mut t, "customers", true, read, write);
    crud_routes::<S, CustomerPreference>(&mut t, "preferences", true, read, write);
    crud_routes::<S, Conversation>(&mut t, "conversations", true, read, write);
    crud_routes::<S, ConversationAttachment>(&mut t, "conversations", true, read, write);
    crud_routes::<S, ServiceCategory>(&mut t, "catalog", true, read, write);
    crud_routes::<S, Service>(&mut t, "catalog", true, read, write);
    crud_routes::<S, ServicePricingTier>(&mut t, "catalog", true, read, write);
    crud_routes::<S, ServicePackage>(&mut t, "catalog", true, read, write);
    crud_routes::<S, PackageService>(&mut t, "catalog", true, read, write);
    crud_routes::<S, ApiToken>(&mut t, "tokens", false, Scope::Admin, Scope::Admin);
    webhook_routes(&mut t);
    t.routes
}

/// The webhook subscriptions and their deliveries (admin; decisions.md item 27).
fn webhook_routes<S: Store>(t: &mut Table<S>) {
    use crate::webhooks;
    t.add(
        RouteSpec::new(
            "post",
            "/v1/webhooks",
            "Subscribe a URL to change events: answered with the subscription and its signing secret, shown this once; it receives the events written from now on, signed as Standard Webhooks",
            "webhooks",
        )
        .scope(Scope::Admin)
        .body(Shape::of("WebhookRequest"))
        .ok(201, Shape::of("WebhookCreated")),
        post(webhooks::create::<S>),
    );
    crud_routes::<S, Webhook>(t, "webhooks", false, Scope::Admin, Scope::Admin);
    t.add(
        RouteSpec::new(
            "patch",
            "/v1/webhooks/{id}",
            "Change a subscription's url, types, description or status; status active re-enables one karen disabled, resuming where it stopped",
            "webhooks",
        )
        .scope(Scope::Admin)
        .body(Shape::of("WebhookPatch"))
        .ok(200, Shape::of("Webhook")),
        patch(webhooks::update::<S>),
    );
    t.add(
        RouteSpec::new("delete", "/v1/webhooks/{id}", "Delete a subscription and its delivery records", "webhooks")
            .scope(Scope::Admin)
            .ok(204, Shape::Empty),
        delete(crud::delete::<S, Webhook>),
    );
    let mut query = vec![param(
        "outcome",
        false,
        "Only attempts with this outcome.",
        karen_core::enums::DeliveryOutcome::schema_json(),
    )];
    query.extend(page_params());
    t.add(
        RouteSpec::new(
            "get",
            "/v1/webhooks/{id}/deliveries",
            "Every attempt to deliver an event to the subscription, oldest first: its outcome, the receiver's status or the error, and when the next attempt is due",
            "webhooks",
        )
        .scope(Scope::Admin)
        .ok(200, Shape::page("WebhookDelivery"))
        .query(query)
        .not_found(),
        get(webhooks::deliveries::<S>),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_of(method: &str, path: &str) -> Option<Scope> {
        routes::<karen_sqlite::SqliteStore>()
            .into_iter()
            .find(|r| r.spec.method == method && r.spec.path == path)
            .and_then(|r| r.spec.scope)
    }

    #[test]
    fn scopes_by_route() {
        assert_eq!(scope_of("get", "/v1/customers"), Some(Scope::Read));
        assert_eq!(scope_of("patch", "/v1/customers/{id}"), Some(Scope::Write));
        assert_eq!(scope_of("get", "/v1/tokens"), Some(Scope::Admin));
        assert_eq!(scope_of("get", "/healthz"), None);
    }
}
