//! A daemon held in memory: the one [`DaemonLookup`] double for every
//! crate's tests, benchmarks and fuzz targets (feature `fake-daemon`).
//!
//! It answers as the daemon would for the objects it was given, "no such
//! object" for the rest, and a look-up error for names marked broken, so a
//! test can show that failing look-ups fail closed.

use std::collections::HashMap;
use std::sync::Mutex;

use dockgate_model::Workload;

use super::{DaemonLookup, ImageFacts, LookupError, NetworkFacts, ServiceSpecs, VolumeFacts};

/// Answers look-ups from what a test put in it.
#[derive(Default)]
pub struct FakeDaemon {
    containers: HashMap<String, Workload>,
    execs: HashMap<String, Workload>,
    services: HashMap<String, ServiceSpecs>,
    volumes: HashMap<String, VolumeFacts>,
    images: HashMap<String, ImageFacts>,
    any_image: Option<ImageFacts>,
    networks: HashMap<String, NetworkFacts>,
    links: HashMap<String, String>,
    host_addresses: Vec<String>,
    host_interfaces: Vec<String>,
    pid_peers: HashMap<String, Vec<String>>,
    broken: Vec<String>,
    hung: Vec<String>,
    panics: bool,
    remembered: Mutex<Vec<(String, Workload)>>,
}

impl FakeDaemon {
    /// A daemon that has nothing: every look-up finds no such object.
    pub fn new() -> FakeDaemon {
        FakeDaemon::default()
    }

    /// Adds a container under a name (or ID).
    pub fn container(mut self, name: &str, container: Workload) -> FakeDaemon {
        self.containers.insert(name.to_string(), container);
        self
    }

    /// Makes `alias` answer like the container `name` (an ID, a prefix).
    pub fn alias(mut self, alias: &str, name: &str) -> FakeDaemon {
        let container = self.containers[name].clone();
        self.containers.insert(alias.to_string(), container);
        self
    }

    /// Adds an exec instance (its name is its container's ID).
    pub fn exec(mut self, id: &str, exec: Workload) -> FakeDaemon {
        self.execs.insert(id.to_string(), exec);
        self
    }

    /// Adds a swarm service with its current and previous spec (JSON).
    pub fn service(mut self, id: &str, current: &str, previous: Option<&str>) -> FakeDaemon {
        self.services.insert(
            id.to_string(),
            ServiceSpecs {
                current: current.as_bytes().to_vec(),
                previous: previous.map(|p| p.as_bytes().to_vec()),
            },
        );
        self
    }

    /// Adds a volume with its driver and options.
    pub fn volume(mut self, name: &str, driver: &str, options: &[(&str, &str)]) -> FakeDaemon {
        let options = options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.volumes.insert(
            name.to_string(),
            VolumeFacts {
                driver: driver.to_string(),
                options,
            },
        );
        self
    }

    /// Adds an image with its default user and registry digests.
    pub fn image(mut self, reference: &str, user: &str, digests: &[&str]) -> FakeDaemon {
        self.images.insert(
            reference.to_string(),
            ImageFacts {
                id: fake_image_id(reference),
                user: user.to_string(),
                repo_digests: digests.iter().map(|d| d.to_string()).collect(),
            },
        );
        self
    }

    /// Answers every image look-up not added otherwise with this user.
    pub fn any_image(mut self, user: &str) -> FakeDaemon {
        self.any_image = Some(ImageFacts {
            id: fake_image_id("any"),
            user: user.to_string(),
            repo_digests: Vec::new(),
        });
        self
    }

    /// Resolves a network reference (a service's, a container's) to a
    /// network.
    pub fn network(self, target: &str, name: &str, driver: &str) -> FakeDaemon {
        self.network_with_options(target, name, driver, &[])
    }

