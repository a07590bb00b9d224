//! The rule catalogue: stable ids, default actions per profile, and the
//! documentation `dockgate explain` prints.
//!
//! Rule ids are part of dockgate's interface: policy files, exemptions,
//! audit records and monitoring all name them. Never rename one.

use serde::{Deserialize, Serialize};

use crate::policy::{Action, Profile};

macro_rules! rules {
    ($($variant:ident = $id:literal, $baseline:ident, $restricted:ident;)*) => {
        /// A rule, by its stable id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum RuleId {
            $(
                #[doc = concat!("`", $id, "`")]
                #[serde(rename = $id)]
                $variant,
            )*
        }

        impl RuleId {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// The stable id.
            pub fn id(self) -> &'static str {
                match self { $(RuleId::$variant => $id,)* }
            }

            /// The action a built-in profile gives the rule.
            pub fn default_action(self, profile: Profile) -> Action {
                match (self, profile) {
                    $(
                        (RuleId::$variant, Profile::Baseline) => Action::$baseline,
                        (RuleId::$variant, Profile::Restricted) => Action::$restricted,
                    )*
                }
            }
        }
    };
}

rules! {
    Privileged = "privileged", Deny, Deny;
    HostMount = "host-mount", Deny, Deny;
    DockerSocket = "docker-socket", Deny, Deny;
    HostNamespace = "host-namespace", Deny, Deny;
    Capabilities = "capabilities", Deny, Deny;
    Devices = "devices", Deny, Deny;
    SecurityProfile = "security-profile", Deny, Deny;
    Sysctls = "sysctls", Deny, Deny;
    MountPropagation = "mount-propagation", Deny, Deny;
    Runtime = "runtime", Deny, Deny;
    RuntimeAnnotations = "runtime-annotations", Deny, Deny;
    CgroupParent = "cgroup-parent", Deny, Deny;
    NetworkDriver = "network-driver", Deny, Deny;
    RunAsRoot = "run-as-root", Warn, Deny;
    PublishedPorts = "published-ports", Warn, Deny;
    ImageRegistry = "image-registry", Off, Deny;
    ImageLatest = "image-latest", Off, Deny;
    ImageDigest = "image-digest", Off, Deny;
    NoNewPrivileges = "no-new-privileges", Off, Deny;
    ReadOnlyRootfs = "read-only-rootfs", Off, Deny;
    MemoryLimit = "memory-limit", Off, Deny;
    PidsLimit = "pids-limit", Off, Deny;
    EnvSecrets = "env-secrets", Warn, Warn;
    PluginManagement = "plugin-management", Deny, Deny;
    SwarmJoin = "swarm-join", Deny, Deny;
    BuildKit = "buildkit", Deny, Deny;
    CopyIntoContainer = "copy-into-container", Off, Deny;
    UnknownEndpoint = "unknown-endpoint", Deny, Deny;
    UnreadableRequest = "unreadable-request", Deny, Deny;
    GateFailure = "gate-failure", Deny, Deny;
}

impl RuleId {
    /// Whether the rule can find something in a container's own settings,
    /// as a scan sees them. The others judge API calls: plugin and swarm
    /// management, builds, copies into containers, endpoints.
    pub fn judges_containers(self) -> bool {
        !matches!(
            self,
            RuleId::PluginManagement
                | RuleId::SwarmJoin
                | RuleId::BuildKit
                | RuleId::CopyIntoContainer
                | RuleId::UnknownEndpoint
        )
    }

    /// Looks a rule up by id.
    pub fn from_id(id: &str) -> Option<RuleId> {
        RuleId::ALL.iter().copied().find(|r| r.id() == id)
    }

    /// Whether a policy may change the rule's action. dockgate never allows
    /// a request it could not read or could not finish judging, whatever
    /// the policy says.
    pub fn is_fixed(self) -> bool {
        matches!(self, RuleId::UnreadableRequest | RuleId::GateFailure)
    }

