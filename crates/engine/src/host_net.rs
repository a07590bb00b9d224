//! The host's own network addresses: a network file system served from
//! one of them is the host's own disk, reached from the daemon's (the
//! host's) network namespace.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Every address assigned to an interface of this network namespace, up or
/// down, as `getifaddrs(3)` lists them (the kernel's routing tables drop
/// the local routes of some interfaces that are down).
pub fn local_addresses() -> BTreeSet<IpAddr> {
    let mut out = BTreeSet::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that stays valid
    // until freeifaddrs; every node and address pointer is checked for null
    // and read according to its address family.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut node = list;
        while !node.is_null() {
            let address = (*node).ifa_addr;
            if !address.is_null() {
                match i32::from((*address).sa_family) {
                    libc::AF_INET => {
                        let v4 = &*(address as *const libc::sockaddr_in);
                        out.insert(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))));
                    }
                    libc::AF_INET6 => {
                        let v6 = &*(address as *const libc::sockaddr_in6);
                        out.insert(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            node = (*node).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}

/// Whether this network namespace has an interface of this name.
pub fn has_interface(name: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(name) else {
        return false;
    };
    // SAFETY: if_nametoindex reads a NUL-terminated string and returns 0
    // when there is no such interface.
    unsafe { libc::if_nametoindex(name.as_ptr()) != 0 }
}

/// Whether `ip` reaches this host: loopback, unspecified, or local.
pub fn is_local(ip: IpAddr, local: &BTreeSet<IpAddr>) -> bool {
    // An IPv4 address mapped into IPv6 (::ffff:a.b.c.d) is that address.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    ip.is_loopback() || ip.is_unspecified() || local.contains(&ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_has_loopback() {
        let local = local_addresses();
        assert!(local.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(is_local("0.0.0.0".parse().unwrap(), &local));
        assert!(is_local("127.0.0.2".parse().unwrap(), &local));
        assert!(is_local("::ffff:127.0.0.1".parse().unwrap(), &local));
        assert!(has_interface("lo"));
        assert!(!has_interface("dockgate-none0"));
        assert!(!has_interface("lo\0x"));
        assert!(!is_local("192.0.2.200".parse().unwrap(), &local));
    }
}
