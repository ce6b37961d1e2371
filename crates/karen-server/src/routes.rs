//! The route table: every route once, with what the OpenAPI document says of it. The router and
//! the document are both built from this list, so they cannot disagree.

use std::sync::Arc;

use axum::routing::{delete, get, patch, post, put, MethodRouter};
use karen_core::model::*;
use karen_core::{Entity, EntityKind, FieldType, Store};

use crate::server::App;
use crate::{crud, queries};

/// A JSON body or response shape, by component name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// `#/components/schemas/{name}`.
    Ref(String),
    /// A `Page` of that component.
    PageOf(String),
    /// A JSON array of that component.
    ListOf(String),
    /// A JSON object naming fields to change (merge patch of that component).
    PatchOf(String),
    /// No body.
    Empty,
}

/// A query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Whether it must be given.
    pub required: bool,
    /// What it does.
    pub description: String,
    /// Its JSON Schema.
    pub schema: serde_json::Value,
}

/// One route as documented.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// `get`, `post`, `patch`, `put` or `delete`.
    pub method: &'static str,
    /// Path with `{param}` segments (axum's and OpenAPI's syntax alike).
    pub path: String,
    /// One line on what it does.
    pub summary: String,
    /// OpenAPI tag.
    pub tag: &'static str,
    /// Whether a bearer token is needed (all but the health checks).
    pub authenticated: bool,
    /// Request body.
    pub body: Shape,
    /// Success status and body.
    pub ok: (u16, Shape),
    /// Query parameters.
    pub query: Vec<Param>,
}

/// A route: its documentation and its handler.
pub struct Route<S> {
    /// What the OpenAPI document says.
    pub spec: RouteSpec,
    /// The handler.
    pub handler: MethodRouter<Arc<App<S>>>,
}

/// The collection path of an entity's CRUD routes.
pub fn collection_path(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Customer => "/v1/customers",
        EntityKind::CustomerPreference => "/v1/preferences",
        EntityKind::Conversation => "/v1/conversations",
        EntityKind::ConversationAttachment => "/v1/attachments",
        EntityKind::ServiceCategory => "/v1/categories",
        EntityKind::Service => "/v1/services",
        EntityKind::ServicePricingTier => "/v1/pricing-tiers",
        EntityKind::ServicePackage => "/v1/packages",
        EntityKind::PackageService => "/v1/package-services",
        EntityKind::ApiToken => "/v1/tokens",
        EntityKind::PreferenceHistory => "/v1/preference-history",
    }
}

/// The component name of an entity's schema.
pub fn schema_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Customer => "Customer",
        EntityKind::CustomerPreference => "CustomerPreference",
        EntityKind::Conversation => "Conversation",
        EntityKind::ConversationAttachment => "ConversationAttachment",
        EntityKind::ServiceCategory => "ServiceCategory",
        EntityKind::Service => "Service",
        EntityKind::ServicePricingTier => "ServicePricingTier",
        EntityKind::ServicePackage => "ServicePackage",
        EntityKind::PackageService => "PackageService",
        EntityKind::ApiToken => "ApiToken",
        EntityKind::PreferenceHistory => "PreferenceHistory",
    }
}

fn param(name: &str, required: bool, description: &str, schema: serde_json::Value) -> Param {
    Param { name: name.into(), required, description: description.into(), schema }
}

fn page_params() -> Vec<Param> {
    vec![
        param("cursor", false, "The next_cursor of the previous page.", serde_json::json!({"type": "string"})),
        param(
            "limit",
            false,
            "Page size, 1 to 500 (default 50).",
            serde_json::json!({"type": "integer", "minimum": 1, "maximum": 500}),
        ),
    ]
}

fn filter_schema(ty: FieldType) -> serde_json::Value {
    match ty {
        FieldType::Uuid => serde_json::json!({"type": "string", "format": "uuid"}),
        FieldType::Bool => serde_json::json!({"type": "boolean"}),
        FieldType::Int => serde_json::json!({"type": "integer", "format": "int32"}),
        _ => serde_json::json!({"type": "string"}),
    }
}

