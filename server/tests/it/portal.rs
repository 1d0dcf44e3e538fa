//! The merchant portal's server functions: endpoints, secrets, test events and
//! the delivery log, with validation, ownership and mode separation.

use crate::harness::{Options, PASSWORD, TestApp, spawn_app, spawn_app_with};
use axum::http::HeaderMap;
use axum::routing::post;
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::signing::SigningSecret;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Calls a server function; answers its status and JSON body.
pub(crate) async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    args: &[(&str, &str)],
) -> (u16, Value) {
    let res = app.call(client, name, args).await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) fn fields(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn create(app: &TestApp, client: &reqwest::Client, url: &str) -> String {
    let (status, body) = call(
        app,
        client,
        "create_endpoint",
        &[
            ("url", url),
            ("description", "orders"),
            ("event_types[]", "payin.succeeded"),
            ("event_types[]", "refund.updated"),
            ("allowlist", ""),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.as_str().unwrap().to_owned()
}

pub(crate) async fn merchant_id(app: &TestApp, client: &reqwest::Client) -> String {
    app.current_user(client).await["merchant_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A loopback receiver that records what it gets and answers `status`.
pub(crate) async fn receiver(status: u16) -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    answering(move |_, _| status).await
}

/// A loopback receiver that records what it gets and answers what
/// `answer` makes of each request's headers and body.
async fn answering(
    answer: impl Fn(&HeaderMap, &str) -> u16 + Clone + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let got: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |h: HeaderMap, body: String| {
            let (sink, answer) = (sink.clone(), answer.clone());
            async move {
                let status = answer(&h, &body);
                sink.lock().unwrap().push((h, body));
                (axum::http::StatusCode::from_u16(status).unwrap(), "thanks")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// A loopback receiver that verifies what it gets as a merchant's server
/// should: with the secret set in the answered cell once the endpoint
/// exists, and `clock` for the timestamp's age. Forged or stale: 401.
pub(crate) async fn careful_receiver(
    clock: Arc<ManualClock>,
) -> (String, Arc<Mutex<Option<SigningSecret>>>) {
    let secret: Arc<Mutex<Option<SigningSecret>>> = Arc::default();
    let known = secret.clone();
    let (url, _) = answering(move |h, body| {
        let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        let verified = known.lock().unwrap().as_ref().is_some_and(|secret| {
            hookline::signing::verify(
                secret,
                header("webhook-id"),
                header("webhook-timestamp"),
                header("webhook-signature"),
                body.as_bytes(),
                clock.now_ms() / 1000,
                300,
            )
            .is_ok()
        });
        if verified { 200 } else { 401 }
    })
    .await;
    (url, secret)
}

backend_tests! {
    async fn endpoints_are_created_validated_and_listed_per_mode(backend) {
        let app = spawn_app(backend).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;

        // Every wrong field is named, and nothing is saved.
        let (status, body) = call(&app, &acme, "create_endpoint", &[
            ("url", "http://plain.example/in"),
            ("payload_version", "1999-01-01"),
            ("allowlist", "203.0.113.5/24\nnot-a-network"),
        ]).await;
        assert_eq!(status, 422, "{body}");
        let named = fields(&body);
        for field in ["url", "event_types", "payload_version", "allowlist"] {
            assert!(named.contains(&field.to_owned()), "{field} in {named:?}");
        }
        let (_, list) = call(&app, &acme, "list_endpoints", &[]).await;
        assert_eq!(list["endpoints"].as_array().unwrap().len(), 0);
        // The opt-in type needs an approved request.
        let (status, body) = call(&app, &acme, "create_endpoint", &[
            ("url", "https://hooks.acme.example/in"),
            ("event_types[]", "balance.threshold_warning"),
        ]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["event_types"]);

        let id = create(&app, &acme, "https://hooks.acme.example/in").await;
        let (status, list) = call(&app, &acme, "list_endpoints", &[]).await;
        assert_eq!(status, 200);
        assert_eq!(list["mode"], "sandbox");
        let row = &list["endpoints"][0];
        assert_eq!(row["endpoint"]["id"], id.as_str());
        assert_eq!(row["endpoint"]["event_types"], json!(["payin.succeeded", "refund.updated"]));
        assert_eq!(row["status"], "enabled");
        assert_eq!(row["health"], "healthy");
        assert_eq!(row["attempts_24h"], 0);

        // Live is another world: the sandbox endpoint is not there.
        assert_eq!(call(&app, &acme, "set_mode", &[("mode", "live")]).await.0, 200);
        let (_, live) = call(&app, &acme, "list_endpoints", &[]).await;
        assert_eq!(live["mode"], "live");
        assert!(live["endpoints"].as_array().unwrap().is_empty());
        assert_eq!(call(&app, &acme, "get_endpoint", &[("id", &id)]).await.0, 404);
        let live_id = create(&app, &acme, "https://live.acme.example/in").await;
        assert_eq!(call(&app, &acme, "set_mode", &[("mode", "sandbox")]).await.0, 200);
        assert_eq!(call(&app, &acme, "get_endpoint", &[("id", &live_id)]).await.0, 404);
        let (status, page) = call(&app, &acme, "get_endpoint", &[("id", &id)]).await;
        assert_eq!(status, 200);
        assert_eq!(page["secrets"].as_array().unwrap().len(), 1);
        assert!(!page.to_string().contains("whsec_"), "no secret value in the endpoint page");
    }

    async fn endpoints_are_edited_switched_and_deleted(backend) {
        let app = spawn_app(backend).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let id = create(&app, &acme, "https://hooks.acme.example/in").await;

        let (status, body) = call(&app, &acme, "update_endpoint", &[
            ("id", &id), ("url", "ftp://nope"), ("event_types[]", "payin.succeeded"),
        ]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["url"]);
        let (status, _) = call(&app, &acme, "update_endpoint", &[
            ("id", &id),
            ("url", "https://hooks.acme.example/v2"),
            ("description", "v2"),
            ("event_types[]", "payout.updated"),
            ("allowlist", "203.0.113.0/24\n198.51.100.7"),
        ]).await;
        assert_eq!(status, 200);
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &id)]).await;
        let ep = &page["summary"]["endpoint"];
        assert_eq!(ep["url"], "https://hooks.acme.example/v2");
        assert_eq!(ep["event_types"], json!(["payout.updated"]));
        assert_eq!(ep["allowlist"], json!(["203.0.113.0/24", "198.51.100.7/32"]));

        assert_eq!(call(&app, &acme, "set_endpoint_enabled", &[("id", &id), ("enabled", "false")]).await.0, 200);
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &id)]).await;
        assert_eq!(page["summary"]["status"], "disabled");
        let (status, body) = call(&app, &acme, "set_endpoint_enabled", &[("id", &id), ("enabled", "true"), ("held", "maybe")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["held"]);
        assert_eq!(call(&app, &acme, "set_endpoint_enabled", &[("id", &id), ("enabled", "true"), ("held", "discard")]).await.0, 200);
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &id)]).await;
        assert_eq!(page["summary"]["status"], "enabled");

        assert_eq!(call(&app, &acme, "delete_endpoint", &[("id", &id)]).await.0, 200);
        assert_eq!(call(&app, &acme, "get_endpoint", &[("id", &id)]).await.0, 404);
        let (_, list) = call(&app, &acme, "list_endpoints", &[]).await;
        assert!(list["endpoints"].as_array().unwrap().is_empty());
    }

    async fn another_merchant_can_touch_nothing(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let globex = app.merchant("Globex", "ops@globex.example").await;
        let (url, got) = receiver(200).await;
        let id = create(&app, &acme, &url).await;
        let acme_id = merchant_id(&app, &acme).await;
        let published = app.publish("/internal/v1/events", &json!({
            "merchant_id": acme_id, "mode": "sandbox", "type": "payin.succeeded",
            "data": sample_data(EventType::PayinSucceeded, app.clock.now_ms()),
        }), None).await;
        assert_eq!(published.status(), 201);
        let event: Value = published.json().await.unwrap();
        let event_id = event["id"].as_str().unwrap();
        let (_, before) = call(&app, &acme, "get_endpoint", &[("id", &id)]).await;

        let theirs: [(&str, Vec<(&str, &str)>); 12] = [
            ("get_endpoint", vec![("id", &id)]),
            ("update_endpoint", vec![("id", &id), ("url", "https://evil.example/"), ("event_types[]", "payin.succeeded")]),
            ("set_endpoint_enabled", vec![("id", &id), ("enabled", "false")]),
            ("delete_endpoint", vec![("id", &id)]),
            ("reveal_secret", vec![("id", &id), ("password", PASSWORD)]),
            ("rotate_secret", vec![("id", &id), ("grace", "none")]),
            ("send_test_event", vec![("id", &id), ("event_type", "payin.succeeded")]),
            ("run_readiness_check", vec![("id", &id)]),
            ("get_event", vec![("id", event_id)]),
            ("resend_event", vec![("id", event_id)]),
            ("recover_preview", vec![("input[endpoint]", &id), ("input[from]", "2020-01-01T00:00"), ("input[to]", "2099-01-01T00:00")]),
            ("recover", vec![("input[endpoint]", &id), ("input[from]", "2020-01-01T00:00"), ("input[to]", "2099-01-01T00:00")]),
        ];
        for (name, args) in &theirs {
            let (status, body) = call(&app, &globex, name, args).await;
            assert!(status == 404 || (status == 422 && fields(&body) == vec!["endpoint"]), "{name}: {status} {body}");
        }
        let (_, log) = call(&app, &globex, "delivery_log", &[("query[endpoint]", &id)]).await;
        assert!(log["page"]["rows"].as_array().unwrap().is_empty());
        let (_, log) = call(&app, &globex, "delivery_log", &[("query[search]", event_id)]).await;
        assert!(log["page"]["rows"].as_array().unwrap().is_empty());

        // Nothing changed and nothing was sent.
        let (_, after) = call(&app, &acme, "get_endpoint", &[("id", &id)]).await;
        assert_eq!(before, after);
        assert!(got.lock().unwrap().is_empty());
        let (_, log) = call(&app, &acme, "delivery_log", &[("query[endpoint]", &id)]).await;
        assert_eq!(log["page"]["rows"].as_array().unwrap().len(), 1);
    }

    async fn secrets_are_revealed_only_with_the_password_and_rotate(backend) {
        let app = spawn_app(backend).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let id = create(&app, &acme, "https://hooks.acme.example/in").await;

        let (status, body) = call(&app, &acme, "reveal_secret", &[("id", &id), ("password", "not my password")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["password"]);
        let (status, body) = call(&app, &acme, "reveal_secret", &[("id", &id), ("password", "")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["password"]);
        let (status, secret) = call(&app, &acme, "reveal_secret", &[("id", &id), ("password", PASSWORD)]).await;
        assert_eq!(status, 200);
        let secret = secret.as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));

        let (status, body) = call(&app, &acme, "rotate_secret", &[("id", &id), ("grace", "forever")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["grace"]);
        let now = app.clock.now_ms();
        assert_eq!(call(&app, &acme, "rotate_secret", &[("id", &id), ("grace", "one_hour")]).await.0, 200);
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &id)]).await;
        let secrets = page["secrets"].as_array().unwrap();
        assert_eq!(secrets.len(), 2);
        assert!(secrets[0]["expires_ms"].is_null());
        assert_eq!(secrets[1]["expires_ms"], now + 3_600_000);
        let (_, rotated) = call(&app, &acme, "reveal_secret", &[("id", &id), ("password", PASSWORD)]).await;
        assert_ne!(rotated.as_str().unwrap(), secret);

        // The endpoint page's HTML never carries a secret.
        let html = acme.get(app.url(&format!("/endpoints/{id}"))).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Signing secrets"));
        assert!(!html.contains(&secret) && !html.contains(rotated.as_str().unwrap()));
    }

    async fn a_test_event_is_sent_signed_and_logged(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let (url, got) = receiver(200).await;
        let id = create(&app, &acme, &url).await;
        let (status, body) = call(&app, &acme, "send_test_event", &[("id", &id), ("event_type", "payin.nope")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["event_type"]);

        let (status, result) = call(&app, &acme, "send_test_event", &[("id", &id), ("event_type", "refund.updated")]).await;
        assert_eq!(status, 200, "{result}");
        assert_eq!(result["success"], true);
        assert_eq!(result["status"], 200);
        assert_eq!(result["response_body"], "thanks");
        let sent: Vec<(String, String)> = serde_json::from_value(result["request_headers"].clone()).unwrap();
        assert!(sent.iter().any(|(k, v)| k == "webhook-id" && v == result["event_id"].as_str().unwrap()));
        assert!(sent.iter().any(|(k, _)| k == "webhook-signature"));
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        let (_, secret) = call(&app, &acme, "reveal_secret", &[("id", &id), ("password", PASSWORD)]).await;
        let secret = hookline::signing::SigningSecret::parse(secret.as_str().unwrap()).unwrap();
        hookline::signing::verify(
            &secret,
            got[0].0["webhook-id"].to_str().unwrap(),
            got[0].0["webhook-timestamp"].to_str().unwrap(),
            got[0].0["webhook-signature"].to_str().unwrap(),
            got[0].1.as_bytes(),
            app.clock.now_ms() / 1000,
            300,
        ).unwrap();

        // The dashboard counts it, and the home page draws it.
        let (status, dashboard) = call(&app, &acme, "get_dashboard", &[]).await;
        assert_eq!(status, 200);
        assert_eq!(dashboard["day"]["attempts"], 1);
        assert_eq!(dashboard["day"]["attempts_ok"], 1);
        assert_eq!(dashboard["chart"].as_array().unwrap().last().unwrap()["delivered"], 1);
        let (_, live) = {
            call(&app, &acme, "set_mode", &[("mode", "live")]).await;
            let d = call(&app, &acme, "get_dashboard", &[]).await;
            call(&app, &acme, "set_mode", &[("mode", "sandbox")]).await;
            d
        };
        assert_eq!(live["day"]["attempts"], 0, "live shows only live traffic");
        let html = acme.get(app.url("/")).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<svg") && html.contains("chart-delivered"), "the chart is drawn on the server");

        // In the log, marked as a test; it cannot be resent.
        let (_, log) = call(&app, &acme, "delivery_log", &[("query[search]", "")]).await;
        let rows = log["page"]["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["is_test"], true);
        assert_eq!(rows[0]["state"], "succeeded");
        let (status, detail) = call(&app, &acme, "get_event", &[("id", result["event_id"].as_str().unwrap())]).await;
        assert_eq!(status, 200);
        assert_eq!(detail["deliveries"][0]["attempts"][0]["response_status"], 200);
        let (status, body) = call(&app, &acme, "resend_event", &[("id", result["event_id"].as_str().unwrap())]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["event"]);
    }

    async fn the_log_resends_and_recovers_failed_deliveries(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let (url, got) = receiver(500).await;
        let id = create(&app, &acme, &url).await;
        let acme_id = merchant_id(&app, &acme).await;
        let start = hookline::time::format_input(app.clock.now_ms() - 60_000);
        let mut events = Vec::new();
        for _ in 0..3 {
            let res = app.publish("/internal/v1/events", &json!({
                "merchant_id": acme_id, "mode": "sandbox", "type": "payin.succeeded",
                "data": sample_data(EventType::PayinSucceeded, app.clock.now_ms()),
            }), None).await;
            events.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(app.dispatcher.step().await.unwrap(), 3);
        assert_eq!(got.lock().unwrap().len(), 3);
        let (_, log) = call(&app, &acme, "delivery_log", &[("query[status]", "pending")]).await;
        let rows = log["page"]["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 3, "retrying after a 500");
        assert_eq!(rows[0]["last_status"], 500);

        // Bad filters are a 422 naming the field, not a 500.
        let (status, body) = call(&app, &acme, "delivery_log", &[("query[status]", "lost"), ("query[from]", "soon")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["status", "from"]);

        // Resend makes a retrying delivery due now.
        app.clock.advance(std::time::Duration::from_secs(1));
        let (status, queued) = call(&app, &acme, "resend_event", &[("id", &events[0])]).await;
        assert_eq!((status, queued), (200, json!(1)));
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);
        let (_, detail) = call(&app, &acme, "get_event", &[("id", &events[0])]).await;
        assert_eq!(detail["deliveries"][0]["attempts"].as_array().unwrap().len(), 2);

        // Recover: nothing has failed for good yet.
        let end = hookline::time::format_input(app.clock.now_ms() + 60_000);
        let range = [("input[endpoint]", id.as_str()), ("input[from]", start.as_str()), ("input[to]", end.as_str())];
        let (status, plan) = call(&app, &acme, "recover_preview", &range).await;
        assert_eq!(status, 200, "{plan}");
        assert_eq!(plan["failed"], 0);

        // Turned off and back on discarding what was held, all three have failed.
        assert_eq!(call(&app, &acme, "set_endpoint_enabled", &[("id", &id), ("enabled", "false")]).await.0, 200);
        let (_, released) = call(&app, &acme, "set_endpoint_enabled", &[("id", &id), ("enabled", "true"), ("held", "discard")]).await;
        assert_eq!(released, 3);
        let (_, plan) = call(&app, &acme, "recover_preview", &range).await;
        assert_eq!((plan["failed"].as_i64(), plan["to_send"].as_i64()), (Some(3), Some(3)));
        let (status, done) = call(&app, &acme, "recover", &range).await;
        assert_eq!(status, 200);
        assert_eq!(done["to_send"], 3);
        let (_, log) = call(&app, &acme, "delivery_log", &[("query[status]", "pending")]).await;
        assert_eq!(log["page"]["rows"].as_array().unwrap().len(), 3);
        // Paced: the first is due now, the rest follow 100 ms apart.
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);
        app.clock.advance(std::time::Duration::from_millis(200));
        assert_eq!(app.dispatcher.step().await.unwrap(), 2);
        let (status, body) = call(&app, &acme, "recover_preview", &[("input[endpoint]", ""), ("input[from]", ""), ("input[to]", "")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["endpoint", "from", "to"]);
    }

    async fn the_sandbox_inbox_receives_deliveries_in_a_default_setup(backend) {
        // No development settings: the inbox is reached because it is this server's own.
        let app = spawn_app(backend).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let globex = app.merchant("Globex", "ops@globex.example").await;
        let (status, inbox) = call(&app, &acme, "get_inbox", &[]).await;
        assert_eq!(status, 200);
        let url = inbox["url"].as_str().unwrap().to_owned();
        assert!(url.starts_with(&format!("{}/inbox/ibx_", app.base)), "{url}");
        assert!(inbox["messages"].as_array().unwrap().is_empty());
        let (_, theirs) = call(&app, &globex, "get_inbox", &[]).await;
        assert_ne!(theirs["url"], inbox["url"]);

        // Plain http is accepted for the inbox only.
        let (status, body) = call(&app, &acme, "create_endpoint", &[
            ("url", "http://127.0.0.1:9/elsewhere"), ("event_types[]", "payin.succeeded"),
        ]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["url"]);
        let id = create(&app, &acme, &url).await;

        let (status, sent) = call(&app, &acme, "send_test_event", &[("id", &id), ("event_type", "payin.succeeded")]).await;
        assert_eq!(status, 200, "{sent}");
        assert_eq!(sent["success"], true, "{sent}");
        assert!(sent["response_body"].as_str().unwrap().contains("Signature valid."));
        let (_, inbox) = call(&app, &acme, "get_inbox", &[]).await;
        let messages = inbox["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["signature_valid"], true);
        assert_eq!(messages[0]["event_type"], "payin.succeeded");
        assert_eq!(messages[0]["webhook_id"], sent["event_id"]);

        // After a rotation with grace, deliveries carry two signatures and both are good.
        assert_eq!(call(&app, &acme, "rotate_secret", &[("id", &id), ("grace", "one_hour")]).await.0, 200);
        let (_, sent) = call(&app, &acme, "send_test_event", &[("id", &id), ("event_type", "refund.updated")]).await;
        assert_eq!(sent["success"], true);
        let (_, inbox) = call(&app, &acme, "get_inbox", &[]).await;
        let latest = &inbox["messages"][0];
        let headers: Vec<(String, String)> = serde_json::from_value(latest["headers"].clone()).unwrap();
        let signature = &headers.iter().find(|(k, _)| k == "webhook-signature").unwrap().1;
        assert_eq!(signature.split(' ').count(), 2, "{signature}");
        assert_eq!(latest["signature_valid"], true);
        let (_, theirs) = call(&app, &globex, "get_inbox", &[]).await;
        assert!(theirs["messages"].as_array().unwrap().is_empty(), "another merchant sees none of it");

        // Anyone can post to the URL, but a forgery is refused and recorded as such.
        let res = reqwest::Client::new().post(&url)
            .header("webhook-id", "evt_forged").header("webhook-timestamp", (app.clock.now_ms() / 1000).to_string())
            .header("webhook-signature", "v1,AAAA").body("{}").send().await.unwrap();
        assert_eq!(res.status(), 401);
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["accepted"], false);
        let res = reqwest::Client::new().post(format!("{}/inbox/ibx_unknown", app.base)).body("{}").send().await.unwrap();
        assert_eq!(res.status(), 404);
        let (_, inbox) = call(&app, &acme, "get_inbox", &[]).await;
        assert_eq!(inbox["messages"][0]["signature_valid"], false);
        assert_eq!(inbox["messages"].as_array().unwrap().len(), 3);

        // A flood is cut off at the inbox's limit a minute, with Retry-After.
        app.clock.advance(std::time::Duration::from_secs(60));
        let client = reqwest::Client::new();
        let mut statuses = std::collections::BTreeMap::new();
        for _ in 0..=hookline::inbox::MAX_PER_MINUTE {
            let res = client.post(&url).body("{}").send().await.unwrap();
            *statuses.entry(res.status().as_u16()).or_insert(0) += 1;
            if res.status() == 429 {
                let wait: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=60).contains(&wait), "{wait}");
                let answer: Value = res.json().await.unwrap();
                assert_eq!(answer["accepted"], false);
                assert!(answer["verdict"].as_str().unwrap().contains("a minute"), "{answer}");
            }
        }
        // The test clock stands still: the whole flood falls in one minute.
        let limit = hookline::inbox::MAX_PER_MINUTE as usize;
        assert_eq!(statuses, std::collections::BTreeMap::from([(400, limit), (429, 1)]));
    }

    async fn the_readiness_check_tells_a_careful_server_from_a_naive_one_and_gates_live(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let (naive_url, naive_got) = receiver(200).await;
        let (_, inbox) = call(&app, &acme, "get_inbox", &[]).await;
        let careful_url = inbox["url"].as_str().unwrap().to_owned();
        let careful = create(&app, &acme, &careful_url).await;
        let naive = create(&app, &acme, &naive_url).await;

        let (status, report) = call(&app, &acme, "run_readiness_check", &[("id", &careful)]).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["passed"], true, "{report}");
        let outcomes: Vec<(String, bool)> = report["results"].as_array().unwrap().iter()
            .map(|r| (r["scenario"].as_str().unwrap().to_owned(), r["passed"].as_bool().unwrap())).collect();
        assert_eq!(outcomes, vec![
            ("signed_event".to_owned(), true), ("wrong_signature".to_owned(), true),
            ("duplicate_id".to_owned(), true), ("stale_timestamp".to_owned(), true),
        ]);

        let (_, report) = call(&app, &acme, "run_readiness_check", &[("id", &naive)]).await;
        assert_eq!(report["passed"], false);
        let passed: Vec<bool> = report["results"].as_array().unwrap().iter().map(|r| r["passed"].as_bool().unwrap()).collect();
        assert_eq!(passed, vec![true, false, true, false], "a server that accepts anything: {report}");
        assert_eq!(naive_got.lock().unwrap().len(), 5, "signed, forged, the duplicate twice, stale");
        for (_, body) in naive_got.lock().unwrap().iter() {
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["test"], true, "a readiness probe is marked as a test: {body}");
        }
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &naive)]).await;
        assert_eq!(page["readiness"]["passed"], false, "the latest report is on the endpoint page");
        let (_, log) = call(&app, &acme, "delivery_log", &[("query[search]", "")]).await;
        assert!(log["page"]["rows"].as_array().unwrap().is_empty(), "checks are not events");

        // The inbox takes sandbox endpoints only: a careful server of Acme's own.
        let (own_url, own_secret) = careful_receiver(app.clock.clone()).await;
        let own = create(&app, &acme, &own_url).await;
        let (_, secret) = call(&app, &acme, "reveal_secret", &[("id", &own), ("password", PASSWORD)]).await;
        *own_secret.lock().unwrap() = Some(SigningSecret::parse(secret.as_str().unwrap()).unwrap());
        let (_, report) = call(&app, &acme, "run_readiness_check", &[("id", &own)]).await;
        assert_eq!(report["passed"], true, "{report}");

        // Live: the naive URL starts disabled and cannot be enabled; the careful one starts.
        assert_eq!(call(&app, &acme, "set_mode", &[("mode", "live")]).await.0, 200);
        let (status, body) = call(&app, &acme, "create_endpoint", &[
            ("url", &careful_url), ("event_types[]", "payin.succeeded"), ("allowlist", ""),
        ]).await;
        assert_eq!((status, fields(&body)), (422, vec!["url".to_owned()]), "a live endpoint at the inbox: {body}");
        let live_naive = create(&app, &acme, &naive_url).await;
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &live_naive)]).await;
        assert_eq!(page["summary"]["status"], "disabled");
        assert!(page["summary"]["disabled_note"].as_str().unwrap().contains("readiness"));
        let (status, body) = call(&app, &acme, "set_endpoint_enabled", &[("id", &live_naive), ("enabled", "true")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["enabled"]);
        let live_careful = create(&app, &acme, &own_url).await;
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &live_careful)]).await;
        assert_eq!(page["summary"]["status"], "enabled");
        // Moving it to an unchecked URL stops it.
        let (status, _) = call(&app, &acme, "update_endpoint", &[
            ("id", &live_careful), ("url", &naive_url), ("event_types[]", "payin.succeeded"),
        ]).await;
        assert_eq!(status, 200);
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &live_careful)]).await;
        assert_eq!(page["summary"]["status"], "disabled");
    }

    async fn balance_warnings_are_subscribed_to_once_a_request_is_approved(backend) {
        let app = spawn_app(backend).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let globex = app.merchant("Globex", "ops@globex.example").await;
        let subscribe = [("url", "https://hooks.acme.example/balance"), ("event_types[]", "balance.threshold_warning")];

        let (status, body) = call(&app, &acme, "request_balance_warning", &[("threshold", "-5"), ("currency", "euro")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["currency", "threshold"]);
        let (_, view) = call(&app, &acme, "list_balance_requests", &[]).await;
        assert!(view["requests"].as_array().unwrap().is_empty());

        let (status, request) = call(&app, &acme, "request_balance_warning", &[("threshold", "2500.50"), ("currency", "EUR")]).await;
        assert_eq!(status, 200, "{request}");
        assert_eq!(request["status"], "pending");
        assert_eq!(request["threshold"]["value"], 250_050);
        let (status, body) = call(&app, &acme, "create_endpoint", &subscribe).await;
        assert_eq!(status, 422, "not before approval");
        assert_eq!(fields(&body), vec!["event_types"]);

        hookline::balance::decide(&app.db, &*app.clock, request["id"].as_str().unwrap(), true, "Approved").await.unwrap();
        let (_, view) = call(&app, &acme, "list_balance_requests", &[]).await;
        assert_eq!(view["approved"], true);
        assert_eq!(view["requests"][0]["status"], "approved");
        assert_eq!(call(&app, &acme, "create_endpoint", &subscribe).await.0, 200);
        // Approval is the merchant's own, and per mode.
        assert_eq!(call(&app, &globex, "create_endpoint", &subscribe).await.0, 422);
        let (_, theirs) = call(&app, &globex, "list_balance_requests", &[]).await;
        assert!(theirs["requests"].as_array().unwrap().is_empty());
        call(&app, &acme, "set_mode", &[("mode", "live")]).await;
        let (_, live) = call(&app, &acme, "list_balance_requests", &[]).await;
        assert_eq!(live["approved"], false);
    }

    async fn security_relevant_actions_leave_an_audit_trail(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let globex = app.merchant("Globex", "ops@globex.example").await;
        let admin = app.admin("help@hookline.example").await;
        let (url, _) = receiver(200).await;

        // A failed and a good sign-in.
        assert_eq!(app.login(&app.client(), "OPS@acme.example", "not my password").await.status(), 401);
        let again = app.client();
        assert_eq!(app.login(&again, "ops@acme.example", PASSWORD).await.status(), 200);

        let id = create(&app, &acme, &url).await;
        call(&app, &acme, "update_endpoint", &[
            ("id", &id), ("url", &url), ("event_types[]", "payin.succeeded"), ("allowlist", "127.0.0.1"),
        ]).await;
        call(&app, &acme, "reveal_secret", &[("id", &id), ("password", "wrong password")]).await;
        call(&app, &acme, "reveal_secret", &[("id", &id), ("password", PASSWORD)]).await;
        call(&app, &acme, "rotate_secret", &[("id", &id), ("grace", "one_hour")]).await;
        call(&app, &acme, "set_endpoint_enabled", &[("id", &id), ("enabled", "false")]).await;
        call(&app, &acme, "set_endpoint_enabled", &[("id", &id), ("enabled", "true")]).await;
        let (_, request) = call(&app, &acme, "request_balance_warning", &[("threshold", "100"), ("currency", "EUR")]).await;
        let request_id = request["id"].as_str().unwrap().to_owned();

        // The admin's decision needs a reason, and records it.
        let (status, body) = call(&app, &admin, "admin_balance_requests", &[]).await;
        assert_eq!(status, 200);
        assert_eq!(body.as_array().unwrap().len(), 1);
        assert_eq!(body[0]["business_name"], "Acme");
        let (status, body) = call(&app, &admin, "admin_decide_balance", &[("id", &request_id), ("decision", "approve"), ("reason", " ")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["reason"]);
        let (status, _) = call(&app, &admin, "admin_decide_balance", &[("id", &request_id), ("decision", "approve"), ("reason", "Treasury alerts agreed on the call")]).await;
        assert_eq!(status, 200);
        let (status, body) = call(&app, &admin, "admin_decide_balance", &[("id", &request_id), ("decision", "deny"), ("reason", "again")]).await;
        assert_eq!((status, fields(&body)), (422, vec!["decision".to_owned()]), "decided once: {body}");
        let (_, view) = call(&app, &acme, "list_balance_requests", &[]).await;
        assert_eq!(view["requests"][0]["note"], "Treasury alerts agreed on the call");
        call(&app, &acme, "delete_endpoint", &[("id", &id)]).await;

        let (status, entries) = call(&app, &acme, "my_audit", &[("query[merchant]", "someone-else")]).await;
        assert_eq!(status, 200);
        let actions: Vec<&str> = entries.as_array().unwrap().iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec![
            "sign_in_failed", "sign_in", "endpoint_created", "endpoint_changed", "password_refused", "secret_revealed",
            "secret_rotated", "endpoint_disabled", "endpoint_enabled", "balance_requested", "balance_approved", "endpoint_deleted",
        ]);
        let all = entries.as_array().unwrap();
        let find = |action: &str| all.iter().find(|e| e["action"] == action).unwrap().clone();
        assert_eq!(find("sign_in_failed")["actor_email"], "ops@acme.example");
        assert_eq!(find("sign_in_failed")["actor_role"], "visitor");
        assert_eq!(find("sign_in_failed")["address"], "127.0.0.1");
        assert_eq!(find("password_refused")["detail"], "revealing the endpoint's signing secret");
        assert!(find("endpoint_changed")["detail"].as_str().unwrap().contains("allowlist: [] → [127.0.0.1/32]"));
        assert_eq!(find("balance_approved")["actor_email"], "help@hookline.example");
        assert_eq!(find("balance_approved")["reason"], "Treasury alerts agreed on the call");
        assert!(!entries.to_string().contains("whsec_"), "no secret in the audit log");

        // Another merchant sees none of it; the onboarding team sees all, filtered.
        let (_, theirs) = call(&app, &globex, "my_audit", &[("query[action]", "")]).await;
        assert!(theirs.as_array().unwrap().iter().all(|e| e["merchant_id"] != all[0]["merchant_id"]));
        let (_, by_admin) = call(&app, &admin, "admin_audit", &[("query[actor]", "help@hookline.example")]).await;
        let by_admin = by_admin.as_array().unwrap();
        assert!(by_admin.iter().any(|e| e["action"] == "balance_approved"));
        assert!(by_admin.iter().all(|e| e["actor_email"] == "help@hookline.example"));
        let (status, body) = call(&app, &admin, "admin_audit", &[("query[action]", "nonsense")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["action"]);
    }

    async fn balance_snapshots_warn_once_per_crossing_and_rearm_above_the_margin(backend) {
        let app = spawn_app(backend).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let acme_id = merchant_id(&app, &acme).await;
        let snapshot = |available: i64, currency: &str| json!({
            "merchant_id": acme_id, "mode": "sandbox", "currency": currency, "available": available,
        });
        let server = &app;
        let observe = |body: Value| async move {
            let res = server.publish("/internal/v1/balances", &body, None).await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        };

        // Without an approved request nothing is watched.
        assert_eq!(observe(snapshot(100, "EUR")).await, (200, json!({ "outcome": "not_watched" })));
        let (_, request) = call(&app, &acme, "request_balance_warning", &[("threshold", "500"), ("currency", "EUR")]).await;
        hookline::balance::decide(&app.db, &*app.clock, request["id"].as_str().unwrap(), true, "ok").await.unwrap();
        call(&app, &acme, "create_endpoint", &[
            ("url", "https://hooks.acme.example/balance"), ("event_types[]", "balance.threshold_warning"),
        ]).await;

        // Threshold 500.00 EUR, re-armed at 550.00 (the default 10 %).
        let mut warnings = Vec::new();
        for (available, expected) in [
            (60_000, "unchanged"), (49_000, "warned"), (48_000, "unchanged"), (52_000, "unchanged"),
            (49_999, "unchanged"), (55_000, "rearmed"), (40_000, "warned"), (70_000, "rearmed"),
        ] {
            let (status, body) = observe(snapshot(available, "EUR")).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["outcome"], expected, "at {available}: {body}");
            if expected == "warned" {
                warnings.push(body["event_id"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(warnings.len(), 2, "once per crossing, hovering at the line sends nothing");
        assert_eq!(observe(snapshot(100, "USD")).await.1["outcome"], "not_watched", "another currency");

        // The warning is a real event, delivered to the subscribed endpoint.
        let (_, detail) = call(&app, &acme, "get_event", &[("id", &warnings[0])]).await;
        assert_eq!(detail["event_type"], "balance.threshold_warning");
        assert!(detail["payload"].as_str().unwrap().contains("\"value\": 49000"));
        assert_eq!(detail["deliveries"].as_array().unwrap().len(), 1);

        // Client mistakes are 4xx with the field named; a bad token is 401.
        let (status, body) = observe(json!({ "merchant_id": acme_id, "mode": "sandbox", "currency": "EURO", "available": 1 })).await;
        assert_eq!(status, 422, "{body}");
        let (status, _) = observe(json!({ "merchant_id": "mer_nobody", "mode": "sandbox", "currency": "EUR", "available": 1 })).await;
        assert_eq!(status, 422);
        let (status, _) = observe(json!({ "merchant_id": acme_id, "mode": "sandbox", "currency": "EUR", "available": 1.5 })).await;
        assert_eq!(status, 422);
        // A balance id the warning could not carry is refused even when
        // nothing crosses (70,000 is above the threshold).
        for balance_id in ["", "  ", "bal\u{1}"] {
            let (status, body) = observe(json!({ "merchant_id": acme_id, "mode": "sandbox", "currency": "EUR", "available": 70_000, "balance_id": balance_id })).await;
            assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("balance_id")), "{balance_id:?}: {body}");
        }
        let (status, body) = observe(json!({ "merchant_id": acme_id, "mode": "sandbox", "currency": "EUR", "available": 70_000, "balance_id": "bal_acme_eur" })).await;
        assert_eq!((status, body["outcome"].as_str()), (200, Some("unchanged")), "{body}");
        let res = reqwest::Client::new().post(app.url("/internal/v1/balances")).bearer_auth("wrong").json(&snapshot(1, "EUR")).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }

    async fn text_no_database_can_store_is_a_client_mistake_never_a_500(backend) {
        // PostgreSQL refuses NUL in text outright; SQLite would keep it. Both
        // answer the same: the field that holds it, or a 4xx for an id.
        let app = spawn_app(backend).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let admin = app.admin("help@hookline.example").await;
        let acme_id = merchant_id(&app, &acme).await;

        let (status, body) = call(&app, &acme, "create_endpoint", &[
            ("url", "https://hooks.acme.example/in"), ("event_types[]", "payin.succeeded"), ("description", "Orders\0"),
        ]).await;
        assert_eq!((status, fields(&body)), (422, vec!["description".to_owned()]), "{body}");
        let (status, body) = call(&app, &acme, "delivery_log", &[("query[search]", "txn\0")]).await;
        assert_eq!((status, fields(&body)), (422, vec!["search".to_owned()]), "{body}");
        let (status, body) = call(&app, &acme, "get_event", &[("id", "evt_\0")]).await;
        assert!(status == 400 || status == 404, "{status} {body}");
        let (status, body) = call(&app, &admin, "admin_merchant", &[("id", &format!("{acme_id}\0")), ("mode", "sandbox")]).await;
        assert_eq!(status, 404, "{body}");
        // An admin's reason is checked before the action, whose audit entry must not fail after it.
        let (status, body) = call(&app, &admin, "admin_enable_endpoint", &[
            ("merchant_id", &acme_id), ("endpoint_id", "ep_none"), ("override_readiness", "true"), ("reason", "Pilot\0"),
        ]).await;
        assert_eq!((status, fields(&body)), (422, vec!["reason".to_owned()]), "{body}");
        let res = app.login(&app.client(), "ops\0@acme.example", PASSWORD).await;
        assert_eq!(res.status(), 401);
        // A password typed into the email box is not kept in the audit log.
        let res = app.login(&app.client(), "Tr0ub4dor&3-horse", PASSWORD).await;
        assert_eq!(res.status(), 401);
        let (_, entries) = call(&app, &admin, "admin_audit", &[("query[action]", "sign_in_failed")]).await;
        let emails: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["actor_email"].as_str().unwrap()).collect();
        assert_eq!(emails, vec!["(not an email address)"; 2], "{entries}");

        // A server function's body is read only up to its limit.
        let res = app.client().post(app.url("/api/login"))
            .form(&[("email", "x".repeat(2 * 1024 * 1024)), ("password", "x".into())]).send().await.unwrap();
        assert_eq!(res.status(), 413);
        assert_eq!(crate::harness::error_body(res).await["kind"], "bad_request");
        // A body that is not even text is the client's mistake too.
        let res = app.client().post(app.url("/api/login"))
            .header("content-type", "application/x-www-form-urlencoded").body(vec![0xff_u8, 0xfe]).send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(crate::harness::error_body(res).await["kind"], "bad_request");

        // The REST API and the ingest API: a problem document naming the field.
        let key = app.api_key(&acme, "CI", "", false).await;
        let res = app.api(reqwest::Method::POST, "/v1/endpoints", &key).json(&json!({
            "url": "https://hooks.acme.example/in", "event_types": ["payin.succeeded"], "description": "a\u{0}b",
        })).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert_eq!(crate::harness::error_body(res).await["errors"][0]["field"], "description");
        let res = app.api(reqwest::Method::GET, "/v1/events/evt_%00", &key).send().await.unwrap();
        assert!(matches!(res.status().as_u16(), 400 | 404), "{}", res.status());
        assert!(crate::harness::error_body(res).await["title"].is_string());
        let mut data = sample_data(EventType::PayinSucceeded, app.clock.now_ms());
        data["transaction_id"] = json!("txn\u{0}");
        let res = app.publish("/internal/v1/events", &json!({
            "merchant_id": acme_id, "mode": "sandbox", "type": "payin.succeeded", "data": data,
        }), None).await;
        assert_eq!(res.status(), 422);
        assert_eq!(crate::harness::error_body(res).await["errors"][0]["field"], "data.transaction_id");
    }

    async fn the_onboarding_team_helps_with_reasons_and_never_sees_secrets(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let admin = app.admin("help@hookline.example").await;
        let acme_id = merchant_id(&app, &acme).await;
        let (url, got) = receiver(500).await;
        let sandbox = create(&app, &acme, &url).await;
        let (_, secret) = call(&app, &acme, "reveal_secret", &[("id", &sandbox), ("password", PASSWORD)]).await;
        let res = app.publish("/internal/v1/events", &json!({
            "merchant_id": acme_id, "mode": "sandbox", "type": "payin.succeeded",
            "data": sample_data(EventType::PayinSucceeded, app.clock.now_ms()),
        }), None).await;
        let event_id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);

        let (status, detail) = call(&app, &admin, "admin_merchant", &[("id", &acme_id), ("mode", "sandbox")]).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["merchant"]["business_name"], "Acme");
        assert_eq!(detail["endpoints"][0]["endpoint"]["id"], sandbox.as_str());
        assert_eq!(detail["log"]["rows"][0]["event_id"], event_id.as_str());
        assert!(!detail.to_string().contains(secret.as_str().unwrap()), "admins never see secrets");
        assert!(!detail.to_string().contains("whsec_"));

        // Resending needs a reason, which lands in the merchant's audit log.
        let (status, body) = call(&app, &admin, "admin_resend_event", &[("merchant_id", &acme_id), ("event_id", &event_id), ("reason", "")]).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["reason"]);
        let (status, body) = call(&app, &admin, "admin_resend_event", &[("merchant_id", "mer_other"), ("event_id", &event_id), ("reason", "x")]).await;
        assert_eq!((status, fields(&body)), (422, vec!["event_id".to_owned()]), "the event must be that merchant's: {body}");
        let (status, body) = call(&app, &admin, "admin_resend_event", &[("merchant_id", &acme_id), ("event_id", " "), ("reason", "")]).await;
        assert_eq!((status, fields(&body)), (422, vec!["reason".to_owned(), "event_id".to_owned()]), "both at once: {body}");
        let (status, queued) = call(&app, &admin, "admin_resend_event", &[("merchant_id", &acme_id), ("event_id", &event_id), ("reason", "Merchant fixed its server, asked by phone")]).await;
        assert_eq!((status, queued), (200, json!(1)));
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);
        assert_eq!(got.lock().unwrap().len(), 2, "the merchant's server got the new attempt");
        let (_, entries) = call(&app, &acme, "my_audit", &[("query[action]", "event_resent")]).await;
        assert_eq!(entries[0]["reason"], "Merchant fixed its server, asked by phone");
        assert_eq!(entries[0]["actor_email"], "help@hookline.example");

        // A live endpoint that never passed the check is enabled only as a recorded override.
        call(&app, &acme, "set_mode", &[("mode", "live")]).await;
        let live = create(&app, &acme, "https://live.acme.example/hook").await;
        let enable = |override_readiness: &'static str| {
            let (acme_id, live) = (acme_id.clone(), live.clone());
            let (app, admin) = (&app, &admin);
            async move {
                call(app, admin, "admin_enable_endpoint", &[
                    ("merchant_id", &acme_id), ("endpoint_id", &live), ("override_readiness", override_readiness), ("reason", "Pilot agreed"),
                ]).await
            }
        };
        let (status, body) = enable("false").await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["override_readiness"]);
        assert_eq!(enable("true").await.0, 200);
        let (_, page) = call(&app, &acme, "get_endpoint", &[("id", &live)]).await;
        assert_eq!(page["summary"]["status"], "enabled");
        let (_, entries) = call(&app, &acme, "my_audit", &[("query[action]", "readiness_overridden")]).await;
        assert_eq!(entries.as_array().unwrap().len(), 1);
        assert_eq!(entries[0]["reason"], "Pilot agreed");
    }
}
