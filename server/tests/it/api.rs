//! The merchant REST API: keys (missing, revoked, another merchant's, the
//! other mode's, outside the allowlist), every resource as a script would
//! use it, problem details, pagination while events arrive, idempotent POSTs
//! under concurrency, rate limits, and the OpenAPI document.

use crate::harness::{Options, TestApp, spawn_app_with};
use crate::portal::{call, fields, merchant_id, receiver};
use hookline::backend_tests;
use hookline::clock::Clock;
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

async fn answer(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn problem_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn publish(app: &TestApp, merchant: &str, mode: &str) -> String {
    let res = app
        .publish(
            "/internal/v1/events",
            &json!({"merchant_id": merchant, "mode": mode, "type": "payin.succeeded",
                    "data": sample_data(EventType::PayinSucceeded, app.clock.now_ms())}),
            None,
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    async fn every_request_needs_a_valid_key_of_the_right_merchant_mode_and_address(backend) {
        let app = spawn_app_with(backend, Options::default()).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let globex = app.merchant("Globex", "ops@globex.example").await;
        let sandbox_key = app.api_key(&acme, "CI", "", false).await;
        assert!(sandbox_key.starts_with("hk_test_"));
        call(&app, &acme, "set_mode", &[("mode", "live")]).await;
        let live_key = app.api_key(&acme, "deploys", "", false).await;
        assert!(live_key.starts_with("hk_live_"));
        let globex_key = app.api_key(&globex, "theirs", "", false).await;
        let fenced = app.api_key(&acme, "office only", "203.0.113.0/24", false).await;
        let loopback = app.api_key(&acme, "this host", "127.0.0.1/32", false).await;

        let res = app.api(Method::GET, "/v1/endpoints", "").send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        assert!(res.headers().contains_key("x-request-id"));
        let (_, body) = answer(res).await;
        assert_eq!((body["status"].as_u64(), body["title"].as_str()), (Some(401), Some("Unauthorized")));
        assert_eq!(app.api(Method::GET, "/v1/endpoints", "hk_live_nonsense").send().await.unwrap().status(), 401);
        // The scheme's name is case-insensitive.
        let res = app.api(Method::GET, "/v1/endpoints", "").header("authorization", format!("bearer {live_key}")).send().await.unwrap();
        assert_eq!(res.status(), 200);

        // An endpoint made with the sandbox key is invisible to the live key and to Globex.
        let (status, created) = answer(app.api(Method::POST, "/v1/endpoints", &sandbox_key)
            .json(&json!({"url": "https://hooks.acme.example/in", "event_types": ["payin.succeeded"]})).send().await.unwrap()).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["endpoint"]["mode"], "sandbox");
        let path = format!("/v1/endpoints/{}", created["endpoint"]["id"].as_str().unwrap());
        assert_eq!(app.api(Method::GET, &path, &sandbox_key).send().await.unwrap().status(), 200);
        assert_eq!(app.api(Method::GET, &path, &live_key).send().await.unwrap().status(), 404, "the other mode");
        assert_eq!(app.api(Method::GET, &path, &globex_key).send().await.unwrap().status(), 404, "another merchant");
        assert_eq!(app.api(Method::DELETE, &path, &globex_key).send().await.unwrap().status(), 404);
        let (_, listed) = answer(app.api(Method::GET, "/v1/endpoints", &live_key).send().await.unwrap()).await;
        assert_eq!(listed["data"], json!([]));

        // The sandbox inbox is the sandbox's: a live key neither reads it
        // nor points a live endpoint at it.
        let (status, inbox) = answer(app.api(Method::GET, "/v1/inbox", &sandbox_key).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(app.api(Method::GET, "/v1/inbox", &live_key).send().await.unwrap().status(), 404);
        let (status, body) = answer(app.api(Method::POST, "/v1/endpoints", &live_key)
            .json(&json!({"url": inbox["url"], "event_types": ["payin.succeeded"]})).send().await.unwrap()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["field"], "url", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("sandbox"), "{body}");

        // Outside the allowlist: 403 and an audit entry; inside it: fine.
        let (status, body) = answer(app.api(Method::GET, "/v1/endpoints", &fenced).send().await.unwrap()).await;
        assert_eq!(status, 403);
        assert!(body["detail"].as_str().unwrap().contains("127.0.0.1"));
        let (_, entries) = call(&app, &acme, "my_audit", &[("query[action]", "api_key_refused")]).await;
        assert_eq!(entries.as_array().unwrap().len(), 1);
        assert!(entries[0]["detail"].as_str().unwrap().contains("127.0.0.1"));
        assert_eq!(app.api(Method::GET, "/v1/endpoints", &loopback).send().await.unwrap().status(), 200);

        // A request id is echoed when sensible, made up otherwise.
        let res = app.api(Method::GET, "/v1/endpoints", &live_key).header("x-request-id", "trace-42").send().await.unwrap();
        assert_eq!(res.headers()["x-request-id"], "trace-42");

        // Revoked in the portal: refused from the next request on.
        let (_, keys) = call(&app, &acme, "list_api_keys", &[]).await;
        let id = keys.as_array().unwrap().iter().find(|k| k["name"] == "deploys").unwrap()["id"].as_str().unwrap().to_owned();
        assert!(!keys.to_string().contains(&live_key), "keys are never listed");
        assert_eq!(call(&app, &acme, "revoke_api_key", &[("id", &id)]).await.0, 200);
        let (status, body) = answer(app.api(Method::GET, "/v1/endpoints", &live_key).send().await.unwrap()).await;
        assert_eq!(status, 401);
        assert!(body["detail"].as_str().unwrap().contains("revoked"));
        assert_eq!(call(&app, &globex, "revoke_api_key", &[("id", &id)]).await.0, 404, "only the owner revokes");
    }

    async fn a_key_that_may_read_secrets_needs_the_password_again(backend) {
        let app = spawn_app_with(backend, Options::default()).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let reader = [("name", "reader"), ("allowlist", ""), ("read_secrets", "true")];
        let (status, body) = call(&app, &acme, "create_api_key", &reader).await;
        assert_eq!((status, fields(&body)), (422, vec!["password".to_owned()]), "{body}");
        let unnamed = [("name", ""), ("allowlist", ""), ("read_secrets", "true")];
        let (status, body) = call(&app, &acme, "create_api_key", &unnamed).await;
        assert_eq!((status, fields(&body)), (422, vec!["name".to_owned(), "password".to_owned()]), "{body}");
        let wrong = [&reader[..], &[("password", "not the password")]].concat();
        let (status, body) = call(&app, &acme, "create_api_key", &wrong).await;
        assert_eq!((status, fields(&body)), (422, vec!["password".to_owned()]), "{body}");
        let (_, keys) = call(&app, &acme, "list_api_keys", &[]).await;
        assert_eq!(keys, json!([]), "nothing was created");
        let (_, audit) = call(&app, &acme, "my_audit", &[("query[action]", "password_refused")]).await;
        assert_eq!(audit[0]["detail"], "creating a key that may read secrets", "{audit}");
        let (_, created) = call(&app, &acme, "my_audit", &[("query[action]", "api_key_created")]).await;
        assert_eq!(created, json!([]), "a refusal is no creation");

        // The right password, or a key that cannot read secrets (no password asked).
        let right = [&reader[..], &[("password", crate::harness::PASSWORD)]].concat();
        let (status, key) = call(&app, &acme, "create_api_key", &right).await;
        assert_eq!(status, 200, "{key}");
        assert_eq!(key["key"]["read_secrets"], true);
        let (status, key) = call(&app, &acme, "create_api_key", &[("name", "plain"), ("allowlist", "")]).await;
        assert_eq!((status, &key["key"]["read_secrets"]), (200, &json!(false)), "{key}");
    }

    async fn a_merchant_scripts_its_whole_setup_through_the_api(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let acme_id = merchant_id(&app, &acme).await;
        let key = app.api_key(&acme, "setup script", "", false).await;
        let reader = app.api_key(&acme, "secret reader", "", true).await;
        let (url, got) = receiver(500).await;

        // Validation: problem details naming each field; nothing stored.
        let (status, body) = answer(app.api(Method::POST, "/v1/endpoints", &key)
            .json(&json!({"url": "ftp://nowhere", "event_types": ["payin.lost"]})).send().await.unwrap()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(problem_fields(&body), vec!["url".to_owned(), "event_types".to_owned()]);
        let (status, body) = answer(app.api(Method::POST, "/v1/endpoints", &key).json(&json!({"url": 5})).send().await.unwrap()).await;
        assert_eq!((status, problem_fields(&body)), (422, vec!["url".to_owned()]));
        let (status, body) = answer(app.api(Method::POST, "/v1/endpoints", &key).json(&json!({"url": "https://a.example/in"})).send().await.unwrap()).await;
        assert_eq!((status, problem_fields(&body)), (422, vec!["event_types".to_owned()]), "{body}");
        let (status, _) = answer(app.api(Method::POST, "/v1/endpoints", &key).body("{not json").send().await.unwrap()).await;
        assert_eq!(status, 400);
        let (_, listed) = answer(app.api(Method::GET, "/v1/endpoints", &key).send().await.unwrap()).await;
        assert_eq!(listed["data"], json!([]));

        // Create, change, read.
        let (status, created) = answer(app.api(Method::POST, "/v1/endpoints", &key)
            .json(&json!({"url": url, "description": "orders", "event_types": ["payin.succeeded"]})).send().await.unwrap()).await;
        assert_eq!(status, 201, "{created}");
        let id = created["endpoint"]["id"].as_str().unwrap().to_owned();
        let ep = format!("/v1/endpoints/{id}");
        let (status, changed) = answer(app.api(Method::PATCH, &ep, &key)
            .json(&json!({"event_types": ["payin.succeeded", "refund.updated"]})).send().await.unwrap()).await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["endpoint"]["event_types"], json!(["payin.succeeded", "refund.updated"]));
        assert_eq!(changed["endpoint"]["description"], "orders", "left out, kept");

        // Secrets: only with a key allowed to read them; rotation keeps the old one signing.
        assert_eq!(app.api(Method::GET, &format!("{ep}/secret"), &key).send().await.unwrap().status(), 403);
        let (status, secret) = answer(app.api(Method::GET, &format!("{ep}/secret"), &reader).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert!(secret["secret"].as_str().unwrap().starts_with("whsec_"));
        let (status, body) = answer(app.api(Method::POST, &format!("{ep}/secret/rotate"), &key).json(&json!({"grace": "forever"})).send().await.unwrap()).await;
        assert_eq!((status, problem_fields(&body)), (422, vec!["grace".to_owned()]));
        let (status, secrets) = answer(app.api(Method::POST, &format!("{ep}/secret/rotate"), &key).json(&json!({"grace": "one_day"})).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(secrets["data"].as_array().unwrap().len(), 2);
        let (_, entries) = call(&app, &acme, "my_audit", &[("query[action]", "secret_revealed")]).await;
        assert!(entries[0]["actor_email"].as_str().unwrap().contains("secret reader"));

        // A test event and the readiness check, against the real receiver.
        let (status, test) = answer(app.api(Method::POST, &format!("{ep}/test"), &key).json(&json!({"event_type": "refund.updated"})).send().await.unwrap()).await;
        assert_eq!(status, 200, "{test}");
        assert_eq!(test["status"], 500);
        assert!(test["request_headers"]["webhook-signature"].as_str().unwrap().starts_with("v1,"));
        let (status, report) = answer(app.api(Method::POST, &format!("{ep}/readiness"), &key).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!((report["passed"].as_bool(), report["results"].as_array().unwrap().len()), (Some(false), 4));

        // Real traffic: the log, one event, resend, recover.
        let event = publish(&app, &acme_id, "sandbox").await;
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);
        let (status, log) = answer(app.api(Method::GET, "/v1/deliveries?status=pending&limit=10", &key).send().await.unwrap()).await;
        assert_eq!(status, 200, "{log}");
        assert_eq!(log["rows"][0]["event_id"], event.as_str());
        let (status, body) = answer(app.api(Method::GET, "/v1/deliveries?status=lost", &key).send().await.unwrap()).await;
        assert_eq!((status, problem_fields(&body)), (422, vec!["status".to_owned()]));
        let (status, detail) = answer(app.api(Method::GET, &format!("/v1/events/{event}"), &key).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(detail["deliveries"][0]["attempts"][0]["response_status"], 500);
        let (_, queued) = answer(app.api(Method::POST, &format!("/v1/events/{event}/resend"), &key).send().await.unwrap()).await;
        assert_eq!(queued["queued"], 1);
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);
        let before = got.lock().unwrap().len();
        let (status, released) = answer(app.api(Method::POST, &format!("{ep}/disable"), &key).send().await.unwrap()).await;
        assert_eq!((status, released["status"].as_str()), (200, Some("disabled")));
        let (_, released) = answer(app.api(Method::POST, &format!("{ep}/enable"), &key).json(&json!({"held": "discard"})).send().await.unwrap()).await;
        assert_eq!(released["released"], 1);
        let from = hookline::time::format_input(app.clock.now_ms() - 3_600_000);
        let to = hookline::time::format_input(app.clock.now_ms() + 60_000);
        let range = json!({"from": format!("{from}:00Z"), "to": format!("{to}:00Z"), "dry_run": true});
        let (status, plan) = answer(app.api(Method::POST, &format!("{ep}/recover"), &key).json(&range).send().await.unwrap()).await;
        assert_eq!((status, plan["failed"].as_i64()), (200, Some(1)), "{plan}");
        let mut go = range.clone();
        go["dry_run"] = json!(false);
        let (_, plan) = answer(app.api(Method::POST, &format!("{ep}/recover"), &key).json(&go).send().await.unwrap()).await;
        assert_eq!(plan["to_send"], 1);
        assert_eq!(app.dispatcher.step().await.unwrap(), 1);
        assert_eq!(got.lock().unwrap().len(), before + 1, "the recovered event was sent");

        // The sandbox inbox and notices.
        let (status, inbox) = answer(app.api(Method::GET, "/v1/inbox", &key).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert!(inbox["url"].as_str().unwrap().contains("/inbox/"));
        let (_, notices) = answer(app.api(Method::GET, "/v1/notices", &key).send().await.unwrap()).await;
        assert_eq!(notices["data"], json!([]));
        assert_eq!(app.api(Method::POST, "/v1/notices/ntc_none/acknowledge", &key).send().await.unwrap().status(), 404);

        // Delete: gone from the API, its log stays.
        assert_eq!(app.api(Method::DELETE, &ep, &key).send().await.unwrap().status(), 204);
        assert_eq!(app.api(Method::GET, &ep, &key).send().await.unwrap().status(), 404);
        let (_, log) = answer(app.api(Method::GET, "/v1/deliveries", &key).send().await.unwrap()).await;
        assert!(!log["rows"].as_array().unwrap().is_empty());
        let (_, entries) = call(&app, &acme, "my_audit", &[("query[action]", "endpoint_deleted")]).await;
        assert!(entries[0]["actor_email"].as_str().unwrap().contains("setup script"), "API changes are audited as the key");
    }

    async fn the_feed_pages_without_gaps_while_events_arrive(backend) {
        let app = spawn_app_with(backend, Options::default()).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let acme_id = merchant_id(&app, &acme).await;
        let key = app.api_key(&acme, "reconciler", "", false).await;
        let total = 60;
        let publisher = {
            let (base, token, merchant) = (app.url(""), app.ingest_token.clone(), acme_id.clone());
            let now = app.clock.now_ms();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut ids = Vec::new();
                for _ in 0..total {
                    let res = client.post(format!("{base}/internal/v1/events")).bearer_auth(&token)
                        .json(&json!({"merchant_id": merchant, "mode": "sandbox", "type": "payin.succeeded",
                                      "data": sample_data(EventType::PayinSucceeded, now)}))
                        .send().await.unwrap();
                    ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
                }
                ids
            })
        };
        let mut seen = Vec::new();
        let mut after = String::new();
        while seen.len() < total {
            let (status, page) = answer(app.api(Method::GET, &format!("/v1/events?limit=7&after={after}"), &key).send().await.unwrap()).await;
            assert_eq!(status, 200, "{page}");
            for e in page["data"].as_array().unwrap() {
                seen.push(e["id"].as_str().unwrap().to_owned());
                assert_eq!(e["deliveries"], json!([]), "no endpoint yet");
            }
            after = page["next"].as_str().unwrap().to_owned();
        }
        let published = publisher.await.unwrap();
        assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), seen.len(), "no repeats");
        assert_eq!(seen.iter().collect::<BTreeSet<_>>(), published.iter().collect::<BTreeSet<_>>(), "no gaps");
        let (status, body) = answer(app.api(Method::GET, "/v1/events?after=garbage", &key).send().await.unwrap()).await;
        assert_eq!((status, problem_fields(&body)), (422, vec!["after".to_owned()]));
    }

    async fn posts_are_idempotent_under_concurrency_and_keys_are_rate_limited(backend) {
        let app = spawn_app_with(backend, Options { api_rate_per_minute: Some(30), ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let key = app.api_key(&acme, "retrying client", "", false).await;
        let body = json!({"url": "https://hooks.acme.example/in", "event_types": ["payin.succeeded"]});
        let attempts: Vec<_> = (0..6).map(|_| {
            app.api(Method::POST, "/v1/endpoints", &key).header("idempotency-key", "create-orders-hook").json(&body).send()
        }).collect();
        let mut statuses = Vec::new();
        let mut ids = BTreeSet::new();
        for res in futures_join(attempts).await {
            let res = res.unwrap();
            let replayed = res.headers().contains_key("idempotent-replayed");
            let (status, b) = answer(res).await;
            statuses.push((status, replayed));
            if status == 201 {
                ids.insert(b["endpoint"]["id"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(status, 409, "{b}");
            }
        }
        assert_eq!(ids.len(), 1, "one endpoint whatever the race: {statuses:?}");
        assert_eq!(statuses.iter().filter(|(s, r)| *s == 201 && !r).count(), 1, "{statuses:?}");
        let res = app.api(Method::POST, "/v1/endpoints", &key).header("idempotency-key", "create-orders-hook").json(&body).send().await.unwrap();
        assert_eq!(res.headers()["idempotent-replayed"], "true");
        let (status, again) = answer(res).await;
        assert_eq!((status, again["endpoint"]["id"].as_str().map(str::to_owned)), (201, ids.iter().next().cloned()));
        let (_, listed) = answer(app.api(Method::GET, "/v1/endpoints", &key).send().await.unwrap()).await;
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);
        let (status, b) = answer(app.api(Method::POST, "/v1/endpoints", &key).header("idempotency-key", "create-orders-hook")
            .json(&json!({"url": "https://other.acme.example/in", "event_types": ["payin.succeeded"]})).send().await.unwrap()).await;
        assert_eq!((status, problem_fields(&b)), (422, vec!["Idempotency-Key".to_owned()]));
        // A replayed 204 is as bare as the first: no body, so no content type.
        let admin = app.admin("help@hookline.example").await;
        let (_, notice) = call(&app, &admin, "admin_publish_notice", &[
            ("input[title]", "Maintenance"), ("input[body]", "Sunday 02:00 UTC."),
            ("input[effective_date]", "2027-01-03"), ("input[audience]", "all"),
        ]).await;
        let acknowledge = format!("/v1/notices/{}/acknowledge", notice["id"].as_str().unwrap());
        for replay in [false, true] {
            let res = app.api(Method::POST, &acknowledge, &key).header("idempotency-key", "ack-maintenance").send().await.unwrap();
            assert_eq!(res.status(), 204);
            assert_eq!(res.headers().contains_key("idempotent-replayed"), replay);
            assert_eq!(res.headers().get("content-type"), None, "replayed: {replay}");
        }

        // 30 requests a minute: the rest wait for the next window.
        let mut last = 0;
        for _ in 0..40 {
            last = app.api(Method::GET, "/v1/endpoints", &key).send().await.unwrap().status().as_u16();
            if last == 429 {
                break;
            }
        }
        assert_eq!(last, 429);
        let res = app.api(Method::GET, "/v1/endpoints", &key).send().await.unwrap();
        let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        app.clock.advance(std::time::Duration::from_secs(61));
        assert_eq!(app.api(Method::GET, "/v1/endpoints", &key).send().await.unwrap().status(), 200);
        let other = app.api_key(&acme, "another", "", false).await;
        assert_eq!(app.api(Method::GET, "/v1/endpoints", &other).send().await.unwrap().status(), 200, "per key");
    }

    async fn every_error_is_a_problem_document(backend) {
        let app = spawn_app_with(backend, Options::default()).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let key = app.api_key(&acme, "CI", "", false).await;
        let cases = [
            (Method::GET, "/v1/endpoint", 404),
            (Method::GET, "/v1/endpoints/", 404),
            (Method::PUT, "/v1/endpoints", 405),
            (Method::GET, "/v1/events/%FF", 400),
        ];
        for (method, path, want) in cases {
            let res = app.api(method.clone(), path, &key).send().await.unwrap();
            assert_eq!(res.status(), want, "{method} {path}");
            assert_eq!(res.headers()["content-type"], "application/problem+json", "{method} {path}");
            if want == 405 {
                assert!(res.headers()["allow"].to_str().unwrap().contains("POST"));
            }
            let (_, body) = answer(res).await;
            assert_eq!(body["status"], want, "{body}");
            assert!(!body["detail"].as_str().unwrap().is_empty(), "{body}");
        }
        // A query parameter of the wrong type is named.
        let cases = [
            ("/v1/events?limit=abc", "limit"),
            ("/v1/events?limit=99999999999999999999", "limit"),
            ("/v1/deliveries?limit=1&limit=2", "limit"),
            ("/v1/events?limt=5", "limt"),
            ("/v1/deliveries?endpont=ep_1", "endpont"),
        ];
        for (path, field) in cases {
            let (status, body) = answer(app.api(Method::GET, path, &key).send().await.unwrap()).await;
            assert_eq!(status, 422, "{path}: {body}");
            assert_eq!(problem_fields(&body), vec![field.to_owned()], "{path}: {body}");
        }
    }

    async fn a_client_that_hangs_up_finds_its_answer_on_retry(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let key = app.api_key(&acme, "impatient client", "", false).await;
        // The merchant's server takes a second to answer the test event.
        let got = Arc::new(AtomicUsize::new(0));
        let seen = got.clone();
        let slow = axum::Router::new().route("/hook", axum::routing::post(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { tokio::time::sleep(Duration::from_secs(1)).await; "thanks" }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, slow).await.unwrap() });
        let (_, created) = answer(app.api(Method::POST, "/v1/endpoints", &key)
            .json(&json!({"url": url, "event_types": ["payin.succeeded"]})).send().await.unwrap()).await;
        let test = format!("/v1/endpoints/{}/test", created["endpoint"]["id"].as_str().unwrap());
        let send = || app.api(Method::POST, &test, &key).header("idempotency-key", "test-1").json(&json!({"event_type": "payin.succeeded"}));

        // The client gives up after 200 ms; the request runs on and its answer is kept.
        assert!(send().timeout(Duration::from_millis(200)).send().await.unwrap_err().is_timeout());
        let mut tries = 0;
        let res = loop {
            let res = send().send().await.unwrap();
            if res.status() != 409 {
                break res;
            }
            tries += 1;
            assert!(tries < 100, "the key stayed claimed with no answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(res.headers()["idempotent-replayed"], "true");
        let (status, body) = answer(res).await;
        assert_eq!((status, body["status"].as_u64()), (200, Some(200)), "{body}");
        assert_eq!(got.load(Ordering::SeqCst), 1, "sent once");
    }

    async fn every_route_refuses_missing_revoked_foreign_and_fenced_keys(backend) {
        let app = spawn_app_with(backend, Options { dev_destinations: true, ..Options::default() }).await;
        let acme = app.merchant("Acme", "ops@acme.example").await;
        let globex = app.merchant("Globex", "ops@globex.example").await;
        let acme_id = merchant_id(&app, &acme).await;
        let key = app.api_key(&acme, "owner", "", true).await;
        let revoked = app.api_key(&acme, "old", "", true).await;
        let fenced = app.api_key(&acme, "office", "203.0.113.0/24", true).await;
        let theirs = app.api_key(&globex, "globex", "", true).await;
        call(&app, &acme, "set_mode", &[("mode", "live")]).await;
        let live = app.api_key(&acme, "live", "", true).await;
        let (_, keys) = call(&app, &acme, "list_api_keys", &[]).await;
        let old = keys.as_array().unwrap().iter().find(|k| k["name"] == "old").unwrap()["id"].as_str().unwrap().to_owned();
        call(&app, &acme, "revoke_api_key", &[("id", &old)]).await;

        let (_, created) = answer(app.api(Method::POST, "/v1/endpoints", &key)
            .json(&json!({"url": "https://hooks.acme.example/in", "event_types": ["payin.succeeded"]})).send().await.unwrap()).await;
        let endpoint = created["endpoint"]["id"].as_str().unwrap().to_owned();
        let event = publish(&app, &acme_id, "sandbox").await;
        let notice = hookline::notices::publish(&app.db, &*app.clock, "help@hookline.example", &hookline::notices::NoticeInput {
            title: "For Acme".into(), body: "Only Acme sees this.".into(), effective_date: "2027-01-01".into(),
            audience: "chosen".into(), merchants: acme_id.clone(), retiring_version: String::new(),
        }).await.unwrap();

        for op in server::http::api::ops() {
            let id = if op.path.starts_with("/v1/endpoints/") {
                endpoint.as_str()
            } else if op.path.starts_with("/v1/events/") {
                event.as_str()
            } else {
                notice.id.as_str()
            };
            let path = op.path.replace("{id}", id);
            let send = |k: &str| {
                let mut req = app.api(op.method.clone(), &path, k);
                if let Some(example) = op.request_example {
                    req = req.json(&example());
                }
                req.send()
            };
            let what = format!("{} {}", op.method, op.path);
            assert_eq!(send("").await.unwrap().status(), 401, "{what} without a key");
            assert_eq!(send(&revoked).await.unwrap().status(), 401, "{what} with a revoked key");
            assert_eq!(send(&fenced).await.unwrap().status(), 403, "{what} from outside the allowlist");
            let foreign = [("another merchant's key", theirs.as_str()), ("the other mode's key", live.as_str())];
            for (who, k) in foreign {
                // Notices are per merchant, not per mode.
                if who == "the other mode's key" && op.path.starts_with("/v1/notices/") {
                    continue;
                }
                let res = send(k).await.unwrap();
                let status = res.status().as_u16();
                // The inbox is the sandbox's: a live key finds none.
                let no_inbox = who == "the other mode's key" && op.path == "/v1/inbox";
                if op.path.contains("{id}") || no_inbox {
                    assert_eq!(status, 404, "{what} with {who}");
                } else {
                    assert!(status < 300, "{what} with {who}: {status}");
                    let body = res.text().await.unwrap();
                    assert!(!body.contains(&endpoint) && !body.contains(&event), "{what} with {who} shows nothing of Acme's sandbox");
                }
            }
        }
        let (_, entries) = call(&app, &acme, "my_audit", &[("query[action]", "api_key_refused")]).await;
        assert_eq!(entries.as_array().unwrap().len(), server::http::api::ops().len(), "every refusal is audited");
        assert_eq!(app.api(Method::GET, &format!("/v1/endpoints/{endpoint}"), &key).send().await.unwrap().status(), 200, "still there");
    }

    async fn the_openapi_document_lists_every_route_with_its_schemas(backend) {
        let app = spawn_app_with(backend, Options::default()).await;
        let res = app.api(Method::GET, "/v1/openapi.json", "").send().await.unwrap();
        assert_eq!(res.status(), 200, "served without a key");
        let doc: Value = res.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let ops = server::http::api::ops();
        assert!(ops.len() >= 19);
        for op in &ops {
            let method = op.method.as_str().to_ascii_lowercase();
            let entry = &doc["paths"][op.path][&method];
            assert!(entry.is_object(), "{} {} is documented", op.method, op.path);
            assert!(entry["responses"][op.response.0.to_string()].is_object());
            // The route exists: without a key it is refused, not missing.
            let path = op.path.replace("{id}", "x_1");
            let status = app.api(op.method.clone(), &path, "").send().await.unwrap().status();
            assert_eq!(status, 401, "{} {path} is routed", op.method);
        }
        let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(documented, ops.len(), "nothing documented that is not routed");
        // Every reference points at a schema in the document.
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "{name} is defined");
        }
        assert!(schemas.contains_key("EndpointSummary") && schemas.contains_key("FeedPage"));
        // Every example matches its schema.
        let mut checked = 0;
        for op in &ops {
            let entry = &doc["paths"][op.path][op.method.as_str().to_ascii_lowercase()];
            let mut pairs = vec![
                entry["responses"][op.response.0.to_string()]["content"]["application/json"].clone(),
                entry["responses"]["422"]["content"]["application/problem+json"].clone(),
            ];
            pairs.push(entry["requestBody"]["content"]["application/json"].clone());
            for content in pairs {
                let (Some(schema), Some(example)) = (content.get("schema"), content.get("example")) else { continue };
                let mut root = schema.clone();
                if let Some(obj) = root.as_object_mut() {
                    obj.insert("components".into(), doc["components"].clone());
                }
                let validator = jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("{}: {e}", op.id));
                let errors: Vec<String> = validator.iter_errors(example).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{} example: {errors:?}", op.id);
                checked += 1;
            }
        }
        assert!(checked >= 25, "{checked} examples checked");
        assert_eq!(app.api(Method::GET, "/v1/nothing-here", "").send().await.unwrap().status(), 404);
    }
}

/// Runs the futures at once and answers their results in order.
async fn futures_join<F: std::future::Future + Send + 'static>(futures: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
