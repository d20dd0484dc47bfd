//! The OpenAPI document and the router agree both ways: every documented operation is answered by a
//! handler, every JSON route is registered through `routes!` (which documents it), and the document's
//! schemas are real and resolvable.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Answer, Fixture};
use protocol::Role;
use serde_json::Value;
use server::http::openapi::{Endpoint, endpoints};

/// The router's source: its `.route(…)` calls are the list of what is served.
const ROUTER_SOURCE: &str = include_str!("../src/http/mod.rs");

/// Routes that are not JSON API and are described in `docs/contracts.md` instead: the console redirect,
/// the loader, the widget page, static files, the console page and the WebSocket upgrades.
const UNDOCUMENTED: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/beckon.js"),
    ("get", "/widget/{site}"),
    // The chat's words in one language, a static file the widget page names (docs/contracts.md).
    ("get", "/widget/text/{file}"),
    ("get", "/assets/{*path}"),
    ("get", "/console"),
    ("get", "/ws/visitor"),
    ("get", "/ws/agent"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn all_endpoints() -> Vec<Endpoint> {
    endpoints(server::http::openapi::document())
}

fn documented() -> BTreeSet<(String, String)> {
    all_endpoints()
        .into_iter()
        .map(|endpoint| (endpoint.method, endpoint.path))
        .collect()
}

/// Every `$ref` anywhere under `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => refs(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

/// What follows the parenthesised group `text` starts with, skipping nested groups and string literals.
fn after_group(text: &str) -> &str {
    assert!(text.starts_with('('), "expected a group at {text:.40}");
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (index, character) in text.char_indices() {
        if in_string {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match character {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[index + 1..];
                }
            }
            _ => {}
        }
    }
    panic!("an unclosed group at {text:.40}")
}

/// Each (method, path) the router's plain `.route("PATH", get(…).post(…))` calls register: the routes
/// `routes!` does not document. Comment lines go first, then all whitespace, so however rustfmt splits a
/// call it reads the same.
fn routed() -> BTreeSet<(String, String)> {
    let code: String = ROUTER_SOURCE
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(str::chars)
        .filter(|character| !character.is_whitespace())
        .collect();
    // Routes added any other way would be invisible to this reading, and a fallback would answer the
    // requests that show a route is missing.
    for other in [
        ".route_service(",
        ".nest(",
        ".nest_service(",
        ".fallback(",
        ".fallback_service(",
    ] {
        assert!(
            !code.contains(other),
            "the router uses `{other}`: teach this test to read it"
        );
    }
    let mut routes = BTreeSet::new();
    for (start, call) in code.match_indices(".route(") {
        let arguments = &code[start + call.len()..];
        let (path, rest) = arguments
            .strip_prefix('"')
            .and_then(|rest| rest.split_once('"'))
            .unwrap_or_else(|| {
                panic!("a route path that is not a string literal: {arguments:.60}")
            });
        let mut rest = rest
            .strip_prefix(',')
            .unwrap_or_else(|| panic!("no method router after `{path}`"));
        loop {
            let name_end = rest.find('(').expect("a method router call");
            let method = &rest[..name_end];
            assert!(
                METHODS.contains(&method),
                "`{path}` is routed with `{method}`, which is not an HTTP method"
            );
            assert!(
                routes.insert((method.to_owned(), path.to_owned())),
                "`{method} {path}` is routed twice"
            );
            rest = after_group(&rest[name_end..]);
            match rest.strip_prefix('.') {
                Some(chained) => rest = chained,
                None => break,
            }
        }
        let rest = rest.strip_prefix(',').unwrap_or(rest);
        assert!(
            rest.starts_with(')'),
            "unexpected text after the routes of `{path}`: {rest:.40}"
        );
    }
    routes
}

