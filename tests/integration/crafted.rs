//! Requests crafted to read differently to a careless plugin than to the
//! daemon, decided in-process. The same tricks run against a real daemon in
//! `bypass.rs`.

use dockgate_gate::Gate;
use dockgate_inputs::authz::AuthzRequest;
use dockgate_outputs::Denial;
use dockgate_rules::{Policy, Verdict};

use crate::util::captured_daemon;

fn decide(request: &AuthzRequest) -> Verdict {
    // 10.9.9.9 and br-lan are this host's own.
    let daemon = captured_daemon()
        .host_address("10.9.9.9")
        .host_interface("br-lan")
        .network("l2net", "l2net", "macvlan")
        .network("app", "app", "bridge")
        .network_with_options(
            "tmpl",
            "tmpl",
            "null",
            &[("com.docker.network.bridge.name", "br-lan")],
        )
        .broken("tmpl-unreachable");
    let gate = Gate::new(Policy::default(), daemon);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(gate.decide(request))
        .0
}

fn post(uri: &str, body: &str) -> AuthzRequest {
    AuthzRequest::new("POST", uri, Some(body.as_bytes()))
}

/// The rules that deny, or "allow".
fn outcome(verdict: &Verdict) -> String {
    if verdict.allowed() {
        "allow".to_string()
    } else {
        let mut ids: Vec<&str> = verdict.denials().map(|f| f.rule.id()).collect();
        ids.dedup();
        ids.join(",")
    }
}

const PRIVILEGED: &str = r#"{"Image":"testimg","User":"1000","HostConfig":{"Privileged":true}}"#;

