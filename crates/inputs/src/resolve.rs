//! Resolving what a request only names: volumes, `--volumes-from` sources,
//! `container:` namespace targets and the image's default user.
//!
//! The daemon is asked through [`DaemonLookup`], a trait so that tests can
//! answer from captured documents and the gate from a cached API client.

/// The header that marks dockgate's own look-ups, which the daemon passes
/// back to the gate for judging. Its value is a secret the gate draws at
/// start, so a client cannot pass for the gate.
pub const LOOKUP_HEADER: &str = "X-Dockgate-Lookup";

use std::collections::BTreeMap;
use std::future::Future;

use dockgate_model::{
    At, AttachedNetwork, LocalImage, Mount, MountKind, NamespaceKind, NamespaceMode, Operation,
    Resolution, VolumeBacking, Workload,
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
    /// The image ID (`sha256:...`).
    pub id: String,
    /// The default `USER`.
    pub user: String,
    /// `RepoDigests`: where the content was pulled from or pushed to.
    pub repo_digests: Vec<String>,
}

/// A network as the daemon resolves a swarm service's reference to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkFacts {
    /// The network's name.
    pub name: String,
    /// Its driver: `host` puts the tasks in the host's network namespace.
    pub driver: String,
    /// Its driver options (`parent`, `com.docker.network.bridge.name`).
    pub options: BTreeMap<String, String>,
}

/// A swarm service's stored specs, as JSON bodies a service create would
/// carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceSpecs {
    /// `Spec`: what runs now, and what an update's automatic rollback
    /// (`FailureAction: rollback`) returns to.
    pub current: Vec<u8>,
    /// `PreviousSpec`: what `?rollback=previous` restores, whatever the
    /// request's own body says.
    pub previous: Option<Vec<u8>>,
}

/// A container's name and labels.
pub type NamedLabels = (String, Vec<(String, String)>);

