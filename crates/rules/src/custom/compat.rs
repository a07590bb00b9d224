//! Policies written for opa-docker-authz, run unchanged: the same `input`
//! document (`Method`, `Path`, `PathPlain`, `PathArr`, `Query`, `Headers`,
//! `Body`, `User`, `AuthMethod`, `BindMounts`) and the same query
//! (`data.docker.authz.allow` unless configured), whose result must be
//! `true` for the request to go ahead.
//!
//! What differs is how the request is read: the gate gives the body and
//! path as the daemon reads them (see `dockgate_inputs::authz::compat`),
//! and `BindMounts` comes from the model, whose host paths are resolved as
//! the daemon resolves them, volumes that the `local` driver binds from a
//! host path included. A running container (scan, watch) and a compose
//! service (check) are judged as the create request that makes them,
//! synthesized from the model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dockgate_model::{
    Mount, MountKind, NamespaceKind, NamespaceMode, Operation, Resolution, VolumeBacking, Workload,
};
use serde_json::{json, Map, Value};

use super::{compile_error, one_line, rego_value, CustomHit};
use crate::policy::Action;

/// The query opa-docker-authz asks by default (its `-allowPath`).
pub const DEFAULT_QUERY: &str = "data.docker.authz.allow";

/// The API version in a synthesized create request's path.
const SYNTHESIZED_VERSION: &str = "1.45";

/// A request as the daemon received it and reads it, for policies that
/// judge requests rather than workloads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SentRequest {
    /// The HTTP method.
    pub method: String,
    /// The routed path with its API version, without the query.
    pub path: String,
    /// The decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The request headers, as forwarded.
    pub headers: BTreeMap<String, String>,
    /// The body as the daemon reads it; `null` without one.
    pub body: Value,
    /// The TLS user, and how the daemon authenticated them.
    pub user: String,
    /// `TLS`, or empty.
    pub auth_method: String,
}

impl SentRequest {
    /// The create request that makes `workload`, as the docker CLI or
    /// Compose would send it; with the headers and user of `by`, the
    /// request that reaches it, if any.
    fn synthesized(workload: &Workload, by: Option<&SentRequest>) -> SentRequest {
        let mut headers = by.map(|r| r.headers.clone()).unwrap_or_default();
        headers.retain(|k, _| {
            !k.eq_ignore_ascii_case("Content-Length") && !k.eq_ignore_ascii_case("Content-Type")
        });
        headers.insert("Content-Type".into(), "application/json".into());
        SentRequest {
            method: "POST".into(),
            path: format!("/v{SYNTHESIZED_VERSION}/containers/create"),
            query: workload
                .name
                .iter()
                .map(|n| ("name".to_string(), n.clone()))
                .collect(),
            headers,
            // The request the daemon holds for a container that exists;
            // else one made from the model.
            body: workload
                .create_request
                .as_deref()
                .cloned()
                .unwrap_or_else(|| create_body(workload)),
            user: by.map(|r| r.user.clone()).unwrap_or_default(),
            auth_method: by.map(|r| r.auth_method.clone()).unwrap_or_default(),
        }
    }

    /// The `input` document, with the bind mounts of `workload`.
    fn input(&self, workload: &Workload) -> Value {
        let mut query: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (key, value) in &self.query {
            query.entry(key).or_default().push(value);
        }
        json!({
            "Method": self.method,
            "Path": self.path,
            "PathPlain": self.path,
            "PathArr": self.path.split('/').collect::<Vec<_>>(),
            "Query": query,
            "Headers": self.headers,
            "Body": self.body,
            "User": self.user,
            "AuthMethod": self.auth_method,
            "BindMounts": bind_mounts(workload),
        })
    }
}

/// The `input` of a policy in opa-docker-authz's form: the request sent,
/// or without one the create request that makes `workload`, synthesized
/// from the model.
pub fn request_input(workload: &Workload, sent: Option<&SentRequest>) -> Value {
    match sent {
        Some(sent) => sent.input(workload),
        None => SentRequest::synthesized(workload, None).input(workload),
    }
}

