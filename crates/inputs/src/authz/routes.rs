//! The daemon's route table, in the daemon's own order.
//!
//! Taken from moby's `api/server/router/*` (20.10 through the newest API):
//! routers are registered checkpoint, container, image, system, volume,
//! build, session, swarm, plugin, distribution, grpc, network, and the first
//! route that matches wins. `{name:.*}` matches any string, slashes
//! included, so `/containers/a/b/start` is a start of container `a/b`.

/// What dockgate does with a request to an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /containers/create`.
    ContainerCreate,
    /// `POST /containers/{name}/start` (honours a HostConfig body before API
    /// 1.24), and `restart`, which starts a stopped container too.
    ContainerStart,
    /// `POST /containers/{name}/update`.
    ContainerUpdate,
    /// `POST /containers/{name}/exec`.
    ExecCreate,
    /// `POST /exec/{id}/start`: runs an exec instance created earlier,
    /// perhaps before the gate enforced anything.
    ExecStart,
    /// Reaching into a container that exists: copying files in or out
    /// (`archive`, and the legacy `copy`), attaching to its console. What it reaches is what the
    /// container was given, bind mounts of the host included. Also
    /// `rename`: a container that breaks the policy must not take the name
    /// of one the gate judged before (a start decided on the name would
    /// then start the other container).
    ContainerAccess,
    /// `POST /volumes/create`.
    VolumeCreate,
    /// `POST /networks/create`.
    NetworkCreate,
    /// `POST /networks/{id}/connect`: attaches a container to a network.
    NetworkConnect,
    /// `POST /networks/{id}/disconnect`: takes a container off a network
    /// (judged by the container's owner).
    NetworkDisconnect,
    /// `PUT /volumes/{name}` (cluster volumes).
    VolumeUpdate,
    /// `POST /services/create`.
    ServiceCreate,
    /// `POST /services/{id}/update`.
    ServiceUpdate,
    /// `POST /build`.
    Build,
    /// `POST /images/create`: pull, or import with `fromSrc`.
    ImageCreate,
    /// `POST /images/{name}/tag`.
    ImageTag,
    /// Any plugin install, change or removal.
    PluginManagement,
    /// Swarm membership: creating or joining a swarm, reading or rotating
    /// its join tokens and unlock key, changing a node's role. Managers
    /// start tasks on every node without a call to that node's API.
    SwarmMembership,
    /// BuildKit's channels (`/grpc`, `/session`): build steps travel inside
    /// a hijacked HTTP/2 stream that the plugin never sees.
    BuildKit,
    /// Any other known route; judged by the method only.
    Plain,
}

/// One route of the daemon.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// The path template, as moby writes it.
    pub pattern: &'static str,
    /// A stable name for audit records and metrics, e.g. `container.create`.
    pub name: &'static str,
    /// How dockgate handles it.
    pub endpoint: Endpoint,
    /// The family a role must be granted to call it.
    pub family: F,
}

const fn r(
    method: &'static str,
    pattern: &'static str,
    name: &'static str,
    endpoint: Endpoint,
    family: F,
) -> Route {
    Route {
        method,
        pattern,
        name,
        endpoint,
        family,
    }
}

use dockgate_model::EndpointFamily as F;
use Endpoint::*;

