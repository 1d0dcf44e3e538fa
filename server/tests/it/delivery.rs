//! From the ingest API to the merchant's server, through the running server.

use crate::harness::{Options, spawn_app_with};
use axum::http::HeaderMap;
use axum::routing::post;
use hookline::backend_tests;
use hookline::clock::Clock;
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::mode::Mode;
use serde_json::json;
use std::sync::{Arc, Mutex};

backend_tests! {
    async fn a_published_event_reaches_the_merchant_signed(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let got: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
        let sink = got.clone();
        let receiver = axum::Router::new().route("/hook", post(move |h: HeaderMap, body: String| {
            let sink = sink.clone();
            async move { sink.lock().unwrap().push((h, body)); "ok" }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

        let merchant = hookline::accounts::sign_up(&app.db, &*app.clock, &hookline::SignupInput {
            business_name: "Receiver Ltd".into(),
            email: "r@receiver.example".into(),
            password: crate::harness::PASSWORD.into(),
        }).await.unwrap().merchant_id.unwrap();
        let endpoint = hookline::endpoints::create(
            &app.db, &app.dispatcher.sbox, &*app.clock, &merchant, Mode::Sandbox,
            &EndpointInput { url: url.clone(), event_types: vec!["refund.updated".into()], ..EndpointInput::default() },
            EndpointRules { allow_http: true, opt_in_approved: false },
        ).await.unwrap();

        let res = app.publish("/internal/v1/events", &json!({
            "merchant_id": merchant, "mode": "sandbox", "type": "refund.updated",
            "data": sample_data(EventType::RefundUpdated, app.clock.now_ms()),
        }), None).await;
        assert_eq!(res.status(), 201);
        let event: serde_json::Value = res.json().await.unwrap();

        assert_eq!(app.dispatcher.step().await.unwrap(), 1);
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0["webhook-id"], event["id"].as_str().unwrap());
        let secret = hookline::endpoints::current_secret(&app.db, &app.dispatcher.sbox, &*app.clock, &merchant, &endpoint.id).await.unwrap();
        hookline::signing::verify(
            &secret,
            got[0].0["webhook-id"].to_str().unwrap(),
            got[0].0["webhook-timestamp"].to_str().unwrap(),
            got[0].0["webhook-signature"].to_str().unwrap(),
            got[0].1.as_bytes(),
            app.clock.now_ms() / 1000,
            300,
        ).unwrap();
        let body: serde_json::Value = serde_json::from_str(&got[0].1).unwrap();
        assert_eq!(body["mode"], "sandbox");
        assert_eq!(body["data"]["refund_id"], "re_sample_0b77");
    }

    async fn metrics_count_publishes_attempts_and_the_queue(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let receiver = axum::Router::new().route("/hook", post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
        let merchant = hookline::accounts::sign_up(&app.db, &*app.clock, &hookline::SignupInput {
            business_name: "Metrics Ltd".into(),
            email: "m@metrics.example".into(),
            password: crate::harness::PASSWORD.into(),
        }).await.unwrap().merchant_id.unwrap();
        hookline::endpoints::create(
            &app.db, &app.dispatcher.sbox, &*app.clock, &merchant, Mode::Live,
            &EndpointInput { url, event_types: vec!["payin.failed".into()], ..EndpointInput::default() },
            EndpointRules { allow_http: true, opt_in_approved: false },
        ).await.unwrap();
        for _ in 0..3 {
            let res = app.publish("/internal/v1/events", &json!({
                "merchant_id": merchant, "mode": "live", "type": "payin.failed",
                "data": sample_data(EventType::PayinFailed, app.clock.now_ms()),
            }), None).await;
            assert_eq!(res.status(), 201);
        }
        let scrape = || async {
            let res = reqwest::get(app.url("/metrics")).await.unwrap();
            assert_eq!(res.status(), 200);
            assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
            res.text().await.unwrap()
        };
        let text = scrape().await;
        assert!(text.contains("hookline_events_published_total 3"), "{text}");
        assert!(text.contains("hookline_deliveries{state=\"due\"} 3"), "{text}");

        assert_eq!(app.dispatcher.step().await.unwrap(), 3);
        let text = scrape().await;
        assert!(text.contains("hookline_delivery_attempts_total{outcome=\"http_status\"} 3"), "{text}");
        assert!(text.contains("hookline_delivery_latency_seconds_count 3"), "{text}");
        assert!(text.contains("hookline_deliveries{state=\"scheduled\"} 3"), "{text}");
        assert!(text.contains("hookline_deliveries{state=\"due\"} 0"), "{text}");
        assert!(text.ends_with("# EOF\n"), "OpenMetrics-compatible ending");
    }

    async fn schemas_are_served_for_every_type_and_version(backend) {
        let app = spawn_app_with(backend, Options::default()).await;
        let index: serde_json::Value = reqwest::get(app.url("/schemas")).await.unwrap().json().await.unwrap();
        let listed = index["schemas"].as_array().unwrap();
        assert_eq!(listed.len(), EventType::ALL.len() * hookline::events::versions::VERSIONS.len());
        for entry in listed {
            let res = reqwest::get(app.url(entry["url"].as_str().unwrap())).await.unwrap();
            assert_eq!(res.status(), 200, "{entry}");
            let schema: serde_json::Value = res.json().await.unwrap();
            assert_eq!(schema["properties"]["type"]["const"], entry["type"]);
            assert!(jsonschema::validator_for(&schema).is_ok());
        }
        // A sample event as the dispatcher would render it validates.
        let schema: serde_json::Value = reqwest::get(app.url("/schemas/2025-06-01/payout.updated.json"))
            .await.unwrap().json().await.unwrap();
        let data = hookline::events::versions::render(
            EventType::PayoutUpdated, &sample_data(EventType::PayoutUpdated, app.clock.now_ms()), "2025-06-01").unwrap();
        let payload = json!({ "id": "evt_0123abc", "type": "payout.updated", "api_version": "2025-06-01",
            "created_at": "2026-11-28T12:00:00Z", "mode": "live", "data": data });
        assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&payload));

        for (path, field) in [("/schemas/2025-06-01/payin.refunded.json", "type"), ("/schemas/1999-01-01/payin.failed.json", "version")] {
            let res = reqwest::get(app.url(path)).await.unwrap();
            assert_eq!(res.status(), 404, "{path}");
            let body = crate::harness::error_body(res).await;
            assert_eq!(body["errors"][0]["field"], field, "{body}");
        }
    }
}
