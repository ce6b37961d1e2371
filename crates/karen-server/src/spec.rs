//! What a route states about itself: method, path, the scope a token needs, its body and
//! answer shapes, its query parameters and every status it can answer. The router, the auth
//! layer and the OpenAPI document all read these; nothing is guessed from a path.

use karen_core::model::Scope;
use karen_core::{EntityKind, FieldType};

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
    /// A body that is not JSON: raw bytes of this media type (a raw e-mail, TwiML).
    Raw(&'static str),
    /// A form (`application/x-www-form-urlencoded`) whose fields that component describes.
    Form(String),
    /// A file upload: `multipart/form-data` with a `file` part, or the file's bytes as the body.
    Upload,
    /// A file's bytes, of the file's own media type.
    Bytes,
    /// No body.
    Empty,
}

impl Shape {
    /// A reference to component `name`.
    pub fn of(name: &str) -> Shape {
        Shape::Ref(name.to_string())
    }

    /// A JSON array of component `name`.
    pub fn list(name: &str) -> Shape {
        Shape::ListOf(name.to_string())
    }

    /// A page of component `name`.
    pub fn page(name: &str) -> Shape {
        Shape::PageOf(name.to_string())
    }
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

/// A query parameter.
pub fn param(name: &str, required: bool, description: &str, schema: serde_json::Value) -> Param {
    Param { name: name.into(), required, description: description.into(), schema }
}

/// The `cursor` and `limit` parameters of a paginated route.
pub fn page_params() -> Vec<Param> {
    vec![
        param(
            "cursor",
            false,
            "The next_cursor of the previous page.",
            serde_json::json!({"type": "string", "pattern": karen_core::query::cursor::PATTERN}),
        ),
        param(
            "limit",
            false,
            "Page size, 1 to 500 (default 50).",
            serde_json::json!({"type": "integer", "minimum": 1, "maximum": 500}),
        ),
    ]
}

/// The schema of a filter parameter: the field's storage type only. Not its enum or rules: a
/// filter value that no row could hold finds nothing (docs/decisions.md K57).
pub fn filter_schema(ty: FieldType) -> serde_json::Value {
    match ty {
        FieldType::Uuid => serde_json::json!({"type": "string", "format": "uuid"}),
        FieldType::Bool => serde_json::json!({"type": "boolean"}),
        FieldType::Int => serde_json::json!({"type": "integer", "format": "int32"}),
        _ => serde_json::json!({"type": "string"}),
    }
}

/// One route as it states itself. Built with [`RouteSpec::new`] and the methods that follow it;
/// [`RouteSpec::statuses`] lists every answer, success and error.
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
    /// The scope a bearer token needs; `None` for a public route (the health checks).
    pub scope: Option<Scope>,
    /// Request body.
    pub body: Shape,
    /// Success status and body.
    pub ok: (u16, Shape),
    /// Other success answers: status, when, body.
    pub also: Vec<(u16, String, Shape)>,
    /// Query parameters.
    pub query: Vec<Param>,
    /// Error answers this route states beyond those its inputs imply (see [`RouteSpec::statuses`]).
    pub errors: Vec<(u16, String)>,
}

impl RouteSpec {
    /// A route answering 200 with no body until told otherwise; reads (`get`) need the read
    /// scope, everything else write.
    pub fn new(method: &'static str, path: &str, summary: &str, tag: &'static str) -> Self {
        RouteSpec {
            method,
            path: path.into(),
            summary: summary.into(),
            tag,
            scope: Some(if method == "get" { Scope::Read } else { Scope::Write }),
            body: Shape::Empty,
            ok: (200, Shape::Empty),
            also: Vec::new(),
            query: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Needs no token.
    pub fn public(mut self) -> Self {
        self.scope = None;
        self
    }

    /// Needs a token with `scope`.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Takes a JSON body of `shape`.
    pub fn body(mut self, shape: Shape) -> Self {
        self.body = shape;
        self
    }

    /// Answers `status` with `shape` on success.
    pub fn ok(mut self, status: u16, shape: Shape) -> Self {
        self.ok = (status, shape);
        self
    }

    /// Also answers `status` with `shape` on success, `when` so.
    pub fn also(mut self, status: u16, when: &str, shape: Shape) -> Self {
        self.also.push((status, when.into(), shape));
        self
    }

    /// Takes these query parameters.
    pub fn query(mut self, params: Vec<Param>) -> Self {
        self.query = params;
        self
    }

    /// May answer error `status`, for the reason given.
    pub fn answers(mut self, status: u16, why: &str) -> Self {
        self.errors.push((status, why.into()));
        self
    }

    /// May answer 404: what it looks up does not exist.
    pub fn not_found(self) -> Self {
        self.answers(404, "No such row.")
    }

    /// May answer 409: a unique rule would be broken.
    pub fn conflict(self) -> Self {
        self.answers(409, "A unique rule would be broken (the rule is named).")
    }

    /// May answer 409: other rows still refer to the one being deleted.
    pub fn in_use(self) -> Self {
        self.answers(409, "Other rows still refer to this one (a category with children or services).")
    }

    /// Every error answer, sorted by status: the stated ones, and those the route's inputs
    /// imply (a token: 401, 403, 500, 503; a path id, query or body: 400; a path id: 404; a
    /// body: 413, 415, 422; a query: 414, 422).
    pub fn statuses(&self) -> Vec<(u16, String)> {
        let mut out: Vec<(u16, String)> = Vec::new();
        if let Some(scope) = self.scope {
            out.push((401, "No token, or not a valid one.".into()));
            out.push((403, format!("The token lacks the {} scope this route needs.", scope.as_str())));
            out.push((503, "The database is unavailable.".into()));
            out.push((500, "An internal error; logged with the request id.".into()));
        }
        let has_id = self.path.contains('{');
        if has_id || !self.query.is_empty() || self.body != Shape::Empty {
            out.push((400, "The request cannot be read: malformed JSON, a path id that is not a UUID, an unknown or repeated query parameter.".into()));
        }
        if has_id {
            out.push((404, "No such row.".into()));
        }
        if self.body != Shape::Empty {
            out.push((413, "The body is larger than the server's limit.".into()));
            out.push((415, "The body is not of the media type the route reads.".into()));
        }
        if !self.query.is_empty() {
            out.push((414, URI_TOO_LONG.into()));
        }
        if self.body != Shape::Empty || !self.query.is_empty() {
            out.push((
                422,
                "A value breaks a rule (the field and rule are named), or names a row that does not exist.".into(),
            ));
        }
        out.extend(self.errors.iter().cloned());
        out.sort_by_key(|(s, _)| *s);
        out.dedup_by_key(|(s, _)| *s);
        out
    }
}

/// Why a route with a query string may answer 414: hyper refuses a request line longer than it
/// reads, before karen sees the request, with an empty body.
pub const URI_TOO_LONG: &str =
    "The URI is longer than the server reads (64 KiB; a q of 10,000 characters outside ASCII \
    is longer once percent-encoded); the answer has no body.";

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
        EntityKind::Consent => "/v1/consent-records",
        EntityKind::Webhook => "/v1/webhooks",
        EntityKind::WebhookDelivery => "/v1/webhook-deliveries",
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
        EntityKind::Consent => "ConsentRecord",
        EntityKind::Webhook => "Webhook",
        EntityKind::WebhookDelivery => "WebhookDelivery",
    }
}
