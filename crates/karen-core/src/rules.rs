//! A field's rule, stated once: each entity lists its fields' rules with [`field_rules!`], which
//! makes both the checks its `validate` runs and the table ([`crate::Entity::RULES`]) from which
//! the OpenAPI document states the same rule as JSON Schema ([`Rule::schema`]), so what the
//! document calls valid is what karen accepts (docs/decisions.md K57).

use rust_decimal::Decimal;
use serde_json::{json, Value as Json};

use crate::error::{StoreError, StoreResult};
use crate::validate as v;

/// One rule of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Text that is not empty or only whitespace, of at most this many characters.
    Text(usize),
    /// Text of at most this many characters.
    MaxLen(usize),
    /// A list whose every item is [`Rule::Text`] of this many characters.
    Items(usize),
    /// An e-mail address ([`v::email`]).
    Email,
    /// A phone number, normalised to E.164 ([`v::phone`]).
    Phone,
    /// A JSON object.
    Object,
    /// An integer from `min` to `max`.
    Int(i32, i32),
    /// A slug of at most this many characters ([`v::slug`]).
    Slug(usize),
    /// An ISO 4217 currency code.
    Currency,
    /// `DECIMAL(precision, scale)`.
    Decimal(u32, u32),
    /// `DECIMAL(precision, scale)` greater than 0.
    Positive(u32, u32),
    /// An amount of money: `DECIMAL(10,2)`, not negative.
    Money,
    /// A confidence: `DECIMAL(3,2)` from 0 to 1.
    Confidence,
    /// A media type, `type/subtype` without parameters, normalised to lower case.
    MediaType,
    /// A SHA-256 digest, `sha256:` and 64 lower-case hex digits.
    Checksum,
    /// A plain file name ([`crate::model::attachment::file_name`]).
    FileName,
    /// The form of a webhook's URL ([`crate::model::webhook::check_webhook_url`]).
    WebhookUrl,
    /// A preference's value: `{"value": ..., "metadata": {...}}`, nothing else (what the value
    /// may be for its key is the taxonomy's rule, [`crate::taxonomy::validate`]).
    PreferenceValue,
}

/// The characters Rust's `char::is_whitespace` (Unicode's White_Space) counts, as a regular
/// expression class body that ECMA-262 and Python read alike.
const WHITESPACE: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Whitespace and control characters (`char::is_control`: C0, DEL and C1).
const SPACE_OR_CONTROL: &str = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// The bidirectional controls a file name may not hold.
const BIDI: &str = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069";

/// Text without the NUL character, which no backend stores ([`v::no_nul`]).
pub const NUL_FREE: &str = r"^[^\x00]*$";

/// A phone number as [`v::phone`] reads it: digits with spaces, hyphens, dots or parentheses,
/// and a leading `+` (8 to 15 digits, the first not 0), a leading `00` (the same after it), 10
/// digits not starting with `00` (a North American number) or 11 starting with 1.
fn phone_pattern() -> String {
    let s = r"[ \-.()]*";
    let d = |n: &str| format!("(?:[0-9]{s}){n}");
    format!(
        "^(?:\\+{s}[1-9]{s}{international}|{s}0{s}0{s}[1-9]{s}{international}|{s}(?:[1-9]{s}[0-9]|0{s}[1-9]){s}{eight}|{s}1{s}{ten})$",
        international = d("{7,14}"),
        eight = d("{8}"),
        ten = d("{10}"),
    )
}

