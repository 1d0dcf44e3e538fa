//! JSON Schemas (draft 2020-12) of what merchants receive: one per event type
//! and payload version. The newest version's schema is generated from the
//! catalog's own types, and older ones by the same downgrade steps that render
//! older payloads, so a schema cannot drift from what is sent.

use super::EventType;
use super::data;
use super::money::{Currency, iso_4217_codes};
use super::timestamp::Timestamp;
use super::versions::{self, DOWNGRADES, VERSIONS};
use crate::mode::Mode;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};
use std::borrow::Cow;

impl JsonSchema for Currency {
    fn schema_name() -> Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "ISO 4217 currency code.",
            "enum": iso_4217_codes().collect::<Vec<_>>(),
        })
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 time, e.g. 2026-11-28T14:05:00Z.",
        })
    }
}

/// The schema of `event_type`'s data in the newest format.
fn latest_data_schema(event_type: EventType) -> Value {
    fn of<T: JsonSchema>() -> Value {
        let generator = SchemaSettings::draft2020_12()
            .with(|s| s.inline_subschemas = true)
            .into_generator();
        let mut value = generator.into_root_schema_for::<T>().to_value();
        if let Some(obj) = value.as_object_mut() {
            obj.remove("$schema");
            obj.remove("title");
        }
        value
    }
    let mut schema = match event_type {
        EventType::PayinSucceeded | EventType::PayinFailed => of::<data::Payin>(),
        EventType::PayoutUpdated => of::<data::Payout>(),
        EventType::RefundUpdated => of::<data::Refund>(),
        EventType::ApiError => of::<data::ApiError>(),
        EventType::BalanceThresholdWarning => of::<data::BalanceThresholdWarning>(),
    };
    // One struct serves both pay-in types; each type allows one status.
    let status = match event_type {
        EventType::PayinSucceeded => Some("succeeded"),
        EventType::PayinFailed => Some("failed"),
        _ => None,
    };
    if let Some(status) = status {
        schema["properties"]["status"] = json!({ "const": status });
    }
    schema
}

/// The schema of `event_type`'s data as rendered for `version`.
pub fn data_schema(event_type: EventType, version: &str) -> Result<Value, String> {
    let target = versions::position(version)?;
    let mut schema = latest_data_schema(event_type);
    let mut properties = match schema.get_mut("properties").map(Value::take) {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    let mut required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for step in (target..DOWNGRADES.len()).rev() {
        (DOWNGRADES[step].schema)(event_type, &mut properties, &mut required);
    }
    schema["properties"] = Value::Object(properties);
    schema["required"] = json!(required);
    Ok(schema)
}

/// The schema of the whole request body a merchant receives for
/// `event_type` at `version`: the envelope with its data.
pub fn event_schema(event_type: EventType, version: &str) -> Result<Value, String> {
    let data = data_schema(event_type, version)?;
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_path(event_type, version),
        "title": format!("{event_type} ({version})"),
        "description": event_type.description(),
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "type", "api_version", "created_at", "mode", "data"],
        "properties": {
            "id": {
                "type": "string",
                "pattern": "^evt_[A-Za-z0-9]+$",
                "description": "The event id; also sent as the webhook-id header and the same on every retry."
            },
            "type": { "const": event_type.as_str() },
            "api_version": { "const": version },
            "created_at": Timestamp::json_schema(&mut SchemaGenerator::default()).to_value(),
            "mode": {
                "enum": Mode::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "description": "sandbox events only ever reach sandbox endpoints, live only live ones."
            },
            "data": data,
            "test": {
                "const": true,
                "description": "Present only on test events (send test event, readiness checks): sample data with no real payment, payout or refund behind it."
            },
        }
    }))
}

/// Where the server serves a schema.
pub fn schema_path(event_type: EventType, version: &str) -> String {
    format!("/schemas/{version}/{event_type}.json")
}

/// Every (version, type) pair that has a schema.
pub fn all() -> impl Iterator<Item = (&'static str, EventType)> {
    VERSIONS
        .iter()
        .flat_map(|v| EventType::ALL.into_iter().map(move |t| (*v, t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_version_schema_is_flat() {
        let s = data_schema(EventType::BalanceThresholdWarning, "2025-06-01").unwrap();
        let props = s["properties"].as_object().unwrap();
        for key in [
            "available_amount",
            "threshold_amount",
            "currency",
            "response_code",
        ] {
            assert!(props.contains_key(key), "{key} in {props:?}");
        }
        assert!(!props.contains_key("available"));
        assert!(!props.contains_key("response"));
        let required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(required.contains(&"currency") && required.contains(&"response_message"));
    }

    #[test]
    fn unknown_version_has_no_schema() {
        assert!(event_schema(EventType::ApiError, "2020-01-01").is_err());
    }
}
