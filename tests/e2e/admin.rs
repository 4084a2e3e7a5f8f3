//! The admin API: token, OpenAPI conformance, and the CLI on top of it.

use std::sync::OnceLock;

use serde_json::Value;

use crate::harness::{Node, admin, app_dir, hello_manifest, http, tar_of};

fn openapi() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json"))
                .unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

/// Check a response against the schema `docs/openapi.json` gives for this
/// path template, method and status.
fn conforms(template: &str, method: &str, status: u16, body: &Value) {
    let doc = openapi();
    let op = &doc["paths"][template][method];
    assert!(
        op.is_object(),
        "{method} {template} is not in the OpenAPI document"
    );
    let mut resp = &op["responses"][status.to_string()];
    assert!(
        resp.is_object(),
        "{method} {template} does not document status {status}"
    );
    if let Some(r) = resp["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        resp = &doc["components"]["responses"][name];
    }
    let schema = &resp["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {template} {status} has no JSON schema"
    );
    // Validate with the whole document as the root so `$ref`s resolve.
    let mut root = doc.clone();
    root.as_object_mut().unwrap().insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    for (k, v) in schema.as_object().unwrap() {
        root.as_object_mut().unwrap().insert(k.clone(), v.clone());
    }
    let validator = jsonschema::validator_for(&root).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status}: {errors:?}\nbody: {body}"
    );
}

/// The OpenAPI path template matching a concrete path (`{x}` is one segment).
fn template_of(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    openapi()["paths"]
        .as_object()
        .unwrap()
        .keys()
        .find(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            ts.len() == segments.len()
                && ts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t.starts_with('{') || t == s)
        })
        .unwrap_or_else(|| panic!("{path} is not in the OpenAPI document"))
        .clone()
}

/// Send `"METHOD /path"` and check the answer against the OpenAPI document.
pub(crate) fn call(
    node: &Node,
    client: &reqwest::blocking::Client,
    request: &str,
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let (method, path) = request.split_once(' ').unwrap();
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(m, node.admin_url(path));
    if let Some(b) = body {
        let content_type = if path.contains("/secrets/") {
            "text/plain"
        } else {
            "application/x-tar"
        };
        req = req.header("content-type", content_type).body(b);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    if status != 204 {
        conforms(&template_of(path), &method.to_lowercase(), status, &value);
    }
    (status, value)
}

#[test]
fn every_endpoint_answers_as_the_openapi_document_says() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let c = admin(&node);
    let dir = app_dir(&hello_manifest("api", "/api"), &[("hello.wasm", "hello")]);
    let tar = tar_of(dir.path());
    let status = |request: &str, body: Option<Vec<u8>>| call(&node, &c, request, body).0;

    let (s, health) = call(&node, &http(), "GET /v1/health", None);
    assert_eq!((s, health["apps"].as_u64()), (200, Some(0)));
    assert_eq!(status("PUT /v1/apps/api", Some(tar.clone())), 201);
    assert_eq!(status("PUT /v1/apps/api", Some(tar)), 201);
    assert_eq!(status("PUT /v1/apps/api", Some(b"not a tar".to_vec())), 400);
    let (s, list) = call(&node, &c, "GET /v1/apps", None);
    assert_eq!(s, 200);
    assert_eq!(list[0]["name"], "api");
    assert_eq!(list[0]["version"], 2);
    let (s, show) = call(&node, &c, "GET /v1/apps/api", None);
    assert_eq!(s, 200);
    assert_eq!(show["services"][0]["routes"][0], "/api");
    assert_eq!(show["services"][0]["limits"]["memory_bytes"], 64 << 20);
    assert_eq!(status("GET /v1/apps/nope", None), 404);
    let (s, versions) = call(&node, &c, "GET /v1/apps/api/versions", None);
    assert_eq!(s, 200);
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(status("POST /v1/apps/api/rollback", None), 200);
    assert_eq!(status("POST /v1/apps/api/rollback", None), 409);
    assert_eq!(status("GET /v1/apps/nope/versions", None), 404);
    let (s, health) = call(&node, &http(), "GET /v1/health", None);
    assert_eq!((s, health["apps"].as_u64()), (200, Some(1)));
    assert_eq!(status("DELETE /v1/apps/api", None), 204);
    assert_eq!(status("DELETE /v1/apps/api", None), 404);

    // Secrets, of a deployed app or not.
    let (s, set) = call(
        &node,
        &c,
        "PUT /v1/apps/api/secrets/api_key",
        Some(b"k".to_vec()),
    );
    assert_eq!((s, set["name"].as_str()), (200, Some("api_key")));
    let (s, list) = call(&node, &c, "GET /v1/apps/api/secrets", None);
    assert_eq!((s, list[0]["name"].as_str()), (200, Some("api_key")));
    let (s, list) = call(&node, &c, "GET /v1/apps/nope/secrets", None);
    assert_eq!((s, list), (200, serde_json::json!([])));
    assert_eq!(
        status("PUT /v1/apps/api/secrets/api_key", Some(vec![])),
        400
    );
    assert_eq!(
        status("PUT /v1/apps/api/secrets/1st", Some(b"k".to_vec())),
        400
    );
    assert_eq!(status("GET /v1/apps/Api/secrets", None), 400);
    assert_eq!(status("DELETE /v1/apps/api/secrets/bad-name", None), 400);
    assert_eq!(status("DELETE /v1/apps/api/secrets/api_key", None), 204);
    assert_eq!(status("DELETE /v1/apps/api/secrets/api_key", None), 404);
}