/// Every route, first match wins.
pub const ROUTES: &[Route] = &[
    // checkpoint (registered first so its DELETE is not masked)
    r(
        "GET",
        "/containers/{name:.*}/checkpoints",
        "checkpoint.list",
        Plain,
        F::ReadOnly,
    ),
    r(
        "POST",
        "/containers/{name:.*}/checkpoints",
        "checkpoint.create",
        Plain,
        F::Operate,
    ),
    r(
        "DELETE",
        "/containers/{name}/checkpoints/{checkpoint}",
        "checkpoint.delete",
        Plain,
        F::Operate,
    ),
    // container
    r(
        "HEAD",
        "/containers/{name:.*}/archive",
        "container.archive-head",
        ContainerAccess,
        F::Operate,
    ),
    r(
        "GET",
        "/containers/json",
        "container.list",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/containers/{name:.*}/export",
        "container.export",
        Plain,
        F::Operate,
    ),
    r(
        "GET",
        "/containers/{name:.*}/changes",
        "container.changes",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/containers/{name:.*}/json",
        "container.inspect",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/containers/{name:.*}/top",
        "container.top",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/containers/{name:.*}/logs",
        "container.logs",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/containers/{name:.*}/stats",
        "container.stats",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/containers/{name:.*}/attach/ws",
        "container.attach-ws",
        ContainerAccess,
        F::Operate,
    ),
    r(
        "GET",
        "/exec/{id:.*}/json",
        "exec.inspect",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/containers/{name:.*}/archive",
        "container.archive-get",
        ContainerAccess,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/create",
        "container.create",
        ContainerCreate,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/kill",
        "container.kill",
        Plain,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/pause",
        "container.pause",
        Plain,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/unpause",
        "container.unpause",
        Plain,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/restart",
        "container.restart",
        ContainerStart,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/start",
        "container.start",
        ContainerStart,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/stop",
        "container.stop",
        Plain,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/wait",
        "container.wait",
        Plain,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/resize",
        "container.resize",
        Plain,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/attach",
        "container.attach",
        ContainerAccess,
        F::Operate,
    ),
    // Served by 20.10 below API 1.24 (404 from 1.24 on), gone in 26.1: it
    // reads a file out of the container, bind mounts included, like a GET
    // of the archive.
    r(
        "POST",
        "/containers/{name:.*}/copy",
        "container.copy",
        ContainerAccess,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/exec",
        "exec.create",
        ExecCreate,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/logs/clear",
        "container.logs-clear",
        Plain,
        F::Operate,
    ),
    r(
        "POST",
        "/exec/{name:.*}/start",
        "exec.start",
        ExecStart,
        F::Operate,
    ),
    r(
        "POST",
        "/exec/{name:.*}/resize",
        "exec.resize",
        Plain,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/rename",
        "container.rename",
        ContainerAccess,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/{name:.*}/update",
        "container.update",
        ContainerUpdate,
        F::Operate,
    ),
    r(
        "POST",
        "/containers/prune",
        "container.prune",
        Plain,
        F::Operate,
    ),
    r("POST", "/commit", "container.commit", Plain, F::Build),
    r(
        "PUT",
        "/containers/{name:.*}/archive",
        "container.archive-put",
        ContainerAccess,
        F::Operate,
    ),
    r(
        "DELETE",
        "/containers/{name:.*}",
        "container.delete",
        Plain,
        F::Operate,
    ),
    // image
    r("GET", "/images/json", "image.list", Plain, F::ReadOnly),
    r("GET", "/images/search", "image.search", Plain, F::ReadOnly),
    r("GET", "/images/get", "image.save", Plain, F::Build),
    r(
        "GET",
        "/images/{name:.*}/get",
        "image.save",
        Plain,
        F::Build,
    ),
    r(
        "GET",
        "/images/{name:.*}/history",
        "image.history",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/images/{name:.*}/json",
        "image.inspect",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/images/{name:.*}/attestations",
        "image.attestations",
        Plain,
        F::ReadOnly,
    ),
    r("POST", "/images/load", "image.load", Plain, F::Build),
    r(
        "POST",
        "/images/create",
        "image.create",
        ImageCreate,
        F::Operate,
    ),
    r(
        "POST",
        "/images/{name:.*}/push",
        "image.push",
        Plain,
        F::Build,
    ),
    r(
        "POST",
        "/images/{name:.*}/tag",
        "image.tag",
        ImageTag,
        F::Build,
    ),
    r("POST", "/images/prune", "image.prune", Plain, F::Build),
    r(
        "DELETE",
        "/images/{name:.*}",
        "image.delete",
        Plain,
        F::Build,
    ),
    // system
    r(
        "OPTIONS",
        "/{anyroute:.*}",
        "system.options",
        Plain,
        F::Handshake,
    ),
    r("GET", "/_ping", "system.ping", Plain, F::Handshake),
    r("HEAD", "/_ping", "system.ping", Plain, F::Handshake),
    r("GET", "/events", "system.events", Plain, F::ReadOnly),
    r("GET", "/info", "system.info", Plain, F::ReadOnly),
    r("GET", "/version", "system.version", Plain, F::Handshake),
    r("GET", "/system/df", "system.df", Plain, F::ReadOnly),
    r("POST", "/auth", "system.auth", Plain, F::Operate),
    // volume
    r("GET", "/volumes", "volume.list", Plain, F::ReadOnly),
    r(
        "GET",
        "/volumes/{name:.*}",
        "volume.inspect",
        Plain,
        F::ReadOnly,
    ),
    r(
        "POST",
        "/volumes/create",
        "volume.create",
        VolumeCreate,
        F::Operate,
    ),
    r("POST", "/volumes/prune", "volume.prune", Plain, F::Operate),
    r(
        "PUT",
        "/volumes/{name:.*}",
        "volume.update",
        VolumeUpdate,
        F::Operate,
    ),
    r(
        "DELETE",
        "/volumes/{name:.*}",
        "volume.delete",
        Plain,
        F::Operate,
    ),
    // build
    r("POST", "/build", "image.build", Build, F::Build),
    r("POST", "/build/prune", "build.prune", Plain, F::Build),
    r("POST", "/build/cancel", "build.cancel", Plain, F::Build),
    // session
    r("POST", "/session", "build.session", BuildKit, F::Build),
    // swarm
    r(
        "POST",
        "/swarm/init",
        "swarm.init",
        SwarmMembership,
        F::Admin,
    ),
    r(
        "POST",
        "/swarm/join",
        "swarm.join",
        SwarmMembership,
        F::Admin,
    ),
    r("POST", "/swarm/leave", "swarm.leave", Plain, F::Admin),
    // A manager answers with the join tokens.
    r("GET", "/swarm", "swarm.inspect", SwarmMembership, F::Admin),
    r(
        "GET",
        "/swarm/unlockkey",
        "swarm.unlockkey",
        SwarmMembership,
        F::Admin,
    ),
    r(
        "POST",
        "/swarm/update",
        "swarm.update",
        SwarmMembership,
        F::Admin,
    ),
    r(
        "POST",
        "/swarm/unlock",
        "swarm.unlock",
        SwarmMembership,
        F::Admin,
    ),
    r("GET", "/services", "service.list", Plain, F::ReadOnly),
    r(
        "GET",
        "/services/{id}",
        "service.inspect",
        Plain,
        F::ReadOnly,
    ),
    r(
        "POST",
        "/services/create",
        "service.create",
        ServiceCreate,
        F::Operate,
    ),
    r(
        "POST",
        "/services/{id}/update",
        "service.update",
        ServiceUpdate,
        F::Operate,
    ),
    r(
        "DELETE",
        "/services/{id}",
        "service.delete",
        Plain,
        F::Operate,
    ),
    r(
        "GET",
        "/services/{id}/logs",
        "service.logs",
        Plain,
        F::ReadOnly,
    ),
    r("GET", "/nodes", "node.list", Plain, F::ReadOnly),
    r("GET", "/nodes/{id}", "node.inspect", Plain, F::ReadOnly),
    r("DELETE", "/nodes/{id}", "node.delete", Plain, F::Admin),
    // Promotes a node to manager, or changes where tasks may run.
    r(
        "POST",
        "/nodes/{id}/update",
        "node.update",
        SwarmMembership,
        F::Admin,
    ),
    r("GET", "/tasks", "task.list", Plain, F::ReadOnly),
    r("GET", "/tasks/{id}", "task.inspect", Plain, F::ReadOnly),
    r("GET", "/tasks/{id}/logs", "task.logs", Plain, F::ReadOnly),
    r("GET", "/secrets", "secret.list", Plain, F::ReadOnly),
    r(
        "POST",
        "/secrets/create",
        "secret.create",
        Plain,
        F::Operate,
    ),
    r(
        "DELETE",
        "/secrets/{id}",
        "secret.delete",
        Plain,
        F::Operate,
    ),
    r("GET", "/secrets/{id}", "secret.inspect", Plain, F::ReadOnly),
    r(
        "POST",
        "/secrets/{id}/update",
        "secret.update",
        Plain,
        F::Operate,
    ),
    r("GET", "/configs", "config.list", Plain, F::ReadOnly),
    r(
        "POST",
        "/configs/create",
        "config.create",
        Plain,
        F::Operate,
    ),
    r(
        "DELETE",
        "/configs/{id}",
        "config.delete",
        Plain,
        F::Operate,
    ),
    r("GET", "/configs/{id}", "config.inspect", Plain, F::ReadOnly),
    r(
        "POST",
        "/configs/{id}/update",
        "config.update",
        Plain,
        F::Operate,
    ),
    // plugin
    r("GET", "/plugins", "plugin.list", Plain, F::ReadOnly),
    r(
        "GET",
        "/plugins/{name:.*}/json",
        "plugin.inspect",
        Plain,
        F::ReadOnly,
    ),
    r(
        "GET",
        "/plugins/privileges",
        "plugin.privileges",
        Plain,
        F::ReadOnly,
    ),
    r(
        "DELETE",
        "/plugins/{name:.*}",
        "plugin.remove",
        PluginManagement,
        F::Admin,
    ),
    r(
        "POST",
        "/plugins/{name:.*}/enable",
        "plugin.enable",
        PluginManagement,
        F::Admin,
    ),
    r(
        "POST",
        "/plugins/{name:.*}/disable",
        "plugin.disable",
        PluginManagement,
        F::Admin,
    ),
    r(
        "POST",
        "/plugins/pull",
        "plugin.pull",
        PluginManagement,
        F::Admin,
    ),
    r(
        "POST",
        "/plugins/{name:.*}/push",
        "plugin.push",
        PluginManagement,
        F::Admin,
    ),
    r(
        "POST",
        "/plugins/{name:.*}/upgrade",
        "plugin.upgrade",
        PluginManagement,
        F::Admin,
    ),
    r(
        "POST",
        "/plugins/{name:.*}/set",
        "plugin.set",
        PluginManagement,
        F::Admin,
    ),
    r(
        "POST",
        "/plugins/create",
        "plugin.create",
        PluginManagement,
        F::Admin,
    ),
    // distribution
    r(
        "GET",
        "/distribution/{name:.*}/json",
        "distribution.inspect",
        Plain,
        F::ReadOnly,
    ),
    // grpc (BuildKit)
    r("POST", "/grpc", "build.grpc", BuildKit, F::Build),
    // network
    r("GET", "/networks", "network.list", Plain, F::ReadOnly),
    r("GET", "/networks/", "network.list", Plain, F::ReadOnly),
    r(
        "GET",
        "/networks/{id:.+}",
        "network.inspect",
        Plain,
        F::ReadOnly,
    ),
    r(
        "POST",
        "/networks/create",
        "network.create",
        NetworkCreate,
        F::Operate,
    ),
    r(
        "POST",
        "/networks/{id:.*}/connect",
        "network.connect",
        NetworkConnect,
        F::Operate,
    ),
    r(
        "POST",
        "/networks/{id:.*}/disconnect",
        "network.disconnect",
        NetworkDisconnect,
        F::Operate,
    ),
    r(
        "POST",
        "/networks/prune",
        "network.prune",
        Plain,
        F::Operate,
    ),
    r(
        "DELETE",
        "/networks/{id:.*}",
        "network.delete",
        Plain,
        F::Operate,
    ),
];

