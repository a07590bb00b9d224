//! Mounts, described by what they expose of the host rather than by syntax.

use serde::Serialize;

use crate::Resolution;

/// How a mount is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum MountKind {
    /// A host path bound into the container.
    Bind {
        /// The host path, cleaned lexically (`..` and `.` resolved).
        host_path: String,
        /// The same path with symbolic links resolved on the host, when the
        /// reader could see the host's file system.
        real_path: Option<String>,
    },
    /// A named or anonymous volume.
    Volume {
        /// The volume name; empty for an anonymous volume.
        name: String,
        /// The driver requested for it, when the request names one.
        driver: Option<String>,
        /// What the volume is backed by on the host.
        backing: Resolution<VolumeBacking>,
    },
    /// A host path bound into the container that the reader cannot know:
    /// a run line's `$HOME/data` or `$(pwd)` is expanded by the shell that
    /// runs it, on a host the reader does not see. It is a bind all the
    /// same, and judged as one whose source is unknown.
    UnresolvedBind {
        /// The source as written.
        written: String,
        /// What could not be resolved (`$HOME`, `$(pwd)`).
        unresolved: String,
    },
    /// A tmpfs; it exposes nothing of the host.
    Tmpfs,
    /// A mount type dockgate does not judge further (`npipe`, `cluster`,
    /// `image`...).
    Other {
        /// The type as given.
        kind: String,
    },
}

/// What backs a volume on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "backing", content = "detail", rename_all = "kebab-case")]
pub enum VolumeBacking {
    /// A directory that Docker manages under its data root.
    Managed,
    /// A host path, bind-mounted by the `local` driver (`o=bind`).
    HostPath(String),
    /// A host block device, mounted by the `local` driver.
    Device(String),
    /// A network file system (`nfs`, `cifs`...) mounted by the daemon from
    /// the host's network namespace.
    Remote(RemoteFs),
    /// A volume plugin; what it mounts is up to the plugin.
    Plugin(String),
}

/// A network file system a `local` volume mounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteFs {
    /// The file system type and device, as given (`nfs :/export`).
    pub source: String,
    /// Every address the kernel may take the server from: each `addr=`,
    /// `ip=` and `mountaddr=` option (the kernel keeps the last of a
    /// repeated one, the daemon resolves the first) and the host part of
    /// the device (`server:/path`, `//server/share`).
    pub addresses: Vec<String>,
    /// The exported path on the server.
    pub export: String,
    /// Whether the server is this host: then the export is a host path,
    /// reached from the host itself, past any export restriction to
    /// other clients.
    pub on_host: Resolution<bool>,
}

impl RemoteFs {
    fn new(kind: &str, flags: &str, device: &str) -> RemoteFs {
        let mut addresses = Vec::new();
        // The CIFS client takes the share from `unc=` or `source=` in the
        // options too, after the device.
        let mut devices = vec![device.to_string()];
        for flag in flags.split(',') {
            let Some((key, value)) = flag.trim().split_once('=') else {
                continue;
            };
            match key {
                "addr" | "ip" | "mountaddr" => addresses.push(value.to_string()),
                "unc" | "source" => devices.push(value.to_string()),
                _ => {}
            }
        }
        for device in &devices {
            if let Some(server) = server_of(device) {
                addresses.push(server);
            }
        }
        // `server:/path` (nfs), `//server/share` (cifs): the path part.
        let unc = device.replace('\\', "/");
        let path = match device.split_once(':') {
            Some((_, path)) => path,
            None => unc
                .trim_start_matches('/')
                .split_once('/')
                .map_or("", |(_, p)| p),
        };
        let export = crate::names::clean_path(&format!("/{}", path.trim_start_matches('/')));
        let on_host = if addresses.iter().any(|a| is_loopback(a)) {
            Resolution::Known(true)
        } else if addresses.is_empty() {
            // No server: the mount fails.
            Resolution::Known(false)
        } else {
            Resolution::Pending
        };
        RemoteFs {
            source: format!("{kind} {device}").trim().to_string(),
            addresses,
            export,
            on_host,
        }
    }
}

/// The server a network file system's device names: `server:/path` (nfs),
/// or a UNC, `//server/share`, whose separators the CIFS client accepts as
/// `/` or `\` in any mix.
fn server_of(device: &str) -> Option<String> {
    let unc = device.replace('\\', "/");
    let server = match unc.strip_prefix("//") {
        Some(rest) => rest.split('/').next().unwrap_or_default(),
        None => device.rsplit_once(":/").map_or("", |(host, _)| host),
    };
    (!server.is_empty()).then(|| server.to_string())
}

