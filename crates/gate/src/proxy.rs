//! `dockgate proxy`: one Unix socket per identity, each forwarding to the
//! daemon only what that identity's role may do.
//!
//! Tools that read the Docker API (Traefik, Portainer, a metrics agent)
//! are usually given the daemon's own socket, which is root on the host.
//! A proxy socket carries one identity instead: every request on it is
//! read and judged by the gate's reader and policy, as that identity,
//! recorded in the audit log, and forwarded only when allowed. Streams
//! (logs, events) and hijacked connections (attach, exec) pass through;
//! lists and events are cut to the identity's own containers where its
//! role acts only on those.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use dockgate_inputs::authz::{AuthzRequest, DAEMON_BODY_LIMIT};
use dockgate_inputs::resolve::{DaemonLookup, LOOKUP_HEADER};
use dockgate_outputs::{AuditLog, Denial};

use crate::Gate;

/// A body the proxy answers with: the daemon's, streamed, or its own.
type Body = BoxBody<Bytes, hyper::Error>;

/// Connections served at once on one socket; more wait to be accepted.
/// Each socket has its own: one identity cannot take another's.
const CONNECTIONS: usize = 256;

/// How long a connection may take to send a request's headers, and stay
/// idle between requests: idle connections must not hold the socket's
/// slots.
const HEADER_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// The most of a container list read to cut it to the caller's own.
const LIST_LIMIT: usize = 64 << 20;

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A socket could not be made.
    #[error("cannot serve proxy socket {path}: {source}")]
    Bind {
        /// The socket path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// What every connection of the proxy shares.
pub struct Proxy<L> {
    gate: Arc<Gate<L>>,
    audit: Arc<AuditLog>,
    daemon: PathBuf,
}

/// One identity's socket.
#[derive(Debug, Clone)]
pub struct ProxySocket {
    /// Where it is served.
    pub path: PathBuf,
    /// The identity its callers are.
    pub identity: String,
}

impl<L: DaemonLookup + 'static> Proxy<L> {
    /// A proxy judging with `gate`, recording into `audit`, forwarding to
    /// the daemon's Unix socket `daemon`.
    pub fn new(gate: Arc<Gate<L>>, audit: Arc<AuditLog>, daemon: PathBuf) -> Self {
        Proxy {
            gate,
            audit,
            daemon,
        }
    }

    /// Serves every socket until `shutdown` completes, then removes them.
    /// Sockets are made mode 0660: whoever may use one is chosen by its
    /// group, or by the directory bind-mounted into a container.
    pub async fn serve(
        self: Arc<Self>,
        sockets: Vec<ProxySocket>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ProxyError> {
        let mut listeners = Vec::new();
        for socket in &sockets {
            listeners.push((bind(&socket.path)?, socket.identity.clone()));
        }
        let mut accepting = tokio::task::JoinSet::new();
        for (listener, identity) in listeners {
            let proxy = self.clone();
            let permits = Arc::new(Semaphore::new(CONNECTIONS));
            accepting.spawn(async move { proxy.accept(listener, identity, permits).await });
        }
        shutdown.await;
        accepting.abort_all();
        for socket in &sockets {
            let _ = std::fs::remove_file(&socket.path);
        }
        Ok(())
    }

    async fn accept(
        self: Arc<Self>,
        listener: UnixListener,
        identity: String,
        permits: Arc<Semaphore>,
    ) {
        let identity: Arc<str> = identity.into();
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!(%err, %identity, "proxy: cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let proxy = self.clone();
            let identity = identity.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let proxy = proxy.clone();
                    let identity = identity.clone();
                    async move { Ok::<_, Infallible>(proxy.handle(request, &identity).await) }
                });
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_TIME)
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
                if let Err(err) = served {
                    tracing::debug!(%err, "proxy: connection ended");
                }
                drop(permit);
            });
        }
    }

    /// Judges one request as `identity` and forwards it if allowed.
    async fn handle(&self, request: Request<Incoming>, identity: &str) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let mut parts = parts;
        // Only the gate's own reads may carry the marker.
        parts.headers.remove(LOOKUP_HEADER);
        let (judged, body) = match judged_request(&parts, body).await {
            Ok(read) => read,
            Err(message) => return answer(StatusCode::BAD_REQUEST, &message),
        };
        let (verdict, record) = self.gate.decide_proxied(&judged, identity).await;
        if let Err(err) = self.audit.write(&record) {
            tracing::error!(error = %err, "proxy: audit record not written");
        }
        if !verdict.allowed() {
            let message = format!(
                "authorization denied by dockgate proxy (identity {identity}): {}",
                verdict.denial_message()
            );
            return answer(StatusCode::FORBIDDEN, &message);
        }
        let upgrade = parts.headers.contains_key(hyper::header::UPGRADE);
        let mut request = Request::from_parts(parts, body);
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
        let mut response = match self.forward(request).await {
            Ok(response) => response,
            Err(message) => return answer(StatusCode::BAD_GATEWAY, &message),
        };
        if let Some(client_upgrade) = client_upgrade {
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                let daemon_upgrade = hyper::upgrade::on(&mut response);
                tokio::spawn(async move {
                    let (Ok(client), Ok(daemon)) = (client_upgrade.await, daemon_upgrade.await)
                    else {
                        return;
                    };
                    let (mut client, mut daemon) = (TokioIo::new(client), TokioIo::new(daemon));
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut daemon).await;
                });
            }
        }
        // Lists and events are cut to what the identity may see; other
        // answers pass as they are.
        let cut = matches!(
            record.endpoint.as_str(),
            "container.list" | "system.df" | "system.events"
        );
        let visible = cut.then(|| self.visible_owners(identity)).flatten();
        let (parts, body) = response.into_parts();
        let body = match (record.endpoint.as_str(), visible) {
            ("container.list" | "system.df", Some((label, owners)))
                if parts.status.is_success() =>
            {
                return own_containers(parts, body, &label, &owners).await;
            }
            ("system.events", Some((label, owners))) => own_events(body, label, owners),
            _ => body.boxed(),
        };
        Response::from_parts(parts, body)
    }

    /// The owner label and the owners whose containers `identity` sees
    /// in lists and events; none when it sees them all.
    fn visible_owners(&self, identity: &str) -> Option<(String, Vec<String>)> {
        let requester = dockgate_rules::Requester {
            proxy: Some(identity.to_string()),
            ..Default::default()
        };
        // An identity a reload just removed sees nothing.
        let Ok(caller) = self.gate.policy().for_caller(&requester) else {
            return Some((String::new(), Vec::new()));
        };
        let (label, owners) = caller.policy.visible_owners()?;
        Some((label.to_string(), owners.to_vec()))
    }

    /// Sends a request to the daemon on a connection of its own.
    async fn forward(&self, request: Request<Body>) -> Result<Response<Incoming>, String> {
        let unreachable = |err: &dyn std::fmt::Display| {
            format!(
                "dockgate proxy cannot reach the daemon at {}: {err}",
                self.daemon.display()
            )
        };
        let stream = UnixStream::connect(&self.daemon)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        tokio::spawn(async move {
            if let Err(err) = connection.with_upgrades().await {
                tracing::debug!(%err, "proxy: daemon connection ended");
            }
        });
        sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))
    }
}

