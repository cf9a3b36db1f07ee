// proxy1_allow_list: forward only the clients you know        (chapter: proxy)
//
// The article's proxy listens on 0.0.0.0 and forwards whoever connects:
// on a shared network it is an open door to its target. An allow-list
// shuts it: the proxy looks at the address `accept` returned, and a
// client that is on no network of the list is closed at once, before the
// proxy connects anywhere for it.
//
// Write `allowed`: whether `ip` lies in one of the networks of `allow`.
// A network is an address and a prefix length, `(10.0.0.0, 8)` for
// 10.0.0.0/8: the first 8 bits of an address in it are those of 10.0.0.0.
// IPv6 addresses are on no IPv4 list, except an IPv4 address that an IPv6
// socket shows as `::ffff:127.0.0.1`.
//
// The check asks about a dozen addresses, then runs a proxy that asks
// your `allowed` about every client.
//
// Check it:  rustlings run proxy1_allow_list
// Stuck?     rustlings hint proxy1_allow_list

use std::net::{IpAddr, Ipv4Addr};

use harness::proxy::Network;

/// Whether a client at `ip` is in one of the networks of `allow`.
fn allowed(ip: IpAddr, allow: &[Network]) -> bool {
    // `::ffff:127.0.0.1` becomes 127.0.0.1; a real IPv6 address stays one.
    let IpAddr::V4(ip) = ip.to_canonical() else {
        return false;
    };
    allow.iter().any(|&(network, prefix)| {
        // The top `prefix` bits set. A shift by 32 overflows a u32, so
        // /0 (no bit to compare: everyone) gets a mask of 0 instead.
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        u32::from(ip) & mask == u32::from(network) & mask
    })
}

fn main() {
    let allow = [(Ipv4Addr::new(127, 0, 0, 0), 8)];
    for ip in ["127.0.0.1", "10.0.0.1", "::1"] {
        let ip: IpAddr = ip.parse().unwrap();
        println!("{ip:>9} on 127.0.0.0/8: {}", allowed(ip, &allow));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_in_their_networks_and_no_others() {
        harness::proxy::check_addresses(allowed);
    }

    #[test]
    fn a_stranger_is_closed_before_anything_is_forwarded() {
        harness::proxy::check_strangers_are_closed(allowed);
    }
}