/// Debug routes, served under `/debug` without a version prefix, any method.
const DEBUG_PREFIX: &str = "/debug/";

/// A matched route and the values of its path variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The route.
    pub route: &'static Route,
    /// Variable values in template order, e.g. the container name.
    pub vars: Vec<String>,
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && self.pattern == other.pattern
    }
}
impl Eq for Route {}

const DEBUG_ROUTE: Route = r("GET", "/debug/{path:.*}", "system.debug", Plain, F::Admin);

/// The templates split into pieces once; routing runs on every request.
fn compiled() -> &'static [Vec<Piece<'static>>] {
    static COMPILED: std::sync::OnceLock<Vec<Vec<Piece<'static>>>> = std::sync::OnceLock::new();
    COMPILED.get_or_init(|| ROUTES.iter().map(|r| pieces(r.pattern)).collect())
}

/// Finds the route the daemon would dispatch a request to.
pub fn match_route(method: &str, path: &str) -> Option<Matched> {
    for (route, pieces) in ROUTES.iter().zip(compiled()) {
        if route.method != method {
            continue;
        }
        // Templates start with a literal and most end with one: rule out
        // the rest before trying where the variables could end.
        let starts = match pieces.first() {
            Some(Piece::Literal(lit)) => path.starts_with(lit),
            _ => true,
        };
        let ends = match pieces.last() {
            Some(Piece::Literal(lit)) if pieces.len() > 1 => path.ends_with(lit),
            _ => true,
        };
        if !(starts && ends) {
            continue;
        }
        let mut vars = Vec::new();
        if match_from(pieces, path, &mut vars) {
            return Some(Matched { route, vars });
        }
    }
    if let Some(rest) = path.strip_prefix(DEBUG_PREFIX) {
        return Some(Matched {
            route: &DEBUG_ROUTE,
            vars: vec![rest.to_string()],
        });
    }
    None
}

