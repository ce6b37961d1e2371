//! Translation of SQLite errors into [`StoreError`]. SQLite reports CHECK constraints and
//! expression indexes by name, column UNIQUE constraints by their columns, and foreign keys
//! without detail: the store then asks which reference is missing (see `store.rs`).

use karen_core::StoreError;

/// What a SQLite error means, before the store resolves foreign keys.
pub fn map_err(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        let message = db.message();
        let code = db.code().map(|c| c.to_string()).unwrap_or_default();
        if let Some(rest) = message.strip_prefix("UNIQUE constraint failed: ") {
            return karen_sql::unique_violation(&unique_constraint(rest));
        }
        if let Some(name) = message.strip_prefix("CHECK constraint failed: ") {
            return karen_sql::check_violation(name.trim());
        }
        if let Some(column) = message.strip_prefix("NOT NULL constraint failed: ") {
            let field = column.rsplit('.').next().unwrap_or(column);
            return StoreError::invalid(field, "must not be null");
        }
        if message.contains("FOREIGN KEY constraint failed") {
            return StoreError::Reference { field: "reference".into(), rule: message.to_string() };
        }
        match code.as_str() {
            "5" | "6" | "517" | "261" => return StoreError::Unavailable(format!("database is busy: {message}")),
            "26" => return StoreError::Unavailable("the file is not a SQLite database".into()),
            "14" => return StoreError::Unavailable(format!("cannot open the database file: {message}")),
            _ => {}
        }
    }
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(err.to_string())
        }
        other => StoreError::backend(other),
    }
}

/// The karen constraint name of a UNIQUE failure, from `index 'name'` or `table.col, table.col`.
fn unique_constraint(detail: &str) -> String {
    if let Some(name) = detail.strip_prefix("index '").and_then(|s| s.strip_suffix('\'')) {
        return name.to_string();
    }
    let columns: Vec<&str> = detail.split(", ").collect();
    let (table, first) = columns[0].split_once('.').unwrap_or(("", columns[0]));
    let last = columns.last().and_then(|c| c.split_once('.')).map_or(first, |(_, c)| c);
    match (table, first, columns.len()) {
        (t, "id", 1) => format!("{t}_pkey"),
        ("customer_preferences", _, _) => "uq__customer_preferences__preference_key".into(),
        // The partial unique index on service_id WHERE is_default.
        ("service_pricing_tiers", "service_id", 1) => "uq__service_pricing_tiers__is_default".into(),
        // The partial unique index on (medium, external_id).
        ("conversations", "medium", 2) => "uq__conversations__external_id".into(),
        (t, _, _) => format!("uq__{t}__{last}"),
    }
}

#[cfg(test)]
mod tests {
    use super::unique_constraint;

    #[test]
    fn unique_failures_name_karen_constraints() {
        assert_eq!(unique_constraint("index 'uq__customers__primary_email'"), "uq__customers__primary_email");
        assert_eq!(unique_constraint("customers.external_id"), "uq__customers__external_id");
        assert_eq!(
            unique_constraint("package_services.package_id, package_services.service_id"),
            "uq__package_services__service_id"
        );
        assert_eq!(
            unique_constraint("customer_preferences.customer_id, customer_preferences.preference_type, customer_preferences.preference_key, customer_preferences.medium"),
            "uq__customer_preferences__preference_key"
        );
        assert_eq!(unique_constraint("services.id"), "services_pkey");
        assert_eq!(unique_constraint("service_pricing_tiers.service_id"), "uq__service_pricing_tiers__is_default");
        assert_eq!(
            unique_constraint("conversations.medium, conversations.external_id"),
            "uq__conversations__external_id"
        );
    }
}
