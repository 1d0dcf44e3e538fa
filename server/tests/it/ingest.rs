//! The internal ingest API over HTTP.

use crate::harness::{TestApp, spawn_app};
use hookline::backend_tests;
use hookline::clock::Clock;
use hookline::crypto::SecretBox;
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::mode::Mode;
use serde_json::{Value, json};

async fn merchant_with_endpoint(
    app: &TestApp,
    email: &str,
    types: &[EventType],
) -> (String, String) {
    let input = hookline::SignupInput {
        business_name: "Ingest Shop".into(),
        email: email.into(),
        password: crate::harness::PASSWORD.into(),
    };
    let merchant_id = hookline::accounts::sign_up(&app.db, &*app.clock, &input)
        .await
        .unwrap()
        .merchant_id
        .unwrap();
    let endpoint = hookline::endpoints::create(
        &app.db,
        &SecretBox::new(&[3u8; 32]),
        &*app.clock,
        &merchant_id,
        Mode::Live,
        &EndpointInput {
            url: "https://hooks.ingest.example/in".into(),
            event_types: types.iter().map(|t| t.as_str().to_owned()).collect(),
            ..EndpointInput::default()
        },
        EndpointRules::default(),
    )
    .await
    .unwrap();
    (merchant_id, endpoint.id)
}

fn event(merchant_id: &str, t: EventType, now: i64) -> Value {
    json!({ "merchant_id": merchant_id, "mode": "live", "type": t.as_str(), "data": sample_data(t, now) })
}

