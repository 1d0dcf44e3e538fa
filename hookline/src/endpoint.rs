//! Endpoint input and its rules: where deliveries may go and what they carry.
//! Shared with the portal so forms and the server agree.

use crate::events::EventType;
use crate::events::versions;
use crate::mode::Mode;
use crate::validation::{CONTROL_CHARACTER, FieldErrors, excerpt, has_control_character};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::str::FromStr;

pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_ALLOWLIST_ENTRIES: usize = 50;

/// A checked endpoint URL: https (http only with the operator's development
/// setting), a host, no user info, no fragment, at most 2048 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub fn parse(raw: &str, allow_http: bool) -> Result<EndpointUrl, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("Enter the URL that should receive webhooks.".into());
        }
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(format!("A URL has at most {MAX_URL_CHARS} characters."));
        }
        if has_control_character(raw, false) {
            return Err(CONTROL_CHARACTER.into());
        }
        let url = url::Url::parse(raw).map_err(|e| format!("This is not a valid URL ({e})."))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => return Err("Use an https:// URL: deliveries are only sent over TLS.".into()),
            other => return Err(format!("Use an https:// URL, not {other}://.")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("The URL needs a host name.".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("Remove the user name and password from the URL; sign-in details do not belong in it.".into());
        }
        if url.fragment().is_some() {
            return Err("Remove the #fragment: it is never sent to a server.".into());
        }
        // Stored (and indexed) as encoded: `é` takes six characters there.
        let encoded = url.to_string();
        if encoded.len() > MAX_URL_CHARS {
            return Err(format!(
                "A URL has at most {MAX_URL_CHARS} characters once its non-ASCII characters are encoded; this one has {}.",
                encoded.len()
            ));
        }
        Ok(EndpointUrl(encoded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Trusted input from storage (it was checked when saved).
    pub fn from_stored(raw: String) -> EndpointUrl {
        EndpointUrl(raw)
    }
}

/// One allowlist entry: a network in CIDR form. A bare address means just it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cidr(ipnet::IpNet);

impl Cidr {
    pub fn parse(raw: &str) -> Result<Cidr, String> {
        let raw = raw.trim();
        if let Ok(net) = ipnet::IpNet::from_str(raw) {
            if net.trunc() != net {
                return Err(format!(
                    "`{raw}` has host bits set; did you mean {}?",
                    net.trunc()
                ));
            }
            return Ok(Cidr(net));
        }
        match IpAddr::from_str(raw) {
            Ok(addr) => Ok(Cidr(ipnet::IpNet::from(addr))),
            Err(_) => Err(format!(
                "`{}` is not an IP network such as 203.0.113.0/24 or 2001:db8::/32.",
                excerpt(raw)
            )),
        }
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        self.0.contains(&addr)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a merchant submits to create or change an endpoint.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct EndpointInput {
    pub url: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Empty means the newest version.
    #[serde(default)]
    pub payload_version: String,
    /// CIDRs, one per entry; empty means any public address.
    #[serde(default)]
    pub allowlist: Vec<String>,
}

/// Endpoint input that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidEndpoint {
    pub url: EndpointUrl,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub payload_version: String,
    pub allowlist: Vec<Cidr>,
}

/// What the rules depend on besides the input.
#[derive(Clone, Copy, Debug, Default)]
pub struct EndpointRules {
    pub allow_http: bool,
    /// Whether the merchant may subscribe to opt-in types.
    pub opt_in_approved: bool,
}

impl EndpointInput {
    pub fn validate(&self, rules: EndpointRules) -> Result<ValidEndpoint, FieldErrors> {
        let mut errors = FieldErrors::new();
        let url = EndpointUrl::parse(&self.url, rules.allow_http)
            .map_err(|m| errors.add("url", m))
            .ok();
        let description = self.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            errors.add(
                "description",
                format!("Use at most {MAX_DESCRIPTION_CHARS} characters."),
            );
        } else if has_control_character(&description, false) {
            errors.add("description", CONTROL_CHARACTER);
        }
        let mut event_types = Vec::new();
        for raw in &self.event_types {
            match raw.parse::<EventType>() {
                Ok(t) if t.requires_approval() && !rules.opt_in_approved => errors.add(
                    "event_types",
                    format!("{t} is available once your request for it has been approved."),
                ),
                Ok(t) if !event_types.contains(&t) => event_types.push(t),
                Ok(_) => {}
                Err(m) => errors.add("event_types", m),
            }
        }
        if self.event_types.is_empty() {
            errors.add("event_types", "Choose at least one event type.");
        }
        event_types.sort();
        let payload_version = match self.payload_version.trim() {
            "" => versions::latest().to_owned(),
            v if versions::is_known(v) => v.to_owned(),
            v => {
                errors.add(
                    "payload_version",
                    format!(
                        "`{v}` is not a payload version; choose one of {}.",
                        versions::VERSIONS.join(", ")
                    ),
                );
                String::new()
            }
        };
        let allowlist = parse_allowlist(self.allowlist.iter().map(String::as_str), &mut errors);
        match url {
            Some(url) if errors.is_empty() => Ok(ValidEndpoint {
                url,
                description,
                event_types,
                payload_version,
                allowlist,
            }),
            _ => Err(errors),
        }
    }
}

/// The networks of an allowlist field: entries separated by commas, spaces
/// or new lines, duplicates dropped. Problems go to `errors` under
/// "allowlist". A list longer than allowed is refused before any entry is
/// parsed, so a pasted list of a hundred thousand addresses costs no more
/// than counting them.
pub fn parse_allowlist<'a>(
    fields: impl Iterator<Item = &'a str>,
    errors: &mut FieldErrors,
) -> Vec<Cidr> {
    let entries: Vec<&str> = fields
        .flat_map(|s| s.split([',', '\n', ' ']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if entries.len() > MAX_ALLOWLIST_ENTRIES {
        errors.add(
            "allowlist",
            format!(
                "Use at most {MAX_ALLOWLIST_ENTRIES} networks (this list has {}).",
                entries.len()
            ),
        );
        return Vec::new();
    }
    let mut allowlist = Vec::new();
    for entry in entries {
        match Cidr::parse(entry) {
            Ok(c) if !allowlist.contains(&c) => allowlist.push(c),
            Ok(_) => {}
            Err(m) => errors.add("allowlist", m),
        }
    }
    allowlist
}

/// An endpoint as the portal and API show it (never with its secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct EndpointView {
    pub id: String,
    pub merchant_id: String,
    pub mode: Mode,
    pub url: String,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub payload_version: String,
    pub allowlist: Vec<String>,
    pub enabled: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// Whether an endpoint receives deliveries, and if not, who turned it off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    Enabled,
    /// The merchant (or an admin) turned it off.
    Disabled,
    /// Hookline turned it off: it failed for the whole auto-disable period, or answered 410.
    AutoDisabled,
}

impl EndpointStatus {
    pub fn label(self) -> &'static str {
        match self {
            EndpointStatus::Enabled => "Enabled",
            EndpointStatus::Disabled => "Disabled",
            EndpointStatus::AutoDisabled => "Auto-disabled",
        }
    }
}

/// How deliveries to an endpoint are going, as a badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthBadge {
    /// The last attempt succeeded (or none was made yet).
    Healthy,
    /// Recent attempts failed; deliveries are being retried.
    Failing,
    /// Too many consecutive failures: deliveries wait for a probe.
    Paused,
    /// Not receiving deliveries.
    Off,
}