/// Addresses that are this host whatever its interfaces: loopback, the
/// unspecified address (a connection to it reaches the host), and the
/// name the daemon resolves to loopback.
fn is_loopback(address: &str) -> bool {
    let address = address.trim_start_matches('[').trim_end_matches(']');
    if address.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => v6
            .to_ipv4_mapped()
            .is_some_and(|v4| v4.is_loopback() || v4.is_unspecified()),
        Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => false,
    }
}

impl VolumeBacking {
    /// Reads the options of a volume driver the way the `local` driver
    /// applies them (`type`, `o`, `device`, as passed to mount(2)).
    pub fn from_driver_options<'a>(
        driver: &str,
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> VolumeBacking {
        if !(driver.is_empty() || driver == "local") {
            return VolumeBacking::Plugin(driver.to_string());
        }
        let (mut kind, mut flags, mut device) = ("", "", "");
        for (key, value) in options {
            match key {
                "type" => kind = value,
                "o" => flags = value,
                "device" => device = value,
                _ => {}
            }
        }
        let bind = flags
            .split(',')
            .any(|flag| matches!(flag.trim(), "bind" | "rbind"));
        if bind {
            return VolumeBacking::HostPath(crate::names::clean_path(device));
        }
        if REMOTE_FS.contains(&kind) || flags.split(',').any(|f| f.starts_with("addr=")) {
            return VolumeBacking::Remote(RemoteFs::new(kind, flags, device));
        }
        if kind == "tmpfs" || device.is_empty() {
            return VolumeBacking::Managed;
        }
        if device.starts_with("/dev/") || !device.starts_with('/') {
            return VolumeBacking::Device(device.to_string());
        }
        VolumeBacking::HostPath(crate::names::clean_path(device))
    }
}

/// File systems the `local` driver mounts from the network, not the host.
const REMOTE_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "ceph",
    "glusterfs",
    "9p",
    "fuse.sshfs",
];

/// What a mount exposes of the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "effect", content = "detail", rename_all = "kebab-case")]
pub enum HostPathEffect {
    /// Nothing outside Docker's own storage.
    None,
    /// This host path (file or directory).
    Path(String),
    /// This host block device.
    Device(String),
    /// A volume plugin mounts something only it knows.
    Plugin(String),
    /// What backs the volume could not be looked up.
    Unknown(String),
}

/// One mount of a workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// How the mount is made.
    pub kind: MountKind,
    /// The path inside the container.
    pub target: String,
    /// Whether the container sees it read-only.
    pub read_only: bool,
    /// Mount propagation (`rshared`...), where set.
    pub propagation: Option<String>,
    /// Set when the mount is inherited, e.g. `volumes-from runner`.
    pub via: Option<String>,
    /// Where it was found.
    pub field: String,
}

