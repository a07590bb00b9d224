//! Audit records to a syslog server, as RFC 5424 messages with structured
//! data, over `unix://` (datagram), `udp://` or `tcp://` (RFC 6587 octet
//! counting).
//!
//! Sending happens on a thread of its own behind a bounded queue: a syslog
//! server that is slow or gone never blocks or fails a decision. What does
//! not fit in the queue is dropped, counted, and logged.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use crate::audit::AuditRecord;
use crate::escape;

/// Records waiting to be sent, at most.
pub const QUEUE: usize = 10_000;

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A local datagram socket such as `/dev/log`.
    Unix(String),
    /// `host:port` over UDP.
    Udp(String),
    /// `host:port` over TCP.
    Tcp(String),
}

/// A bad `--syslog` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid syslog URL {0:?}: use unix:///dev/log, udp://host:514 or tcp://host:601")]
pub struct UrlError(pub String);

impl Target {
    /// Parses `unix:///dev/log`, `udp://host:514`, `tcp://host:601`.
    pub fn parse(url: &str) -> Result<Target, UrlError> {
        let bad = || UrlError(url.to_string());
        if let Some(path) = url.strip_prefix("unix://") {
            return path
                .starts_with('/')
                .then(|| Target::Unix(path.to_string()))
                .ok_or_else(bad);
        }
        let (scheme, addr) = url.split_once("://").ok_or_else(bad)?;
        let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        match scheme {
            "udp" => Ok(Target::Udp(addr.to_string())),
            "tcp" => Ok(Target::Tcp(addr.to_string())),
            _ => Err(bad()),
        }
    }
}

