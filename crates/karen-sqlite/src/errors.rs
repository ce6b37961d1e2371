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
            return karen_core::unique_violation(&unique_constraint(rest));
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
        // Extended result codes carry the primary code in their low byte.
        let primary = code.parse::<i32>().map(|c| c & 0xff).unwrap_or(-1);
        match primary {
            5 | 6 => return StoreError::Unavailable(format!("database is busy: {message}")),
            26 => return StoreError::Unavailable("the file is not a SQLite database".into()),
            14 => return StoreError::Unavailable(format!("cannot open the database file: {message}")),
            // The file went away, was moved or became unwritable, the disk failed or is full.
            8 | 10 | 13 => return StoreError::Unavailable(format!("the database file is unavailable: {message}")),
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

/// The karen constraint name of a UNIQUE failure, from `index 'name'` or `table.col, table.col`:
/// the declared unique rule of that table over exactly those columns ([`karen_core::Entity::UNIQUES`]).
fn unique_constraint(detail: &str) -> String {
    if let Some(name) = detail.strip_prefix("index '").and_then(|s| s.strip_suffix('\'')) {
        return name.to_string();
    }
    let columns: Vec<(&str, &str)> = detail.split(", ").filter_map(|c| c.split_once('.')).collect();
    let table = columns.first().map_or("", |(t, _)| *t);
    let names: Vec<&str> = columns.iter().map(|(_, c)| *c).collect();
    if names == ["id"] {
        return format!("{table}_pkey");
    }
    karen_core::EntityKind::of_table(table)
        .and_then(|kind| kind.uniques().iter().find(|u| u.fields == names.as_slice()))
        .map_or_else(|| format!("uq__{table}__{}", names.join("_")), |u| u.constraint.to_string())
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