async fn problem(res: reqwest::Response) -> Value {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

backend_tests! {
    async fn publishes_and_fans_out(backend) {
        let app = spawn_app(backend).await;
        let (merchant, endpoint) = merchant_with_endpoint(&app, "a@acme.example", &[EventType::PayinSucceeded]).await;
        let res = app.publish("/internal/v1/events", &event(&merchant, EventType::PayinSucceeded, app.clock.now_ms()), None).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        let id = body["id"].as_str().unwrap();
        assert_eq!(body["type"], "payin.succeeded");
        assert_eq!(body["data"]["amount"]["value"], 4250);
        let deliveries = hookline::store::events::deliveries_of(&app.db, id).await.unwrap();
        assert_eq!(deliveries, vec![(endpoint, "pending".to_owned())]);
    }

    async fn refuses_without_the_token(backend) {
        let app = spawn_app(backend).await;
        let body = json!({});
        for auth in [None, Some("Bearer wrong-token"), Some("Basic abc")] {
            let mut req = reqwest::Client::new().post(app.url("/internal/v1/events")).json(&body);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{auth:?}");
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
        }
    }

    async fn every_validation_error_is_a_named_4xx(backend) {
        let app = spawn_app(backend).await;
        let (merchant, _) = merchant_with_endpoint(&app, "a@acme.example", &[EventType::RefundUpdated]).await;
        let now = app.clock.now_ms();
        let good = event(&merchant, EventType::RefundUpdated, now);
        let mut cases: Vec<(Value, &str)> = Vec::new();
        let mut v = good.clone(); v["merchant_id"] = json!("mer_unknown"); cases.push((v, "merchant_id"));
        let mut v = good.clone(); v["mode"] = json!("prod"); cases.push((v, "mode"));
        let mut v = good.clone(); v["type"] = json!("refund.maybe"); cases.push((v, "type"));
        let mut v = good.clone(); v["data"]["amount"]["currency"] = json!("EURO"); cases.push((v, "data.amount.currency"));
        let mut v = good.clone(); v["data"]["amount"]["value"] = json!(-5); cases.push((v, "data.amount.value"));
        let mut v = good.clone(); v["data"]["created_at"] = json!("yesterday"); cases.push((v, "data.created_at"));
        let mut v = good.clone(); v["extra"] = json!(true); cases.push((v, "extra"));
        let mut v = good.clone(); v.as_object_mut().unwrap().remove("data"); cases.push((v, "data"));
        for (body, field) in cases {
            let res = app.publish("/internal/v1/events", &body, None).await;
            assert_eq!(res.status(), 422, "{field}");
            let p = problem(res).await;
            let named = p["errors"].as_array().unwrap().iter().any(|e| e["field"].as_str().unwrap().contains(field) || e["message"].as_str().unwrap().contains(field));
            assert!(named, "{field} not named: {p}");
        }
        // Not JSON at all.
        let res = reqwest::Client::new().post(app.url("/internal/v1/events")).bearer_auth(&app.ingest_token)
            .header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(problem(res).await["title"], "Malformed JSON");
        // Too big.
        let mut huge = good.clone();
        huge["data"]["reason"] = json!("x".repeat(300 * 1024));
        let res = app.publish("/internal/v1/events", &huge, None).await;
        assert_eq!(res.status(), 413);
        // A bad idempotency key.
        let res = app.publish("/internal/v1/events", &good, Some("has spaces in it")).await;
        assert_eq!(res.status(), 422);
        assert!(problem(res).await["errors"][0]["field"] == "Idempotency-Key");
    }

    async fn concurrent_publishes_with_one_key_make_one_event(backend) {
        let app = spawn_app(backend).await;
        let (merchant, endpoint) = merchant_with_endpoint(&app, "a@acme.example", &[EventType::PayoutUpdated]).await;
        let body = event(&merchant, EventType::PayoutUpdated, app.clock.now_ms());
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (app, body) = (app.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let res = app.publish("/internal/v1/events", &body, Some("payout-51c3")).await;
                let status = res.status().as_u16();
                let replayed = res.headers().contains_key("idempotent-replayed");
                let json: Value = res.json().await.unwrap();
                (status, replayed, json["id"].as_str().unwrap().to_owned())
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut created = 0;
        for t in tasks {
            let (status, replayed, id) = t.await.unwrap();
            assert!(status == 201 || (status == 200 && replayed), "{status}");
            created += usize::from(status == 201);
            ids.insert(id);
        }
        assert_eq!((ids.len(), created), (1, 1));
        let id = ids.into_iter().next().unwrap();
        assert_eq!(hookline::store::events::deliveries_of(&app.db, &id).await.unwrap(), vec![(endpoint, "pending".to_owned())]);
    }

    async fn batches_are_checked_whole_then_stored(backend) {
        let app = spawn_app(backend).await;
        let (merchant, _) = merchant_with_endpoint(&app, "a@acme.example", &[EventType::ApiError]).await;
        let now = app.clock.now_ms();
        let mut bad = event(&merchant, EventType::ApiError, now);
        bad["data"]["http_status"] = json!(200);
        let body = json!({ "events": [event(&merchant, EventType::ApiError, now), bad] });
        let res = app.publish("/internal/v1/events/batch", &body, None).await;
        assert_eq!(res.status(), 422);
        assert_eq!(problem(res).await["errors"][0]["field"], "events[1].data.http_status");
        let mut modeless = event(&merchant, EventType::ApiError, now);
        modeless.as_object_mut().unwrap().remove("mode");
        let res = app.publish("/internal/v1/events/batch", &json!({ "events": [event(&merchant, EventType::ApiError, now), modeless] }), None).await;
        assert_eq!(res.status(), 422);
        assert_eq!(problem(res).await["errors"][0]["field"], "events[1].mode", "a missing field is named");
        assert_eq!(count_events(&app, &merchant).await, 0, "nothing stored from a refused batch");
        let mut twice: Vec<Value> = (0..3).map(|_| event(&merchant, EventType::ApiError, now)).collect();
        twice[0]["idempotency_key"] = json!("same");
        twice[2]["idempotency_key"] = json!("same");
        let res = app.publish("/internal/v1/events/batch", &json!({ "events": twice }), None).await;
        assert_eq!(res.status(), 422);
        assert_eq!(problem(res).await["errors"][0]["field"], "events[2].idempotency_key", "one key, one event");
        assert_eq!(count_events(&app, &merchant).await, 0);

        let mut items: Vec<Value> = (0..3).map(|_| event(&merchant, EventType::ApiError, now)).collect();
        items[0]["idempotency_key"] = json!("k-0");
        // Spaces around the merchant id are trimmed, as for a single publish.
        items[1]["merchant_id"] = json!(format!(" {merchant} "));
        let res = app.publish("/internal/v1/events/batch", &json!({ "events": items }), None).await;
        assert_eq!(res.status(), 200);
        let out: Value = res.json().await.unwrap();
        assert_eq!(out["events"].as_array().unwrap().len(), 3);
        assert_eq!(count_events(&app, &merchant).await, 3);
        // Resending the batch replays the keyed event and stores the others again.
        let res = app.publish("/internal/v1/events/batch", &json!({ "events": [items[0].clone()] }), None).await;
        let out: Value = res.json().await.unwrap();
        assert_eq!(out["events"][0]["replayed"], true);

        let too_many: Vec<Value> = (0..501).map(|_| event(&merchant, EventType::ApiError, now)).collect();
        let res = app.publish("/internal/v1/events/batch", &json!({ "events": too_many }), None).await;
        assert_eq!(res.status(), 422);
    }
}

async fn count_events(app: &TestApp, merchant_id: &str) -> i64 {
    hookline::store::events::count_for_merchant(&app.db, merchant_id)
        .await
        .unwrap()
}
