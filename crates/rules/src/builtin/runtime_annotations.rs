//! `runtime-annotations`: Containers must not set OCI annotations that a container runtime acts on.

use dockgate_model::Workload;

use super::{AllowList, Builtin};
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = AllowList;
    const ID: &'static str = "runtime-annotations";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Containers must not set OCI annotations that a container runtime acts on.",
        why: "Since API 1.43 the daemon passes --annotation to the OCI runtime: runc and crun turn org.systemd.property.* into properties of the container's systemd unit (device access, delegation) under the systemd cgroup driver, crun reads run.oci.* (keep_original_groups keeps the daemon's groups), and Kata and gVisor read hypervisor and sandbox settings from io.katacontainers.* and dev.gvisor.*.",
        fix: "remove the --annotation, or ask an administrator to allow this key",
        parameters: "allow (annotation keys, or prefixes ending in '.', allowed). Other annotations (labels for tools, `io.kubernetes.*` names) pass",
    };

    fn check(w: &Workload, p: &AllowList) -> Vec<Hit> {
        runtime_annotations(w, p)
    }
}

fn runtime_annotations(w: &Workload, p: &AllowList) -> Vec<Hit> {
    let allowed = |key: &str| {
        p.allow
            .iter()
            .any(|a| key == a || (a.ends_with('.') && key.starts_with(a.as_str())))
    };
    w.annotations
        .iter()
        .filter(|a| {
            // Runtimes compare keys exactly; a key in another case is not
            // theirs, but it costs nothing to refuse it too.
            let key = a.value.0.to_ascii_lowercase();
            RUNTIME_ANNOTATION_PREFIXES
                .iter()
                .any(|prefix| key.starts_with(prefix))
                && !allowed(&a.value.0)
        })
        .map(|a| {
            hit(
                &a.field,
                format!(
                    "sets annotation {}={:?}, which the container runtime acts on ({})",
                    a.value.0, a.value.1, a.field
                ),
            )
        })
        .collect()
}

/// Annotation key prefixes that a container runtime reads as settings:
/// runc and crun (`org.systemd.property.`, systemd cgroup driver), crun
/// (`run.oci.`), Kata Containers (`io.katacontainers.`), gVisor
/// (`dev.gvisor.`).
pub const RUNTIME_ANNOTATION_PREFIXES: &[&str] = &[
    "org.systemd.property.",
    "run.oci.",
    "io.katacontainers.",
    "dev.gvisor.",
];
