//! The OpenAPI 3.1 document, built from the route table and from each entity's field table, and
//! served at `/openapi.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use karen_core::model::*;
use karen_core::{Entity, Store};
use serde_json::{json, Map, Value};

use crate::app::App;
use crate::spec::{RouteSpec, Shape};

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn shape_schema(shape: &Shape, pages: &mut BTreeMap<String, Value>) -> Option<Value> {
    match shape {
        Shape::Ref(n) => Some(reference(n)),
        Shape::ListOf(n) => Some(json!({"type": "array", "items": reference(n)})),
        Shape::PageOf(n) => {
            let page = format!("Page{n}");
            pages.insert(
                page.clone(),
                json!({
                    "type": "object",
                    "required": ["items", "next_cursor"],
                    "properties": {
                        "items": {"type": "array", "items": reference(n)},
                        "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}],
                            "description": "Pass as `cursor` for the next page; null on the last page."}
                    }
                }),
            );
            Some(reference(&page))
        }
        Shape::PatchOf(n) => Some(reference(&format!("{n}Patch"))),
        Shape::Raw(media) => Some(json!({"type": "string", "contentMediaType": media})),
        Shape::Form(n) => Some(reference(n)),
        Shape::Upload => Some(json!({
            "type": "object", "required": ["file"], "additionalProperties": false,
            "properties": {
                "checksum": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$",
                    "description": "The SHA-256 the client computed; refused (422) when the bytes hash to another."},
                "content_id": {"type": "string", "maxLength": 255},
                "inline": {"type": "string", "enum": ["true", "false"]},
                "filename": upload_file_name("Overrides the file part's own file name (empty: the part's)."),
                "file": {"type": "string", "contentMediaType": "application/octet-stream",
                    "description": "The file (its part's filename and Content-Type are recorded); the last part."}
            }
        })),
        Shape::Bytes => Some(json!({"type": "string", "contentMediaType": "application/octet-stream"})),
        Shape::Empty => None,
    }
}

/// An upload's `filename`: empty (the file part's own name is taken) or a plain file name.
pub fn upload_file_name(description: &str) -> Value {
    let mut schema = karen_core::rules::schema_of(json!({"type": "string"}), karen_core::rules::Rule::FileName);
    let pattern = schema["pattern"].as_str().unwrap_or_default().to_string();
    schema["pattern"] = json!(format!("^$|{pattern}"));
    schema["minLength"] = json!(0);
    schema["description"] = json!(description);
    schema
}

/// The media type a shape is sent as.
fn media_type(shape: &Shape) -> &'static str {
    match shape {
        Shape::Raw(media) => media,
        Shape::Form(_) => "application/x-www-form-urlencoded",
        Shape::Upload => "multipart/form-data",
        Shape::Bytes => "*/*",
        _ => "application/json",
    }
}

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": reference("Problem")}}})
}

/// The rules of every JSON document (no NUL in its texts and keys, numbers below 1e308 in
/// magnitude: `validate::no_nul`, `validate::json_numbers`), stated in a JSON field's schema:
/// any value becomes a `JsonValue`, an object's members and a list's items become them.
fn json_documents(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else { return };
    if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
        branches.iter_mut().filter(|b| b["type"] != "null").for_each(json_documents);
        return;
    }
    match map.get("type").and_then(Value::as_str) {
        Some("object") => {
            map.insert("propertyNames".into(), json!({"pattern": karen_core::rules::NUL_FREE}));
            match map.get_mut("properties").and_then(Value::as_object_mut) {
                Some(props) => props.values_mut().for_each(json_documents),
                None => {
                    map.insert("additionalProperties".into(), reference("JsonValue"));
                }
            }
        }
        None if !map.contains_key("$ref") => {
            map.insert("$ref".into(), json!("#/components/schemas/JsonValue"));
        }
        _ => {}
    }
}

