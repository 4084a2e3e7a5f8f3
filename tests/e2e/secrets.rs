//! Secrets: set on the node through the CLI and the admin API, never shown
//! again, durable, private on disk.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::admin::call;
use crate::harness::{MOTE, Node, admin, app_dir, hello_manifest, http};

/// Values no answer, error or log line may ever contain.
const VALUE: &str = "xoxb-7f3a9c-SECRET-VALUE";
const OTHER_VALUE: &str = "second-SECRET-41d2e8";

/// Run the `mote` CLI against `node` with `input` on stdin.
fn cli_with_stdin(node: &Node, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(MOTE)
        .args(args)
        .arg("--admin")
        .arg(node.admin.to_string())
        .arg("--data-dir")
        .arg(&node.data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mote");
    // The CLI may refuse before reading (bad names): ignore a closed pipe.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// `mote secret ls APP --json`.
fn listed(node: &Node, app: &str) -> Value {
    let out = node.cli(&["secret", "ls", app, "--json"]);
    assert_ok(&out);
    assert!(!stdout(&out).contains(VALUE));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn set_from_stdin_list_and_remove_never_showing_values() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let c = admin(&node);

    // Set before the app is ever deployed, as `echo "$TOKEN" | ...` does.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = cli_with_stdin(
        &node,
        &["secret", "set", "hello", "slack_token"],
        format!("{VALUE}\n").as_bytes(),
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "set secret slack_token of hello\n");
    assert!(!stderr(&out).contains(VALUE), "{}", stderr(&out));
    let out = cli_with_stdin(
        &node,
        &["secret", "set", "hello", "api_key", "-q"],
        format!("{OTHER_VALUE}\r\n").as_bytes(),
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "", "--quiet prints nothing");

    // The table: names and times, never values.
    let out = node.cli(&["secret", "ls", "hello"]);
    assert_ok(&out);
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("NAME") && lines[0].contains("UPDATED"));
    assert!(lines[1].starts_with("api_key ") && lines[1].ends_with(" UTC"));
    assert!(lines[2].starts_with("slack_token "), "{table}");
    assert!(!table.contains(VALUE) && !table.contains(OTHER_VALUE));
    let json = listed(&node, "hello");
    assert_eq!(json[1]["name"], "slack_token");
    assert!(json[1]["updated"].as_u64().unwrap() >= before);
    assert_eq!(json[1].as_object().unwrap().len(), 2, "{json}");

    // The API's own answers, raw: names only.
    for path in ["/v1/apps/hello/secrets", "/v1/apps/other/secrets"] {
        let text = c.get(node.admin_url(path)).send().unwrap().text().unwrap();
        assert!(
            !text.contains(VALUE) && !text.contains(OTHER_VALUE),
            "{text}"
        );
    }
    let (status, set) = call(
        &node,
        &c,
        "PUT /v1/apps/hello/secrets/slack_token",
        Some(VALUE.as_bytes().to_vec()),
    );
    assert_eq!(status, 200);
    assert!(!set.to_string().contains(VALUE), "{set}");
    // Nor do errors about a request carrying a value quote it.
    for path in [
        "/v1/apps/hello/secrets/bad-name",
        "/v1/apps/Hello/secrets/slack_token",
        "/v1/apps/hello/secrets/slack_token/x",
    ] {
        let response = c.put(node.admin_url(path)).body(VALUE).send().unwrap();
        assert_ne!(response.status(), 200, "{path}");
        let text = response.text().unwrap();
        assert!(!text.contains(VALUE), "{path}: {text}");
    }
    let mut not_utf8 = VALUE.as_bytes().to_vec();
    not_utf8.push(0xff);
    let response = c
        .put(node.admin_url("/v1/apps/hello/secrets/slack_token"))
        .body(not_utf8)
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(!response.text().unwrap().contains(VALUE));

    // Remove.
    let out = node.cli(&["secret", "rm", "hello", "api_key"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "removed secret api_key of hello\n");
    let json = listed(&node, "hello");
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
    let out = node.cli(&["secret", "rm", "hello", "api_key"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        err.trim_end(),
        "error: app \"hello\" has no secret named \"api_key\""
    );

    // The file is private; the log names secrets but never holds a value.
    assert_eq!(mode(&data.path().join("secrets.redb")), 0o600);
    let line = node.log_line("secret set");
    assert!(
        line.contains("slack_token") && line.contains("hello"),
        "{line}"
    );
    assert!(node.wait_for_log("secret removed"));
    let logs = node.logs();
    assert!(!logs.contains(VALUE), "a value is in the log:\n{logs}");
    assert!(
        !logs.contains(OTHER_VALUE),
        "a value is in the log:\n{logs}"
    );
}

#[test]
fn bad_names_and_values_are_refused_saying_why() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let c = admin(&node);
    let put = |path: &str, body: Vec<u8>| {
        let (status, answer) = call(&node, &c, &format!("PUT {path}"), Some(body));
        (
            status,
            answer["error"].as_str().unwrap_or_default().to_owned(),
        )
    };

    let (status, error) = put("/v1/apps/Hello/secrets/token", b"v".to_vec());
    assert_eq!(status, 400);
    assert!(error.starts_with("invalid app name: "), "{error}");
    assert!(error.contains("\"Hello\""), "{error}");
    for name in ["bad-name", "1st", &"a".repeat(129)] {
        let (status, error) = put(&format!("/v1/apps/hello/secrets/{name}"), b"v".to_vec());
        assert_eq!(status, 400, "{name}");
        assert!(error.starts_with("invalid secret name: "), "{error}");
        assert!(error.contains(&format!("{name:?}")), "{error}");
    }
    let (status, error) = call(&node, &c, "GET /v1/apps/a_b/secrets", None);
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("invalid app name")
    );
    let (status, error) = call(&node, &c, "DELETE /v1/apps/hello/secrets/no-dash", None);
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("invalid secret name")
    );

    // Values: UTF-8, not empty, at most 64 KiB.
    let (status, error) = put("/v1/apps/hello/secrets/token", b"ab\xffcd".to_vec());
    assert_eq!(
        (status, error.as_str()),
        (
            400,
            "the secret's value is not UTF-8 text (invalid byte at offset 2)"
        )
    );
    let (status, error) = put("/v1/apps/hello/secrets/token", Vec::new());
    assert_eq!(
        (status, error.as_str()),
        (400, "the secret's value is empty")
    );
    let (status, error) = put("/v1/apps/hello/secrets/token", vec![b'x'; 64 * 1024 + 1]);
    assert_eq!(
        (status, error.as_str()),
        (
            400,
            "the secret's value is larger than 64 KiB (65536 bytes)"
        )
    );
    let (status, error) = put("/v1/apps/hello/secrets/token", vec![b'x'; 1 << 20]);
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("larger than 64 KiB"), "{error}");
    let (status, _) = put("/v1/apps/hello/secrets/token", vec![b'x'; 64 * 1024]);
    assert_eq!(status, 200, "exactly 64 KiB is accepted");
    // Nothing refused was stored.
    let json = listed(&node, "hello");
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json[0]["name"], "token");

    // The CLI checks names before it reads a value, and values before
    // sending them, each in one line.
    let out = cli_with_stdin(&node, &["secret", "set", "hello", "bad-name"], b"v\n");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: invalid secret name: "), "{err}");
    assert!(err.contains("\"bad-name\""), "{err}");
    let out = cli_with_stdin(&node, &["secret", "set", "Hello", "token"], b"v\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: invalid app name \"Hello\""));
    let out = cli_with_stdin(&node, &["secret", "set", "hello", "token"], b"\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "error: the secret's value is empty\n");
    let out = cli_with_stdin(&node, &["secret", "set", "hello", "token"], b"\xff\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
    let out = cli_with_stdin(
        &node,
        &["secret", "set", "hello", "token"],
        &vec![b'y'; 200_000],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("larger than 64 KiB"),
        "{}",
        stderr(&out)
    );
    let out = node.cli(&["secret", "rm", "hello", "1st"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: invalid secret name: "));
}

#[test]
fn without_the_token_nothing_is_read_or_written() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let plain = http();
    for (method, path, body) in [
        ("GET", "/v1/apps/hello/secrets", ""),
        ("PUT", "/v1/apps/hello/secrets/token", VALUE),
        ("DELETE", "/v1/apps/hello/secrets/token", ""),
    ] {
        for token in [None, Some("wrong")] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut request = plain.request(m, node.admin_url(path)).body(body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().unwrap();
            assert_eq!(response.status(), 401, "{method} {path} {token:?}");
            let text = response.text().unwrap();
            assert!(text.contains("token") && !text.contains(VALUE), "{text}");
        }
    }
    let json = listed(&node, "hello");
    assert_eq!(json, serde_json::json!([]), "the PUT stored nothing");
    // The CLI, with a wrong token.
    let out = Command::new(MOTE)
        .args(["secret", "ls", "hello", "--admin"])
        .arg(node.admin.to_string())
        .args(["--token", "wrong"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unauthorized"), "{}", stderr(&out));
}

#[test]
fn secrets_survive_restarts_and_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("secrets.redb");
    let node = Node::start(data.path(), &[]);
    assert_eq!(mode(&file), 0o600, "created private, before any secret");
    let out = cli_with_stdin(&node, &["secret", "set", "hello", "first"], b"one\n");
    assert_ok(&out);
    let first = listed(&node, "hello");
    assert!(node.terminate().success());

    // A clean restart.
    let node = Node::start(data.path(), &[]);
    assert_eq!(listed(&node, "hello"), first);

    // `kill -9` as soon as the set is acknowledged.
    let out = cli_with_stdin(
        &node,
        &["secret", "set", "hello", "second"],
        VALUE.as_bytes(),
    );
    assert_ok(&out);
    node.kill9();
    // The value itself reached the secrets file, and only that file.
    assert!(contains(&std::fs::read(&file).unwrap(), VALUE));
    assert!(!contains(
        &std::fs::read(data.path().join("mote.redb")).unwrap(),
        VALUE
    ));

    // A file someone made readable by others is narrowed again.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let node = Node::start(data.path(), &[]);
    assert_eq!(mode(&file), 0o600);
    let json = listed(&node, "hello");
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(json[0], first[0], "kept as it was set");

    // A removal is durable too.
    assert_ok(&node.cli(&["secret", "rm", "hello", "first"]));
    node.kill9();
    let node = Node::start(data.path(), &[]);
    assert_eq!(listed(&node, "hello")[0]["name"], "second");
    assert_eq!(listed(&node, "hello").as_array().unwrap().len(), 1);
}

#[test]
fn secrets_belong_to_the_app_name_not_a_deployment() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let dir = app_dir(
        &hello_manifest("hello", "/hello"),
        &[("hello.wasm", "hello")],
    );
    let deploy = || assert_ok(&node.cli(&["deploy", dir.path().to_str().unwrap()]));
    deploy();
    assert_ok(&cli_with_stdin(
        &node,
        &["secret", "set", "hello", "token"],
        b"v\n",
    ));
    deploy();
    assert_eq!(
        listed(&node, "hello")[0]["name"],
        "token",
        "kept on redeploy"
    );
    assert_ok(&node.cli(&["rm", "hello"]));
    assert_eq!(listed(&node, "hello")[0]["name"], "token", "kept on delete");
    deploy();
    assert_eq!(listed(&node, "hello")[0]["name"], "token");
    // Another app's secrets are its own.
    assert_eq!(listed(&node, "other"), serde_json::json!([]));
}

/// A node logging everything (`RUST_LOG=trace`, JSON lines) into a file.
struct TracedNode {
    child: std::process::Child,
    admin: SocketAddr,
    log: std::path::PathBuf,
}

impl TracedNode {
    fn start(data_dir: &Path, log: &Path) -> TracedNode {
        let child = Command::new(MOTE)
            .args(["serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(["--log-format", "json", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "trace")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        // Killed and waited for on drop, should it not start.
        let mut node = TracedNode {
            child,
            admin: ([0, 0, 0, 0], 0).into(),
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let started = text.lines().find_map(|line| {
                let event: Value = serde_json::from_str(line).ok()?;
                (event["fields"]["message"] == "mote node started")
                    .then(|| event["fields"]["admin_addr"].as_str()?.parse().ok())?
            });
            if let Some(admin) = started {
                node.admin = admin;
                return node;
            }
            assert!(Instant::now() < deadline, "node did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, wait, and everything it logged.
    fn stop(mut self) -> Vec<u8> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        self.child.wait().unwrap();
        let mut log = Vec::new();
        std::fs::File::open(&self.log)
            .unwrap()
            .read_to_end(&mut log)
            .unwrap();
        log
    }
}

impl Drop for TracedNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn values_are_not_logged_even_at_trace_level() {
    let data = tempfile::tempdir().unwrap();
    let node = TracedNode::start(data.path(), &data.path().join("node.log"));
    let token = std::fs::read_to_string(data.path().join("admin-token")).unwrap();
    let c = http();
    let url = |path: &str| format!("http://{}{path}", node.admin);
    let response = c
        .put(url("/v1/apps/hello/secrets/token"))
        .bearer_auth(token.trim())
        .body(VALUE)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    // Refused requests carrying a value, with and without the token.
    for (path, token) in [
        ("/v1/apps/hello/secrets/bad-name", token.trim()),
        ("/v1/apps/hello/secrets/token", "wrong"),
    ] {
        let response = c
            .put(url(path))
            .bearer_auth(token)
            .body(VALUE)
            .send()
            .unwrap();
        assert!(response.status().is_client_error());
    }
    let response = c
        .get(url("/v1/apps/hello/secrets"))
        .bearer_auth(token.trim())
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let log = node.stop();
    assert!(
        contains(&log, "secret set"),
        "the log is not the node's:\n{}",
        String::from_utf8_lossy(&log)
    );
    assert!(
        !contains(&log, VALUE),
        "a value is in the trace log:\n{}",
        String::from_utf8_lossy(&log)
    );
}

#[test]
fn every_secret_command_explains_itself_with_examples() {
    let help = |args: &[&str]| {
        let out = Command::new(MOTE).args(args).output().unwrap();
        assert_ok(&out);
        stdout(&out)
    };
    let top = help(&["--help"]);
    assert!(
        top.lines().any(|l| l.trim_start().starts_with("secret")),
        "{top}"
    );
    let secret = help(&["secret", "--help"]);
    for text in [
        "Examples:",
        "mote secret set hello slack_token",
        "mote secret ls hello",
        "mote secret rm hello slack_token",
        "never written in mote.toml",
        "secrets.redb",
    ] {
        assert!(
            secret.contains(text),
            "mote secret --help lacks {text:?}:\n{secret}"
        );
    }
    for (command, expected) in [
        (
            "set",
            &[
                "Examples:",
                "| mote secret set hello slack_token",
                "stdin",
                "--admin",
                "--token",
            ][..],
        ),
        ("ls", &["Examples:", "mote secret ls hello --json", "never"]),
        ("rm", &["Examples:", "mote secret rm hello slack_token"]),
    ] {
        let text = help(&["secret", command, "--help"]);
        for needle in expected {
            assert!(
                text.contains(needle),
                "mote secret {command} --help lacks {needle:?}:\n{text}"
            );
        }
    }
}
