//! Every server function, called as a visitor, a merchant and an admin. A new
//! server function without a row here fails `every_server_function_is_listed`.

use crate::harness::{TestApp, spawn_app};
use hookline::backend_tests;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anyone,
    Merchant,
    Admin,
}

type Args = &'static [(&'static str, &'static str)];

const NO_ENDPOINT: (&str, &str) = ("id", "ep_0000000000000000000000000000none");
const RANGE: [(&str, &str); 3] = [
    ("input[endpoint]", "ep_0000000000000000000000000000none"),
    ("input[from]", "2026-01-01T00:00"),
    ("input[to]", "2026-01-02T00:00"),
];

/// Each server function, who may call it, and arguments for a call that
/// passes the role check. Most are valid calls (200); those naming a row
/// name one that does not exist (404), or nothing the caller owns (422).
const SERVER_FNS: &[(&str, Who, Args, u16)] = &[
    ("current_user", Who::Anyone, &[], 200),
    (
        "login",
        Who::Anyone,
        &[
            ("email", "nobody@example.com"),
            ("password", "whatever whatever"),
        ],
        401,
    ),
    (
        "signup",
        Who::Anyone,
        &[
            ("business_name", "Role Test"),
            ("email", "role-test@example.com"),
            ("password", "a good long password"),
        ],
        200,
    ),
    ("logout", Who::Anyone, &[], 200),
    ("set_mode", Who::Merchant, &[("mode", "live")], 200),
    ("admin_merchants", Who::Admin, &[("query", "")], 200),
    ("admin_audit", Who::Admin, &[("query[action]", "")], 200),
    ("admin_balance_requests", Who::Admin, &[], 200),
    (
        "admin_decide_balance",
        Who::Admin,
        &[
            ("id", "bal_none"),
            ("decision", "approve"),
            ("reason", "checked"),
        ],
        404,
    ),
    ("my_audit", Who::Merchant, &[("query[action]", "")], 200),
    (
        "admin_merchant",
        Who::Admin,
        &[("id", "mer_none"), ("mode", "live")],
        404,
    ),
    (
        "admin_resend_event",
        Who::Admin,
        &[
            ("merchant_id", "mer_none"),
            ("event_id", "evt_none"),
            ("reason", "asked by phone"),
        ],
        422,
    ),
    (
        "admin_enable_endpoint",
        Who::Admin,
        &[
            ("merchant_id", "mer_none"),
            ("endpoint_id", "ep_none"),
            ("reason", "asked by phone"),
        ],
        404,
    ),
    ("admin_operations", Who::Admin, &[("mode", "sandbox")], 200),
    (
        "admin_delivery_log",
        Who::Admin,
        &[
            ("merchant_id", "mer_none"),
            ("mode", "live"),
            ("query[search]", ""),
        ],
        404,
    ),
    (
        "admin_event",
        Who::Admin,
        &[("merchant_id", "mer_none"), ("event_id", "evt_none")],
        404,
    ),
    (
        "admin_recover_preview",
        Who::Admin,
        &[
            ("merchant_id", "mer_none"),
            ("mode", "live"),
            RANGE[0],
            RANGE[1],
            RANGE[2],
        ],
        422,
    ),
    (
        "admin_recover",
        Who::Admin,
        &[
            ("merchant_id", "mer_none"),
            ("mode", "live"),
            RANGE[0],
            RANGE[1],
            RANGE[2],
            ("reason", "asked by phone"),
        ],
        422,
    ),
    ("admin_notices", Who::Admin, &[], 200),
    ("admin_notice", Who::Admin, &[("id", "ntc_none")], 404),
    (
        "admin_publish_notice",
        Who::Admin,
        &[
            ("input[title]", "Maintenance"),
            ("input[body]", "Deliveries pause for five minutes."),
            ("input[effective_date]", "2027-01-01"),
            ("input[audience]", "all"),
        ],
        200,
    ),
    (
        "acknowledge_notice",
        Who::Merchant,
        &[("id", "ntc_none")],
        404,
    ),
    ("list_api_keys", Who::Merchant, &[], 200),
    (
        "create_api_key",
        Who::Merchant,
        &[("name", "role test"), ("allowlist", "")],
        200,
    ),
    ("revoke_api_key", Who::Merchant, &[("id", "key_none")], 404),
    ("list_endpoints", Who::Merchant, &[], 200),
    (
        "create_endpoint",
        Who::Merchant,
        &[
            ("url", "https://hooks.role.example/in"),
            ("event_types[]", "payin.succeeded"),
        ],
        200,
    ),
    ("get_endpoint", Who::Merchant, &[NO_ENDPOINT], 404),
    (
        "update_endpoint",
        Who::Merchant,
        &[
            NO_ENDPOINT,
            ("url", "https://hooks.role.example/in"),
            ("event_types[]", "payin.succeeded"),
        ],
        404,
    ),
    (
        "set_endpoint_enabled",
        Who::Merchant,
        &[NO_ENDPOINT, ("enabled", "false")],
        404,
    ),
    ("delete_endpoint", Who::Merchant, &[NO_ENDPOINT], 404),
    (
        "reveal_secret",
        Who::Merchant,
        &[NO_ENDPOINT, ("password", "whatever whatever")],
        404,
    ),
    (
        "rotate_secret",
        Who::Merchant,
        &[NO_ENDPOINT, ("grace", "one_hour")],
        404,
    ),
    (
        "send_test_event",
        Who::Merchant,
        &[NO_ENDPOINT, ("event_type", "payin.succeeded")],
        404,
    ),
    ("delivery_log", Who::Merchant, &[("query[search]", "")], 200),
    ("get_event", Who::Merchant, &[("id", "evt_none")], 404),
    ("resend_event", Who::Merchant, &[("id", "evt_none")], 404),
    ("recover_preview", Who::Merchant, &RANGE, 422),
    ("recover", Who::Merchant, &RANGE, 422),
    // The inbox is the sandbox's: back from live for it.
    ("set_mode", Who::Merchant, &[("mode", "sandbox")], 200),
    ("get_inbox", Who::Merchant, &[], 200),
    ("get_dashboard", Who::Merchant, &[], 200),
    ("list_balance_requests", Who::Merchant, &[], 200),
    (
        "request_balance_warning",
        Who::Merchant,
        &[("threshold", "100"), ("currency", "EUR")],
        200,
    ),
    ("run_readiness_check", Who::Merchant, &[NO_ENDPOINT], 404),
];

