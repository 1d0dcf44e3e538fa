use crate::endpoints::merchant;
use hookline::Error;
use hookline::api_keys::{self, ApiKeyInput, Idempotency, Refusal};
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::mode::Mode;
use std::net::IpAddr;
use std::time::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

backend_tests! {
    async fn api_keys_are_shown_once_checked_by_hash_and_address_and_revoked(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;

        let Err(Error::Validation(fields)) = api_keys::create(&t.db, &*clock, &acme, Mode::Live,
            &ApiKeyInput { name: String::new(), allowlist: "not-a-network".into(), read_secrets: false }).await else { panic!("validation") };
        assert!(fields.get("name").is_some() && fields.get("allowlist").is_some());
        let Err(Error::Validation(fields)) = api_keys::create(&t.db, &*clock, &acme, Mode::Live,
            &ApiKeyInput { name: "CI\0".into(), allowlist: format!("10.0.0.0/8 {}", "9".repeat(70_000)), read_secrets: false }).await else { panic!("validation") };
        assert_eq!(fields.get("name"), Some(hookline::validation::CONTROL_CHARACTER));
        assert!(fields.get("allowlist").unwrap().len() < 200, "a huge entry is quoted only in part");
        assert!(api_keys::list(&t.db, &acme).await.unwrap().is_empty(), "nothing stored");

        let live = api_keys::create(&t.db, &*clock, &acme, Mode::Live, &ApiKeyInput { name: "CI".into(), allowlist: String::new(), read_secrets: true }).await.unwrap();
        assert!(live.secret.starts_with("hk_live_") && live.secret.len() == 48, "{}", live.secret);
        assert!(live.secret.starts_with(&live.key.prefix));
        let fenced = api_keys::create(&t.db, &*clock, &acme, Mode::Sandbox,
            &ApiKeyInput { name: "office".into(), allowlist: "203.0.113.0/24".into(), read_secrets: false }).await.unwrap();
        assert!(fenced.secret.starts_with("hk_test_"));

        let listed = api_keys::list(&t.db, &acme).await.unwrap();
        assert_eq!(listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), vec!["office", "CI"]);
        assert!(!format!("{listed:?}").contains(&live.secret), "the key itself is never listed");
        assert!(api_keys::list(&t.db, &globex).await.unwrap().is_empty());

        let caller = api_keys::authenticate(&t.db, &*clock, &live.secret, ip("198.51.100.1")).await.unwrap().unwrap();
        assert_eq!((caller.merchant_id.as_str(), caller.mode, caller.read_secrets), (acme.as_str(), Mode::Live, true));
        assert!(caller.label.contains("CI") && caller.label.contains(&live.key.prefix));
        assert_eq!(api_keys::list(&t.db, &acme).await.unwrap()[1].last_used_ms, Some(clock.now_ms()));
        let mut wrong = live.secret.clone();
        wrong.pop();
        wrong.push('!');
        assert_eq!(api_keys::authenticate(&t.db, &*clock, &wrong, ip("198.51.100.1")).await.unwrap(), Err(Refusal::Unknown));
        assert_eq!(api_keys::authenticate(&t.db, &*clock, "whsec_abc", ip("198.51.100.1")).await.unwrap(), Err(Refusal::Unknown));

        assert!(api_keys::authenticate(&t.db, &*clock, &fenced.secret, ip("203.0.113.9")).await.unwrap().is_ok());
        assert!(api_keys::authenticate(&t.db, &*clock, &fenced.secret, ip("::ffff:203.0.113.9")).await.unwrap().is_ok());
        assert_eq!(api_keys::authenticate(&t.db, &*clock, &fenced.secret, ip("198.51.100.1")).await.unwrap(),
            Err(Refusal::Address { key_id: fenced.key.id.clone(), merchant_id: acme.clone() }));

        assert!(matches!(api_keys::revoke(&t.db, &*clock, &globex, &live.key.id).await, Err(Error::NotFound)), "only the owner revokes");
        let (revoked, now) = api_keys::revoke(&t.db, &*clock, &acme, &live.key.id).await.unwrap();
        assert_eq!((revoked.revoked_ms, now), (Some(clock.now_ms()), true));
        clock.advance(std::time::Duration::from_secs(60));
        let (again, now) = api_keys::revoke(&t.db, &*clock, &acme, &live.key.id).await.unwrap();
        assert_eq!((again.revoked_ms, now), (revoked.revoked_ms, false), "revoked once");
        assert_eq!(api_keys::authenticate(&t.db, &*clock, &live.secret, ip("198.51.100.1")).await.unwrap(), Err(Refusal::Revoked));
    }

    async fn rate_limits_and_idempotency_keys_are_shared_through_the_database(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let now = 1_800_000_000_000;
        for _ in 0..3 {
            assert_eq!(api_keys::rate_limited(&t.db, "key_a", now, 1000, 3).await.unwrap(), None);
        }
        assert_eq!(api_keys::rate_limited(&t.db, "key_a", now + 250, 1000, 3).await.unwrap(), Some(750));
        assert_eq!(api_keys::rate_limited(&t.db, "key_b", now + 250, 1000, 3).await.unwrap(), None, "per key");
        assert_eq!(api_keys::rate_limited(&t.db, "key_a", now + 1000, 1000, 3).await.unwrap(), None, "a new window");

        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_a", "k1", "h1").await.unwrap(), Idempotency::Fresh);
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_a", "k1", "h1").await.unwrap(), Idempotency::InProgress);
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_a", "k1", "h2").await.unwrap(), Idempotency::Mismatch);
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_b", "k1", "h2").await.unwrap(), Idempotency::Fresh, "per key");
        api_keys::finish_idempotent(&t.db, "key_a", "k1", 201, "{\"id\":\"ep_1\"}").await.unwrap();
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_a", "k1", "h1").await.unwrap(), Idempotency::Replay(201, "{\"id\":\"ep_1\"}".into()));
        clock.advance(Duration::from_secs(1));
        api_keys::abandon_idempotent(&t.db, "key_b", "k1").await.unwrap();
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_b", "k1", "h3").await.unwrap(), Idempotency::Fresh, "an abandoned claim can be retried");
        // A claim never answered (its node died mid-request) blocks the key
        // only until it is stale; then one retry takes it over.
        clock.advance(Duration::from_millis(api_keys::STALE_CLAIM_MS as u64 - 1));
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_b", "k1", "h3").await.unwrap(), Idempotency::InProgress);
        clock.advance(Duration::from_millis(1));
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_b", "k1", "h3").await.unwrap(), Idempotency::Fresh);
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_b", "k1", "h3").await.unwrap(), Idempotency::InProgress, "by one retry only");
        assert_eq!(api_keys::begin_idempotent(&t.db, &*clock, "key_a", "k1", "h1").await.unwrap(), Idempotency::Replay(201, "{\"id\":\"ep_1\"}".into()), "answers are kept");
    }
}