#[test]
fn crafted_requests() {
    let mut chunked = post("/v1.41/containers/create", PRIVILEGED);
    chunked.body = None;
    chunked.headers.as_mut().unwrap().remove("Content-Length");
    let mut charset = post("/v1.41/containers/create", PRIVILEGED);
    charset.body = None;
    charset.headers.as_mut().unwrap().insert(
        "Content-Type".into(),
        "application/json; charset=utf-8".into(),
    );
    let mut oversized = post("/v1.41/containers/create", PRIVILEGED);
    oversized.body = None;
    oversized
        .headers
        .as_mut()
        .unwrap()
        .insert("Content-Length".into(), (2 << 20).to_string());
    let mut old_start = AuthzRequest::new("POST", "/v1.23/containers/web/start", None);
    old_start
        .headers
        .as_mut()
        .unwrap()
        .insert("Content-Length".into(), "30".into());
    let mut form = AuthzRequest::new("POST", "/build?networkmode=default", None);
    form.headers.as_mut().unwrap().insert(
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    );
    let cases: Vec<(&str, AuthzRequest, &str)> = vec![
        ("plain create", post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000"}"#), "allow"),
        ("percent-encoded path", post("/v1.41/containers/%63reate", PRIVILEGED), "privileged"),
        ("encoded slash", post("/v1.41/containers%2Fcreate", PRIVILEGED), "privileged"),
        ("no version prefix", post("/containers/create", PRIVILEGED), "privileged"),
        ("odd version prefix", post("/v1.4.1/containers/create", PRIVILEGED), "privileged"),
        ("absolute-form URI", post("http://docker/v1.41/containers/create", PRIVILEGED), "privileged"),
        ("dot segments", post("/v1.41/images/../containers/create", PRIVILEGED), "privileged"),
        ("query ending in /auth", post("/v1.41/containers/create?x=/auth", PRIVILEGED), "privileged"),
        (
            "lower-case keys",
            post("/containers/create", r#"{"image":"testimg","user":"1000","hostconfig":{"privileged":true}}"#),
            "privileged",
        ),
        (
            "long s folds to s (Binds)",
            post("/containers/create", "{\"Image\":\"testimg\",\"User\":\"1000\",\"HostConfig\":{\"Bind\u{17f}\":[\"/:/host\"]}}"),
            "host-mount,docker-socket",
        ),
        (
            "kelvin sign folds to k (NetworkMode)",
            post("/containers/create", "{\"Image\":\"testimg\",\"User\":\"1000\",\"HostConfig\":{\"Networ\u{212a}Mode\":\"host\"}}"),
            "host-namespace",
        ),
        (
            "repeated HostConfig merges",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Privileged":true},"HostConfig":{"Memory":1}}"#),
            "privileged",
        ),
        (
            "last duplicate wins",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Privileged":false,"privileged":true}}"#),
            "privileged",
        ),
        (
            "null does not reset a bool",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Privileged":true,"Privileged":null}}"#),
            "privileged",
        ),
        (
            "repeated Mounts merge element-wise",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Mounts":[{"Type":"bind","Source":"/","Target":"/h"}],"Mounts":[{"Target":"/x"}]}}"#),
            "host-mount,docker-socket",
        ),
        (
            "top-level host config (ContainerConfigWrapper)",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","Binds":["/:/host"]}"#),
            "host-mount,docker-socket",
        ),
        (
            "top-level privileged with null HostConfig",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","Privileged":true,"HostConfig":null}"#),
            "privileged",
        ),
        (
            "CapAdd as a plain string",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"CapAdd":"sys_admin"}}"#),
            "capabilities",
        ),
        (
            "security opt with colon separator",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"SecurityOpt":["seccomp:unconfined"]}}"#),
            "security-profile",
        ),
        (
            "inline allow-all seccomp profile",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]}}"#),
            "security-profile",
        ),
        (
            "empty MaskedPaths unmasks /proc",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"MaskedPaths":[]}}"#),
            "security-profile",
        ),
        (
            "bind through dot-dot",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Binds":["/tmp/../etc:/e"]}}"#),
            "host-mount",
        ),
        (
            "runtime socket through /run",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Binds":["/run:/r:ro"]}}"#),
            "host-mount,docker-socket",
        ),
        (
            "gpus device request",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"DeviceRequests":[{"Count":-1,"Capabilities":[["gpu"]]}]}}"#),
            "devices",
        ),
        (
            "trailing second object is not read by the daemon",
            post("/containers/create", r#"{"Image":"testimg","User":"1000"} {"HostConfig":{"Privileged":true}}"#),
            "allow",
        ),
        ("malformed JSON", post("/containers/create", r#"{"Image":"#), "unreadable-request"),
        (
            "wrong type",
            post("/containers/create", r#"{"Image":"testimg","HostConfig":{"Privileged":"yes"}}"#),
            "unreadable-request",
        ),
        ("chunked body not forwarded (CVE-2024-41110)", chunked, "unreadable-request"),
        ("content type with charset not forwarded", charset, "unreadable-request"),
        ("body over the forwarding limit", oversized, "unreadable-request"),
        (
            "API 1.23 start with HostConfig body",
            post("/v1.23/containers/web/start", r#"{"Binds":["/:/host"]}"#),
            "host-mount,docker-socket",
        ),
        ("API 1.23 start with unforwarded body", old_start, "unreadable-request"),
        (
            "API 1.41 start without body",
            AuthzRequest::new("POST", "/v1.41/containers/web/start", None),
            "allow",
        ),
        (
            "start a container created privileged",
            AuthzRequest::new("POST", "/v1.41/containers/i-priv/start", None),
            "privileged,capabilities,devices",
        ),
        (
            "start a container created with host namespaces",
            AuthzRequest::new("POST", "/containers/i-hostns/start", None),
            "host-namespace",
        ),
        (
            "start a container whose volume binds /etc",
            AuthzRequest::new("POST", "/containers/i-bindvol/start", None),
            "host-mount",
        ),
        (
            "restart (starts a stopped container) a privileged one",
            AuthzRequest::new("POST", "/v1.41/containers/i-priv/restart?t=0", None),
            "privileged,capabilities,devices",
        ),
        (
            "start a plain container",
            AuthzRequest::new("POST", "/containers/i-plain/start", None),
            "allow",
        ),
        // moby postContainersStart reads a start body only when it is over
        // 7 bytes (then refuses it from API 1.24); restart never reads one.
        (
            "start with a 2-byte body the daemon ignores, of a privileged one",
            post("/v1.41/containers/i-priv/start", "{}"),
            "privileged,capabilities,devices",
        ),
        (
            "start with a 7-byte body the daemon ignores, at API 1.23",
            post("/v1.23/containers/i-bind/start", r#"{"a":1}"#),
            "host-mount",
        ),
        (
            "start with a HostConfig the daemon refuses from API 1.24",
            post("/v1.41/containers/i-priv/start", r#"{"Privileged":false}"#),
            "privileged,capabilities,devices",
        ),
        (
            "restart with a body the daemon never reads",
            post("/v1.41/containers/i-bind/restart", r#"{"Binds":[]}"#),
            "host-mount",
        ),
        (
            "API 1.23 start whose HostConfig adds nothing, of a host-bind one",
            post("/v1.23/containers/i-bind/start", r#"{"Memory":1048576}"#),
            "host-mount",
        ),
        (
            "API 1.23 start whose HostConfig is privileged, of a plain one",
            post("/v1.23/containers/i-plain/start", r#"{"Privileged":true}"#),
            "privileged",
        ),
        (
            "API 1.23 start of a plain one with a plain HostConfig",
            post("/v1.23/containers/i-plain/start", r#"{"Memory":1048576}"#),
            "allow",
        ),
        // A restart policy makes the daemon start the container by itself.
        (
            "restart policy on a privileged container",
            post("/v1.41/containers/i-priv/update", r#"{"RestartPolicy":{"name":"always"}}"#),
            "privileged,capabilities,devices",
        ),
        (
            "memory limit of a privileged container",
            post("/v1.41/containers/i-priv/update", r#"{"Memory":67108864,"RestartPolicy":{"Name":"no"}}"#),
            "allow",
        ),
        (
            "restart policy on a plain container",
            post("/v1.41/containers/i-plain/update", r#"{"RestartPolicy":{"Name":"unless-stopped"}}"#),
            "allow",
        ),
        // Policy gaps: layer 2 networks, AppArmor profiles, NFS from the host.
        (
            "macvlan network on a host interface",
            post("/v1.41/networks/create", r#"{"Name":"l2","Driver":"macvlan","Options":{"parent":"eth0"}}"#),
            "network-driver",
        ),
        (
            "ipvlan network, driver key in another case",
            post("/v1.41/networks/create", r#"{"Name":"l2","driver":"ipvlan"}"#),
            "network-driver",
        ),
        (
            "bridge network",
            post("/v1.41/networks/create", r#"{"Name":"app","Driver":"bridge"}"#),
            "allow",
        ),
        (
            "bridge network on a bridge the host has",
            post("/v1.41/networks/create", r#"{"Name":"lan","Driver":"bridge","Options":{"com.docker.network.bridge.name":"br-lan"}}"#),
            "network-driver",
        ),
        (
            "container on a macvlan network made before the gate",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"NetworkMode":"l2net"}}"#),
            "network-driver",
        ),
        (
            "container on a second network, a macvlan one (API 1.44)",
            post("/v1.44/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"NetworkMode":"app"},"NetworkingConfig":{"EndpointsConfig":{"app":{},"l2net":{"Aliases":["x"]}}}}"#),
            "network-driver",
        ),
        (
            "container on a bridge network",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"NetworkMode":"app"},"NetworkingConfig":{"EndpointsConfig":{"app":{}}}}"#),
            "allow",
        ),
        (
            "connect a container to a macvlan network",
            post("/v1.41/networks/l2net/connect", r#"{"Container":"i-plain"}"#),
            "network-driver",
        ),
        (
            "container on an allowed network whose endpoint names a macvlan network's ID",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"NetworkMode":"app"},"NetworkingConfig":{"EndpointsConfig":{"app":{"NetworkID":"l2net"}}}}"#),
            "network-driver",
        ),
        (
            "connect to an allowed network with a macvlan network's ID in the endpoint",
            post("/v1.41/networks/app/connect", r#"{"Container":"i-plain","EndpointConfig":{"NetworkID":"l2net"}}"#),
            "network-driver",
        ),
        (
            "log driver writing to a host socket",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"LogConfig":{"Type":"syslog","Config":{"syslog-address":"unixgram:///run/sshd/forge.sock","tag":"sshd"}}}}"#),
            "host-mount",
        ),
        (
            "log driver writing into the Docker socket",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"LogConfig":{"Type":"fluentd","Config":{"fluentd-address":"unix:///var/run/docker.sock"}}}}"#),
            "host-mount,docker-socket",
        ),
        (
            "log driver over the network",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"LogConfig":{"Type":"syslog","Config":{"syslog-address":"udp://127.0.0.1:514"}}}}"#),
            "allow",
        ),
        (
            "connect a container to a bridge network",
            post("/v1.41/networks/app/connect", r#"{"Container":"i-plain"}"#),
            "allow",
        ),
        (
            "bridge network on a new bridge of its own",
            post("/v1.41/networks/create", r#"{"Name":"app","Options":{"com.docker.network.bridge.name":"br-app"}}"#),
            "allow",
        ),
        (
            "config-only network for a macvlan, as the docs write it",
            post("/v1.41/networks/create", r#"{"Name":"cfg","Driver":"bridge","ConfigOnly":true,"Options":{"parent":"eth0"}}"#),
            "allow",
        ),
        (
            "config-only network naming the host's bridge",
            post("/v1.41/networks/create", r#"{"Name":"cfg","ConfigOnly":true,"Options":{"com.docker.network.bridge.name":"br-lan"}}"#),
            "network-driver",
        ),
        (
            "network created from a template naming the host's bridge",
            post("/v1.41/networks/create", r#"{"Name":"net","ConfigFrom":{"Network":"tmpl"}}"#),
            "network-driver",
        ),
        (
            "network created from a template the daemon cannot be asked about",
            post("/v1.41/networks/create", r#"{"Name":"net","ConfigFrom":{"Network":"tmpl-unreachable"}}"#),
            "network-driver",
        ),
        (
            "service on a macvlan network",
            post("/v1.41/services/create", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000"},"Networks":[{"Target":"l2net"}]}}"#),
            "network-driver",
        ),
        (
            "service mount of type bInD (the swarm upper-cases it)",
            post("/v1.41/services/create", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000","Mounts":[{"Type":"bInD","Source":"/srv","Target":"/h"}]}}}"#),
            "host-mount",
        ),
        (
            "service mount with no type (the swarm's zero value is a bind)",
            post("/v1.41/services/create", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000","Mounts":[{"Source":"/srv","Target":"/h"}]}}}"#),
            "host-mount",
        ),
        (
            "service bind with RSHARED propagation",
            post("/v1.41/services/create", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000","Mounts":[{"Type":"volume","Source":"v","Target":"/h","BindOptions":{"Propagation":"RSHARED"}}]}}}"#),
            "mount-propagation",
        ),
        (
            "service spec as the CLI sends it back (Runtime container)",
            post("/v1.41/services/s/update?version=5", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000"},"Runtime":"container"}}"#),
            "allow",
        ),
        (
            "AppArmor profile off the allow-list",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"SecurityOpt":["apparmor=lxc-container-default-with-nesting"]}}"#),
            "security-profile",
        ),
        (
            "AppArmor's docker-default profile",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"SecurityOpt":["apparmor=docker-default"]}}"#),
            "allow",
        ),
        (
            "NFS volume whose last addr= is the host's",
            post("/v1.41/volumes/create", r#"{"Name":"nfs3","DriverOpts":{"type":"nfs","o":"addr=192.0.2.9,addr=10.9.9.9","device":":/srv"}}"#),
            "host-mount",
        ),
        (
            "CIFS volume whose share is on the host",
            post("/v1.41/volumes/create", r#"{"Name":"smb","DriverOpts":{"type":"cifs","o":"username=u","device":"//10.9.9.9/share"}}"#),
            "host-mount",
        ),
        (
            "NFS volume from another server",
            post("/v1.41/volumes/create", r#"{"Name":"nfs4","DriverOpts":{"type":"nfs","o":"addr=192.0.2.9","device":":/srv"}}"#),
            "allow",
        ),
        (
            "NFS volume from the host's loopback",
            post("/v1.41/volumes/create", r#"{"Name":"nfs","Driver":"local","DriverOpts":{"type":"nfs","o":"addr=127.0.0.1,rw","device":":/"}}"#),
            "host-mount,docker-socket",
        ),
        (
            "NFS volume inline with a container, from the host's loopback",
            post("/v1.41/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Mounts":[{"Type":"volume","Source":"nfs2","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"nfs","o":"addr=localhost","device":":/etc"}}}}]}}"#),
            "host-mount",
        ),
        (
            "exec into a container running privileged since before the gate",
            post("/containers/i-priv/exec", r#"{"User":"1000","Cmd":["sh"]}"#),
            "privileged,capabilities,devices",
        ),
        (
            "exec into a container with a host bind",
            post("/containers/i-bind/exec", r#"{"User":"1000","Cmd":["sh"]}"#),
            "host-mount",
        ),
        (
            "exec into a plain container",
            post("/containers/i-plain/exec", r#"{"User":"1000","Cmd":["sh"]}"#),
            "allow",
        ),
        (
            "copy into a container with a host bind (docker cp)",
            AuthzRequest::new("PUT", "/v1.41/containers/i-bind/archive?path=%2Fdata", None),
            "host-mount",
        ),
        (
            "copy out of a container with a host bind",
            AuthzRequest::new("GET", "/v1.41/containers/i-bind/archive?path=%2Fetc2", None),
            "host-mount",
        ),
        (
            "stat a path in a privileged container",
            AuthzRequest::new("HEAD", "/containers/i-priv/archive?path=/", None),
            "privileged,capabilities,devices",
        ),
        (
            "attach to a privileged container",
            AuthzRequest::new("POST", "/v1.41/containers/i-priv/attach?stream=1&stdin=1", None),
            "privileged,capabilities,devices",
        ),
        (
            "rename a privileged container (it could take a judged name)",
            AuthzRequest::new("POST", "/v1.41/containers/i-priv/rename?name=web", None),
            "privileged,capabilities,devices",
        ),
        (
            "rename a plain container",
            AuthzRequest::new("POST", "/containers/i-plain/rename?name=web", None),
            "allow",
        ),
        (
            "copy into a plain container",
            AuthzRequest::new("PUT", "/containers/i-plain/archive?path=/tmp", None),
            "allow",
        ),
        (
            "exec as privileged",
            post("/containers/runner/exec", r#"{"User":"1000","Privileged":true,"Cmd":["sh"]}"#),
            "privileged",
        ),
        (
            "volume with bind options",
            post("/volumes/create", r#"{"Name":"v","DriverOpts":{"type":"none","o":"bind","device":"/etc"}}"#),
            "host-mount",
        ),
        (
            "volume on a block device",
            post("/volumes/create", r#"{"Name":"v","DriverOpts":{"type":"ext4","device":"/dev/sda1"}}"#),
            "host-mount",
        ),
        (
            "existing bind-backed volume",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Binds":["etcvol:/x"]}}"#),
            "host-mount",
        ),
        (
            "existing bind-backed volume through Mounts",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"Mounts":[{"Type":"volume","Source":"etcvol","Target":"/x"}]}}"#),
            "host-mount",
        ),
        (
            "volumes-from a container with a host bind",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"VolumesFrom":["i-bind:ro"]}}"#),
            "host-mount",
        ),
        (
            "volumes-from a container whose volume binds the host",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"VolumesFrom":["i-bindvol"]}}"#),
            "host-mount",
        ),
        (
            "join the pid namespace of a host-pid container",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"PidMode":"container:i-hostns"}}"#),
            "host-namespace",
        ),
        (
            "join the network of a host-network container",
            post("/containers/create", r#"{"Image":"testimg","User":"1000","HostConfig":{"NetworkMode":"container:i-hostns"}}"#),
            "host-namespace",
        ),
        (
            "service with a host bind",
            post("/services/create", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000","Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]}}}"#),
            "host-mount,docker-socket",
        ),
        (
            "service installing a plugin",
            post("/services/create", r#"{"Name":"s","TaskTemplate":{"Runtime":"plugin","PluginSpec":{"Name":"evil"}}}"#),
            "runtime,plugin-management",
        ),
        (
            "service on the host network",
            post("/services/create", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000"},"Networks":[{"Target":"host"}]}}"#),
            "host-namespace",
        ),
        (
            "service with added capabilities and unconfined seccomp",
            post("/v1.41/services/x/update?version=3", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000","CapabilityAdd":["CAP_SYS_ADMIN"],"Privileges":{"Seccomp":{"Mode":"unconfined"}}}}}"#),
            "capabilities,security-profile",
        ),
        (
            "service publishing a port",
            post("/services/create", r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000"}},"EndpointSpec":{"Ports":[{"TargetPort":80,"PublishedPort":8080}]}}"#),
            "allow",
        ),
        ("swarm join", post("/v1.41/swarm/join", r#"{"RemoteAddrs":["10.0.0.1:2377"],"JoinToken":"x"}"#), "swarm-join"),
        ("swarm init", post("/v1.41/swarm/init", r#"{"ListenAddr":"0.0.0.0:2377"}"#), "swarm-join"),
        ("swarm join tokens", AuthzRequest::new("GET", "/v1.41/swarm", None), "swarm-join"),
        ("swarm token rotation", post("/v1.41/swarm/update?version=10&rotateWorkerToken=true", r#"{"Name":"default"}"#), "swarm-join"),
        ("swarm unlock key", AuthzRequest::new("GET", "/v1.41/swarm/unlockkey", None), "swarm-join"),
        ("node promotion", post("/v1.41/nodes/n1/update?version=3", r#"{"Role":"manager","Availability":"active"}"#), "swarm-join"),
        ("swarm leave", post("/v1.41/swarm/leave?force=1", "{}"), "allow"),
        ("BuildKit solve channel", AuthzRequest::new("POST", "/grpc", None), "buildkit"),
        ("BuildKit session", AuthzRequest::new("POST", "/session", None), "buildkit"),
        ("legacy copy out of a host-bind container", post("/v1.23/containers/i-bind/copy", r#"{"Resource":"/etc2/hostname"}"#), "host-mount"),
        ("legacy copy out of a plain container", post("/v1.23/containers/i-plain/copy", r#"{"Resource":"/etc/hostname"}"#), "allow"),
        ("plugin disable", AuthzRequest::new("POST", "/v1.41/plugins/dockgate:latest/disable", None), "plugin-management"),
        ("plugin remove", AuthzRequest::new("DELETE", "/v1.41/plugins/dockgate?force=1", None), "plugin-management"),
        ("plugin set", post("/v1.41/plugins/dockgate/set", r#"["DEBUG=1"]"#), "plugin-management"),
        ("plugin list", AuthzRequest::new("GET", "/v1.41/plugins", None), "allow"),
        ("build with host network", AuthzRequest::new("POST", "/v1.41/build?networkmode=host&t=x", None), "host-namespace"),
        ("build with cgroup parent", AuthzRequest::new("POST", "/build?cgroupparent=/", None), "cgroup-parent"),
        ("build options in a form body", form, "unreadable-request"),
        ("query with a semicolon", AuthzRequest::new("POST", "/build?networkmode=host;x=y", None), "unreadable-request"),
        ("bad percent escape", AuthzRequest::new("POST", "/containers/%zzcreate", None), "unreadable-request"),
        ("unknown mutating endpoint", AuthzRequest::new("POST", "/v1.99/containers/create/", None), "unknown-endpoint"),
        ("unknown read-only endpoint", AuthzRequest::new("GET", "/v1.41/frobnicate", None), "allow"),
        ("ordinary read", AuthzRequest::new("GET", "/v1.41/containers/json?all=1", None), "allow"),
    ];
    let mut failures = Vec::new();
    for (name, request, expected) in &cases {
        let verdict = decide(request);
        let got = outcome(&verdict);
        if got != *expected {
            failures.push(format!(
                "{name}: expected {expected}, got {got}: {:?}",
                verdict.findings
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn unreadable_requests_say_why() {
    let cases: Vec<(AuthzRequest, &str)> = vec![
        (
            post("/containers/create", r#"{"Image":"#),
            "container.create: request body is not valid JSON: EOF while parsing a value at line 1 column 9",
        ),
        (
            post("/containers/create", r#"{"HostConfig":{"Privileged":"yes"}}"#),
            "container.create: request body field HostConfig.Privileged: cannot read a string as bool",
        ),
        (
            AuthzRequest::new("POST", "/v1.41/containers/create", None),
            "the daemon did not forward the body of container.create to the plugin (the body was sent without a Content-Length, e.g. chunked (CVE-2024-41110)), so dockgate cannot see what it asks for",
        ),
        (
            AuthzRequest::new("POST", "/containers/%zz", None),
            "request URI \"/containers/%zz\" has an invalid percent-escape",
        ),
    ];
    for (request, message) in cases {
        let verdict = decide(&request);
        assert_eq!(verdict.findings.len(), 1);
        assert_eq!(verdict.findings[0].message, message);
        assert!(verdict
            .denial_message()
            .starts_with("dockgate: denied by rule unreadable-request: "));
    }
}

/// `copy-into-container` (restricted, or set by the operator) refuses every
/// copy into a container, which no plugin can inspect (CVE-2026-41567).
#[test]
fn copies_into_containers_can_be_refused() {
    let gate = Gate::new(
        Policy::from_toml("[rules.copy-into-container]\naction = \"deny\"\n").unwrap(),
        captured_daemon(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let put = AuthzRequest::new("PUT", "/v1.41/containers/i-plain/archive?path=/tmp", None);
    let verdict = runtime.block_on(gate.decide(&put)).0;
    assert_eq!(outcome(&verdict), "copy-into-container");
    assert_eq!(
        verdict.denial_message(),
        "dockgate: denied by rule copy-into-container: PUT container.archive-put copies an archive \
         into container \"i-plain\"; build the files into the image or mount a volume; on patched \
         engines this rule can stay off (dockgate explain copy-into-container)"
    );
    // Reading out of it is another matter.
    let get = AuthzRequest::new("GET", "/v1.41/containers/i-plain/archive?path=/tmp", None);
    assert!(runtime.block_on(gate.decide(&get)).0.allowed());
}

/// An exec instance made before the gate enforced (in audit mode, say) and
/// started afterwards: `POST /exec/{id}/start` runs what it was created as.
#[test]
fn stored_exec_instances_are_judged_when_started() {
    use dockgate_model::{At, Operation, Workload};
    let exec = |privileged: bool, user: &str, container: &str| {
        let mut w = Workload::new(Operation::Exec);
        w.privileged = Some(At::new(privileged, "ProcessConfig.privileged"));
        w.user.requested = At::new(user.to_string(), "ProcessConfig.user");
        w.name = Some(container.to_string());
        w
    };
    let daemon = captured_daemon()
        .exec("e-priv", exec(true, "1000", "i-plain"))
        .exec("e-bind", exec(false, "1000", "i-bind"))
        .exec("e-plain", exec(false, "1000", "i-plain"))
        .broken("e-broken");
    let gate = Gate::new(Policy::default(), daemon);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = |id: &str| {
        let request = post(
            &format!("/v1.41/exec/{id}/start"),
            r#"{"Detach":false,"Tty":false}"#,
        );
        runtime.block_on(gate.decide(&request)).0
    };
    assert_eq!(outcome(&start("e-priv")), "privileged");
    assert_eq!(outcome(&start("e-bind")), "host-mount");
    assert_eq!(outcome(&start("e-plain")), "allow");
    // No such instance: the daemon refuses the start itself.
    assert_eq!(outcome(&start("e-none")), "allow");
    assert_eq!(
        start("e-broken").denial_message(),
        "dockgate: denied by rule gate-failure: cannot look up exec instance \"e-broken\" to \
         start: daemon unreachable; fix what the message names (an invalid policy file: dockgate policy validate); otherwise retry, and if it keeps happening, check that the daemon answers \
         (docker info) and read dockgate's log and its metrics (dockgate explain gate-failure)"
    );
}

/// A container that a bad one joined (`--pid container:clean` made while
/// the gate only audited) shares its PID namespace: whoever reaches it
/// reaches the bad one's mounts through `/proc/<pid>/root`.
#[test]
fn pid_namespace_peers_are_judged() {
    let daemon = captured_daemon()
        .alias("clean", "i-plain")
        .pid_peers("clean", &["i-bind"])
        .broken("flaky");
    let gate = Gate::new(Policy::default(), daemon);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let decide = |request: AuthzRequest| runtime.block_on(gate.decide(&request)).0;
    let exec = decide(post(
        "/v1.41/containers/clean/exec",
        r#"{"User":"1000","Cmd":["true"]}"#,
    ));
    assert_eq!(outcome(&exec), "host-mount");
    assert!(
        exec.denial_message().contains(
            "exec into container \"clean\", which shares its PID namespace with container \"i-bind\", which breaks the policy"
        ),
        "{}",
        exec.denial_message()
    );
    let join = decide(post(
        "/v1.41/containers/create",
        r#"{"Image":"testimg","User":"1000","HostConfig":{"PidMode":"container:clean"}}"#,
    ));
    assert_eq!(outcome(&join), "host-mount");
    // i-plain itself shares with no one.
    let plain = decide(post(
        "/v1.41/containers/i-plain/exec",
        r#"{"User":"1000","Cmd":["true"]}"#,
    ));
    assert_eq!(outcome(&plain), "allow");
}

/// A service made while the gate only audited, then updated to a clean
/// spec: a rollback (`docker service rollback`, or automatic when an update
/// fails) restores the stored spec, whatever the request's body says.
#[test]
fn stored_service_specs_are_judged_on_update() {
    const CLEAN: &str =
        r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000"}}}"#;
    const BIND: &str = r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"testimg","User":"1000","Mounts":[{"Type":"bind","Source":"/etc","Target":"/e"}]}}}"#;
    let daemon = captured_daemon()
        .service("cleaned", CLEAN, Some(BIND))
        .service("bad", BIND, None)
        .broken("flaky");
    let gate = Gate::new(Policy::default(), daemon);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let update = |target: &str| runtime.block_on(gate.decide(&post(target, CLEAN))).0;
    assert_eq!(
        outcome(&update("/v1.41/services/cleaned/update?version=3")),
        "allow"
    );
    let rollback = update("/v1.41/services/cleaned/update?version=3&rollback=previous");
    assert_eq!(outcome(&rollback), "host-mount");
    assert!(
        rollback
            .denial_message()
            .contains("roll service \"cleaned\" back to a spec that breaks the policy"),
        "{}",
        rollback.denial_message()
    );
    assert_eq!(
        outcome(&update("/v1.41/services/bad/update?version=2")),
        "host-mount"
    );
    assert_eq!(
        outcome(&update("/v1.41/services/flaky/update?version=2")),
        "gate-failure"
    );
}