/// The socket, made afresh, mode 0660.
fn bind(path: &Path) -> Result<UnixListener, ProxyError> {
    crate::server::bind_socket(path, 0o660).map_err(|source| ProxyError::Bind {
        path: path.display().to_string(),
        source,
    })
}

/// A header name as Go's server hands it to plugins: `Content-Type`.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// The request as the daemon describes it to a plugin, with the body the
/// daemon would forward (a JSON body under its limit, read here whole),
/// and the body to send on.
async fn judged_request(
    parts: &hyper::http::request::Parts,
    body: Incoming,
) -> Result<(AuthzRequest, Body), String> {
    let mut headers = std::collections::BTreeMap::new();
    for (name, value) in &parts.headers {
        let Ok(value) = value.to_str() else {
            return Err(format!("header {name} is not text"));
        };
        headers.insert(canonical(name.as_str()), value.to_string());
    }
    let length = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.trim().parse::<u64>().ok());
    let json = parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes() == b"application/json");
    let uri = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.to_string(), |p| p.as_str().to_string());
    let mut judged = AuthzRequest {
        method: parts.method.as_str().to_string(),
        uri,
        headers: Some(headers),
        ..AuthzRequest::default()
    };
    let forwarded = length.is_some_and(|n| n > 0 && n < DAEMON_BODY_LIMIT) && json;
    if !forwarded {
        return Ok((judged, body.boxed()));
    }
    let bytes = Limited::new(body, DAEMON_BODY_LIMIT as usize)
        .collect()
        .await
        .map_err(|e| format!("cannot read the request body: {e}"))?
        .to_bytes();
    judged.body = Some(bytes.to_vec());
    let body = Full::new(bytes).map_err(|never| match never {}).boxed();
    Ok((judged, body))
}