/// The path with each `{name}` parameter filled with a value no resource has.
fn dummy_uri(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "dummy"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn method(endpoint: &Endpoint) -> Method {
    Method::from_bytes(endpoint.method.to_ascii_uppercase().as_bytes()).expect("an HTTP method")
}

async fn send(node: &common::Node, method: Method, uri: &str, cookie: &str) -> Answer {
    let mut request = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header(header::COOKIE, cookie);
    let body = if method == Method::GET {
        Body::empty()
    } else {
        request = request.header(header::CONTENT_TYPE, "application/json");
        Body::from("{}")
    };
    node.http(request.body(body).expect("a request")).await
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_with_every_endpoint_and_resolvable_schemas() {
    let node = Fixture::new().start().await;
    let answer = node.get("/api/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let document = answer.json();
    assert_eq!(document["openapi"], "3.1.0");

    // What is served is what the code builds.
    assert_eq!(&document, server::http::openapi::document());
    let endpoints = endpoints(&document);
    assert!(endpoints.len() >= 30, "only {} operations", endpoints.len());
    for endpoint in &endpoints {
        let what = format!("{} {}", endpoint.method, endpoint.path);
        assert!(METHODS.contains(&endpoint.method.as_str()), "{what}");
        assert!(endpoint.path.starts_with("/api/"), "{what}");
        let operation = &document["paths"][&endpoint.path][&endpoint.method];
        // One tag: who may call it.
        assert_eq!(
            operation["tags"].as_array().map(Vec::len),
            Some(1),
            "{what}"
        );
        assert!(
            endpoint
                .statuses
                .iter()
                .any(|status| (200..300).contains(status)),
            "{what} documents no success"
        );
        // Every refusal carries the error body.
        for status in endpoint.statuses.iter().filter(|status| **status >= 400) {
            assert_eq!(
                operation["responses"][status.to_string()]["content"]["application/json"]["schema"]
                    ["$ref"],
                "#/components/schemas/ErrorBody",
                "{what} {status}"
            );
        }
        // Routes behind the console's login say so, and the others do not.
        assert_eq!(
            operation.get("security").is_some(),
            endpoint.access.needs_session(),
            "{what}"
        );
        assert_eq!(
            endpoint.statuses.contains(&401),
            endpoint.access.needs_session() || endpoint.path == "/api/console/login",
            "{what}: 401 is the session's refusal"
        );
    }
    // A transfer to an agent answers 202.
    let transfer = endpoints
        .iter()
        .find(|endpoint| endpoint.path == "/api/conversations/{id}/transfer")
        .expect("the transfer route");
    assert!(transfer.statuses.contains(&200) && transfer.statuses.contains(&202));

    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("a `components.schemas` object");
    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(!found.is_empty(), "the document references no schema");
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("`{target}` does not point into components.schemas"));
        assert!(schemas.contains_key(name), "`{target}` resolves to nothing");
    }

    // Every schema says what it holds: no bare `{"type": "object"}` standing in for a type.
    for (name, schema) in schemas {
        let described = [
            "properties",
            "oneOf",
            "enum",
            "additionalProperties",
            "items",
        ]
        .iter()
        .any(|key| schema.get(key).is_some())
            || schema["type"] != "object";
        assert!(described, "schema `{name}` is a bare object: {schema}");
    }
    for request_or_answer in [
        "SiteConfig",
        "ConversationView",
        "AgentSummary",
        "ErrorBody",
    ] {
        assert!(
            schemas[request_or_answer]["properties"].is_object(),
            "{request_or_answer}: {}",
            schemas[request_or_answer]
        );
    }
    // The account rules, as the document states them, are the ones the server checks.
    let new_agent = &schemas["NewAgentRequest"]["properties"];
    assert_eq!(
        new_agent["username"]["pattern"],
        format!(
            "^[A-Za-z0-9._-]{{1,{}}}$",
            server::domain::agents::MAX_USERNAME_BYTES
        )
    );
    assert_eq!(
        new_agent["password"]["minLength"],
        server::domain::agents::MIN_PASSWORD_CHARS
    );
    for capacity in [
        &new_agent["capacity"],
        &schemas["AgentPatch"]["properties"]["capacity"],
    ] {
        assert_eq!(capacity["minimum"], 1, "{capacity}");
        assert_eq!(
            capacity["maximum"],
            server::domain::agents::MAX_CAPACITY,
            "{capacity}"
        );
    }
    // Each vocabulary lists exactly the names the protocol sends.
    let names = |schema: &str| -> Vec<String> {
        schemas[schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} is not an enum: {}", schemas[schema]))
            .iter()
            .map(|name| name.as_str().expect("a name").to_owned())
            .collect()
    };
    let sent = |all: Vec<&str>| all.into_iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        names("ConversationState"),
        sent(
            protocol::ConversationState::ALL
                .map(|state| state.as_str())
                .to_vec()
        )
    );
    assert_eq!(
        names("Presence"),
        sent(
            protocol::Presence::ALL
                .map(|presence| presence.as_str())
                .to_vec()
        )
    );
    assert_eq!(names("Role"), sent(Role::ALL.map(Role::as_str).to_vec()));
    assert_eq!(
        names("ErrorCode"),
        sent(protocol::ErrorCode::ALL.map(|code| code.as_str()).to_vec())
    );
}

#[tokio::test]
async fn every_documented_operation_is_answered_by_a_handler() {
    let node = Fixture::new().start().await;
    node.add_agent("ada", "Ada Admin", Role::Admin, 1, &[])
        .await;
    let cookie = node.login("ada").await;

    // What "no route" looks like: the router's own 404 and 405 have empty bodies, unlike a handler's.
    let missing = send(&node, Method::GET, "/api/no-such-route", &cookie).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.is_empty(), "{missing:?}");
    let wrong_method = send(&node, Method::DELETE, "/api/console/me", &cookie).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.body.is_empty(), "{wrong_method:?}");

    // Logging out ends the admin's session, so it goes last; an answer to a request without a session
    // would prove the route exists all the same.
    let logout = |endpoint: &&Endpoint| endpoint.path == "/api/console/logout";
    let endpoints = all_endpoints();
    let ordered = endpoints
        .iter()
        .filter(|endpoint| !logout(endpoint))
        .chain(endpoints.iter().filter(logout));
    for endpoint in ordered {
        let uri = dummy_uri(&endpoint.path);
        let answer = send(&node, method(endpoint), &uri, &cookie).await;
        let what = format!("{} {uri}: {answer:?}", endpoint.method);
        assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
        if answer.status == StatusCode::NOT_FOUND {
            // A handler's 404 names what it did not find; the router's has no body at all.
            assert!(!answer.error_code().is_empty(), "{what}");
        }
    }
}

#[test]
fn every_api_route_is_documented_and_every_other_route_is_a_known_page_or_socket() {
    // JSON routes are registered with `routes!`, which documents them: a plain `.route` for one would
    // serve it undocumented.
    let routed = routed();
    let api: Vec<&(String, String)> = routed
        .iter()
        .filter(|(_, path)| path.starts_with("/api/"))
        .collect();
    assert!(
        api.is_empty(),
        "JSON routes registered without `routes!`, so without documentation: {api:?}"
    );
    let expected: BTreeSet<(String, String)> = UNDOCUMENTED
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(
        routed, expected,
        "a page or socket route is new or gone: list it in UNDOCUMENTED and docs/contracts.md"
    );
    // Nothing outside /api/ is documented as JSON.
    let documented = documented();
    assert!(
        documented.iter().all(|(_, path)| path.starts_with("/api/")),
        "{documented:?}"
    );
    assert!(documented.is_disjoint(&routed));
}
