//! Asking the Docker daemon about what a request names, with a short cache.
//!
//! When the gate asks, the daemon sends the gate an AuthZ request for each
//! look-up too. They are GETs, which the gate answers without looking
//! anything up, through a separate concurrency budget, so a burst of
//! creates waiting on look-ups never starves the look-ups' own
//! authorization (see the gate's `server.rs`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::Docker;
use dockgate_inputs::inspect::{container_from_value_with, DaemonDefaults};
use dockgate_inputs::resolve::LOOKUP_HEADER;
use dockgate_inputs::resolve::{
    DaemonLookup, ImageFacts, LookupError, NetworkFacts, ServiceSpecs, VolumeFacts,
};
use dockgate_model::Workload;

use crate::host_fs::HostFs;

/// How long an answer is reused. Short: a container's mounts do not change,
/// but a name can be reused by a new container.
const CACHE_TTL: Duration = Duration::from_secs(2);

/// Most entries a cache holds.
const CACHE_LIMIT: usize = 4096;

/// Look-ups through the daemon's API, cached briefly.
pub struct DockerLookup {
    observer: Option<Observer>,
    url: String,
    defaults: tokio::sync::OnceCell<DaemonDefaults>,
    docker: tokio::sync::OnceCell<Docker>,
    containers: Cache<Workload>,
    volumes: Cache<VolumeFacts>,
    images: Cache<ImageFacts>,
    networks: Cache<NetworkFacts>,
    host_fs: Option<HostFs>,
    /// Whether this process sees the host's processes in its `/proc` (a
    /// local daemon, and not from inside a managed plugin).
    host_processes: bool,
    /// The value of `X-Dockgate-Lookup` on every request: how the gate knows
    /// its own look-ups when the daemon passes them back for judging.
    marker: Option<String>,
}

struct Cache<T> {
    entries: Mutex<HashMap<String, (Instant, Option<T>)>>,
}

impl<T: Clone> Cache<T> {
    fn new() -> Self {
        Cache {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &str) -> Option<Option<T>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: &str, value: Option<T>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_LIMIT {
            entries.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            // A flood of distinct names within one TTL: start over rather
            // than grow without bound.
            if entries.len() >= CACHE_LIMIT {
                entries.clear();
            }
        }
        entries.insert(key.to_string(), (Instant::now(), value));
    }
}

/// Told of each look-up: its kind, and whether the cache answered it.
pub type Observer = std::sync::Arc<dyn Fn(&'static str, bool) + Send + Sync>;

/// Errors connecting to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not one dockgate can use.
    #[error("unsupported Docker host {0:?}: use unix:///path/to/docker.sock or tcp://host:port")]
    Url(String),
}

impl DockerLookup {
    /// Prepares a client for the daemon at `url` (`unix://...` or
    /// `tcp://...`). The gate starts before the daemon, so nothing is
    /// connected until the first look-up.
    pub fn connect(url: &str) -> Result<DockerLookup, ConnectError> {
        if !(url.starts_with("unix://") || url.starts_with("tcp://") || url.starts_with("http://"))
        {
            return Err(ConnectError::Url(url.to_string()));
        }
        Ok(DockerLookup {
            observer: None,
            url: url.to_string(),
            defaults: tokio::sync::OnceCell::new(),
            docker: tokio::sync::OnceCell::new(),
            containers: Cache::new(),
            volumes: Cache::new(),
            images: Cache::new(),
            networks: Cache::new(),
            // A local socket means a local daemon: its host is this file system.
            host_fs: url.starts_with("unix://").then(HostFs::default),
            host_processes: url.starts_with("unix://"),
            marker: None,
        })
    }

    /// Resolves host paths in the host's file system seen at `root`
    /// (dockgate as a managed plugin sees the host's `/` at `/host`).
    pub fn with_host_root(mut self, root: &std::path::Path) -> DockerLookup {
        self.host_fs = Some(HostFs::at(root));
        // A plugin has a PID namespace of its own.
        self.host_processes = false;
        self
    }

    /// Marks every look-up with the header `X-Dockgate-Lookup` set to
    /// `marker`.
    pub fn with_marker(mut self, marker: &str) -> DockerLookup {
        self.marker = Some(marker.to_string());
        self
    }