/// Questions dockgate asks the daemon. `Ok(None)` means "no such object".
pub trait DaemonLookup: Send + Sync {
    /// A container, described by the model (from its inspect document).
    fn container(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Workload>, LookupError>> + Send;
    /// An exec instance, described as the exec it was created as: its
    /// privileges and user, and its container's ID as the name.
    fn exec(&self, id: &str) -> impl Future<Output = Result<Option<Workload>, LookupError>> + Send;
    /// A swarm service's specs as the daemon stores them: the current one
    /// (JSON), and the previous one that a rollback restores.
    fn service(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ServiceSpecs>, LookupError>> + Send;
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
    /// The network a swarm service's `Networks[].Target` attaches its
    /// tasks to, resolved as the daemon's `populateNetworkID` does: the
    /// swarm's networks by full ID, name or ID prefix, then a local
    /// predefined network (`host`, `bridge`, `none`) by its local name or
    /// ID, which stands for the swarm network of the same name.
    fn service_network(
        &self,
        target: &str,
    ) -> impl Future<Output = Result<Option<NetworkFacts>, LookupError>> + Send;
    /// Whether an address (an IP, or a name the daemon would resolve) is
    /// one of this host's own; `Ok(None)` where the host cannot be seen.
    /// The daemon mounts a network file system from the host's network
    /// namespace, so a server at such an address is the host itself.
    fn is_host_address(
        &self,
        address: &str,
    ) -> impl Future<Output = Result<Option<bool>, LookupError>> + Send;
    /// The network a container's reference (name, full ID, unique ID
    /// prefix) resolves to.
    fn network(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<NetworkFacts>, LookupError>> + Send;
    /// The IDs of the other containers with processes in this container's
    /// PID namespace (those that joined it, or that it joined): each of
    /// them can reach the others' mounts through `/proc/<pid>/root`.
    /// `Ok(None)` where the host's processes cannot be seen.
    fn pid_namespace_peers(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Vec<String>>, LookupError>> + Send;
    /// The containers whose IDs start with `prefix`, by name with their
    /// labels: a name made of hex digits is also an ID prefix once its
    /// container is renamed.
    fn containers_with_id_prefix(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<NamedLabels>, LookupError>> + Send;
    /// Whether the host has a network interface of this name; `Ok(None)`
    /// where the host cannot be seen.
    fn is_host_interface(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<bool>, LookupError>> + Send;
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
    // A volume being created is judged by its own options: were its name
    // looked up, the answer "no such volume" would be kept for a moment
    // after the daemon created it.
    let by_name = workload.operation != Operation::Volume;
    resolve_volumes(&mut workload.mounts, lookup, by_name).await;
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
    let mut service_networks = Vec::new();
    for (kind, mode) in workload.namespaces.iter_mut() {
        match &mut mode.value {
            NamespaceMode::Container {
                target,
                target_uses_host,
            } => *target_uses_host = namespace_reaches_host(*kind, target, lookup).await,
            // The name needs no look-up: the swarm matches names case-
            // insensitively, and "host" is always the host's.
            NamespaceMode::ServiceNetwork { target, is_host }
                if target.eq_ignore_ascii_case("host") =>
            {
                *is_host = Resolution::Known(true)
            }
            NamespaceMode::ServiceNetwork { target, is_host } => {
                *is_host = match lookup.service_network(target).await {
                    Ok(Some(network)) => {
                        // Its driver is judged like a container's network's.
                        service_networks.push(At::new(
                            AttachedNetwork {
                                network: target.clone(),
                                driver: Resolution::Known(network.driver.clone()),
                            },
                            mode.field.clone(),
                        ));
                        Resolution::Known(network.driver == "host")
                    }
                    // The daemon refuses to create the service.
                    Ok(None) => Resolution::Known(false),
                    Err(err) => Resolution::Failed(format!("network {target:?}: {err}")),
                }
            }
            _ => {}
        }
    }
    for attached in workload
        .networks
        .iter_mut()
        .filter(|n| n.value.driver == Resolution::Pending)
    {
        let network = &mut attached.value;
        network.driver = match lookup.network(&network.network).await {
            Ok(Some(facts)) => Resolution::Known(facts.driver),
            Ok(None) => Resolution::Known(String::new()),
            Err(err) => Resolution::Failed(format!("network {:?}: {err}", network.network)),
        };
    }
    workload.networks.extend(service_networks);
    if let Some(network) = &mut workload.network {
        if let Some(template) = network.value.config_from.clone() {
            match lookup.network(&template).await {
                Ok(Some(facts)) => {
                    let request = &mut network.value;
                    let option =
                        |key: &str| facts.options.get(key).filter(|v| !v.is_empty()).cloned();
                    request.parent = request.parent.take().or_else(|| option("parent"));
                    request.bridge = request
                        .bridge
                        .take()
                        .or_else(|| option("com.docker.network.bridge.name"));
                }
                // The daemon refuses a missing template.
                Ok(None) => {}
                Err(err) => {
                    network.value.bridge_exists =
                        Resolution::Failed(format!("template network {template:?}: {err}"));
                }
            }
        }
        if let Some(bridge) = network
            .value
            .bridge
            .clone()
            .filter(|_| network.value.bridge_exists == Resolution::Pending)
        {
            network.value.bridge_exists = match lookup.is_host_interface(&bridge).await {
                Ok(Some(exists)) => Resolution::Known(exists),
                Ok(None) => Resolution::Pending,
                Err(err) => Resolution::Failed(format!("interface {bridge:?}: {err}")),
            };
        }
    }
    resolve_user(workload, lookup).await;
}

async fn resolve_volumes<L: DaemonLookup>(mounts: &mut [Mount], lookup: &L, by_name: bool) {
    for mount in mounts {
        let MountKind::Volume { name, backing, .. } = &mut mount.kind else {
            continue;
        };
        let found = if name.is_empty() || !by_name {
            Ok(None)
        } else {
            lookup.volume(name).await
        };
        match found {
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
        if let Resolution::Known(VolumeBacking::Remote(remote)) = backing {
            if remote.on_host == Resolution::Pending {
                remote.on_host = servers_on_host(&remote.addresses, name, lookup).await;
            }
        }
    }
}

/// Whether any address a network file system may be served from is the
/// host's own.
async fn servers_on_host<L: DaemonLookup>(
    addresses: &[String],
    volume: &str,
    lookup: &L,
) -> Resolution<bool> {
    let mut answer = Resolution::Known(false);
    for address in addresses {
        match lookup.is_host_address(address).await {
            Ok(Some(true)) => return Resolution::Known(true),
            Ok(Some(false)) => {}
            Ok(None) => answer = Resolution::Pending,
            Err(err) => {
                return Resolution::Failed(format!(
                    "volume {volume:?}: server address {address:?}: {err}"
                ))
            }
        }
    }
    answer
}

async fn resolve_volumes_from<L: DaemonLookup>(workload: &mut Workload, lookup: &L) {
    let sources = workload.volumes_from.clone();
    for source in sources {
        let (name, read_only) = volumes_from_spec(&source.value);
        let via = format!("volumes-from {name}");
        match lookup.container(name).await {
            Ok(Some(mut container)) => {
                resolve_volumes(&mut container.mounts, lookup, true).await;
                for mut mount in container.mounts {
                    mount.read_only |= read_only;
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

/// Splits a `--volumes-from` entry as moby's `ParseVolumesFrom` does: the
/// container is everything before the first colon (names cannot hold one),
/// the rest is a mode list such as `ro`, `z`, `rw,Z` or `ro,z`, read-only
/// when one of its options is `ro`. A mode the daemon rejects fails the
/// create; it is still read as sharing, so nothing rests on the rejection.
pub fn volumes_from_spec(spec: &str) -> (&str, bool) {
    match spec.split_once(':') {
        Some((name, mode)) => (name, mode.split(',').any(|o| o == "ro")),
        None => (spec, false),
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

/// Looks up the local image a container workload's reference resolves to
/// (or the image ID its input names), as the daemon would, and records its
/// ID and registry digests. Returns what was asked and the answer, for
/// other settings taken from the image.
pub async fn resolve_image<L: DaemonLookup>(
    workload: &mut Workload,
    lookup: &L,
) -> Option<(String, Result<Option<ImageFacts>, LookupError>)> {
    // The ID a container was created from names what really runs; its
    // reference's tag may point elsewhere by now.
    let image = workload
        .image_id
        .clone()
        .or_else(|| workload.image.as_ref().map(|i| i.value.clone()))?;
    let facts = lookup.image(&image).await;
    if workload.image_local == Resolution::Pending {
        workload.image_local = match &facts {
            Ok(Some(f)) => Resolution::Known(LocalImage {
                id: Some(f.id.clone()).filter(|id| !id.is_empty()),
                repo_digests: f.repo_digests.clone(),
            }),
            Ok(None) => Resolution::Failed(format!("no such image {image:?}")),
            Err(err) => Resolution::Failed(format!("image {image:?}: {err}")),
        };
    }
    Some((image, facts))
}

async fn resolve_user<L: DaemonLookup>(workload: &mut Workload, lookup: &L) {
    if matches!(
        workload.operation,
        Operation::Container | Operation::Service
    ) {
        let facts = resolve_image(workload, lookup).await;
        if let Some((image, facts)) = facts {
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

#[cfg(any(test, feature = "fake-daemon"))]
mod fake;
#[cfg(any(test, feature = "fake-daemon"))]
pub use fake::{fake_image_id, FakeDaemon};

#[cfg(test)]
mod tests;