impl Mount {
    /// What this mount exposes of the host.
    pub fn host_effect(&self) -> HostPathEffect {
        match &self.kind {
            MountKind::Bind { host_path, .. } => HostPathEffect::Path(host_path.clone()),
            MountKind::Volume { backing, .. } => match backing {
                Resolution::Known(VolumeBacking::HostPath(path)) => {
                    HostPathEffect::Path(path.clone())
                }
                Resolution::Known(VolumeBacking::Device(dev)) => {
                    HostPathEffect::Device(dev.clone())
                }
                Resolution::Known(VolumeBacking::Plugin(driver)) => {
                    HostPathEffect::Plugin(driver.clone())
                }
                Resolution::Known(VolumeBacking::Remote(remote)) => match &remote.on_host {
                    Resolution::Known(true) => HostPathEffect::Path(remote.export.clone()),
                    Resolution::Failed(why) => HostPathEffect::Unknown(why.clone()),
                    Resolution::Known(false) | Resolution::Pending => HostPathEffect::None,
                },
                Resolution::Known(VolumeBacking::Managed) => HostPathEffect::None,
                // Only a description that is never resolved (a compose file
                // or a run line, judged without a daemon) keeps a Pending
                // volume: the gate always resolves, to Known or Failed.
                Resolution::Pending => HostPathEffect::None,
                Resolution::Failed(why) => HostPathEffect::Unknown(why.clone()),
            },
            MountKind::UnresolvedBind {
                written,
                unresolved,
            } => HostPathEffect::Unknown(format!(
                "its host path {written:?} depends on {unresolved}, which only the shell that runs it knows"
            )),
            MountKind::Tmpfs | MountKind::Other { .. } => HostPathEffect::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backing(driver: &str, opts: &[(&str, &str)]) -> VolumeBacking {
        VolumeBacking::from_driver_options(driver, opts.iter().copied())
    }

    #[test]
    fn local_driver_options() {
        assert_eq!(backing("local", &[]), VolumeBacking::Managed);
        assert_eq!(backing("", &[]), VolumeBacking::Managed);
        assert_eq!(
            backing(
                "local",
                &[("type", "none"), ("o", "bind"), ("device", "/etc/../")]
            ),
            VolumeBacking::HostPath("/".into())
        );
        assert_eq!(
            backing("local", &[("o", "ro,rbind"), ("device", "/srv")]),
            VolumeBacking::HostPath("/srv".into())
        );
        assert_eq!(
            backing("local", &[("type", "ext4"), ("device", "/dev/sda1")]),
            VolumeBacking::Device("/dev/sda1".into())
        );
        assert_eq!(
            backing("local", &[("type", "tmpfs"), ("device", "tmpfs")]),
            VolumeBacking::Managed
        );
        assert_eq!(
            backing(
                "local",
                &[("type", "nfs"), ("o", "addr=10.0.0.1"), ("device", ":/x")]
            ),
            VolumeBacking::Remote(RemoteFs {
                source: "nfs :/x".into(),
                addresses: vec!["10.0.0.1".into()],
                export: "/x".into(),
                on_host: Resolution::Pending,
            })
        );
        assert_eq!(
            backing("rexray", &[("size", "1")]),
            VolumeBacking::Plugin("rexray".into())
        );
    }

    #[test]
    fn network_file_systems_from_this_host_are_host_paths() {
        let effect = |opts: &[(&str, &str)]| {
            Mount {
                kind: MountKind::Volume {
                    name: "v".into(),
                    driver: None,
                    backing: Resolution::Known(backing("local", opts)),
                },
                target: "/x".into(),
                read_only: false,
                propagation: None,
                via: None,
                field: String::new(),
            }
            .host_effect()
        };
        for (o, device) in [
            ("addr=127.0.0.1", ":/"),
            ("addr=127.1.2.3,nolock,soft,rw", "localhost:/srv/../"),
            ("vers=4,addr=::1", ":/"),
            ("addr=0.0.0.0", "x:/"),
            ("addr=localhost", ":/"),
        ] {
            assert_eq!(
                effect(&[("type", "nfs"), ("o", o), ("device", device)]),
                HostPathEffect::Path("/".into()),
                "{o} {device}"
            );
        }
        assert_eq!(
            effect(&[
                ("type", "cifs"),
                ("o", "addr=127.0.0.1"),
                ("device", "//x/share/sub")
            ]),
            HostPathEffect::Path("/share/sub".into())
        );
        // The kernel keeps the last addr=; CIFS takes ip= or the UNC's
        // server; an IPv4 address may come mapped into IPv6.
        for (kind, o, device) in [
            ("nfs", "addr=0.0.0.1,addr=127.0.0.1,rw", ":/"),
            ("nfs", "addr=::ffff:127.0.0.1,rw", ":/"),
            ("nfs", "vers=3,addr=192.0.2.7,mountaddr=127.0.0.1", ":/"),
            ("nfs", "rw", "127.0.0.1:/"),
            ("cifs", "username=u,password=p", "//127.0.0.1/"),
            ("cifs", "username=u", "//localhost/"),
            ("cifs", "ip=127.0.0.1,username=u", "//fileserver/"),
            ("cifs", "username=u", r"\\127.0.0.1\"),
            ("cifs", "username=u", r"/\127.0.0.1/"),
            ("cifs", "unc=//127.0.0.1/,username=u", "//192.0.2.9/"),
            ("cifs", "source=//127.0.0.1/", "//192.0.2.9/"),
        ] {
            assert_eq!(
                effect(&[("type", kind), ("o", o), ("device", device)]),
                HostPathEffect::Path("/".into()),
                "{kind} {o} {device}"
            );
        }
        // Another server: not this host's paths (resolution may say it is).
        assert_eq!(
            effect(&[("type", "nfs"), ("o", "addr=192.0.2.7"), ("device", ":/")]),
            HostPathEffect::None
        );
    }
}
