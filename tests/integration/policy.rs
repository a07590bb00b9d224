//! Policy files at work: parameters, modes and exemptions.

use dockgate_gate::Gate;
use dockgate_inputs::authz::AuthzRequest;
use dockgate_outputs::Denial;
use dockgate_rules::{Action, Policy, Verdict};

use crate::util::captured_daemon;
use dockgate_inputs::resolve::FakeDaemon;

fn decide_with(policy: &str, lookup: FakeDaemon, user: &str, body: &str) -> Verdict {
    let policy = Policy::from_toml(policy).expect("valid policy");
    let gate = Gate::new(policy, lookup);
    let mut request = AuthzRequest::new("POST", "/v1.41/containers/create", Some(body.as_bytes()));
    if !user.is_empty() {
        request.user = user.to_string();
        request.user_authn_method = "TLS".to_string();
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(gate.decide(&request))
        .0
}

fn decide(policy: &str, body: &str) -> Verdict {
    decide_with(policy, captured_daemon(), "", body)
}

fn denied_rules(verdict: &Verdict) -> Vec<&str> {
    let mut ids: Vec<&str> = verdict.denials().map(|f| f.rule.id()).collect();
    ids.dedup();
    ids
}

fn create(image: &str, host_config: &str) -> String {
    format!(r#"{{"Image":"{image}","User":"1000","HostConfig":{host_config}}}"#)
}

#[test]
fn host_mount_allow_lists() {
    let policy = "[rules.host-mount]\nallow = [\"/srv/data\"]\nallow_read_only = [\"/etc/ssl\"]\n";
    let cases = [
        (r#"{"Binds":["/srv/data/app:/d"]}"#, vec![]),
        (r#"{"Binds":["/srv/database:/d"]}"#, vec!["host-mount"]),
        (
            r#"{"Binds":["/srv/data/../../etc:/d"]}"#,
            vec!["host-mount"],
        ),
        (r#"{"Binds":["/etc/ssl/certs:/c:ro"]}"#, vec![]),
        (r#"{"Binds":["/etc/ssl/certs:/c"]}"#, vec!["host-mount"]),
        (
            r#"{"Mounts":[{"Type":"bind","Source":"/etc/ssl","Target":"/c","ReadOnly":true}]}"#,
            vec![],
        ),
    ];
    for (hc, expected) in cases {
        let verdict = decide(policy, &create("testimg", hc));
        assert_eq!(
            denied_rules(&verdict),
            expected,
            "{hc}: {:?}",
            verdict.findings
        );
    }
}

#[test]
fn the_socket_stays_protected_inside_an_allowed_path() {
    let policy = "[rules.host-mount]\nallow = [\"/var/run\"]\n";
    let verdict = decide(policy, &create("testimg", r#"{"Binds":["/var/run:/r"]}"#));
    assert_eq!(denied_rules(&verdict), ["docker-socket"]);
    let verdict = decide(
        policy,
        &create("testimg", r#"{"Binds":["/var/run/docker.sock:/s"]}"#),
    );
    assert_eq!(denied_rules(&verdict), ["docker-socket"]);
}

#[test]
fn parameters_widen_single_rules() {
    let policy = r#"
[rules.capabilities]
allow = ["cap_net_admin"]
[rules.devices]
allow = ["/dev/fuse"]
[rules.sysctls]
allow = ["kernel.msgmax"]
[rules.host-namespace]
allow = ["uts"]
[rules.runtime]
allow = ["runsc"]
[rules.cgroup-parent]
allow = ["/batch"]
"#;
    let allowed = create(
        "testimg",
        r#"{"CapAdd":["NET_ADMIN"],"Devices":[{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse"}],
            "Sysctls":{"kernel.msgmax":"1"},"UTSMode":"host","Runtime":"runsc","CgroupParent":"/batch/jobs"}"#,
    );
    assert_eq!(denied_rules(&decide(policy, &allowed)), Vec::<&str>::new());
    let denied = create(
        "testimg",
        r#"{"CapAdd":["SYS_ADMIN"],"Devices":[{"PathOnHost":"/dev/sda"}],"Sysctls":{"kernel.sem":"1"},
            "PidMode":"host","Runtime":"runc","CgroupParent":"/"}"#,
    );
    assert_eq!(
        denied_rules(&decide(policy, &denied)),
        [
            "host-namespace",
            "capabilities",
            "devices",
            "sysctls",
            "runtime",
            "cgroup-parent"
        ]
    );
}

#[test]
fn restricted_requires_dropping_all_capabilities() {
    let policy = "profile = \"restricted\"\n[rules.image-latest]\naction = \"off\"\n[rules.image-digest]\naction = \"off\"\n";
    let hardened = r#"{"Image":"testimg","User":"1000","HostConfig":{"CapDrop":["ALL"],"CapAdd":["NET_BIND_SERVICE"],
        "SecurityOpt":["no-new-privileges"],"ReadonlyRootfs":true,"Memory":67108864,"PidsLimit":100}}"#;
    assert_eq!(denied_rules(&decide(policy, hardened)), Vec::<&str>::new());
    let soft = r#"{"Image":"testimg","User":"1000","HostConfig":{"CapDrop":["NET_RAW"],
        "SecurityOpt":["no-new-privileges"],"ReadonlyRootfs":true,"Memory":67108864,"PidsLimit":0}}"#;
    assert_eq!(
        denied_rules(&decide(policy, soft)),
        ["capabilities", "pids-limit"]
    );
}

#[test]
fn image_rules() {
    let policy =
        "profile = \"restricted\"\n[rules.image-registry]\nallow = [\"registry.example.com\"]\n";
    let verdict = decide(policy, &create("alpine", "{}"));
    let images: Vec<_> = verdict
        .findings
        .iter()
        .filter(|f| f.rule.id().starts_with("image-"))
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        images,
        [
            "image \"alpine\" comes from registry \"docker.io\", which is not allowed",
            "image \"alpine\" has no tag, so it means latest",
            "image \"alpine\" is not pinned by digest",
        ]
    );
    let pinned = create("registry.example.com/app:1.2@sha256:0123", "{}");
    let verdict = decide(policy, &pinned);
    assert!(verdict
        .findings
        .iter()
        .all(|f| !f.rule.id().starts_with("image-")));
}

#[test]
fn modes_soften_but_never_for_unreadable_requests() {
    let privileged = create("testimg", r#"{"Privileged":true}"#);
    let verdict = decide("mode = \"warn\"\n", &privileged);
    assert!(verdict.allowed());
    assert_eq!(verdict.findings[0].action, Action::Warn);
    let verdict = decide("mode = \"audit\"\n", &privileged);
    assert!(verdict.allowed());
    assert_eq!(verdict.findings[0].action, Action::Audit);
    let verdict = decide("mode = \"audit\"\n", "{\"Image\":");
    assert!(!verdict.allowed());
    assert_eq!(denied_rules(&verdict), ["unreadable-request"]);
}

#[test]
fn exemptions_match_digests_proven_tags_and_tls_users() {
    let policy = r#"
[[exemptions]]
rules = ["docker-socket", "host-mount"]
images = ["registry.example.com/ops/agent*"]
reason = "the agent manages this host"

[[exemptions]]
rules = ["privileged"]
users = ["ci-admin"]
reason = "CI builds system images"
"#;
    let socket = r#"{"Binds":["/var/run/docker.sock:/var/run/docker.sock"]}"#;
    let lookup = || {
        captured_daemon()
            .image(
                "registry.example.com/ops/agent:2",
                "1000",
                &["registry.example.com/ops/agent@sha256:aa"],
            )
            .image("registry.example.com/ops/agent:3", "1000", &[])
    };
    // A digest names content exactly.
    let verdict = decide_with(
        policy,
        lookup(),
        "",
        &create("registry.example.com/ops/agent@sha256:aa", socket),
    );
    assert!(verdict.allowed(), "{:?}", verdict.findings);
    assert!(verdict
        .findings
        .iter()
        .all(|f| f.exempted.as_deref() == Some("the agent manages this host")));
    // A tag whose local image was pulled from that repository.
    let verdict = decide_with(
        policy,
        lookup(),
        "",
        &create("registry.example.com/ops/agent:2", socket),
    );
    assert!(verdict.allowed(), "{:?}", verdict.findings);
    // A tag put on a local image with `docker tag` proves nothing.
    let verdict = decide_with(
        policy,
        lookup(),
        "",
        &create("registry.example.com/ops/agent:3", socket),
    );
    assert_eq!(denied_rules(&verdict), ["host-mount", "docker-socket"]);
    // Other images, and other rules, are not exempted.
    let verdict = decide_with(policy, lookup(), "", &create("testimg", socket));
    assert!(!verdict.allowed());
    let verdict = decide_with(
        policy,
        lookup(),
        "",
        &create(
            "registry.example.com/ops/agent@sha256:aa",
            r#"{"Privileged":true}"#,
        ),
    );
    assert_eq!(denied_rules(&verdict), ["privileged"]);
    // A TLS user is what the daemon authenticated, nothing the client says.
    let privileged = create("testimg", r#"{"Privileged":true}"#);
    assert!(decide_with(policy, lookup(), "ci-admin", &privileged).allowed());
    assert!(!decide_with(policy, lookup(), "someone", &privileged).allowed());
    assert!(!decide_with(policy, lookup(), "", &privileged).allowed());
}

#[test]
fn env_secrets_are_named_not_shown() {
    let body = r#"{"Image":"testimg","User":"1000","Env":["API_TOKEN=abc123","DB_PASSWORD_FILE=/run/secrets/db","PLAIN=1","DB_PASS=x","DATABASE_URL=mysql://root:whale@db:3306/mysql","SITE=https://user@example.com/a:b@c","EMPTY=postgres://u:@db"]}"#;
    let verdict = decide("", body);
    assert!(verdict.allowed());
    let messages: Vec<_> = verdict
        .findings
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "environment variable API_TOKEN looks like it holds a secret (Env[0])",
            "environment variable DB_PASS looks like it holds a secret (Env[3])",
            "environment variable DATABASE_URL holds a URL with a password in it (Env[4])"
        ]
    );
}

#[test]
fn image_ids_pin_local_images_and_untrusted_names_say_why() {
    use dockgate_inputs::resolve::fake_image_id;
    let socket = r#"{"Binds":["/var/run/docker.sock:/var/run/docker.sock:ro"]}"#;
    // `docker tag` of a local build: the name, no registry digest of it.
    let lookup = || captured_daemon().image("traefik:v3.0", "0", &[]);
    let id = fake_image_id("traefik:v3.0");
    let by_name = "[[exemptions]]\nrules = [\"docker-socket\", \"host-mount\"]\nimages = [\"traefik:v3*\"]\nreason = \"proxy\"\n";
    let verdict = decide_with(by_name, lookup(), "", &create("traefik:v3.0", socket));
    assert_eq!(denied_rules(&verdict), ["host-mount", "docker-socket"]);
    let note = format!(
        "exemption \"proxy\" matches \"traefik:v3.0\" by name but was not applied: the local image {id} \
         was not pulled from docker.io/library/traefik (it was built or tagged on this host); \
         to exempt it, pin it by ID: images = [\"{id}\"]"
    );
    assert!(verdict
        .findings
        .iter()
        .all(|f| f.note.as_deref() == Some(note.as_str())));
    assert!(
        verdict
            .denial_message()
            .ends_with(&format!("(dockgate explain docker-socket); {note}")),
        "{}",
        verdict.denial_message()
    );
    // The ID names the content: it matches, whatever the name.
    let by_id = format!("[[exemptions]]\nrules = [\"docker-socket\", \"host-mount\"]\nimages = [\"{id}\"]\nreason = \"proxy\"\n");
    let verdict = decide_with(&by_id, lookup(), "", &create("traefik:v3.0", socket));
    assert!(verdict.allowed(), "{:?}", verdict.findings);
    assert!(verdict
        .findings
        .iter()
        .all(|f| f.exempted.as_deref() == Some("proxy") && f.note.is_none()));
    // ...and nothing else.
    let other = captured_daemon()
        .image("traefik:v3.0", "0", &[])
        .image("other:1", "0", &[]);
    let verdict = decide_with(&by_id, other, "", &create("other:1", socket));
    assert_eq!(denied_rules(&verdict), ["host-mount", "docker-socket"]);
    assert!(verdict.findings.iter().all(|f| f.note.is_none()));
    // A short ID could be matched by a made-up image: refused.
    let short = "[[exemptions]]\nrules = [\"privileged\"]\nimages = [\"sha256:0123abcd\"]\n";
    assert_eq!(
        Policy::from_toml(short).unwrap_err().to_string(),
        "exemptions[0]: image ID \"sha256:0123abcd\": give the whole ID, sha256: and 64 hex digits (docker image inspect --format '{{.Id}}' IMAGE)"
    );
}

#[test]
fn warn_mode_marks_what_would_deny() {
    let verdict = decide(
        "mode = \"warn\"\n",
        &create(
            "testimg",
            r#"{"Privileged":true,"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}"#,
        ),
    );
    assert!(verdict.allowed());
    let shown: Vec<(String, bool)> = verdict
        .findings
        .iter()
        .map(|f| (format!("{} {}", f.rule, f.shown_action()), f.would_deny))
        .collect();
    assert_eq!(
        shown,
        [
            ("privileged warn (would deny)".to_string(), true),
            ("published-ports warn".to_string(), false),
        ]
    );
}

#[test]
fn a_failed_look_up_is_fixed_at_the_look_up_not_the_setting() {
    // The named volume is exactly what the rule's own fix recommends: the
    // denial must name the look-up, not "use a named volume".
    let lookup = captured_daemon().broken("data");
    let verdict = decide_with(
        "",
        lookup,
        "",
        &create("testimg", r#"{"Binds":["data:/d"]}"#),
    );
    assert_eq!(denied_rules(&verdict), ["host-mount"]);
    assert!(verdict.findings[0].lookup_failed);
    assert_eq!(
        verdict.denial_message(),
        "dockgate: denied by rule host-mount: cannot tell what volume \"data\" mounts: volume \"data\": \
         daemon unreachable (HostConfig.Binds[0]); the daemon did not answer a look-up, so this setting \
         could not be judged: retry once the daemon answers (docker info); if it keeps failing, check that \
         dockgate reaches the daemon (--docker-host) and read dockgate's log (dockgate explain host-mount)"
    );
    // A bind whose path only a shell knows is the setting's own fault.
    let dir = crate::util::Dir::new("unresolved-bind");
    let script = dir.create("run.sh", "docker run -v \"$DATA:/d\" alpine\n");
    let (code, out, _) =
        crate::util::TestCommand::new(&["check", "--run-lines", script.to_str().unwrap()]).run();
    assert_eq!(code, 1);
    assert!(
        out.contains("    fix: use a named volume, or ask an administrator to allow this path\n"),
        "{out}"
    );
}