    /// The rule's documentation.
    pub fn doc(self) -> &'static RuleDoc {
        DOCS.iter()
            .find(|d| d.id == self)
            .expect("every rule has documentation")
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// What `dockgate explain RULE` prints.
#[derive(Debug)]
pub struct RuleDoc {
    /// The rule.
    pub id: RuleId,
    /// One line: what the rule checks.
    pub summary: &'static str,
    /// Why the setting is dangerous.
    pub why: &'static str,
    /// How to fix a finding; the short form ends every denial.
    pub fix: &'static str,
    /// The policy parameters the rule takes.
    pub parameters: &'static str,
}

const DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: RuleId::Privileged,
        summary: "Containers and exec sessions must not run privileged.",
        why: "--privileged gives every capability, every host device, no seccomp or AppArmor confinement and writable /sys: a root process in the container owns the host.",
        fix: "remove --privileged and add only the capability or device the workload needs",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::HostMount,
        summary: "Mounts must not expose host paths outside an allow-list: bind mounts, binds in Mounts, volumes whose driver options bind a host path or a device, and mounts taken over with --volumes-from.",
        why: "A writable bind of / or /etc lets the container rewrite /etc/shadow, cron jobs or systemd units and take over the host; even a read-only one leaks secrets.",
        fix: "use a named volume, or ask an administrator to allow this path",
        parameters: "allow (host path prefixes allowed read-write), allow_read_only (prefixes allowed when mounted read-only), allowed_volume_drivers (volume plugins trusted to mount what they like). Paths are compared after resolving '..' and, where the gate can see the host, symbolic links",
    },
    RuleDoc {
        id: RuleId::DockerSocket,
        summary: "No mount may expose a container runtime's API socket (Docker, containerd, CRI-O, Podman), or a directory above one, even where host-mount would allow the path.",
        why: "Whoever reaches the Docker socket can start a privileged container: the socket is root on the host, and it also bypasses this gate's own socket checks.",
        fix: "do not mount the runtime socket; use a socket proxy that exposes only the read-only endpoints the tool needs",
        parameters: "sockets (the socket paths to protect)",
    },
    RuleDoc {
        id: RuleId::HostNamespace,
        summary: "No host namespace: network, pid, ipc, uts, userns or cgroupns set to host, or joined from a container that has it.",
        why: "The host PID namespace lets a container see and signal host processes (and ptrace them with the right capability); the host network namespace exposes host-only services and interfaces; --userns host escapes user-namespace remapping.",
        fix: "use the default private namespace; for the network, publish ports (-p) instead of --network host",
        parameters: "allow (namespace kinds allowed: network, pid, ipc, uts, userns, cgroupns)",
    },
    RuleDoc {
        id: RuleId::Capabilities,
        summary: "No capability beyond Docker's default set may be added, and never ALL. The restricted profile also requires --cap-drop ALL.",
        why: "CAP_SYS_ADMIN alone allows mounting file systems and many known escapes; CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_NET_ADMIN and others each weaken the host boundary.",
        fix: "remove the --cap-add, or ask an administrator to allow that capability",
        parameters: "allow (capabilities allowed beyond the default set), require_drop_all (true: the workload must drop ALL and add back only what it needs)",
    },
    RuleDoc {
        id: RuleId::Devices,
        summary: "No host devices (--device, --gpus) and no device cgroup rules.",
        why: "A block device such as /dev/sda gives raw access to the host's disks; device cgroup rules open access to device nodes created later.",
        fix: "remove the --device or --device-cgroup-rule, or ask an administrator to allow that device",
        parameters: "allow (host device paths allowed, e.g. /dev/fuse)",
    },
    RuleDoc {
        id: RuleId::SecurityProfile,
        summary: "seccomp, AppArmor and SELinux confinement stay on, AppArmor profiles come from an allow-list, and /proc and /sys stay masked.",
        why: "seccomp=unconfined, or a custom profile that allows by default or allows unshare, mount, keyctl, bpf and the other system calls Docker's default profile blocks under conditions that hold for every container (a capability it holds, the host's architecture, an argument comparison that admits the dangerous flags), re-opens syscalls used by kernel exploits; apparmor=unconfined and label=disable drop the LSM layer, and apparmor=<any loaded profile> may name one that confines nothing; systempaths=unconfined exposes /proc/kcore, /proc/sysrq-trigger and friends.",
        fix: "remove the --security-opt, or write a custom profile that allows only what the workload needs",
        parameters: "apparmor_profiles (AppArmor profile names allowed in apparmor=; docker-default by default)",
    },
    RuleDoc {
        id: RuleId::Sysctls,
        summary: "Only namespaced sysctls on the Kubernetes safe list may be set.",
        why: "Sysctls outside the safe list either affect the whole host or can exhaust its resources.",
        fix: "remove the --sysctl, or ask an administrator to allow it",
        parameters: "allow (sysctls allowed beyond the safe list)",
    },
    RuleDoc {
        id: RuleId::MountPropagation,
        summary: "Mounts must not use shared or rshared propagation.",
        why: "With shared propagation, mounts made inside the container appear on the host, which lets a container with mount rights plant mounts in host paths.",
        fix: "drop the propagation option (the default, rprivate, is safe)",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::Runtime,
        summary: "The OCI runtime must be on an allow-list.",
        why: "A runtime registered on the daemon may not isolate at all, or may be a plugin runtime that installs code on the host.",
        fix: "use the default runtime, or ask an administrator to allow this one",
        parameters: "allow (runtime names)",
    },
    RuleDoc {
        id: RuleId::RuntimeAnnotations,
        summary: "Containers must not set OCI annotations that a container runtime acts on.",
        why: "Since API 1.43 the daemon passes --annotation to the OCI runtime: runc and crun turn org.systemd.property.* into properties of the container's systemd unit (device access, delegation) under the systemd cgroup driver, crun reads run.oci.* (keep_original_groups keeps the daemon's groups), and Kata and gVisor read hypervisor and sandbox settings from io.katacontainers.* and dev.gvisor.*.",
        fix: "remove the --annotation, or ask an administrator to allow this key",
        parameters: "allow (annotation keys, or prefixes ending in '.', allowed). Other annotations (labels for tools, `io.kubernetes.*` names) pass",
    },
    RuleDoc {
        id: RuleId::CgroupParent,
        summary: "A custom cgroup parent must be on an allow-list.",
        why: "Placing a container under another cgroup escapes the resource limits and accounting set for containers.",
        fix: "drop --cgroup-parent, or ask an administrator to allow this parent",
        parameters: "allow (cgroup parent prefixes)",
    },
    RuleDoc {
        id: RuleId::NetworkDriver,
        summary: "Networks may be created, and containers attached to them, only with drivers on an allow-list; a bridge network may not take over an interface the host already has.",
        why: "A macvlan or ipvlan network with a host interface as its parent puts containers on the host's own layer 2 segment, past the host's firewall and Docker's NAT, where they can reach and impersonate other machines; a network plugin does whatever it likes.",
        fix: "use a bridge or overlay network, or ask an administrator to allow this driver",
        parameters: "allow (driver names; bridge and overlay by default)",
    },
    RuleDoc {
        id: RuleId::RunAsRoot,
        summary: "Workloads should not run as root: no user, user 0 or root, an image whose USER is root, or an exec as root.",
        why: "Root in a container is root on the host once any other boundary fails (a mount, a capability, a kernel bug); user namespaces are rarely enabled.",
        fix: "set --user to a non-root UID, or a USER in the image",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::PublishedPorts,
        summary: "Ports should not be published on every interface.",
        why: "-p 8080:80 listens on 0.0.0.0 and Docker's iptables rules bypass the host firewall, so a development port ends up on the internet.",
        fix: "publish on a specific address, e.g. -p 127.0.0.1:8080:80",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::ImageRegistry,
        summary: "Images must come from an allowed registry.",
        why: "Unreviewed public images are a supply-chain risk.",
        fix: "use an image from an allowed registry",
        parameters: "allow (registry hosts, e.g. docker.io, registry.example.com)",
    },
    RuleDoc {
        id: RuleId::ImageLatest,
        summary: "Images must name a tag other than latest (or a digest).",
        why: "latest and untagged references change under you; what runs cannot be reproduced or audited.",
        fix: "name an explicit version tag or a digest",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::ImageDigest,
        summary: "Images must be pinned by digest.",
        why: "Tags can be moved and locally re-tagged; only a digest names exact content.",
        fix: "reference the image as name@sha256:...",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::NoNewPrivileges,
        summary: "Containers must set no-new-privileges.",
        why: "Without it, setuid binaries in the image can raise privileges inside the container.",
        fix: "add --security-opt no-new-privileges",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::ReadOnlyRootfs,
        summary: "Containers must use a read-only root file system.",
        why: "A writable root lets an intruder persist tools and alter binaries until the container is recreated.",
        fix: "add --read-only, with a tmpfs or volume for the paths that must be writable",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::MemoryLimit,
        summary: "Containers must set a memory limit.",
        why: "An unlimited container can exhaust the host's memory and get other workloads OOM-killed.",
        fix: "add --memory",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::PidsLimit,
        summary: "Containers must set a PID limit.",
        why: "A fork bomb in an unlimited container exhausts the host's PIDs.",
        fix: "add --pids-limit",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::EnvSecrets,
        summary: "Environment values should not look like secrets: a variable named like one, or a URL with a password in it.",
        why: "Environment variables are readable by anyone who can inspect the container, and end up in logs and crash reports.",
        fix: "pass the secret as a file (a Docker secret or a read-only mount) instead",
        parameters: "names (substrings of variable names that mark a secret)",
    },
    RuleDoc {
        id: RuleId::PluginManagement,
        summary: "Plugins may not be installed, enabled, disabled, upgraded, configured, pushed or removed through the API.",
        why: "A plugin runs as root on the host, and disabling or removing the authorization plugin turns this gate off.",
        fix: "manage plugins from the host as an administrator (see README, Recovery)",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::SwarmJoin,
        summary: "Swarm membership is an administrator's decision: no swarm init or join, no reading or rotating of join tokens or the unlock key, no change of a node's role through the API.",
        why: "A swarm's managers start task containers on every node directly, without a call to that node's API, so no authorization plugin sees them: a manager joined later from a machine without the gate can bind-mount / on this host. Join tokens let any machine join as a manager. Run swarms only where every manager runs the gate with the same policy (the patrol still judges task containers).",
        fix: "manage swarm membership from the host as an administrator, or set this rule to off on swarm nodes whose managers all run the gate",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::BuildKit,
        summary: "BuildKit's channels (/grpc, /session) are refused: what a BuildKit build asks of the host cannot be read by an authorization plugin.",
        why: "docker buildx build sends its solve requests inside a hijacked HTTP/2 stream: RUN --network=host, --security=insecure and --mount reach the daemon's builder without the plugin seeing them (docker buildx build --network host runs its steps in the host's network namespace). The classic builder's /build parameters stay judged.",
        fix: "build with the classic builder (DOCKER_BUILDKIT=0), or set this rule to off after setting the daemon's builder entitlements to false (\"builder\": {\"Entitlements\": {\"network-host\": false, \"security-insecure\": false}} in daemon.json)",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::CopyIntoContainer,
        summary: "Files may not be copied into containers through the API (docker cp).",
        why: "The daemon unpacks the archive as root, and an authorization plugin never sees it: on Docker Engine before 29.5.1 a compressed archive made the daemon run a decompressor from the container's own file system on the host (CVE-2026-41567). Copies into a container that breaks the policy are refused whatever this rule says.",
        fix: "build the files into the image or mount a volume; on patched engines this rule can stay off",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::UnknownEndpoint,
        summary: "A POST, PUT or DELETE to an endpoint dockgate does not know is refused.",
        why: "A newer daemon may add endpoints that change containers in ways dockgate cannot judge.",
        fix: "upgrade dockgate, or set this rule to warn to let unknown endpoints through",
        parameters: "none",
    },
    RuleDoc {
        id: RuleId::UnreadableRequest,
        summary: "A request or file dockgate cannot read the way its consumer does is refused: malformed JSON, a body the daemon did not forward, an unparseable URI, a compose file or run line that Compose or the docker CLI would reject.",
        why: "Whatever dockgate cannot read, it cannot judge; allowing it would be a bypass (CVE-2024-41110 was exactly that).",
        fix: "send the request with a JSON body and a Content-Length, as the docker CLI does; for a file, fix it where the error points, so that Compose or the docker CLI accepts it",
        parameters: "none; this rule always denies",
    },
    RuleDoc {
        id: RuleId::GateFailure,
        summary: "A request dockgate could not finish judging is refused: the daemon did not answer a look-up within the decision's 5 seconds, too many requests were already waiting, the gate failed inside, or (with --audit-failure deny) its record could not be written; and every request but ping and version while no valid policy could be read at start.",
        why: "A request the gate has not judged to the end may be the one that owns the host; the client can retry, an attacker who slows the daemon down must not get through.",
        fix: "fix what the message names (an invalid policy file: dockgate policy validate); otherwise retry, and if it keeps happening, check that the daemon answers (docker info) and read dockgate's log and its metrics",
        parameters: "none; this rule always denies",
    },
];