/// The sending end used by the audit log.
pub struct Syslog {
    queue: SyncSender<Vec<u8>>,
    dropped: Arc<AtomicU64>,
    /// Set when the sender thread has sent all it was given.
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl Syslog {
    /// Starts the sender thread.
    pub fn start(target: Target) -> Syslog {
        let (queue, rx) = sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let finished = done.clone();
        std::thread::Builder::new()
            .name("dockgate-syslog".into())
            .spawn(move || {
                send_loop(target, rx);
                finished.store(true, Ordering::Release);
            })
            .expect("spawn the syslog thread");
        Syslog {
            queue,
            dropped,
            done,
        }
    }

    /// Stops taking records and waits, up to `within`, until those queued
    /// are sent: a command that exits right after its record (an audit on
    /// a timer) must not lose it.
    pub fn finish(self, within: Duration) {
        let Syslog { queue, done, .. } = self;
        drop(queue);
        let until = std::time::Instant::now() + within;
        while !done.load(Ordering::Acquire) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Queues a record; never waits.
    pub fn send(&self, record: &AuditRecord, json_line: &str) {
        match self.queue.try_send(format_5424(record, json_line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 || n.is_power_of_two() {
                    tracing::warn!(dropped = n, "syslog is not keeping up; {n} audit records dropped so far (they are still in the audit log)");
                }
            }
        }
    }

    /// The count of records dropped so far, as it grows (for metrics).
    pub fn drop_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A connection to the syslog server, opened on first use and again after
/// a failure: a socket that cannot be made now is an error to retry, never
/// a crash.
enum Connection {
    Unix(Option<UnixDatagram>, String),
    Udp(Option<UdpSocket>, String),
    Tcp(Option<TcpStream>, String),
}

impl Connection {
    fn open(target: &Target) -> Connection {
        match target {
            Target::Unix(path) => Connection::Unix(None, path.clone()),
            Target::Udp(addr) => Connection::Udp(None, addr.clone()),
            Target::Tcp(addr) => Connection::Tcp(None, addr.clone()),
        }
    }

    fn send(&mut self, message: &[u8]) -> std::io::Result<()> {
        let result = match self {
            Connection::Unix(socket, path) => {
                let socket = match socket {
                    Some(s) => s,
                    None => socket.insert(UnixDatagram::unbound()?),
                };
                socket.send_to(message, path.as_str()).map(|_| ())
            }
            Connection::Udp(socket, addr) => {
                let socket = match socket {
                    Some(s) => s,
                    None => {
                        let local = if addr.starts_with('[') {
                            "[::]:0"
                        } else {
                            "0.0.0.0:0"
                        };
                        socket.insert(UdpSocket::bind(local)?)
                    }
                };
                socket.send_to(message, addr.as_str()).map(|_| ())
            }
            Connection::Tcp(stream, addr) => {
                let stream = match stream {
                    Some(s) => s,
                    None => {
                        let s = TcpStream::connect(addr.as_str())?;
                        s.set_write_timeout(Some(Duration::from_secs(5)))?;
                        stream.insert(s)
                    }
                };
                let framed = [format!("{} ", message.len()).as_bytes(), message].concat();
                stream.write_all(&framed)
            }
        };
        if result.is_err() {
            *self = match self {
                Connection::Unix(_, path) => Connection::Unix(None, std::mem::take(path)),
                Connection::Udp(_, addr) => Connection::Udp(None, std::mem::take(addr)),
                Connection::Tcp(_, addr) => Connection::Tcp(None, std::mem::take(addr)),
            };
        }
        result
    }
}

fn send_loop(target: Target, rx: Receiver<Vec<u8>>) {
    let mut connection = Connection::open(&target);
    let mut failing = false;
    let mut backoff = Duration::from_millis(100);
    for message in rx {
        match connection.send(&message) {
            Ok(()) => {
                failing = false;
                backoff = Duration::from_millis(100);
            }
            Err(err) => {
                if !failing {
                    tracing::error!(%err, "cannot send to syslog {target:?}: {err}; retrying");
                }
                failing = true;
                // Wait before the next attempt; meanwhile the queue absorbs
                // records, and drops (counted) what it cannot hold.
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    escape::sd_header(name.trim(), 255)
}

/// The private enterprise number used for dockgate's SD-ID (the example
/// number RFC 5612 reserves for documentation).
const SD_ID: &str = "dockgate@32473";

/// Formats one record: facility authpriv, severity warning for a denial
/// and informational otherwise, the record's fields as structured data and
/// the JSON line as the message.
pub fn format_5424(record: &AuditRecord, json_line: &str) -> Vec<u8> {
    let severity = match record.decision {
        dockgate_rules::Decision::Deny => 4,
        dockgate_rules::Decision::Allow => 6,
    };
    let pri = 10 * 8 + severity;
    let mut params = vec![
        ("source", record.source.to_string()),
        (
            "decision",
            format!("{:?}", record.decision).to_ascii_lowercase(),
        ),
        ("endpoint", record.endpoint.clone()),
        ("method", record.method.clone()),
        ("rules", record.rules.join(",")),
        ("policy", record.policy_hash.clone()),
    ];
    if !record.user.is_empty() {
        params.push(("user", record.user.clone()));
    }
    if let Some(c) = &record.container {
        params.push(("container", c.clone()));
    }
    if let Some(i) = &record.image {
        params.push(("image", i.clone()));
    }
    let sd: String = params
        .iter()
        .map(|(k, v)| format!(" {k}=\"{}\"", escape::sd_param(v)))
        .collect();
    format!(
        "<{pri}>1 {} {} dockgate {} {} [{SD_ID}{sd}] {}",
        record.time,
        hostname(),
        std::process::id(),
        record.source,
        message_part(record, json_line.trim_end())
    )
    .into_bytes()
}

/// The longest message part, in bytes: receivers cut longer messages
/// (rsyslog at 8 KiB by default, with the header and structured data),
/// datagrams end at 64 KiB, and a record cut by a receiver is no JSON.
const MSG_WHOLE: usize = 4 * 1024;

/// How many characters of each value a record too long for syslog keeps.
const SHORT_VALUE: usize = 128;

/// The record's JSON line, or when it is too long for a syslog message, a
/// shorter record (each value cut, then as many findings as fit) that says
/// how long the whole one in the audit log is.
fn message_part(record: &AuditRecord, json_line: &str) -> String {
    if json_line.len() <= MSG_WHOLE {
        return json_line.to_string();
    }
    let cut = |text: &mut String| *text = escape::shorten(text, SHORT_VALUE).into_owned();
    let mut short = record.clone();
    short.shortened_from = Some(json_line.len());
    // More could never fit: each takes more than 100 bytes.
    short.findings.truncate(MSG_WHOLE / 100);
    for finding in &mut short.findings {
        cut(&mut finding.message);
        cut(&mut finding.field);
        for text in [
            &mut finding.note,
            &mut finding.exempted,
            &mut finding.rule_fix,
        ]
        .into_iter()
        .flatten()
        {
            cut(text);
        }
    }
    for text in [&mut short.user, &mut short.path, &mut short.endpoint] {
        cut(text);
    }
    for text in [&mut short.container, &mut short.image, &mut short.identity]
        .into_iter()
        .flatten()
    {
        cut(text);
    }
    loop {
        let line = escape::harden_json(serde_json::to_string(&short).unwrap_or_default());
        if line.len() <= MSG_WHOLE || short.findings.is_empty() {
            return line;
        }
        short.findings.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Target::parse("unix:///dev/log"),
            Ok(Target::Unix("/dev/log".into()))
        );
        assert_eq!(
            Target::parse("udp://10.0.0.1:514"),
            Ok(Target::Udp("10.0.0.1:514".into()))
        );
        assert_eq!(
            Target::parse("tcp://logs:601"),
            Ok(Target::Tcp("logs:601".into()))
        );
        assert_eq!(
            Target::parse("http://x:1").unwrap_err().to_string(),
            "invalid syslog URL \"http://x:1\": use unix:///dev/log, udp://host:514 or tcp://host:601"
        );
        assert!(Target::parse("udp://host").is_err());
        assert!(Target::parse("unix://relative").is_err());
    }
}
