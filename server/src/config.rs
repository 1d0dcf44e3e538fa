//! Settings: command-line options, each also read from an environment
//! variable, with an optional TOML file underneath. Precedence: option, then
//! environment, then file, then default. A bad value stops start-up with a
//! message that names the setting; secret values are never printed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Parser, Subcommand};
use hookline::endpoint::Cidr;
use hookline::retry::RetrySchedule;
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/hookline.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
pub const MIN_INGEST_TOKEN_CHARS: usize = 32;

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "Hookline: the merchant portal, the webhook dispatcher and the internal ingest API in one process.",
    long_about = None,
    after_help = "Every setting can also come from its environment variable or from the TOML file given \
                  with --config (keys are the option names with underscores, e.g. database_url). \
                  Options win over environment variables, which win over the file."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingsArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal, the dispatcher and the APIs (the default).
    Serve,
    /// Serve with demo data on a local SQLite file: creates a demo merchant and
    /// an admin on first start and prints their passwords once. For trying
    /// Hookline out, never for production.
    Demo,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage onboarding-team (admin) accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account. Admins can only be created here, never by sign-up.
    Create {
        /// The admin's email address.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input instead of
        /// generating one (a generated password is printed once).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Default, Args)]
pub struct SettingsArgs {
    /// TOML file with any of these settings.
    #[arg(long, env = "HOOKLINE_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Database URL: `sqlite://path/to/file.db` (embedded) or `postgres://user@host/db`
    /// (several nodes). [default: sqlite://data/hookline.db]
    #[arg(
        long,
        env = "HOOKLINE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Address and port to listen on. [default: 127.0.0.1:3000]
    #[arg(long, env = "HOOKLINE_LISTEN", global = true)]
    pub listen: Option<String>,

    /// The origin people reach the portal at, e.g. `https://hooks.example.com`.
    /// Unsafe requests from any other origin are refused.
    /// [default: http:// followed by the listen address]
    #[arg(long, env = "HOOKLINE_PUBLIC_ORIGIN", global = true)]
    pub public_origin: Option<String>,

    /// Mark the session cookie `Secure`. [default: true when the public origin is https]
    #[arg(long, env = "HOOKLINE_COOKIE_SECURE", global = true, num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub cookie_secure: Option<bool>,

    /// Key that encrypts stored signing secrets: 32 random bytes, base64
    /// (`openssl rand -base64 32`). Required to serve.
    #[arg(
        long,
        env = "HOOKLINE_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,

    /// Bearer token the platform's services use on the internal ingest API
    /// (at least 32 characters). Required to serve.
    #[arg(
        long,
        env = "HOOKLINE_INGEST_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub ingest_token: Option<String>,

    /// Folder with the built portal assets (the `pkg/` bundle and public files).
    /// [default: target/site]
    #[arg(long, env = "LEPTOS_SITE_ROOT", global = true)]
    pub site_root: Option<PathBuf>,

    /// Development only: allow `http://` endpoint URLs. [default: false]
    #[arg(long, env = "HOOKLINE_DEV_ALLOW_HTTP", global = true, num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub dev_allow_http: Option<bool>,

    /// Development only: allow deliveries to loopback and private addresses. [default: false]
    #[arg(long, env = "HOOKLINE_DEV_ALLOW_PRIVATE", global = true, num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub dev_allow_private: Option<bool>,

    /// Log format: `text` for people, `json` for log collectors. [default: text]
    #[arg(long, env = "HOOKLINE_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,

    /// Seconds to wait for a merchant's server to accept the connection. [default: 5]
    #[arg(long, env = "HOOKLINE_CONNECT_TIMEOUT_SECS", global = true)]
    pub connect_timeout_secs: Option<u64>,

    /// Seconds a whole delivery attempt may take, answer included. [default: 10]
    #[arg(long, env = "HOOKLINE_DELIVERY_TIMEOUT_SECS", global = true)]
    pub delivery_timeout_secs: Option<u64>,

    /// Waits between attempts, each spread by ±20 %. [default: 5s,5m,30m,2h,5h,10h,10h]
    #[arg(long, env = "HOOKLINE_RETRY_SCHEDULE", global = true)]
    pub retry_schedule: Option<String>,

    /// Local address outgoing deliveries are sent from (one of the egress IPs). [default: any]
    #[arg(long, env = "HOOKLINE_SOURCE_ADDRESS", global = true)]
    pub source_address: Option<String>,

    /// The platform's public egress IPs, comma-separated, shown to merchants
    /// for their firewalls. [default: none shown]
    #[arg(long, env = "HOOKLINE_EGRESS_IPS", global = true)]
    pub egress_ips: Option<String>,

    /// PEM file of extra certificate authorities trusted for deliveries, on
    /// top of the public web roots (a private CA). [default: none]
    #[arg(long, env = "HOOKLINE_EXTRA_ROOTS", global = true)]
    pub extra_roots: Option<PathBuf>,

    /// Seconds a node holds the deliveries it claimed; after a crash another
    /// node takes them over once this runs out. Must exceed the connect and
    /// delivery timeouts together. [default: 60]
    #[arg(long, env = "HOOKLINE_LEASE_SECS", global = true)]
    pub lease_secs: Option<u64>,

    /// Hours an endpoint may fail without a single success before it is
    /// disabled (its events are then held). [default: 120]
    #[arg(long, env = "HOOKLINE_AUTO_DISABLE_AFTER_HOURS", global = true)]
    pub auto_disable_after_hours: Option<u64>,

    /// Days events, deliveries and attempts are kept. [default: 30]
    #[arg(long, env = "HOOKLINE_RETENTION_DAYS", global = true)]
    pub retention_days: Option<u64>,

    /// After a balance threshold warning, the balance must rise this many
    /// percent above the threshold before another can be sent. [default: 10]
    #[arg(long, env = "HOOKLINE_BALANCE_REARM_PERCENT", global = true)]
    pub balance_rearm_percent: Option<u32>,

    /// Requests a minute each merchant API key may make (all nodes
    /// together). [default: 600]
    #[arg(long, env = "HOOKLINE_API_RATE_PER_MINUTE", global = true)]
    pub api_rate_per_minute: Option<u32>,

    /// Sign-ups one client address (an IPv6 /64) may make in 15 minutes,
    /// all nodes together. [default: 20]
    #[arg(long, env = "HOOKLINE_SIGN_UPS_PER_ADDRESS", global = true)]
    pub sign_ups_per_address: Option<u32>,

    /// Comma-separated CIDRs of the load balancers or proxies in front of
    /// Hookline, whose `X-Forwarded-For` tells the client's address (for
    /// the sign-in and sign-up limits and API-key allowlists). [default: none]
    #[arg(long, env = "HOOKLINE_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,

    /// Delivery requests one node has in flight at once (each endpoint gets
    /// at most 32 of them). [default: 1024]
    #[arg(long, env = "HOOKLINE_MAX_IN_FLIGHT", global = true)]
    pub max_in_flight: Option<u32>,
}

/// The same settings as read from the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub public_origin: Option<String>,
    pub cookie_secure: Option<bool>,
    pub secret_key: Option<String>,
    pub ingest_token: Option<String>,
    pub site_root: Option<PathBuf>,
    pub dev_allow_http: Option<bool>,
    pub dev_allow_private: Option<bool>,
    pub log_format: Option<String>,
    pub connect_timeout_secs: Option<u64>,
    pub delivery_timeout_secs: Option<u64>,
    pub retry_schedule: Option<String>,
    pub source_address: Option<String>,
    pub egress_ips: Option<String>,
    pub extra_roots: Option<PathBuf>,
    pub lease_secs: Option<u64>,
    pub auto_disable_after_hours: Option<u64>,
    pub retention_days: Option<u64>,
    pub balance_rearm_percent: Option<u32>,
    pub api_rate_per_minute: Option<u32>,
    pub sign_ups_per_address: Option<u32>,
    pub trusted_proxies: Option<String>,
    pub max_in_flight: Option<u32>,
}

