//! A request as a policy written for opa-docker-authz reads it (its Rego
//! `input`), but read the way the daemon reads it.
//!
//! opa-docker-authz hands Rego the body as `encoding/json` decodes it into
//! a map, and only when the Content-Type is exactly `application/json`; the
//! target as the client sent it. The daemon decodes the same body into its
//! own types, matching keys case-insensitively and merging repeated ones,
//! and routes the decoded, cleaned path. So a policy that checks
//! `input.Body.HostConfig.Privileged` misses `"hostconfig":{"privileged":
//! true}`, a repeated `HostConfig`, a body sent as `application/json;
//! charset=utf-8`, and a create sent to `/v1.41/containers/%63reate` or
//! `/v1.41/containers/create?name=x` when it compares `input.Path`. Here
//! every one of those reads as the daemon reads it.

use serde_json::Value;

use super::routes::Endpoint;
use super::{AuthzRequest, ReadRequest};
use crate::api_body;
use crate::docker_types::{
    CONFIG_ALL, EXEC_CONFIG, NETWORK_CONNECT_ALL, SERVICE_SPEC_ALL, UPDATE_CONFIG_ALL,
    VOLUME_CREATE,
};
use crate::gojson::{decode_bytes, Shape};

/// The path as the daemon routes it (decoded and cleaned, without the
/// query), with the API version the client gave: `/v1.41/containers/create`,
/// or `/containers/create`.
pub fn routed_path(read: &ReadRequest) -> String {
    match &read.path.version {
        Some(version) => format!("/v{version}{}", read.path.path),
        None => read.path.path.clone(),
    }
}

/// The body as the daemon reads it: for a container create, an update, an
/// exec, a network connect, a volume create, a commit and a service spec,
/// the daemon's type with Go's field names (and for a create, the host
/// settings the daemon applies); for any other endpoint, the JSON as sent;
/// `null` without a body. An error when the body cannot be read so. (A
/// start that applies a body, below API 1.24, is refused before any policy
/// sees it.) `read` is the request as read: the body is decoded again only
/// here, and only when a policy asks for it.
pub fn body(request: &AuthzRequest, read: &ReadRequest) -> Result<Value, String> {
    let Some(bytes) = request.body.as_deref().filter(|b| !b.is_empty()) else {
        return Ok(Value::Null);
    };
    let endpoint = read.route.as_ref().map(|m| m.route.endpoint);
    let route = read.route.as_ref().map(|m| m.route.name);
    let decoded = match (endpoint, route) {
        (Some(Endpoint::ContainerCreate), _) => api_body::container_create_canonical(bytes),
        (Some(Endpoint::ContainerUpdate), _) => {
            decode_bytes(bytes, Shape::Struct(UPDATE_CONFIG_ALL))
        }
        (Some(Endpoint::ExecCreate), _) => decode_bytes(bytes, Shape::Struct(EXEC_CONFIG)),
        (Some(Endpoint::NetworkConnect), _) => {
            decode_bytes(bytes, Shape::Struct(NETWORK_CONNECT_ALL))
        }
        (Some(Endpoint::VolumeCreate), _) => decode_bytes(bytes, Shape::Struct(VOLUME_CREATE)),
        (Some(Endpoint::ServiceCreate | Endpoint::ServiceUpdate), _) => {
            decode_bytes(bytes, Shape::Struct(SERVICE_SPEC_ALL))
        }
        (_, Some("container.commit")) => decode_bytes(bytes, Shape::Struct(CONFIG_ALL)),
        _ => return as_sent(bytes),
    };
    let mut body = decoded.map_err(|e| e.to_string())?;
    canonical_security_options(&mut body, read);
    Ok(body)
}

/// The first JSON value of a body, repeated keys keeping the last (as
/// `encoding/json` fills a map). A body that cannot be read so (a lone
/// surrogate, which Go takes as U+FFFD; nesting deeper than 128) is an
/// error: a policy that judges a `null` in its place would let through
/// what the daemon reads.
fn as_sent(bytes: &[u8]) -> Result<Value, String> {
    match serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Value>()
        .next()
    {
        Some(Ok(value)) => Ok(value),
        Some(Err(err)) => Err(format!("the body cannot be read as JSON: {err}")),
        None => Ok(Value::Null),
    }
}

/// Security options as the daemon parses them: `seccomp:unconfined` is
/// `seccomp=unconfined` (moby `parseSecurityOpt` takes either separator),
/// and a seccomp profile that allows every system call is unconfined,
/// whatever it is called.
fn canonical_security_options(body: &mut Value, read: &ReadRequest) {
    let permissive = read
        .workload
        .security
        .seccomp_unconfined
        .as_ref()
        .map(|s| s.value.as_str());
    let options = match body.get_mut("HostConfig") {
        Some(host_config) => host_config.get_mut("SecurityOpt"),
        None => body.get_mut("SecurityOpt"),
    };
    let Some(Value::Array(options)) = options else {
        return;
    };
    for option in options.iter_mut() {
        let Some(text) = option.as_str() else {
            continue;
        };
        let canonical = if Some(text) == permissive {
            "seccomp=unconfined".to_string()
        } else if !text.contains('=') {
            match text.split_once(':') {
                Some((key, value)) => format!("{key}={value}"),
                None => continue,
            }
        } else {
            continue;
        };
        *option = Value::String(canonical);
    }
}
