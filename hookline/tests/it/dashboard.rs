use crate::deliveries::insert_attempt;
use crate::endpoints::{input, merchant, sbox};
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::dashboard::{self, CHART_HOURS, NoticeKind};
use hookline::endpoint::EndpointRules;
use hookline::endpoints;
use hookline::events::EventType;
use hookline::mode::Mode;
use hookline::readiness::{ReadinessReport, Scenario, ScenarioResult};
use hookline::store::health::{self, DisabledReason};

const DAY: i64 = 86_400_000;

backend_tests! {
    async fn the_dashboard_percentiles_are_nearest_rank_over_the_window(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://a.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        let now = clock.now_ms();
        // Twenty attempts today taking 20, 19, … 1 ms, and a slow one last week.
        for n in 1..=21 {
            let at = if n == 21 { now - 3 * DAY } else { now - 1000 * n as i64 };
            insert_attempt(&t.db, &acme, &ep.id, at, true, n).await;
            let latency = if n == 21 { 5000 } else { 21 - n as i64 };
            hookline::on_db!(&t.db, |pool| {
                sqlx::query("UPDATE attempts SET latency_ms = $1 WHERE id = $2")
                    .bind(latency).bind(format!("att_t{n}")).execute(pool).await.unwrap();
            });
        }
        let d = dashboard::load(&t.db, &*clock, &acme, Mode::Live).await.unwrap();
        assert_eq!((d.day.attempts, d.day.p50_ms, d.day.p95_ms), (20, Some(10), Some(19)));
        assert_eq!((d.week.attempts, d.week.p50_ms, d.week.p95_ms), (21, Some(11), Some(20)));
    }

    async fn the_dashboard_counts_the_day_and_week_and_flags_what_needs_attention(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let rules = EndpointRules::default();
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://a.acme.example/in", &[EventType::PayinSucceeded]), rules).await.unwrap();
        let other = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://b.acme.example/in", &[EventType::PayinSucceeded]), rules).await.unwrap();
        let theirs = endpoints::create(&t.db, &sbox(), &*clock, &globex, Mode::Live,
            &input("https://globex.example/in", &[EventType::PayinSucceeded]), rules).await.unwrap();

        let empty = dashboard::load(&t.db, &*clock, &acme, Mode::Live).await.unwrap();
        assert_eq!(empty.day.attempts, 0);
        assert_eq!(empty.day.success_rate(), None);
        assert_eq!(empty.chart.len(), CHART_HOURS);
        assert!(empty.attention.is_empty() && empty.notices.is_empty());
        assert_eq!(empty.endpoint_count, 2);

        let now = clock.now_ms();
        insert_attempt(&t.db, &acme, &ep.id, now - 100, true, 1).await;
        insert_attempt(&t.db, &acme, &ep.id, now - 200, false, 2).await;
        insert_attempt(&t.db, &acme, &ep.id, now - 2 * DAY, true, 3).await;
        insert_attempt(&t.db, &acme, &ep.id, now - 8 * DAY, true, 4).await;
        insert_attempt(&t.db, &globex, &theirs.id, now - 100, false, 5).await;

        let d = dashboard::load(&t.db, &*clock, &acme, Mode::Live).await.unwrap();
        assert_eq!((d.day.deliveries, d.day.delivered, d.day.attempts, d.day.attempts_ok), (2, 1, 2, 1));
        assert_eq!(d.day.success_rate(), Some(50.0));
        assert_eq!((d.day.p50_ms, d.day.p95_ms), (Some(12), Some(12)));
        assert_eq!((d.week.attempts, d.week.attempts_ok), (3, 2), "eight days ago is outside the week");
        let last = d.chart.last().unwrap();
        assert_eq!((last.delivered, last.rejected, last.unreachable), (1, 1, 0));
        assert!(last.start_ms <= now && now < last.start_ms + 3_600_000);
        assert_eq!(d.chart.iter().map(|b| b.total()).sum::<i64>(), 2, "two days ago is not in the chart");
        assert!(dashboard::load(&t.db, &*clock, &acme, Mode::Sandbox).await.unwrap().day.attempts == 0);

        // A failing endpoint, an auto-disabled one and a failed readiness check.
        health::record_failure(&t.db, &ep.id, now, 100, now).await.unwrap();
        health::disable(&t.db, &other.id, DisabledReason::Failing, now).await.unwrap();
        let report = ReadinessReport {
            endpoint_id: ep.id.clone(),
            url: ep.url.clone(),
            passed: false,
            checked_ms: now,
            results: vec![ScenarioResult { scenario: Scenario::WrongSignature, passed: false, detail: "answered 200".into() }],
        };
        hookline::readiness::record(&t.db, &acme, Mode::Live, &report).await.unwrap();
        let d = dashboard::load(&t.db, &*clock, &acme, Mode::Live).await.unwrap();
        assert_eq!(d.attention.len(), 2);
        let kinds: Vec<NoticeKind> = d.notices.iter().map(|n| n.kind).collect();
        assert!(kinds.contains(&NoticeKind::AutoDisabled) && kinds.contains(&NoticeKind::ReadinessFailed), "{kinds:?}");
        assert!(d.notices.iter().all(|n| n.link.starts_with("/endpoints/ep_")));
    }
}
