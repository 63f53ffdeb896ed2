//! U+0000 in input. PostgreSQL stores it neither in `text` nor in `jsonb`,
//! so no store takes it: a NUL anywhere in a record's text (a field, or a
//! key or string value of its properties at any depth) rejects the record
//! at parse time, with the same answer on SQLite and PostgreSQL.

use serde_json::{Map, Value};

use super::{RawEvent, RawIdentity, RawMessage, RawProfile, RawSpend};
use crate::pipeline::records::FieldError;

const REASON: &str = "contains a NUL character (U+0000), which cannot be stored";

/// The NULs found so far, one error per field.
#[derive(Default)]
pub(super) struct Nuls(Vec<FieldError>);

impl Nuls {
    fn text(&mut self, field: &str, value: &str) {
        if value.contains('\0') {
            self.0.push(FieldError {
                field: field.to_owned(),
                reason: REASON.into(),
            });
        }
    }

    fn opt(&mut self, field: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.text(field, v);
        }
    }

    fn identity(&mut self, raw: &RawIdentity) {
        self.opt("customer_id", &raw.external_id);
        self.opt("phone", &raw.phone);
        self.opt("email", &raw.email);
        self.opt("telegram_id", &raw.telegram_id);
        self.opt("telegram_username", &raw.telegram_username);
    }

    /// Walks properties to any depth; fields are named by their path
    /// (`properties.items[2].sku`), with a NUL in a key shown as `\u0000`.
    fn object(&mut self, path: &str, map: &Map<String, Value>) {
        for (key, value) in map {
            let field = format!("{path}.{}", key.replace('\0', "\\u0000"));
            self.text(&field, key);
            if !key.contains('\0') {
                self.value(&field, value);
            }
        }
    }

    fn value(&mut self, path: &str, value: &Value) {
        match value {
            Value::String(s) => self.text(path, s),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(&format!("{path}[{i}]"), item);
                }
            }
            Value::Object(map) => self.object(path, map),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// The parse result, or its errors with the NULs first; a field with a
    /// NUL is reported once, for the NUL.
    pub(super) fn merge<T>(self, parsed: Result<T, Vec<FieldError>>) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            return parsed;
        }
        let mut errors = self.0;
        if let Err(others) = parsed {
            let others: Vec<FieldError> = others
                .into_iter()
                .filter(|o| !errors.iter().any(|e| e.field == o.field))
                .collect();
            errors.extend(others);
        }
        Err(errors)
    }
}

pub(super) fn event(raw: &RawEvent) -> Nuls {
    let mut n = Nuls::default();
    n.opt("event_id", &raw.event_id);
    n.identity(&raw.customer);
    n.text("kind", &raw.kind);
    n.text("occurred_at", &raw.occurred_at);
    n.opt("amount", &raw.amount);
    n.opt("currency", &raw.currency);
    n.opt("channel", &raw.channel);
    n.object("properties", &raw.properties);
    n
}

pub(super) fn message(raw: &RawMessage) -> Nuls {
    let mut n = Nuls::default();
    n.text("channel", &raw.channel);
    n.opt("external_id", &raw.external_id);
    n.opt("thread", &raw.thread);
    n.identity(&raw.customer);
    n.text("text", &raw.text);
    n.opt("subject", &raw.subject);
    n.opt("received_at", &raw.received_at);
    n
}

pub(super) fn profile(raw: &RawProfile) -> Nuls {
    let mut n = Nuls::default();
    n.identity(&raw.customer);
    n.opt("name", &raw.name);
    n
}

pub(super) fn spend(raw: &RawSpend) -> Nuls {
    let mut n = Nuls::default();
    n.text("channel", &raw.channel);
    n.text("period_start", &raw.period_start);
    n.text("period_end", &raw.period_end);
    n.text("amount", &raw.amount);
    n.opt("currency", &raw.currency);
    n
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{IngestPolicy, RawEvent, RawIdentity, RawMessage, RawProfile};
    use crate::domain::Timestamp;

    fn raw_event(properties: serde_json::Value) -> RawEvent {
        RawEvent {
            event_id: Some("E1".into()),
            customer: RawIdentity {
                external_id: Some("C1".into()),
                ..Default::default()
            },
            kind: "page_view".into(),
            occurred_at: "2026-01-05T10:00:00+03:00".into(),
            channel: Some("web".into()),
            properties: properties.as_object().cloned().unwrap_or_default(),
            ..Default::default()
        }
    }

    fn fields(raw: RawEvent) -> Vec<String> {
        match super::super::event(raw, &IngestPolicy::default(), Timestamp::now()) {
            Ok(_) => Vec::new(),
            Err(errs) => errs.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_nul_in_nested_properties_names_its_path() {
        let raw = raw_event(json!({
            "page": "/ok",
            "items": [{ "sku": "A1" }, { "sku": "B\u{0}2" }],
            "meta": { "ref\u{0}": "x", "deep": { "note": "a\u{0}" } },
        }));
        let mut got = fields(raw);
        got.sort();
        assert_eq!(
            got,
            [
                "properties.items[1].sku",
                "properties.meta.deep.note",
                "properties.meta.ref\\u0000",
            ]
        );
    }

    #[test]
    fn clean_properties_pass() {
        let raw = raw_event(json!({ "items": [{ "sku": "A1", "n": 2 }], "ok": null }));
        assert!(fields(raw).is_empty());
    }

    #[test]
    fn a_nul_in_a_field_is_reported_once_beside_other_errors() {
        let mut raw = raw_event(json!({}));
        raw.customer.external_id = Some("C\u{0}1".into());
        raw.kind = "purchase".into();
        assert_eq!(fields(raw), ["customer_id", "kind"]);
    }

    #[test]
    fn messages_and_profiles_refuse_nul_too() {
        let m = RawMessage {
            channel: "widget".into(),
            customer: RawIdentity {
                external_id: Some("C1".into()),
                ..Default::default()
            },
            text: "hello\u{0}".into(),
            subject: Some("re\u{0}".into()),
            ..Default::default()
        };
        let errs = super::super::message(m, &IngestPolicy::default(), Timestamp::now())
            .expect_err("a NUL in the text");
        let got: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(got, ["text", "subject"]);
        let p = RawProfile {
            customer: RawIdentity {
                external_id: Some("C1".into()),
                ..Default::default()
            },
            name: Some("Ann\u{0}".into()),
        };
        let errs =
            super::super::profile(p, &IngestPolicy::default()).expect_err("a NUL in the name");
        assert_eq!(errs[0].field, "name");
    }
}
