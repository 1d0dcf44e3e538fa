use crate::harness::{
    Options, PASSWORD, error_body, session_cookie, set_cookie_header, spawn_app, spawn_app_with,
};
use hookline::backend_tests;
use std::time::Duration;

async fn merchants(app: &crate::harness::TestApp) -> i64 {
    hookline::accounts::count_merchants(&app.db).await.unwrap()
}

backend_tests! {
    async fn signup_rejects_each_bad_field_and_saves_nothing(backend) {
        let app = spawn_app(backend).await;
        let client = app.client();
        let long_name = "x".repeat(121);
        let cases: [(&str, &str, &str, &str); 6] = [
            ("", "ops@acme.example", PASSWORD, "business_name"),
            (&long_name, "ops@acme.example", PASSWORD, "business_name"),
            ("Acme", "", PASSWORD, "email"),
            ("Acme", "ops-at-acme.example", PASSWORD, "email"),
            ("Acme", "ops@acme.example", "", "password"),
            ("Acme", "ops@acme.example", "eleven char", "password"),
        ];
        for (business, email, password, field) in cases {
            let res = app
                .call(&client, "signup", &[("business_name", business), ("email", email), ("password", password)])
                .await;
            assert_eq!(res.status(), 422, "{field} case");
            assert!(session_cookie(&res).is_none(), "no session on a failed sign-up");
            let body = error_body(res).await;
            assert_eq!(body["kind"], "validation");
            let fields = body["fields"].as_array().unwrap();
            assert_eq!(fields.len(), 1, "only {field} is wrong: {body}");
            assert_eq!(fields[0]["field"], field);
            assert!(!fields[0]["message"].as_str().unwrap().is_empty());
        }
        assert_eq!(merchants(&app).await, 0);
        // A missing argument is a client mistake too: 400, not 500.
        let res = app.call(&client, "signup", &[("email", "ops@acme.example")]).await;
        assert_eq!(res.status(), 400);
        assert_eq!(error_body(res).await["kind"], "bad_request");
    }

    async fn signup_refuses_a_duplicate_email(backend) {
        let app = spawn_app(backend).await;
        app.merchant("Acme", "ops@acme.example").await;
        let res = app.signup(&app.client(), "Other Co", "OPS@acme.example").await;
        assert_eq!(res.status(), 422);
        let body = error_body(res).await;
        assert_eq!(body["fields"][0]["field"], "email");
        assert_eq!(merchants(&app).await, 1);
    }

    async fn signup_signs_in_and_logout_signs_out(backend) {
        let app = spawn_app(backend).await;
        let client = app.client();
        let res = app.signup(&client, "Acme Ltd", "ops@acme.example").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<String>().await.unwrap(), "/");
        let me = app.current_user(&client).await;
        assert_eq!(me["email"], "ops@acme.example");
        assert_eq!(me["business_name"], "Acme Ltd");
        assert_eq!(me["role"], "merchant");
        assert_eq!(me["mode"], "sandbox");

        let res = app.call(&client, "logout", &[]).await;
        assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
        assert!(app.current_user(&client).await.is_null());

        let res = app.login(&client, "ops@acme.example", PASSWORD).await;
        assert_eq!(res.status(), 200);
        assert_eq!(app.current_user(&client).await["email"], "ops@acme.example");
    }

    async fn login_failures_look_the_same(backend) {
        let app = spawn_app(backend).await;
        app.merchant("Acme", "ops@acme.example").await;
        let client = app.client();
        let wrong = app.login(&client, "ops@acme.example", "not the password").await;
        let unknown = app.login(&client, "ghost@acme.example", PASSWORD).await;
        assert_eq!(wrong.status(), 401);
        assert_eq!(unknown.status(), 401);
        assert!(session_cookie(&wrong).is_none());
        assert_eq!(error_body(wrong).await, error_body(unknown).await);
        assert!(app.current_user(&client).await.is_null());
    }

    async fn login_follows_only_local_next_paths(backend) {
        let app = spawn_app(backend).await;
        app.merchant("Acme", "ops@acme.example").await;
        let client = app.client();
        let res = app.call(&client, "login", &[("email", "ops@acme.example"), ("password", PASSWORD), ("next", "//evil.example/")]).await;
        assert_eq!(res.json::<String>().await.unwrap(), "/");
        let res = app.call(&client, "login", &[("email", "ops@acme.example"), ("password", PASSWORD), ("next", "/?from=mail")]).await;
        assert_eq!(res.json::<String>().await.unwrap(), "/?from=mail");
    }

    async fn session_id_is_rotated_at_login(backend) {
        let app = spawn_app(backend).await;
        app.merchant("Acme", "ops@acme.example").await;
        let client = app.client();
        let first = app.login(&client, "ops@acme.example", PASSWORD).await;
        let first_id = session_cookie(&first).expect("login sets a session cookie");
        let second = app.login(&client, "ops@acme.example", PASSWORD).await;
        let second_id = session_cookie(&second).expect("a second login sets a new cookie");
        assert_ne!(first_id, second_id, "the id changes at every sign-in");

        // The old id no longer signs anyone in.
        let stale = reqwest::Client::new()
            .post(app.url("/api/current_user"))
            .header("origin", &app.base)
            .header("cookie", format!("hookline_session={first_id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200);
        assert!(stale.json::<serde_json::Value>().await.unwrap().is_null());
    }

    async fn session_cookie_is_locked_down(backend) {
        let app = spawn_app(backend).await;
        let res = app.signup(&app.client(), "Acme", "ops@acme.example").await;
        let header = set_cookie_header(&res).unwrap().to_lowercase();
        assert!(header.contains("httponly"), "{header}");
        assert!(header.contains("samesite=strict"), "{header}");
        assert!(!header.contains("secure"), "plain http origin: {header}");

        let https = spawn_app_with(backend, Options {
            public_origin: Some("https://hooks.example.com".into()),
            ..Options::default()
        }).await;
        let client = reqwest::Client::new();
        let res = client
            .post(https.url("/api/signup"))
            .header("origin", "https://hooks.example.com")
            .form(&[("business_name", "Acme"), ("email", "ops@acme.example"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let header = set_cookie_header(&res).unwrap().to_lowercase();
        assert!(header.contains("secure"), "https origin: {header}");
    }

    async fn repeated_failures_are_throttled_with_a_clear_answer(backend) {
        let app = spawn_app(backend).await;
        app.merchant("Acme", "ops@acme.example").await;
        let client = app.client();
        for _ in 0..3 {
            assert_eq!(app.login(&client, "ops@acme.example", "wrong wrong wrong").await.status(), 401);
        }
        let res = app.login(&client, "ops@acme.example", PASSWORD).await;
        assert_eq!(res.status(), 429);
        let retry_after: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after > 0 && retry_after <= 15 * 60);
        let body = error_body(res).await;
        assert_eq!(body["kind"], "throttled");
        // Other accounts from elsewhere are unaffected; this one reopens after the window.
        app.clock.advance(Duration::from_secs(15 * 60 + 1));
        assert_eq!(app.login(&client, "ops@acme.example", PASSWORD).await.status(), 200);
    }

    async fn throttled_per_address_across_emails(backend) {
        let app = spawn_app_with(backend, Options {
            throttle: hookline::accounts::ThrottlePolicy {
                window_ms: 60_000,
                max_failures_per_email: 100,
                max_failures_per_address: 4,
                ..hookline::accounts::ThrottlePolicy::default()
            },
            ..Options::default()
        }).await;
        app.merchant("Acme", "ops@acme.example").await;
        let client = app.client();
        for i in 0..4 {
            let email = format!("guess{i}@acme.example");
            assert_eq!(app.login(&client, &email, PASSWORD).await.status(), 401);
        }
        assert_eq!(app.login(&client, "ops@acme.example", PASSWORD).await.status(), 429);
    }

    async fn sign_ups_from_one_address_are_limited(backend) {
        // Twenty in fifteen minutes by default: enough for an office, too
        // few to learn quickly which emails have an account.
        let app = spawn_app(backend).await;
        for i in 0..20 {
            assert_eq!(app.signup(&app.client(), "Shop", &format!("owner{i}@shop.example")).await.status(), 200);
        }
        let res = app.signup(&app.client(), "Shop", "owner20@shop.example").await;
        assert_eq!(res.status(), 422);
        let body = error_body(res).await;
        assert_eq!(body["fields"][0]["field"], "email");
        assert!(body["fields"][0]["message"].as_str().unwrap().contains("Too many sign-ups"), "{body}");
        assert_eq!(merchants(&app).await, 20);
        app.clock.advance(Duration::from_secs(15 * 60 + 1));
        assert_eq!(app.signup(&app.client(), "Shop", "owner20@shop.example").await.status(), 200);
    }

    async fn behind_a_trusted_proxy_each_client_has_its_own_limit(backend) {
        // The tests reach the server from 127.0.0.1, as a load balancer would.
        let app = spawn_app_with(backend, Options { trusted_proxies: Some("127.0.0.1/32"), ..Options::default() }).await;
        let via_proxy = |forwarded: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("origin", app.base.parse().unwrap());
            headers.insert("x-forwarded-for", forwarded.parse().unwrap());
            reqwest::Client::builder().default_headers(headers).build().unwrap()
        };
        for i in 0..20 {
            let res = app.signup(&via_proxy("203.0.113.1"), "Shop", &format!("a{i}@shop.example")).await;
            assert_eq!(res.status(), 200);
        }
        assert_eq!(app.signup(&via_proxy("203.0.113.1"), "Shop", "a20@shop.example").await.status(), 422);
        // Another client behind the same load balancer has its own count.
        assert_eq!(app.signup(&via_proxy("203.0.113.2"), "Shop", "b0@shop.example").await.status(), 200);
        // A client cannot pass for another by writing the header itself: the
        // load balancer's entry, on the right, is the one believed.
        assert_eq!(app.signup(&via_proxy("203.0.113.2, 203.0.113.1"), "Shop", "a21@shop.example").await.status(), 422);
    }

    async fn cross_origin_requests_are_refused(backend) {
        let app = spawn_app(backend).await;
        let merchant = app.merchant("Acme", "ops@acme.example").await;
        let plain = reqwest::Client::new();
        let form = [("business_name", "Evil"), ("email", "evil@evil.example"), ("password", PASSWORD)];

        // Another site's page posting to us.
        let res = plain.post(app.url("/api/signup")).header("origin", "https://evil.example").form(&form).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(error_body(res).await["kind"], "cross_origin");
        // No Origin and no Referer at all.
        let res = plain.post(app.url("/api/signup")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 403);
        // A same-origin Referer is enough when Origin is missing.
        let res = plain.post(app.url("/api/current_user")).header("referer", app.url("/login")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(merchants(&app).await, 1, "nothing was created");

        // A signed-in merchant's browser tricked into a cross-site form post.
        let res = merchant
            .post(app.url("/api/set_mode"))
            .header("origin", "https://evil.example")
            .form(&[("mode", "live")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(app.current_user(&merchant).await["mode"], "sandbox");
    }

    async fn mode_switch_is_kept_in_the_session(backend) {
        let app = spawn_app(backend).await;
        let merchant = app.merchant("Acme", "ops@acme.example").await;
        let res = app.call(&merchant, "set_mode", &[("mode", "live")]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(app.current_user(&merchant).await["mode"], "live");
        let res = app.call(&merchant, "set_mode", &[("mode", "production")]).await;
        assert_eq!(res.status(), 400, "an unknown mode is a client mistake");
        assert_eq!(app.current_user(&merchant).await["mode"], "live");
    }

    async fn plain_form_posts_work_without_javascript(backend) {
        let app = spawn_app(backend).await;
        let merchant = app.merchant("Acme", "ops@acme.example").await;
        // What the mode switch and the log-out button send before the wasm loads.
        let res = merchant
            .post(app.url("/api/set_mode"))
            .header("accept", "text/html")
            .header("referer", app.url("/"))
            .form(&[("mode", "live")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        let location = res.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(&app.url("/")), "back to the page: {location}");
        assert_eq!(app.current_user(&merchant).await["mode"], "live");
        let res = merchant
            .post(app.url("/api/logout"))
            .header("accept", "text/html")
            .header("referer", app.url("/"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection());
        assert_eq!(res.headers()["location"], "/login");
        assert!(app.current_user(&merchant).await.is_null());
    }
}
