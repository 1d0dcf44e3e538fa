//! Dated payload versions. Events are stored in the newest format; each
//! endpoint is pinned to a version and gets its events rendered for that
//! version when they are sent.
//!
//! To add a version: append its date to [`VERSIONS`] and append to
//! [`DOWNGRADES`] the step that turns the new format into the previous one
//! (the data, and the JSON Schema that describes it).

use super::EventType;
use serde_json::{Map, Value};

/// Every version, oldest first. The last one is the format events are stored in.
pub const VERSIONS: &[&str] = &["2025-06-01", "2026-09-01"];

/// Turns one version's data, and the schema of that data, into the previous version's.
pub(crate) struct Downgrade {
    pub data: fn(EventType, Map<String, Value>) -> Map<String, Value>,
    /// Works on the data schema's `properties` and `required` list (schemas
    /// are served by the server only, so the browser build never reads it).
    #[cfg_attr(not(feature = "runtime"), allow(dead_code))]
    pub schema: fn(EventType, &mut Map<String, Value>, &mut Vec<String>),
}

/// `DOWNGRADES[i]` turns data of `VERSIONS[i + 1]` into data of `VERSIONS[i]`.
pub(crate) const DOWNGRADES: &[Downgrade] = &[Downgrade {
    data: to_2025_06_01,
    schema: schema_to_2025_06_01,
}];

/// The index of `version` in [`VERSIONS`], or a message listing the known ones.
pub(crate) fn position(version: &str) -> Result<usize, String> {
    VERSIONS.iter().position(|v| *v == version).ok_or_else(|| {
        format!(
            "unknown payload version `{version}`; known: {}",
            VERSIONS.join(", ")
        )
    })
}

pub fn latest() -> &'static str {
    VERSIONS[VERSIONS.len() - 1]
}

pub fn is_known(version: &str) -> bool {
    VERSIONS.contains(&version)
}

/// What changed in each version, for the portal's version picker and the README.
pub fn summary(version: &str) -> &'static str {
    match version {
        "2025-06-01" => {
            "Flat fields: `amount` in minor units with a separate `currency`, and `response_code` / `response_message`."
        }
        "2026-09-01" => {
            "Money as `{ value, currency }` objects and the processor's answer as `response: { code, message }`."
        }
        _ => "",
    }
}

/// Renders stored (newest-format) `data` for `version`.
pub fn render(event_type: EventType, data: &Value, version: &str) -> Result<Value, String> {
    let target = position(version)?;
    let Value::Object(mut map) = data.clone() else {
        return Ok(data.clone());
    };
    for step in (target..DOWNGRADES.len()).rev() {
        map = (DOWNGRADES[step].data)(event_type, map);
    }
    Ok(Value::Object(map))
}

/// 2026-09-01 → 2025-06-01: flatten money objects and the response object.
fn to_2025_06_01(_: EventType, data: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(data.len() + 2);
    for (key, value) in data {
        match (key.as_str(), value) {
            ("response", Value::Object(mut response)) => {
                out.insert(
                    "response_code".into(),
                    response.remove("code").unwrap_or(Value::Null),
                );
                out.insert(
                    "response_message".into(),
                    response.remove("message").unwrap_or(Value::Null),
                );
            }
            (_, Value::Object(mut money))
                if money.contains_key("value") && money.contains_key("currency") =>
            {
                let amount_key = if key == "amount" {
                    key.clone()
                } else {
                    format!("{key}_amount")
                };
                out.insert(amount_key, money.remove("value").unwrap_or(Value::Null));
                out.insert(
                    "currency".into(),
                    money.remove("currency").unwrap_or(Value::Null),
                );
            }
            (_, value) => {
                out.insert(key, value);
            }
        }
    }
    out
}

/// The same flattening on the schema: a money property becomes its amount
/// (and the shared `currency`), `response` becomes its two fields.
fn schema_to_2025_06_01(
    _: EventType,
    properties: &mut Map<String, Value>,
    required: &mut Vec<String>,
) {
    let old = std::mem::take(properties);
    let was_required: Vec<String> = std::mem::take(required);
    let mut keep = |name: String, schema: Value, req: bool| {
        if req && !required.contains(&name) {
            required.push(name.clone());
        }
        properties.insert(name, schema);
    };
    for (key, schema) in old {
        let req = was_required.contains(&key);
        let inner = schema.get("properties").cloned().unwrap_or(Value::Null);
        if key == "response" && inner.get("code").is_some() {
            keep("response_code".into(), inner["code"].clone(), req);
            keep("response_message".into(), inner["message"].clone(), req);
        } else if inner.get("value").is_some() && inner.get("currency").is_some() {
            let amount_key = if key == "amount" {
                key.clone()
            } else {
                format!("{key}_amount")
            };
            let mut amount = inner["value"].clone();
            if let (Some(obj), Some(desc)) = (amount.as_object_mut(), schema.get("description")) {
                obj.insert("description".into(), desc.clone());
            }
            keep(amount_key, amount, req);
            keep("currency".into(), inner["currency"].clone(), req);
        } else {
            keep(key, schema, req);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_version_but_the_first_has_a_downgrade() {
        assert_eq!(DOWNGRADES.len(), VERSIONS.len() - 1);
        assert!(VERSIONS.windows(2).all(|w| w[0] < w[1]), "dates ascend");
        for v in VERSIONS {
            assert!(!summary(v).is_empty(), "{v} needs a summary");
        }
    }

    #[test]
    fn latest_is_unchanged_and_older_is_flat() {
        let data = crate::events::tests::payin_json();
        assert_eq!(
            render(EventType::PayinSucceeded, &data, latest()).unwrap(),
            data
        );
        let old = render(EventType::PayinSucceeded, &data, "2025-06-01").unwrap();
        assert_eq!(old["amount"], json!(1999));
        assert_eq!(old["currency"], json!("EUR"));
        assert_eq!(old["response_code"], json!("00"));
        assert_eq!(old["response_message"], json!("Approved"));
        assert!(old.get("response").is_none());
        assert_eq!(old["transaction_id"], json!("txn_123"));
    }

    #[test]
    fn balance_amounts_keep_their_names() {
        let data = json!({
            "balance_id": "bal_1",
            "available": { "value": 500, "currency": "GBP" },
            "threshold": { "value": 1000, "currency": "GBP" },
            "response": { "code": "below_threshold", "message": "Balance below threshold" },
            "observed_at": "2026-11-28T14:05:00Z"
        });
        let old = render(EventType::BalanceThresholdWarning, &data, "2025-06-01").unwrap();
        assert_eq!(old["available_amount"], json!(500));
        assert_eq!(old["threshold_amount"], json!(1000));
        assert_eq!(old["currency"], json!("GBP"));
    }

    #[test]
    fn unknown_versions_are_refused() {
        assert!(
            render(EventType::ApiError, &json!({}), "2024-01-01")
                .unwrap_err()
                .contains("2025-06-01")
        );
    }
}
