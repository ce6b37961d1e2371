//! The validation rules shared by every entity: lengths, decimals, slugs, currencies, e-mail
//! addresses and phone numbers. Each returns [`StoreError::Invalid`] naming the field and rule.

use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::Decimal;

use crate::error::{StoreError, StoreResult};

/// Truncates a timestamp to microseconds, the precision every store keeps (decisions.md item 7).
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Truncates an optional timestamp to microseconds.
pub fn opt_micros(t: &mut Option<DateTime<Utc>>) {
    if let Some(v) = t {
        *v = to_micros(*v);
    }
}

/// `value` has at most `max` characters (VARCHAR(max) counts characters, not bytes).
pub fn max_len(field: &str, value: &str, max: usize) -> StoreResult<()> {
    let n = value.chars().count();
    if n > max {
        return Err(StoreError::invalid(field, format!("must be at most {max} characters (got {n})")));
    }
    Ok(())
}

/// Like [`max_len`] for an optional value.
pub fn opt_max_len(field: &str, value: &Option<String>, max: usize) -> StoreResult<()> {
    value.as_deref().map_or(Ok(()), |v| max_len(field, v, max))
}

/// `value` is not empty or only whitespace, and at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> StoreResult<()> {
    if value.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    max_len(field, value, max)
}

/// Checks a `DECIMAL(precision, scale)` value and rescales it to exactly `scale` places.
/// More places than the column keeps, or a value too large for it, is an error: nothing is
/// rounded silently (decisions.md item 13).
pub fn decimal(field: &str, value: &mut Decimal, precision: u32, scale: u32) -> StoreResult<()> {
    let normalized = value.normalize();
    if normalized.scale() > scale {
        return Err(StoreError::invalid(field, format!("must have at most {scale} decimal places (got {value})")));
    }
    let limit = Decimal::from_i128_with_scale(10i128.pow(precision - scale), 0);
    if normalized.abs() >= limit {
        return Err(StoreError::invalid(
            field,
            format!("must be less than {limit} in magnitude (DECIMAL({precision},{scale}))"),
        ));
    }
    let mut v = normalized;
    v.rescale(scale);
    *value = v;
    Ok(())
}

/// Like [`decimal`] for an optional value.
pub fn opt_decimal(field: &str, value: &mut Option<Decimal>, precision: u32, scale: u32) -> StoreResult<()> {
    match value {
        Some(v) => decimal(field, v, precision, scale),
        None => Ok(()),
    }
}

/// A `DECIMAL(10,2)` amount of money that must not be negative.
pub fn money(field: &str, value: &mut Decimal) -> StoreResult<()> {
    decimal(field, value, 10, 2)?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(StoreError::invalid(field, "must be >= 0"));
    }
    Ok(())
}

/// Like [`money`] for an optional value.
pub fn opt_money(field: &str, value: &mut Option<Decimal>) -> StoreResult<()> {
    match value {
        Some(v) => money(field, v),
        None => Ok(()),
    }
}

/// A `DECIMAL(3,2)` confidence between 0.00 and 1.00.
pub fn confidence(field: &str, value: &mut Decimal) -> StoreResult<()> {
    decimal(field, value, 3, 2)?;
    if *value < Decimal::ZERO || *value > Decimal::ONE {
        return Err(StoreError::invalid(field, "must be between 0.0 and 1.0"));
    }
    Ok(())
}

/// An integer within `[min, max]`.
pub fn int_range(field: &str, value: i32, min: i32, max: i32) -> StoreResult<()> {
    if value < min || value > max {
        return Err(StoreError::invalid(field, format!("must be between {min} and {max} (got {value})")));
    }
    Ok(())
}

/// A slug: `^[a-z0-9]+(-[a-z0-9]+)*$` and at most `max` characters (decisions.md item 3).
pub fn slug(field: &str, value: &str, max: usize) -> StoreResult<()> {
    max_len(field, value, max)?;
    let ok = !value.is_empty()
        && value
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if !ok {
        return Err(StoreError::invalid(
            field,
            "must be lower-case letters and digits in words joined by single hyphens (^[a-z0-9]+(-[a-z0-9]+)*$)",
        ));
    }
    Ok(())
}

/// An ISO 4217 currency code: three upper-case ASCII letters.
pub fn currency(field: &str, value: &str) -> StoreResult<()> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(StoreError::invalid(field, "must be three upper-case letters (ISO 4217), e.g. USD"))
    }
}

/// Trims an e-mail address and checks its form: one `@`, a local part, a dotted domain, no spaces.
pub fn email(field: &str, value: &mut String) -> StoreResult<()> {
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        *value = trimmed.to_string();
    }
    max_len(field, value, 255)?;
    let ok = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(field, "must be an e-mail address like name@example.com"))
    }
}