impl Rule {
    /// The JSON Schema keywords that state this rule, merged into the field's own schema (for
    /// a list, into its items'). Text patterns also exclude NUL.
    pub fn schema(&self) -> Json {
        let text = |max: usize| {
            json!({"minLength": 1, "maxLength": max,
                   "pattern": format!("^[^\\x00]*[^\\x00{WHITESPACE}][^\\x00]*$")})
        };
        match *self {
            Rule::Text(max) => text(max),
            Rule::MaxLen(max) => json!({"maxLength": max, "pattern": NUL_FREE}),
            Rule::Items(max) => json!({"items": text(max)}),
            Rule::Email => {
                let x = SPACE_OR_CONTROL;
                json!({"maxLength": 255,
                       "pattern": format!("^[^@{x}]+@[^@.{x}][^@{x}]*\\.[^@{x}]*[^@.{x}]$")})
            }
            Rule::Phone => json!({"pattern": phone_pattern()}),
            Rule::Object => json!({"type": "object"}),
            Rule::Int(min, max) => json!({"minimum": min, "maximum": max}),
            Rule::Slug(max) => json!({"maxLength": max, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}),
            Rule::Currency => json!({"pattern": "^[A-Z]{3}$"}),
            Rule::Decimal(precision, scale) => decimal_schema(precision, scale, false, None),
            Rule::Positive(precision, scale) => positive_schema(precision, scale),
            Rule::Money => decimal_schema(10, 2, true, None),
            Rule::Confidence => decimal_schema(3, 2, true, Some(1)),
            Rule::MediaType => {
                json!({"maxLength": 100, "pattern": "^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$"})
            }
            Rule::Checksum => json!({"pattern": "^sha256:[0-9a-f]{64}$"}),
            Rule::FileName => json!({"minLength": 1, "maxLength": 255, "pattern": format!(
                r"^(?!\.\.?$)(?=.*[^{WHITESPACE}])[^/\\\x00-\x1f\x7f-\x9f{BIDI}]+$"
            )}),
            Rule::WebhookUrl => {
                let x = SPACE_OR_CONTROL;
                json!({"maxLength": crate::model::webhook::MAX_WEBHOOK_URL,
                       "pattern": format!("^[Hh][Tt][Tt][Pp][Ss]?://[^@/?#:{x}][^@/?#{x}]*(?:[/?#][^{x}]*)?$")})
            }
            Rule::PreferenceValue => json!({
                "type": "object", "required": ["value"], "additionalProperties": false,
                "properties": {"value": {}, "metadata": {"anyOf": [{"type": "object"}, {"type": "null"}]}}
            }),
        }
    }
}

/// A decimal as a string (`"85.00"`) or a number: at most `precision - scale` integer digits
/// and `scale` places; not negative when `unsigned`; at most `max` (one digit) when given.
fn decimal_schema(precision: u32, scale: u32, unsigned: bool, max: Option<i64>) -> Json {
    let digits = precision - scale;
    let sign = if unsigned { "" } else { "-?" };
    let limit = 10i64.pow(digits);
    let step = 1.0 / 10f64.powi(scale as i32);
    let mut number = match max {
        Some(m) => json!({"type": "number", "maximum": m, "multipleOf": step}),
        None => json!({"type": "number", "exclusiveMaximum": limit, "multipleOf": step}),
    };
    if unsigned {
        number["minimum"] = json!(0);
    } else {
        number["exclusiveMinimum"] = json!(-limit);
    }
    let places = format!("(?:\\.[0-9]{{1,{scale}}})?");
    let pattern = match max {
        // A single-digit maximum `m`: a whole part below it with any places, or `m` itself
        // with zeros.
        Some(m) => format!("^(?:0*[0-{}]{places}|0*{m}(?:\\.0{{1,{scale}}})?)$", m - 1),
        None => format!("^{sign}[0-9]{{1,{digits}}}{places}$"),
    };
    let string = json!({"type": "string", "pattern": pattern});
    json!({"anyOf": [string, number], "type": null})
}

/// A decimal greater than 0 as a string or a number.
fn positive_schema(precision: u32, scale: u32) -> Json {
    let limit = 10i64.pow(precision - scale);
    json!({"anyOf": [
        {"type": "string", "pattern": positive_pattern(precision - scale, scale)},
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": limit,
         "multipleOf": 1.0 / 10f64.powi(scale as i32)}
    ], "type": null})
}

/// A decimal above 0 with at most `digits` whole digits and `scale` places: a whole part that
/// is not zero, or a zero one and places whose first non-zero digit is at some place `k`.
fn positive_pattern(digits: u32, scale: u32) -> String {
    let places = (0..scale).map(|k| format!("0{{{k}}}[1-9][0-9]{{0,{}}}", scale - k - 1)).collect::<Vec<_>>();
    format!("^(?:0*[1-9][0-9]{{0,{}}}(?:\\.[0-9]{{1,{scale}}})?|0*\\.(?:{}))$", digits - 1, places.join("|"))
}

/// A field value that rules apply to.
pub trait Checked {
    /// Checks (and for e-mail, phone and decimals, normalises) the value under `rule`.
    fn check(&mut self, field: &str, rule: Rule) -> StoreResult<()>;
}

fn not_for(field: &str, rule: Rule) -> StoreError {
    StoreError::invalid(field, format!("karen has no rule {rule:?} for this field's type"))
}

