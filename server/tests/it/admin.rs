//! The onboarding team's server functions: a merchant's log and events read
//! through the merchant's own views, assisted recover with a reason, the
//! operations overview, and notices acknowledged by merchants.

use crate::harness::{Options, PASSWORD, spawn_app_with};
use crate::portal::{call, create, fields, merchant_id, receiver};
use hookline::backend_tests;
use hookline::clock::Clock;
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use serde_json::{Value, json};

backend_tests! {
    async fn admins_read_a_merchants_log_and_recover_its_failures_with_a_reason(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let globex = app.merchant("Globex", "ops@globex.example").await;
        let admin = app.admin("help@hookline.example").await;
        let acme_id = merchant_id(&app, &acme).await;
        let globex_id = merchant_id(&app, &globex).await;
        let (url, got) = receiver(500).await;
        let endpoint = create(&app, &acme, &url).await;
        let (_, secret) = call(&app, &acme, "reveal_secret", &[("id", &endpoint), ("password", PASSWORD)]).await;
        let start = hookline::time::format_input(app.clock.now_ms() - 60_000);
        let res = app.publish("/internal/v1/events", &json!({
            "merchant_id": acme_id, "mode": "sandbox", "type": "payin.succeeded",
            "data": sample_data(EventType::PayinSucceeded, app.clock.now_ms()),
        }), None).await;
        let event_id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);

        // The merchant's log, filtered as the merchant would, and nobody else's.
        let (status, log) = call(&app, &admin, "admin_delivery_log", &[("merchant_id", &acme_id), ("mode", "sandbox"), ("query[status]", "pending")]).await;
        assert_eq!(status, 200, "{log}");
        assert_eq!(log["page"]["rows"][0]["event_id"], event_id.as_str());
        assert_eq!(log["endpoints"][0]["id"], endpoint.as_str());
        let (_, live) = call(&app, &admin, "admin_delivery_log", &[("merchant_id", &acme_id), ("mode", "live"), ("query[status]", "")]).await;
        assert_eq!(live["page"]["rows"].as_array().unwrap().len(), 0, "modes stay apart");
        let (status, body) = call(&app, &admin, "admin_delivery_log", &[("merchant_id", &acme_id), ("mode", "sandbox"), ("query[from]", "soon")]).await;
        assert_eq!((status, fields(&body)), (422, vec!["from".to_owned()]));
        assert_eq!(call(&app, &admin, "admin_delivery_log", &[("merchant_id", "mer_none"), ("mode", "live"), ("query[search]", "")]).await.0, 404);

        // One event with its attempts; never a secret.
        let (status, event) = call(&app, &admin, "admin_event", &[("merchant_id", &acme_id), ("event_id", &event_id)]).await;
        assert_eq!(status, 200, "{event}");
        assert_eq!(event["deliveries"][0]["attempts"][0]["response_status"], 500);
        assert!(!event.to_string().contains(secret.as_str().unwrap()));
        assert!(!event.to_string().contains("whsec_"));
        assert_eq!(call(&app, &admin, "admin_event", &[("merchant_id", &globex_id), ("event_id", &event_id)]).await.0, 404,
            "an event is looked up under its own merchant only");

        // The operations overview sees the failure in sandbox only.
        let (status, ops) = call(&app, &admin, "admin_operations", &[("mode", "sandbox")]).await;
        assert_eq!(status, 200, "{ops}");
        assert_eq!(ops["failing"][0]["url"], url.as_str());
        assert_eq!(ops["failing"][0]["business_name"], "Acme");
        assert_eq!(ops["queue"]["scheduled"], 1, "waiting for its retry");
        let (_, ops) = call(&app, &admin, "admin_operations", &[("mode", "live")]).await;
        assert_eq!(ops["failing"].as_array().unwrap().len(), 0);

        // Failed for good (the merchant discarded what was held), then recovered by the team with a reason.
        call(&app, &acme, "set_endpoint_enabled", &[("id", &endpoint), ("enabled", "false")]).await;
        call(&app, &acme, "set_endpoint_enabled", &[("id", &endpoint), ("enabled", "true"), ("held", "discard")]).await;
        let end = hookline::time::format_input(app.clock.now_ms() + 60_000);
        let range = [("merchant_id", acme_id.as_str()), ("mode", "sandbox"), ("input[endpoint]", endpoint.as_str()), ("input[from]", start.as_str()), ("input[to]", end.as_str())];
        let (status, plan) = call(&app, &admin, "admin_recover_preview", &range).await;
        assert_eq!((status, plan["failed"].as_i64()), (200, Some(1)), "{plan}");
        let mut other = range;
        other[0] = ("merchant_id", globex_id.as_str());
        let (status, body) = call(&app, &admin, "admin_recover_preview", &other).await;
        assert_eq!((status, fields(&body)), (422, vec!["endpoint".to_owned()]), "another merchant's endpoint is not offered");
        let (status, body) = call(&app, &admin, "admin_recover", &range).await;
        assert_eq!((status, fields(&body)), (422, vec!["reason".to_owned()]));
        let with_reason: Vec<(&str, &str)> = range.iter().copied().chain([("reason", "Outage on their side, ticket 4711")]).collect();
        let (status, done) = call(&app, &admin, "admin_recover", &with_reason).await;
        assert_eq!((status, done["to_send"].as_i64()), (200, Some(1)), "{done}");
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);
        assert_eq!(got.lock().unwrap().len(), 2, "the merchant's server got the recovered event");
        let (_, entries) = call(&app, &acme, "my_audit", &[("query[action]", "events_recovered")]).await;
        assert_eq!(entries[0]["reason"], "Outage on their side, ticket 4711");
        assert_eq!(entries[0]["actor_email"], "help@hookline.example");
    }

    async fn notices_show_on_dashboards_until_acknowledged(backend) {
        let app = spawn_app_with(backend, Options::default()).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let globex = app.merchant("Globex", "ops@globex.example").await;
        let admin = app.admin("help@hookline.example").await;
        let globex_id = merchant_id(&app, &globex).await;

        let (status, body) = call(&app, &admin, "admin_publish_notice", &[
            ("input[title]", ""), ("input[body]", "x"), ("input[effective_date]", "tomorrow"), ("input[audience]", "all"),
        ]).await;
        assert_eq!((status, fields(&body)), (422, vec!["title".to_owned(), "effective_date".to_owned()]));
        let (_, listed) = call(&app, &admin, "admin_notices", &[]).await;
        assert_eq!(listed, json!([]), "nothing published on error");

        let (status, for_globex) = call(&app, &admin, "admin_publish_notice", &[
            ("input[title]", "Your migration"), ("input[body]", "We move your endpoints on Monday."),
            ("input[effective_date]", "2027-01-04"), ("input[audience]", "chosen"), ("input[merchants]", &globex_id),
        ]).await;
        assert_eq!(status, 200, "{for_globex}");
        let (status, retire) = call(&app, &admin, "admin_publish_notice", &[
            ("input[title]", "Payload version 2025-06-01 retires"), ("input[body]", "Switch your endpoints to 2026-09-01."),
            ("input[effective_date]", "2027-03-01"), ("input[audience]", "all"), ("input[retiring_version]", "2025-06-01"),
        ]).await;
        assert_eq!(status, 200, "{retire}");
        let retire_id = retire["id"].as_str().unwrap().to_owned();

        let (_, dashboard) = call(&app, &acme, "get_dashboard", &[]).await;
        let titles: Vec<&str> = dashboard["announcements"].as_array().unwrap().iter().map(|a| a["notice"]["title"].as_str().unwrap()).collect();
        assert_eq!(titles, vec!["Payload version 2025-06-01 retires"]);
        let (_, dashboard) = call(&app, &globex, "get_dashboard", &[]).await;
        assert_eq!(dashboard["announcements"].as_array().unwrap().len(), 2);

        // Acme acknowledges; it cannot acknowledge Globex's notice.
        let globex_notice = for_globex["id"].as_str().unwrap();
        assert_eq!(call(&app, &acme, "acknowledge_notice", &[("id", globex_notice)]).await.0, 404);
        assert_eq!(call(&app, &acme, "acknowledge_notice", &[("id", &retire_id)]).await.0, 200);
        let (_, dashboard) = call(&app, &acme, "get_dashboard", &[]).await;
        assert_eq!(dashboard["announcements"], json!([]));

        let (_, listed) = call(&app, &admin, "admin_notices", &[]).await;
        assert_eq!((listed[0]["recipients"].as_i64(), listed[0]["acknowledged"].as_i64()), (Some(2), Some(1)));
        let (status, report) = call(&app, &admin, "admin_notice", &[("id", &retire_id)]).await;
        assert_eq!(status, 200);
        assert_eq!(report[1][0]["business_name"], "Acme");
        assert_eq!(report[1][0]["acked_by"], "ops@acme.example");
        assert_eq!(report[1][1]["acked_ms"], Value::Null);

        let (_, entries) = call(&app, &admin, "admin_audit", &[("query[action]", "notice_published")]).await;
        assert_eq!(entries.as_array().unwrap().len(), 2);
        assert_eq!(entries[0]["actor_email"], "help@hookline.example");
    }
}
