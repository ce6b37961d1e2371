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
                Some("23505") => StoreError::Conflict { entity: entity_of(table), rule: unique_rule(constraint) },
                Some("23503") => {
                    if db.message().contains("is still referenced") {
                        StoreError::Reference {
                            field: field.to_string(),
                            rule: format!("the row is still referenced by {table}.{field}; delete or move those first"),
                        }
                    } else {
                        StoreError::missing_reference(field)
                    }
                }
                Some("23514") => StoreError::invalid(field, format!("violates database rule {constraint}")),
                Some("23502") => {
                    StoreError::invalid(db.message().split('"').nth(1).unwrap_or("column"), "must not be null")
                }
                Some("22001") => StoreError::invalid("value", db.message().to_string()),
                Some("22003") | Some("22P02") | Some("22007") | Some("22008") => {
                    StoreError::invalid("value", db.message().to_string())
                }
                Some(code) if code.starts_with("08") || code == "57P01" || code == "53300" => {
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

/// The entity name of a table (for conflict errors).
fn entity_of(table: &str) -> &'static str {
    karen_core::EntityKind::ALL.iter().find(|k| k.table() == table).map_or("row", |k| k.name())
}

/// The unique rule a constraint enforces, in words.
fn unique_rule(constraint: &str) -> String {
    match constraint {
        "uq__customers__primary_email" => "primary_email must be unique (case-insensitive)".into(),
        "uq__customers__external_id" => "external_id must be unique".into(),
        "uq__conversations__external_id" => "(medium, external_id) must be unique".into(),
        "uq__customer_preferences__preference_key" => {
            "(customer_id, preference_type, preference_key, medium) must be unique".into()
        }
        "uq__service_categories__name" => "name must be unique".into(),
        "uq__service_categories__slug" | "uq__services__slug" | "uq__service_packages__slug" => {
            "slug must be unique".into()
        }
        "uq__service_pricing_tiers__is_default" => "a service has at most one default tier".into(),
        "uq__package_services__service_id" => "a service appears at most once in a package".into(),
        "karen_schema_migrations_pkey" => "migration already applied".into(),
        _ if constraint.ends_with("_pkey") => "id must be unique".into(),
        other => format!("unique rule {other}"),
    }
}
