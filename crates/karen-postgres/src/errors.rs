//! Translation of PostgreSQL errors into [`StoreError`], by SQLSTATE and constraint name.
//! Constraints are named `<kind>__<table>__<field>` in the migrations for this purpose.

use karen_core::StoreError;

/// Maps a sqlx error to a store error.
pub fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) => {
            let constraint = db.constraint().unwrap_or("");
            let mut parts = constraint.splitn(3, "__");
            let (_kind, table, field) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(constraint));
            match db.code().as_deref() {
                Some("23505") => karen_core::unique_violation(constraint),
                Some("23503") => {
                    if db.message().starts_with("update or delete on table") {
                        StoreError::InUse {
                            field: field.to_string(),
                            rule: format!("the row is still referenced by {table}.{field}; delete or move those first"),
                        }
                    } else {
                        StoreError::missing_reference(field)
                    }
                }
                Some("23514") => karen_sql::check_violation(constraint),
                // Two transactions that hold rows the other needs (a merge and a preference change
                // of the same customer): PostgreSQL aborts one; its caller may retry.
                Some("40P01") | Some("40001") => StoreError::Conflict {
                    entity: "customer",
                    rule: "a concurrent change of the same rows won; retry".into(),
                },
                Some("23502") => {
                    StoreError::invalid(db.message().split('"').nth(1).unwrap_or("column"), "must not be null")
                }
                Some("22021") | Some("22P05") => {
                    StoreError::invalid("value", "holds a character the database cannot store")
                }
                Some("22001") => StoreError::invalid("value", db.message().to_string()),
                Some("22003") | Some("22P02") | Some("22007") | Some("22008") => {
                    StoreError::invalid("value", db.message().to_string())
                }
                // Connection failures, the server shutting down or refusing connections, out of
                // resources, or the database itself gone (dropped while karen serves).
                Some(code)
                    if code.starts_with("08")
                        || code.starts_with("57P")
                        || code.starts_with("53")
                        || code == "3D000" =>
                {
                    StoreError::Unavailable(db.message().to_string())
                }
                _ => StoreError::backend(err),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::backend(err),
    }
}
