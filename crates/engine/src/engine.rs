//! Listing, inspecting, watching and remediating containers.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{
    EventsOptions, ListContainersOptions, RemoveContainerOptions, StopContainerOptions,
};
use dockgate_inputs::resolve::LookupError;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::lookup::DockerLookup;

/// Why the daemon could not be used. Monitoring reports these as UNKNOWN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The `--docker-host` URL is not usable.
    #[error("unsupported Docker host {0:?}: use unix:///path/to/docker.sock or tcp://host:port")]
    Url(String),
    /// Nothing answers at the address.
    #[error("cannot reach the Docker daemon at {url}: {detail}")]
    Unreachable {
        /// The address.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The socket exists but this user may not use it.
    #[error("permission denied on the Docker daemon at {url}: {detail}")]
    PermissionDenied {
        /// The address.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The daemon answered with an error.
    #[error("the Docker daemon refused {what}: {detail}")]
    Api {
        /// The operation.
        what: String,
        /// The daemon's message.
        detail: String,
    },
}

/// A container as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// The full id.
    pub id: String,
    /// The name without the leading slash.
    pub name: String,
}

/// A container or exec event from the daemon's event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `create`, `start`, `exec_create`, ...
    pub action: String,
    /// The container id.
    pub container: String,
    /// The exec id, for exec events.
    pub exec_id: Option<String>,
    /// When the daemon emitted it, in nanoseconds since the epoch.
    pub time_nano: i64,
}

/// The daemon, as the patrol uses it.
pub struct Engine {
    url: String,
    lookup: DockerLookup,
}

fn api_error(what: &str, err: bollard::errors::Error) -> EngineError {
    EngineError::Api {
        what: what.to_string(),
        detail: err.to_string(),
    }
}

impl Engine {
    /// Connects and agrees on an API version; fails if the daemon cannot
    /// be used. Every request carries `marker`, the gate's secret for
    /// dockgate's own reads, when there is one.
    pub async fn connect(url: &str, marker: Option<&str>) -> Result<Engine, EngineError> {
        let mut lookup =
            DockerLookup::connect(url).map_err(|_| EngineError::Url(url.to_string()))?;
        if let Some(marker) = marker {
            lookup = lookup.with_marker(marker);
        }
        let engine = Engine {
            url: url.to_string(),
            lookup,
        };
        engine.client().await?;
        Ok(engine)
    }

    /// The daemon's address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The look-ups the rules need, through the same connection.
    pub fn lookup(&self) -> &DockerLookup {
        &self.lookup
    }

    async fn client(&self) -> Result<&bollard::Docker, EngineError> {
        self.lookup.docker().await.map_err(|err| {
            let detail = error_chain(&err);
            if denied(&err) {
                EngineError::PermissionDenied {
                    url: self.url.clone(),
                    detail,
                }
            } else {
                EngineError::Unreachable {
                    url: self.url.clone(),
                    detail,
                }
            }
        })
    }

    /// Whether the daemon runs on cgroup v1, where sharing the host's
    /// cgroup namespace is Docker's default rather than a request.
    pub async fn cgroup_v1(&self) -> Result<bool, EngineError> {
        self.client().await?;
        self.lookup
            .defaults()
            .await
            .map(|d| d.cgroupns_host)
            .map_err(|LookupError(detail)| EngineError::Api {
                what: "info".into(),
                detail,
            })
    }

    /// Lists containers: running ones, or all; `filters` as `docker ps
    /// --filter` takes them.
    pub async fn list(
        &self,
        all: bool,
        filters: &[(String, String)],
    ) -> Result<Vec<ContainerRef>, EngineError> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in filters {
            map.entry(k.clone()).or_default().push(v.clone());
        }
        let options = ListContainersOptions {
            all,
            filters: (!map.is_empty()).then_some(map),
            ..ListContainersOptions::default()
        };
        let containers = self
            .client()
            .await?
            .list_containers(Some(options))
            .await
            .map_err(|e| api_error("the container list", e))?;
        Ok(containers
            .into_iter()
            .filter_map(|c| {
                let id = c.id?;
                let name = c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string();
                Some(ContainerRef { id, name })
            })
            .collect())
    }

    /// A container's inspect document; `None` if it is gone.
    pub async fn inspect(&self, id: &str) -> Result<Option<Value>, EngineError> {
        match self.client().await?.inspect_container(id, None).await {
            Ok(doc) => serde_json::to_value(&doc)
                .map(Some)
                .map_err(|e| EngineError::Api {
                    what: format!("inspect of {id}"),
                    detail: e.to_string(),
                }),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(api_error(&format!("inspect of {id}"), e)),
        }
    }

    /// An exec's privileges and user: `(privileged, user, container id)`.
    pub async fn exec(&self, id: &str) -> Result<Option<(bool, String, String)>, EngineError> {
        match self.client().await?.inspect_exec(id).await {
            Ok(exec) => {
                let process = exec.process_config.unwrap_or_default();
                Ok(Some((
                    process.privileged.unwrap_or(false),
                    process.user.unwrap_or_default(),
                    exec.container_id.unwrap_or_default(),
                )))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(api_error(&format!("inspect of exec {id}"), e)),
        }
    }

    /// Stops a container, killing it after `grace`.
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), EngineError> {
        let options = StopContainerOptions {
            t: Some(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX)),
            signal: None,
        };
        match self.client().await?.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(api_error(&format!("stopping {id}"), e)),
        }
    }

    /// Removes a container (killing it if it runs). Its volumes stay.
    pub async fn remove(&self, id: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptions {
            force: true,
            v: false,
            link: false,
        };
        match self
            .client()
            .await?
            .remove_container(id, Some(options))
            .await
        {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(api_error(&format!("removing {id}"), e)),
        }
    }

    /// Container lifecycle and exec events, from now on.
    pub async fn events(
        &self,
    ) -> Result<impl Stream<Item = Result<Event, EngineError>> + '_, EngineError> {
        let mut filters = HashMap::new();
        filters.insert("type".to_string(), vec!["container".to_string()]);
        let options = EventsOptions {
            filters: Some(filters),
            ..EventsOptions::default()
        };
        let stream = self.client().await?.events(Some(options));
        Ok(stream.filter_map(|item| async move {
            match item {
                Err(e) => Some(Err(api_error("the event stream", e))),
                Ok(message) => {
                    let action = message.action.unwrap_or_default();
                    let actor = message.actor.unwrap_or_default();
                    let container = actor.id.unwrap_or_default();
                    // Exec actions carry the command after a colon.
                    let action = action.split(':').next().unwrap_or_default().to_string();
                    let exec_id = actor.attributes.and_then(|a| a.get("execID").cloned());
                    Some(Ok(Event {
                        action,
                        container,
                        exec_id,
                        time_nano: message.time_nano.unwrap_or_default(),
                    }))
                }
            }
        }))
    }
}

/// An error and the errors that caused it, outermost first.
fn causes<'e>(
    err: &'e (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'e (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| e.source())
}

/// An error with its causes: bollard's own message ("client error
/// (Connect)") hides what the operator must fix.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    for cause in causes(err) {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause_text);
        }
    }
    text
}

/// Whether the socket refused us for our permissions.
fn denied(err: &(dyn std::error::Error + 'static)) -> bool {
    causes(err).any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
    }) || err
        .to_string()
        .to_ascii_lowercase()
        .contains("permission denied")
}
