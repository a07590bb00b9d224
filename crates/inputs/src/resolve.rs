//! Resolving what a request only names: volumes, `--volumes-from` sources,
//! `container:` namespace targets and the image's default user.
//!
//! The daemon is asked through [`DaemonLookup`], a trait so that tests can
//! answer from captured documents and the gate from a cached API client.

use std::collections::BTreeMap;
use std::future::Future;

use dockgate_model::{
    Mount, MountKind, NamespaceKind, NamespaceMode, Operation, Resolution, VolumeBacking, Workload,
};

/// A look-up failure; resolutions that hit one fail closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LookupError(pub String);

/// A volume as the daemon reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeFacts {
    /// The driver.
    pub driver: String,
    /// The driver options it was created with.
    pub options: BTreeMap<String, String>,
}

/// An image as the daemon reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageFacts {
    /// The default `USER`.
    pub user: String,
    /// `RepoDigests`: where the content was pulled from or pushed to.
    pub repo_digests: Vec<String>,
}

/// Questions dockgate asks the daemon. `Ok(None)` means "no such object".
pub trait DaemonLookup: Send + Sync {
    /// A container, described by the model (from its inspect document).
    fn container(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Workload>, LookupError>> + Send;
    /// A volume's driver and options.
    fn volume(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<VolumeFacts>, LookupError>> + Send;
    /// An image's user and digests.
    fn image(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ImageFacts>, LookupError>> + Send;
    /// A host path with symbolic links resolved, where the host's file
    /// system is visible; `None` otherwise.
    fn real_path(&self, _path: &str) -> Option<String> {
        None
    }
    /// Told of a container the daemon has just created from a request the
    /// gate judged: a cache may answer the next look-up of `name` with it
    /// (a `docker run` attaches to and starts the container at once).
    fn remember_container(&self, _name: &str, _container: &Workload) {}
}

/// How deep `container:` joins and `--volumes-from` chains are followed.
const MAX_DEPTH: usize = 4;

/// Fills in everything the workload only names.
pub async fn resolve<L: DaemonLookup>(workload: &mut Workload, lookup: &L) {
    resolve_volumes(&mut workload.mounts, lookup).await;
    resolve_volumes_from(workload, lookup).await;
    for mount in workload.mounts.iter_mut() {
        if let MountKind::Bind {
            host_path,
            real_path,
        } = &mut mount.kind
        {
            *real_path = lookup.real_path(host_path).filter(|p| p != host_path);
        }
    }
    for (kind, mode) in workload.namespaces.iter_mut() {
        if let NamespaceMode::Container {
            target,
            target_uses_host,
        } = &mut mode.value
        {
            *target_uses_host = namespace_reaches_host(*kind, target, lookup).await;
        }
    }
    resolve_user(workload, lookup).await;
}

async fn resolve_volumes<L: DaemonLookup>(mounts: &mut [Mount], lookup: &L) {
    for mount in mounts {
        let MountKind::Volume { name, backing, .. } = &mut mount.kind else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        match lookup.volume(name).await {
            // An existing volume is used as it is; inline options are ignored.
            Ok(Some(facts)) => {
                *backing = Resolution::Known(VolumeBacking::from_driver_options(
                    &facts.driver,
                    facts.options.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                ))
            }
            // A new volume is created from the request's own options.
            Ok(None) => {
                if *backing == Resolution::Pending {
                    *backing = Resolution::Known(VolumeBacking::Managed);
                }
            }
            Err(err) => *backing = Resolution::Failed(format!("volume {name:?}: {err}")),
        }
    }
}

async fn resolve_volumes_from<L: DaemonLookup>(workload: &mut Workload, lookup: &L) {
    let sources = workload.volumes_from.clone();
    for source in sources {
        let (name, mode) = match source.value.rsplit_once(':') {
            Some((n, m)) if m == "ro" || m == "rw" => (n, m),
            _ => (source.value.as_str(), ""),
        };
        let via = format!("volumes-from {name}");
        match lookup.container(name).await {
            Ok(Some(mut container)) => {
                resolve_volumes(&mut container.mounts, lookup).await;
                for mut mount in container.mounts {
                    mount.read_only |= mode == "ro";
                    mount.via = Some(match mount.via {
                        Some(inner) => format!("{via} ({inner})"),
                        None => via.clone(),
                    });
                    mount.field = source.field.clone();
                    workload.mounts.push(mount);
                }
            }
            // The daemon refuses to create the container; nothing is shared.
            Ok(None) => {}
            Err(err) => workload.mounts.push(Mount {
                kind: MountKind::Volume {
                    name: String::new(),
                    driver: None,
                    backing: Resolution::Failed(format!("container {name:?}: {err}")),
                },
                target: String::new(),
                read_only: false,
                propagation: None,
                via: Some(via),
                field: source.field.clone(),
            }),
        }
    }
}

/// Whether joining `target`'s namespace of this kind lands in the host's,
/// following chains of `container:` joins.
async fn namespace_reaches_host<L: DaemonLookup>(
    kind: NamespaceKind,
    target: &str,
    lookup: &L,
) -> Resolution<bool> {
    let mut current = target.to_string();
    for _ in 0..MAX_DEPTH {
        match lookup.container(&current).await {
            Ok(Some(container)) => match container.namespace(kind).map(|m| &m.value) {
                Some(NamespaceMode::Host) => return Resolution::Known(true),
                Some(NamespaceMode::Container { target, .. }) => current = target.clone(),
                _ => return Resolution::Known(false),
            },
            Ok(None) => return Resolution::Known(false),
            Err(err) => return Resolution::Failed(format!("container {current:?}: {err}")),
        }
    }
    Resolution::Failed(format!(
        "container {target:?}: more than {MAX_DEPTH} nested container: joins"
    ))
}

async fn resolve_user<L: DaemonLookup>(workload: &mut Workload, lookup: &L) {
    if matches!(
        workload.operation,
        Operation::Container | Operation::Service
    ) {
        if let Some(image) = workload.image.as_ref().map(|i| i.value.clone()) {
            let facts = lookup.image(&image).await;
            workload.image_repo_digests = match &facts {
                Ok(Some(f)) => Resolution::Known(f.repo_digests.clone()),
                Ok(None) => Resolution::Failed(format!("no such image {image:?}")),
                Err(err) => Resolution::Failed(format!("image {image:?}: {err}")),
            };
            if workload.user.requested.value.is_empty() {
                workload.user.image_default = match facts {
                    Ok(Some(f)) => Resolution::Known(f.user),
                    Ok(None) => Resolution::Failed(format!("no such image {image:?}")),
                    Err(err) => Resolution::Failed(format!("image {image:?}: {err}")),
                };
            }
        }
    }
    if !workload.user.requested.value.is_empty()
        || !matches!(workload.user.image_default, Resolution::Pending)
    {
        return;
    }
    workload.user.image_default = match workload.operation {
        Operation::Exec => match workload.name.clone() {
            Some(name) => match lookup.container(&name).await {
                Ok(Some(container)) => Resolution::Known(container.user.requested.value),
                Ok(None) => Resolution::Failed(format!("no such container {name:?}")),
                Err(err) => Resolution::Failed(format!("container {name:?}: {err}")),
            },
            None => Resolution::Failed("no container named".into()),
        },
        Operation::Container | Operation::Service => {
            Resolution::Failed("the request names no image".into())
        }
        _ => Resolution::Pending,
    };
}

#[cfg(test)]
mod tests;
