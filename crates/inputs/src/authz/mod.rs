//! The AuthZ plugin protocol's request, read the way the daemon reads the
//! call it describes.

pub mod compat;
pub mod routes;
pub mod uri;
mod wire;

pub use wire::{AuthzRequest, AuthzResponse, AuthzResponseCall, PLUGIN_JSON};

use dockgate_model::{
    ApiCall, At, CallKind, EndpointFamily, NamespaceKind, NamespaceMode, Operation, Target,
    Workload,
};

use crate::api_body;
use crate::gojson::GoJsonError;
use routes::{match_route, Endpoint, Matched};
use uri::{parse_request_uri, ApiPath, UriError};

/// The body size above which daemons up to 26.x silently stop forwarding a
/// body to plugins (`pkg/authorization` `maxBodySize`); newer ones reject
/// bodies over 4 MiB outright.
pub const DAEMON_BODY_LIMIT: u64 = 1 << 20;

/// A container the daemon has just created: its ID, the name it was given,
/// and the workload as the create request described it.
pub fn created_container(call: &AuthzResponseCall) -> Option<(String, Option<String>, Workload)> {
    if !(200..300).contains(&call.status) {
        return None;
    }
    let read = read_request(&call.request).ok()?;
    if read.route.as_ref()?.route.endpoint != Endpoint::ContainerCreate {
        return None;
    }
    created_as(call, read.workload)
}

/// [`created_container`] for a response call whose request is known to be
/// a container create that reads as `workload`: only the response is read.
pub fn created_as(
    call: &AuthzResponseCall,
    workload: Workload,
) -> Option<(String, Option<String>, Workload)> {
    if !(200..300).contains(&call.status) {
        return None;
    }
    let response: serde_json::Value = serde_json::from_slice(call.body.as_deref()?).ok()?;
    let id = response.get("Id")?.as_str()?;
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((id.to_string(), workload.name.clone(), workload))
}

/// Whether two calls describe the same request: everything
/// [`read_request`] reads is equal, so both read alike.
pub fn same_request(a: &AuthzRequest, b: &AuthzRequest) -> bool {
    a.method == b.method && a.uri == b.uri && a.body == b.body && a.headers == b.headers
}

/// Why a request cannot be judged. Every one of these is a denial.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The request target could not be read.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The body is needed but the daemon did not forward it.
    #[error("the daemon did not forward the body of {endpoint} to the plugin ({reason}), so dockgate cannot see what it asks for")]
    BodyMissing {
        /// The endpoint name.
        endpoint: &'static str,
        /// Why it was not forwarded.
        reason: String,
    },
    /// The body could not be decoded the way the daemon decodes it.
    #[error("{endpoint}: {source}")]
    Body {
        /// The endpoint name.
        endpoint: &'static str,
        /// The decoding problem.
        source: GoJsonError,
    },
    /// Parameters that the daemon reads from a form-encoded body, which
    /// plugins never see.
    #[error("{endpoint} sent as a form (Content-Type {content_type:?}): the daemon reads its parameters from the body, which it does not forward to plugins")]
    FormBody {
        /// The endpoint name.
        endpoint: &'static str,
        /// The content type given.
        content_type: String,
    },
}

/// A request read as the daemon reads it, and what it asks for.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// The request path as the router sees it.
    pub path: ApiPath,
    /// The matched route, if any.
    pub route: Option<Matched>,
    /// What the request asks for, described by the model.
    pub workload: Workload,
    /// Whether the request changes anything (false for GET, HEAD).
    pub mutating: bool,
    /// A container this request starts as it was created: the workload must
    /// be read from the daemon's description of it.
    pub starts_existing: Option<String>,
    /// A container this request reaches into (exec, copy, attach): whatever
    /// that container breaks, the request gets too.
    pub enters_existing: Option<String>,
    /// An exec instance this request runs: judged by what it was created
    /// with, and by its container.
    pub starts_exec: Option<String>,
    /// A swarm service this request updates, and whether it rolls it back
    /// (`?rollback=previous`, which ignores the body): the stored specs are
    /// judged too, as a rollback (asked for, or automatic on a failed
    /// update) restores them.
    pub updates_service: Option<(String, bool)>,
}