#[derive(Debug)]
enum Piece<'a> {
    Literal(&'a str),
    /// `{x:.*}` (may be empty, may hold '/').
    Any,
    /// `{x:.+}` (non-empty, may hold '/').
    Some,
    /// `{x}`: a non-empty segment without '/'.
    Segment,
}

fn pieces(pattern: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Literal(&rest[..open]));
        }
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or(rest.len() - 1);
        let var = &rest[open + 1..close];
        out.push(match var.split_once(':').map(|(_, re)| re) {
            Some(".*") => Piece::Any,
            Some(".+") => Piece::Some,
            _ => Piece::Segment,
        });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest));
    }
    out
}

fn match_from(pieces: &[Piece], path: &str, vars: &mut Vec<String>) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return path.is_empty();
    };
    match first {
        Piece::Literal(lit) => match path.strip_prefix(lit) {
            Some(remaining) => match_from(rest, remaining, vars),
            None => false,
        },
        Piece::Any | Piece::Some | Piece::Segment => {
            let min = usize::from(!matches!(first, Piece::Any));
            let max = match first {
                Piece::Segment => path.find('/').unwrap_or(path.len()),
                _ => path.len(),
            };
            // Longest first, as a greedy regexp prefers.
            for end in (min..=max).rev() {
                if !path.is_char_boundary(end) {
                    continue;
                }
                vars.push(path[..end].to_string());
                if match_from(rest, &path[end..], vars) {
                    return true;
                }
                vars.pop();
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(method: &str, path: &str) -> Option<(&'static str, Vec<String>)> {
        match_route(method, path).map(|m| (m.route.name, m.vars))
    }

    #[test]
    fn container_routes() {
        assert_eq!(
            name("POST", "/containers/create"),
            Some(("container.create", vec![]))
        );
        assert_eq!(
            name("POST", "/containers/web/start"),
            Some(("container.start", vec!["web".into()]))
        );
        assert_eq!(
            name("POST", "/containers/a/exec/start"),
            Some(("container.start", vec!["a/exec".into()]))
        );
        assert_eq!(
            name("POST", "/containers/runner/exec"),
            Some(("exec.create", vec!["runner".into()]))
        );
        assert_eq!(
            name("DELETE", "/containers/runner"),
            Some(("container.delete", vec!["runner".into()]))
        );
    }

    #[test]
    fn checkpoint_delete_is_not_masked() {
        assert_eq!(
            name("DELETE", "/containers/c/checkpoints/cp").map(|(n, _)| n),
            Some("checkpoint.delete")
        );
    }

    #[test]
    fn plugin_routes() {
        assert_eq!(
            name("POST", "/plugins/dockgate:latest/disable").map(|(n, _)| n),
            Some("plugin.disable")
        );
        assert_eq!(
            name("DELETE", "/plugins/dockgate").map(|(n, _)| n),
            Some("plugin.remove")
        );
    }

    #[test]
    fn unknown_routes() {
        assert_eq!(name("POST", "/containers/create/"), None);
        assert_eq!(name("POST", "/nothing"), None);
        assert_eq!(name("PATCH", "/containers/x"), None);
        assert_eq!(name("GET", "/services/a/b"), None);
    }

    #[test]
    fn debug_routes() {
        assert_eq!(
            name("GET", "/debug/pprof/heap").map(|(n, _)| n),
            Some("system.debug")
        );
    }

    // Every route moby registers (`router.New*Route`) under
    // api/server/router, at the tags of the two daemons the suite runs:
    // `git grep -h -o 'router.New[A-Za-z]*Route("[^"]*"' TAG -- 'api/server/router/*'`
    // at v20.10.24 and v26.1.5.
    /// Routes both daemons serve.
    const SERVED_BY_BOTH: &[(&str, &str)] = &[
        ("DELETE", "/configs/{id}"),
        ("DELETE", "/containers/{name:.*}"),
        ("DELETE", "/containers/{name}/checkpoints/{checkpoint}"),
        ("DELETE", "/images/{name:.*}"),
        ("DELETE", "/networks/{id:.*}"),
        ("DELETE", "/nodes/{id}"),
        ("DELETE", "/plugins/{name:.*}"),
        ("DELETE", "/secrets/{id}"),
        ("DELETE", "/services/{id}"),
        ("DELETE", "/volumes/{name:.*}"),
        ("GET", "/_ping"),
        ("GET", "/configs"),
        ("GET", "/configs/{id}"),
        ("GET", "/containers/json"),
        ("GET", "/containers/{name:.*}/archive"),
        ("GET", "/containers/{name:.*}/attach/ws"),
        ("GET", "/containers/{name:.*}/changes"),
        ("GET", "/containers/{name:.*}/checkpoints"),
        ("GET", "/containers/{name:.*}/export"),
        ("GET", "/containers/{name:.*}/json"),
        ("GET", "/containers/{name:.*}/logs"),
        ("GET", "/containers/{name:.*}/stats"),
        ("GET", "/containers/{name:.*}/top"),
        ("GET", "/distribution/{name:.*}/json"),
        ("GET", "/events"),
        ("GET", "/exec/{id:.*}/json"),
        ("GET", "/images/get"),
        ("GET", "/images/json"),
        ("GET", "/images/search"),
        ("GET", "/images/{name:.*}/get"),
        ("GET", "/images/{name:.*}/history"),
        ("GET", "/images/{name:.*}/json"),
        ("GET", "/info"),
        ("GET", "/networks"),
        ("GET", "/networks/"),
        ("GET", "/networks/{id:.+}"),
        ("GET", "/nodes"),
        ("GET", "/nodes/{id}"),
        ("GET", "/plugins"),
        ("GET", "/plugins/privileges"),
        ("GET", "/plugins/{name:.*}/json"),
        ("GET", "/pprof/"),
        ("GET", "/pprof/cmdline"),
        ("GET", "/pprof/profile"),
        ("GET", "/pprof/symbol"),
        ("GET", "/pprof/trace"),
        ("GET", "/pprof/{name}"),
        ("GET", "/secrets"),
        ("GET", "/secrets/{id}"),
        ("GET", "/services"),
        ("GET", "/services/{id}"),
        ("GET", "/services/{id}/logs"),
        ("GET", "/swarm"),
        ("GET", "/swarm/unlockkey"),
        ("GET", "/system/df"),
        ("GET", "/tasks"),
        ("GET", "/tasks/{id}"),
        ("GET", "/tasks/{id}/logs"),
        ("GET", "/vars"),
        ("GET", "/version"),
        ("GET", "/volumes"),
        ("GET", "/volumes/{name:.*}"),
        ("HEAD", "/_ping"),
        ("HEAD", "/containers/{name:.*}/archive"),
        ("OPTIONS", "/{anyroute:.*}"),
        ("POST", "/auth"),
        ("POST", "/build"),
        ("POST", "/build/cancel"),
        ("POST", "/build/prune"),
        ("POST", "/commit"),
        ("POST", "/configs/create"),
        ("POST", "/configs/{id}/update"),
        ("POST", "/containers/create"),
        ("POST", "/containers/prune"),
        ("POST", "/containers/{name:.*}/attach"),
        ("POST", "/containers/{name:.*}/checkpoints"),
        ("POST", "/containers/{name:.*}/exec"),
        ("POST", "/containers/{name:.*}/kill"),
        ("POST", "/containers/{name:.*}/pause"),
        ("POST", "/containers/{name:.*}/rename"),
        ("POST", "/containers/{name:.*}/resize"),
        ("POST", "/containers/{name:.*}/restart"),
        ("POST", "/containers/{name:.*}/start"),
        ("POST", "/containers/{name:.*}/stop"),
        ("POST", "/containers/{name:.*}/unpause"),
        ("POST", "/containers/{name:.*}/update"),
        ("POST", "/containers/{name:.*}/wait"),
        ("POST", "/exec/{name:.*}/resize"),
        ("POST", "/exec/{name:.*}/start"),
        ("POST", "/grpc"),
        ("POST", "/images/create"),
        ("POST", "/images/load"),
        ("POST", "/images/prune"),
        ("POST", "/images/{name:.*}/push"),
        ("POST", "/images/{name:.*}/tag"),
        ("POST", "/networks/create"),
        ("POST", "/networks/prune"),
        ("POST", "/networks/{id:.*}/connect"),
        ("POST", "/networks/{id:.*}/disconnect"),
        ("POST", "/nodes/{id}/update"),
        ("POST", "/plugins/create"),
        ("POST", "/plugins/pull"),
        ("POST", "/plugins/{name:.*}/disable"),
        ("POST", "/plugins/{name:.*}/enable"),
        ("POST", "/plugins/{name:.*}/push"),
        ("POST", "/plugins/{name:.*}/set"),
        ("POST", "/plugins/{name:.*}/upgrade"),
        ("POST", "/secrets/create"),
        ("POST", "/secrets/{id}/update"),
        ("POST", "/services/create"),
        ("POST", "/services/{id}/update"),
        ("POST", "/session"),
        ("POST", "/swarm/init"),
        ("POST", "/swarm/join"),
        ("POST", "/swarm/leave"),
        ("POST", "/swarm/unlock"),
        ("POST", "/swarm/update"),
        ("POST", "/volumes/create"),
        ("POST", "/volumes/prune"),
        ("PUT", "/containers/{name:.*}/archive"),
    ];
    /// Routes only dockerd 20.10 serves.
    const SERVED_BY_20_10: &[(&str, &str)] = &[("POST", "/containers/{name:.*}/copy")];
    /// Routes only dockerd 26.1 serves.
    const SERVED_BY_26_1: &[(&str, &str)] = &[("PUT", "/volumes/{name:.*}")];

    #[test]
    fn every_route_either_daemon_serves_is_in_the_table() {
        let debug = [
            "/pprof/",
            "/pprof/cmdline",
            "/pprof/profile",
            "/pprof/symbol",
            "/pprof/trace",
            "/pprof/{name}",
            "/vars",
        ];
        for (method, pattern) in SERVED_BY_BOTH
            .iter()
            .chain(SERVED_BY_20_10)
            .chain(SERVED_BY_26_1)
        {
            if debug.contains(pattern) {
                // Registered on the debug router, under /debug.
                assert_eq!(
                    match_route(method, &format!("/debug{pattern}")).map(|m| m.route.name),
                    Some("system.debug")
                );
                continue;
            }
            assert!(
                ROUTES
                    .iter()
                    .any(|r| r.method == *method && r.pattern == *pattern),
                "{method} {pattern} is served by a daemon but missing from ROUTES"
            );
        }
    }

    #[test]
    fn routes_that_reach_into_containers_are_judged_by_them() {
        // The legacy copy (20.10 below API 1.24) reads files out of the
        // container like a GET of the archive does.
        for (method, path) in [
            ("POST", "/containers/x/copy"),
            ("GET", "/containers/x/archive"),
            ("PUT", "/containers/x/archive"),
            ("HEAD", "/containers/x/archive"),
            ("POST", "/containers/x/attach"),
            ("GET", "/containers/x/attach/ws"),
            ("POST", "/containers/x/rename"),
        ] {
            assert_eq!(
                match_route(method, path).map(|m| m.route.endpoint),
                Some(Endpoint::ContainerAccess),
                "{method} {path}"
            );
        }
    }
}
