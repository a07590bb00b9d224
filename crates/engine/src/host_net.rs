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

/// The TCP addresses process `pid` listens on: its sockets (the inodes
/// behind `/proc/PID/fd`) matched with the listening sockets of its network
/// namespace (`/proc/PID/net/tcp` and `tcp6`). An error when its
/// descriptors cannot be read (another user's process, without root).
pub fn tcp_listeners(pid: u32) -> std::io::Result<Vec<String>> {
    let mut inodes = BTreeSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inodes.insert(inode.to_string());
        }
    }
    let mut listeners = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ... uid timeout inode
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if *state == "0A" && inodes.contains(*inode) {
                if let Some(address) = kernel_address(local) {
                    listeners.push(address);
                }
            }
        }
    }
    listeners.sort();
    listeners.dedup();
    Ok(listeners)
}

/// `0100007F:0050` (IPv4) or 32 hex digits and a port (IPv6), as the
/// kernel writes them (each 32-bit word of the address as a number in the
/// host's byte order), as `ip:port`.
fn kernel_address(field: &str) -> Option<String> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    match words[..] {
        [v4] => Some(format!("{}:{port}", Ipv4Addr::from(v4.to_ne_bytes()))),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, word) in [a, b, c, d].iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
            }
            Some(format!("[{}]:{port}", Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod listener_tests {
    use super::*;

    #[test]
    fn kernel_addresses() {
        if cfg!(target_endian = "little") {
            assert_eq!(
                kernel_address("0100007F:5CD4").as_deref(),
                Some("127.0.0.1:23764")
            );
            assert_eq!(
                kernel_address("00000000000000000000000000000000:0948").as_deref(),
                Some("[::]:2376")
            );
            assert_eq!(
                kernel_address("00000000000000000000000001000000:0050").as_deref(),
                Some("[::1]:80")
            );
        }
        assert_eq!(kernel_address("zz:1"), None);
    }
}
