//! Server-rendered pages: what a browser gets before any WebAssembly runs.

use crate::harness::spawn_app;
use hookline::backend_tests;

backend_tests! {
    async fn visitors_get_the_login_page_and_are_sent_to_it(backend) {
        let app = spawn_app(backend).await;
        let client = app.client();
        let res = client.get(app.url("/login")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("Log in to Hookline"));
        assert!(html.contains("name=\"email\""));
        assert!(html.contains("/pkg/hookline.css"));

        for (path, next) in [("/", "/login?next=/"), ("/admin", "/login?next=/admin")] {
            let res = client.get(app.url(path)).header("accept", "text/html").send().await.unwrap();
            assert_eq!(res.status(), 302, "{path}");
            assert_eq!(res.headers()["location"], next);
        }
    }

    async fn merchants_see_their_home_and_not_admin(backend) {
        let app = spawn_app(backend).await;
        let merchant = app.merchant("Acme Coffee", "ops@acme.example").await;
        let res = merchant.get(app.url("/")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("Acme Coffee"));
        assert!(html.contains("Sandbox"));

        let res = merchant.get(app.url("/admin")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("have access to this page"));

        // Signed in, the login page sends the merchant home.
        let res = merchant.get(app.url("/login")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/");
    }

    async fn admins_reach_admin(backend) {
        let app = spawn_app(backend).await;
        app.merchant("Acme Coffee", "ops@acme.example").await;
        let admin = app.admin("help@hookline.example").await;
        let res = admin.get(app.url("/admin")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("Merchants"));
        assert!(html.contains("Acme Coffee"));
        // The other admin pages render on the server, before any wasm.
        for (path, text) in [
            ("/admin/operations", "Queue"),
            ("/admin/operations?mode=sandbox", "Sandbox mode"),
            ("/admin/notices", "Publish a notice"),
            ("/admin/audit", "Audit log"),
            ("/admin/balance-requests", "Balance threshold requests"),
        ] {
            let res = admin.get(app.url(path)).header("accept", "text/html").send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert!(res.text().await.unwrap().contains(text), "{path} shows {text}");
        }
        // An unknown merchant's log or event is a 404 page, not a 500.
        for path in ["/admin/merchants/mer_none/live/deliveries", "/admin/merchants/mer_none/events/evt_none"] {
            let res = admin.get(app.url(path)).header("accept", "text/html").send().await.unwrap();
            assert_eq!(res.status(), 404, "{path}");
        }
        // An admin opening the merchant home is sent to the admin area.
        let res = admin.get(app.url("/")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/admin");
    }

    async fn unknown_pages_are_404(backend) {
        let app = spawn_app(backend).await;
        let res = app.client().get(app.url("/no/such/page")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert!(res.text().await.unwrap().contains("Page not found"));
    }

    async fn health_and_readiness(backend) {
        let app = spawn_app(backend).await;
        let client = app.client();
        assert_eq!(client.get(app.url("/healthz")).header("accept", "text/html").send().await.unwrap().status(), 200);
        let res = client.get(app.url("/readyz")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 200);
        let res = client.get(app.url("/login")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
}