impl Checked for String {
    fn check(&mut self, field: &str, rule: Rule) -> StoreResult<()> {
        match rule {
            Rule::Text(max) => v::required_text(field, self, max),
            Rule::MaxLen(max) => v::max_len(field, self, max),
            Rule::Email => v::email(field, self),
            Rule::Phone => {
                *self = v::phone(field, self)?;
                Ok(())
            }
            Rule::Slug(max) => v::slug(field, self, max),
            Rule::Currency => v::currency(field, self),
            Rule::MediaType => {
                *self = crate::model::attachment::media_type(field, self)?;
                Ok(())
            }
            Rule::Checksum => crate::model::attachment::checksum(field, self),
            Rule::FileName => crate::model::attachment::file_name(field, self),
            Rule::WebhookUrl => crate::model::webhook::check_webhook_url(self),
            other => Err(not_for(field, other)),
        }
    }
}

impl Checked for Vec<String> {
    fn check(&mut self, field: &str, rule: Rule) -> StoreResult<()> {
        match rule {
            Rule::Items(max) => v::text_items(field, self, max),
            other => Err(not_for(field, other)),
        }
    }
}

impl Checked for i32 {
    fn check(&mut self, field: &str, rule: Rule) -> StoreResult<()> {
        match rule {
            Rule::Int(min, max) => v::int_range(field, *self, min, max),
            other => Err(not_for(field, other)),
        }
    }
}

impl Checked for Decimal {
    fn check(&mut self, field: &str, rule: Rule) -> StoreResult<()> {
        match rule {
            Rule::Decimal(precision, scale) => v::decimal(field, self, precision, scale),
            Rule::Positive(precision, scale) => {
                v::decimal(field, self, precision, scale)?;
                if *self <= Decimal::ZERO {
                    return Err(StoreError::invalid(field, "must be > 0"));
                }
                Ok(())
            }
            Rule::Money => v::money(field, self),
            Rule::Confidence => v::confidence(field, self),
            other => Err(not_for(field, other)),
        }
    }
}

impl Checked for serde_json::Value {
    fn check(&mut self, field: &str, rule: Rule) -> StoreResult<()> {
        match rule {
            Rule::Object if self.is_object() => Ok(()),
            Rule::Object => Err(StoreError::invalid(field, "must be a JSON object")),
            Rule::PreferenceValue => preference_value(field, self),
            other => Err(not_for(field, other)),
        }
    }
}

/// The shape of a preference's value ([`Rule::PreferenceValue`]).
pub(crate) fn preference_value(field: &str, value: &Json) -> StoreResult<()> {
    let obj = value
        .as_object()
        .ok_or_else(|| StoreError::invalid(field, "must be an object {\"value\": ..., \"metadata\": {...}}"))?;
    if let Some(extra) = obj.keys().find(|k| *k != "value" && *k != "metadata") {
        return Err(StoreError::invalid(
            format!("{field}.{extra}"),
            "is not allowed; preference_value holds only `value` and `metadata`",
        ));
    }
    if !obj.contains_key("value") {
        return Err(StoreError::invalid(format!("{field}.value"), "is required"));
    }
    match obj.get("metadata") {
        Some(meta) if !meta.is_object() && !meta.is_null() => {
            Err(StoreError::invalid(format!("{field}.metadata"), "must be an object"))
        }
        _ => Ok(()),
    }
}

/// An absent value breaks no rule.
impl<T: Checked> Checked for Option<T> {
    fn check(&mut self, field: &str, rule: Rule) -> StoreResult<()> {
        match self {
            Some(value) => value.check(field, rule),
            None => Ok(()),
        }
    }
}

/// States an entity's field rules once, inside its `impl Entity`: makes `RULES` (the table the
/// OpenAPI document reads) and `check_rules` (what `validate` runs first).
#[macro_export]
macro_rules! field_rules {
    ($($field:ident: $rule:expr),+ $(,)?) => {
        const RULES: &'static [(&'static str, $crate::rules::Rule)] = {
            #[allow(unused_imports)]
            use $crate::rules::Rule::*;
            &[$((stringify!($field), $rule)),+]
        };
        fn check_rules(&mut self) -> $crate::error::StoreResult<()> {
            #[allow(unused_imports)]
            use $crate::rules::Rule::*;
            $( $crate::rules::Checked::check(&mut self.$field, stringify!($field), $rule)?; )+
            Ok(())
        }
    };
}