/// What `BindMounts` lists: every mount that shows the container a host
/// path. `Source` is the path as given, `Resolved` the host path it
/// reaches (symbolic links resolved where the host could be seen).
fn bind_mounts(workload: &Workload) -> Vec<Value> {
    let mount = |source: &str, resolved: &str, m: &Mount| json!({"Source": source, "ReadOnly": m.read_only, "Resolved": resolved});
    workload
        .mounts
        .iter()
        .filter_map(|m| match &m.kind {
            MountKind::Bind {
                host_path,
                real_path,
            } => Some(mount(
                host_path,
                real_path.as_deref().unwrap_or(host_path),
                m,
            )),
            MountKind::Volume {
                backing: Resolution::Known(VolumeBacking::HostPath(path)),
                ..
            } => Some(mount(path, path, m)),
            MountKind::UnresolvedBind { written, .. } => Some(mount(written, "", m)),
            _ => None,
        })
        .collect()
}

/// The body of the create request that makes `workload`, in the daemon's
/// field names. Only what the model knows is there: what a container gets
/// from the host, its image, user, environment and labels.
fn create_body(w: &Workload) -> Value {
    let mut config = Map::new();
    let mut host = Map::new();
    if let Some(image) = &w.image {
        config.insert("Image".into(), json!(image.value));
    }
    config.insert("User".into(), json!(w.user.requested.value));
    let env: Vec<String> = w
        .env
        .iter()
        .map(|e| match &e.value {
            Some(value) => format!("{}={value}", e.name),
            None => e.name.clone(),
        })
        .collect();
    config.insert("Env".into(), json!(env));
    config.insert("Labels".into(), pairs(&w.labels));
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    let mut volumes = Map::new();
    let mut tmpfs = Map::new();
    for m in w.mounts.iter().filter(|m| m.via.is_none()) {
        let suffix = || {
            let mut options = Vec::new();
            if m.read_only {
                options.push("ro");
            }
            if let Some(propagation) = &m.propagation {
                options.push(propagation.as_str());
            }
            if options.is_empty() {
                String::new()
            } else {
                format!(":{}", options.join(","))
            }
        };
        match &m.kind {
            MountKind::Bind { host_path, .. } => {
                binds.push(format!("{host_path}:{}{}", m.target, suffix()));
            }
            MountKind::UnresolvedBind { written, .. } => {
                binds.push(format!("{written}:{}{}", m.target, suffix()));
            }
            MountKind::Volume { name, .. } if name.is_empty() => {
                volumes.insert(m.target.clone(), json!({}));
            }
            MountKind::Volume { name, driver, .. } => {
                let mut mount = json!({
                    "Type": "volume", "Source": name, "Target": m.target, "ReadOnly": m.read_only,
                });
                if let Some(driver) = driver {
                    mount["VolumeOptions"] = json!({"DriverConfig": {"Name": driver}});
                }
                mounts.push(mount);
            }
            MountKind::Tmpfs => {
                tmpfs.insert(m.target.clone(), json!(""));
            }
            MountKind::Other { kind } => {
                mounts.push(json!({"Type": kind, "Target": m.target, "ReadOnly": m.read_only}));
            }
        }
    }
    config.insert("Volumes".into(), Value::Object(volumes));
    host.insert("Binds".into(), json!(binds));
    host.insert("Mounts".into(), json!(mounts));
    host.insert("Tmpfs".into(), Value::Object(tmpfs));
    host.insert("Privileged".into(), json!(w.is_privileged()));
    let names = |list: &[dockgate_model::At<String>]| -> Vec<String> {
        list.iter().map(|c| c.value.clone()).collect()
    };
    host.insert("CapAdd".into(), json!(names(&w.cap_add)));
    host.insert("CapDrop".into(), json!(names(&w.cap_drop)));
    host.insert("VolumesFrom".into(), json!(names(&w.volumes_from)));
    host.insert(
        "DeviceCgroupRules".into(),
        json!(names(&w.device_cgroup_rules)),
    );
    let devices: Vec<Value> = w
        .devices
        .iter()
        .map(|d| {
            json!({"PathOnHost": d.host, "PathInContainer": d.container, "CgroupPermissions": "rwm"})
        })
        .collect();
    host.insert("Devices".into(), json!(devices));
    for kind in NamespaceKind::ALL {
        let mode = match w.namespace(kind).map(|m| &m.value) {
            None | Some(NamespaceMode::Default) => String::new(),
            Some(NamespaceMode::Host) => "host".into(),
            Some(NamespaceMode::Container { target, .. }) => format!("container:{target}"),
            Some(NamespaceMode::ServiceNetwork { target, .. }) => target.clone(),
            Some(NamespaceMode::Other { value }) => value.clone(),
        };
        host.insert(kind.api_field().into(), json!(mode));
    }
    let s = &w.security;
    let mut security = Vec::new();
    if s.seccomp_unconfined.is_some() {
        security.push("seccomp=unconfined".to_string());
    }
    if s.apparmor_unconfined.is_some() {
        security.push("apparmor=unconfined".to_string());
    }
    if let Some(profile) = &s.apparmor_profile {
        security.push(format!("apparmor={}", profile.value));
    }
    if s.selinux_disabled.is_some() {
        security.push("label=disable".to_string());
    }
    if s.unmasked_paths.is_some() {
        security.push("systempaths=unconfined".to_string());
    }
    if s.no_new_privileges {
        security.push("no-new-privileges=true".to_string());
    }
    host.insert("SecurityOpt".into(), json!(security));
    host.insert("Sysctls".into(), pairs(&w.sysctls));
    host.insert("Annotations".into(), pairs(&w.annotations));
    let mut ports: Map<String, Value> = Map::new();
    for p in &w.ports {
        let binding = json!({"HostIp": p.host_ip, "HostPort": p.host_port});
        match ports.get_mut(&p.container_port) {
            Some(Value::Array(bindings)) => bindings.push(binding),
            _ => {
                ports.insert(p.container_port.clone(), json!([binding]));
            }
        }
    }
    let exposed: Map<String, Value> = ports.keys().map(|k| (k.clone(), json!({}))).collect();
    config.insert("ExposedPorts".into(), Value::Object(exposed));
    host.insert("PortBindings".into(), Value::Object(ports));
    let flag = |f: &Option<dockgate_model::At<bool>>| f.as_ref().is_some_and(|f| f.value);
    host.insert("PublishAllPorts".into(), json!(flag(&w.publish_all)));
    host.insert("ReadonlyRootfs".into(), json!(flag(&w.read_only_rootfs)));
    let text = |t: &Option<dockgate_model::At<String>>| {
        t.as_ref().map(|t| t.value.clone()).unwrap_or_default()
    };
    host.insert("Runtime".into(), json!(text(&w.runtime)));
    host.insert("CgroupParent".into(), json!(text(&w.cgroup_parent)));
    host.insert(
        "RestartPolicy".into(),
        json!({"Name": text(&w.restart_policy), "MaximumRetryCount": 0}),
    );
    let limit = |l: &Option<dockgate_model::At<i64>>| l.as_ref().map_or(0, |l| l.value);
    host.insert("Memory".into(), json!(limit(&w.limits.memory)));
    host.insert(
        "PidsLimit".into(),
        w.limits
            .pids
            .as_ref()
            .map_or(Value::Null, |l| json!(l.value)),
    );
    config.insert("HostConfig".into(), Value::Object(host));
    let endpoints: Map<String, Value> = w
        .networks
        .iter()
        .map(|n| (n.value.network.clone(), json!({})))
        .collect();
    config.insert(
        "NetworkingConfig".into(),
        json!({"EndpointsConfig": endpoints}),
    );
    Value::Object(config)
}

