use crate::endpoints::{input, merchant, sbox};
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::endpoint::{EndpointRules, EndpointView, GracePeriod};
use hookline::endpoints;
use hookline::events::EventType;
use hookline::inbox;
use hookline::mode::Mode;
use hookline::signing::{SigningSecret, signature_header};
use hookline::store::Db;
use std::collections::BTreeMap;
use std::time::Duration;

const BASE: &str = "http://127.0.0.1:3000/inbox/";

fn signed(
    secrets: &[&SigningSecret],
    id: &str,
    ts_secs: i64,
    body: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("webhook-id".to_owned(), id.to_owned()),
        ("webhook-timestamp".to_owned(), ts_secs.to_string()),
        (
            "webhook-signature".to_owned(),
            signature_header(secrets.iter().copied(), id, ts_secs, body.as_bytes()),
        ),
        ("content-type".to_owned(), "application/json".to_owned()),
    ])
}

/// A sandbox endpoint of `merchant` for pay-ins at `url`, and its signing secret.
async fn endpoint_at(
    db: &Db,
    clock: &dyn Clock,
    merchant: &str,
    url: &str,
) -> (EndpointView, SigningSecret) {
    let rules = EndpointRules {
        allow_http: true,
        opt_in_approved: false,
    };
    let ep = endpoints::create(
        db,
        &sbox(),
        clock,
        merchant,
        Mode::Sandbox,
        &input(url, &[EventType::PayinSucceeded]),
        rules,
    )
    .await
    .unwrap();
    let secret = endpoints::current_secret(db, &sbox(), clock, merchant, &ep.id)
        .await
        .unwrap();
    (ep, secret)
}

