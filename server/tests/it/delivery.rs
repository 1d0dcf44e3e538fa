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
}
