//! One compose service, after loading, turned into the request `docker
//! compose up` sends for it, through the settings table.

use serde_json::{json, Map, Value as Json};

use dockgate_model::{
    At, LocalImage, NamespaceKind, NamespaceMode, Operation, Resolution, Workload,
};

use super::Project;
use crate::api_body::host_config::namespace_mode;
use crate::sources::settings::{apply, unset_key, Item, Shape, Surroundings, Written, SETTINGS};
use crate::sources::syntax::compose_bool;
use crate::sources::{Draft, InputError, Request, Target};
use crate::yaml::{Node, Pos, Value};

/// What a compose project knows of host paths: its directory, the home
/// directory Compose expands `~` to, and its top-level volumes, secrets
/// and configs.
struct ProjectPaths<'p> {
    project: &'p Project,
}

impl Surroundings for ProjectPaths<'_> {
    fn bind_source(&self, written: &str) -> Result<String, String> {
        Ok(super::host_path(
            written,
            &self.project.dir,
            &self.project.home,
        ))
    }

    fn read_profile(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(self.bind_source(path)?).map_err(|e| e.to_string())
    }

    fn file_of(&self, section: &str, name: &str) -> Option<String> {
        let def = self.project.root.get(section)?.get(name)?;
        def.get("file").and_then(Node::as_str).map(str::to_string)
    }

    fn named_volume(&self, name: &str) -> Option<(String, Map<String, Json>)> {
        let def = self.project.root.get("volumes")?.get(name)?;
        let driver = def
            .get("driver")
            .and_then(Node::as_str)
            .unwrap_or("local")
            .to_string();
        let options = def
            .get("driver_opts")?
            .entries()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap_or_default().to_string(),
                    json!(v.as_str().unwrap_or_default()),
                )
            })
            .collect();
        Some((driver, options))
    }
}

/// A value nested under dotted keys (`deploy.resources.limits.memory`).
fn nested<'n>(node: &'n Node, path: &str) -> Option<&'n Node> {
    path.split('.').try_fold(node, |n, key| n.get(key))
}

impl Project {
    fn bad(&self, node: &Node, message: impl Into<String>) -> InputError {
        InputError::at(self.location(node.pos), message)
    }