fn pairs(list: &[dockgate_model::At<(String, String)>]) -> Value {
    Value::Object(
        list.iter()
            .map(|p| (p.value.0.clone(), json!(p.value.1)))
            .collect(),
    )
}

/// A policy in opa-docker-authz's form, compiled.
#[derive(Clone)]
pub(crate) struct CompatPolicy {
    /// `custom/` and the query's path: `custom/docker/authz/allow`.
    pub id: Arc<str>,
    /// The query, as configured.
    pub query: String,
    runner: super::runner::Runner,
}

impl CompatPolicy {
    /// Compiles the files for `query`. Rego v1 first, as OPA 1.x reads
    /// files; a file written for OPA 0.x (opa-docker-authz up to 0.8)
    /// that v1 refuses is read as v0, so that either runs unchanged.
    pub fn load(
        files: &[(PathBuf, String)],
        query: &str,
        limit: regorus::utils::limits::ExecutionTimerConfig,
    ) -> Result<CompatPolicy, String> {
        let path = query
            .strip_prefix("data.")
            .filter(|p| {
                !p.is_empty()
                    && p.split('.').all(|part| {
                        !part.is_empty()
                            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
            })
            .ok_or_else(|| {
                format!("query {query:?}: give a rule's path, data.PACKAGE.RULE (data.docker.authz.allow)")
            })?;
        let mut engine = regorus::Engine::new();
        engine.set_execution_timer_config(limit);
        for (file, text) in files {
            let name = file.display().to_string();
            engine.set_rego_v0(false);
            if let Err(v1) = engine.add_policy(name.clone(), text.clone()) {
                engine.set_rego_v0(true);
                engine.add_policy(name, text.clone()).map_err(|v0| {
                    format!(
                        "{} (read as Rego v0: {})",
                        compile_error(&v1.to_string()),
                        compile_error(&v0.to_string())
                    )
                })?;
            }
        }
        let compiled = engine
            .compile_with_entrypoint(&query.into())
            .map_err(|e| format!("query {query:?}: {}", one_line(&e.to_string())))?;
        Ok(CompatPolicy {
            id: format!("custom/{}", path.replace('.', "/")).into(),
            query: query.to_string(),
            runner: super::runner::Runner::new(vec![(query.to_string(), compiled)], limit),
        })
    }

    /// Judges the request, or the create request that makes a container
    /// workload (with no request, or one that reaches the container).
    /// Other workloads without a request (an image a scan lists) are not
    /// requests: nothing to judge.
    pub fn evaluate(&self, workload: &Workload, requester: &crate::Requester) -> Option<CustomHit> {
        let synthesized;
        let sent = match requester.request.as_deref() {
            Some(sent) if !requester.reaching => sent,
            by if workload.operation == Operation::Container => {
                synthesized = SentRequest::synthesized(workload, by);
                &synthesized
            }
            _ => return None,
        };
        let input = sent.input(workload);
        let hit = |message: String, failed: bool| CustomHit {
            rule: self.id.clone(),
            action: Action::Deny,
            message,
            fix: None,
            failed,
        };
        let value = match rego_value(&input) {
            Ok(value) => value,
            Err(err) => {
                return Some(super::failure(
                    &self.id,
                    &format!("the input could not be built: {err}"),
                ))
            }
        };
        let result = self
            .runner
            .run(&value)
            .pop()
            .unwrap_or(Ok(regorus::Value::Undefined));
        match result {
            Ok(regorus::Value::Bool(true)) => None,
            Ok(regorus::Value::Bool(false) | regorus::Value::Undefined) => Some(hit(
                format!(
                    "{} {} rejected by administrative policy ({} is not true)",
                    sent.method, sent.path, self.query
                ),
                false,
            )),
            Ok(other) => Some(super::failure(
                &self.id,
                &format!(
                    "administrative policy decision invalid: {} is {}, not a boolean",
                    self.query,
                    other.to_json_str().unwrap_or_default()
                ),
            )),
            Err(err) => Some(super::failure(&self.id, &err)),
        }
    }
}

/// The files of a policy in opa-docker-authz's form, read.
pub(crate) fn read_files(
    patterns: &[String],
    base: Option<&Path>,
) -> Result<Vec<(PathBuf, String)>, String> {
    let mut read = Vec::new();
    for file in super::files(patterns, base)? {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        read.push((file, text));
    }
    Ok(read)
}
