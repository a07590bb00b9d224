//! The man pages: dockgate(1), one page per subcommand, and the policy
//! file's dockgate-policy.toml(5), generated from the command line's own
//! definitions and the policy template so that they cannot drift.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use dockgate_rules::Policy;

/// Sections every page of a subcommand ends with, beyond its options.
struct Extra {
    files: &'static str,
    signals: &'static str,
    exit: &'static str,
}

const ENVIRONMENT: &str =
    "DOCKGATE_LOG: the log filter (serve, watch, proxy), as tracing's EnvFilter reads it: \
error, warn, info (the default), debug, or per module (dockgate_gate=debug).\n\n\
DOCKER_HOST: the Docker daemon, when --docker-host is not given.\n\n\
MIMALLOC_ARENA_EAGER_COMMIT: 0 (set by the packaged units) has the allocator commit memory as it \
is used: about 15 MiB resident for the gate rather than 26.";

fn extra(name: &str) -> Extra {
    match name {
        "serve" => Extra {
            files: "/etc/dockgate/policy.toml: the policy (dockgate-policy.toml(5)); followed, and reloaded when it changes.\n\n\
                    /run/docker/plugins/dockgate.sock: the plugin socket the daemon asks.\n\n\
                    /var/log/dockgate/audit.log: the audit log of the packaged unit (--audit-log), created 0640.\n\n\
                    /run/dockgate/lookup-secret: the secret that marks dockgate's own reads of the daemon (--lookup-secret), written 0600 at each start.",
            signals: "SIGHUP: reload the policy now, and reopen the audit log.\n\n\
                      SIGUSR1: reopen the audit log (after logrotate).\n\n\
                      SIGTERM, SIGINT: finish the requests in flight, then stop.",
            exit: "0 after SIGTERM or SIGINT; 2 when it cannot start (the socket, the host root, the syslog URL). \
                   An invalid policy does not stop it: every request but ping and version is then refused with the error.",
        },
        "scan" => Extra {
            files: "/etc/dockgate/policy.toml: the policy, when --policy is not given.",
            signals: "none.",
            exit: "text and json: 0 when no container violates the policy, 1 when one does, 2 on an error. \
                   nagios: 0 OK, 1 WARNING, 2 CRITICAL by the thresholds, 3 UNKNOWN on an error or a usage error.",
        },
        "watch" => Extra {
            files: "/etc/dockgate/policy.toml: the policy, when --policy is not given.",
            signals: "SIGTERM, SIGINT: stop.",
            exit: "0 after SIGTERM or SIGINT; 2 when it cannot start.",
        },
        "proxy" => Extra {
            files: "/etc/dockgate/policy.toml: the policy; its identities with socket = \"...\" are served (the set of sockets is read at start, the rest followed).\n\n\
                    /run/dockgate/proxy/NAME.sock: the packaged unit's sockets, mode 0660.\n\n\
                    /var/log/dockgate/proxy-audit.log: the audit log of the packaged unit (--audit-log).",
            signals: "SIGTERM, SIGINT: stop serving and remove the sockets.",
            exit: "0 after SIGTERM or SIGINT; 2 when it cannot start (no proxy socket in the policy, a socket that cannot be made, a --docker-host that is not unix://).",
        },
        "audit" => Extra {
            files: "/etc/docker/daemon.json (or the daemon's --config-file), /etc/docker, the daemon's socket, \
                    docker.service and docker.socket, the TLS files the daemon names: their owners and modes.\n\n\
                    /etc/docker/plugins/NAME.spec, /run/docker/plugins/NAME.sock: where the gate listens.\n\n\
                    /proc/PID/cmdline: the command line of the process answering on the socket (found by its peer credentials).",
            signals: "none.",
            exit: "text and json: 0 when no critical check fails, 1 when one does, 2 on an error. \
                   nagios: 0 OK, 2 CRITICAL, 3 UNKNOWN when the audit cannot run.",
        },
        "check" => Extra {
            files: "compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml: read when no file is named, \
                    here or in the nearest directory above, with the project's .env.",
            signals: "none.",
            exit: "0 when nothing is deny-level, 1 when something is, 2 when an input could not be read.",
        },
        _ => Extra {
            files: "/etc/dockgate/policy.toml: the policy.",
            signals: "none.",
            exit: "0 on success, 2 on an error (an invalid policy file, an unknown rule).",
        },
    }
}

