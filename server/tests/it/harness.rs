//! Starts the real server for one test, with a clock the test drives and
//! clients that keep cookies like a browser.

use hookline::accounts::ThrottlePolicy;
use hookline::clock::ManualClock;
use hookline::store::{Backend, Db};
use hookline::testing::TestDatabase;
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use serde_json::Value;
use server::config::{FileSettings, Settings, SettingsArgs, generate_secret_key, generate_token};
use std::sync::Arc;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    /// The server's dispatcher; tests step it instead of waiting for it.
    pub dispatcher: std::sync::Arc<hookline::dispatch::Dispatcher>,
    pub ingest_token: String,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    _database: TestDatabase,
}

pub struct Options {
    pub throttle: ThrottlePolicy,
    pub public_origin: Option<String>,
    /// The development settings that let deliveries reach loopback receivers.
    pub dev_destinations: bool,
    /// Requests a minute per API key; the server's default when `None`.
    pub api_rate_per_minute: Option<u32>,
    /// CIDRs whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            throttle: ThrottlePolicy {
                window_ms: 15 * 60 * 1000,
                max_failures_per_email: 3,
                max_failures_per_address: 50,
                ..ThrottlePolicy::default()
            },
            public_origin: None,
            dev_destinations: false,
            api_rate_per_minute: None,
            trusted_proxies: None,
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Options::default()).await
}

pub async fn spawn_app_with(backend: Backend, options: Options) -> TestApp {
    let database = TestDatabase::new(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let ingest_token = generate_token(40);
    let settings = Settings::merge(
        SettingsArgs {
            database_url: Some(database.url.clone()),
            listen: Some(addr.to_string()),
            public_origin: Some(options.public_origin.unwrap_or_else(|| base.clone())),
            secret_key: Some(generate_secret_key()),
            ingest_token: Some(ingest_token.clone()),
            dev_allow_http: Some(options.dev_destinations),
            dev_allow_private: Some(options.dev_destinations),
            api_rate_per_minute: options.api_rate_per_minute,
            trusted_proxies: options.trusted_proxies.map(str::to_owned),
            ..SettingsArgs::default()
        },
        FileSettings::default(),
    )
    .expect("test settings are valid");
    let clock = ManualClock::starting_now();
    let runtime = server::Runtime {
        clock: clock.clone(),
        throttle: options.throttle,
        run_dispatcher: false,
    };
    let running = server::start(settings, listener, runtime)
        .await
        .expect("server starts");
    TestApp {
        base,
        dispatcher: running.dispatcher.clone(),
        ingest_token,
        db: running.db,
        clock,
        _database: database,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client: keeps cookies, sends the portal's Origin, does
    /// not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Calls a server function the way the hydrated portal does.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{name}")))
            .form(form)
            .send()
            .await
            .expect("request reaches the server")
    }

    pub async fn signup(
        &self,
        client: &reqwest::Client,
        business: &str,
        email: &str,
    ) -> reqwest::Response {
        self.call(
            client,
            "signup",
            &[
                ("business_name", business),
                ("email", email),
                ("password", PASSWORD),
            ],
        )
        .await
    }

    /// A client signed in as a new merchant.
    pub async fn merchant(&self, business: &str, email: &str) -> reqwest::Client {
        let client = self.client();
        let res = self.signup(&client, business, email).await;
        assert_eq!(res.status(), 200, "sign-up: {}", res.text().await.unwrap());
        client
    }

    /// A client signed in as a new admin (created as the CLI does).
    pub async fn admin(&self, email: &str) -> reqwest::Client {
        hookline::accounts::create_admin(&self.db, &*self.clock, email, PASSWORD)
            .await
            .expect("create admin");
        let client = self.client();
        let res = self.login(&client, email, PASSWORD).await;
        assert_eq!(res.status(), 200, "admin login");
        client
    }

    /// Publishes through the internal ingest API, as the platform's services do.
    pub async fn publish(
        &self,
        path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> reqwest::Response {
        let mut req = reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(&self.ingest_token)
            .json(body);
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        req.send().await.expect("request reaches the server")
    }

    /// Creates an API key through the portal for the client's merchant, in
    /// the portal's current mode (with the password, which a key that may
    /// read secrets needs); answers the key.
    pub async fn api_key(
        &self,
        client: &reqwest::Client,
        name: &str,
        allowlist: &str,
        read_secrets: bool,
    ) -> String {
        let read = if read_secrets { "true" } else { "false" };
        let res = self
            .call(
                client,
                "create_api_key",
                &[
                    ("name", name),
                    ("allowlist", allowlist),
                    ("read_secrets", read),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "create key");
        let body: Value = res.json().await.unwrap();
        body["secret"].as_str().unwrap().to_owned()
    }

    /// A REST API request with `key` (none when empty).
    pub fn api(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        let req = reqwest::Client::new().request(method, self.url(path));
        if key.is_empty() {
            req
        } else {
            req.bearer_auth(key)
        }
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.call(client, "login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn current_user(&self, client: &reqwest::Client) -> Value {
        let res = self.call(client, "current_user", &[]).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

/// The value of the session cookie a response sets, if any.
pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    set_cookie_header(res).and_then(|header| {
        header
            .split(';')
            .next()
            .and_then(|pair| pair.trim().strip_prefix("hookline_session="))
            .map(str::to_owned)
    })
}

pub fn set_cookie_header(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hookline_session="))
        .map(str::to_owned)
}

pub async fn error_body(res: reqwest::Response) -> Value {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("error body is JSON: {text}"))
}