    /// Reports every look-up to `observer` (for metrics).
    pub fn with_observer(mut self, observer: Observer) -> DockerLookup {
        self.observer = Some(observer);
        self
    }

    fn observe(&self, kind: &'static str, cached: bool) {
        if let Some(observer) = &self.observer {
            observer(kind, cached);
        }
    }

    fn open(&self) -> Result<Docker, bollard::errors::Error> {
        let docker = match self.url.strip_prefix("unix://") {
            Some(path) => Docker::connect_with_unix(path, 10, bollard::API_DEFAULT_VERSION),
            None => Docker::connect_with_http(&self.url, 10, bollard::API_DEFAULT_VERSION),
        }?;
        let Some(marker) = self
            .marker
            .as_deref()
            .and_then(|m| http::HeaderValue::from_str(m).ok())
        else {
            return Ok(docker);
        };
        Ok(docker.with_request_modifier(move |mut request| {
            request.headers_mut().insert(LOOKUP_HEADER, marker.clone());
            request
        }))
    }

    /// Containers restarting now (a restart policy's back-off) whose
    /// `--pid container:` names this one, by ID, ID prefix or name.
    async fn restarting_joiners(&self, id: &str, name: &str) -> Result<Vec<String>, LookupError> {
        let docker = self.client().await?;
        let options = bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(
                [("status".to_string(), vec!["restarting".to_string()])]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        let listed = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| LookupError(e.to_string()))?;
        let mut joiners = Vec::new();
        for other in listed.into_iter().filter_map(|c| c.id) {
            let doc = match docker.inspect_container(&other, None).await {
                Ok(doc) => doc,
                Err(err) if not_found(&err) => continue,
                Err(err) => return Err(LookupError(err.to_string())),
            };
            let mode = doc.host_config.and_then(|h| h.pid_mode).unwrap_or_default();
            if let Some(target) = mode.strip_prefix("container:") {
                if !target.is_empty() && (target == name || id.starts_with(target)) {
                    joiners.push(other);
                }
            }
        }
        Ok(joiners)
    }

    /// One GET on the daemon's socket, for documents bollard's models do
    /// not carry whole; HTTP/1.0, so the answer ends with the connection.
    pub(crate) async fn raw_get(&self, path: &str) -> Result<(u16, Vec<u8>), LookupError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let fail = |e: std::io::Error| {
            LookupError(format!(
                "cannot reach the Docker daemon at {}: {e}",
                self.url
            ))
        };
        async fn exchange<S: AsyncReadExt + AsyncWriteExt + Unpin>(
            mut stream: S,
            request: &[u8],
        ) -> std::io::Result<Vec<u8>> {
            let mut response = Vec::new();
            stream.write_all(request).await?;
            stream.read_to_end(&mut response).await?;
            Ok(response)
        }
        let marker = match &self.marker {
            Some(marker) => format!("{LOOKUP_HEADER}: {marker}\r\n"),
            None => String::new(),
        };
        let request = format!("GET /v1.41{path} HTTP/1.0\r\nHost: docker\r\n{marker}\r\n");
        let request = request.as_bytes();
        let response = match self.url.strip_prefix("unix://") {
            Some(socket) => {
                let stream = tokio::net::UnixStream::connect(socket)
                    .await
                    .map_err(fail)?;
                exchange(stream, request).await.map_err(fail)?
            }
            None => {
                let address = self
                    .url
                    .trim_start_matches("tcp://")
                    .trim_start_matches("http://");
                let stream = tokio::net::TcpStream::connect(address)
                    .await
                    .map_err(fail)?;
                exchange(stream, request).await.map_err(fail)?
            }
        };
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| LookupError(format!("GET {path}: a malformed answer")))?;
        let status = String::from_utf8_lossy(&response[..split])
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| LookupError(format!("GET {path}: a malformed answer")))?;
        Ok((status, response[split + 4..].to_vec()))
    }

    /// The client, after agreeing on an API version with the daemon (1.41
    /// and up) so that an older daemon does not refuse bollard's newer
    /// default. The first use negotiates; a failure is retried next time.
    pub async fn docker(&self) -> Result<&Docker, bollard::errors::Error> {
        self.docker
            .get_or_try_init(|| async { self.open()?.negotiate_version().await })
            .await
    }

    /// What the daemon does by default where inspect documents cannot tell
    /// (asked once).
    pub async fn defaults(&self) -> Result<DaemonDefaults, LookupError> {
        self.defaults
            .get_or_try_init(|| async {
                let info = self
                    .client()
                    .await?
                    .info()
                    .await
                    .map_err(|e| LookupError(format!("cannot read the daemon's info: {e}")))?;
                Ok(DaemonDefaults {
                    cgroupns_host: info
                        .cgroup_version
                        .map(|v| v.to_string() == "1")
                        .unwrap_or(false),
                })
            })
            .await
            .copied()
    }

    /// [`DockerLookup::docker`], with the failure as a look-up error.
    pub async fn client(&self) -> Result<&Docker, LookupError> {
        self.docker().await.map_err(|e| {
            LookupError(format!(
                "cannot reach the Docker daemon at {}: {e}",
                self.url
            ))
        })
    }
}