/// A setting that could not be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

/// The items of a comma-separated setting (none when it is unset), each
/// read by `item`.
fn comma_list<T>(
    raw: Option<String>,
    item: impl Fn(&str) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(item)
        .collect()
}

fn bad(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Development-only relaxations, all off unless the operator turns them on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DevSettings {
    pub allow_http: bool,
    pub allow_private: bool,
}

/// How deliveries leave the platform.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliverySettings {
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub retry_delays: Vec<Duration>,
    pub source_address: Option<IpAddr>,
    pub egress_ips: Vec<IpAddr>,
    /// Contents of the extra roots file, read at start-up.
    pub extra_roots_pem: Option<Vec<u8>>,
    pub lease: Duration,
    pub auto_disable_after: Duration,
    pub retention: Duration,
    /// Percent above the threshold a balance must reach to re-arm its warning.
    pub balance_rearm_percent: u32,
    /// Delivery requests in flight at once on this node.
    pub max_in_flight: usize,
}

/// Everything the process needs, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: Secret<String>,
    pub listen: SocketAddr,
    pub public_origin: String,
    pub cookie_secure: bool,
    pub secret_key: Option<Secret<[u8; 32]>>,
    pub ingest_token: Option<Secret<String>>,
    pub site_root: PathBuf,
    pub dev: DevSettings,
    pub log_format: LogFormat,
    pub delivery: DeliverySettings,
    /// Requests a minute per API key.
    pub api_rate_per_minute: u32,
    /// Sign-ups per client address in the sign-in throttle's window.
    pub sign_ups_per_address: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Cidr>,
}

