//! The HTTP side of a delivery: a client per endpoint whose name resolution
//! refuses internal addresses and addresses outside the endpoint's allowlist,
//! so the connection only ever goes to an address that was checked.

use crate::destination::{Blocked, check_public};
use crate::endpoint::Cidr;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Names Hookline and its version to receivers (and in the attempt log).
pub const USER_AGENT: &str = concat!("Hookline/", env!("CARGO_PKG_VERSION"), " (+webhooks)");

/// The operator's delivery settings.
#[derive(Clone, Debug)]
pub struct DeliveryPolicy {
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Development only: allow `http://` endpoints.
    pub allow_http: bool,
    /// Development only: allow loopback and private destinations.
    pub allow_private: bool,
    /// Bind outgoing connections to this address (the platform's egress IP).
    pub source_address: Option<IpAddr>,
    /// Extra trusted roots in PEM (a private CA, or a test receiver's certificate).
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// `{public origin}/inbox/`: URLs under it are this installation's own
    /// sandbox inbox and are reached even over http or a private address.
    pub inbox_prefix: Option<String>,
}

impl DeliveryPolicy {
    /// Whether `url` is this installation's own sandbox inbox.
    pub fn is_inbox(&self, url: &str) -> bool {
        self.inbox_prefix
            .as_deref()
            .is_some_and(|prefix| url.starts_with(prefix))
    }
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            allow_http: false,
            allow_private: false,
            source_address: None,
            extra_roots_pem: Vec::new(),
            inbox_prefix: None,
        }
    }
}

/// Why a destination was refused before connecting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("{addr} is a {}", reason.as_str())]
    Blocked { addr: IpAddr, reason: Blocked },
    #[error("{addr} is outside the endpoint's destination allowlist")]
    NotInAllowlist { addr: IpAddr },
    #[error("name resolution failed: {0}")]
    Dns(String),
}

/// Checks one address against the operator's policy and the endpoint's allowlist.
pub fn check_address(
    addr: IpAddr,
    allow_private: bool,
    allowlist: &[Cidr],
) -> Result<(), DestinationError> {
    if !allow_private && let Err(reason) = check_public(addr) {
        return Err(DestinationError::Blocked { addr, reason });
    }
    if !allowlist.is_empty() && !allowlist.iter().any(|c| c.contains(addr)) {
        return Err(DestinationError::NotInAllowlist { addr });
    }
    Ok(())
}

#[derive(Clone)]
struct GuardedResolver {
    allow_private: bool,
    allowlist: Arc<Vec<Cidr>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| -> BoxError {
                    Box::new(DestinationError::Dns(format!("{host}: {e}")))
                })?
                .collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(
                    |a| match check_address(a.ip(), this.allow_private, &this.allowlist) {
                        Ok(()) => true,
                        Err(e) => {
                            refused = Some(e);
                            false
                        }
                    },
                )
                .collect();
            if allowed.is_empty() {
                let err = refused
                    .unwrap_or_else(|| DestinationError::Dns(format!("{host}: no addresses")));
                return Err(Box::new(err) as BoxError);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// One client per endpoint (and its inbox flag), so connections to one
/// merchant are reused and never shared with another's checks. A changed
/// allowlist replaces the endpoint's client rather than adding one, so the
/// cache holds at most one client per endpoint however often it changes.
pub struct ClientCache {
    policy: DeliveryPolicy,
    /// By `endpoint_id|inbox`: the allowlist the client checks, and the client.
    clients: Mutex<HashMap<String, (String, reqwest::Client)>>,
}

impl ClientCache {
    pub fn new(policy: DeliveryPolicy) -> Self {
        Self {
            policy,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> &DeliveryPolicy {
        &self.policy
    }

    /// `inbox`: the client may reach this installation's own inbox, whatever
    /// its address.
    pub fn client_for(
        &self,
        endpoint_id: &str,
        allowlist: &[Cidr],
        inbox: bool,
    ) -> Result<reqwest::Client, String> {
        let key = format!("{endpoint_id}|{inbox}");
        let checks = allowlist
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached, c)) = clients.get(&key)
            && *cached == checks
        {
            return Ok(c.clone());
        }
        let mut builder = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: self.policy.allow_private || inbox,
                allowlist: Arc::new(allowlist.to_vec()),
            }))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would resolve the endpoint's host
            // itself, out of the guarded resolver's sight.
            .no_proxy()
            .connect_timeout(self.policy.connect_timeout)
            .timeout(self.policy.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .user_agent(USER_AGENT);
        if let Some(addr) = self.policy.source_address {
            builder = builder.local_address(addr);
        }
        for pem in &self.policy.extra_roots_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| format!("extra root certificate: {e}"))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        clients.insert(key, (checks, client.clone()));
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_one_client_per_endpoint_however_often_its_allowlist_changes() {
        let cache = ClientCache::new(DeliveryPolicy::default());
        for n in 0..20 {
            let cidr = Cidr::parse(&format!("198.51.100.{n}")).unwrap();
            cache.client_for("ep_1", &[cidr], false).unwrap();
        }
        cache.client_for("ep_2", &[], false).unwrap();
        cache.client_for("ep_2", &[], true).unwrap();
        assert_eq!(cache.clients.lock().unwrap().len(), 3);
    }
}