fn spec(
    method: &'static str,
    path: &str,
    summary: &str,
    tag: &'static str,
    body: Shape,
    ok: (u16, Shape),
) -> RouteSpec {
    RouteSpec {
        method,
        path: path.into(),
        summary: summary.into(),
        tag,
        authenticated: true,
        body,
        ok,
        query: Vec::new(),
    }
}

/// The CRUD routes of entity `E`; `with` selects which (tokens are listed and revoked only).
fn crud_routes<S: Store, E: Entity>(tag: &'static str, full: bool) -> Vec<Route<S>> {
    let base = collection_path(E::KIND);
    let item = format!("{base}/{{id}}");
    let name = schema_name(E::KIND).to_string();
    let entity = E::KIND.name().replace('_', " ");
    let mut list_spec = spec(
        "get",
        base,
        &format!("List {entity}s in id order, filtered by equality"),
        tag,
        Shape::Empty,
        (200, Shape::PageOf(name.clone())),
    );
    for f in E::FILTERS {
        let ty = E::FIELDS.iter().find(|x| x.name == *f).map(|x| x.ty).expect("filters are fields");
        list_spec.query.push(param(f, false, &format!("Only rows whose {f} equals this."), filter_schema(ty)));
    }
    list_spec.query.extend(page_params());
    let mut routes = vec![
        Route { spec: list_spec, handler: get(crud::list::<S, E>) },
        Route {
            spec: spec("get", &item, &format!("Read one {entity}"), tag, Shape::Empty, (200, Shape::Ref(name.clone()))),
            handler: get(crud::get::<S, E>),
        },
    ];
    if full {
        routes.push(Route {
            spec: spec(
                "post",
                base,
                &format!("Create a {entity}"),
                tag,
                Shape::Ref(name.clone()),
                (201, Shape::Ref(name.clone())),
            ),
            handler: post(crud::create::<S, E>),
        });
        routes.push(Route {
            spec: spec(
                "patch",
                &item,
                &format!("Change the named fields of a {entity}"),
                tag,
                Shape::PatchOf(name.clone()),
                (200, Shape::Ref(name.clone())),
            ),
            handler: patch(crud::update::<S, E>),
        });
        routes.push(Route {
            spec: spec(
                "delete",
                &item,
                &format!("Delete a {entity} and what belongs to it"),
                tag,
                Shape::Empty,
                (204, Shape::Empty),
            ),
            handler: delete(crud::delete::<S, E>),
        });
    }
    routes
}