const S_DATABASE_URL: &str = "database URL (--database-url / HOOKLINE_DATABASE_URL)";
const S_LISTEN: &str = "listen address (--listen / HOOKLINE_LISTEN)";
const S_PUBLIC_ORIGIN: &str = "public origin (--public-origin / HOOKLINE_PUBLIC_ORIGIN)";
const S_SECRET_KEY: &str = "secret key (--secret-key / HOOKLINE_SECRET_KEY)";
const S_INGEST_TOKEN: &str = "ingest token (--ingest-token / HOOKLINE_INGEST_TOKEN)";
const S_LOG_FORMAT: &str = "log format (--log-format / HOOKLINE_LOG_FORMAT)";
const S_CONNECT_TIMEOUT: &str =
    "connect timeout (--connect-timeout-secs / HOOKLINE_CONNECT_TIMEOUT_SECS)";
const S_DELIVERY_TIMEOUT: &str =
    "delivery timeout (--delivery-timeout-secs / HOOKLINE_DELIVERY_TIMEOUT_SECS)";
const S_RETRY_SCHEDULE: &str = "retry schedule (--retry-schedule / HOOKLINE_RETRY_SCHEDULE)";
const S_SOURCE_ADDRESS: &str = "source address (--source-address / HOOKLINE_SOURCE_ADDRESS)";
const S_EGRESS_IPS: &str = "egress IPs (--egress-ips / HOOKLINE_EGRESS_IPS)";
const S_EXTRA_ROOTS: &str = "extra roots (--extra-roots / HOOKLINE_EXTRA_ROOTS)";
const S_LEASE: &str = "lease (--lease-secs / HOOKLINE_LEASE_SECS)";
const S_AUTO_DISABLE: &str =
    "auto-disable period (--auto-disable-after-hours / HOOKLINE_AUTO_DISABLE_AFTER_HOURS)";
const S_RETENTION: &str = "retention (--retention-days / HOOKLINE_RETENTION_DAYS)";
const S_REARM: &str =
    "balance re-arm margin (--balance-rearm-percent / HOOKLINE_BALANCE_REARM_PERCENT)";
const S_CONFIG: &str = "config file (--config / HOOKLINE_CONFIG)";
const S_API_RATE: &str = "API rate limit (--api-rate-per-minute / HOOKLINE_API_RATE_PER_MINUTE)";
const S_TRUSTED_PROXIES: &str = "trusted proxies (--trusted-proxies / HOOKLINE_TRUSTED_PROXIES)";
const S_SIGN_UPS: &str = "sign-up limit (--sign-ups-per-address / HOOKLINE_SIGN_UPS_PER_ADDRESS)";
const S_MAX_IN_FLIGHT: &str = "requests in flight (--max-in-flight / HOOKLINE_MAX_IN_FLIGHT)";

impl FileSettings {
    pub fn load(path: &Path) -> Result<FileSettings, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(S_CONFIG, format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| {
            // toml's message quotes the offending line, which may hold a
            // secret; keep only the first line of the explanation.
            let message = e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_owned();
            bad(S_CONFIG, format!("{}: {message}", path.display()))
        })
    }
}