#[test]
fn every_server_function_is_listed() {
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    let listed: BTreeSet<String> = SERVER_FNS
        .iter()
        .map(|(name, _, _, _)| format!("/api/{name}"))
        .collect();
    assert_eq!(
        registered, listed,
        "the role table must list every server function"
    );
}

async fn status(app: &TestApp, client: &reqwest::Client, name: &str, args: &[(&str, &str)]) -> u16 {
    app.call(client, name, args).await.status().as_u16()
}

backend_tests! {
    async fn server_functions_check_the_role(backend) {
        let app = spawn_app(backend).await;
        let merchant = app.merchant("Acme", "ops@acme.example").await;
        let admin = app.admin("help@hookline.example").await;
        for &(name, who, args, ok) in SERVER_FNS {
            if who == Who::Anyone {
                continue;
            }
            let visitor = app.client();
            assert_eq!(status(&app, &visitor, name, args).await, 401, "{name} as a visitor");
            let (allowed, refused) = match who {
                Who::Merchant => (&merchant, &admin),
                Who::Admin => (&admin, &merchant),
                Who::Anyone => unreachable!(),
            };
            assert_eq!(status(&app, refused, name, args).await, 403, "{name} as the wrong role");
            assert_eq!(status(&app, allowed, name, args).await, ok, "{name} as {who:?}");
        }
    }

    async fn public_functions_answer_visitors(backend) {
        let app = spawn_app(backend).await;
        for &(name, who, args, ok) in SERVER_FNS {
            if who != Who::Anyone {
                continue;
            }
            // login with unknown credentials is a 401 by design; nothing is a 403 or 5xx.
            assert_eq!(status(&app, &app.client(), name, args).await, ok, "{name}");
        }
    }

    async fn admin_directory_lists_and_searches_merchants(backend) {
        let app = spawn_app(backend).await;
        app.merchant("Acme Payments", "ops@acme.example").await;
        app.merchant("Globex", "billing@globex.example").await;
        let admin = app.admin("help@hookline.example").await;
        let res = app.call(&admin, "admin_merchants", &[("query", "")]).await;
        let all: serde_json::Value = res.json().await.unwrap();
        assert_eq!(all["total_merchants"], 2);
        assert_eq!(all["merchants"].as_array().unwrap().len(), 2);
        let res = app.call(&admin, "admin_merchants", &[("query", "globex")]).await;
        let some: serde_json::Value = res.json().await.unwrap();
        assert_eq!(some["merchants"].as_array().unwrap().len(), 1);
        assert_eq!(some["merchants"][0]["email"], "billing@globex.example");
    }
}