backend_tests! {
    async fn the_inbox_answers_like_a_careful_merchant_server(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let url = inbox::url(&t.db, &*clock, BASE, &acme).await.unwrap();
        assert!(url.starts_with(BASE));
        assert_eq!(inbox::url(&t.db, &*clock, BASE, &acme).await.unwrap(), url, "one inbox per merchant");
        assert_ne!(inbox::url(&t.db, &*clock, BASE, &globex).await.unwrap(), url);
        let token = url.trim_start_matches(BASE);
        let receive = |headers: BTreeMap<String, String>, body: &'static str| {
            let (db, clock) = (t.db.clone(), clock.clone());
            let token = token.to_owned();
            async move { inbox::receive(&db, &sbox(), &*clock, BASE, &token, &headers, body.as_bytes()).await.unwrap().unwrap() }
        };
        let body = r#"{"type":"payin.succeeded","data":{}}"#;
        let now = clock.now_ms() / 1000;

        // No endpoint points here yet: there is no secret to check with.
        let answer = receive(signed(&[&SigningSecret::generate()], "evt_1", now, body), body).await;
        assert_eq!(answer.status, 401);
        assert!(answer.verdict.contains("No endpoint"));

        let (ep, secret) = endpoint_at(&t.db, &*clock, &acme, &url).await;

        let ok = receive(signed(&[&secret], "evt_1", now, body), body).await;
        assert_eq!((ok.status, ok.verdict.as_str()), (200, "Signature valid."));
        let again = receive(signed(&[&secret], "evt_1", now, body), body).await;
        assert_eq!(again.status, 200);
        assert!(again.verdict.contains("arrived before"), "{}", again.verdict);
        let forged = receive(signed(&[&SigningSecret::generate()], "evt_2", now, body), body).await;
        assert_eq!(forged.status, 401);
        assert!(forged.verdict.contains("matches none"));
        let stale = receive(signed(&[&secret], "evt_3", now - 600, body), body).await;
        assert_eq!(stale.status, 401);
        assert!(stale.verdict.contains("5 minutes"));
        let mut tampered = signed(&[&secret], "evt_4", now, body);
        tampered.insert("webhook-id".into(), "evt_other".into());
        assert_eq!(receive(tampered, body).await.status, 401);
        let bare = receive(BTreeMap::new(), body).await;
        assert_eq!(bare.status, 400, "answered, but not kept: it cannot be a webhook");
        // Oversized headers are kept cut short, the webhook ones first.
        let mut padded = signed(&[&secret], "evt_4b", now, body);
        for i in 0..50 {
            padded.insert(format!("x-pad-{i:02}"), "p".repeat(5000));
        }
        assert_eq!(receive(padded, body).await.status, 200);
        let kept = &inbox::messages(&t.db, &acme).await.unwrap()[0];
        assert_eq!(kept.webhook_id.as_deref(), Some("evt_4b"));
        assert_eq!(kept.headers.len(), inbox::MAX_KEPT_HEADERS);
        assert!(kept.headers.iter().any(|(name, _)| name == "webhook-signature"));
        assert!(kept.headers.iter().all(|(_, value)| value.chars().count() <= inbox::MAX_KEPT_HEADER_VALUE + 1));

        // During a rotation both signatures arrive; either secret verifies.
        endpoints::rotate_secret(&t.db, &sbox(), &*clock, &acme, &ep.id, GracePeriod::OneHour).await.unwrap();
        let new = endpoints::current_secret(&t.db, &sbox(), &*clock, &acme, &ep.id).await.unwrap();
        assert_eq!(receive(signed(&[&secret], "evt_5", now, body), body).await.status, 200);
        assert_eq!(receive(signed(&[&new], "evt_6", now, body), body).await.status, 200);
        clock.advance(Duration::from_secs(3601));
        let now = clock.now_ms() / 1000;
        assert_eq!(receive(signed(&[&secret], "evt_7", now, body), body).await.status, 401, "the old secret has expired");

        // The portal lists what arrived, newest first, to its merchant only.
        let listed = inbox::messages(&t.db, &acme).await.unwrap();
        assert_eq!(listed.len(), 10, "the bare request is not listed; the padded one is");
        assert_eq!(listed[0].webhook_id.as_deref(), Some("evt_7"));
        assert!(!listed[0].signature_valid);
        let first_ok = listed.iter().find(|m| m.webhook_id.as_deref() == Some("evt_6")).unwrap();
        assert!(first_ok.signature_valid);
        assert_eq!(first_ok.endpoint_id.as_deref(), Some(ep.id.as_str()));
        assert_eq!(first_ok.event_type.as_deref(), Some("payin.succeeded"));
        assert!(first_ok.body.contains("\n  \"type\""), "pretty-printed");
        assert!(inbox::messages(&t.db, &globex).await.unwrap().is_empty());

        // A raw NUL byte in the body (PostgreSQL cannot store it in text) is
        // still checked against the bytes sent, and kept for display as U+FFFD.
        let odd = "{\"note\":\"a\0b\"}";
        let answer = receive(signed(&[&new], "evt_8", now, odd), odd).await;
        assert_eq!(answer.status, 200, "{}", answer.verdict);
        let listed = inbox::messages(&t.db, &acme).await.unwrap();
        assert_eq!(listed[0].webhook_id.as_deref(), Some("evt_8"));
        assert!(listed[0].body.contains("a\u{FFFD}b"), "{}", listed[0].body);

        // An unknown token is no inbox.
        let none = inbox::receive(&t.db, &sbox(), &*clock, BASE, "ibx_nope", &BTreeMap::new(), b"{}").await.unwrap();
        assert!(none.is_none());
    }

    async fn the_inbox_keeps_the_latest_messages_valid_and_refused_apart(backend) {
        use hookline::store::inbox::{KEEP, KEEP_REFUSED};
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let url = inbox::url(&t.db, &*clock, BASE, &acme).await.unwrap();
        let token = url.trim_start_matches(BASE);
        let (_, secret) = endpoint_at(&t.db, &*clock, &acme, &url).await;
        for i in 0..(KEEP + 5) {
            clock.advance(Duration::from_millis(1));
            let headers = signed(&[&secret], &format!("evt_{i}"), clock.now_ms() / 1000, "x");
            let answer = inbox::receive(&t.db, &sbox(), &*clock, BASE, token, &headers, b"x").await.unwrap().unwrap();
            assert_eq!(answer.status, 200, "{}", answer.verdict);
        }
        // A stranger who knows the URL posts many wrongly signed messages:
        // refused and kept, but only the latest few, and the real ones stay.
        for i in 0..(KEEP_REFUSED + 30) {
            clock.advance(Duration::from_millis(1));
            let headers = signed(&[&SigningSecret::generate()], &format!("bad_{i}"), clock.now_ms() / 1000, "x");
            let answer = inbox::receive(&t.db, &sbox(), &*clock, BASE, token, &headers, b"x").await.unwrap().unwrap();
            assert_eq!(answer.status, 401, "{}", answer.verdict);
        }
        // An id too long to index is refused and not kept.
        let long_id = "a".repeat(3000);
        let answer = inbox::receive(&t.db, &sbox(), &*clock, BASE, token, &signed(&[&secret], &long_id, clock.now_ms() / 1000, "x"), b"x").await.unwrap().unwrap();
        assert_eq!(answer.status, 400);
        assert!(answer.verdict.contains("256"), "{}", answer.verdict);

        let kept = hookline::store::inbox::latest(&t.db, &acme, 1000).await.unwrap();
        let (valid, refused): (Vec<_>, Vec<_>) = kept.iter().partition(|m| m.signature_valid);
        assert_eq!(valid.len() as i64, KEEP);
        assert_eq!(valid[0].webhook_id.as_deref(), Some(format!("evt_{}", KEEP + 4).as_str()));
        assert_eq!(valid.last().unwrap().webhook_id.as_deref(), Some("evt_5"));
        assert_eq!(refused.len() as i64, KEEP_REFUSED);
        assert_eq!(refused[0].webhook_id.as_deref(), Some(format!("bad_{}", KEEP_REFUSED + 29).as_str()));
    }
    async fn an_inbox_takes_a_limited_number_of_messages_a_minute(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let url = inbox::url(&t.db, &*clock, BASE, &acme).await.unwrap();
        let token = url.trim_start_matches(BASE);
        let theirs = inbox::url(&t.db, &*clock, BASE, &globex).await.unwrap();
        let (_, secret) = endpoint_at(&t.db, &*clock, &acme, &url).await;
        // Start at the beginning of a window, so that the whole flood falls in one.
        clock.advance(Duration::from_millis((60_000 - clock.now_ms().rem_euclid(60_000)) as u64));

        // A stranger's flood of posts without the webhook headers.
        for _ in 0..inbox::MAX_PER_MINUTE {
            let answer = inbox::receive(&t.db, &sbox(), &*clock, BASE, token, &BTreeMap::new(), b"{}").await.unwrap().unwrap();
            assert_eq!(answer.status, 400, "{}", answer.verdict);
            assert_eq!(answer.retry_after_secs, None);
        }
        clock.advance(Duration::from_secs(15));
        // Over the limit even a good delivery is refused, not kept, and told when to come back.
        let good = signed(&[&secret], "evt_1", clock.now_ms() / 1000, "x");
        let answer = inbox::receive(&t.db, &sbox(), &*clock, BASE, token, &good, b"x").await.unwrap().unwrap();
        assert_eq!(answer.status, 429, "{}", answer.verdict);
        assert_eq!(answer.retry_after_secs, Some(45));
        assert!(answer.verdict.contains("600 messages a minute"), "{}", answer.verdict);
        assert!(inbox::messages(&t.db, &acme).await.unwrap().is_empty());
        // Another merchant's inbox has a count of its own.
        let answer = inbox::receive(&t.db, &sbox(), &*clock, BASE, theirs.trim_start_matches(BASE), &BTreeMap::new(), b"{}").await.unwrap().unwrap();
        assert_eq!(answer.status, 400);

        // The next minute the retried delivery is taken.
        clock.advance(Duration::from_secs(45));
        let good = signed(&[&secret], "evt_1", clock.now_ms() / 1000, "x");
        let answer = inbox::receive(&t.db, &sbox(), &*clock, BASE, token, &good, b"x").await.unwrap().unwrap();
        assert_eq!(answer.status, 200, "{}", answer.verdict);
        assert_eq!(inbox::messages(&t.db, &acme).await.unwrap().len(), 1);
    }
}
