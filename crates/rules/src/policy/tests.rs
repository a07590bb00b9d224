use super::*;

#[test]
fn shown_policy_reads_back_identically() {
    let text = r#"
profile = "restricted"
mode = "warn"
[rules.host-mount]
allow = ["/srv/"]
[rules.capabilities]
allow = ["net_admin"]
require_drop_all = false
[[exemptions]]
rules = ["privileged"]
users = ["admin"]
reason = "ops"
"#;
    let policy = Policy::from_toml(text).unwrap();
    assert_eq!(policy.params.host_mount.allow, ["/srv"]);
    assert_eq!(policy.params.capabilities.allow, ["NET_ADMIN"]);
    assert!(!policy.params.capabilities.require_drop_all);
    let again = Policy::from_toml(&policy.to_toml()).unwrap();
    assert_eq!(again, policy);
    assert_eq!(again.hash(), policy.hash());
}

#[test]
fn hashes_tell_policies_apart() {
    let baseline = Policy::default();
    assert_eq!(baseline.hash(), Policy::from_toml("").unwrap().hash());
    assert_ne!(
        baseline.hash(),
        Policy::from_profile(Profile::Restricted).hash()
    );
    assert!(baseline.hash().starts_with("sha256:"));
    assert_eq!(baseline.hash().len(), "sha256:".len() + 16);
}

#[test]
fn modes_change_effective_actions() {
    let warn = Policy::from_toml("mode = \"warn\"").unwrap();
    assert_eq!(warn.effective_action(RuleId::Privileged), Action::Warn);
    assert_eq!(warn.effective_action(RuleId::ImageDigest), Action::Off);
    assert_eq!(
        warn.effective_action(RuleId::UnreadableRequest),
        Action::Deny
    );
    let audit = Policy::from_toml("mode = \"audit\"").unwrap();
    assert_eq!(audit.effective_action(RuleId::RunAsRoot), Action::Audit);
    assert_eq!(
        audit.effective_action(RuleId::UnreadableRequest),
        Action::Deny
    );
}

#[test]
fn invalid_files_are_explained() {
    let cases = [
        ("[rules.privileged]\naction = \"off\"\nextra = 1\n", "TOML parse error at line 3, column 1: unknown field `extra`, expected `action`"),
        ("[rules.host-namespace]\nallow = [\"net\"]\n", "rules.host-namespace.allow: unknown namespace \"net\" (expected network, pid, ipc, uts, userns or cgroupns)"),
        ("[[exemptions]]\nrules = [\"unreadable-request\"]\nusers = [\"a\"]\n", "exemptions[0]: rule unreadable-request cannot be exempted: dockgate never allows a request it could not judge"),
        ("[[exemptions]]\nrules = []\nusers = [\"a\"]\n", "exemptions[0]: list the rules it lifts"),
        ("[[exemptions]]\nrules = [\"no-such-rule\"]\nusers = [\"a\"]\n", "TOML parse error at line 2, column 10: unknown variant `no-such-rule`, expected one of `privileged`, `host-mount`, `docker-socket`, `host-namespace`, `capabilities`, `devices`, `security-profile`, `sysctls`, `mount-propagation`, `runtime`, `runtime-annotations`, `cgroup-parent`, `network-driver`, `run-as-root`, `published-ports`, `image-registry`, `image-latest`, `image-digest`, `no-new-privileges`, `read-only-rootfs`, `memory-limit`, `pids-limit`, `env-secrets`, `endpoint-families`, `ownership`, `owner-label`, `allowed-images`, `plugin-management`, `swarm-join`, `buildkit`, `copy-into-container`, `unknown-endpoint`, `unreadable-request`, `gate-failure`"),
    ];
    for (text, message) in cases {
        assert_eq!(
            Policy::from_toml(text).unwrap_err().to_string(),
            message,
            "{text}"
        );
    }
}

#[test]
fn the_commented_template_is_the_baseline_either_way() {
    let template = Policy::commented_template();
    assert_eq!(Policy::from_toml(&template).unwrap(), Policy::default());
    let uncommented: String = template
        .lines()
        .filter(|l| {
            l.starts_with("# [")
                || l.starts_with("# profile")
                || l.starts_with("# mode")
                || l.contains(" = ")
        })
        .filter(|l| {
            !l.contains("[[exemptions]]")
                && !l.contains("rules = [\"docker-socket\"]")
                && !l.contains("images = [")
                && !l.contains("reason = ")
        })
        .map(|l| format!("{}\n", l.trim_start_matches("# ")))
        .collect();
    assert_eq!(Policy::from_toml(&uncommented).unwrap(), Policy::default());
    for rule in RuleId::ALL {
        assert!(
            template.contains(&format!("# [rules.{}]\n", rule.id())),
            "{rule}"
        );
    }
}

#[test]
fn printed_strings_read_back() {
    // Found by fuzzing: Rust's `{:?}` wrote `\u{483}`, which TOML rejects.
    let text = r#"[rules.docker-socket]
sockets = ["/run/d\u0483ock", "/a\"b\\c", "/tab\there", "/bell\u0007"]

[[exemptions]]
rules = ["privileged"]
images = ["x"]
reason = "quote \" and \u00e9"
"#;
    let policy = Policy::from_toml(text).unwrap();
    let printed = policy.to_toml();
    let again = Policy::from_toml(&printed).unwrap();
    assert_eq!(again.hash(), policy.hash(), "{printed}");
    assert!(printed.contains("\"/run/d\u{483}ock\""), "{printed}");
    assert!(printed.contains(r#""/bell\u0007""#), "{printed}");
}

#[test]
fn a_rule_table_sets_only_what_it_names_and_says_where_it_is_wrong() {
    // Keys left out keep the profile's values.
    let policy = Policy::from_toml(
        "profile = \"restricted\"\n[rules.capabilities]\nallow = [\"net_admin\"]\n",
    )
    .unwrap();
    assert_eq!(policy.params.capabilities.allow, ["NET_ADMIN"]);
    assert!(policy.params.capabilities.require_drop_all);
    assert_eq!(
        policy.params.docker_socket,
        Policy::default().params.docker_socket,
        "untouched rules keep their parameters"
    );
    let cases = [
        (
            "[rules.host-mount]\naction = \"deny\"\nallw = [\"/srv\"]\n",
            "TOML parse error at line 3, column 1: unknown field `allw`, expected one of `action`, `allow`, `allow_read_only`, `allowed_volume_drivers`",
        ),
        (
            "[rules.host-mount]\nallow = \"/srv\"\n",
            "TOML parse error at line 2, column 9: allow: invalid type: string \"/srv\", expected a sequence",
        ),
        (
            "[rules.capabilities]\nallow = []\nrequire_drop_all = \"yes\"\n",
            "TOML parse error at line 3, column 20: require_drop_all: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "[rules.host-mount]\nallow = [\"srv\"]\n",
            "rules.host-mount.allow: \"srv\" is not an absolute path",
        ),
        (
            "[rules.gate-failure]\naction = \"warn\"\n",
            "rules.gate-failure: this rule always denies; dockgate never allows a request it could not judge",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(
            Policy::from_toml(text).unwrap_err().to_string(),
            message,
            "{text}"
        );
    }
    // What policy show prints reads back as the same policy.
    let shown = policy.to_toml();
    assert_eq!(Policy::from_toml(&shown).unwrap(), policy);
    assert!(shown.contains("\n[rules.capabilities]\naction = \"deny\"\nallow = [\"NET_ADMIN\"]\nrequire_drop_all = true\n"), "{shown}");
}
