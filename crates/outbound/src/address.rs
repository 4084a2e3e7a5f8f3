//! Which addresses a service may not reach by name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is refused unless a service's `outbound` list names it, as a
/// phrase like "a loopback address"; `None` for an ordinary public address.
///
/// Refused: private networks (10/8, 172.16/12, 192.168/16, fc00::/7 and the
/// deprecated site-local fec0::/10), carrier-grade NAT (100.64/10), loopback
/// (127/8, ::1), link-local (169.254/16, fe80::/10), unspecified ("this
/// network" 0/8, ::), multicast (224/4, ff00::/8), broadcast and the rest of
/// 240/4, IETF protocol assignments (192.0.0/24), documentation (192.0.2/24,
/// 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20), benchmarking
/// (198.18/15, 2001:2::/48), IPv4-compatible (::/96) and discard-only
/// (100::/64) IPv6, and the local-use NAT64 prefix (64:ff9b:1::/48). IPv6
/// forms that carry an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64
/// 64:ff9b::/96, 6to4 2002::/16) are judged by that IPv4 address.
pub(crate) fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => refused_v4(ip),
        IpAddr::V6(ip) => refused_v6(ip),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "an unspecified address",
        (127, ..) => "a loopback address",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "a private address",
        (100, 64..=127, _) => "a carrier-grade NAT address",
        (169, 254, _) => "a link-local address",
        (192, 0, 0) => "a reserved address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, ..) => "a multicast address",
        _ if ip.is_broadcast() => "a broadcast address",
        (240..=255, ..) => "a reserved address",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    let embedded = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        refused_v4(Ipv4Addr::new(a, b, c, d))
    };
    let segments = ip.segments();
    Some(match segments {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        [0, 0, 0, 0, 0, 0, _, _] => "a reserved address",
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => return embedded(high, low),
        [0x64, 0xff9b, 1, ..] => "a private address",
        [0x100, 0, 0, 0, ..] => "a reserved address",
        [0x2001, 0xdb8, ..] => "a documentation address",
        [0x3fff, second, ..] if second < 0x1000 => "a documentation address",
        [0x2001, 2, 0, ..] => "a benchmarking address",
        [0x2002, high, low, ..] => return embedded(high, low),
        [first, ..] if first & 0xfe00 == 0xfc00 => "a private address",
        [first, ..] if first & 0xffc0 == 0xfec0 => "a private address",
        [first, ..] if first & 0xffc0 == 0xfe80 => "a link-local address",
        [first, ..] if first & 0xff00 == 0xff00 => "a multicast address",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        for (address, expected) in [
            // public
            ("1.1.1.1", None),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("9.255.255.255", None),
            ("11.0.0.0", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.167.255.255", None),
            ("192.169.0.0", None),
            ("192.0.1.1", None),
            ("198.17.255.255", None),
            ("198.20.0.0", None),
            ("223.255.255.255", None),
            ("2606:4700:4700::1111", None),
            ("2001:4860:4860::8888", None),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::808:808", None),
            ("2002:808:808::1", None),
            ("3fff:1000::1", None),
            // unspecified, "this network"
            ("0.0.0.0", Some("an unspecified address")),
            ("0.1.2.3", Some("an unspecified address")),
            ("::", Some("an unspecified address")),
            // loopback
            ("127.0.0.1", Some("a loopback address")),
            ("127.255.255.254", Some("a loopback address")),
            ("::1", Some("a loopback address")),
            // private
            ("10.0.0.1", Some("a private address")),
            ("10.255.255.255", Some("a private address")),
            ("172.16.0.1", Some("a private address")),
            ("172.31.255.255", Some("a private address")),
            ("192.168.1.1", Some("a private address")),
            ("fc00::1", Some("a private address")),
            ("fd12:3456::1", Some("a private address")),
            ("fec0::1", Some("a private address")),
            ("64:ff9b:1::1", Some("a private address")),
            // carrier-grade NAT
            ("100.64.0.1", Some("a carrier-grade NAT address")),
            ("100.127.255.255", Some("a carrier-grade NAT address")),
            // link-local (cloud metadata services live here)
            ("169.254.169.254", Some("a link-local address")),
            ("fe80::1", Some("a link-local address")),
            ("febf::1", Some("a link-local address")),
            // multicast and broadcast
            ("224.0.0.1", Some("a multicast address")),
            ("239.255.255.250", Some("a multicast address")),
            ("ff02::1", Some("a multicast address")),
            ("255.255.255.255", Some("a broadcast address")),
            // reserved, documentation, benchmarking
            ("240.0.0.1", Some("a reserved address")),
            ("192.0.0.8", Some("a reserved address")),
            ("::7f00:1", Some("a reserved address")),
            ("100::1", Some("a reserved address")),
            ("192.0.2.1", Some("a documentation address")),
            ("198.51.100.1", Some("a documentation address")),
            ("203.0.113.1", Some("a documentation address")),
            ("2001:db8::1", Some("a documentation address")),
            ("3fff::1", Some("a documentation address")),
            ("198.18.0.1", Some("a benchmarking address")),
            ("198.19.255.255", Some("a benchmarking address")),
            ("2001:2::1", Some("a benchmarking address")),
            // IPv6 forms of IPv4 addresses are judged by the IPv4 address
            ("::ffff:127.0.0.1", Some("a loopback address")),
            ("::ffff:10.1.2.3", Some("a private address")),
            ("::ffff:169.254.169.254", Some("a link-local address")),
            ("::ffff:0.0.0.0", Some("an unspecified address")),
            ("64:ff9b::7f00:1", Some("a loopback address")),
            ("64:ff9b::a9fe:a9fe", Some("a link-local address")),
            ("2002:7f00:1::1", Some("a loopback address")),
            ("2002:c0a8:101::1", Some("a private address")),
        ] {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(refused(ip), expected, "{address}");
        }
    }
}
