//! Every publicly known way around a Docker authorization plugin, each with
//! its reference, each proven refused on a real dockerd behind the gate.
//!
//! This list is a promise to operators: a newly published bypass gets an
//! entry here, with its reference, before anything else. Entries that the
//! daemon itself makes harmless (a route it does not serve) still prove
//! that nothing happened.
//!
//! Out of reach of any authorization plugin, and so not tested here:
//! - BuildKit builds over `/grpc` and `/session` (`RUN --mount`, `--network`,
//!   entitlements): the session is a hijacked HTTP/2 stream the plugin never
//!   sees; the daemon's builder entitlements decide (`network.host` and
//!   `security.insecure` are off by default).
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

use crate::e2e::{
    api, assert_cases, bind_volume, cli, e2e_enabled, http, import_test_image, json_post, leak,
    one_daemon_at_a_time, After, Case, Daemon, Expect, PRIV,
};

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
    vec![
        // The daemon does not forward the body: the plugin must not allow
        // what it could not read.
        entry(
            "CVE-2024-41110, GHSA-v23v-6jw2-98fq (regression of the 2018 fix in Engine 18.09.1): a chunked body reaches the plugin empty",
            api("chunked body", http("POST", "/v1.41/containers/create?name=bp-chunked", &[("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")], PRIV.as_bytes()), DenyByOneOf(&["unreadable-request", "privileged"]), NoContainer("bp-chunked")),
        ),
        entry(
            "CVE-2026-34040, GHSA-x744-4wpc-v9h2 (incomplete fix of CVE-2024-41110): a body over the daemon's 1 MiB forwarding limit reaches the plugin empty",
            api("body over 1 MiB", json_post("/v1.41/containers/create?name=bp-big", &big_body), Deny(&["unreadable-request"]), NoContainer("bp-big")),
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
            api("second JSON object", json_post("/v1.41/containers/create?name=bp-second", r#"{"Image":"testimg","Cmd":["true"]} {"HostConfig":{"Privileged":true}}"#), Allow, NotPrivileged("bp-second")),
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
            api("API 1.23 start with a HostConfig", json_post("/v1.23/containers/stopped/start", r#"{"Binds":["/:/host"],"Privileged":true}"#), Deny(&["privileged", "host-mount"]), NotRunning("stopped")),
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

#[test]
fn known_bypasses_are_refused_on_a_real_daemon() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let daemon = Daemon::start_with(Some("mode = \"audit\"\n"));
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
    ]);
    daemon.reload(&format!(
        "[rules.host-mount]\nallow = [{:?}]\n\n[[exemptions]]\nrules = [\"privileged\"]\nimages = [\"trusted/agent*\"]\nreason = \"the bypass suite: an exemption by image name\"\n",
        host.allowed.display().to_string()
    ));

    let bypasses = bypasses(&daemon, &host);
    assert!(bypasses.len() >= 50, "{} entries", bypasses.len());
    for bypass in &bypasses {
        assert!(!bypass.reference.is_empty());
    }
    let cases: Vec<Case> = bypasses.into_iter().map(|b| b.case).collect();
    assert_cases(&daemon, &cases, &["gate.log", "dockerd.log"]);
}
