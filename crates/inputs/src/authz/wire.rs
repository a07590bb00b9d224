//! The AuthZ plugin protocol's wire types, as moby's `pkg/authorization`
//! defines them: what the daemon sends to `/AuthZPlugin.AuthZReq` and
//! `/AuthZPlugin.AuthZRes`, and what the plugin answers.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};

/// The content type of every plugin answer.
pub const PLUGIN_JSON: &str = "application/vnd.docker.plugins.v1+json";

/// `authorization.Request`, as the daemon sends it to `/AuthZPlugin.AuthZReq`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthzRequest {
    /// The user from the client's TLS certificate, empty without TLS.
    #[serde(rename = "User")]
    pub user: String,
    /// How the user was authenticated (`TLS`).
    #[serde(rename = "UserAuthNMethod")]
    pub user_authn_method: String,
    /// The HTTP method.
    #[serde(rename = "RequestMethod")]
    pub method: String,
    /// The raw request target.
    #[serde(rename = "RequestUri", alias = "RequestURI")]
    pub uri: String,
    /// The body, base64 on the wire; absent when the daemon did not forward it.
    #[serde(rename = "RequestBody", with = "base64_body")]
    pub body: Option<Vec<u8>>,
    /// The request headers, without credentials.
    #[serde(rename = "RequestHeaders")]
    pub headers: Option<BTreeMap<String, String>>,
}

/// `authorization.Request` as the daemon sends it to `/AuthZPlugin.AuthZRes`:
/// the request again, with the response the daemon is about to return.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuthzResponseCall {
    /// The request, as it was judged.
    #[serde(flatten)]
    pub request: AuthzRequest,
    /// The status the daemon answers with.
    #[serde(rename = "ResponseStatusCode")]
    pub status: i64,
    /// The response body, base64 on the wire.
    #[serde(rename = "ResponseBody", with = "base64_body")]
    pub body: Option<Vec<u8>>,
}

/// `authorization.Response`: the plugin's answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct AuthzResponse {
    /// Whether the daemon may go ahead.
    #[serde(rename = "Allow")]
    pub allow: bool,
    /// Shown to the client on a denial.
    #[serde(rename = "Msg", skip_serializing_if = "String::is_empty")]
    pub msg: String,
    /// The plugin's own failure; the daemon denies.
    #[serde(rename = "Err", skip_serializing_if = "String::is_empty")]
    pub err: String,
}

impl AuthzRequest {
    /// A copy of what [`read_request`](super::read_request) reads (and [`same_request`](super::same_request)
    /// compares): the method, target, body and headers.
    pub fn as_read(&self) -> AuthzRequest {
        AuthzRequest {
            method: self.method.clone(),
            uri: self.uri.clone(),
            body: self.body.clone(),
            headers: self.headers.clone(),
            ..AuthzRequest::default()
        }
    }

    /// Who asked for what, without body or headers: enough for the audit
    /// record of a request refused before it was read.
    pub fn summary(&self) -> AuthzRequest {
        AuthzRequest {
            user: self.user.clone(),
            user_authn_method: self.user_authn_method.clone(),
            method: self.method.clone(),
            uri: self.uri.clone(),
            ..AuthzRequest::default()
        }
    }
}

mod base64_body {
    use base64::Engine;
    use serde::{Deserializer, Serializer};

    /// Decodes the base64 text where it lies in the request: a create's
    /// body is a few KiB, and copying it into a string first cost as much
    /// as decoding it.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        d.deserialize_option(OptionalBody)
    }

    struct OptionalBody;

    impl<'de> serde::de::Visitor<'de> for OptionalBody {
        type Value = Option<Vec<u8>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a base64 string or null")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_str<E: serde::de::Error>(self, encoded: &str) -> Result<Self::Value, E> {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .map(Some)
                .map_err(E::custom)
        }
    }

    pub fn serialize<S: Serializer>(body: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match body {
            None => s.serialize_none(),
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
        }
    }
}

impl AuthzRequest {
    /// A header value, looked up case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .flatten()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Builds a request as the daemon would send it, for tests and tools.
    pub fn new(method: &str, uri: &str, body: Option<&[u8]>) -> Self {
        let mut headers = BTreeMap::new();
        if let Some(body) = body {
            headers.insert("Content-Type".into(), "application/json".into());
            headers.insert("Content-Length".into(), body.len().to_string());
        }
        AuthzRequest {
            method: method.to_string(),
            uri: uri.to_string(),
            body: body.map(<[u8]>::to_vec),
            headers: Some(headers),
            ..AuthzRequest::default()
        }
    }

    /// The body as base64, as on the wire.
    pub fn body_base64(&self) -> Option<String> {
        self.body
            .as_ref()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
    }
}
