//! Which address a request came from when it passed through the operator's
//! own load balancer or proxy: the address limits (sign-in, sign-up) and
//! API-key allowlists must see the client, not the proxy.

use crate::endpoint::Cidr;
use std::net::IpAddr;

/// The client's address: `peer` itself, unless `peer` is one of the
/// `trusted` proxies. Then the `X-Forwarded-For` values are read from the
/// right (each proxy appends the address it was reached from) and the first
/// address that is not a trusted proxy is the client. Entries a client
/// could have written itself, left of that, are never believed.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => continue,
            Ok(ip) => return ip,
            // Not an address: nothing to the left of it can be trusted.
            Err(_) => break,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|n| Cidr::parse(n).unwrap()).collect()
    }

    #[test]
    fn believes_only_what_trusted_proxies_added() {
        let lb: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = nets(&["10.0.0.0/24"]);
        // No proxies configured: the socket's address, whatever the header says.
        assert_eq!(client_ip(lb, ["203.0.113.7"], &[]), lb);
        // From the load balancer: the address it appended.
        assert_eq!(
            client_ip(lb, ["203.0.113.7"], &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // A client's own forged entry sits left of the real one.
        assert_eq!(
            client_ip(lb, ["1.2.3.4, 203.0.113.7"], &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // Two trusted hops, over two headers.
        assert_eq!(
            client_ip(lb, ["198.51.100.9", "10.0.0.5"], &trusted),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        // A direct client cannot pick its address.
        let direct: IpAddr = "198.51.100.20".parse().unwrap();
        assert_eq!(client_ip(direct, ["1.2.3.4"], &trusted), direct);
        // Nothing usable: the proxy's own address.
        assert_eq!(client_ip(lb, ["unknown"], &trusted), lb);
        assert_eq!(client_ip(lb, [], &trusted), lb);
    }
}
