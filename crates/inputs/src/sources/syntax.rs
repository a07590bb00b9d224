//! Values as the docker CLI and compose parse them: booleans, sizes,
//! published ports.

/// A boolean as Go's `strconv.ParseBool` reads it, which is how the docker
/// CLI's flag parser (pflag) reads `--privileged=VALUE`.
pub fn parse_bool(text: &str) -> Option<bool> {
    dockgate_model::host::go_bool(text)
}

/// A boolean as Compose reads a YAML value: compose-go casts any string,
/// quoted or not, case-insensitively (`true`, `yes`, `on`, `y` and their
/// opposites); a YAML number is not a boolean (compose-go
/// `transform/cast.go` and the schema's `boolean or string`).
pub(crate) fn compose_bool(node: &crate::yaml::Node) -> Result<bool, String> {
    let text = node
        .as_str()
        .ok_or_else(|| "must be a boolean or string".to_string())?;
    let quoted = matches!(node.value, crate::yaml::Value::Scalar(_, true));
    if !quoted && text.parse::<f64>().is_ok() {
        return Err("must be a boolean or string".to_string());
    }
    match text.to_ascii_lowercase().as_str() {
        "true" | "y" | "yes" | "on" => Ok(true),
        "false" | "n" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "failed to cast to expected type: invalid boolean: {text}"
        )),
    }
}

/// Parses a byte size as docker and compose write it: `512m`, `1g`,
/// `1.5GB`, `1024`.
pub fn parse_bytes(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let factor: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| (n * factor) as i64)
}

/// A short-syntax compose volume split into its fields, as compose-go's
/// `format.ParseVolume`: a colon right after a single letter belongs to a
/// Windows drive (`C:\\data`), so `x:/x` is one field, an anonymous
/// volume at `x:/x`.
pub(crate) fn split_compose_volume(spec: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut buffer = String::new();
    for c in spec.chars() {
        let drive =
            c == ':' && buffer.chars().count() == 1 && buffer.chars().all(char::is_alphabetic);
        if c == ':' && !drive {
            parts.push(std::mem::take(&mut buffer));
        } else {
            buffer.push(c);
        }
    }
    parts.push(buffer);
    parts
}

/// Whether Compose takes a volume source for a host path (compose-go
/// `isFilePath`): `.`, `/`, `~`, a `\\` pipe, or a drive letter.
pub(crate) fn compose_is_path(source: &str) -> bool {
    let mut chars = source.chars();
    match (chars.next(), chars.next()) {
        (Some('.' | '/' | '~'), _) => true,
        _ if source.starts_with("\\\\") => true,
        (Some(letter), Some(':')) => letter.is_alphabetic(),
        _ => false,
    }
}

/// One published port: host IP, host port (or range), `CONTAINER/PROTO`.
pub type PortBinding = (String, String, String);

/// Which front end reads a value where the docker CLI and Compose
/// differ. Ports are go-connections' `nat.ParsePortSpec` to both, but the
/// version Compose 2.26 links refuses an unbracketed IPv6 address
/// (`::1:86:86`), which the docker CLI's reads as the address before the
/// last two parts; `seccomp=builtin` is a file name only to Compose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The docker CLI (`-p`).
    Cli,
    /// Compose (`ports:`).
    Compose,
}