impl Settings {
    /// Merges options (with their environment variables) over the file.
    pub fn resolve(args: SettingsArgs) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => FileSettings::load(path)?,
            None => FileSettings::default(),
        };
        Self::merge(args, file)
    }

    pub fn merge(args: SettingsArgs, file: FileSettings) -> Result<Settings, ConfigError> {
        let database_url = args
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if hookline::store::Backend::of_url(&database_url).is_none() {
            return Err(bad(
                S_DATABASE_URL,
                "must start with sqlite:// or postgres://",
            ));
        }

        let listen_raw = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_raw.parse().map_err(|_| {
            bad(
                S_LISTEN,
                format!("`{listen_raw}` is not an address:port such as 127.0.0.1:3000"),
            )
        })?;

        let public_origin = match args.public_origin.or(file.public_origin) {
            Some(raw) => parse_origin(&raw)?,
            None => format!("http://{listen}"),
        };
        let cookie_secure = args
            .cookie_secure
            .or(file.cookie_secure)
            .unwrap_or_else(|| public_origin.starts_with("https://"));

        let secret_key = args
            .secret_key
            .or(file.secret_key)
            .map(|raw| parse_secret_key(&raw))
            .transpose()?;
        let ingest_token = args
            .ingest_token
            .or(file.ingest_token)
            .map(|raw| parse_ingest_token(&raw))
            .transpose()?;

        let log_format = match args.log_format.or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(bad(
                    S_LOG_FORMAT,
                    format!("`{other}` is not `text` or `json`"),
                ));
            }
        };

        let delivery = DeliverySettings {
            connect_timeout: seconds(
                S_CONNECT_TIMEOUT,
                args.connect_timeout_secs.or(file.connect_timeout_secs),
                5,
            )?,
            timeout: seconds(
                S_DELIVERY_TIMEOUT,
                args.delivery_timeout_secs.or(file.delivery_timeout_secs),
                10,
            )?,
            retry_delays: match args.retry_schedule.or(file.retry_schedule) {
                Some(raw) => {
                    RetrySchedule::parse_delays(&raw).map_err(|e| bad(S_RETRY_SCHEDULE, e))?
                }
                None => hookline::retry::DEFAULT_DELAYS.to_vec(),
            },
            source_address: args
                .source_address
                .or(file.source_address)
                .map(|raw| {
                    raw.trim()
                        .parse::<IpAddr>()
                        .map_err(|_| bad(S_SOURCE_ADDRESS, format!("`{raw}` is not an IP address")))
                })
                .transpose()?,
            egress_ips: comma_list(args.egress_ips.or(file.egress_ips), |ip| {
                ip.parse::<IpAddr>()
                    .map_err(|_| bad(S_EGRESS_IPS, format!("`{ip}` is not an IP address")))
            })?,
            extra_roots_pem: args
                .extra_roots
                .or(file.extra_roots)
                .map(|path| {
                    let pem = std::fs::read(&path).map_err(|e| {
                        bad(
                            S_EXTRA_ROOTS,
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?;
                    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                        return Err(bad(
                            S_EXTRA_ROOTS,
                            format!("{} holds no PEM certificate", path.display()),
                        ));
                    }
                    Ok(pem)
                })
                .transpose()?,
            lease: Duration::from_secs(args.lease_secs.or(file.lease_secs).unwrap_or(60)),
            auto_disable_after: match args
                .auto_disable_after_hours
                .or(file.auto_disable_after_hours)
            {
                None => Duration::from_secs(120 * 3600),
                Some(h @ 1..=8760) => Duration::from_secs(h * 3600),
                Some(h) => {
                    return Err(bad(
                        S_AUTO_DISABLE,
                        format!("{h} is not between 1 and 8760 hours"),
                    ));
                }
            },
            retention: match args.retention_days.or(file.retention_days) {
                None => Duration::from_secs(30 * 24 * 3600),
                Some(d @ 1..=3650) => Duration::from_secs(d * 24 * 3600),
                Some(d) => {
                    return Err(bad(
                        S_RETENTION,
                        format!("{d} is not between 1 and 3650 days"),
                    ));
                }
            },
            balance_rearm_percent: match args.balance_rearm_percent.or(file.balance_rearm_percent) {
                None => 10,
                Some(p @ 0..=100) => p,
                Some(p) => {
                    return Err(bad(S_REARM, format!("{p} is not between 0 and 100")));
                }
            },
            max_in_flight: match args.max_in_flight.or(file.max_in_flight) {
                None => 1024,
                Some(n @ 1..=10_000) => n as usize,
                Some(n) => {
                    return Err(bad(
                        S_MAX_IN_FLIGHT,
                        format!("{n} is not between 1 and 10000"),
                    ));
                }
            },
        };
        let slowest = delivery.connect_timeout + delivery.timeout;
        if delivery.lease <= slowest {
            return Err(bad(
                S_LEASE,
                format!(
                    "{} s must be longer than the connect and delivery timeouts together ({} s)",
                    delivery.lease.as_secs(),
                    slowest.as_secs()
                ),
            ));
        }

        // A retry still due when its event is purged would vanish without
        // ever being marked failed.
        let span = RetrySchedule {
            delays: delivery.retry_delays.clone(),
            ..RetrySchedule::default()
        }
        .longest_span();
        if delivery.retention <= span {
            return Err(bad(
                S_RETENTION,
                format!(
                    "{} days must be longer than the retry schedule can take ({} hours with jitter and Retry-After)",
                    delivery.retention.as_secs() / 86_400,
                    span.as_secs().div_ceil(3600)
                ),
            ));
        }

        Ok(Settings {
            database_url: Secret::new(database_url),
            listen,
            public_origin,
            cookie_secure,
            secret_key,
            ingest_token,
            site_root: args
                .site_root
                .or(file.site_root)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SITE_ROOT)),
            dev: DevSettings {
                allow_http: args.dev_allow_http.or(file.dev_allow_http).unwrap_or(false),
                allow_private: args
                    .dev_allow_private
                    .or(file.dev_allow_private)
                    .unwrap_or(false),
            },
            log_format,
            delivery,
            api_rate_per_minute: match args.api_rate_per_minute.or(file.api_rate_per_minute) {
                None => 600,
                Some(n @ 1..=1_000_000) => n,
                Some(n) => {
                    return Err(bad(S_API_RATE, format!("{n} is not between 1 and 1000000")));
                }
            },
            sign_ups_per_address: match args.sign_ups_per_address.or(file.sign_ups_per_address) {
                None => 20,
                Some(n @ 1..=1_000_000) => n,
                Some(n) => {
                    return Err(bad(S_SIGN_UPS, format!("{n} is not between 1 and 1000000")));
                }
            },
            trusted_proxies: comma_list(args.trusted_proxies.or(file.trusted_proxies), |net| {
                Cidr::parse(net).map_err(|e| bad(S_TRUSTED_PROXIES, e))
            })?,
        })
    }

    /// Serving needs the secret key and the ingest token; the CLI's other
    /// commands do not.
    pub fn check_serving(&self) -> Result<(), ConfigError> {
        if self.secret_key.is_none() {
            return Err(bad(
                S_SECRET_KEY,
                "is required to serve; generate one with `openssl rand -base64 32`",
            ));
        }
        if self.ingest_token.is_none() {
            return Err(bad(
                S_INGEST_TOKEN,
                format!(
                    "is required to serve; use at least {MIN_INGEST_TOKEN_CHARS} random characters"
                ),
            ));
        }
        Ok(())
    }

    pub fn database_url_redacted(&self) -> String {
        hookline::store::redact_url(self.database_url.expose())
    }
}