impl ReadRequest {
    /// The endpoint name for logs: the route name, or the path when unknown.
    pub fn endpoint_name(&self) -> String {
        match &self.route {
            Some(m) => m.route.name.to_string(),
            None => self.path.path.clone(),
        }
    }

    /// The first path variable of the route (container, image or plugin name).
    pub fn target(&self) -> Option<&str> {
        self.route
            .as_ref()
            .and_then(|m| m.vars.first())
            .map(String::as_str)
    }
}

/// Segments every `ContainerAccess` route ends in (a test holds the route
/// table to this list).
const ACCESS_SEGMENTS: [&str; 4] = ["/archive", "/attach", "/copy", "/rename"];

/// Whether a request that changes nothing still needs daemon look-ups: a
/// copy out of a container or an attach is judged by what the container
/// has. Cheap (no body is read), for choosing a concurrency budget.
pub fn reads_existing_container(req: &AuthzRequest) -> bool {
    // Every GET passes here before it is read: only a target that names
    // one of these routes, or hides its path behind escapes, is parsed
    // twice. (Cleaning a path never makes these segments appear.)
    let uri = req.uri.as_str();
    if !(ACCESS_SEGMENTS.iter().any(|s| uri.contains(s)) || uri.contains('%')) {
        return false;
    }
    let Ok(path) = parse_request_uri(uri) else {
        return false;
    };
    match_route(&req.method.to_ascii_uppercase(), &path.path)
        .is_some_and(|m| m.route.endpoint == Endpoint::ContainerAccess)
}

/// Reads an AuthZ request into the model.
pub fn read_request(req: &AuthzRequest) -> Result<ReadRequest, ReadError> {
    let path = parse_request_uri(&req.uri)?;
    let method = req.method.to_ascii_uppercase();
    let route = match_route(&method, &path.path);
    let mutating = !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
    let family = match &route {
        // Without fromImage the daemon imports (moby postImagesCreate):
        // an image made from any tarball, under any tag.
        Some(m)
            if m.route.name == "image.create"
                && path.query_value("fromImage").unwrap_or_default().is_empty() =>
        {
            EndpointFamily::Build
        }
        Some(m) => m.route.family,
        None => EndpointFamily::Admin,
    };
    let (endpoint, kind, name) = match &route {
        Some(m) => (
            m.route.endpoint,
            match m.route.endpoint {
                Endpoint::PluginManagement => CallKind::PluginManagement,
                Endpoint::SwarmMembership => CallKind::SwarmMembership,
                Endpoint::BuildKit => CallKind::BuildKit,
                Endpoint::ContainerAccess if m.route.name == "container.archive-put" => {
                    CallKind::CopyIn
                }
                _ => CallKind::Known,
            },
            m.route.name.to_string(),
        ),
        None => (Endpoint::Plain, CallKind::Unknown, path.path.clone()),
    };
    // Go's `ParseForm` reads the form-encoded body of a POST, PUT or PATCH,
    // and its values win over the query's: every endpoint that reads
    // `r.Form` (rename, kill, prune, commit...) takes them, from a body the
    // daemon never forwards to plugins. An empty one carries nothing.
    let length = req
        .header("Content-Length")
        .and_then(|l| l.trim().parse::<u64>().ok());
    if matches!(method.as_str(), "POST" | "PUT" | "PATCH") && length != Some(0) {
        no_form_body(req, route.as_ref().map_or("unknown", |m| m.route.name))?;
    }
    let mut workload = describe(req, &path, route.as_ref(), endpoint)?;
    // A start runs the container as it was stored, which may have been
    // before the gate was installed, or while it only warned; a HostConfig
    // the daemon reads from the body (API < 1.24) is applied on top of it.
    let starts_existing = (endpoint == Endpoint::ContainerStart)
        .then(|| workload.name.clone())
        .flatten();
    let enters_existing = match endpoint {
        Endpoint::ContainerAccess => workload.name.clone(),
        Endpoint::ExecCreate => workload.name.clone(),
        // The daemon will start it again by itself, unjudged.
        Endpoint::ContainerUpdate if workload.restart_policy.is_some() => workload.name.clone(),
        _ => None,
    };
    if workload.operation == Operation::Service
        && workload
            .runtime
            .as_ref()
            .is_some_and(|r| r.value == "plugin")
    {
        // A service with a plugin runtime installs a plugin on every node.
        workload.call = Some(ApiCall {
            method: method.clone(),
            endpoint: name.clone(),
            kind: CallKind::PluginManagement,
            family: EndpointFamily::Admin,
        });
    } else {
        workload.call = Some(ApiCall {
            method,
            endpoint: name,
            kind,
            family,
        });
    }
    workload
        .targets
        .extend(targets(route.as_ref(), &path, &workload));
    let starts_exec = (endpoint == Endpoint::ExecStart)
        .then(|| workload.name.clone())
        .flatten();
    let updates_service = (endpoint == Endpoint::ServiceUpdate)
        .then(|| route.as_ref().and_then(|m| m.vars.first().cloned()))
        .flatten()
        .map(|id| (id, path.query_value("rollback") == Some("previous")));
    Ok(ReadRequest {
        path,
        route,
        workload,
        mutating,
        starts_existing,
        enters_existing,
        starts_exec,
        updates_service,
    })
}