    /// [`FakeDaemon::network`], with driver options.
    pub fn network_with_options(
        mut self,
        target: &str,
        name: &str,
        driver: &str,
        options: &[(&str, &str)],
    ) -> FakeDaemon {
        self.networks.insert(
            target.to_string(),
            NetworkFacts {
                name: name.to_string(),
                driver: driver.to_string(),
                options: options
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        );
        self
    }

    /// Makes the host path `path` a symbolic link to `real`.
    pub fn link(mut self, path: &str, real: &str) -> FakeDaemon {
        self.links.insert(path.to_string(), real.to_string());
        self
    }

    /// Makes an address one of the host's own.
    pub fn host_address(mut self, address: &str) -> FakeDaemon {
        self.host_addresses.push(address.to_string());
        self
    }

    /// Puts processes of the containers `peers` in `name`'s PID namespace.
    pub fn pid_peers(mut self, name: &str, peers: &[&str]) -> FakeDaemon {
        self.pid_peers.insert(
            name.to_string(),
            peers.iter().map(|p| p.to_string()).collect(),
        );
        self
    }

    /// Gives the host a network interface of this name.
    pub fn host_interface(mut self, name: &str) -> FakeDaemon {
        self.host_interfaces.push(name.to_string());
        self
    }

    /// Makes every look-up of `name` fail; `*` makes every look-up fail.
    pub fn broken(mut self, name: &str) -> FakeDaemon {
        self.broken.push(name.to_string());
        self
    }

    /// Makes every look-up of `name` wait forever, as a daemon whose
    /// endpoint hangs; `*` hangs them all.
    pub fn hung(mut self, name: &str) -> FakeDaemon {
        self.hung.push(name.to_string());
        self
    }

    /// Makes container look-ups panic, as a look-up with a bug would.
    pub fn panicking(mut self) -> FakeDaemon {
        self.panics = true;
        self
    }

    /// What the gate told it to remember, in order.
    pub fn remembered(&self) -> Vec<(String, Workload)> {
        self.remembered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn check(&self, name: &str) -> Result<(), LookupError> {
        if self.hung.iter().any(|h| h == name || h == "*") {
            std::future::pending::<()>().await;
        }
        if self.broken.iter().any(|b| b == name || b == "*") {
            return Err(LookupError("daemon unreachable".into()));
        }
        Ok(())
    }
}

impl DaemonLookup for FakeDaemon {
    async fn container(&self, name: &str) -> Result<Option<Workload>, LookupError> {
        if self.panics {
            panic!("container look-up bug");
        }
        self.check(name).await?;
        Ok(self.containers.get(name).cloned())
    }

    async fn exec(&self, id: &str) -> Result<Option<Workload>, LookupError> {
        self.check(id).await?;
        Ok(self.execs.get(id).cloned())
    }

    async fn service(&self, id: &str) -> Result<Option<ServiceSpecs>, LookupError> {
        self.check(id).await?;
        Ok(self.services.get(id).cloned())
    }

    async fn volume(&self, name: &str) -> Result<Option<VolumeFacts>, LookupError> {
        self.check(name).await?;
        Ok(self.volumes.get(name).cloned())
    }

    async fn image(&self, reference: &str) -> Result<Option<ImageFacts>, LookupError> {
        self.check(reference).await?;
        Ok(self
            .images
            .get(reference)
            .or_else(|| self.images.values().find(|f| f.id == reference))
            .or(self.any_image.as_ref())
            .cloned())
    }

    async fn network(&self, name: &str) -> Result<Option<NetworkFacts>, LookupError> {
        self.check(name).await?;
        Ok(self.networks.get(name).cloned())
    }

    async fn service_network(&self, target: &str) -> Result<Option<NetworkFacts>, LookupError> {
        self.check(target).await?;
        Ok(self.networks.get(target).cloned())
    }

    async fn is_host_address(&self, address: &str) -> Result<Option<bool>, LookupError> {
        self.check(address).await?;
        Ok(Some(self.host_addresses.iter().any(|a| a == address)))
    }

    async fn pid_namespace_peers(&self, name: &str) -> Result<Option<Vec<String>>, LookupError> {
        self.check(name).await?;
        Ok(Some(self.pid_peers.get(name).cloned().unwrap_or_default()))
    }

    async fn containers_with_id_prefix(
        &self,
        prefix: &str,
    ) -> Result<Vec<super::NamedLabels>, LookupError> {
        self.check(prefix).await?;
        // Containers stored under their full ID.
        Ok(self
            .containers
            .iter()
            .filter(|(id, _)| {
                id.len() == 64
                    && id.bytes().all(|b| b.is_ascii_hexdigit())
                    && id.starts_with(prefix)
            })
            .map(|(id, c)| {
                let name = c.name.clone().unwrap_or_else(|| id.clone());
                (name, c.labels.iter().map(|l| l.value.clone()).collect())
            })
            .collect())
    }

    async fn is_host_interface(&self, name: &str) -> Result<Option<bool>, LookupError> {
        self.check(name).await?;
        Ok(Some(self.host_interfaces.iter().any(|i| i == name)))
    }

    fn real_path(&self, path: &str) -> Option<String> {
        self.links.get(path).cloned()
    }

    fn remember_container(&self, name: &str, container: &Workload) {
        self.remembered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.to_string(), container.clone()));
    }
}

/// A made-up image ID for a reference, the same on every run: `sha256:`
/// and 64 hex digits drawn from an FNV-1a hash of the reference.
pub fn fake_image_id(reference: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in reference.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("sha256:{hash:016x}{hash:016x}{hash:016x}{hash:016x}")
}
