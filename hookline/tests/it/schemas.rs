//! The published JSON Schemas accept every payload Hookline sends, in every
//! payload version, and refuse payloads that break the catalog.

use hookline::events::samples::sample_data;
use hookline::events::schema::{all, event_schema};
use hookline::events::{Envelope, EventType, Timestamp, versions};
use hookline::mode::Mode;
use serde_json::{Value, json};

fn envelope(t: EventType, version: &str) -> Value {
    let now = 1_795_835_107_042;
    let data = versions::render(t, &sample_data(t, now), version).unwrap();
    serde_json::to_value(Envelope {
        id: "evt_019ac0ffee0000000000000000000000".into(),
        event_type: t,
        api_version: version.into(),
        created_at: Timestamp::from_unix_ms(now),
        mode: Mode::Sandbox,
        data,
        test: false,
    })
    .unwrap()
}

fn validator(t: EventType, version: &str) -> jsonschema::Validator {
    let schema = event_schema(t, version).unwrap();
    jsonschema::draft202012::meta::validate(&schema)
        .unwrap_or_else(|e| panic!("{t} {version}: not a valid 2020-12 schema: {e}"));
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn every_sample_in_every_version_matches_its_schema() {
    let mut checked = 0;
    for (version, t) in all() {
        let payload = envelope(t, version);
        if let Err(e) = validator(t, version).validate(&payload) {
            panic!("{t} at {version}: {e}\n{payload:#}");
        }
        checked += 1;
    }
    assert_eq!(checked, versions::VERSIONS.len() * EventType::ALL.len());
}

#[test]
fn schemas_refuse_what_the_catalog_refuses() {
    let latest = versions::latest();
    let v = validator(EventType::PayinSucceeded, latest);
    let good = envelope(EventType::PayinSucceeded, latest);
    assert!(v.is_valid(&good));

    let mut bad = good.clone();
    bad["data"]["amount"]["currency"] = json!("EURO");
    assert!(!v.is_valid(&bad), "not an ISO 4217 code");

    let mut bad = good.clone();
    bad["data"]["amount"]["value"] = json!(12.5);
    assert!(!v.is_valid(&bad), "amounts are integers in minor units");

    let mut bad = good.clone();
    bad["data"]["status"] = json!("failed");
    assert!(
        !v.is_valid(&bad),
        "payin.succeeded carries status succeeded"
    );

    let mut bad = good.clone();
    bad["data"]
        .as_object_mut()
        .unwrap()
        .remove("transaction_id");
    assert!(!v.is_valid(&bad), "transaction_id is required");

    let mut bad = good.clone();
    bad["data"]["surprise"] = json!(1);
    assert!(!v.is_valid(&bad), "no unknown fields");

    // A test event says so; a real one leaves the marker out rather than send false.
    let mut test = good.clone();
    test["test"] = json!(true);
    assert!(v.is_valid(&test), "test events are marked");
    let mut bad = good.clone();
    bad["test"] = json!(false);
    assert!(!v.is_valid(&bad), "the marker is only ever true");

    let mut bad = good.clone();
    bad["api_version"] = json!("2025-06-01");
    assert!(!v.is_valid(&bad), "the schema is for one version");

    // The older version's flat format is not the newer one's.
    let old = validator(EventType::PayinSucceeded, "2025-06-01");
    assert!(!old.is_valid(&good));
    assert!(old.is_valid(&envelope(EventType::PayinSucceeded, "2025-06-01")));
}