/// Writes every page into `dir`.
pub fn write_all(command: clap::Command, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, text: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    let mut top = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut top)?;
    write("dockgate.1", top)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name().to_string();
        // clap takes static names; the generator runs once and exits.
        let title: &'static str = Box::leak(format!("dockgate-{name}").into_boxed_str());
        let page = sub.clone().name(title).bin_name(format!("dockgate {name}"));
        let man = clap_mangen::Man::new(page);
        let mut text = Vec::new();
        man.render_title(&mut text)?;
        man.render_name_section(&mut text)?;
        man.render_synopsis_section(&mut text)?;
        man.render_description_section(&mut text)?;
        man.render_options_section(&mut text)?;
        if sub.has_subcommands() {
            man.render_subcommands_section(&mut text)?;
        }
        let extra = extra(&name);
        let mut tail = String::new();
        for (title, body) in [
            ("ENVIRONMENT", ENVIRONMENT),
            ("FILES", extra.files),
            ("SIGNALS", extra.signals),
            ("EXIT STATUS", extra.exit),
        ] {
            let _ = writeln!(tail, ".SH \"{title}\"");
            for paragraph in body.split("\n\n") {
                let _ = writeln!(tail, ".PP\n{}", roff(paragraph));
            }
        }
        let _ = writeln!(
            tail,
            ".SH \"SEE ALSO\"\ndockgate(1), dockgate-policy.toml(5)"
        );
        text.extend_from_slice(tail.as_bytes());
        write(&format!("dockgate-{name}.1"), text)?;
    }
    write("dockgate-policy.toml.5", policy_page().into_bytes())
}

/// dockgate-policy.toml(5): the commented template, which states every
/// rule, its parameters and the baseline.
fn policy_page() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".TH DOCKGATE-POLICY.TOML 5 \"\" \"dockgate {}\"",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        ".SH NAME\ndockgate-policy.toml \\- the dockgate policy file\n\
         .SH SYNOPSIS\n/etc/dockgate/policy.toml\n\
         .SH DESCRIPTION\n.PP\n{}\n.PP\n{}\n.PP\n{}",
        roff("A TOML file that tightens the built-in baseline profile or makes exceptions. Without it, the baseline applies. \
              profile chooses baseline or restricted; mode chooses enforce, warn (denials become warnings, marked would deny) \
              or audit; a [rules.ID] table sets a rule's action (deny, warn, audit, off) and parameters; each [[exemptions]] \
              entry lifts rules for images (by name, registry digest or image ID) or TLS users, with a reason."),
        roff("The gate follows the file and reloads it when it changes, or at once on SIGHUP. An invalid file never \
              replaces a working policy; at start, the gate refuses every request but ping and version until it is fixed. \
              dockgate policy validate FILE checks a file and names the line of an error."),
        roff("Recipes for common stacks are in /usr/share/dockgate/recipes, each with the risk it accepts.")
    );
    let _ = writeln!(out, ".SH \"THE BASELINE, COMMENTED\"\n.nf");
    for line in Policy::commented_template().lines() {
        let _ = writeln!(out, "{}", roff(line));
    }
    let _ = writeln!(
        out,
        ".fi\n.SH \"SEE ALSO\"\ndockgate(1), dockgate-serve(1), dockgate-explain(1)"
    );
    out
}

/// Text made safe for roff: backslashes, and lines that would start with
/// a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}