/// Names are put into URL paths by the client; anything outside Docker's
/// name and reference alphabet could change which object is asked about.
fn checked(name: &str) -> Result<&str, LookupError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-:/@".contains(c))
        && !name.split('/').any(|s| s == ".." || s == ".");
    if ok {
        Ok(name)
    } else {
        Err(LookupError(format!(
            "{name:?} is not a name dockgate can look up"
        )))
    }
}

fn network_facts(network: bollard::models::NetworkInspect) -> NetworkFacts {
    NetworkFacts {
        name: network.name.unwrap_or_default(),
        driver: network.driver.unwrap_or_default(),
        options: network.options.unwrap_or_default().into_iter().collect(),
    }
}

fn not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Whether a reference is a container's full ID (64 hex digits).
fn is_full_id(reference: &str) -> bool {
    reference.len() == 64 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

impl DockerLookup {
    /// Answers from `cache` while it is fresh, otherwise asks the daemon
    /// with `fetch` and keeps the answer (a "no such object" included).
    async fn cached<T, F>(
        &self,
        kind: &'static str,
        cache: &Cache<T>,
        key: &str,
        fetch: F,
    ) -> Result<Option<T>, LookupError>
    where
        T: Clone,
        F: std::future::Future<Output = Result<Option<T>, LookupError>>,
    {
        if let Some(hit) = cache.get(key) {
            self.observe(kind, true);
            return Ok(hit);
        }
        self.observe(kind, false);
        let found = fetch.await?;
        cache.put(key, found.clone());
        Ok(found)
    }
}

impl DaemonLookup for DockerLookup {
    async fn container(&self, name: &str) -> Result<Option<Workload>, LookupError> {
        let name = checked(name)?;
        let fetch = async {
            let defaults = self.defaults().await?;
            Ok(
                match self.client().await?.inspect_container(name, None).await {
                    Ok(doc) => {
                        let value = serde_json::to_value(&doc).map_err(|e| {
                            LookupError(format!("cannot read inspect of {name:?}: {e}"))
                        })?;
                        Some(
                            container_from_value_with(&value, defaults)
                                .map_err(|e| LookupError(format!("{name:?}: {e}")))?,
                        )
                    }
                    Err(err) if not_found(&err) => None,
                    Err(err) => return Err(LookupError(err.to_string())),
                },
            )
        };
        // Only a full ID always names the same container: the daemon
        // resolves it first. A name or an ID prefix names whichever
        // container holds it now, and a rename moves it.
        if is_full_id(name) {
            self.cached("container", &self.containers, name, fetch)
                .await
        } else {
            self.observe("container", false);
            fetch.await
        }
    }

    async fn exec(&self, id: &str) -> Result<Option<Workload>, LookupError> {
        let id = checked(id)?;
        // Never cached: an exec instance is started once.
        Ok(match self.client().await?.inspect_exec(id).await {
            Ok(exec) => {
                let process = exec.process_config.unwrap_or_default();
                let mut workload = Workload::new(dockgate_model::Operation::Exec);
                workload.privileged = Some(dockgate_model::At::new(
                    process.privileged.unwrap_or(false),
                    "ProcessConfig.privileged",
                ));
                workload.user.requested =
                    dockgate_model::At::new(process.user.unwrap_or_default(), "ProcessConfig.user");
                workload.name = exec.container_id;
                Some(workload)
            }
            Err(err) if not_found(&err) => None,
            Err(err) => return Err(LookupError(err.to_string())),
        })
    }

    async fn service(&self, id: &str) -> Result<Option<ServiceSpecs>, LookupError> {
        let id = checked(id)?;
        // bollard's Service model has no PreviousSpec: read the document.
        let (status, body) = self.raw_get(&format!("/services/{id}")).await?;
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            return Err(LookupError(format!(
                "service {id:?}: the daemon answered {status}: {}",
                String::from_utf8_lossy(&body).trim()
            )));
        }
        let doc: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| LookupError(format!("service {id:?}: {e}")))?;
        let spec = |key: &str| {
            doc.get(key)
                .filter(|s| s.is_object())
                .map(|s| s.to_string().into_bytes())
        };
        Ok(Some(ServiceSpecs {
            current: spec("Spec").unwrap_or_default(),
            previous: spec("PreviousSpec"),
        }))
    }

    async fn volume(&self, name: &str) -> Result<Option<VolumeFacts>, LookupError> {
        let name = checked(name)?;
        self.cached("volume", &self.volumes, name, async {
            Ok(match self.client().await?.inspect_volume(name).await {
                Ok(volume) => Some(VolumeFacts {
                    driver: volume.driver,
                    options: volume.options.into_iter().collect(),
                }),
                Err(err) if not_found(&err) => None,
                Err(err) => return Err(LookupError(err.to_string())),
            })
        })
        .await
    }

    async fn image(&self, reference: &str) -> Result<Option<ImageFacts>, LookupError> {
        let reference = checked(reference)?;
        self.cached("image", &self.images, reference, async {
            Ok(match self.client().await?.inspect_image(reference).await {
                Ok(image) => Some(ImageFacts {
                    id: image.id.unwrap_or_default(),
                    user: image.config.and_then(|c| c.user).unwrap_or_default(),
                    repo_digests: image.repo_digests.unwrap_or_default(),
                }),
                Err(err) if not_found(&err) => None,
                Err(err) => return Err(LookupError(err.to_string())),
            })
        })
        .await
    }

    async fn network(&self, name: &str) -> Result<Option<NetworkFacts>, LookupError> {
        let name = checked(name)?;
        self.cached("network", &self.networks, name, async {
            Ok(
                match self.client().await?.inspect_network(name, None).await {
                    Ok(network) => Some(network_facts(network)),
                    Err(err) if not_found(&err) => None,
                    Err(err) => return Err(LookupError(err.to_string())),
                },
            )
        })
        .await
    }

    async fn service_network(&self, target: &str) -> Result<Option<NetworkFacts>, LookupError> {
        let target = checked(target)?;
        let docker = self.client().await?;
        let inspect = |scope: &'static str| {
            docker.inspect_network(
                target,
                Some(bollard::query_parameters::InspectNetworkOptions {
                    verbose: false,
                    scope: Some(scope.to_string()),
                }),
            )
        };
        // With scope=swarm the daemon answers with the swarm's own
        // resolution (cluster getNetwork), as a service create does.
        match inspect("swarm").await {
            Ok(network) => return Ok(Some(network_facts(network))),
            Err(err) if not_found(&err) => {}
            Err(err) => return Err(LookupError(err.to_string())),
        }
        match inspect("local").await {
            // Only predefined networks stand for the swarm network of the
            // same name (and driver); the daemon refuses any other local one.
            Ok(network) => Ok(Some(network_facts(network))
                .filter(|local| ["host", "bridge", "none"].contains(&local.name.as_str()))),
            Err(err) if not_found(&err) => Ok(None),
            Err(err) => Err(LookupError(err.to_string())),
        }
    }

    async fn is_host_address(&self, address: &str) -> Result<Option<bool>, LookupError> {
        // Only a local daemon's host is this one.
        if self.host_fs.is_none() {
            return Ok(None);
        }
        let local = crate::host_net::local_addresses();
        let bare = address.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return Ok(Some(crate::host_net::is_local(ip, &local)));
        }
        // A name: the local driver resolves it (net.ResolveIPAddr) before
        // mounting; any address it may resolve to counts.
        let resolved = tokio::net::lookup_host((bare, 0))
            .await
            .map_err(|e| LookupError(format!("cannot resolve {bare:?}: {e}")))?;
        Ok(Some(
            resolved
                .into_iter()
                .any(|a| crate::host_net::is_local(a.ip(), &local)),
        ))
    }

    async fn pid_namespace_peers(&self, name: &str) -> Result<Option<Vec<String>>, LookupError> {
        if !self.host_processes {
            return Ok(None);
        }
        let name = checked(name)?;
        let doc = match self.client().await?.inspect_container(name, None).await {
            Ok(doc) => doc,
            Err(err) if not_found(&err) => return Ok(Some(Vec::new())),
            Err(err) => return Err(LookupError(err.to_string())),
        };
        let id = doc.id.unwrap_or_default();
        let own_name = doc
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        let pid = doc.state.and_then(|s| s.pid).unwrap_or(0);
        // A container that joined it but is between restarts has no
        // process now and will have one soon: its configuration tells.
        let mut peers = self.restarting_joiners(&id, &own_name).await?;
        if pid > 0 {
            let own = id.clone();
            let running = tokio::task::spawn_blocking(move || {
                crate::host_proc::pid_namespace_peers(pid, &own)
            })
            .await
            .map_err(|e| LookupError(format!("reading /proc: {e}")))?
            .map_err(|e| LookupError(format!("reading /proc: {e}")))?;
            peers.extend(running);
        }
        peers.sort();
        peers.dedup();
        Ok(Some(peers))
    }

    async fn containers_with_id_prefix(
        &self,
        prefix: &str,
    ) -> Result<Vec<dockgate_inputs::resolve::NamedLabels>, LookupError> {
        let prefix = checked(prefix)?;
        let options = bollard::query_parameters::ListContainersOptions {
            all: true,
            // The daemon matches the filter as a regular expression
            // anywhere in the ID: a superset, narrowed here.
            filters: Some(
                [("id".to_string(), vec![prefix.to_string()])]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        let listed = self
            .client()
            .await?
            .list_containers(Some(options))
            .await
            .map_err(|e| LookupError(e.to_string()))?;
        Ok(listed
            .into_iter()
            .filter(|c| c.id.as_deref().is_some_and(|id| id.starts_with(prefix)))
            .map(|c| {
                let name = c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default();
                let labels = c.labels.unwrap_or_default().into_iter().collect();
                (name.trim_start_matches('/').to_string(), labels)
            })
            .collect())
    }

    async fn is_host_interface(&self, name: &str) -> Result<Option<bool>, LookupError> {
        // Only a local daemon's host is this one.
        if self.host_fs.is_none() {
            return Ok(None);
        }
        Ok(Some(crate::host_net::has_interface(name)))
    }

    fn remember_container(&self, name: &str, container: &Workload) {
        if checked(name).is_ok() {
            self.containers.put(name, Some(container.clone()));
        }
    }

    fn real_path(&self, path: &str) -> Option<String> {
        self.host_fs.as_ref()?.resolve(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_stay_bounded() {
        let cache: Cache<u32> = Cache::new();
        for i in 0..3 * CACHE_LIMIT {
            cache.put(&format!("name-{i}"), Some(1));
        }
        let len = cache.entries.lock().unwrap().len();
        assert!(len <= CACHE_LIMIT, "{len} entries");
        assert_eq!(
            cache.get(&format!("name-{}", 3 * CACHE_LIMIT - 1)),
            Some(Some(1))
        );
    }

    #[test]
    fn lookup_names_are_checked() {
        assert!(checked("runner").is_ok());
        assert!(checked("registry:5000/team/app@sha256:ab").is_ok());
        assert_eq!(
            checked("x?all=1").unwrap_err().to_string(),
            "\"x?all=1\" is not a name dockgate can look up"
        );
        assert!(checked("evil/../safe").is_err());
        assert!(checked("").is_err());
    }
}
