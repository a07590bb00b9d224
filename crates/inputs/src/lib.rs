//! Front ends of dockgate: everything that turns an outside document into
//! the [`dockgate_model::Workload`] description that rules judge.
//!
//! - [`authz`]: AuthZ plugin requests, read the way the daemon routes and
//!   decodes them;
//! - [`api_body`]: the Docker API request bodies behind them;
//! - [`inspect`]: `docker inspect` documents;
//! - [`resolve`]: looking up what a request only names;
//! - [`sources`]: compose projects and `docker run`/`exec` lines, turned
//!   into the requests Compose and the docker CLI would send.
//!
//! [`gojson`] holds the Go-compatible JSON decoder they share, and
//! [`yaml`] the go-yaml v3 reading of YAML.

pub mod api_body;
pub mod authz;
pub mod docker_types;
pub mod gojson;
pub mod inspect;
pub mod resolve;
pub mod sources;
pub mod yaml;

pub use authz::{AuthzRequest, AuthzResponse, AuthzResponseCall};
pub use sources::Location;

#[cfg(test)]
pub(crate) mod testdata {
    //! Captured fixtures shipped with the repository.
    use std::path::PathBuf;

    /// The repository's `fixtures/captured` directory.
    pub fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/captured")
    }

    /// The bytes of a captured file.
    pub fn read(relative: &str) -> Vec<u8> {
        std::fs::read(dir().join(relative)).unwrap_or_else(|e| panic!("fixture {relative}: {e}"))
    }

    /// The first AuthZ request of a capture, and the command that made it.
    pub fn authz(name: &str) -> (String, crate::authz::AuthzRequest) {
        let doc: serde_json::Value =
            serde_json::from_slice(&read(&format!("authz/{name}.json"))).unwrap();
        let request = serde_json::from_value(doc["requests"][0].clone()).unwrap();
        (doc["command"].as_str().unwrap().to_string(), request)
    }
}
