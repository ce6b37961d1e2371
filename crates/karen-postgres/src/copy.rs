//! PostgreSQL's fastest bulk path: rows of an entity encoded in `COPY ... FROM STDIN` text
//! format. karen's `insert_many` sends them through COPY (docs/performance.md measured the
//! multi-row INSERT at 0.45–0.76 of COPY); the benchmark's raw side prepares its payload here too.

use chrono::SecondsFormat;
use karen_core::{Entity, Value};

/// `COPY table (columns) FROM STDIN` for `E`, columns in field order.
pub fn copy_statement<E: Entity>() -> String {
    format!("COPY {} ({}) FROM STDIN", E::KIND.table(), crate::rows::sql::<E>().columns)
}

/// The COPY text-format payload of `rows`: one line a row, tab-separated, `\N` for null.
pub fn copy_payload<E: Entity>(rows: &[E]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 256);
    for row in rows {
        for (i, (_, v)) in row.to_record().values.into_iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            push_value(&mut out, v);
        }
        out.push(b'\n');
    }
    out
}

fn push_value(out: &mut Vec<u8>, v: Value) {
    let text = match v {
        Value::Null => return out.extend_from_slice(b"\\N"),
        Value::Uuid(u) => u.hyphenated().to_string(),
        Value::Text(s) => s,
        Value::Bool(b) => (if b { "t" } else { "f" }).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Timestamp(t) => t.to_rfc3339_opts(SecondsFormat::Micros, true),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::Json(j) => j.to_string(),
        Value::TextArray(items) => {
            // An array literal: every element quoted, `"` and `\` escaped inside it.
            let quoted: Vec<String> =
                items.iter().map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))).collect();
            format!("{{{}}}", quoted.join(","))
        }
    };
    // COPY's own escapes: the backslash, and the characters that separate fields and rows.
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use karen_core::model::Service;

    #[test]
    fn text_format_escapes_what_copy_reads_specially() {
        let s = Service {
            name: "Tab\there\\back\nline".into(),
            keywords: vec!["say \"hi\"".into(), "a,b{c}".into(), "back\\slash".into()],
            ..Default::default()
        };
        let line = String::from_utf8(copy_payload(&[s])).unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "one line a row: {line:?}");
        assert!(line.contains("\tTab\\there\\\\back\\nline\t"), "{line:?}");
        assert!(line.contains(r#"{"say \\"hi\\"","a,b{c}","back\\\\slash"}"#), "{line:?}");
        assert!(line.contains("\t\\N\t"), "nulls are \\N: {line:?}");
        assert_eq!(line.trim_end().split('\t').count(), Service::FIELDS.len());
    }
}
