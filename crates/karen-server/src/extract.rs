//! Request extractors that turn every malformed input into a problem answer naming the field:
//! JSON bodies, path ids and query strings.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;

/// A JSON body of type `T`: 415 without a JSON content type, 413 over the size limit, 400 when
/// it is not JSON, 422 naming the field when a value does not fit.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::unsupported_media_type());
        }
        let limit = req.extensions().get::<BodyLimit>().map_or(usize::MAX, |l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|_| ApiError::too_large(limit))?;
        parse(&bytes).map(JsonBody)
    }
}

/// The configured body limit, recorded for error messages.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Parses a JSON object, naming the path of the value that does not fit. Every body of the API
/// is an object: anything else is refused before serde sees it, since derived types would read
/// an array positionally (`[]` would be a customer with every field defaulted).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            return Err(ApiError::bad_request("body", format!("the body is not valid JSON: {err}")));
        }
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    if may_underflow(bytes) {
        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(bytes) {
            underflow(&fields)?;
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(de) {
        Ok(value) => Ok(value),
        // `30.0` is an integer to JSON Schema (and JavaScript): a field of an integer type takes it.
        Err(err) if err.inner().to_string().starts_with("invalid type: floating point") => {
            let mut body: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| ApiError::bad_request("body", format!("the body is not valid JSON: {e}")))?;
            if let Some(fields) = body.as_object_mut() {
                karen_core::patch::whole_numbers(fields);
            }
            serde_path_to_error::deserialize(body).map_err(data_error)
        }
        Err(err) => Err(json_error(err)),
    }
}

/// Smallest magnitude of a decimal karen can hold (28 places, `rust_decimal`'s limit).
const SMALLEST_DECIMAL: f64 = 1e-28;

/// Whether the body may hold a number smaller than any decimal: a negative exponent after a
/// digit (`5e-29`) or a point followed by 28 zeros. Only such a body is read twice.
fn may_underflow(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w[0].is_ascii_digit() && matches!(w[1], b'e' | b'E') && w[2] == b'-')
        || bytes.windows(29).any(|w| w[0] == b'.' && w[1..].iter().all(|b| *b == b'0'))
}

/// Refuses a top-level number of a decimal field that is not zero but smaller than any
/// decimal: the decimal reader would round it to 0 silently (`1e-175` would store `0.00`),
/// though the document's decimal fields (`multipleOf` 0.01) refuse it. Every other number is
/// left to its field (a JSON document field such as `seasonal_availability` takes any).
fn underflow(fields: &serde_json::Map<String, serde_json::Value>) -> Result<(), ApiError> {
    for (name, value) in fields {
        let tiny = |n: &f64| value.is_f64() && *n != 0.0 && n.abs() < SMALLEST_DECIMAL;
        if let Some(n) = value.as_f64().filter(|n| tiny(n) && karen_core::EntityKind::is_decimal_field(name)) {
            return Err(ApiError::invalid(
                name.as_str(),
                format!("must be a number of at most 28 decimal places, or 0 (got {n:e})"),
            ));
        }
    }
    Ok(())
}

/// The answer to a body serde could not read.
fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    match err.inner().classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
            ApiError::bad_request("body", format!("the body is not valid JSON: {}", err.inner()))
        }
        serde_json::error::Category::Data => data_error(err),
    }
}

/// The answer to a body whose value does not fit its type, naming the field.
fn data_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let field = if path == "." || path.is_empty() { "body".to_string() } else { path };
    let message = strip_position(&err.into_inner().to_string());
    // A timestamp or date that does not parse (year 10000 among them) gets the one rule for
    // dates, as year 0 does from the core.
    if CHRONO_ERRORS.contains(&message.as_str()) {
        return ApiError::invalid(field, karen_core::validate::YEAR_RULE);
    }
    ApiError::invalid(field, message)
}

/// What chrono says of a date or timestamp it cannot parse.
const CHRONO_ERRORS: &[&str] = &[
    "input is out of range",
    "no possible date and time matching input",
    "input is not enough for unique date and time",
    "input contains invalid characters",
    "premature end of input",
    "trailing input",
    "bad or unsupported format string",
];

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// A UUID path parameter (`{id}`): 400 naming `id` when it is not one.
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request("id", e.body_text()))?;
        Uuid::try_parse(&raw).map(PathId).map_err(|_| ApiError::bad_request("id", format!("{raw:?} is not a UUID")))
    }
}

/// The query string as ordered (name, value) pairs: 400 when it cannot be decoded.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(pairs) =
            axum::extract::Query::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request("query", e.body_text()))?;
        if let Some((name, _)) = pairs.iter().find(|(n, v)| n.contains('\0') || v.contains('\0')) {
            return Err(ApiError::bad_request(name.replace('\0', "\\0"), "must not contain the NUL character"));
        }
        Ok(QueryPairs(pairs))
    }
}

impl QueryPairs {
    /// The one value of `name`, if given; a repeated parameter is a 400.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.0.iter().filter(|(n, _)| n == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(ApiError::bad_request(name, "may be given once"));
        }
        Ok(first)
    }

    /// The required value of `name`.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.one(name)?.ok_or_else(|| ApiError::invalid(name, "is required"))
    }

    /// Refuses parameters not in `allowed`, so a typo is an error rather than ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
            Some((n, _)) => Err(ApiError::bad_request(
                n.clone(),
                format!("unknown query parameter; allowed: {}", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// The RFC 3339 timestamp `name`, if given.
    pub fn time(&self, name: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        self.one(name)?
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(|_| ApiError::invalid(name, "must be an RFC 3339 timestamp such as 2026-06-01T12:00:00Z"))
            })
            .transpose()
    }

    /// The UUID `name`, if given.
    pub fn uuid(&self, name: &str) -> Result<Option<Uuid>, ApiError> {
        self.one(name)?
            .map(|v| Uuid::try_parse(v).map_err(|_| ApiError::invalid(name, format!("{v:?} is not a UUID"))))
            .transpose()
    }

    /// The page request of `cursor` and `limit`.
    pub fn page(&self) -> Result<karen_core::query::PageRequest, ApiError> {
        let limit = match self.one("limit")? {
            None => None,
            Some(l) => {
                Some(l.parse::<u32>().map_err(|_| ApiError::invalid("limit", "must be a whole number from 1 to 500"))?)
            }
        };
        Ok(karen_core::query::PageRequest { cursor: self.one("cursor")?.map(str::to_string), limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Priced {
        price: rust_decimal::Decimal,
        #[serde(default)]
        seasonal_availability: Option<serde_json::Value>,
    }

    #[test]
    fn a_number_below_every_decimal_is_refused_not_rounded_to_zero() {
        let err = parse::<Priced>(br#"{"price": 1.9863147866619557e-175}"#).unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("price") && text.contains("at most 28 decimal places"), "{text}");
        assert!(parse::<Priced>(br#"{"price": 0.0}"#).is_ok());
        assert!(parse::<Priced>(br#"{"price": 1e-2}"#).is_ok());
        let document = parse::<Priced>(br#"{"price": 1, "seasonal_availability": -1.6e-134}"#);
        assert!(document.is_ok(), "a JSON document field takes any number: {document:?}");
        let long = format!(r#"{{"price": 0.{}1}}"#, "0".repeat(30));
        assert!(format!("{:?}", parse::<Priced>(long.as_bytes()).unwrap_err()).contains("price"), "{long}");
    }
}