/// An answer of the proxy's own, in the daemon's error format, which the
/// docker CLI shows as "Error response from daemon: MESSAGE".
fn answer(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Whether a container (a list entry's `Labels`, an event's
/// `Actor.Attributes`) belongs to one of `owners`.
fn owned(labels: Option<&serde_json::Value>, label: &str, owners: &[String]) -> bool {
    labels
        .and_then(|l| l.get(label))
        .and_then(|o| o.as_str())
        .is_some_and(|owner| owners.iter().any(|o| o == owner))
}

/// A container list (`docker ps`, or the `Containers` of `docker system
/// df`) cut to the caller's own containers.
async fn own_containers(
    mut parts: hyper::http::response::Parts,
    body: Incoming,
    label: &str,
    owners: &[String],
) -> Response<Body> {
    let Ok(read) = Limited::new(body, LIST_LIMIT).collect().await else {
        return answer(
            StatusCode::BAD_GATEWAY,
            "dockgate proxy: the container list could not be read",
        );
    };
    let Ok(mut document) = serde_json::from_slice::<serde_json::Value>(&read.to_bytes()) else {
        return answer(
            StatusCode::BAD_GATEWAY,
            "dockgate proxy: the daemon's answer is not JSON",
        );
    };
    let list = match &mut document {
        serde_json::Value::Array(list) => Some(list),
        serde_json::Value::Object(df) => match df.get_mut("Containers") {
            Some(serde_json::Value::Array(list)) => Some(list),
            // Asked for the other kinds only (`?type=image`).
            None | Some(serde_json::Value::Null) => None,
            Some(_) => {
                return answer(
                    StatusCode::BAD_GATEWAY,
                    "dockgate proxy: the daemon's container list is not a JSON array",
                )
            }
        },
        _ => {
            return answer(
                StatusCode::BAD_GATEWAY,
                "dockgate proxy: the daemon's container list is not a JSON array",
            )
        }
    };
    if let Some(list) = list {
        list.retain(|c| owned(c.get("Labels"), label, owners));
    }
    let bytes = Bytes::from(document.to_string());
    parts.headers.remove(hyper::header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(hyper::header::CONTENT_LENGTH, bytes.len().into());
    Response::from_parts(
        parts,
        Full::new(bytes).map_err(|never| match never {}).boxed(),
    )
}

/// The event stream without other owners' container events. Events are
/// JSON objects, one per line; a container's carry its labels in
/// `Actor.Attributes`.
fn own_events(body: Incoming, label: String, owners: Vec<String>) -> Body {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, hyper::Error>>(16);
    tokio::spawn(async move {
        let mut body = body;
        let mut pending: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue,
                },
                Err(err) => {
                    let _ = sender.send(Err(err)).await;
                    return;
                }
            };
            pending.extend_from_slice(&data);
            if pending.len() > DAEMON_BODY_LIMIT as usize {
                // No event is this long: the stream is not events.
                return;
            }
            let mut kept = Vec::new();
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let event: Option<serde_json::Value> = serde_json::from_slice(&line).ok();
                let visible = match &event {
                    Some(event)
                        if event.get("Type").and_then(|t| t.as_str()) == Some("container") =>
                    {
                        owned(event.pointer("/Actor/Attributes"), &label, &owners)
                    }
                    Some(_) => true,
                    // Not an event: never passed on unread.
                    None => false,
                };
                if visible {
                    kept.extend_from_slice(&line);
                }
            }
            if !kept.is_empty()
                && sender
                    .send(Ok(Frame::data(Bytes::from(kept))))
                    .await
                    .is_err()
            {
                return;
            }
        }
    });
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|frame| (frame, receiver))
    });
    StreamBody::new(frames).boxed()
}