/// A whole number of seconds between 1 and 300.
fn seconds(setting: &str, value: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
    match value.unwrap_or(default) {
        n @ 1..=300 => Ok(Duration::from_secs(n)),
        n => Err(bad(
            setting,
            format!("{n} is not between 1 and 300 seconds"),
        )),
    }
}

/// `scheme://host[:port]`, lower-cased, without a trailing slash or path.
pub fn parse_origin(raw: &str) -> Result<String, ConfigError> {
    let value = raw.trim().trim_end_matches('/').to_lowercase();
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| bad(S_PUBLIC_ORIGIN, "must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad(
            S_PUBLIC_ORIGIN,
            format!(
                "`{raw}` must be scheme://host[:port] with no path, e.g. https://hooks.example.com"
            ),
        ));
    }
    Ok(value)
}

fn parse_secret_key(raw: &str) -> Result<Secret<[u8; 32]>, ConfigError> {
    let bytes = B64
        .decode(raw.trim())
        .map_err(|_| bad(S_SECRET_KEY, "is not valid base64"))?;
    let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        bad(
            S_SECRET_KEY,
            format!("must decode to exactly 32 bytes (got {}); generate one with `openssl rand -base64 32`", b.len()),
        )
    })?;
    Ok(Secret::new(key))
}