/// Parses a published port, `[[IP:]HOST:]CONTAINER[/PROTO]`, into the
/// bindings it makes: a container range publishes one binding per port.
/// The error is go-connections' message.
pub fn parse_port(spec: &str, reader: Reader) -> Result<Vec<PortBinding>, String> {
    let (spec, proto) = match spec.split_once('/') {
        Some((s, "")) => (s, "tcp"),
        Some((s, p)) => (s, p),
        None => (spec, "tcp"),
    };
    let proto = proto.to_ascii_lowercase();
    // splitParts: the container port is the last part, the host port the
    // one before, and everything before that the address.
    let parts: Vec<&str> = spec.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] => (String::new(), "", *c),
        [h, c] => (String::new(), *h, *c),
        [leading @ .., h, c] => (leading.join(":"), *h, *c),
        [] => (String::new(), "", ""),
    };
    let ip = match ip.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']').unwrap_or(inner).to_string(),
        None if reader == Reader::Compose && ip.contains(':') => {
            return Err(format!(
                "Invalid ip address {ip}: address {ip}:: too many colons in address"
            ))
        }
        None => ip,
    };
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("Invalid ip address: {ip}"));
    }
    if container.is_empty() {
        return Err(format!("No port specified: {spec}<empty>"));
    }
    let range = |p: &str| -> Option<(u16, u16)> {
        let (low, high) = p.split_once('-').unwrap_or((p, p));
        let (low, high) = (low.parse::<u16>().ok()?, high.parse::<u16>().ok()?);
        (low <= high).then_some((low, high))
    };
    let (start, end) =
        range(container).ok_or_else(|| format!("Invalid containerPort: {container}"))?;
    let (host_start, host_end) = if host.is_empty() {
        (0, 0)
    } else {
        range(host).ok_or_else(|| format!("Invalid hostPort: {host}"))?
    };
    if !host.is_empty() && end - start != host_end - host_start && end != start {
        return Err(format!(
            "Invalid ranges specified for container and host Ports: {container} and {host}"
        ));
    }
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("Invalid proto: {proto}"));
    }
    Ok((0..=end - start)
        .map(|i| {
            let host_port = if host.is_empty() {
                String::new()
            } else if end == start && host_start != host_end {
                format!("{host_start}-{host_end}")
            } else {
                (host_start + i).to_string()
            };
            (ip.clone(), host_port, format!("{}/{proto}", start + i))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("512m"), Some(512 << 20));
        assert_eq!(parse_bytes("1G"), Some(1 << 30));
        assert_eq!(parse_bytes("1.5gb"), Some(3 << 29));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("lots"), None);
    }

    #[test]
    fn port_specs() {
        let one = |s, r| {
            let mut all = parse_port(s, r).unwrap();
            assert_eq!(all.len(), 1, "{s}");
            let (ip, host, container) = all.remove(0);
            format!("{ip}|{host}|{container}")
        };
        let cli = |s| one(s, Reader::Cli);
        assert_eq!(cli("80"), "||80/tcp");
        assert_eq!(cli("8080:80"), "|8080|80/tcp");
        assert_eq!(cli("127.0.0.1:8080:80/UDP"), "127.0.0.1|8080|80/udp");
        assert_eq!(cli("127.0.0.1::80"), "127.0.0.1||80/tcp");
        assert_eq!(cli("[::1]:8080:80"), "::1|8080|80/tcp");
        assert_eq!(cli("::1:86:86"), "::1|86|86/tcp");
        assert_eq!(cli("::103"), "||103/tcp");
        assert_eq!(cli("9100-9110:93"), "|9100-9110|93/tcp");
        assert_eq!(
            parse_port("9000-9002:90-92", Reader::Cli).unwrap(),
            [90, 91, 92].map(|p| (String::new(), (p + 8910).to_string(), format!("{p}/tcp")))
        );
        // The cases of the differential corpus (`port-p*`), with Compose's
        // messages.
        let compose = |s| parse_port(s, Reader::Compose).unwrap_err();
        assert_eq!(
            compose("::1:86:86"),
            "Invalid ip address ::1: address ::1:: too many colons in address"
        );
        assert_eq!(
            compose("9000-9001:90-92"),
            "Invalid ranges specified for container and host Ports: 90-92 and 9000-9001"
        );
        assert_eq!(compose("97:97/foo"), "Invalid proto: foo");
        assert_eq!(compose("127.0.0.1:99"), "Invalid hostPort: 127.0.0.1");
        assert_eq!(compose("65536"), "Invalid containerPort: 65536");
        assert_eq!(compose("80:"), "No port specified: 80:<empty>");
        assert!(parse_port("a:b:c:d", Reader::Cli).is_err());
    }

    #[test]
    fn booleans_as_go_parses_them() {
        for yes in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(yes), Some(true), "{yes}");
        }
        for no in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(no), Some(false), "{no}");
        }
        for bad in ["yes", "on", "tRue", "", "2"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }
}
