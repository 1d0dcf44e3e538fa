//! Which addresses a delivery may connect to. The dispatcher resolves names
//! itself, drops every address refused here, and connects only to what is
//! left, so a name cannot be re-pointed between the check and the connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    Loopback,
    Private,
    LinkLocal,
    SharedAddressSpace,
    Multicast,
    Unspecified,
    Reserved,
}

impl Blocked {
    pub fn as_str(self) -> &'static str {
        match self {
            Blocked::Loopback => "loopback address",
            Blocked::Private => "private network address",
            Blocked::LinkLocal => "link-local or cloud metadata address",
            Blocked::SharedAddressSpace => "carrier-grade NAT address",
            Blocked::Multicast => "multicast address",
            Blocked::Unspecified => "unspecified address",
            Blocked::Reserved => "reserved or non-routable address",
        }
    }
}

/// `Err` with the reason when `addr` is not a public unicast address.
/// IPv4-mapped and IPv4-compatible IPv6 addresses are judged as IPv4.
pub fn check_public(addr: IpAddr) -> Result<(), Blocked> {
    match addr {
        IpAddr::V4(v4) => check_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => check_v4(v4),
            None => check_v6(v6),
        },
    }
}

fn check_v4(ip: Ipv4Addr) -> Result<(), Blocked> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() {
        Err(Blocked::Unspecified)
    } else if ip.is_loopback() {
        Err(Blocked::Loopback)
    } else if ip.is_private() {
        Err(Blocked::Private)
    } else if ip.is_link_local() {
        Err(Blocked::LinkLocal)
    } else if a == 100 && (64..128).contains(&b) {
        Err(Blocked::SharedAddressSpace)
    } else if ip.is_multicast() {
        Err(Blocked::Multicast)
    } else if a == 0
        || a >= 240
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        Err(Blocked::Reserved)
    } else {
        Ok(())
    }
}

fn check_v6(ip: Ipv6Addr) -> Result<(), Blocked> {
    let seg = ip.segments();
    if ip.is_unspecified() {
        Err(Blocked::Unspecified)
    } else if ip.is_loopback() {
        Err(Blocked::Loopback)
    } else if ip.is_multicast() {
        Err(Blocked::Multicast)
    } else if (seg[0] & 0xffc0) == 0xfe80 {
        Err(Blocked::LinkLocal)
    } else if (seg[0] & 0xfe00) == 0xfc00 {
        // Unique local addresses (fc00::/7), which include cloud metadata such as fd00:ec2::254.
        Err(Blocked::Private)
    } else if (seg[0] & 0xffc0) == 0xfec0
        || seg[0] == 0x2001 && seg[1] == 0x0db8
        || seg[0] == 0x0064 && seg[1] == 0xff9b
    {
        // Deprecated site-local, documentation, and NAT64 (which would reach IPv4 behind it).
        Err(Blocked::Reserved)
    } else if seg[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (::a.b.c.d): judge the embedded IPv4 address.
        check_v4(Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<(), Blocked> {
        check_public(s.parse().unwrap())
    }

    #[test]
    fn refuses_internal_destinations() {
        for (addr, why) in [
            ("127.0.0.1", Blocked::Loopback),
            ("127.8.9.10", Blocked::Loopback),
            ("::1", Blocked::Loopback),
            ("10.0.0.1", Blocked::Private),
            ("172.16.5.4", Blocked::Private),
            ("192.168.1.1", Blocked::Private),
            ("169.254.169.254", Blocked::LinkLocal),
            ("fe80::1", Blocked::LinkLocal),
            ("fd00:ec2::254", Blocked::Private),
            ("100.64.0.1", Blocked::SharedAddressSpace),
            ("100.100.100.200", Blocked::SharedAddressSpace),
            ("224.0.0.1", Blocked::Multicast),
            ("ff02::1", Blocked::Multicast),
            ("0.0.0.0", Blocked::Unspecified),
            ("::", Blocked::Unspecified),
            ("255.255.255.255", Blocked::Reserved),
            ("::ffff:127.0.0.1", Blocked::Loopback),
            ("::ffff:10.1.2.3", Blocked::Private),
            ("::ffff:169.254.169.254", Blocked::LinkLocal),
            ("::127.0.0.1", Blocked::Loopback),
            ("64:ff9b::a00:1", Blocked::Reserved),
        ] {
            assert_eq!(check(addr), Err(why), "{addr}");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for addr in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert_eq!(check(addr), Ok(()), "{addr}");
        }
    }
}
