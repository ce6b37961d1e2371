//! Errors as `application/problem+json` (RFC 9457). Each variant documents its status; store
//! errors map one to one, and nothing internal (driver messages, causes) reaches a client.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use karen_core::StoreError;
use serde_json::json;

/// An HTTP error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// A short kind, also the last part of the problem type URI (`invalid-input`, ...).
    pub kind: &'static str,
    /// What happened, for people.
    pub detail: String,
    /// The field at fault, when there is one.
    pub field: Option<String>,
    /// The rule it broke, when there is one.
    pub rule: Option<String>,
    /// Where a merged-away customer went (404 for a customer merged into another).
    pub merged_into: Option<uuid::Uuid>,
}

impl ApiError {
    /// 400: the request cannot be read (malformed JSON, a path id that is not a UUID).
    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "malformed-request",
            field: Some(field.into()),
            rule: Some(detail.clone()),
            detail,
            merged_into: None,
        }
    }

    /// 401: no token, or not a valid one.
    pub fn unauthorized(detail: &str) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            kind: "unauthorized",
            detail: detail.into(),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 403: the token lacks the scope the route needs.
    pub fn forbidden(scope: &str) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            kind: "forbidden",
            detail: format!("this token lacks the {scope} scope"),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "not-found",
            detail: "no such route".into(),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 405 for a method a route does not serve.
    pub fn method_not_allowed() -> Self {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            kind: "method-not-allowed",
            detail: "this route does not serve that method".into(),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 413: the body is larger than the configured limit.
    pub fn too_large(limit: usize) -> Self {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: "body-too-large",
            detail: format!("the request body is larger than {limit} bytes"),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 415: the body is not `application/json`.
    pub fn unsupported_media_type() -> Self {
        ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            kind: "unsupported-media-type",
            detail: "send the body as application/json".into(),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 415: the body is not of the media type the route reads.
    pub fn wrong_media_type(expected: &str) -> Self {
        ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            kind: "unsupported-media-type",
            detail: format!("send the body as {expected}"),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 403 for a webhook whose signature does not verify: nothing was stored.
    pub fn bad_signature(detail: &str) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            kind: "bad-signature",
            detail: detail.into(),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 416: the range asked for starts past the end of the content.
    pub fn range_not_satisfiable(size: u64) -> Self {
        ApiError {
            status: StatusCode::RANGE_NOT_SATISFIABLE,
            kind: "range-not-satisfiable",
            detail: format!("the content has {size} bytes; ask for a range within them"),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 503 for a route that needs configuration the server was not given.
    pub fn not_configured(detail: &str) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "not-configured",
            detail: detail.into(),
            field: None,
            rule: None,
            merged_into: None,
        }
    }

    /// 422 naming a field of the body that does not fit its type.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        StoreError::invalid(field, rule).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let (status, kind) = match &err {
            StoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found"),
            StoreError::Merged { .. } => (StatusCode::NOT_FOUND, "merged"),
            StoreError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            StoreError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-input"),
            StoreError::Reference { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "missing-reference"),
            StoreError::InUse { .. } => (StatusCode::CONFLICT, "in-use"),
            StoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            StoreError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
            StoreError::Backend(_) | StoreError::Corrupt { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let (field, rule) = match &err {
            StoreError::Invalid { field, rule }
            | StoreError::Reference { field, rule }
            | StoreError::InUse { field, rule } => (Some(field.clone()), Some(rule.clone())),
            StoreError::Conflict { rule, .. } => (None, Some(rule.clone())),
            StoreError::TooLarge { field, limit } => (Some(field.clone()), Some(format!("at most {limit} bytes"))),
            _ => (None, None),
        };
        let detail = match &err {
            StoreError::Backend(_) => {
                tracing::error!(error = %err, source = ?std::error::Error::source(&err), "backend error");
                "an internal error occurred; it has been logged".to_string()
            }
            StoreError::Corrupt { entity, field, .. } => {
                // Names the entity and field only: the stored value may be a customer's data.
                tracing::error!(entity, field, "a stored row cannot be read back");
                "an internal error occurred; it has been logged".to_string()
            }
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %err, "store unavailable");
                "the database is unavailable; try again".to_string()
            }
            other => other.to_string(),
        };
        let merged_into = match &err {
            StoreError::Merged { into, .. } => Some(*into),
            _ => None,
        };
        ApiError { status, kind, detail, field, rule, merged_into }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("urn:karen:problem:{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        if let Some(r) = self.rule {
            body["rule"] = json!(r);
        }
        if let Some(m) = self.merged_into {
            body["merged_into"] = json!(m);
        }
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_stored_data_is_a_server_error_that_names_nothing() {
        let err = ApiError::from(StoreError::Corrupt {
            entity: "customer",
            field: "status".into(),
            rule: "is not one of active, inactive".into(),
        });
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!((err.field, err.rule), (None, None), "the caller is not blamed");
        let err = ApiError::from(StoreError::invalid("status", "is not a status"));
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