/// Every route of the API.
pub fn routes<S: Store>() -> Vec<Route<S>> {
    let mut r = Vec::new();
    let health = |path: &str, summary: &str, handler| Route {
        spec: RouteSpec {
            authenticated: false,
            ..spec("get", path, summary, "health", Shape::Empty, (200, Shape::Ref("Health".into())))
        },
        handler,
    };
    r.push(health("/healthz", "The process is up", get(queries::healthz)));
    r.push(health("/readyz", "The database answers (503 when it does not)", get(queries::readyz::<S>)));
    r.push(Route {
        spec: spec("get", "/openapi.json", "This document", "meta", Shape::Empty, (200, Shape::Ref("OpenApi".into()))),
        handler: get(crate::openapi::serve::<S>),
    });

    let mut q = |method, path: &str, summary: &str, tag, body, ok, query: Vec<Param>, handler| {
        r.push(Route { spec: RouteSpec { query, ..spec(method, path, summary, tag, body, ok) }, handler });
    };
    let s = |v: serde_json::Value| v;
    q(
        "get",
        "/v1/customers/by-email",
        "The customer with this primary e-mail (case-insensitive)",
        "customers",
        Shape::Empty,
        (200, Shape::Ref("Customer".into())),
        vec![param("email", true, "E-mail address.", s(serde_json::json!({"type": "string"})))],
        get(queries::customer_by_email::<S>),
    );
    q(
        "get",
        "/v1/customers/by-phone",
        "Customers with this primary or secondary phone",
        "customers",
        Shape::Empty,
        (200, Shape::ListOf("Customer".into())),
        vec![param(
            "phone",
            true,
            "Phone number in E.164 or a common national form.",
            s(serde_json::json!({"type": "string"})),
        )],
        get(queries::customers_by_phone::<S>),
    );
    q(
        "get",
        "/v1/customers/by-external-id",
        "The customer with this external id",
        "customers",
        Shape::Empty,
        (200, Shape::Ref("Customer".into())),
        vec![param("external_id", true, "External id.", s(serde_json::json!({"type": "string"})))],
        get(queries::customer_by_external_id::<S>),
    );
    q(
        "get",
        "/v1/customers/{id}/preferences",
        "Active, unexpired preferences of a customer by priority, then confidence (pattern 1)",
        "preferences",
        Shape::Empty,
        (200, Shape::ListOf("CustomerPreference".into())),
        vec![param("type", false, "Only this preference type.", karen_core::enums::PreferenceType::schema_json())],
        get(queries::customer_preferences::<S>),
    );
    q(
        "put",
        "/v1/customers/{id}/preferences",
        "Insert or replace the preference of (type, key, medium) of a customer",
        "preferences",
        Shape::Ref("CustomerPreference".into()),
        (200, Shape::Ref("CustomerPreference".into())),
        vec![],
        put(queries::upsert_preference::<S>),
    );
    let mut history = vec![param("medium", false, "Only this medium.", karen_core::enums::Medium::schema_json())];
    history.extend(page_params());
    q(
        "get",
        "/v1/customers/{id}/conversations",
        "A customer's messages, newest first (pattern 2)",
        "conversations",
        Shape::Empty,
        (200, Shape::PageOf("Conversation".into())),
        history,
        get(queries::customer_history::<S>),
    );
    q(
        "get",
        "/v1/customers/{id}/analytics",
        "Messages per medium over a window, with response rate and times (pattern 4)",
        "customers",
        Shape::Empty,
        (200, Shape::ListOf("MediumStats".into())),
        vec![param(
            "days",
            false,
            "Window length in days, 1 to 3660 (default 30).",
            s(serde_json::json!({"type": "integer", "minimum": 1, "maximum": 3660})),
        )],
        get(queries::customer_analytics::<S>),
    );
    q(
        "post",
        "/v1/conversations/ingest",
        "Record a delivered message; a redelivery (same medium and external_id) returns the stored one with 200",
        "conversations",
        Shape::Ref("Conversation".into()),
        (201, Shape::Ref("Conversation".into())),
        vec![],
        post(queries::ingest::<S>),
    );
    q(
        "get",
        "/v1/conversations/by-external-id",
        "The message with this medium and external id",
        "conversations",
        Shape::Empty,
        (200, Shape::Ref("Conversation".into())),
        vec![
            param("medium", true, "Medium.", karen_core::enums::Medium::schema_json()),
            param("external_id", true, "External id.", s(serde_json::json!({"type": "string"}))),
        ],
        get(queries::conversation_by_external_id::<S>),
    );
    q(
        "get",
        "/v1/threads/{thread_id}/conversations",
        "The messages of a thread, oldest first",
        "conversations",
        Shape::Empty,
        (200, Shape::ListOf("Conversation".into())),
        vec![],
        get(queries::thread::<S>),
    );
    q(
        "get",
        "/v1/categories/roots",
        "Top-level categories",
        "catalog",
        Shape::Empty,
        (200, Shape::ListOf("ServiceCategory".into())),
        vec![],
        get(queries::category_roots::<S>),
    );
    q(
        "get",
        "/v1/categories/{id}/children",
        "Child categories by sort order, then name",
        "catalog",
        Shape::Empty,
        (200, Shape::ListOf("ServiceCategory".into())),
        vec![],
        get(queries::category_children::<S>),
    );
    q(
        "get",
        "/v1/categories/{id}/ancestors",
        "Ancestors of a category, nearest first",
        "catalog",
        Shape::Empty,
        (200, Shape::ListOf("ServiceCategory".into())),
        vec![],
        get(queries::category_ancestors::<S>),
    );
    let mut search = vec![param(
        "q",
        true,
        "Words to find in service keywords (case-insensitive, at most 30 words).",
        s(serde_json::json!({"type": "string"})),
    )];
    search.extend(page_params());
    q("get", "/v1/services/search",
        "Active services whose keywords share a word with q, with category name and default price, featured first (pattern 3)",
        "catalog", Shape::Empty, (200, Shape::PageOf("ServiceHit".into())), search, get(queries::search_services::<S>));
    q(
        "get",
        "/v1/packages/{id}/detail",
        "A package with its services",
        "catalog",
        Shape::Empty,
        (200, Shape::Ref("PackageDetail".into())),
        vec![],
        get(queries::package_detail::<S>),
    );
    q("get", "/v1/customers/{id}/effective-preferences",
        "The winning value of each preference asked with a medium, with provenance and the losing candidate (decisions.md item 9)",
        "preferences", Shape::Empty, (200, Shape::ListOf("EffectivePreference".into())),
        vec![param("medium", false, "email, sms or voice; without it only general rows count.", karen_core::enums::PreferenceMedium::schema_json())],
        get(queries::effective_preferences::<S>));
    q(
        "get",
        "/v1/customers/{id}/preference-history",
        "Earlier versions and contradicted evidence, newest first (decisions.md item 18)",
        "preferences",
        Shape::Empty,
        (200, Shape::ListOf("PreferenceHistory".into())),
        vec![
            param("type", false, "Only this preference type.", karen_core::enums::PreferenceType::schema_json()),
            param("key", false, "Only this preference key.", s(serde_json::json!({"type": "string"}))),
        ],
        get(queries::preference_history::<S>),
    );
    q(
        "post",
        "/v1/customers/{id}/observations",
        "Learn from an observation: reinforce, supersede, weaken or keep as evidence",
        "preferences",
        Shape::Ref("Observation".into()),
        (200, Shape::Ref("LearnResult".into())),
        vec![],
        post(queries::observe::<S>),
    );
    q(
        "get",
        "/v1/customers/{id}/contact-plan",
        "Which channel to use now, or the next allowed moment and channel",
        "preferences",
        Shape::Empty,
        (200, Shape::Ref("ContactPlan".into())),
        vec![
            param(
                "at",
                false,
                "The moment (RFC 3339); now by default.",
                s(serde_json::json!({"type": "string", "format": "date-time"})),
            ),
            param(
                "urgency",
                false,
                "normal (default) or urgent.",
                s(serde_json::json!({"type": "string", "enum": ["normal", "urgent"]})),
            ),
        ],
        get(queries::contact_plan::<S>),
    );
    q(
        "delete",
        "/v1/tokens/{id}",
        "Revoke a token (admin)",
        "tokens",
        Shape::Empty,
        (204, Shape::Empty),
        vec![],
        delete(queries::revoke_token::<S>),
    );

    r.extend(crud_routes::<S, Customer>("customers", true));
    r.extend(crud_routes::<S, CustomerPreference>("preferences", true));
    r.extend(crud_routes::<S, Conversation>("conversations", true));
    r.extend(crud_routes::<S, ConversationAttachment>("conversations", true));
    r.extend(crud_routes::<S, ServiceCategory>("catalog", true));
    r.extend(crud_routes::<S, Service>("catalog", true));
    r.extend(crud_routes::<S, ServicePricingTier>("catalog", true));
    r.extend(crud_routes::<S, ServicePackage>("catalog", true));
    r.extend(crud_routes::<S, PackageService>("catalog", true));
    r.extend(crud_routes::<S, ApiToken>("tokens", false));
    r
}