/// `base` (a field's or parameter's own schema) with `rule` stated in it.
pub fn schema_of(mut base: Json, rule: Rule) -> Json {
    merge(&mut base, rule.schema());
    base
}

/// The schema of an entity whose fields' own schemas are in `schema`, with each field's rules of
/// `rules` merged in (for a nullable field, into its non-null branch).
pub fn apply_to_schema(schema: &mut Json, rules: &[(&str, Rule)]) {
    for (field, rule) in rules {
        let Some(property) = schema.pointer_mut(&format!("/properties/{field}")) else { continue };
        let target = match property.get_mut("anyOf") {
            Some(Json::Array(branches)) => match branches.iter_mut().find(|b| b["type"] != "null") {
                Some(b) => b,
                None => continue,
            },
            _ => property,
        };
        merge(target, rule.schema());
    }
}

/// Merges `extra`'s keywords into `target`: nested objects (a list's `items`) key by key; a
/// null value removes the keyword (a decimal's `anyOf` replaces its `type`).
fn merge(target: &mut Json, extra: Json) {
    let (Some(t), Json::Object(extra)) = (target.as_object_mut(), extra) else { return };
    for (key, value) in extra {
        match (t.get_mut(&key), value) {
            (_, Json::Null) => {
                t.remove(&key);
            }
            (Some(existing @ Json::Object(_)), value @ Json::Object(_)) => merge(existing, value),
            (_, value) => {
                t.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, s: &str) -> bool {
        // The patterns use only what Rust's regex reads the same way.
        regex::Regex::new(pattern).unwrap().is_match(s)
    }

    #[test]
    fn the_phone_pattern_accepts_what_the_rule_accepts() {
        let p = phone_pattern();
        for s in [
            "+17575550100",
            "+1 (757) 555-0100",
            "757-555-0100",
            "7575550100",
            "1 757 555 0100",
            "0044 20 7946 0958",
            "+44 20 7946 0958",
            "+123456789012345",
            "12345678",
            "0123456789",
            "+12345678",
        ] {
            assert_eq!(matches(&p, s), v::phone("p", s).is_ok(), "{s}");
        }
        for s in [
            "12345",
            "+0123456789",
            "0012345678",
            "757 555 010",
            "+1234567890123456",
            "+1-800-FLOWERS",
            "++1757555",
            "00 0123 4567 89",
            "(+1) 757",
            "",
            "0000000000",
        ] {
            assert_eq!(matches(&p, s), v::phone("p", s).is_ok(), "{s}");
        }
    }

    #[test]
    fn the_decimal_patterns_accept_what_the_rules_accept() {
        let positive = positive_pattern(2, 2);
        let money = Rule::Money.schema()["anyOf"][0]["pattern"].as_str().unwrap().to_string();
        let confidence = Rule::Confidence.schema()["anyOf"][0]["pattern"].as_str().unwrap().to_string();
        for s in [
            "1", "0.5", "0.05", "12.34", "99.99", "0", "0.00", "100", "0.001", "1.234", "-1", "00.10", "abc", "1.5",
            "1.00",
        ] {
            let parsed: Option<Decimal> = s.parse().ok();
            let ok = |rule: Rule| parsed.is_some_and(|mut d| d.check("x", rule).is_ok());
            assert_eq!(matches(&positive, s), ok(Rule::Positive(4, 2)), "positive {s}");
            assert_eq!(matches(&money, s), ok(Rule::Money), "money {s}");
            assert_eq!(matches(&confidence, s), ok(Rule::Confidence), "confidence {s}");
        }
    }

    #[test]
    fn the_email_and_text_patterns_accept_what_the_rules_accept() {
        let email = Rule::Email.schema()["pattern"].as_str().unwrap().to_string();
        for s in ["a@b.c", "dana@757handy.com", "a@b..c", "x@.b", "x@b.", "a b@c.d", "@b.c", "a@b", "a@@b.c", "é@ü.de"]
        {
            let mut value = s.to_string();
            assert_eq!(matches(&email, s), v::email("e", &mut value).is_ok(), "{s}");
        }
        let text = Rule::Text(10).schema()["pattern"].as_str().unwrap().to_string();
        for s in ["a", " a ", "", "   ", "\u{3000}", "\u{85}x", "\u{1c}"] {
            assert_eq!(matches(&text, s), v::required_text("t", s, 10).is_ok(), "{s:?}");
        }
    }
}