/// The containers whose namespaces a container joins (`--network
/// container:X` and the like): the daemon looks a network join up again
/// at every start, so a start is judged by them too.
pub fn namespace_joins(workload: &Workload) -> Vec<At<Target>> {
    workload
        .namespaces
        .iter()
        .filter_map(|(_, mode)| match &mode.value {
            NamespaceMode::Container { target, .. } => Some(At::new(
                Target::named(target.clone(), "join"),
                mode.field.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// The existing containers a request acts on, with what it does to each:
/// the container its path names, the one a commit reads (`?container=`),
/// those whose volumes or namespaces a new container takes. An exec
/// instance's container is known only to the daemon (the gate asks).
fn targets(route: Option<&Matched>, path: &ApiPath, workload: &Workload) -> Vec<At<Target>> {
    let mut found = Vec::new();
    if let Some(m) = route {
        let named = m.route.pattern.starts_with("/containers/{name");
        let reference = match m.route.name {
            "container.commit" => path.query_value("container").map(str::to_string),
            _ if named => m.vars.first().cloned(),
            _ => None,
        };
        if let Some(reference) = reference.filter(|r| !r.is_empty()) {
            let field = if named { "path" } else { "query container" };
            found.push(At::new(
                Target::named(reference, target_action(m.route.name)),
                field,
            ));
        }
    }
    for source in &workload.volumes_from {
        // `NAME:ro`: the daemon strips the mode.
        let name = source.value.split(':').next().unwrap_or_default();
        found.push(At::new(
            Target::named(name, "volumes-from"),
            source.field.clone(),
        ));
    }
    for link in &workload.links {
        // `NAME:ALIAS`; the daemon finds NAME with or without its slash.
        let name = link.value.split(':').next().unwrap_or_default();
        let name = name.trim_start_matches('/');
        found.push(At::new(Target::named(name, "link"), link.field.clone()));
    }
    found.extend(namespace_joins(workload));
    found
}

/// What a route does to the container it names, as roles grant it.
fn target_action(route: &str) -> &'static str {
    let verb = route.split_once('.').map_or(route, |(_, verb)| verb);
    match (route, verb) {
        ("container.commit", _) => "commit",
        (_, "archive-get" | "archive-head" | "archive-put" | "copy") => "cp",
        (_, "attach" | "attach-ws") => "attach",
        (_, "exec") => "exec",
        (_, "delete") => "rm",
        (_, "unpause") => "pause",
        (_, "logs-clear") => "logs",
        (r, _) if r.starts_with("checkpoint.") => "checkpoint",
        (_, verb) => Target::ACTIONS
            .iter()
            .find(|a| **a == verb)
            .copied()
            // A container route with no action of its own: granted with
            // the broadest one, removal.
            .unwrap_or("rm"),
    }
}

fn media_type(req: &AuthzRequest) -> String {
    req.header("Content-Type")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Explains why the daemon did not forward a body, from the headers it did
/// forward.
fn missing_body_reason(req: &AuthzRequest) -> String {
    let length = req
        .header("Content-Length")
        .and_then(|l| l.trim().parse::<u64>().ok());
    let content_type = req.header("Content-Type").unwrap_or_default();
    match length {
        None => "the body was sent without a Content-Length, e.g. chunked (CVE-2024-41110)".into(),
        Some(0) => "the body is empty".into(),
        Some(n) if n >= DAEMON_BODY_LIMIT => {
            format!("the body is {n} bytes, over the daemon's {DAEMON_BODY_LIMIT}-byte forwarding limit")
        }
        Some(_) if content_type != "application/json" => format!(
            "the Content-Type is {content_type:?}; daemons forward only an exact \"application/json\""
        ),
        Some(_) => "the URI ends in \"/auth\", or the daemon withheld it".into(),
    }
}

/// The body of an endpoint that cannot be judged without it. A missing body
/// is a denial: unpatched daemons do not forward chunked bodies or bodies
/// declared with `Content-Length: 0` (CVE-2024-41110), bodies over 1 MiB,
/// or bodies whose Content-Type is not exactly `application/json`, yet
/// still act on them.
fn body<'r>(req: &'r AuthzRequest, endpoint: &'static str) -> Result<&'r [u8], ReadError> {
    match &req.body {
        Some(b) if !b.is_empty() => Ok(b),
        _ => Err(ReadError::BodyMissing {
            endpoint,
            reason: missing_body_reason(req),
        }),
    }
}

fn decoded<T>(endpoint: &'static str, result: Result<T, GoJsonError>) -> Result<T, ReadError> {
    result.map_err(|source| ReadError::Body { endpoint, source })
}

fn no_form_body(req: &AuthzRequest, endpoint: &'static str) -> Result<(), ReadError> {
    let media = media_type(req);
    if media == "application/x-www-form-urlencoded" {
        return Err(ReadError::FormBody {
            endpoint,
            content_type: req.header("Content-Type").unwrap_or_default().to_string(),
        });
    }
    Ok(())
}

fn describe(
    req: &AuthzRequest,
    path: &ApiPath,
    route: Option<&Matched>,
    endpoint: Endpoint,
) -> Result<Workload, ReadError> {
    let name = route.map(|m| m.route.name).unwrap_or("unknown");
    let target = route.and_then(|m| m.vars.first()).cloned();
    let mut workload = match endpoint {
        Endpoint::ContainerCreate => {
            let mut w = decoded(name, api_body::container_create(body(req, name)?))?;
            w.name = path.query_value("name").map(str::to_string);
            w
        }
        Endpoint::ContainerStart => start(req, path, name)?,
        Endpoint::ContainerUpdate => decoded(name, api_body::container_update(body(req, name)?))?,
        Endpoint::ExecCreate => decoded(name, api_body::exec_create(body(req, name)?))?,
        Endpoint::VolumeCreate => decoded(name, api_body::volume_create(body(req, name)?))?,
        Endpoint::NetworkCreate => decoded(name, api_body::network_create(body(req, name)?))?,
        // Judged by the network: the path's, or the body's NetworkID.
        Endpoint::NetworkConnect => decoded(
            name,
            api_body::network_connect(target.as_deref().unwrap_or_default(), body(req, name)?),
        )?,
        Endpoint::NetworkDisconnect => decoded(
            name,
            api_body::network_disconnect(target.as_deref().unwrap_or_default(), body(req, name)?),
        )?,
        Endpoint::ServiceCreate | Endpoint::ServiceUpdate => {
            decoded(name, api_body::service_spec(body(req, name)?))?
        }
        Endpoint::Build => {
            no_form_body(req, name)?;
            build(path)
        }
        Endpoint::ImageCreate => {
            no_form_body(req, name)?;
            image_create(path)
        }
        Endpoint::ImageTag => {
            no_form_body(req, name)?;
            let mut w = Workload::new(Operation::Image);
            w.image = target.clone().map(|t| At::new(t, "path"));
            w
        }
        Endpoint::VolumeUpdate
        | Endpoint::ExecStart
        | Endpoint::PluginManagement
        | Endpoint::SwarmMembership
        | Endpoint::BuildKit
        | Endpoint::ContainerAccess
        | Endpoint::Plain => Workload::new(Operation::Other),
    };
    if workload.name.is_none() {
        workload.name = target;
    }
    Ok(workload)
}

/// What the daemon takes from a start or restart body (moby
/// `postContainersStart`, 20.10 and 26.1): a restart never reads its body;
/// a start reads it only when `r.ContentLength` is over 7 bytes or unknown
/// (`-1`, chunked), and then refuses it from API 1.24 on (26.1 at every
/// version). So only a start below API 1.24 with such a body changes the
/// container; any other body is ignored and the stored container is what
/// runs. An operation of `Container` means the body's HostConfig applies.
fn start(req: &AuthzRequest, path: &ApiPath, name: &'static str) -> Result<Workload, ReadError> {
    if name == "container.restart" || !path.version_below(1, 24) {
        return Ok(Workload::new(Operation::Other));
    }
    // Go's server hides Transfer-Encoding from the headers it forwards: a
    // missing Content-Length is either no body or a chunked one (-1).
    let length = req
        .header("Content-Length")
        .and_then(|l| l.trim().parse::<u64>().ok());
    if length.is_some_and(|n| n <= 7) {
        return Ok(Workload::new(Operation::Other));
    }
    match req.body.as_deref().filter(|b| !b.is_empty()) {
        Some(body) => decoded(name, api_body::container_start(body)),
        None => Err(ReadError::BodyMissing {
            endpoint: name,
            reason: missing_body_reason(req),
        }),
    }
}

/// `POST /build` query options that change what the build's containers get.
fn build(path: &ApiPath) -> Workload {
    let mut workload = Workload::new(Operation::Build);
    if let Some(mode) = path.query_value("networkmode") {
        let mode = api_body::host_config::namespace_mode(mode);
        if mode != dockgate_model::NamespaceMode::Default {
            workload
                .namespaces
                .push((NamespaceKind::Network, At::new(mode, "query networkmode")));
        }
    }
    if let Some(parent) = path.query_value("cgroupparent").filter(|p| !p.is_empty()) {
        workload.cgroup_parent = Some(At::new(parent.to_string(), "query cgroupparent"));
    }
    workload
}

/// `POST /images/create`: a pull names `fromImage` (and maybe `tag`); an
/// import names the new `repo`.
fn image_create(path: &ApiPath) -> Workload {
    let mut workload = Workload::new(Operation::Image);
    let (image, field) = match path.query_value("fromImage").filter(|i| !i.is_empty()) {
        Some(image) => (image, "query fromImage"),
        None => match path.query_value("repo").filter(|r| !r.is_empty()) {
            Some(repo) => (repo, "query repo"),
            None => return workload,
        },
    };
    let reference = match path.query_value("tag").filter(|t| !t.is_empty()) {
        Some(tag) if tag.starts_with("sha256:") => format!("{image}@{tag}"),
        Some(tag) => format!("{image}:{tag}"),
        None => image.to_string(),
    };
    workload.image = Some(At::new(reference, field));
    workload
}

#[cfg(test)]
mod tests;
