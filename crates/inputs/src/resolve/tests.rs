use dockgate_model::NamespaceKind;

use super::*;
use crate::api_body::container_create;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    // The futures here never wait on anything.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn resolved(body: &str, fake: &FakeDaemon) -> Workload {
    let mut w = container_create(body.as_bytes()).unwrap();
    block_on(resolve(&mut w, fake));
    w
}

#[test]
fn an_existing_volume_overrides_inline_options() {
    let fake = FakeDaemon::new().volume("v", "local", &[("o", "bind"), ("device", "/etc")]);
    let w = resolved(
        r#"{"Image":"i","HostConfig":{"Mounts":[{"Type":"volume","Source":"v","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local"}}}]}}"#,
        &fake,
    );
    assert_eq!(
        w.mounts[0].host_effect(),
        dockgate_model::HostPathEffect::Path("/etc".into())
    );
}

#[test]
fn volumes_from_copies_mounts_read_only_when_asked() {
    let source = container_create(br#"{"Image":"i","HostConfig":{"Binds":["/etc:/e"]}}"#).unwrap();
    let fake = FakeDaemon::new().container("src", source);
    let w = resolved(
        r#"{"Image":"i","HostConfig":{"VolumesFrom":["src:ro"]}}"#,
        &fake,
    );
    assert_eq!(w.mounts.len(), 1);
    assert!(w.mounts[0].read_only);
    assert_eq!(w.mounts[0].via.as_deref(), Some("volumes-from src"));
    assert_eq!(w.mounts[0].field, "HostConfig.VolumesFrom[0]");
}

#[test]
fn volumes_from_modes_are_split_like_the_daemon() {
    // moby ParseVolumesFrom: the name ends at the first colon, and the
    // mode may carry SELinux relabel options the daemon accepts.
    let source = container_create(br#"{"Image":"i","HostConfig":{"Binds":["/etc:/e"]}}"#).unwrap();
    let fake = FakeDaemon::new().container("src", source);
    for (spec, read_only) in [
        ("src:z", false),
        ("src:Z", false),
        ("src:rw,z", false),
        ("src:ro,Z", true),
        ("src:z,ro", true),
        ("src:rw,nocopy", false),
    ] {
        let body = format!(r#"{{"Image":"i","HostConfig":{{"VolumesFrom":["{spec}"]}}}}"#);
        let w = resolved(&body, &fake);
        assert_eq!(w.mounts.len(), 1, "{spec}");
        assert_eq!(w.mounts[0].read_only, read_only, "{spec}");
        assert_eq!(
            w.mounts[0].via.as_deref(),
            Some("volumes-from src"),
            "{spec}"
        );
    }
    assert_eq!(volumes_from_spec("a:b:c"), ("a", false));
    assert_eq!(volumes_from_spec("plain"), ("plain", false));
}

#[test]
fn namespace_joins_follow_chains() {
    let fake = FakeDaemon::new()
        .container(
            "a",
            container_create(br#"{"Image":"i","HostConfig":{"PidMode":"container:b"}}"#).unwrap(),
        )
        .container(
            "b",
            container_create(br#"{"Image":"i","HostConfig":{"PidMode":"host"}}"#).unwrap(),
        );
    let w = resolved(
        r#"{"Image":"i","HostConfig":{"PidMode":"container:a"}}"#,
        &fake,
    );
    let mode = &w.namespace(NamespaceKind::Pid).unwrap().value;
    assert!(matches!(
        mode,
        NamespaceMode::Container {
            target_uses_host: Resolution::Known(true),
            ..
        }
    ));
}

#[test]
fn users_and_real_paths() {
    let fake = FakeDaemon::new()
        .image("i", "app", &["r/i@sha256:1"])
        .link("/srv/link", "/")
        .container(
            "c",
            container_create(br#"{"Image":"i","User":"0"}"#).unwrap(),
        );
    let w = resolved(
        r#"{"Image":"i","HostConfig":{"Binds":["/srv/link:/x"]}}"#,
        &fake,
    );
    assert_eq!(w.user.effective(), Some("app"));
    assert_eq!(
        w.image_local,
        Resolution::Known(LocalImage {
            id: Some(fake_image_id("i")),
            repo_digests: vec!["r/i@sha256:1".into()]
        })
    );
    assert_eq!(
        w.mounts[0].kind,
        MountKind::Bind {
            host_path: "/srv/link".into(),
            real_path: Some("/".into())
        }
    );
    let mut exec = Workload::new(Operation::Exec);
    exec.name = Some("c".into());
    block_on(resolve(&mut exec, &fake));
    assert_eq!(exec.user.effective(), Some("0"));
}

#[test]
fn failures_are_recorded() {
    let fake = FakeDaemon::new().broken("*");
    let w = resolved(
        r#"{"Image":"i","HostConfig":{"Binds":["v:/x"],"VolumesFrom":["src"],"NetworkMode":"container:n"}}"#,
        &fake,
    );
    assert_eq!(
        w.mounts[0].host_effect(),
        dockgate_model::HostPathEffect::Unknown("volume \"v\": daemon unreachable".into())
    );
    assert_eq!(
        w.mounts[1].host_effect(),
        dockgate_model::HostPathEffect::Unknown("container \"src\": daemon unreachable".into())
    );
    let mode = &w.namespace(NamespaceKind::Network).unwrap().value;
    assert!(matches!(
        mode,
        NamespaceMode::Container {
            target_uses_host: Resolution::Failed(_),
            ..
        }
    ));
    assert_eq!(
        w.user.image_default,
        Resolution::Failed("image \"i\": daemon unreachable".into())
    );
}

#[test]
fn service_networks_are_resolved_by_the_daemon() {
    // The CLI sends the swarm host network's ID; the daemon also takes the
    // local host network's ID, any unique ID prefix, and the name.
    let fake = FakeDaemon::new()
        .network("gw2hc3jvnisr660d85ejeewc1", "host", "host")
        .network("a71bb9", "host", "host")
        .network("backend", "backend", "overlay")
        .broken("flaky");
    let service = |target: &str| {
        let body = format!(
            r#"{{"Name":"s","TaskTemplate":{{"ContainerSpec":{{"Image":"i"}},"Networks":[{{"Target":"{target}"}}]}}}}"#
        );
        let mut w = crate::api_body::service_spec(body.as_bytes()).unwrap();
        block_on(resolve(&mut w, &fake));
        match &w.namespace(NamespaceKind::Network).unwrap().value {
            NamespaceMode::ServiceNetwork { is_host, .. } => is_host.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        service("gw2hc3jvnisr660d85ejeewc1"),
        Resolution::Known(true)
    );
    assert_eq!(service("a71bb9"), Resolution::Known(true));
    assert_eq!(service("backend"), Resolution::Known(false));
    assert_eq!(service("nothing"), Resolution::Known(false));
    assert_eq!(
        service("flaky"),
        Resolution::Failed("network \"flaky\": daemon unreachable".into())
    );
}
