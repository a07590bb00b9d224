//! Every publicly known way around a Docker authorization plugin, each with
//! its reference, each proven refused on a real dockerd behind the gate.
//!
//! This list is a promise to operators: a newly published bypass gets an
//! entry here, with its reference, before anything else. Entries that the
//! daemon itself makes harmless (a route it does not serve) still prove
//! that nothing happened.
//!
//! The suite runs on both daemon generations (20.10 and 26.1); where one
//! refuses a request itself (an API version it no longer serves), its
//! case expects that refusal and checks that nothing happened.
//!
//! Out of reach of any authorization plugin, and so not tested here:
//! - CVE-2026-41567: `PUT /containers/{id}/archive` with a compressed
//!   archive runs the container's decompressor with the daemon's privileges.
//!   A daemon bug below the API (the body is not JSON and is not
//!   forwarded); the fix is Engine 29.5.1. The gate refuses copies into
//!   containers that break the policy, and the rule `copy-into-container`
//!   (restricted profile) refuses every copy.
//! - A directory swapped for a symbolic link between the decision and the
//!   mount (time of check to time of use): allow only host directories that
//!   untrusted containers cannot write.

use std::path::PathBuf;

use crate::harness::{
    api, assert_cases, bind_volume, cli, e2e_enabled, http, import_test_image, json_post, leak,
    one_daemon_at_a_time, swarm_init, After, Case, Daemon, Expect, Generation, PRIV,
};

/// A create body followed by a second JSON value asking for privileges.
const SECOND_OBJECT: &str =
    r#"{"Image":"testimg","Cmd":["true"]} {"HostConfig":{"Privileged":true}}"#;

/// One bypass: where it is documented, and the attempt.
struct Bypass {
    reference: &'static str,
    case: Case,
}

fn entry(reference: &'static str, case: Case) -> Bypass {
    Bypass { reference, case }
}

const HACKTRICKS: &str = "HackTricks, \"AuthZ & AuthN - Docker Access Authorization Plugin\", \
    https://book.hacktricks.xyz/linux-hardening/privilege-escalation/docker-security/authz-and-authn-docker-access-authorization-plugin";

/// Paths on the host the suite uses.
struct HostPaths {
    /// Allowed read-write by the suite's policy.
    allowed: PathBuf,
    /// Not allowed; bound by a container made before the gate.
    private: PathBuf,
}

/// What the suite's daemon calls things it made before the gate enforced.
struct Ids {
    /// The full ID of `hostpid` (stopped, host PID namespace).
    hostpid: &'static str,
    /// The full ID of `hostpidrun` (running, host PID namespace).
    hostpidrun: &'static str,
    /// The local `host` network's full ID.
    local_host_net: &'static str,
    /// The swarm's `host` network's ID (what `docker service create
    /// --network host` sends).
    swarm_host_net: &'static str,
    /// A build context whose Dockerfile reads the network interfaces.
    build_context: &'static str,
    /// This node's swarm ID.
    node: &'static str,
    /// A privileged exec instance in `benign`, created and never started.
    privileged_exec: &'static str,
}

/// A create body with an inline seccomp profile that refuses by default
/// and allows `call` under the rule fields `extra`.
fn seccomp_create(call: &str, extra: &str) -> String {
    let profile = format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["{call}"],"action":"SCMP_ACT_ALLOW"{extra}}}]}}"#
    );
    let option = serde_json::Value::String(format!("seccomp={profile}")).to_string();
    format!(r#"{{"Image":"testimg","Cmd":["true"],"HostConfig":{{"SecurityOpt":[{option}]}}}}"#)
}

/// A service create request whose task mounts `mount` (a JSON object).
fn svc_with_mount(name: &str, mount: &str) -> Vec<u8> {
    json_post(
        "/v1.41/services/create",
        &format!(
            r#"{{"Name":"{name}","TaskTemplate":{{"ContainerSpec":{{"Image":"testimg","Command":["sleep","600"],"Mounts":[{mount}]}}}}}}"#
        ),
    )
}

/// A service create body attached to one network reference.
fn service_on(name: &str, target: &str) -> String {
    format!(
        r#"{{"Name":"{name}","TaskTemplate":{{"ContainerSpec":{{"Image":"testimg","Command":["sleep","600"]}},"Networks":[{{"Target":"{target}"}}]}}}}"#
    )
}

