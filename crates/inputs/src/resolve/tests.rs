use std::collections::HashMap;

use dockgate_model::NamespaceKind;

use super::*;
use crate::api_body::container_create;

#[derive(Default)]
struct Fake {
    containers: HashMap<String, Workload>,
    volumes: HashMap<String, VolumeFacts>,
    images: HashMap<String, ImageFacts>,
    fail: bool,
}

impl DaemonLookup for Fake {
    async fn container(&self, name: &str) -> Result<Option<Workload>, LookupError> {
        if self.fail {
            return Err(LookupError("connection refused".into()));
        }
        Ok(self.containers.get(name).cloned())
    }
    async fn volume(&self, name: &str) -> Result<Option<VolumeFacts>, LookupError> {
        if self.fail {
            return Err(LookupError("connection refused".into()));
        }
        Ok(self.volumes.get(name).cloned())
    }
    async fn image(&self, reference: &str) -> Result<Option<ImageFacts>, LookupError> {
        if self.fail {
            return Err(LookupError("connection refused".into()));
        }
        Ok(self.images.get(reference).cloned())
    }
    fn real_path(&self, path: &str) -> Option<String> {
        (path == "/srv/link").then(|| "/".to_string())
    }
}

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

fn resolved(body: &str, fake: &Fake) -> Workload {
    let mut w = container_create(body.as_bytes()).unwrap();
    block_on(resolve(&mut w, fake));
    w
}

#[test]
fn an_existing_volume_overrides_inline_options() {
    let mut fake = Fake::default();
    fake.volumes.insert(
        "v".into(),
        VolumeFacts {
            driver: "local".into(),
            options: [("o", "bind"), ("device", "/etc")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    );
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
    let mut fake = Fake::default();
    let source = container_create(br#"{"Image":"i","HostConfig":{"Binds":["/etc:/e"]}}"#).unwrap();
    fake.containers.insert("src".into(), source);
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
fn namespace_joins_follow_chains() {
    let mut fake = Fake::default();
    fake.containers.insert(
        "a".into(),
        container_create(br#"{"Image":"i","HostConfig":{"PidMode":"container:b"}}"#).unwrap(),
    );
    fake.containers.insert(
        "b".into(),
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
    let mut fake = Fake::default();
    fake.images.insert(
        "i".into(),
        ImageFacts {
            user: "app".into(),
            repo_digests: vec!["r/i@sha256:1".into()],
        },
    );
    let w = resolved(
        r#"{"Image":"i","HostConfig":{"Binds":["/srv/link:/x"]}}"#,
        &fake,
    );
    assert_eq!(w.user.effective(), Some("app"));
    assert_eq!(
        w.image_repo_digests,
        Resolution::Known(vec!["r/i@sha256:1".into()])
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
    fake.containers.insert(
        "c".into(),
        container_create(br#"{"Image":"i","User":"0"}"#).unwrap(),
    );
    block_on(resolve(&mut exec, &fake));
    assert_eq!(exec.user.effective(), Some("0"));
}

#[test]
fn failures_are_recorded() {
    let fake = Fake {
        fail: true,
        ..Fake::default()
    };
    let w = resolved(
        r#"{"Image":"i","HostConfig":{"Binds":["v:/x"],"VolumesFrom":["src"],"NetworkMode":"container:n"}}"#,
        &fake,
    );
    assert_eq!(
        w.mounts[0].host_effect(),
        dockgate_model::HostPathEffect::Unknown("volume \"v\": connection refused".into())
    );
    assert_eq!(
        w.mounts[1].host_effect(),
        dockgate_model::HostPathEffect::Unknown("container \"src\": connection refused".into())
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
        Resolution::Failed("image \"i\": connection refused".into())
    );
}