/// Like [`email`] for an optional value.
pub fn opt_email(field: &str, value: &mut Option<String>) -> StoreResult<()> {
    match value {
        Some(v) => email(field, v),
        None => Ok(()),
    }
}

/// Normalises a phone number to E.164 (`+` and 8 to 15 digits), decisions.md item 4.
///
/// Accepted input: E.164 with spaces, dots, hyphens or parentheses (`+1 (757) 555-0100`), an
/// international `00` prefix, or a 10-digit North American number (`757-555-0100`, assumed
/// `+1`, the business being in Virginia) and its 11-digit form starting with 1.
pub fn phone(field: &str, value: &str) -> StoreResult<String> {
    let err = || {
        StoreError::invalid(
            field,
            "must be a phone number in E.164 form (+ and 8 to 15 digits) or a 10-digit US number",
        )
    };
    let mut compact = String::with_capacity(value.len());
    for (i, c) in value.trim().chars().enumerate() {
        match c {
            '0'..='9' => compact.push(c),
            '+' if i == 0 => compact.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(err()),
        }
    }
    let digits = if let Some(rest) = compact.strip_prefix('+') {
        rest.to_string()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_string()
    } else if compact.len() == 10 {
        format!("1{compact}")
    } else if compact.len() == 11 && compact.starts_with('1') {
        compact
    } else {
        return Err(err());
    };
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(err());
    }
    Ok(format!("+{digits}"))
}

/// Normalises an optional phone number in place.
pub fn opt_phone(field: &str, value: &mut Option<String>) -> StoreResult<()> {
    if let Some(v) = value {
        *v = phone(field, v)?;
    }
    Ok(())
}

/// A JSON value that, when present, must be an object.
pub fn opt_json_object(field: &str, value: &Option<serde_json::Value>) -> StoreResult<()> {
    match value {
        Some(v) if !v.is_object() => Err(StoreError::invalid(field, "must be a JSON object")),
        _ => Ok(()),
    }
}

/// No text of the record, inside JSON documents included, holds the NUL character, which
/// PostgreSQL cannot store in TEXT or JSONB: refused alike on every backend.
pub fn no_nul(record: &crate::value::Record) -> StoreResult<()> {
    fn json_has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(json_has_nul),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
            _ => false,
        }
    }
    for (name, value) in &record.values {
        let bad = match value {
            crate::value::Value::Text(s) => s.contains('\0'),
            crate::value::Value::TextArray(a) => a.iter().any(|s| s.contains('\0')),
            crate::value::Value::Json(j) => json_has_nul(j),
            _ => false,
        };
        if bad {
            return Err(StoreError::invalid(*name, "must not contain the NUL character (U+0000)"));
        }
    }
    Ok(())
}

/// The largest magnitude a number inside a JSON document may have.
pub const JSON_NUMBER_LIMIT: f64 = 1e308;

/// Every number inside the record's JSON documents is below [`JSON_NUMBER_LIMIT`] in magnitude:
/// PostgreSQL keeps JSONB numbers exactly and writes one near `f64::MAX` back as a 309-digit
/// integer that rounds past the largest double when read, so such a row could be stored but
/// never read again. Refused alike on every backend, naming the path of the number.
pub fn json_numbers(record: &crate::value::Record) -> StoreResult<()> {
    fn too_big(v: &serde_json::Value, path: &mut String) -> bool {
        match v {
            serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f.abs() >= JSON_NUMBER_LIMIT),
            serde_json::Value::Array(a) => a.iter().enumerate().any(|(i, x)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let bad = too_big(x, path);
                if !bad {
                    path.truncate(len);
                }
                bad
            }),
            serde_json::Value::Object(o) => o.iter().any(|(k, x)| {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                let bad = too_big(x, path);
                if !bad {
                    path.truncate(len);
                }
                bad
            }),
            _ => false,
        }
    }
    for (name, value) in &record.values {
        if let crate::value::Value::Json(j) = value {
            let mut path = name.to_string();
            if too_big(j, &mut path) {
                return Err(StoreError::invalid(path, "numbers in JSON must be smaller than 1e308 in magnitude"));
            }
        }
    }
    Ok(())
}

/// The words of the one rule for dates and timestamps, wherever they come from.
pub const YEAR_RULE: &str =
    "must be an RFC 3339 timestamp or date with a year from 1 to 9999 (e.g. 2026-11-25T10:00:00Z)";