/// The fields a create body must give: those whose default breaks their rule (text that must
/// not be empty, a slug, a preference's value) and the rows it belongs to (non-null ids other
/// than its own).
fn required_on_create<E: Entity + Default>(schema: &Value) -> Vec<&'static str> {
    use karen_core::rules::Checked;
    let defaults = E::default().to_record();
    let nullable = |field: &str| schema.pointer(&format!("/properties/{field}/anyOf")).is_some();
    let breaks_rule = |field: &str, value: &karen_core::Value| {
        E::RULES.iter().filter(|(f, _)| *f == field).any(|(_, rule)| match value {
            karen_core::Value::Text(s) => s.clone().check(field, *rule).is_err(),
            karen_core::Value::Json(j) => j.clone().check(field, *rule).is_err(),
            _ => false,
        })
    };
    let mut required: Vec<&'static str> = Vec::new();
    for (field, value) in &defaults.values {
        let parent = matches!(value, karen_core::Value::Uuid(_)) && *field != "id";
        if !nullable(field) && (parent || breaks_rule(field, value)) {
            required.push(field);
        }
    }
    required
}

fn entity_schemas(schemas: &mut BTreeMap<String, Value>) {
    fn add<E: Entity + Default>(schemas: &mut BTreeMap<String, Value>) {
        let mut schema = E::json_schema();
        karen_core::rules::apply_to_schema(&mut schema, E::RULES);
        for field in E::FIELDS.iter().filter(|f| f.ty == karen_core::FieldType::Json) {
            if let Some(property) = schema.pointer_mut(&format!("/properties/{}", field.name)) {
                json_documents(property);
            }
        }
        // What the API never shows is not in its schema either.
        for field in E::SECRET_FIELDS {
            if let Some(props) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
                props.remove(*field);
            }
            if let Some(required) = schema.get_mut("required").and_then(|r| r.as_array_mut()) {
                required.retain(|r| r != field);
            }
        }
        let name = crate::spec::schema_name(E::KIND);
        // A create body: the same fields, those without a usable default required.
        let mut create = schema.clone();
        create["required"] = json!(required_on_create::<E>(&schema));
        create["description"] = json!(format!("A new {name}: fields left out take their defaults."));
        schemas.insert(format!("{name}Create"), create);
        // A patch: the fields that may change, each replaced (null clears an optional one).
        let mut patch = schema.clone();
        if let Some(props) = patch.get_mut("properties").and_then(|p| p.as_object_mut()) {
            for field in E::IMMUTABLE {
                props.remove(*field);
            }
        }
        patch["description"] = json!(format!(
            "The fields of {name} to change, each replaced (null clears an optional field); ids and store-maintained timestamps cannot be changed."
        ));
        schemas.insert(format!("{name}Patch"), patch);
        schemas.insert(name.to_string(), schema);
    }
    add::<Customer>(schemas);
    add::<CustomerPreference>(schemas);
    add::<Conversation>(schemas);
    add::<ConversationAttachment>(schemas);
    add::<ServiceCategory>(schemas);
    add::<Service>(schemas);
    add::<ServicePricingTier>(schemas);
    add::<ServicePackage>(schemas);
    add::<PackageService>(schemas);
    add::<ApiToken>(schemas);
    add::<PreferenceHistory>(schemas);
    add::<ConsentRecord>(schemas);
    add::<Webhook>(schemas);
    add::<WebhookDelivery>(schemas);
    // PUT /v1/customers/{id}/preferences: the customer is the path's.
    let mut upsert = schemas["CustomerPreferenceCreate"].clone();
    if let Some(required) = upsert["required"].as_array_mut() {
        required.retain(|f| f != "customer_id");
    }
    schemas.insert("CustomerPreferenceUpsert".into(), upsert);
    // The answer of POST /v1/webhooks, the one that shows the secret.
    schemas.insert("WebhookCreated".into(), Webhook::json_schema());
    let types = json!({"type": "array", "uniqueItems": true,
        "items": {"type": "string", "enum": karen_core::enums::EventType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()}});
    let url = karen_core::rules::schema_of(json!({"type": "string"}), karen_core::rules::Rule::WebhookUrl);
    let description = json!({"anyOf": [{"type": "string", "maxLength": 500}, {"type": "null"}]});
    schemas.insert(
        "WebhookRequest".into(),
        json!({
            "type": "object", "required": ["url"], "additionalProperties": false,
            "properties": {"url": url, "types": types, "description": description}
        }),
    );
    schemas.insert(
        "WebhookPatch".into(),
        json!({
            "type": "object", "additionalProperties": false,
            "properties": {"url": url, "types": types, "description": description,
                "status": karen_core::enums::WebhookStatus::schema_json()}
        }),
    );
}

