//! The one error type of the store interface. Backends translate driver errors into it, so
//! nothing above a store ever sees a database error.

use std::fmt;

/// Result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// What went wrong in a store operation, precise enough for an HTTP layer to choose a status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row or document with that id (or key) exists.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity name, e.g. `customer`.
        entity: &'static str,
        /// The id or key that was looked up.
        id: String,
    },
    /// The customer was merged into another (decisions.md item 25): it is gone, and reading it
    /// answers where it went.
    #[error("customer {id} was merged into customer {into}")]
    Merged {
        /// The merged-away customer.
        id: uuid::Uuid,
        /// The customer it went into.
        into: uuid::Uuid,
    },
    /// A uniqueness rule was broken.
    #[error("conflict on {entity}: {rule}")]
    Conflict {
        /// Entity name.
        entity: &'static str,
        /// The unique rule, e.g. `primary_email must be unique (case-insensitive)`.
        rule: String,
    },
    /// Input broke a validation rule or CHECK constraint.
    #[error("invalid {field}: {rule}")]
    Invalid {
        /// The offending field (dotted path for nested values).
        field: String,
        /// The rule it broke, in words.
        rule: String,
    },
    /// A reference (foreign key) names a row that does not exist.
    #[error("reference {field}: {rule}")]
    Reference {
        /// The referencing field.
        field: String,
        /// What is missing.
        rule: String,
    },
    /// A delete was refused because other rows still refer to this one (an ON DELETE RESTRICT).
    #[error("in use: {rule}")]
    InUse {
        /// The field of the referring rows.
        field: String,
        /// Which rows still refer.
        rule: String,
    },
    /// A body is longer than the limit for it (an attachment's bytes).
    #[error("{field} is larger than {limit} bytes")]
    TooLarge {
        /// What is too large.
        field: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The database could not be reached or timed out.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored row cannot be read back as its entity (a value another program wrote, or a
    /// damaged file): karen's fault or the database's, never the caller's, so a server error
    /// with a log line, not an invalid-input answer.
    #[error("stored {entity} is corrupt: {field}: {rule}")]
    Corrupt {
        /// The entity read.
        entity: &'static str,
        /// The field that cannot be decoded.
        field: String,
        /// What is wrong with it.
        rule: String,
    },
    /// Any other backend failure; carries its source for logs, never for clients.
    #[error("backend error: {0}")]
    Backend(#[source] BackendError),
}

impl StoreError {
    /// Shorthand for [`StoreError::Invalid`].
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        StoreError::Invalid { field: field.into(), rule: rule.into() }
    }

    /// Shorthand for [`StoreError::NotFound`].
    pub fn not_found(entity: &'static str, id: impl fmt::Display) -> Self {
        StoreError::NotFound { entity, id: id.to_string() }
    }

    /// Shorthand for [`StoreError::Reference`] about a missing referenced row.
    pub fn missing_reference(field: impl Into<String>) -> Self {
        StoreError::Reference { field: field.into(), rule: "refers to a row that does not exist".into() }
    }

    /// A decoding failure of a stored row of `entity`: an [`StoreError::Invalid`] raised while
    /// reading becomes [`StoreError::Corrupt`]; other errors pass unchanged.
    pub fn corrupt(entity: &'static str, err: StoreError) -> Self {
        match err {
            StoreError::Invalid { field, rule } => StoreError::Corrupt { entity, field, rule },
            other => other,
        }
    }

    /// Wraps any backend error.
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(BackendError(Box::new(err)))
    }

    /// The field an [`StoreError::Invalid`], [`StoreError::Reference`] or [`StoreError::InUse`] names.
    pub fn field(&self) -> Option<&str> {
        match self {
            StoreError::Invalid { field, .. }
            | StoreError::Reference { field, .. }
            | StoreError::InUse { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A boxed backend error (kept opaque so the core names no driver).
#[derive(Debug)]
pub struct BackendError(pub Box<dyn std::error::Error + Send + Sync>);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn backend_errors_keep_their_source_chain() {
        let err = StoreError::backend(Outer(std::io::Error::other("inner")));
        let first = err.source().expect("the backend error is the source");
        assert_eq!(first.to_string(), "outer");
        assert_eq!(first.source().expect("and its own source follows").to_string(), "inner");
    }

    #[test]
    fn decoding_failures_are_corruption() {
        let err = StoreError::corrupt("customer", StoreError::invalid("status", "is not a status"));
        assert!(matches!(&err, StoreError::Corrupt { entity: "customer", field, .. } if field == "status"));
        assert!(matches!(
            StoreError::corrupt("customer", StoreError::Unavailable("x".into())),
            StoreError::Unavailable(_)
        ));
    }
}