/// Every timestamp and date of a row has a year from 1 to 9999: what every backend stores and
/// RFC 3339 writes (year 0 parses but is not a year; 10000 does not parse at all).
pub fn years_in_range(record: &crate::value::Record) -> StoreResult<()> {
    use chrono::Datelike;
    for (name, value) in &record.values {
        let year = match value {
            crate::value::Value::Timestamp(t) => t.year(),
            crate::value::Value::Date(d) => d.year(),
            _ => continue,
        };
        if !(1..=9999).contains(&year) {
            return Err(StoreError::invalid(*name, YEAR_RULE));
        }
    }
    Ok(())
}

/// Every element of a text array is non-empty and at most `max` characters.
pub fn text_items(field: &str, items: &[String], max: usize) -> StoreResult<()> {
    for (i, item) in items.iter().enumerate() {
        required_text(&format!("{field}[{i}]"), item, max)?;
    }
    Ok(())
}

#[cfg(test)]
mod year_tests {
    use super::*;
    use crate::value::{Record, Value};

    #[test]
    fn years_run_from_1_to_9999() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let rec = |t| Record { values: vec![("message_timestamp", Value::Timestamp(t))] };
        assert!(years_in_range(&rec(at("0001-01-01T00:00:00Z"))).is_ok());
        assert!(years_in_range(&rec(at("9999-12-31T23:59:59Z"))).is_ok());
        let err = years_in_range(&rec(at("0000-06-01T00:00:00Z"))).unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid { field, rule } if field == "message_timestamp" && rule == YEAR_RULE)
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_too_large_to_read_back_are_refused_by_path() {
        let rec =
            |j: serde_json::Value| crate::value::Record { values: vec![("metadata", crate::value::Value::Json(j))] };
        assert!(super::json_numbers(&rec(serde_json::json!({"n": 1e307, "m": [-1.5e300, 5e-324]}))).is_ok());
        let err = super::json_numbers(&rec(serde_json::json!({"a": {"b": [1, 1.7976931348623157e308]}}))).unwrap_err();
        assert_eq!(err.field(), Some("metadata.a.b[1]"));
        assert!(super::json_numbers(&rec(serde_json::json!(-1e308))).is_err());
    }

    use super::*;
    use std::str::FromStr;

    #[test]
    fn phone_numbers_normalise_to_e164() {
        assert_eq!(phone("p", "+1 (757) 555-0100").unwrap(), "+17575550100");
        assert_eq!(phone("p", "757.555.0100").unwrap(), "+17575550100");
        assert_eq!(phone("p", "1-757-555-0100").unwrap(), "+17575550100");
        assert_eq!(phone("p", "0044 20 7946 0958").unwrap(), "+442079460958");
        for bad in ["555-0100", "+1234", "+1234567890123456", "call me", "+0123456789", "757 555 0100 x12", ""] {
            let err = phone("primary_phone", bad).unwrap_err();
            assert_eq!(err.field(), Some("primary_phone"), "{bad}");
        }
    }

    #[test]
    fn decimals_are_checked_not_rounded() {
        let mut d = Decimal::from_str("85").unwrap();
        money("price", &mut d).unwrap();
        assert_eq!(d.to_string(), "85.00");
        let mut d = Decimal::from_str("1.005").unwrap();
        assert!(money("price", &mut d).unwrap_err().to_string().contains("2 decimal places"));
        let mut d = Decimal::from_str("100000000.00").unwrap();
        assert!(money("price", &mut d).is_err());
        let mut d = Decimal::from_str("99999999.99").unwrap();
        money("price", &mut d).unwrap();
        let mut d = Decimal::from_str("-0.01").unwrap();
        assert!(money("price", &mut d).unwrap_err().to_string().contains(">= 0"));
        let mut c = Decimal::from_str("1.01").unwrap();
        assert!(confidence("confidence_score", &mut c).is_err());
        let mut c = Decimal::from_str("0.850").unwrap();
        confidence("confidence_score", &mut c).unwrap();
        assert_eq!(c.to_string(), "0.85");
    }

    #[test]
    fn slugs_currencies_and_emails() {
        slug("slug", "faucet-repair-2", 100).unwrap();
        for bad in ["", "Faucet", "a--b", "-a", "a-", "a_b", "ä"] {
            assert!(slug("slug", bad, 100).is_err(), "{bad}");
        }
        currency("currency", "USD").unwrap();
        assert!(currency("currency", "usd").is_err());
        let mut e = " Ann@Example.com ".to_string();
        email("primary_email", &mut e).unwrap();
        assert_eq!(e, "Ann@Example.com");
        for bad in ["ann", "ann@", "@x.com", "a@b", "a b@x.com", "a@x@y.com"] {
            assert!(email("primary_email", &mut bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_count_characters() {
        max_len("f", &"é".repeat(100), 100).unwrap();
        assert!(max_len("f", &"é".repeat(101), 100).is_err());
    }
}
