//! Checks an answer against karen's own OpenAPI document: its status is documented, and its
//! body matches the schema documented for that status and content type.
//!
//! A small validator of the JSON Schema keywords the document uses, written here rather than
//! taken from the `jsonschema` crate, which would add 28 crates to the test build
//! (docs/decisions.md K57). Patterns the `regex` crate cannot compile (look-arounds) are not
//! checked here; schemathesis checks them in CI.

use serde_json::Value;

/// Whether `value` conforms to `schema`; the error names the path and the keyword.
pub fn check(doc: &Value, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let Some(s) = schema.as_object() else { return Ok(()) };
    let fail = |why: String| Err(format!("{path}: {why}"));
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/components/schemas/").ok_or(format!("{path}: reference {r}"))?;
        let target = doc["components"]["schemas"].get(name).ok_or(format!("{path}: no component {name}"))?;
        check(doc, target, value, path)?;
    }
    if let Some(branches) = s.get("anyOf").and_then(Value::as_array) {
        if !branches.iter().any(|b| check(doc, b, value, path).is_ok()) {
            return fail(format!("matches no branch of anyOf: {value}"));
        }
    }
    if let Some(branches) = s.get("oneOf").and_then(Value::as_array) {
        let n = branches.iter().filter(|b| check(doc, b, value, path).is_ok()).count();
        if n != 1 {
            return fail(format!("matches {n} branches of oneOf"));
        }
    }
    if let Some(branches) = s.get("allOf").and_then(Value::as_array) {
        for b in branches {
            check(doc, b, value, path)?;
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| is_type(value, t)) {
            return fail(format!("is not of type {types:?}: {value}"));
        }
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return fail(format!("{value} is not one of {allowed:?}"));
        }
    }
    if let Some(c) = s.get("const") {
        if c != value {
            return fail(format!("{value} is not {c}"));
        }
    }
    match value {
        Value::String(text) => string(s, text).map_err(|why| format!("{path}: {why}"))?,
        Value::Number(n) => number(s, n.as_f64().unwrap_or(0.0)).map_err(|why| format!("{path}: {why}"))?,
        Value::Array(items) => {
            if let Some(item) = s.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(doc, item, v, &format!("{path}[{i}]"))?;
                }
            }
        }
        Value::Object(members) => {
            let props = s.get("properties").and_then(Value::as_object);
            for required in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !members.contains_key(name) {
                    return fail(format!("lacks required {name}"));
                }
            }
            for (key, v) in members {
                if let Some(names) = s.get("propertyNames") {
                    check(doc, names, &Value::String(key.clone()), &format!("{path}.{key} (name)"))?;
                }
                match props.and_then(|p| p.get(key)) {
                    Some(p) => check(doc, p, v, &format!("{path}.{key}"))?,
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => return fail(format!("has undocumented {key}")),
                        Some(extra @ Value::Object(_)) => check(doc, extra, v, &format!("{path}.{key}"))?,
                        _ => {}
                    },
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

fn string(s: &serde_json::Map<String, Value>, text: &str) -> Result<(), String> {
    let n = text.chars().count() as u64;
    if s.get("minLength").and_then(Value::as_u64).is_some_and(|min| n < min) {
        return Err(format!("{text:?} is shorter than minLength"));
    }
    if s.get("maxLength").and_then(Value::as_u64).is_some_and(|max| n > max) {
        return Err(format!("{text:?} is longer than maxLength"));
    }
    if let Some(p) = s.get("pattern").and_then(Value::as_str) {
        if let Ok(re) = regex::Regex::new(p) {
            if !re.is_match(text) {
                return Err(format!("{text:?} does not match {p}"));
            }
        }
    }
    if s.get("format").and_then(Value::as_str) == Some("uuid") && uuid::Uuid::try_parse(text).is_err() {
        return Err(format!("{text:?} is not a UUID"));
    }
    if s.get("format").and_then(Value::as_str) == Some("date-time")
        && chrono::DateTime::parse_from_rfc3339(text).is_err()
    {
        return Err(format!("{text:?} is not an RFC 3339 timestamp"));
    }
    Ok(())
}

fn number(s: &serde_json::Map<String, Value>, n: f64) -> Result<(), String> {
    let bound = |k: &str| s.get(k).and_then(Value::as_f64);
    let broken = [
        bound("minimum").is_some_and(|m| n < m),
        bound("maximum").is_some_and(|m| n > m),
        bound("exclusiveMinimum").is_some_and(|m| n <= m),
        bound("exclusiveMaximum").is_some_and(|m| n >= m),
    ];
    if broken.iter().any(|b| *b) {
        return Err(format!("{n} is out of its bounds"));
    }
    Ok(())
}

/// The documented schema of an answer `status` of `method template` with `content_type`
/// (`None` when the status is documented without a body); an error when the status or the
/// content type is not documented.
pub fn answer_schema<'a>(
    doc: &'a Value,
    method: &str,
    template: &str,
    status: u16,
    content_type: &str,
) -> Result<Option<&'a Value>, String> {
    let op = doc["paths"][template].get(method).ok_or(format!("{method} {template} is not documented"))?;
    let answer =
        op["responses"].get(status.to_string()).ok_or(format!("{method} {template}: {status} is undocumented"))?;
    let Some(content) = answer.get("content").and_then(Value::as_object) else { return Ok(None) };
    let media = content_type.split(';').next().unwrap_or("").trim();
    match content.get(media).or_else(|| content.get("*/*")) {
        Some(m) => Ok(m.get("schema")),
        None if media.is_empty() => Ok(None),
        None => Err(format!("{method} {template} {status}: content type {media} is undocumented")),
    }
}
