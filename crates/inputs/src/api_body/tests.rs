use dockgate_model::{MountKind, NamespaceKind, NamespaceMode, Resolution, VolumeBacking};

use super::*;
use crate::testdata;

fn create(name: &str) -> Workload {
    let (_, request) = testdata::authz(name);
    container_create(request.body.as_deref().unwrap()).unwrap()
}

#[test]
fn binds_become_host_mounts() {
    let w = create("run-bind-root");
    assert_eq!(w.image.as_ref().unwrap().value, "testimg");
    assert_eq!(w.mounts.len(), 1);
    let m = &w.mounts[0];
    assert_eq!(
        m.kind,
        MountKind::Bind {
            host_path: "/".into(),
            real_path: None
        }
    );
    assert_eq!(
        (m.target.as_str(), m.field.as_str()),
        ("/host", "HostConfig.Binds[0]")
    );
    assert!(create("run-bind-ro").mounts[0].read_only);
}

#[test]
fn mounts_keep_options() {
    let w = create("run-mount-bind");
    assert!(w.mounts[0].read_only);
    assert_eq!(w.mounts[0].field, "HostConfig.Mounts[0]");
    let w = create("run-propagation");
    assert_eq!(w.mounts[0].propagation.as_deref(), Some("rshared"));
    let w = create("run-inline-volume");
    assert_eq!(
        w.mounts[0].kind,
        MountKind::Volume {
            name: "inl".into(),
            driver: Some("local".into()),
            backing: Resolution::Known(VolumeBacking::HostPath("/etc".into())),
        }
    );
    let w = create("run-tmpfs");
    assert_eq!(w.mounts[0].kind, MountKind::Tmpfs);
}

#[test]
fn privileges_namespaces_and_devices() {
    assert!(create("run-privileged").is_privileged());
    let w = create("run-host-namespaces");
    let kinds: Vec<_> = w
        .namespaces
        .iter()
        .filter(|(_, m)| m.value == NamespaceMode::Host)
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(kinds, NamespaceKind::ALL);
    let w = create("run-cap-add");
    assert_eq!(w.cap_add[0].value, "SYS_ADMIN");
    assert_eq!(w.cap_drop[0].value, "NET_RAW");
    let w = create("run-device");
    assert_eq!(
        (w.devices[0].host.as_str(), w.devices[0].container.as_str()),
        ("/dev/null", "/dev/xnull")
    );
    assert_eq!(w.device_cgroup_rules[0].value, "c 1:3 rwm");
}

#[test]
fn security_options() {
    let s = create("run-security-opts").security;
    assert_eq!(s.seccomp_unconfined.unwrap().value, "seccomp=unconfined");
    assert_eq!(s.apparmor_unconfined.unwrap().value, "apparmor=unconfined");
    assert_eq!(s.selinux_disabled.unwrap().value, "label=disable");
    assert!(s.no_new_privileges);
    let s = create("run-systempaths").security;
    let unmasked = s.unmasked_paths.unwrap();
    assert_eq!(unmasked.field, "HostConfig.MaskedPaths");
    assert!(unmasked.value.contains(&"/proc/kcore".to_string()));
    assert!(unmasked.value.contains(&"/proc/sys".to_string()));
}

#[test]
fn ports_env_sysctls_limits() {
    let w = create("run-ports");
    let mut ports: Vec<_> = w
        .ports
        .iter()
        .map(|p| {
            (
                p.host_ip.as_str(),
                p.host_port.as_str(),
                p.container_port.as_str(),
            )
        })
        .collect();
    ports.sort();
    assert_eq!(
        ports,
        [("", "8080", "80/tcp"), ("127.0.0.1", "8443", "443/tcp")]
    );
    let w = create("run-env");
    assert_eq!(w.env[0].name, "DB_PASSWORD");
    assert_eq!(w.env[0].value.as_deref(), Some("hunter2"));
    let w = create("run-sysctl");
    assert_eq!(w.sysctls.len(), 2);
    let w = create("run-user-limits");
    assert_eq!(w.user.requested.value, "1000:1000");
    assert_eq!(w.limits.memory.unwrap().value, 67_108_864);
    assert_eq!(w.limits.pids.unwrap().value, 100);
    assert!(w.read_only_rootfs.unwrap().value);
    let w = create("run-runtime-cgroup");
    assert_eq!(w.runtime.unwrap().value, "runc");
    assert_eq!(w.cgroup_parent.unwrap().value, "/custom");
}

#[test]
fn top_level_memory_fills_a_zero_inner_value() {
    let w = container_create(
        br#"{"Image":"x","Memory":5,"Privileged":true,"HostConfig":{"Memory":0}}"#,
    )
    .unwrap();
    assert_eq!(w.limits.memory.as_ref().unwrap().value, 5);
    // With a HostConfig object, top-level privileges are ignored, as by the daemon.
    assert!(!w.is_privileged());
    let w = container_create(br#"{"Image":"x","Privileged":true}"#).unwrap();
    assert!(w.is_privileged());
    assert_eq!(w.privileged.unwrap().field, "Privileged");
}

#[test]
fn exec_update_volume_bodies() {
    let (_, r) = testdata::authz("exec-privileged");
    let w = exec_create(r.body.as_deref().unwrap()).unwrap();
    assert!(w.is_privileged());
    assert_eq!(w.user.requested.value, "0");
    let (_, r) = testdata::authz("update-resources");
    let w = container_update(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(w.limits.memory.unwrap().value, 134_217_728);
    assert_eq!(w.limits.pids, None);
    let (_, r) = testdata::authz("volume-create-bind");
    let w = volume_create(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(w.name.as_deref(), Some("hostroot"));
    assert_eq!(w.mounts[0].field, "DriverOpts[\"device\"]");
}