/// The OpenAPI 3.1 document of `specs`.
pub fn document(specs: &[RouteSpec]) -> Value {
    let mut schemas = BTreeMap::new();
    let limit = karen_core::validate::JSON_NUMBER_LIMIT;
    schemas.insert("JsonValue".into(), json!({
        "description": "Any JSON value without the NUL character in its texts and keys, its numbers below 1e308 in magnitude.",
        "anyOf": [
            {"type": ["null", "boolean"]},
            {"type": "number", "exclusiveMinimum": -limit, "exclusiveMaximum": limit},
            {"type": "string", "pattern": karen_core::rules::NUL_FREE},
            {"type": "array", "items": reference("JsonValue")},
            {"type": "object", "propertyNames": {"pattern": karen_core::rules::NUL_FREE},
             "additionalProperties": reference("JsonValue")}
        ]
    }));
    entity_schemas(&mut schemas);
    let nullable_number = json!({"anyOf": [{"type": "number"}, {"type": "null"}]});
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "An error (RFC 9457).",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "description": "urn:karen:problem:<kind>"},
                "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                "field": {"type": "string", "description": "The field at fault."},
                "rule": {"type": "string", "description": "The rule it broke."},
                "merged_into": {"type": "string", "format": "uuid",
                    "description": "For a customer merged into another (404): the customer it went into."}
            }
        }),
    );
    schemas.insert(
        "Health".into(),
        json!({"type": "object", "properties": {"status": {"type": "string"}, "backend": {"type": "string"}}}),
    );
    schemas.insert("OpenApi".into(), json!({"type": "object", "description": "An OpenAPI 3.1 document."}));
    schemas.insert("ServiceHit".into(), json!({
        "type": "object", "required": ["service", "category_name", "price"],
        "properties": {"service": reference("Service"), "category_name": {"type": "string"},
            "price": {"anyOf": [{"type": "string", "format": "decimal"}, {"type": "null"}], "description": "The default tier's price."}}
    }));
    schemas.insert("ConversationHit".into(), json!({
        "type": "object", "required": ["conversation", "rank", "snippet"],
        "properties": {"conversation": reference("Conversation"),
            "rank": {"type": "number", "description": "Higher is better; each backend's own ranking (docs/decisions.md K52)."},
            "snippet": {"type": "string", "description": "Text around the matches, HTML-escaped, matches in <mark> elements."}}
    }));
    schemas.insert("Event".into(), json!({
        "type": "object", "required": ["id", "type", "entity_id", "customer_id", "occurred_at"],
        "description": "A change (decisions.md item 27): what happened to which row of which customer. Ids only, never content.",
        "properties": {"id": {"type": "string", "format": "uuid", "description": "The event's own id (webhook-id)."},
            "type": {"type": "string", "enum": karen_core::enums::EventType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()},
            "entity_id": {"type": "string", "format": "uuid"},
            "customer_id": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]},
            "occurred_at": {"type": "string", "format": "date-time"}}
    }));
    schemas.insert(
        "PackageItem".into(),
        json!({
            "type": "object", "required": ["item", "service"],
            "properties": {"item": reference("PackageService"), "service": reference("Service")}
        }),
    );
    schemas.insert("PackageDetail".into(), json!({
        "type": "object", "required": ["package", "items"],
        "properties": {"package": reference("ServicePackage"), "items": {"type": "array", "items": reference("PackageItem")}}
    }));
    schemas.insert("MediumStats".into(), json!({
        "type": "object",
        "description": "Messages of one medium in the window (decisions.md item 8).",
        "required": ["medium", "message_count", "inbound_count", "outbound_count", "inbound_share", "response_rate",
            "median_first_response_seconds", "mean_first_response_seconds"],
        "properties": {
            "medium": karen_core::enums::Medium::schema_json(),
            "message_count": {"type": "integer"}, "inbound_count": {"type": "integer"}, "outbound_count": {"type": "integer"},
            "inbound_share": {"type": "number", "description": "inbound / all (what the design called response_rate)."},
            "response_rate": {"anyOf": [{"type": "number"}, {"type": "null"}], "description": "Answered inbound / inbound."},
            "median_first_response_seconds": nullable_number.clone(),
            "mean_first_response_seconds": nullable_number
        }
    }));

    let nullable = |v: Value| json!({"anyOf": [v, {"type": "null"}]});
    let uuid = json!({"type": "string", "format": "uuid"});
    let time = json!({"type": "string", "format": "date-time"});
    let decimal = json!({"type": ["string", "number"], "format": "decimal"});
    let medium = karen_core::enums::Medium::schema_json();
    schemas.insert("Candidate".into(), json!({
        "type": "object",
        "required": ["preference_id", "medium", "preference_value", "source", "confidence_score", "learned_from_interaction_id", "learned_at", "why"],
        "properties": {
            "preference_id": uuid, "medium": karen_core::enums::PreferenceMedium::schema_json(), "preference_value": {},
            "source": karen_core::enums::PreferenceSource::schema_json(), "confidence_score": decimal,
            "learned_from_interaction_id": nullable(uuid.clone()), "learned_at": nullable(time.clone()),
            "why": {"type": "string", "description": "Why it won or lost."}
        }
    }));
    schemas.insert("EffectivePreference".into(), json!({
        "type": "object", "required": ["preference_type", "preference_key", "value", "winner", "loser"],
        "properties": {
            "preference_type": karen_core::enums::PreferenceType::schema_json(), "preference_key": {"type": "string"},
            "value": {"description": "The winner's value."}, "winner": reference("Candidate"),
            "loser": {"anyOf": [reference("Candidate"), {"type": "null"}]}
        }
    }));
    schemas.insert("Observation".into(), json!({
        "type": "object", "additionalProperties": false,
        "required": ["preference_type", "preference_key", "value", "source", "confidence"],
        "properties": {
            "customer_id": uuid, "preference_type": karen_core::enums::PreferenceType::schema_json(),
            "preference_key": karen_core::rules::schema_of(json!({"type": "string"}), karen_core::taxonomy::PREFERENCE_KEY),
            "medium": karen_core::enums::PreferenceMedium::schema_json(),
            "value": {"description": "The observed value, as section 1.2 allows for the key."},
            "metadata": nullable(json!({"type": "object"})), "source": karen_core::enums::PreferenceSource::schema_json(),
            "confidence": karen_core::rules::schema_of(decimal, karen_core::rules::Rule::Confidence), "conversation_id": nullable(uuid.clone()), "expires_at": nullable(time.clone())
        }
    }));
    schemas.insert(
        "LearnResult".into(),
        json!({
            "type": "object", "required": ["outcome", "preference"],
            "properties": {
                "outcome": {"type": "string", "enum": ["created", "reinforced", "superseded", "weakened", "rejected"]},
                "preference": {"anyOf": [reference("CustomerPreference"), {"type": "null"}]}
            }
        }),
    );
    schemas.insert(
        "ContactPlan".into(),
        json!({
            "type": "object", "required": ["at", "timezone", "channels", "channel_now", "next", "reasons"],
            "properties": {
                "at": time, "timezone": {"type": "string"}, "channels": {"type": "array", "items": medium.clone()},
                "channel_now": nullable(medium.clone()),
                "next": nullable(json!({"type": "object", "required": ["at", "local", "channel"],
                    "properties": {"at": time, "local": {"type": "string"}, "channel": medium}})),
                "reasons": {"type": "array", "items": {"type": "string"}}
            }
        }),
    );

    if let Some(observation) = schemas.get_mut("Observation") {
        json_documents(&mut observation["properties"]["value"]);
        json_documents(&mut observation["properties"]["metadata"]);
    }
    crate::agents::schemas(&mut schemas);
    crate::lifecycle::schemas(&mut schemas);
    crate::inbound::schemas(&mut schemas);

    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for spec in specs {
        let mut op = Map::new();
        op.insert("summary".into(), json!(spec.summary));
        op.insert("tags".into(), json!([spec.tag]));
        op.insert("operationId".into(), json!(operation_id(spec)));
        let mut params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                let schema =
                    if name == "id" { json!({"type": "string", "format": "uuid"}) } else { json!({"type": "string"}) };
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        params.extend(spec.query.iter().map(|p| {
            json!({"name": p.name, "in": "query", "required": p.required, "description": p.description, "schema": p.schema})
        }));
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        if let Some(body) = shape_schema(&spec.body, &mut schemas) {
            op.insert(
                "requestBody".into(),
                if spec.body == Shape::Upload {
                    // Or the file's bytes as the body, of their own type, named by ?filename=.
                    json!({"required": true, "content": {
                        "multipart/form-data": {"schema": body},
                        "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
                    }})
                } else {
                    json!({"required": true, "content": {media_type(&spec.body): {"schema": body}}})
                },
            );
        }
        let mut responses = Map::new();
        let ok = match shape_schema(&spec.ok.1, &mut schemas) {
            Some(schema) => json!({"description": "Success.", "content": {media_type(&spec.ok.1): {"schema": schema}}}),
            None => json!({"description": "Success, no content."}),
        };
        responses.insert(spec.ok.0.to_string(), ok);
        for (status, when, shape) in &spec.also {
            let answer = match shape_schema(shape, &mut schemas) {
                Some(schema) => json!({"description": when, "content": {media_type(shape): {"schema": schema}}}),
                None => json!({"description": when}),
            };
            responses.insert(status.to_string(), answer);
        }
        for (status, why) in spec.statuses() {
            // hyper's own answer, before karen sees the request: no body.
            let answer = if status == 414 { json!({"description": why}) } else { problem(&why) };
            responses.insert(status.to_string(), answer);
        }
        op.insert("responses".into(), Value::Object(responses));
        if let Some(scope) = spec.scope {
            op.insert("security".into(), json!([{"bearer": []}]));
            op.insert("x-karen-scope".into(), json!(scope.as_str()));
        }
        paths.entry(spec.path.clone()).or_default().insert(spec.method.into(), Value::Object(op));
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "karen",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The data layer of the Karen AI Secretary: customers and their preferences, every message in and out, and the service catalog."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from `karen token create`."}}
        }
    });
    nul_free(&mut document);
    document
}