/// The cases that reach past the gate through each class of bypass found
/// on a real daemon, several members of each. Where a daemon generation
/// refuses a request itself (an API version it no longer serves), the
/// case expects that refusal and checks that nothing happened.
fn classes(generation: Generation, ids: &Ids) -> Vec<Bypass> {
    use After::*;
    use Expect::*;
    let old_api = |deny: &'static [&'static str]| match generation {
        Generation::Dockerd20 => Deny(deny),
        // 26.1 serves API 1.24 and up (DOCKER_MIN_API_VERSION lowers it).
        Generation::Dockerd26 => Refused,
    };
    let decoy_start = leak(format!("decoy named after {}", &ids.hostpid[..12]));
    let decoy_exec = leak(format!("decoy named after {}", &ids.hostpidrun[..12]));
    let svc = |name: &'static str, target: &str| {
        json_post("/v1.41/services/create", &service_on(name, target))
    };
    vec![
        // 1. Swarm reaches the node without the API.
        entry(
            "moby daemon/cluster populateNetworkID: the CLI sends the swarm host network's ID for --network host",
            cli("service on the host network (CLI)", &["service", "create", "--detach", "--name", "bp-svc-net", "--network", "host", "testimg", "sleep", "600"], Deny(&["host-namespace"]), NoService("bp-svc-net")),
        ),
        entry(
            "moby daemon/cluster populateNetworkID: a local predefined network's full ID maps to the swarm network of the same name",
            api("service on the local host network's ID", svc("bp-svc-localid", ids.local_host_net), Deny(&["host-namespace"]), NoService("bp-svc-localid")),
        ),
        entry(
            "moby daemon/cluster getNetwork: swarm networks match a unique ID prefix",
            api("service on a prefix of the swarm host network's ID", svc("bp-svc-prefix", &ids.swarm_host_net[..5]), Deny(&["host-namespace"]), NoService("bp-svc-prefix")),
        ),
        entry(
            "swarmkit store ByName: network names match case-insensitively",
            api("service on HOST", svc("bp-svc-upper", "HOST"), Deny(&["host-namespace"]), NoService("bp-svc-upper")),
        ),
        entry(
            "swarmkit UpdateService with Rollback PREVIOUS restores the stored PreviousSpec and ignores the request's spec (docker service rollback)",
            cli("roll a service back to a spec made while the gate audited", &["service", "rollback", "--detach", "bp-svc-rb"], Deny(&["host-mount"]), NoServiceMounts("bp-svc-rb")),
        ),
        entry(
            "moby daemon/cluster/convert containerToGRPC: the mount type is upper-cased into swarm's enum",
            api("service mount of type bInD", svc_with_mount("bp-svc-case", r#"{"Type":"bInD","Source":"/","Target":"/host"}"#), Deny(&["host-mount"]), NoService("bp-svc-case")),
        ),
        entry(
            "swarmkit Mount_MountType: the zero value is BIND, so a service mount without a type is a bind",
            api("service mount without a type", svc_with_mount("bp-svc-notype", r#"{"Source":"/","Target":"/host"}"#), Deny(&["host-mount"]), NoService("bp-svc-notype")),
        ),
        entry(
            "swarm task runtime \"container\" is no OCI runtime: docker service update sends it back (no false denial)",
            cli("update a clean service", &["service", "update", "--detach", "--no-resolve-image", "--force", "bp-svc-clean"], Allow, Nothing),
        ),
        entry(
            "libnetwork: a config-only network's options (a bridge name) are copied into networks created --config-from it",
            cli("config-only network naming the host's bridge", &["network", "create", "--config-only", "-o", "com.docker.network.bridge.name=docker_gwbridge", "bp-brtmpl2"], Deny(&["network-driver"]), NoNetwork("bp-brtmpl2")),
        ),
        entry(
            "libnetwork applyConfigurationTo: --config-from a template made before the gate",
            cli("network from a template naming the host's bridge", &["network", "create", "--config-from", "bp-brtmpl", "bp-brnet"], Deny(&["network-driver"]), NoNetwork("bp-brnet")),
        ),
        entry(
            "docker swarm join-token (GET /swarm): a manager hands out the tokens that let any machine join",
            cli("read the join token", &["swarm", "join-token", "manager"], Deny(&["swarm-join"]), Nothing),
        ),
        entry(
            "docker swarm join-token --rotate (POST /swarm/update?rotateWorkerToken=true)",
            cli("rotate the join token", &["swarm", "join-token", "--rotate", "worker"], Deny(&["swarm-join"]), Nothing),
        ),
        entry(
            "docker swarm unlock-key (GET /swarm/unlockkey)",
            cli("read the unlock key", &["swarm", "unlock-key"], Deny(&["swarm-join"]), Nothing),
        ),
        entry(
            "docker node update --role (POST /nodes/{id}/update): a promoted manager schedules tasks on every node",
            cli("change a node's availability", &["node", "update", "--availability", "drain", ids.node], Deny(&["swarm-join"]), Nothing),
        ),
        // 2. Seccomp conditions that always hold (runc and libseccomp apply them).
        entry(
            "moby profiles/seccomp setupSeccomp: includes.caps compares with the bounding set, which holds CAP_CHOWN by default",
            api("seccomp rule for a capability every container has", json_post("/v1.41/containers/create?name=bp-sc-cap", &seccomp_create("unshare", r#","includes":{"caps":["CAP_CHOWN"]}"#)), Deny(&["security-profile"]), NoContainer("bp-sc-cap")),
        ),
        entry(
            "libseccomp SCMP_CMP_GE: an unsigned comparison with 0 always holds",
            api("seccomp rule with an argument test that always holds", json_post("/v1.41/containers/create?name=bp-sc-ge", &seccomp_create("unshare", r#","args":[{"index":0,"value":0,"op":"SCMP_CMP_GE"}]"#)), Deny(&["security-profile"]), NoContainer("bp-sc-ge")),
        ),
        entry(
            "runc: two conditions on one argument become separate rules, any of which allows",
            api("seccomp rule OR-ed by runc", json_post("/v1.41/containers/create?name=bp-sc-or", &seccomp_create("unshare", r#","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":1,"op":"SCMP_CMP_NE"}]"#)), Deny(&["security-profile"]), NoContainer("bp-sc-or")),
        ),
        entry(
            "moby profiles/seccomp setupSeccomp: excludes.caps drops the rule only for holders of the capability",
            api("seccomp rule excluding a capability nobody holds", json_post("/v1.41/containers/create?name=bp-sc-exc", &seccomp_create("mount", r#","excludes":{"caps":["CAP_SYS_ADMIN"]}"#)), Deny(&["security-profile"]), NoContainer("bp-sc-exc")),
        ),
        entry(
            "moby profiles/seccomp setupSeccomp: includes.arches compares with this machine's architecture",
            api("seccomp rule for this architecture", json_post("/v1.41/containers/create?name=bp-sc-arch", &seccomp_create("keyctl", r#","includes":{"arches":["amd64","arm64","x86","s390x","ppc64le"]}"#)), Deny(&["security-profile"]), NoContainer("bp-sc-arch")),
        ),
        entry(
            "moby profiles/seccomp setupSeccomp: no default action and no rules means no filter at all",
            api("empty seccomp profile", json_post("/v1.41/containers/create?name=bp-sc-empty", r#"{"Image":"testimg","Cmd":["true"],"HostConfig":{"SecurityOpt":["seccomp={}"]}}"#), Deny(&["security-profile"]), NoContainer("bp-sc-empty")),
        ),
        // 3. Bodies the daemon ignores.
        entry(
            "moby postContainersStart: a body of 7 bytes or less is not read (\"a non-nil json object is at least 7 characters\")",
            api("start with an empty JSON object", json_post("/v1.41/containers/hostpid/start", "{}"), Deny(&["host-namespace"]), NotRunning("hostpid")),
        ),
        entry(
            "moby postContainersStart: a 7-byte body is not read either",
            api("start with a 7-byte body", json_post("/v1.41/containers/hostnet/start", r#"{"a":1}"#), Deny(&["host-namespace"]), NotRunning("hostnet")),
        ),
        entry(
            "moby postContainerExecStart runs the exec instance as it was created (an exec made while the gate only audited)",
            api("start a stored privileged exec instance", json_post(&format!("/v1.41/exec/{}/start", ids.privileged_exec), r#"{"Detach":true}"#), Deny(&["privileged"]), ExecNotStarted(ids.privileged_exec)),
        ),
        entry(
            "moby postContainersRestart reads no body at all",
            api("restart with a body", json_post("/v1.41/containers/hostbind/restart?t=0", r#"{"HostConfig":{"Binds":[]}}"#), Deny(&["host-mount"]), NotRunning("hostbind")),
        ),
        entry(
            "moby postContainersStart below API 1.24: a short body is ignored, the stored container starts",
            api("API 1.23 start with a short body", json_post("/v1.23/containers/hostpid/start", r#"{"a":1}"#), old_api(&["host-namespace"]), NotRunning("hostpid")),
        ),
        // 4. References the daemon splits differently.
        entry(
            "moby volume/mounts ParseVolumesFrom: the name ends at the first colon; z is a valid mode",
            cli("volumes-from with an SELinux relabel mode", &["run", "--name", "bp-vf-z", "--volumes-from", "hostbind:z", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-vf-z")),
        ),
        entry(
            "moby volume/mounts ParseVolumesFrom: ro,Z is read-only with a private relabel",
            cli("volumes-from read-only with a relabel", &["run", "--name", "bp-vf-roz", "--volumes-from", "hostbind:ro,Z", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-vf-roz")),
        ),
        entry(
            "moby volume/mounts ParseVolumesFrom, raw API",
            api("VolumesFrom rw,z", json_post("/v1.41/containers/create?name=bp-vf-rwz", r#"{"Image":"testimg","Cmd":["true"],"HostConfig":{"VolumesFrom":["hostdata:rw,z"]}}"#), Deny(&["host-mount"]), NoContainer("bp-vf-rwz")),
        ),
        entry(
            "proc(5) /proc/PID/root: a process in a shared PID namespace reaches the other container's mounts (same user, same capabilities)",
            cli("join the PID namespace of a host-bind container", &["run", "--name", "bp-pidbind", "--pid", "container:bindrun", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-pidbind")),
        ),
        entry(
            "proc(5) /proc/PID/root, through a chain of --pid container: joins",
            cli("join a container that shares a host-bind container's PID namespace", &["run", "--name", "bp-pidchain", "--pid", "container:pidjoiner", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-pidchain")),
        ),
        entry(
            "proc(5) /proc/PID/root: an exec in a container that shares a host-bind container's PID namespace",
            cli("exec into a container sharing a host-bind container's PID namespace", &["exec", "pidjoiner", "true"], Deny(&["host-mount"]), Nothing),
        ),
        entry(
            "proc(5) /proc/PID/root: a container that a host-bind container joined shares its PID namespace with it (the API names only the joined one)",
            cli("join a clean container that a host-bind container joined", &["run", "--name", "bp-pidpeer", "--pid", "container:pidroot", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-pidpeer")),
        ),
        entry(
            "proc(5) /proc/PID/root: an exec in a container whose PID namespace a host-bind container joined",
            cli("exec into a clean container that a host-bind container joined", &["exec", "pidroot", "true"], Deny(&["host-mount"]), Nothing),
        ),
        entry(
            "a restart policy brings a joiner back into the PID namespace later, with no API call: between restarts it has no process to find",
            cli("exec into a container whose host-bind joiner is restarting", &["exec", "pidroot2", "true"], Deny(&["host-mount"]), Nothing),
        ),
        entry(
            "moby IpcMode.Container: --ipc container:NAME joins that container's IPC namespace",
            cli("join a host-ipc container", &["run", "--name", "bp-joinipc", "--ipc", "container:hostipc", "testimg", "true"], Deny(&["host-namespace"]), NoContainer("bp-joinipc")),
        ),
        // 5. Identities the daemon resolves differently.
        entry(
            "moby daemon.GetContainer: a full ID wins over a name, so a container may be named after another's ID",
            cli(decoy_start, &["create", "--name", ids.hostpid, "-u", "1000", "testimg", "true"], Allow, Container(ids.hostpid)),
        ),
        entry(
            "moby daemon.GetContainer resolves the full ID first: the start acts on the container with that ID",
            cli("start by a full ID that is also a name", &["start", ids.hostpid], Deny(&["host-namespace"]), NotRunning("hostpid")),
        ),
        entry(
            "moby daemon.GetContainer: a full ID wins over a name",
            cli(decoy_exec, &["create", "--name", ids.hostpidrun, "-u", "1000", "testimg", "true"], Allow, Container(ids.hostpidrun)),
        ),
        entry(
            "moby daemon.GetContainer resolves the full ID first: the exec enters the container with that ID",
            cli("exec by a full ID that is also a name", &["exec", ids.hostpidrun, "true"], Deny(&["host-namespace"]), Nothing),
        ),
        // 6. Old endpoints.
        entry(
            "moby api/server/router/container copy.go: POST /containers/{name}/copy is served below API 1.24 (20.10)",
            api("legacy copy out of a host-bind container", json_post("/v1.23/containers/hostbind/copy", r#"{"Resource":"/etc2/hostname"}"#), old_api(&["host-mount"]), Nothing),
        ),
        entry(
            "moby api/server/router/container copy.go at the oldest API version 20.10 serves",
            api("legacy copy at API 1.12", json_post("/v1.12/containers/hostdata/copy", r#"{"Resource":"/data"}"#), old_api(&["host-mount"]), Nothing),
        ),
        // 7. Channels the gate cannot read.
        entry(
            "docker buildx build --network host: the solve travels inside /grpc and /session (BuildKit entitlement network.host is on by default in dockerd)",
            // With /grpc refused, buildx falls back to a BuildKit container,
            // which must run privileged: refused too.
            cli("buildx build on the host network", &["buildx", "build", "--network", "host", "--no-cache", ids.build_context], Deny(&["privileged"]), AuditDenial("build.grpc", "buildkit")),
        ),
        entry(
            "docker buildx build --allow security.insecure (RUN --security=insecure runs privileged steps)",
            cli("BuildKit build asking for insecure steps", &["buildx", "build", "--no-cache", "--allow", "security.insecure", ids.build_context], Deny(&["privileged"]), AuditDenial("build.grpc", "buildkit")),
        ),
        entry(
            "moby api/server/router/grpc: POST /grpc upgrades to HTTP/2 (h2c) and carries BuildKit's control API",
            api("raw BuildKit channel", http("POST", "/grpc", &[("Upgrade", "h2c")], b""), Deny(&["buildkit"]), Nothing),
        ),
        entry(
            "moby api/server/router/session: POST /session is hijacked for the client's file sync and secrets",
            api("raw BuildKit session", http("POST", "/v1.41/session", &[("Upgrade", "h2c"), ("X-Docker-Expose-Session-Uuid", "x")], b""), Deny(&["buildkit"]), Nothing),
        ),
        // Policy gaps.
        entry(
            "Docker docs, macvlan driver: containers sit on the parent interface's layer 2 network",
            cli("macvlan network on a host interface", &["network", "create", "-d", "macvlan", "-o", "parent=lo", "bp-macvlan"], Deny(&["network-driver"]), NoNetwork("bp-macvlan")),
        ),
        entry(
            "Docker docs, ipvlan driver: L2/L3 on the parent interface",
            cli("ipvlan network", &["network", "create", "-d", "ipvlan", "bp-ipvlan"], Deny(&["network-driver"]), NoNetwork("bp-ipvlan")),
        ),
        entry(
            "moby parseSecurityOpt: apparmor=<name> loads any profile the host has, including ones that confine nothing",
            cli("AppArmor profile off the allow-list", &["run", "--name", "bp-aa", "--security-opt", "apparmor=bp-any-profile", "testimg", "true"], Deny(&["security-profile"]), NoContainer("bp-aa")),
        ),
        entry(
            "moby volume/local: type=nfs with addr= is mounted from the host's network namespace, so the host's own exports are reached",
            cli("NFS volume from the host's loopback", &["volume", "create", "--opt", "type=nfs", "--opt", "o=addr=127.0.0.1,nolock", "--opt", "device=:/", "bp-nfs"], Deny(&["host-mount"]), NoVolume("bp-nfs")),
        ),
        entry(
            "linux fs/nfs: the last addr= option wins, while moby's getAddress reads the first",
            cli("NFS volume with two addr= options", &["volume", "create", "--opt", "type=nfs", "--opt", "o=addr=0.0.0.1,addr=127.0.0.1", "--opt", "device=:/", "bp-nfs-two"], Deny(&["host-mount"]), NoVolume("bp-nfs-two")),
        ),
        entry(
            "an IPv4 loopback address mapped into IPv6 (::ffff:127.0.0.1)",
            cli("NFS volume at a mapped loopback address", &["volume", "create", "--opt", "type=nfs", "--opt", "o=addr=::ffff:127.0.0.1", "--opt", "device=:/", "bp-nfs-mapped"], Deny(&["host-mount"]), NoVolume("bp-nfs-mapped")),
        ),
        entry(
            "linux fs/smb: with no addr= or ip=, the client takes the server from the UNC (26.1 resolves a UNC host name itself)",
            cli("CIFS volume whose UNC names the host", &["volume", "create", "--opt", "type=cifs", "--opt", "o=username=u,password=p", "--opt", "device=//127.0.0.1/share", "bp-cifs-unc"], Deny(&["host-mount"]), NoVolume("bp-cifs-unc")),
        ),
        entry(
            "linux fs/smb: ip= is the server's address",
            cli("CIFS volume with ip=", &["volume", "create", "--opt", "type=cifs", "--opt", "o=ip=127.0.0.1,username=u", "--opt", "device=//fileserver/share", "bp-cifs-ip"], Deny(&["host-mount"]), NoVolume("bp-cifs-ip")),
        ),
        entry(
            "linux fs/smb smb3_parse_devname: the UNC's separators may be / or \\ in any mix",
            cli("CIFS volume with a backslash UNC", &["volume", "create", "--opt", "type=cifs", "--opt", "o=username=u", "--opt", "device=\\\\127.0.0.1\\share", "bp-cifs-bs"], Deny(&["host-mount"]), NoVolume("bp-cifs-bs")),
        ),
        entry(
            "linux fs/smb: unc= and source= in the options replace the device's UNC",
            cli("CIFS volume whose options name the host's share", &["volume", "create", "--opt", "type=cifs", "--opt", "o=unc=//127.0.0.1/share,username=u", "--opt", "device=//192.0.2.9/share", "bp-cifs-unc-opt"], Deny(&["host-mount"]), NoVolume("bp-cifs-unc-opt")),
        ),
        entry(
            "moby libnetwork bridge driver: com.docker.network.bridge.name names a bridge the host already has, which the network joins",
            cli("bridge network on the host's own bridge", &["network", "create", "-o", "com.docker.network.bridge.name=docker_gwbridge", "bp-hostbr"], Deny(&["network-driver"]), NoNetwork("bp-hostbr")),
        ),
        entry(
            "moby daemon/logger/syslog: syslog-address unixgram:// makes the daemon, as root, write the container's output into any host socket",
            cli("log driver writing to a host socket", &["run", "--name", "bp-logsock", "--log-driver", "syslog", "--log-opt", "syslog-address=unixgram:///run/bp-forged.sock", "--log-opt", "tag=sshd", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-logsock")),
        ),
        entry(
            "moby daemon/logger/fluentd: fluentd-address unix:// connects to a host socket",
            cli("log driver writing into the Docker socket", &["run", "--name", "bp-logdock", "--log-driver", "fluentd", "--log-opt", "fluentd-address=unix:///var/run/docker.sock", "testimg", "true"], Deny(&["docker-socket"]), NoContainer("bp-logdock")),
        ),
        entry(
            "moby volume/local resolves addr= names (net.ResolveIPAddr): localhost is the host",
            cli("NFS volume from localhost", &["volume", "create", "--opt", "type=nfs", "--opt", "o=addr=localhost", "--opt", "device=:/etc", "bp-nfs-name"], Deny(&["host-mount"]), NoVolume("bp-nfs-name")),
        ),
    ]
}

fn bypasses(daemon: &Daemon, host: &HostPaths) -> Vec<Bypass> {
    use After::*;
    use Expect::*;
    let big_body = format!(
        r#"{{"Image":"testimg","Labels":{{"pad":"{}"}},"HostConfig":{{"Privileged":true}}}}"#,
        "x".repeat(1_100_000)
    );
    let plugin = leak(daemon.plugin.clone());
    let escape = leak(format!("{}:/d", host.allowed.join("escape").display()));
    let dropped = leak(host.private.join("dropped").display().to_string());
    let dropped_target = leak(format!("hostdata:{}", "/data/dropped"));
    let payload = leak(daemon.path("payload").display().to_string());
    let old_api = |deny: &'static [&'static str]| match daemon.generation {
        Generation::Dockerd20 => Deny(deny),
        // 26.1 refuses API versions below 1.24 itself.
        Generation::Dockerd26 => Refused,
    };
    vec![
        // The daemon does not forward the body: the plugin must not allow
        // what it could not read.
        entry(
            "CVE-2024-41110, GHSA-v23v-6jw2-98fq (regression of the 2018 fix in Engine 18.09.1): a chunked body reaches the plugin empty",
            api("chunked body", http("POST", "/v1.41/containers/create?name=bp-chunked", &[("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")], PRIV.as_bytes()), DenyByOneOf(&["unreadable-request", "privileged"]), NoContainer("bp-chunked")),
        ),
        entry(
            "CVE-2026-34040, GHSA-x744-4wpc-v9h2 (incomplete fix of CVE-2024-41110): a body over the daemon's 1 MiB forwarding limit reaches the plugin empty",
            // Debian 13's 26.1 carries the fix: the body is forwarded and judged.
            api("body over 1 MiB", json_post("/v1.41/containers/create?name=bp-big", &big_body), DenyByOneOf(&["unreadable-request", "privileged"]), NoContainer("bp-big")),
        ),
        entry(
            "moby pkg/authorization: only application/json bodies are forwarded; before the CVE-2024-41110 fix the type was compared as a whole string, so a charset parameter hid the body",
            api("content type with a charset", http("POST", "/v1.41/containers/create?name=bp-charset", &[("Content-Type", "application/json; charset=utf-8")], PRIV.as_bytes()), DenyByOneOf(&["unreadable-request", "privileged"]), NoContainer("bp-charset")),
        ),
        entry(
            "Go net/http Request.ParseForm, used by moby's httputils.ParseForm: an application/x-www-form-urlencoded body is read as parameters, and the plugin never sees it",
            api("pull parameters in a form body", http("POST", "/v1.41/images/create", &[("Content-Type", "application/x-www-form-urlencoded")], b"fromImage=evil&tag=1"), Deny(&["unreadable-request"]), Nothing),
        ),
        // The plugin gets the raw request target; the daemon routes the
        // decoded path.
        entry(
            "docker/cli#7022 (RequestURI is the raw request target): percent-encoding hides the route from a plugin that matches the raw string",
            api("percent-encoded path", json_post("/v1.41/containers/%63reate?name=bp-pct", PRIV), Deny(&["privileged"]), NoContainer("bp-pct")),
        ),
        entry(
            "docker/cli#7022; RFC 9112 section 3.2.2: an absolute-form request target keeps scheme and host in RequestURI",
            api("absolute-form target", json_post("http://docker/v1.41/containers/create?name=bp-abs", PRIV), Deny(&["privileged"]), NoContainer("bp-abs")),
        ),
        entry(
            "moby api/server: every route is registered with and without the /v{version:[0-9.]+} prefix; a plugin that matches only /v1.xx/containers/create misses the bare path",
            api("no version prefix", json_post("/containers/create?name=bp-nover", PRIV), Deny(&["privileged"]), NoContainer("bp-nover")),
        ),
        entry(
            "Go url.PathUnescape decodes %2F before routing (moby does not route on the encoded path)",
            api("encoded slash", json_post("/v1.41/containers%2Fcreate?name=bp-pct2f", PRIV), Deny(&["privileged"]), NoContainer("bp-pct2f")),
        ),
        entry(
            "moby's version matcher is [0-9.]+: /v1.4.1/ matches the route and the version check refuses it",
            api("malformed version", json_post("/v1.4.1/containers/create?name=bp-ver", PRIV), Refused, NoContainer("bp-ver")),
        ),
        entry(
            "gorilla/mux without StrictSlash: a trailing slash is another path",
            api("trailing slash", json_post("/v1.41/containers/create/?name=bp-trail", PRIV), Refused, NoContainer("bp-trail")),
        ),
        entry(
            "Go net/http accepts any method token; the daemon's router does not serve a lower-case one",
            api("lower-case method", http("post", "/v1.41/containers/create?name=bp-method", &[("Content-Type", "application/json")], PRIV.as_bytes()), Refused, NoContainer("bp-method")),
        ),
        entry(
            "gorilla/mux path cleaning: a doubled slash is redirected, never served",
            api("doubled slash", json_post("//v1.41/containers/create?name=bp-slash", PRIV), Refused, NoContainer("bp-slash")),
        ),
        // The daemon decodes JSON with Go's rules.
        entry(
            "Go encoding/json matches keys case-insensitively; HackTricks (unchecked JSON attribute)",
            api("lower-case keys", json_post("/v1.41/containers/create?name=bp-lower", r#"{"image":"testimg","hostconfig":{"privileged":true}}"#), Deny(&["privileged"]), NoContainer("bp-lower")),
        ),
        entry(
            "Go encoding/json folds keys with Unicode simple folding: U+017F (long s) matches s",
            api("long s in Binds", json_post("/v1.41/containers/create?name=bp-longs", "{\"Image\":\"testimg\",\"HostConfig\":{\"Bind\u{17f}\":[\"/:/host\"]}}"), Deny(&["host-mount"]), NoContainer("bp-longs")),
        ),
        entry(
            "Go encoding/json folds keys with Unicode simple folding: U+212A (Kelvin sign) matches k",
            api("Kelvin sign in NetworkMode", json_post("/v1.41/containers/create?name=bp-kelvin", "{\"Image\":\"testimg\",\"HostConfig\":{\"Networ\u{212a}Mode\":\"host\"}}"), Deny(&["host-namespace"]), NoContainer("bp-kelvin")),
        ),
        entry(
            "Go encoding/json: with duplicate keys the last wins and objects merge; a plugin reading the first copy sees another request",
            api("repeated HostConfig", json_post("/v1.41/containers/create?name=bp-dup", r#"{"Image":"testimg","HostConfig":{"Privileged":true},"HostConfig":{"Memory":0}}"#), Deny(&["privileged"]), NoContainer("bp-dup")),
        ),
        entry(
            "Go encoding/json unescapes keys before matching fields: \\u0065 in a key is e",
            api("escaped key", json_post("/v1.41/containers/create?name=bp-esc", r#"{"Image":"testimg","HostConfig":{"Privil\u0065ged":true}}"#), Deny(&["privileged"]), NoContainer("bp-esc")),
        ),
        entry(
            "moby runconfig.ContainerConfigWrapper: with \"HostConfig\": null the host settings at the top level apply (daemons up to 24.0)",
            api("null HostConfig, settings at the top level", json_post("/v1.41/containers/create?name=bp-nullhc", r#"{"Image":"testimg","HostConfig":null,"Privileged":true}"#), Deny(&["privileged"]), NoContainer("bp-nullhc")),
        ),
        entry(
            "Go encoding/json matches exec keys case-insensitively too",
            api("exec with lower-case keys", json_post("/v1.41/containers/benign/exec", r#"{"cmd":["true"],"privileged":true}"#), Deny(&["privileged"]), Nothing),
        ),
        entry(
            "Go json.Decoder reads the first value and the daemon ignores the rest: a second object changes nothing",
            match daemon.generation {
                Generation::Dockerd20 => api("second JSON object", json_post("/v1.41/containers/create?name=bp-second", SECOND_OBJECT), Allow, NotPrivileged("bp-second")),
                // moby b6d58d749c (Engine 23.0, runconfig ContainerDecoder): content
                // after the first value is refused.
                Generation::Dockerd26 => api("second JSON object", json_post("/v1.41/containers/create?name=bp-second", SECOND_OBJECT), Refused, NoContainer("bp-second")),
            },
        ),
        entry(
            "moby pkg/authorization (plugins must deny what they cannot parse): malformed JSON",
            api("malformed JSON", json_post("/v1.41/containers/create?name=bp-malformed", r#"{"Image":"#), Deny(&["unreadable-request"]), NoContainer("bp-malformed")),
        ),
        // Host settings where a careless reader does not look.
        entry(
            HACKTRICKS, // "Binds in root"
            api("Binds at the top level of the body", json_post("/v1.41/containers/create?name=bp-rootbinds", r#"{"Image":"testimg","Binds":["/:/host"]}"#), Deny(&["host-mount"]), NoContainer("bp-rootbinds")),
        ),
        entry(
            HACKTRICKS, // "Mounts in root"
            api("Mounts at the top level of the body", json_post("/v1.41/containers/create?name=bp-rootmounts", r#"{"Image":"testimg","Mounts":[{"Type":"bind","Source":"/","Target":"/host"}]}"#), Deny(&["host-mount"]), NoContainer("bp-rootmounts")),
        ),
        entry(
            HACKTRICKS, // "Mounts in HostConfig"
            api("HostConfig.Mounts bind", json_post("/v1.41/containers/create?name=bp-mounts", r#"{"Image":"testimg","HostConfig":{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/e"}]}}"#), Deny(&["host-mount"]), NoContainer("bp-mounts")),
        ),
        entry(
            "HackTricks (unchecked JSON attribute); moby#38380 added HostConfig.Capabilities (a full set replacing the default) in API 1.40 and moby#41249 removed it before 20.10: the daemon ignores it",
            api("HostConfig.Capabilities", json_post("/v1.41/containers/create?name=bp-caps", r#"{"Image":"testimg","Cmd":["true"],"HostConfig":{"Capabilities":["CAP_SYS_ADMIN"]}}"#), Allow, NoAddedCapabilities("bp-caps")),
        ),
        entry(
            "moby parseSecurityOpt still accepts the old colon separator: apparmor:unconfined is apparmor=unconfined",
            api("security option with a colon", json_post("/v1.41/containers/create?name=bp-colon", r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["apparmor:unconfined"]}}"#), Deny(&["security-profile"]), NoContainer("bp-colon")),
        ),
        entry(
            "moby profiles/seccomp reads an inline profile (security-opt seccomp=<JSON>) with Go's decoder: DEFAULTACTION is defaultAction",
            api("inline seccomp profile that allows everything", json_post("/v1.41/containers/create?name=bp-seccomp", r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp={\"DEFAULTACTION\":\"SCMP_ACT_ALLOW\"}"]}}"#), Deny(&["security-profile"]), NoContainer("bp-seccomp")),
        ),
        entry(
            "Docker's default seccomp profile blocks unshare and mount; a custom profile that allows them opens new user and mount namespaces (CVE-2022-0185 was reached this way)",
            api("inline seccomp profile that allows unshare", json_post("/v1.41/containers/create?name=bp-unshare", r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"unshare\",\"mount\"],\"action\":\"SCMP_ACT_ALLOW\"}]}"]}}"#), Deny(&["security-profile"]), NoContainer("bp-unshare")),
        ),
        entry(
            "Engine API version history, v1.24: before it, POST /containers/{id}/start accepted a HostConfig",
            api("API 1.23 start with a HostConfig", json_post("/v1.23/containers/stopped/start", r#"{"Binds":["/:/host"],"Privileged":true}"#), old_api(&["privileged", "host-mount"]), NotRunning("stopped")),
        ),
        entry(
            "docker build --network host (API /build?networkmode=host): build steps run in the host's network namespace",
            api("build with host network", http("POST", "/v1.41/build?networkmode=host&t=bp-build", &[("Content-Type", "application/x-tar")], &[0u8; 1024]), Deny(&["host-namespace"]), Nothing),
        ),
        // Host paths reached indirectly.
        entry(
            "local volume driver options (docker volume create --opt type=none --opt o=bind --opt device=/): a named volume that is a bind mount",
            cli("volume binding /", &bind_volume("bp-hostroot", "/"), Deny(&["host-mount"]), NoVolume("bp-hostroot")),
        ),
        entry(
            "docker run --mount type=volume,volume-opt=...: the same bind, created inline with the container",
            cli("inline bind volume", &["run", "--name", "bp-inline", "--mount", "type=volume,source=bp-inl,target=/x,volume-driver=local,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-inline")),
        ),
        entry(
            "a bind-backed volume created before the gate, used by name",
            cli("existing bind-backed volume", &["run", "--name", "bp-etcvol", "-v", "etcvol:/x", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-etcvol")),
        ),
        entry(
            "--volumes-from copies another container's mounts, host binds included",
            cli("volumes-from a host-bind container", &["run", "--name", "bp-vfrom", "--volumes-from", "hostbind", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-vfrom")),
        ),
        entry(
            "--volume-driver: a volume plugin mounts whatever it likes",
            cli("untrusted volume driver", &["run", "--name", "bp-vdriver", "--volume-driver", "evil", "-v", "bp-evil:/x", "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-vdriver")),
        ),
        entry(
            "symbolic link in a directory the policy allows (CWE-59): the mount follows it",
            cli("link out of an allowed directory", &["run", "--name", "bp-link", "-v", escape, "testimg", "true"], Deny(&["host-mount"]), NoContainer("bp-link")),
        ),
        // Borrowing what an existing container has.
        entry(
            "--pid container:NAME joins the namespace of a container that has the host's",
            cli("join a host-pid container", &["run", "--name", "bp-joinpid", "--pid", "container:hostpid", "testimg", "true"], Deny(&["host-namespace"]), NoContainer("bp-joinpid")),
        ),
        entry(
            "--network container:NAME joins the namespace of a container that has the host's",
            cli("join a host-network container", &["run", "--name", "bp-joinnet", "--network", "container:hostnet", "testimg", "true"], Deny(&["host-namespace"]), NoContainer("bp-joinnet")),
        ),
        entry(
            "a plugin that judges only create bodies: starting a container created before the gate (or in warn mode)",
            cli("start a container made before the gate (host pid)", &["start", "hostpid"], Deny(&["host-namespace"]), NotRunning("hostpid")),
        ),
        entry(
            "a plugin that judges only create bodies: restart also starts a stopped container",
            cli("restart a container made before the gate (host bind)", &["restart", "hostbind"], Deny(&["host-mount"]), NotRunning("hostbind")),
        ),
        entry(
            HACKTRICKS, // "docker exec --privileged"
            cli("exec --privileged", &["exec", "--privileged", "benign", "true"], Deny(&["privileged"]), Nothing),
        ),
        entry(
            "exec into a container that has the host's PID namespace (running since before the gate)",
            cli("exec into a host-pid container", &["exec", "hostpidrun", "true"], Deny(&["host-namespace"]), Nothing),
        ),
        entry(
            "docker attach to a container that has the host's PID namespace",
            // Raw, with stream=0: were it allowed, it would return at once.
            api("attach to a host-pid container", http("POST", "/v1.41/containers/hostpidrun/attach?logs=1&stream=0&stdout=1", &[], b""), Deny(&["host-namespace"]), Nothing),
        ),
        entry(
            "docker cp into a container with a host bind writes to the host, even while it is stopped (PUT /containers/{id}/archive)",
            cli("copy into a host-bind container", &["cp", payload, dropped_target], Deny(&["host-mount"]), NoHostFile(dropped)),
        ),
        entry(
            "docker cp out of a container with a host bind reads the host (GET /containers/{id}/archive)",
            cli("copy out of a host-bind container", &["cp", "hostbind:/etc2/hostname", "-"], Deny(&["host-mount"]), Nothing),
        ),
        entry(
            "docker rename: a container that breaks the policy takes the name of one the gate judged, so a start decided on that name starts it (time of check to time of use)",
            cli("rename a host-pid container", &["rename", "hostpid", "bp-renamed"], Deny(&["host-namespace"]), NoContainer("bp-renamed")),
        ),
        // Exemptions and the gate itself.
        entry(
            "docker tag: an image exemption by name is matched by any local image tagged with that name",
            cli("privileged run of an image tagged as exempted", &["run", "--name", "bp-tagged", "--privileged", "trusted/agent:1", "true"], Deny(&["privileged"]), NoContainer("bp-tagged")),
        ),
        entry(
            HACKTRICKS, // "Disable Plugin"
            cli("disable the authorization plugin", &["plugin", "disable", plugin], Deny(&["plugin-management"]), Nothing),
        ),
        entry(
            "docker plugin rm -f kills an enabled plugin",
            cli("remove the authorization plugin", &["plugin", "rm", "-f", plugin], Deny(&["plugin-management"]), Nothing),
        ),
        entry(
            "docker plugin upgrade replaces the authorization plugin's code in place",
            api("upgrade the authorization plugin", json_post(&format!("/v1.41/plugins/{plugin}/upgrade?remote=evil/plugin"), "[]"), Deny(&["plugin-management"]), Nothing),
        ),
        entry(
            "docker plugin set changes the authorization plugin's mounts, arguments or environment",
            api("reconfigure the authorization plugin", json_post(&format!("/v1.41/plugins/{plugin}/set"), r#"["DOCKGATE_LOG=off"]"#), Deny(&["plugin-management"]), Nothing),
        ),
        entry(
            "docker plugin install: a plugin declares host mounts and capabilities and runs as root",
            api("install a plugin", json_post("/v1.41/plugins/pull?remote=evil/plugin&name=evil", r#"[{"Name":"mount","Value":["/"]}]"#), Deny(&["plugin-management"]), Nothing),
        ),
        entry(
            "swarm join: the swarm's managers then start tasks here without this daemon's API",
            cli("join a swarm", &["swarm", "join", "--token", "SWMTKN-1-x", "192.0.2.1:2377"], Deny(&["swarm-join"]), Nothing),
        ),
        entry(
            "docker service create --mount type=bind: a swarm service is another create path",
            cli("service with a host bind", &["service", "create", "--detach", "--no-resolve-image", "--name", "bp-svc", "--mount", "type=bind,source=/,target=/host", "testimg"], Deny(&["host-mount"]), Nothing),
        ),
    ]
}

/// A veth pair on the host, standing in for a host interface a macvlan
/// network sits on; deleted when dropped.
struct HostLink(String);

impl HostLink {
    /// Creates the pair, where `ip` is installed.
    fn create(name: String) -> Option<HostLink> {
        let peer = format!("{name}p");
        let status = std::process::Command::new("ip")
            .args(["link", "add", &name, "type", "veth", "peer", "name", &peer])
            .status()
            .ok()?;
        status.success().then_some(HostLink(name))
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.0])
            .status();
    }
}

/// One of this host's own addresses that is not loopback (`hostname -I`
/// lists the addresses of every interface).
fn host_address() -> Option<String> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_string)
}

#[test]
fn known_bypasses_are_refused_on_dockerd_20() {
    known_bypasses_are_refused(Generation::Dockerd20);
}

#[test]
fn known_bypasses_are_refused_on_dockerd_26() {
    known_bypasses_are_refused(Generation::Dockerd26);
}

fn known_bypasses_are_refused(generation: Generation) {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let daemon = Daemon::start_on(generation, Some("mode = \"audit\"\n"));
    import_test_image(&daemon);
    let host = HostPaths {
        allowed: daemon.path("allowed"),
        private: daemon.path("private"),
    };
    std::fs::create_dir_all(&host.allowed).unwrap();
    std::fs::create_dir_all(&host.private).unwrap();
    std::os::unix::fs::symlink("/etc", host.allowed.join("escape")).unwrap();
    std::fs::write(daemon.path("payload"), "written through the gate\n").unwrap();
    let private_bind = format!("{}:/data", host.private.display());
    // What existed before the gate enforced anything.
    daemon.setup(&[
        bind_volume("etcvol", "/etc"),
        vec![
            "create",
            "--name",
            "hostbind",
            "-v",
            "/etc:/etc2:ro",
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "create",
            "--name",
            "hostdata",
            "-v",
            &private_bind,
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "create", "--name", "hostpid", "--pid", "host", "testimg", "sleep", "600",
        ],
        vec![
            "run", "-d", "--name", "hostipc", "--ipc", "host", "testimg", "sleep", "600",
        ],
        vec![
            "run",
            "-d",
            "--name",
            "bindrun",
            "-v",
            &private_bind,
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "run",
            "-d",
            "--name",
            "pidjoiner",
            "--pid",
            "container:bindrun",
            "testimg",
            "sleep",
            "600",
        ],
        // A clean container that a host-bind one joined.
        "run -d --name pidroot testimg sleep 600"
            .split_whitespace()
            .collect(),
        // ... and one whose host-bind joiner is mostly between restarts.
        "run -d --name pidroot2 testimg sleep 600"
            .split_whitespace()
            .collect(),
        vec![
            "run",
            "-d",
            "--name",
            "pidflap",
            "--restart",
            "always",
            "--pid",
            "container:pidroot2",
            "-v",
            &private_bind,
            "testimg",
            "sh",
            "-c",
            "exit 1",
        ],
        vec![
            "run",
            "-d",
            "--name",
            "pidbad",
            "--pid",
            "container:pidroot",
            "-v",
            &private_bind,
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "create",
            "--name",
            "hostnet",
            "--network",
            "host",
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "run",
            "-d",
            "--name",
            "hostpidrun",
            "--pid",
            "host",
            "testimg",
            "sleep",
            "600",
        ],
        vec!["run", "-d", "--name", "benign", "testimg", "sleep", "600"],
        vec!["create", "--name", "stopped", "testimg", "sleep", "600"],
        vec!["tag", "testimg", "trusted/agent:1"],
        // What buildx's container driver would pull: no registry here.
        vec!["tag", "testimg", "moby/buildkit:buildx-stable-1"],
    ]);
    // A swarm of one, for the service cases: a port of its own per run.
    let port = 20000 + std::process::id() % 20000;
    let listen = format!("127.0.0.1:{port}");
    daemon.setup(&[swarm_init(&listen)]);
    // A macvlan network made before the gate enforced.
    let link = HostLink::create(format!(
        "dgbp{}{}",
        std::process::id() % 10000,
        generation as u8
    ));
    if let Some(link) = &link {
        let parent = format!("parent={}", link.0);
        daemon.setup(&[
            vec![
                "network",
                "create",
                "-d",
                "macvlan",
                "-o",
                &parent,
                "--subnet",
                "10.213.9.0/24",
                "bp-l2pre",
            ],
            // A swarm-scope macvlan network, for services.
            vec![
                "network",
                "create",
                "--config-only",
                "-o",
                &parent,
                "--subnet",
                "10.213.10.0/24",
                "bp-l2cfg",
            ],
            "network create -d macvlan --scope swarm --config-from bp-l2cfg bp-l2swarm"
                .split_whitespace()
                .collect(),
        ]);
    }
    daemon.setup(&[
        "network create bp-okbr".split_whitespace().collect(),
        // A template naming the host's own bridge, made while the gate audited.
        "network create --config-only -o com.docker.network.bridge.name=docker_gwbridge bp-brtmpl"
            .split_whitespace()
            .collect(),
        "service create --detach --no-resolve-image --name bp-svc-clean testimg sleep 600"
            .split_whitespace()
            .collect(),
    ]);
    // A service made while the gate only audited, then cleaned up.
    let service_bind = format!("type=bind,source={},target=/data", host.private.display());
    daemon.setup(&[
        vec![
            "service",
            "create",
            "--detach",
            "--no-resolve-image",
            "--name",
            "bp-svc-rb",
            "--mount",
            &service_bind,
            "testimg",
            "sleep",
            "600",
        ],
        "service update --detach --no-resolve-image --mount-rm /data bp-svc-rb"
            .split_whitespace()
            .collect(),
    ]);
    let context = daemon.path("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM testimg\nRUN busybox cat /proc/net/dev\n",
    )
    .unwrap();
    let id = |name: &str| leak(daemon.docker_ok(&["inspect", "--format", "{{.Id}}", name]));
    let network_id =
        |target: &str| leak(daemon.get_json(target)["Id"].as_str().unwrap().to_string());
    let ids = Ids {
        hostpid: id("hostpid"),
        hostpidrun: id("hostpidrun"),
        local_host_net: network_id("/v1.41/networks/host?scope=local"),
        swarm_host_net: network_id("/v1.41/networks/host?scope=swarm"),
        build_context: leak(context.display().to_string()),
        node: leak(daemon.docker_ok(&["info", "--format", "{{.Swarm.NodeID}}"])),
        privileged_exec: {
            let (status, text) = daemon.api(&json_post(
                "/v1.41/containers/benign/exec",
                r#"{"Cmd":["true"],"Privileged":true}"#,
            ));
            assert_eq!(status, 201, "{text}");
            let body = text.split_once("\r\n\r\n").unwrap().1;
            let id = serde_json::from_str::<serde_json::Value>(body).unwrap()["Id"]
                .as_str()
                .unwrap()
                .to_string();
            leak(id)
        },
    };
    assert_ne!(ids.local_host_net, ids.swarm_host_net);
    daemon.reload(&format!(
        "[rules.host-mount]\nallow = [{:?}]\n\n[[exemptions]]\nrules = [\"privileged\"]\nimages = [\"trusted/agent*\"]\nreason = \"the bypass suite: an exemption by image name\"\n",
        host.allowed.display().to_string()
    ));

    let mut bypasses = bypasses(&daemon, &host);
    bypasses.extend(classes(generation, &ids));
    if let Some(address) = host_address() {
        let o = leak(format!("o=addr={address}"));
        bypasses.push(entry(
            "moby volume/local: the daemon mounts from the host's namespace, so any of the host's own addresses serves the host's exports",
            cli(leak(format!("NFS volume from the host's own address {address}")), &["volume", "create", "--opt", "type=nfs", "--opt", o, "--opt", "device=:/", "bp-nfs-own"], Expect::Deny(&["host-mount"]), After::NoVolume("bp-nfs-own")),
        ));
    }
    if link.is_some() {
        let l2 = leak(daemon.docker_ok(&["network", "inspect", "--format", "{{.Id}}", "bp-l2pre"]));
        bypasses.push(entry(
            "moby getNetworkID: an endpoint's NetworkID wins over the network name it is keyed by",
            api("create on an allowed network whose endpoint names a macvlan network", json_post("/v1.41/containers/create?name=bp-nid", leak(format!(r#"{{"Image":"testimg","Cmd":["true"],"HostConfig":{{"NetworkMode":"bp-okbr"}},"NetworkingConfig":{{"EndpointsConfig":{{"bp-okbr":{{"NetworkID":"{l2}"}}}}}}}}"#))), Expect::Deny(&["network-driver"]), After::NoContainer("bp-nid")),
        ));
        bypasses.push(entry(
            "moby findAndAttachNetwork: a connect's EndpointConfig.NetworkID wins over the network in the path",
            api("connect to an allowed network naming a macvlan network's ID", json_post("/v1.41/networks/bp-okbr/connect", leak(format!(r#"{{"Container":"benign","EndpointConfig":{{"NetworkID":"{l2}"}}}}"#))), Expect::Deny(&["network-driver"]), After::Nothing),
        ));
        bypasses.push(entry(
            "moby daemon/cluster: a swarm-scope macvlan network (--config-from a config-only network) attaches service tasks to the host's layer 2",
            cli("service on a swarm macvlan network made before the gate", &["service", "create", "--detach", "--no-resolve-image", "--name", "bp-svc-l2", "--network", "bp-l2swarm", "testimg", "sleep", "600"], Expect::Deny(&["network-driver"]), After::NoService("bp-svc-l2")),
        ));
        bypasses.push(entry(
            "a network that existed before the gate enforced: the driver is judged where a container uses it, not only where the network is created",
            cli("run on a macvlan network made before the gate", &["run", "--name", "bp-l2use", "--network", "bp-l2pre", "testimg", "true"], Expect::Deny(&["network-driver"]), After::NoContainer("bp-l2use")),
        ));
        bypasses.push(entry(
            "POST /networks/{id}/connect attaches a running container to a network",
            cli(
                "connect a container to a macvlan network made before the gate",
                &["network", "connect", "bp-l2pre", "benign"],
                Expect::Deny(&["network-driver"]),
                After::Nothing,
            ),
        ));
    }
    assert!(bypasses.len() >= 85, "{} entries", bypasses.len());
    for bypass in &bypasses {
        assert!(!bypass.reference.is_empty());
    }
    let cases: Vec<Case> = bypasses.into_iter().map(|b| b.case).collect();
    assert_cases(&daemon, &cases, &["gate.log", "audit.log", "dockerd.log"]);
}