#[test]
fn requests_without_the_token_get_401() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let token_file = data.path().join("admin-token");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let plain = http();
    for (method, path) in [
        ("get", "/v1/apps"),
        ("put", "/v1/apps/x"),
        ("get", "/v1/apps/x"),
        ("delete", "/v1/apps/x"),
        ("get", "/v1/apps/x/versions"),
        ("post", "/v1/apps/x/rollback"),
        ("post", "/v1/apps/x/invoke/"),
        ("get", "/v1/apps/x/secrets"),
        ("put", "/v1/apps/x/secrets/token"),
        ("delete", "/v1/apps/x/secrets/token"),
    ] {
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = plain
            .request(m.clone(), node.admin_url(path))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 401, "{method} {path}");
        let body: Value = resp.json().unwrap();
        assert!(body["error"].as_str().unwrap().contains("token"));
        let resp = plain
            .request(m, node.admin_url(path))
            .bearer_auth("wrong")
            .send()
            .unwrap();
        assert_eq!(resp.status(), 401, "{method} {path} with a wrong token");
    }
    let (s, body) = call(&node, &plain, "GET /v1/apps", None);
    assert_eq!(s, 401);
    assert!(body["error"].is_string());
}

#[test]
fn cli_deploy_ls_show_invoke_rm() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let dir = app_dir(
        "name = \"cli\"\n\n[services.echo]\nsource = \"echo.wasm\"\nroutes = [\"/e/*\"]\nenv = { GREETING = \"hi\" }\n",
        &[("echo.wasm", "echo")],
    );
    let out = node.cli(&["deploy", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deployed cli version 1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = node.cli(&["ls"]);
    let ls = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && ls.contains("cli"), "{ls}");

    let out = node.cli(&["show", "cli", "--json"]);
    let show: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(show["services"][0]["env"][0], "GREETING");

    let out = node.cli(&[
        "invoke",
        "cli",
        "--path",
        "/e/x?y=1",
        "-X",
        "PUT",
        "-d",
        "payload",
        "-H",
        "X-Test: 1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "payload");

    let out = node.cli(&["invoke", "cli", "--path", "/nowhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));

    let out = node.cli(&["rm", "cli"]);
    assert!(out.status.success());
    let out = node.cli(&["show", "cli"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("no app named \"cli\""), "{err}");
}

#[test]
#[should_panic(expected = "get /v1/apps/{app} 200")]
fn the_conformance_check_rejects_a_body_the_document_does_not_allow() {
    // The check itself must be able to fail: a detail without its services.
    let body = serde_json::json!({"name": "x", "version": 1, "deployed_unix_ms": 0});
    conforms("/v1/apps/{app}", "get", 200, &body);
}