/// States the NUL rule (docs/decisions.md K14) on every text of the document that has no
/// pattern of its own: karen refuses U+0000 in every field and parameter. Strings of a format
/// (ids, timestamps), of an enum, and bytes (`contentMediaType`) are left as they are.
fn nul_free(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_text = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            let constrained =
                ["pattern", "format", "enum", "const", "contentMediaType"].iter().any(|k| map.contains_key(*k));
            if is_text && !constrained {
                map.insert("pattern".into(), json!(karen_core::rules::NUL_FREE));
            }
            map.values_mut().for_each(nul_free);
        }
        Value::Array(items) => items.iter_mut().for_each(nul_free),
        _ => {}
    }
}

fn operation_id(spec: &RouteSpec) -> String {
    let path: String = spec
        .path
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.trim_matches(|c| c == '{' || c == '}').replace(['-', '.'], "_"))
        .collect::<Vec<_>>()
        .join("_");
    format!("{}_{path}", spec.method)
}

/// GET /openapi.json
pub async fn serve<S: Store>(State(app): State<Arc<App<S>>>) -> Json<Value> {
    Json(app.openapi.as_ref().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_of_the_document_resolves() {
        let specs: Vec<RouteSpec> =
            crate::routes::routes::<karen_sqlite::SqliteStore>().into_iter().map(|r| r.spec).collect();
        let doc = document(&specs);
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 50, "the document uses references");
        let missing: Vec<&&str> = found
            .iter()
            .filter(|r| {
                r.strip_prefix("#/components/schemas/")
                    .is_none_or(|name| doc["components"]["schemas"].get(name).is_none())
            })
            .collect();
        assert!(missing.is_empty(), "unresolvable references: {missing:?}");
    }

    /// Every rule of every entity is stated in the entity's schema, and so in its create body
    /// and its patch (schemathesis's coverage phase, in CI, holds karen to each of them).
    #[test]
    fn every_field_rule_is_in_the_schemas() {
        fn check<E: Entity>(doc: &Value) {
            let name = crate::spec::schema_name(E::KIND);
            for component in [name.to_string(), format!("{name}Create"), format!("{name}Patch")] {
                let schema = &doc["components"]["schemas"][&component];
                for (field, rule) in E::RULES {
                    let Some(property) = schema["properties"].get(*field) else {
                        assert!(
                            component.ends_with("Patch") || E::SECRET_FIELDS.contains(field),
                            "{component}.{field}"
                        );
                        continue;
                    };
                    let text = property.to_string();
                    for (key, value) in rule.schema().as_object().unwrap() {
                        if key == "type" && !value.is_null() && *value != json!("object") {
                            continue;
                        }
                        let stated = match value {
                            Value::Null => !text.contains("\"format\":\"decimal\",\"type\""),
                            Value::Object(_) | Value::Array(_) => text.contains(&key.to_string()),
                            other => text.contains(&other.to_string()),
                        };
                        assert!(stated, "{component}.{field} states {key} = {value} of {rule:?}: {text}");
                    }
                }
            }
        }
        let specs: Vec<RouteSpec> =
            crate::routes::routes::<karen_sqlite::SqliteStore>().into_iter().map(|r| r.spec).collect();
        let doc = document(&specs);
        check::<Customer>(&doc);
        check::<CustomerPreference>(&doc);
        check::<Conversation>(&doc);
        check::<ConversationAttachment>(&doc);
        check::<ServiceCategory>(&doc);
        check::<Service>(&doc);
        check::<ServicePricingTier>(&doc);
        check::<ServicePackage>(&doc);
        check::<PackageService>(&doc);
        check::<Webhook>(&doc);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["ServiceCategoryCreate"]["required"], json!(["name", "slug"]));
        assert_eq!(
            schemas["CustomerPreferenceCreate"]["required"],
            json!(["customer_id", "preference_key", "preference_value"])
        );
        assert!(schemas["ServiceCategoryPatch"]["properties"].get("id").is_none(), "ids cannot be changed");
        assert_eq!(schemas["QuoteRequest"]["oneOf"].as_array().map(Vec::len), Some(2), "a service or a package");
        // The NUL rule on text without a pattern of its own, in parameters too.
        assert_eq!(
            schemas["Customer"]["properties"]["notes"]["anyOf"][0]["pattern"],
            json!(karen_core::rules::NUL_FREE)
        );
    }
}
