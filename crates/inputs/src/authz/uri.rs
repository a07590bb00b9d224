//! Reading a request URI the way the daemon's HTTP stack does.
//!
//! The daemon hands plugins `http.Request.RequestURI`: the request target
//! exactly as the client sent it, still percent-encoded, with its query,
//! possibly in absolute form (`http://host/v1.41/...`). Its router, however,
//! matches the decoded and cleaned path, with or without a `/v1.NN` prefix.
//! A plugin that matches the raw string is bypassed by `/containers/%63reate`
//! or by `http://x/containers/create`, so this module produces the path the
//! router matches.

/// Why a request target could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// A `%` not followed by two hex digits; Go rejects the request.
    #[error("request URI {uri:?} has an invalid percent-escape")]
    BadEscape {
        /// The URI as received.
        uri: String,
    },
    /// Not an origin-form or absolute-form target.
    #[error("request URI {uri:?} is not a path")]
    NotAPath {
        /// The URI as received.
        uri: String,
    },
    /// A query the daemon's form parser rejects (`;` separators, bad escapes).
    #[error("request URI {uri:?} has a query the daemon cannot parse")]
    BadQuery {
        /// The URI as received.
        uri: String,
    },
}

/// A request target as the daemon's router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPath {
    /// The decoded, cleaned path without the version prefix.
    pub path: String,
    /// The API version from a `/vX.Y` prefix, if there was one.
    pub version: Option<String>,
    /// The decoded query parameters, in order.
    pub query: Vec<(String, String)>,
}

impl ApiPath {
    /// The first value of a query parameter, as Go's `Form.Get` returns it.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a query parameter.
    pub fn query_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request uses an API version older than `major.minor`.
    /// Requests without a version get the daemon's current one.
    pub fn version_below(&self, major: u32, minor: u32) -> bool {
        let Some(version) = &self.version else {
            return false;
        };
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (a, b) < (major, minor)
    }
}

/// Parses a `RequestURI` as forwarded to the plugin.
pub fn parse_request_uri(uri: &str) -> Result<ApiPath, UriError> {
    let mut target = uri;
    // Absolute form: Go keeps the whole URL in RequestURI but routes on its path.
    for scheme in ["http://", "https://", "HTTP://", "HTTPS://"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            target = match rest.find('/') {
                Some(i) => &rest[i..],
                None => "/",
            };
            break;
        }
    }
    if !target.starts_with('/') {
        return Err(UriError::NotAPath {
            uri: uri.to_string(),
        });
    }
    let (raw_path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let decoded = percent_decode(raw_path, false).ok_or_else(|| UriError::BadEscape {
        uri: uri.to_string(),
    })?;
    let cleaned = clean_like_mux(&decoded);
    let (version, path) = split_version(&cleaned);
    let query = parse_query(raw_query).ok_or_else(|| UriError::BadQuery {
        uri: uri.to_string(),
    })?;
    Ok(ApiPath {
        path,
        version,
        query,
    })
}

/// Splits a `/v1.41` prefix off, as the router's `/v{version:[0-9.]+}`
/// matcher does.
fn split_version(path: &str) -> (Option<String>, String) {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if end > 0 && rest[end..].starts_with('/') {
            return (Some(rest[..end].to_string()), rest[end..].to_string());
        }
    }
    (None, path.to_string())
}

/// Cleans a path as gorilla/mux does before matching: `path.Clean`, keeping
/// a trailing slash. (mux redirects an unclean path instead of serving it;
/// matching the cleaned path can only make dockgate stricter.)
fn clean_like_mux(path: &str) -> String {
    let mut cleaned = dockgate_model::clean_path(path);
    if path.ends_with('/') && cleaned != "/" {
        cleaned.push('/');
    }
    cleaned
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (and `+` as a space in query mode) like Go's
/// `url.PathUnescape` / `url.QueryUnescape`. Returns `None` on a bad escape.
pub fn percent_decode(input: &str, plus_is_space: bool) -> Option<String> {
    let escaped = input.contains('%') || (plus_is_space && input.contains('+'));
    if !escaped {
        return Some(input.to_string());
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = hex(*bytes.get(i + 1)?)?;
                let lo = hex(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Go strings may hold any bytes; invalid UTF-8 can never name a route
    // or a resource dockgate allows, so a lossy conversion is safe.
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Parses a query string like Go's `url.ParseQuery` (Go 1.17 and later): a
/// `;` in a key or a bad escape is an error, which makes the daemon reject
/// the request.
fn parse_query(raw: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for part in raw.split('&') {
        if part.is_empty() {
            continue;
        }
        if part.contains(';') {
            return None;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((percent_decode(k, true)?, percent_decode(v, true)?));
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(uri: &str) -> (Option<String>, String) {
        let p = parse_request_uri(uri).unwrap();
        (p.version, p.path)
    }

    #[test]
    fn versions_and_paths() {
        assert_eq!(
            path("/v1.41/containers/create"),
            (Some("1.41".into()), "/containers/create".into())
        );
        assert_eq!(
            path("/containers/create"),
            (None, "/containers/create".into())
        );
        assert_eq!(
            path("/v1.4.1/containers/create?name=x"),
            (Some("1.4.1".into()), "/containers/create".into())
        );
        assert_eq!(path("/volumes/create"), (None, "/volumes/create".into()));
        assert_eq!(
            path("/v/containers/json"),
            (None, "/v/containers/json".into())
        );
    }

    #[test]
    fn percent_encoded_paths_are_decoded() {
        assert_eq!(path("/v1.41/containers/%63reate").1, "/containers/create");
        assert_eq!(path("/v1.41/containers%2Fcreate").1, "/containers/create");
        assert_eq!(path("/%761.41/containers/create").0, Some("1.41".into()));
    }

    #[test]
    fn absolute_form_targets_route_on_their_path() {
        assert_eq!(
            path("http://docker/v1.41/containers/create"),
            (Some("1.41".into()), "/containers/create".into())
        );
    }

    #[test]
    fn unclean_paths_are_cleaned() {
        assert_eq!(path("/v1.41//containers/./create").1, "/containers/create");
        assert_eq!(
            path("/v1.41/images/../containers/create").1,
            "/containers/create"
        );
        assert_eq!(path("/containers/create/").1, "/containers/create/");
    }

    #[test]
    fn query_parameters() {
        let p = parse_request_uri("/images/create?fromImage=a%2Fb&tag=1+2&t=x&t=y").unwrap();
        assert_eq!(p.query_value("fromImage"), Some("a/b"));
        assert_eq!(p.query_value("tag"), Some("1 2"));
        assert_eq!(p.query_values("t").collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            parse_request_uri("/containers/%zzcreate")
                .unwrap_err()
                .to_string(),
            "request URI \"/containers/%zzcreate\" has an invalid percent-escape"
        );
        assert_eq!(
            parse_request_uri("*").unwrap_err().to_string(),
            "request URI \"*\" is not a path"
        );
        assert_eq!(
            parse_request_uri("/build?networkmode=host;x=1")
                .unwrap_err()
                .to_string(),
            "request URI \"/build?networkmode=host;x=1\" has a query the daemon cannot parse"
        );
    }

    #[test]
    fn version_comparison() {
        let p = parse_request_uri("/v1.23/containers/x/start").unwrap();
        assert!(p.version_below(1, 24));
        let p = parse_request_uri("/v1.41/containers/x/start").unwrap();
        assert!(!p.version_below(1, 24));
        let p = parse_request_uri("/containers/x/start").unwrap();
        assert!(!p.version_below(1, 24));
    }
}