    /// The items a key's value holds, for a setting of `shape`: one for a
    /// single value, one per entry of a list or mapping.
    fn items<'n>(&self, shape: Shape, path: &str, node: &'n Node) -> Vec<Item<'n>> {
        let at = |n: &Node| self.location(n.pos);
        let one = |label: String| {
            vec![Item {
                written: Written::Yaml(node),
                label,
                at: at(node),
            }]
        };
        match shape {
            Shape::Text
            | Shape::Network
            | Shape::Bool
            | Shape::Bytes
            | Shape::Count
            | Shape::Gpus
            | Shape::ApiSocket => one(path.to_string()),
            Shape::Pairs | Shape::Env => match &node.value {
                Value::Map(entries) => entries
                    .iter()
                    .map(|(k, v)| {
                        let key = k.as_str().unwrap_or_default();
                        let text = match v.go_text() {
                            _ if v.is_null() => key.to_string(),
                            Some(value) => format!("{key}={value}"),
                            None => format!("{key}="),
                        };
                        Item {
                            written: Written::Word(text),
                            label: format!("{path}.{key}"),
                            at: at(k),
                        }
                    })
                    .collect(),
                _ => self.listed(path, node),
            },
            Shape::Tmpfs if node.as_str().is_some() => one(format!("{path}[0]")),
            _ => self.listed(path, node),
        }
    }

    fn listed<'n>(&self, path: &str, node: &'n Node) -> Vec<Item<'n>> {
        node.items()
            .iter()
            .enumerate()
            .map(|(i, item)| Item {
                written: Written::Yaml(item),
                label: format!("{path}[{i}]"),
                at: self.location(item.pos),
            })
            .collect()
    }

    /// The build a service asks for, when it has one whose options change
    /// what the build's steps get on the host: `build.network` (the
    /// network namespace of every `RUN`) and `build.privileged` (BuildKit's
    /// `security.insecure` entitlement). `docker compose build` sends it
    /// as its own request, so it is judged as one.
    pub(super) fn build(&self, name: &str, svc: &Node) -> Result<Option<Target>, InputError> {
        let Some(build) = svc.get("build") else {
            return Ok(None);
        };
        let mut workload = Workload::new(Operation::Build);
        let mut locations = std::collections::BTreeMap::new();
        if let Some(network) = build.get("network").and_then(Node::as_str) {
            let label = format!("services.{name}.build.network");
            let mode = namespace_mode(network);
            if mode != NamespaceMode::Default {
                workload
                    .namespaces
                    .push((NamespaceKind::Network, At::new(mode, label.clone())));
                locations.insert(label, self.location(build.pos));
            }
        }
        if let Some(privileged) = build.get("privileged") {
            let label = format!("services.{name}.build.privileged");
            let value = compose_bool(privileged)
                .map_err(|e| self.bad(privileged, format!("{label}: {e}")))?;
            workload.privileged = Some(At::new(value, label.clone()));
            locations.insert(label, self.location(privileged.pos));
        }
        if workload.namespaces.is_empty() && workload.privileged.is_none() {
            return Ok(None);
        }
        if let Some(image) = svc.get("image").and_then(Node::as_str) {
            workload.image = Some(At::new(image.to_string(), format!("services.{name}.image")));
        }
        Ok(Some(Target {
            name: format!("{name} (build)"),
            workload,
            locations,
            origin: self.location(build.pos),
        }))
    }

    /// The network a service joins first, by the name the project gives
    /// it, when the project names it: Compose sends that name as the
    /// container's `NetworkMode` (`defaultNetworkSettings`), so a network
    /// named `host` is the host's network.
    fn primary_network_name(
        &self,
        service: &str,
        svc: &Node,
    ) -> Option<(String, String, crate::sources::Location)> {
        let key = self.joined_networks(svc).into_iter().next()?;
        let def = self.root.get("networks")?.get(&key)?;
        let name = self.network_name(&key, def);
        // A name that is a user-defined network changes nothing the rules
        // judge; one the daemon reads as a mode (`host`, `none`,
        // `container:x`) does.
        if matches!(namespace_mode(&name), NamespaceMode::Other { .. }) {
            return None;
        }
        let label = format!("services.{service}.networks ({key}: name {name})");
        Some((label, name, self.location(def.pos)))
    }

    /// The networks a service joins, primary first: by `priority`
    /// (highest first, read as go-yaml reads a number), then by name; an
    /// empty or absent list is the `default` network.
    fn joined_networks(&self, svc: &Node) -> Vec<String> {
        if svc.get("network_mode").is_some() {
            return Vec::new();
        }
        let mut joined: Vec<(i64, String)> = match svc.get("networks") {
            None => Vec::new(),
            Some(networks) => match &networks.value {
                Value::Map(entries) => entries
                    .iter()
                    .filter_map(|(k, v)| {
                        let priority = v
                            .get("priority")
                            .and_then(Node::go_text)
                            .and_then(|p| p.parse::<f64>().ok())
                            .map(|p| p as i64);
                        Some((priority.unwrap_or(0), k.as_str()?.to_string()))
                    })
                    .collect(),
                _ => networks
                    .items()
                    .iter()
                    .filter_map(|n| Some((0, n.as_str()?.to_string())))
                    .collect(),
            },
        };
        if joined.is_empty() {
            joined.push((0, "default".to_string()));
        }
        joined.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        joined.into_iter().map(|(_, key)| key).collect()
    }

    /// The name the daemon knows a network by: its `name:`, the name in
    /// the old `external: {name: x}` form, the key itself for an external
    /// network, else the project's name and the key.
    fn network_name(&self, key: &str, def: &Node) -> String {
        if let Some(name) = def.get("name").and_then(Node::as_str) {
            return name.to_string();
        }
        match def.get("external") {
            Some(external) if external.get("name").is_some() => external.text("name"),
            Some(external) if compose_bool(external).unwrap_or(false) => key.to_string(),
            _ => format!("{}_{key}", self.name),
        }
    }

    /// The networks the project creates for the services that run: one
    /// `POST /networks/create` each, judged like the gate judges it.
    pub(super) fn networks(&self, running: &[&Node]) -> Result<Vec<Target>, InputError> {
        let Some(defined) = self.root.get("networks") else {
            return Ok(Vec::new());
        };
        let joined: Vec<String> = running
            .iter()
            .flat_map(|svc| self.joined_networks(svc))
            .collect();
        let mut targets = Vec::new();
        for (key, def) in defined.entries() {
            let Some(key_name) = key.as_str() else {
                continue;
            };
            let used = joined.iter().any(|k| k == key_name);
            let external = def
                .get("external")
                .is_some_and(|e| e.get("name").is_some() || compose_bool(e).unwrap_or(true));
            // Compose's own bridge networks are left out: only a driver or
            // options can give containers more of the host.
            let plain = matches!(def.text("driver").as_str(), "" | "bridge")
                && def
                    .get("driver_opts")
                    .is_none_or(|o| o.entries().is_empty());
            if !used || external || plain {
                continue;
            }
            let options: Map<String, Json> = def
                .get("driver_opts")
                .map(|o| {
                    o.entries()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().unwrap_or_default().to_string(),
                                json!(v.go_text().unwrap_or_default()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = json!({
                "Name": self.network_name(key_name, def),
                "Driver": def.text("driver"),
                "Options": options,
            });
            let mut workload = crate::api_body::network_create(body.to_string().as_bytes())
                .map_err(|e| self.bad(def, format!("networks.{key_name}: {e}")))?;
            let label = format!("networks.{key_name}");
            workload.rename_fields(|_| label.clone());
            let mut locations = std::collections::BTreeMap::new();
            locations.insert(label, self.location(key.pos));
            targets.push(Target {
                name: format!("network {key_name}"),
                workload,
                locations,
                origin: self.location(key.pos),
            });
        }
        Ok(targets)
    }

    /// The request for one service.
    pub(super) fn service(
        &self,
        name: &str,
        key_pos: Pos,
        svc: &Node,
    ) -> Result<Target, InputError> {
        let mut draft = Draft::default();
        let around = ProjectPaths { project: self };
        for setting in SETTINGS {
            for key in setting.compose {
                let Some(node) = nested(svc, key) else {
                    continue;
                };
                if node.is_null() {
                    continue;
                }
                let path = format!("services.{name}.{key}");
                for item in self.items(setting.shape, &path, node) {
                    apply(setting, item, &around, &mut draft)
                        .map_err(|message| self.bad(node, format!("{path}: {message}")))?;
                }
            }
        }
        if !draft.has(true, "NetworkMode") {
            if let Some((label, name, at)) = self.primary_network_name(name, svc) {
                draft.set(true, "NetworkMode", json!(name), label, at);
            }
        }
        let origin = self.location(key_pos);
        let mut target = draft
            .finish(
                Request::Create,
                name.to_string(),
                origin.clone(),
                |api| match unset_key(api) {
                    Some(key) => format!("services.{name}.{key}"),
                    None => format!("services.{name}"),
                },
            )
            .map_err(|e| InputError::at(origin, e.to_string()))?;
        if svc.get("build").is_some_and(|b| !b.is_null()) {
            // Compose builds the image here when it cannot pull it (or
            // always, with `pull_policy: build`): its name proves nothing
            // about its content, as the gate would see on the daemon.
            target.workload.image_local = Resolution::Known(LocalImage::default());
        }
        Ok(target)
    }
}
