use dockgate_model::{At, Mount, MountKind, Operation, Resolution, VolumeBacking, Workload};

use super::*;
use crate::catalog::{run, RuleId};
use crate::policy::{Params, Policy};

fn params() -> Params {
    Policy::default().params
}

fn bind(path: &str, read_only: bool) -> Mount {
    Mount {
        kind: MountKind::Bind {
            host_path: path.into(),
            real_path: None,
        },
        target: "/x".into(),
        read_only,
        propagation: None,
        via: None,
        field: "Binds[0]".into(),
    }
}

fn with_mounts(mounts: Vec<Mount>) -> Workload {
    Workload {
        mounts,
        ..Workload::new(Operation::Container)
    }
}

#[test]
fn path_prefixes_respect_components() {
    assert!(under("/srv/data/x", "/srv/data"));
    assert!(under("/srv/data", "/srv/data"));
    assert!(!under("/srv/database", "/srv/data"));
    assert!(under("/anything", "/"));
}

#[test]
fn sockets_are_found_by_path_ancestry_and_name() {
    let p = params();
    for path in [
        "/",
        "/var",
        "/var/run",
        "/run",
        "/run/docker.sock",
        "/var/run/docker.sock",
        "/home/u/.docker/run/docker.sock",
        "/run/containerd",
    ] {
        let hits = run(
            RuleId::DockerSocket,
            &with_mounts(vec![bind(path, true)]),
            &p,
        );
        assert_eq!(hits.len(), 1, "{path}");
    }
    for path in ["/srv", "/var/lib/app", "/run/user-data-no-socket/file"] {
        assert!(
            run(
                RuleId::DockerSocket,
                &with_mounts(vec![bind(path, false)]),
                &p
            )
            .is_empty(),
            "{path}"
        );
    }
}

#[test]
fn symlinked_paths_are_judged_by_their_target() {
    let mut p = params();
    p.host_mount.allow = vec!["/srv".into()];
    let mut m = bind("/srv/link", false);
    m.kind = MountKind::Bind {
        host_path: "/srv/link".into(),
        real_path: Some("/etc".into()),
    };
    let hits = run(RuleId::HostMount, &with_mounts(vec![m]), &p);
    assert_eq!(
        hits[0].message,
        "bind mount of host path \"/srv/link\" (resolves to \"/etc\") at \"/x\""
    );
}

#[test]
fn volume_plugins_and_unknown_volumes() {
    let volume = |backing| Mount {
        kind: MountKind::Volume {
            name: "v".into(),
            driver: None,
            backing,
        },
        ..bind("/", false)
    };
    let mut p = params();
    let w = with_mounts(vec![
        volume(Resolution::Known(VolumeBacking::Plugin("rexray".into()))),
        volume(Resolution::Failed("timeout".into())),
        volume(Resolution::Known(VolumeBacking::Managed)),
    ]);
    let messages: Vec<_> = run(RuleId::HostMount, &w, &p)
        .into_iter()
        .map(|h| h.message)
        .collect();
    assert_eq!(
        messages,
        [
            "volume \"v\" uses volume plugin \"rexray\", which may mount any host path at \"/x\"",
            "cannot tell what volume \"v\" mounts: timeout",
        ]
    );
    p.host_mount.allowed_volume_drivers = vec!["rexray".into()];
    assert_eq!(run(RuleId::HostMount, &w, &p).len(), 1);
}

#[test]
fn update_only_fails_when_removing_limits() {
    let mut w = Workload::new(Operation::Update);
    assert!(run(RuleId::MemoryLimit, &w, &params()).is_empty());
    w.limits.memory = Some(At::new(-1, "Memory"));
    assert_eq!(
        run(RuleId::MemoryLimit, &w, &params())[0].message,
        "removes the memory limit (Memory=-1)"
    );
    let mut w = Workload::new(Operation::Container);
    assert_eq!(
        run(RuleId::PidsLimit, &w, &params())[0].message,
        "no PID limit"
    );
    w.limits.pids = Some(At::new(0, "HostConfig.PidsLimit"));
    assert_eq!(
        run(RuleId::PidsLimit, &w, &params())[0].message,
        "no PID limit (HostConfig.PidsLimit=0)"
    );
}

#[test]
fn requirement_rules_skip_non_containers() {
    let exec = Workload::new(Operation::Exec);
    let p = params();
    for rule in [
        RuleId::NoNewPrivileges,
        RuleId::ReadOnlyRootfs,
        RuleId::MemoryLimit,
        RuleId::PidsLimit,
        RuleId::ImageDigest,
    ] {
        assert!(run(rule, &exec, &p).is_empty(), "{rule}");
    }
}

#[test]
fn run_as_root_wording() {
    let mut w = Workload::new(Operation::Container);
    w.user.image_default = Resolution::Known(String::new());
    assert_eq!(
        run(RuleId::RunAsRoot, &w, &params())[0].message,
        "runs as root: no user given and the image's USER is unset"
    );
    w.user.requested = At::new("0:0".into(), "Config.User");
    assert_eq!(
        run(RuleId::RunAsRoot, &w, &params())[0].message,
        "runs as root (Config.User=\"0:0\")"
    );
    w.user.requested = At::new("nobody".into(), "Config.User");
    assert!(run(RuleId::RunAsRoot, &w, &params()).is_empty());
}

#[test]
fn runtime_annotations_flag_what_a_runtime_reads() {
    let annotated = |keys: &[&str]| Workload {
        annotations: keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                At::new(
                    (k.to_string(), "v".to_string()),
                    format!("HostConfig.Annotations[{k:?}]#{i}"),
                )
            })
            .collect(),
        ..Workload::new(Operation::Container)
    };
    let mut p = params();
    let hits = run(
        RuleId::RuntimeAnnotations,
        &annotated(&[
            "org.systemd.property.DeviceAllow",
            "run.oci.keep_original_groups",
            "io.katacontainers.config.hypervisor.path",
            "dev.gvisor.spec.mount.x",
            "Org.Systemd.Property.Delegate",
            "com.example.owner",
            "io.kubernetes.cri.container-name",
        ]),
        &p,
    );
    let keys: Vec<&str> = hits.iter().map(|h| h.message.as_str()).collect();
    assert_eq!(hits.len(), 5, "{keys:#?}");
    assert_eq!(
        hits[1].message,
        "sets annotation run.oci.keep_original_groups=\"v\", which the container runtime acts on (HostConfig.Annotations[\"run.oci.keep_original_groups\"]#1)"
    );
    p.runtime_annotations.allow = vec!["run.oci.keep_original_groups".into(), "dev.gvisor.".into()];
    let hits = run(
        RuleId::RuntimeAnnotations,
        &annotated(&[
            "run.oci.keep_original_groups",
            "run.oci.other",
            "dev.gvisor.spec.mount.x",
        ]),
        &p,
    );
    assert_eq!(hits.len(), 1);
    assert!(hits[0].message.contains("run.oci.other"));
}