impl HealthBadge {
    pub fn label(self) -> &'static str {
        match self {
            HealthBadge::Healthy => "Healthy",
            HealthBadge::Failing => "Failing",
            HealthBadge::Paused => "Paused after failures",
            HealthBadge::Off => "Off",
        }
    }
}

/// One row of the portal's endpoint list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct EndpointSummary {
    pub endpoint: EndpointView,
    pub status: EndpointStatus,
    pub health: HealthBadge,
    /// Why Hookline disabled it, in words, when it did.
    pub disabled_note: Option<String>,
    pub consecutive_failures: i64,
    pub last_success_ms: Option<i64>,
    /// Attempts in the last 24 hours, and how many of them succeeded.
    pub attempts_24h: i64,
    pub succeeded_24h: i64,
    /// Deliveries waiting for the endpoint to be enabled again.
    pub held: i64,
}

impl EndpointSummary {
    /// The last 24 hours' success rate in percent, if anything was attempted.
    pub fn success_rate_24h(&self) -> Option<f64> {
        (self.attempts_24h > 0)
            .then(|| self.succeeded_24h as f64 * 100.0 / self.attempts_24h as f64)
    }
}

/// A signing secret as the portal lists it: never its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct SecretInfo {
    pub id: String,
    pub created_ms: i64,
    /// When it stops signing; `None` for the current secret.
    pub expires_ms: Option<i64>,
}

/// How long the old secret keeps signing after a rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GracePeriod {
    None,
    OneHour,
    OneDay,
    SevenDays,
}

