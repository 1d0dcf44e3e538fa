use crate::deliveries::publish_sample;
use crate::endpoints::{input, merchant, sbox};
use hookline::Error;
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::endpoint::EndpointRules;
use hookline::endpoints;
use hookline::events::EventType;
use hookline::feed;
use hookline::mode::Mode;
use std::collections::BTreeSet;
use std::time::Duration;

backend_tests! {
    async fn numbers_are_never_handed_out_again_after_retention_purged_every_event(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        // No endpoints: nothing is owed, so retention may purge every event.
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        for _ in 0..3 {
            publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await;
            clock.advance(Duration::from_millis(10));
        }
        let seen = feed::page(&t.db, &acme, Mode::Live, "", None).await.unwrap();
        assert_eq!(seen.data.len(), 3);
        clock.advance(Duration::from_secs(31 * 86_400));
        let purged = hookline::retention::purge(&t.db, clock.now_ms(), Duration::from_secs(30 * 86_400), 100).await.unwrap();
        assert_eq!(purged.events, 3);

        // The poller kept its cursor through the quiet month: the next
        // events come after it, none is skipped.
        let new = publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await;
        let after = feed::page(&t.db, &acme, Mode::Live, &seen.next, None).await.unwrap();
        assert_eq!(after.data.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), vec![new]);
    }

    async fn the_feed_pages_events_in_a_stable_order_even_when_commits_come_late(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://a.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        let mut ours = Vec::new();
        for _ in 0..5 {
            ours.push(publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await);
            clock.advance(Duration::from_millis(10));
        }
        publish_sample(&t.db, &clock, &acme, Mode::Sandbox, EventType::PayinSucceeded).await;
        publish_sample(&t.db, &clock, &globex, Mode::Live, EventType::PayinSucceeded).await;

        let first = feed::page(&t.db, &acme, Mode::Live, "", Some(2)).await.unwrap();
        assert_eq!(first.data.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), ours[..2].to_vec());
        assert!(first.has_more);
        assert_eq!(first.data[0].deliveries.len(), 1);
        assert_eq!((first.data[0].deliveries[0].status.as_str(), first.data[0].deliveries[0].succeeded), ("pending", false));
        assert!(first.data[0].data["transaction_id"].is_string());
        let second = feed::page(&t.db, &acme, Mode::Live, &first.next, Some(2)).await.unwrap();
        let third = feed::page(&t.db, &acme, Mode::Live, &second.next, Some(2)).await.unwrap();
        assert_eq!(second.data.iter().chain(&third.data).map(|e| e.id.clone()).collect::<Vec<_>>(), ours[2..].to_vec());
        assert!(!third.has_more);
        let empty = feed::page(&t.db, &acme, Mode::Live, &third.next, None).await.unwrap();
        assert!(empty.data.is_empty());
        assert_eq!(empty.next, third.next, "a poller keeps its place");

        // An event stamped earlier that commits after the reader passed it (a
        // slow publish) still comes after the cursor: no gap.
        let late = ManualClock::new(clock.now_ms() - 60_000);
        let slow = publish_sample(&t.db, &late, &acme, Mode::Live, EventType::PayinSucceeded).await;
        let after = feed::page(&t.db, &acme, Mode::Live, &empty.next, None).await.unwrap();
        assert_eq!(after.data.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), vec![slow]);

        let Err(Error::Validation(fields)) = feed::page(&t.db, &acme, Mode::Live, "42", Some(0)).await else { panic!("validation") };
        assert!(fields.get("after").is_some() && fields.get("limit").is_some());
        let theirs = feed::page(&t.db, &globex, Mode::Live, "", None).await.unwrap();
        assert_eq!(theirs.data.len(), 1, "only the merchant's own events");
    }

    async fn paging_while_events_arrive_sees_each_once(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let total = 120;
        let publisher = {
            let (db, clock, acme) = (t.db.clone(), clock.clone(), acme.clone());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..total {
                    ids.push(publish_sample(&db, &clock, &acme, Mode::Live, EventType::RefundUpdated).await);
                    tokio::task::yield_now().await;
                }
                ids
            })
        };
        let mut seen = Vec::new();
        let mut cursor = String::new();
        while seen.len() < total {
            let page = feed::page(&t.db, &acme, Mode::Live, &cursor, Some(7)).await.unwrap();
            seen.extend(page.data.into_iter().map(|e| e.id));
            cursor = page.next;
            tokio::task::yield_now().await;
        }
        let published = publisher.await.unwrap();
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no repeats");
        assert_eq!(unique, published.iter().collect::<BTreeSet<_>>(), "no gaps");
        assert!(feed::page(&t.db, &acme, Mode::Live, &cursor, None).await.unwrap().data.is_empty());
    }
}