fn parse_ingest_token(raw: &str) -> Result<Secret<String>, ConfigError> {
    let token = raw.trim();
    if token.chars().count() < MIN_INGEST_TOKEN_CHARS {
        return Err(bad(
            S_INGEST_TOKEN,
            format!("must be at least {MIN_INGEST_TOKEN_CHARS} characters"),
        ));
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad(
            S_INGEST_TOKEN,
            "must be printable ASCII without spaces",
        ));
    }
    Ok(Secret::new(token.to_owned()))
}

/// A fresh random secret key, base64, for demo mode and tests.
pub fn generate_secret_key() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    B64.encode(key)
}

/// A fresh random token of `len` URL-safe characters.
pub fn generate_token(len: usize) -> String {
    hookline::crypto::random_token(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SettingsArgs {
        SettingsArgs::default()
    }

    #[test]
    fn defaults_are_local_and_safe() {
        let s = Settings::merge(args(), FileSettings::default()).unwrap();
        assert_eq!(s.database_url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.public_origin, "http://127.0.0.1:3000");
        assert!(!s.cookie_secure);
        assert_eq!(s.dev, DevSettings::default());
        assert!(
            s.check_serving()
                .unwrap_err()
                .setting
                .contains("HOOKLINE_SECRET_KEY")
        );
    }

    #[test]
    fn delivery_settings() {
        let s = Settings::merge(args(), FileSettings::default()).unwrap();
        assert_eq!(s.delivery.connect_timeout, Duration::from_secs(5));
        assert_eq!(s.delivery.timeout, Duration::from_secs(10));
        assert_eq!(s.delivery.retry_delays.len(), 7);
        assert!(s.delivery.egress_ips.is_empty());
        let a = SettingsArgs {
            delivery_timeout_secs: Some(3),
            retry_schedule: Some("1s, 1m".into()),
            egress_ips: Some("203.0.113.7, 2001:db8::7".into()),
            source_address: Some("127.0.0.1".into()),
            ..args()
        };
        let s = Settings::merge(a, FileSettings::default()).unwrap();
        assert_eq!(s.delivery.timeout, Duration::from_secs(3));
        assert_eq!(
            s.delivery.retry_delays,
            vec![Duration::from_secs(1), Duration::from_secs(60)]
        );
        assert_eq!(s.delivery.egress_ips.len(), 2);
        assert_eq!(s.delivery.source_address, Some([127, 0, 0, 1].into()));
        // A day of retention is enough for a short schedule (12 h at most
        // with Retry-After), not for the default one (54 h).
        let short = SettingsArgs {
            retry_schedule: Some("1s, 1m".into()),
            retention_days: Some(1),
            ..args()
        };
        assert!(Settings::merge(short, FileSettings::default()).is_ok());
        let Err(e) = Settings::merge(
            SettingsArgs {
                retention_days: Some(2),
                ..args()
            },
            FileSettings::default(),
        ) else {
            panic!("two days is shorter than the default schedule");
        };
        assert!(e.to_string().contains("54 hours"), "{e}");
    }

    #[test]
    fn options_win_over_the_file() {
        let a = SettingsArgs {
            listen: Some("0.0.0.0:8080".into()),
            ..args()
        };
        let f = FileSettings {
            listen: Some("127.0.0.1:9".into()),
            public_origin: Some("https://Hooks.Example.com/".into()),
            ..FileSettings::default()
        };
        let s = Settings::merge(a, f).unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(s.public_origin, "https://hooks.example.com");
        assert!(s.cookie_secure, "https origin turns Secure on by default");
    }

    #[test]
    fn bad_values_name_their_setting() {
        let cases = [
            (
                SettingsArgs {
                    listen: Some("nowhere".into()),
                    ..args()
                },
                "HOOKLINE_LISTEN",
            ),
            (
                SettingsArgs {
                    database_url: Some("mysql://x".into()),
                    ..args()
                },
                "HOOKLINE_DATABASE_URL",
            ),
            (
                SettingsArgs {
                    public_origin: Some("hooks.example.com".into()),
                    ..args()
                },
                "HOOKLINE_PUBLIC_ORIGIN",
            ),
            (
                SettingsArgs {
                    public_origin: Some("https://x.example/path".into()),
                    ..args()
                },
                "HOOKLINE_PUBLIC_ORIGIN",
            ),
            (
                SettingsArgs {
                    secret_key: Some("c2hvcnQ=".into()),
                    ..args()
                },
                "HOOKLINE_SECRET_KEY",
            ),
            (
                SettingsArgs {
                    secret_key: Some("not base64!".into()),
                    ..args()
                },
                "HOOKLINE_SECRET_KEY",
            ),
            (
                SettingsArgs {
                    ingest_token: Some("short".into()),
                    ..args()
                },
                "HOOKLINE_INGEST_TOKEN",
            ),
            (
                SettingsArgs {
                    log_format: Some("xml".into()),
                    ..args()
                },
                "HOOKLINE_LOG_FORMAT",
            ),
            (
                SettingsArgs {
                    delivery_timeout_secs: Some(0),
                    ..args()
                },
                "HOOKLINE_DELIVERY_TIMEOUT_SECS",
            ),
            (
                SettingsArgs {
                    retry_schedule: Some("5s,often".into()),
                    ..args()
                },
                "HOOKLINE_RETRY_SCHEDULE",
            ),
            (
                SettingsArgs {
                    egress_ips: Some("203.0.113.7, nope".into()),
                    ..args()
                },
                "HOOKLINE_EGRESS_IPS",
            ),
            (
                SettingsArgs {
                    trusted_proxies: Some("10.0.0.0/8, lb.internal".into()),
                    ..args()
                },
                "HOOKLINE_TRUSTED_PROXIES",
            ),
            (
                SettingsArgs {
                    source_address: Some("eth0".into()),
                    ..args()
                },
                "HOOKLINE_SOURCE_ADDRESS",
            ),
            (
                SettingsArgs {
                    extra_roots: Some("/nonexistent/roots.pem".into()),
                    ..args()
                },
                "HOOKLINE_EXTRA_ROOTS",
            ),
            (
                SettingsArgs {
                    lease_secs: Some(12),
                    ..args()
                },
                "HOOKLINE_LEASE_SECS",
            ),
            (
                SettingsArgs {
                    retention_days: Some(0),
                    ..args()
                },
                "HOOKLINE_RETENTION_DAYS",
            ),
            (
                SettingsArgs {
                    retention_days: Some(2),
                    ..args()
                },
                "HOOKLINE_RETENTION_DAYS",
            ),
            (
                SettingsArgs {
                    balance_rearm_percent: Some(101),
                    ..args()
                },
                "HOOKLINE_BALANCE_REARM_PERCENT",
            ),
        ];
        for (a, name) in cases {
            let err = Settings::merge(a, FileSettings::default()).unwrap_err();
            assert!(err.to_string().contains(name), "{err} should name {name}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let key = generate_secret_key();
        let token = generate_token(40);
        let s = Settings::merge(
            SettingsArgs {
                secret_key: Some(key.clone()),
                ingest_token: Some(token.clone()),
                database_url: Some("postgres://app:hunter2hunter2@db/hookline".into()),
                ..args()
            },
            FileSettings::default(),
        )
        .unwrap();
        s.check_serving().unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains(&key) && !debug.contains(&token) && !debug.contains("hunter2"));
        assert_eq!(s.database_url_redacted(), "postgres://app:***@db/hookline");
        let err = Settings::merge(
            SettingsArgs {
                ingest_token: Some("tooshort-secret".into()),
                ..args()
            },
            FileSettings::default(),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("tooshort-secret"));
    }

    #[test]
    fn file_rejects_unknown_keys_without_echoing_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hookline.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:4000\"\nsecret_kee = \"topsecretvalue\"\n",
        )
        .unwrap();
        let err = FileSettings::load(&path).unwrap_err();
        assert!(err.to_string().contains("secret_kee"), "{err}");
        assert!(!err.to_string().contains("topsecretvalue"), "{err}");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:4000\"\ndev_allow_http = true\n",
        )
        .unwrap();
        let s = Settings::merge(args(), FileSettings::load(&path).unwrap()).unwrap();
        assert_eq!(s.listen.port(), 4000);
        assert!(s.dev.allow_http);
    }
}
