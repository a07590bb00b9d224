use super::*;
use crate::testdata;

#[test]
fn captured_requests_route_like_the_daemon() {
    let expect = [
        (
            "run-plain",
            &[
                "container.create",
                "container.attach",
                "container.wait",
                "container.start",
            ][..],
        ),
        ("exec-plain", &["exec.create", "exec.start"]),
        ("rm-container", &["container.delete"]),
        ("update-resources", &["container.update"]),
        ("volume-create", &["volume.create"]),
    ];
    for (name, endpoints) in expect {
        let doc: serde_json::Value =
            serde_json::from_slice(&testdata::read(&format!("authz/{name}.json"))).unwrap();
        let requests: Vec<AuthzRequest> = serde_json::from_value(doc["requests"].clone()).unwrap();
        let got: Vec<String> = requests
            .iter()
            .map(|r| read_request(r).unwrap().endpoint_name())
            .collect();
        assert_eq!(got, endpoints, "{name}");
    }
}

#[test]
fn wire_format_round_trips() {
    let (_, request) = testdata::authz("run-plain");
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri, "/v1.41/containers/create");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(json["RequestUri"], "/v1.41/containers/create");
    assert_eq!(
        json["RequestBody"].as_str(),
        request.body_base64().as_deref()
    );
}

#[test]
fn missing_bodies_are_explained() {
    let mut r = AuthzRequest::new("POST", "/containers/create", None);
    let reason = |r: &AuthzRequest| match read_request(r).unwrap_err() {
        ReadError::BodyMissing { reason, .. } => reason,
        other => panic!("{other}"),
    };
    assert_eq!(
        reason(&r),
        "the body was sent without a Content-Length, e.g. chunked (CVE-2024-41110)"
    );
    let headers = r.headers.as_mut().unwrap();
    headers.insert("Content-Length".into(), "0".into());
    assert_eq!(reason(&r), "the body is empty");
    let headers = r.headers.as_mut().unwrap();
    headers.insert("Content-Length".into(), "2000000".into());
    assert_eq!(
        reason(&r),
        "the body is 2000000 bytes, over the daemon's 1048576-byte forwarding limit"
    );
    let headers = r.headers.as_mut().unwrap();
    headers.insert("Content-Length".into(), "20".into());
    headers.insert(
        "Content-Type".into(),
        "application/json; charset=utf-8".into(),
    );
    assert_eq!(
        reason(&r),
        "the Content-Type is \"application/json; charset=utf-8\"; daemons forward only an exact \"application/json\""
    );
}

#[test]
fn image_pulls_and_tags_name_their_image() {
    let r = AuthzRequest::new(
        "POST",
        "/v1.41/images/create?fromImage=alpine&tag=3.19",
        None,
    );
    assert_eq!(
        read_request(&r).unwrap().workload.image.unwrap().value,
        "alpine:3.19"
    );
    let r = AuthzRequest::new(
        "POST",
        "/images/create?fromImage=alpine&tag=sha256:ab",
        None,
    );
    assert_eq!(
        read_request(&r).unwrap().workload.image.unwrap().value,
        "alpine@sha256:ab"
    );
    let r = AuthzRequest::new(
        "POST",
        "/images/evil:1/tag?repo=registry.example.com/app&tag=1",
        None,
    );
    assert_eq!(
        read_request(&r).unwrap().workload.image.unwrap().value,
        "evil:1"
    );
}

#[test]
fn access_routes_are_all_prefiltered() {
    for route in routes::ROUTES {
        if route.endpoint == routes::Endpoint::ContainerAccess {
            assert!(
                ACCESS_SEGMENTS.iter().any(|s| route.pattern.contains(s)),
                "{} is not in ACCESS_SEGMENTS",
                route.pattern
            );
        }
    }
}

#[test]
fn copies_and_attaches_reach_into_their_container() {
    for (method, uri, reaches) in [
        ("GET", "/v1.41/containers/web/archive?path=/etc", true),
        ("HEAD", "/containers/web/archive?path=/", true),
        ("PUT", "/containers/web/archive?path=/", true),
        ("POST", "/v1.41/containers/web/attach?stream=1", true),
        ("GET", "/v1.41/containers/web/attach/ws", true),
        ("POST", "/v1.41/containers/web/rename?name=db", true),
        // Escapes cannot hide the route.
        ("GET", "/v1.41/containers/web/%61rchive?path=/etc", true),
        ("POST", "/containers/web/attac%68", true),
        // dockgate's own look-ups must stay cheap GETs.
        ("GET", "/v1.41/containers/archive/json", false),
        ("GET", "/v1.41/volumes/archive", false),
        ("GET", "/v1.41/containers/json", false),
    ] {
        let req = AuthzRequest::new(method, uri, None);
        assert_eq!(reads_existing_container(&req), reaches, "{method} {uri}");
        let read = read_request(&req).unwrap();
        assert_eq!(
            read.enters_existing.is_some(),
            reaches,
            "{method} {uri}: {:?}",
            read.enters_existing
        );
    }
    let read = read_request(&AuthzRequest::new(
        "PUT",
        "/containers/web/archive?path=/",
        None,
    ))
    .unwrap();
    assert_eq!(read.enters_existing.as_deref(), Some("web"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A route template with its variables filled in.
    fn instantiate(pattern: &str, name: &str) -> String {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .map_or(rest.len(), |e| start + e + 1);
            out.push_str(name);
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    /// Percent-encodes the bytes the choices pick (never `/`, which would
    /// change the path's segments for Go as well).
    fn encode(path: &str, picks: &[bool]) -> String {
        path.bytes()
            .zip(picks.iter().cycle())
            .map(|(b, &pick)| {
                if pick && b != b'/' {
                    format!("%{b:02X}")
                } else {
                    (b as char).to_string()
                }
            })
            .collect()
    }

    proptest! {
        /// However the path is written (percent-encoded, with or without a
        /// version, in absolute form, with a query), dockgate routes it to
        /// the route the daemon would.
        #[test]
        fn spellings_of_a_path_route_alike(
            pick in any::<prop::sample::Index>(),
            name in "[a-z][a-z0-9_.-]{0,11}",
            picks in prop::collection::vec(any::<bool>(), 1..24),
            version in prop::option::of("1\\.(4[1-9]|5[0-2])"),
            absolute in any::<bool>(),
        ) {
            let route = &routes::ROUTES[pick.index(routes::ROUTES.len())];
            let path = instantiate(route.pattern, &name);
            let expected = routes::match_route(route.method, &path).map(|m| m.route.name);
            let mut uri = encode(&path, &picks);
            if let Some(v) = &version {
                uri = format!("/v{v}{uri}");
            }
            if absolute {
                uri = format!("http://docker{uri}");
            }
            uri.push_str("?x=1");
            let read = read_request(&AuthzRequest::new(route.method, &uri, Some(b"{}")));
            let routed = match &read {
                Ok(read) => read.route.as_ref().map(|m| m.route.name),
                Err(_) => None,
            };
            prop_assert_eq!(routed, expected, "{} {}", route.method, uri);
        }
    }
}