impl GracePeriod {
    pub const ALL: [GracePeriod; 4] = [
        GracePeriod::None,
        GracePeriod::OneHour,
        GracePeriod::OneDay,
        GracePeriod::SevenDays,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GracePeriod::None => "none",
            GracePeriod::OneHour => "one_hour",
            GracePeriod::OneDay => "one_day",
            GracePeriod::SevenDays => "seven_days",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GracePeriod::None => "None: the old secret stops at once",
            GracePeriod::OneHour => "1 hour",
            GracePeriod::OneDay => "24 hours",
            GracePeriod::SevenDays => "7 days",
        }
    }

    pub fn millis(self) -> i64 {
        const HOUR: i64 = 3_600_000;
        match self {
            GracePeriod::None => 0,
            GracePeriod::OneHour => HOUR,
            GracePeriod::OneDay => 24 * HOUR,
            GracePeriod::SevenDays => 7 * 24 * HOUR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(EndpointUrl::parse("https://hooks.shop.example/hookline", false).is_ok());
        assert!(
            EndpointUrl::parse("http://hooks.shop.example/", false)
                .unwrap_err()
                .contains("https")
        );
        assert!(EndpointUrl::parse("http://hooks.shop.example/", true).is_ok());
        assert!(
            EndpointUrl::parse("https://user:pw@hooks.shop.example/", false)
                .unwrap_err()
                .contains("password")
        );
        assert!(
            EndpointUrl::parse("https://hooks.shop.example/#x", false)
                .unwrap_err()
                .contains("fragment")
        );
        assert!(EndpointUrl::parse("ftp://hooks.shop.example/", false).is_err());
        assert!(EndpointUrl::parse("not a url", false).is_err());
        let long = format!("https://hooks.shop.example/{}", "a".repeat(2048));
        assert!(
            EndpointUrl::parse(&long, false)
                .unwrap_err()
                .contains("2048")
        );
        // 600 characters typed, 5,400 once encoded.
        let wide = format!("https://hooks.shop.example/{}", "漢".repeat(600));
        assert!(
            EndpointUrl::parse(&wide, false)
                .unwrap_err()
                .contains("5427")
        );
        let fits = format!("https://hooks.shop.example/{}", "漢".repeat(200));
        assert_eq!(
            EndpointUrl::parse(&fits, false).unwrap().as_str().len(),
            27 + 1800
        );
    }

    #[test]
    fn cidrs() {
        let net = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(net.contains("203.0.113.9".parse().unwrap()));
        assert!(
            net.contains("::ffff:203.0.113.9".parse().unwrap()),
            "IPv4-mapped addresses match"
        );
        assert!(!net.contains("203.0.114.1".parse().unwrap()));
        assert!(
            Cidr::parse("198.51.100.7")
                .unwrap()
                .contains("198.51.100.7".parse().unwrap())
        );
        assert!(Cidr::parse("2001:db8::/32").is_ok());
        assert!(
            Cidr::parse("203.0.113.5/24")
                .unwrap_err()
                .contains("203.0.113.0/24")
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("example.com").is_err());
    }

    #[test]
    fn endpoint_input_reports_each_field() {
        let input = EndpointInput {
            url: "http://x.example".into(),
            description: "d".repeat(501),
            event_types: vec!["payin.refunded".into(), "balance.threshold_warning".into()],
            payload_version: "1999-01-01".into(),
            allowlist: vec!["nope".into()],
        };
        let errors = input.validate(EndpointRules::default()).unwrap_err();
        for field in [
            "url",
            "description",
            "event_types",
            "payload_version",
            "allowlist",
        ] {
            assert!(errors.get(field).is_some(), "{field}: {errors}");
        }
    }

    #[test]
    fn endpoint_input_defaults_and_dedupes() {
        let input = EndpointInput {
            url: "https://hooks.shop.example/in".into(),
            event_types: vec![
                "refund.updated".into(),
                "payin.succeeded".into(),
                "payin.succeeded".into(),
            ],
            allowlist: vec![
                "203.0.113.0/24, 198.51.100.7".into(),
                "203.0.113.0/24".into(),
            ],
            ..EndpointInput::default()
        };
        let ok = input.validate(EndpointRules::default()).unwrap();
        assert_eq!(ok.payload_version, versions::latest());
        assert_eq!(
            ok.event_types,
            vec![EventType::PayinSucceeded, EventType::RefundUpdated]
        );
        assert_eq!(ok.allowlist.len(), 2);
        let approved = EndpointInput {
            event_types: vec!["balance.threshold_warning".into()],
            ..input
        };
        assert!(
            approved
                .validate(EndpointRules {
                    allow_http: false,
                    opt_in_approved: true
                })
                .is_ok()
        );
    }
}
