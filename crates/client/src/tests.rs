use std::io::Read;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

fn write(dir: &Path, path: &str, data: &[u8]) {
    let path = dir.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// The entries of a tar archive: path and contents, in archive order.
fn entries(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (path, data)
        })
        .collect()
}

#[test]
fn bundle_holds_the_manifest_and_the_sources_only() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = r#"name = "shop"

[services.a]
source = "a.wasm"
routes = ["/a"]

[services.b]
source = "./lib/./b.wasm"
routes = ["/b"]

[services.c]
source = "a.wasm"
routes = ["/c"]
"#;
    write(dir.path(), "mote.toml", manifest.as_bytes());
    write(dir.path(), "a.wasm", b"component a");
    write(dir.path(), "lib/b.wasm", b"component b");
    write(dir.path(), "notes.txt", b"not part of the app");

    let (name, tar) = bundle_dir(dir.path()).unwrap();
    assert_eq!(name, "shop");
    assert_eq!(
        entries(&tar),
        [
            ("mote.toml".to_owned(), manifest.as_bytes().to_vec()),
            ("a.wasm".to_owned(), b"component a".to_vec()),
            ("lib/b.wasm".to_owned(), b"component b".to_vec()),
        ]
    );

    // The manifest file itself may be given instead of its folder.
    let (name, again) = bundle_dir(&dir.path().join("mote.toml")).unwrap();
    assert_eq!(name, "shop");
    assert_eq!(again, tar, "bundles are reproducible");
}

#[test]
fn bundle_refuses_sources_outside_the_folder() {
    let root = tempfile::tempdir().unwrap();
    let app = root.path().join("app");
    write(&app, "mote.toml", b"name = \"shop\"\n\n[services.x]\nroutes = [\"/x\"]\nsource = \"sub/../../outside.wasm\"\n");
    write(&app, "sub/keep", b"");
    write(root.path(), "outside.wasm", b"secret");

    let error = bundle_dir(&app).unwrap_err();
    let ClientError::Manifest(manifest_error) = &error else {
        panic!("expected a manifest error, got {error:?}");
    };
    assert_eq!(manifest_error.line, Some(5));
    assert_eq!(manifest_error.path, "services.x.source");
    assert_eq!(
        error.to_string(),
        format!(
            "{}:5: services.x.source: expected a path inside the app's folder, without \"..\", got \"sub/../../outside.wasm\"",
            app.join("mote.toml").display()
        )
    );

    assert_eq!(
        normalize_source(Path::new("./a/./b/c.wasm")).unwrap(),
        "a/b/c.wasm"
    );
    assert!(normalize_source(Path::new("a/../c.wasm")).is_err());
    assert!(normalize_source(Path::new("../c.wasm")).is_err());
    assert!(normalize_source(Path::new("/abs/c.wasm")).is_err());
    assert!(normalize_source(Path::new("a/..")).is_err());
}

#[test]
fn bundle_reports_manifest_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mote.toml",
        b"name = \"shop\"\n\n[services.hello]\nsource = \"hello.wasm\"\nroutes = [\"/hello\"]\nlimts = {}\n",
    );
    write(dir.path(), "hello.wasm", b"");
    let error = bundle_dir(dir.path()).unwrap_err();
    let ClientError::Manifest(manifest_error) = &error else {
        panic!("expected a manifest error, got {error:?}");
    };
    assert_eq!(manifest_error.line, Some(6));
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("{}:6: ", dir.path().join("mote.toml").display())),
        "{text}"
    );
    assert!(text.contains("limts"), "{text}");
    assert!(!text.contains('\n'));

    // A missing source is found before anything is uploaded, too.
    fs::remove_file(dir.path().join("hello.wasm")).unwrap();
    write(
        dir.path(),
        "mote.toml",
        b"name = \"shop\"\n[services.hello]\nsource = \"hello.wasm\"\nroutes = [\"/hello\"]\n",
    );
    let text = bundle_dir(dir.path()).unwrap_err().to_string();
    assert!(
        text.contains(":3: services.hello.source: file not found"),
        "{text}"
    );

    // No manifest at all.
    let empty = tempfile::tempdir().unwrap();
    let text = bundle_dir(empty.path()).unwrap_err().to_string();
    assert!(text.ends_with("mote.toml: file not found"), "{text}");
}

#[test]
fn base_urls() {
    let url = |text: &str| Client::new(text, None).map(|c| c.base_url().to_owned());
    assert_eq!(url("127.0.0.1:8081").unwrap(), "http://127.0.0.1:8081");
    assert_eq!(
        url("http://127.0.0.1:8081/").unwrap(),
        "http://127.0.0.1:8081"
    );
    assert_eq!(url(" localhost:9000 ").unwrap(), "http://localhost:9000");
    assert_eq!(
        url("http://[::1]:8081/mote/").unwrap(),
        "http://[::1]:8081/mote"
    );
    for bad in [
        "",
        "https://example.com",
        "ftp://x",
        "http://",
        "http://h:1/?q=1",
        "h:notaport",
    ] {
        assert!(
            matches!(url(bad), Err(ClientError::Invalid(_))),
            "{bad:?} was accepted"
        );
    }
    assert!(matches!(
        Client::new("127.0.0.1:1", Some("bad\ntoken".to_owned())),
        Err(ClientError::Invalid(_))
    ));
}

#[test]
fn app_names() {
    for good in ["a", "hello", "a-1", &"a".repeat(63)] {
        check_app_name(good).unwrap();
    }
    for bad in [
        "",
        "Hello",
        "1a",
        "-a",
        "a/b",
        "../x",
        "a b",
        &"a".repeat(64),
    ] {
        assert!(check_app_name(bad).is_err(), "{bad:?} was accepted");
    }
}

#[tokio::test]
async fn unreachable_node() {
    // Nothing listens on port 1.
    let client = Client::new("127.0.0.1:1", None).unwrap();
    let error = client.list().await.unwrap_err();
    assert!(matches!(error, ClientError::Connect { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "cannot reach the Mote admin API at http://127.0.0.1:1: connection refused (is `mote serve` running?)"
    );
}

/// One request as the mock node received it.
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A node that answers one request with `response` (status line, headers
/// and body, written as is) and returns what it received.
async fn mock_node(response: String) -> (String, tokio::task::JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 8192];
        let head_end = loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the request's head");
            data.extend_from_slice(&buf[..n]);
            if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
        let mut received = Received {
            head,
            body: data[head_end..].to_vec(),
        };
        let length: usize = received
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        while received.body.len() < length {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the request's body");
            received.body.extend_from_slice(&buf[..n]);
        }
        stream.write_all(response.as_bytes()).await.unwrap();
        stream.shutdown().await.unwrap();
        received
    });
    (url, task)
}

fn answer(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

const APP_JSON: &str = r#"{"name":"hello","version":2,"deployed_unix_ms":1700000000000,"services":[{"name":"hello","source":"hello.wasm","sha256":"00","routes":["/hello"],"env":["A"],"limits":{"memory_bytes":67108864,"cpu_ms":1000,"timeout_ms":30000,"request_body_bytes":10485760,"response_body_bytes":10485760,"concurrency":64,"queue":32,"subrequests":50,"log_bytes":16384},"requests":0,"state":"loaded","instances":0,"memory_bytes":2048,"last_used_unix_ms":null}]}"#;

#[tokio::test]
async fn api_errors() {
    let (url, node) = mock_node(answer(
        "401 Unauthorized",
        "application/json",
        r#"{"error":"bad token"}"#,
    ))
    .await;
    let client = Client::new(&url, Some("wrong".to_owned())).unwrap();
    let error = client.list().await.unwrap_err();
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.to_string(), UNAUTHORIZED);
    let received = node.await.unwrap();
    assert!(
        received.head.starts_with("GET /v1/apps HTTP/1.1\r\n"),
        "{}",
        received.head
    );
    assert_eq!(received.header("authorization"), Some("Bearer wrong"));

    let (url, node) = mock_node(answer(
        "404 Not Found",
        "application/json",
        r#"{"error":"no app named \"nope\""}"#,
    ))
    .await;
    let error = Client::new(&url, None)
        .unwrap()
        .show("nope")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404));
    assert_eq!(error.to_string(), "no app named \"nope\"");
    let received = node.await.unwrap();
    assert!(received.head.starts_with("GET /v1/apps/nope HTTP/1.1\r\n"));
    assert_eq!(received.header("authorization"), None);

    let (url, node) = mock_node(answer(
        "500 Internal Server Error",
        "text/plain",
        "boom\nand more",
    ))
    .await;
    let error = Client::new(&url, None)
        .unwrap()
        .rollback("x")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the node answered 500 Internal Server Error: boom and more"
    );
    assert!(
        node.await
            .unwrap()
            .head
            .starts_with("POST /v1/apps/x/rollback HTTP/1.1\r\n")
    );

    let (url, node) = mock_node(answer("200 OK", "application/json", r#"{"nope":1}"#)).await;
    let error = Client::new(&url, None).unwrap().health().await.unwrap_err();
    assert!(matches!(error, ClientError::Decode(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("unexpected answer from the Mote admin API: GET /v1/health: ")
    );
    node.await.unwrap();

    let (url, node) = mock_node(answer("204 No Content", "text/plain", "")).await;
    Client::new(&url, None)
        .unwrap()
        .delete("hello")
        .await
        .unwrap();
    assert!(
        node.await
            .unwrap()
            .head
            .starts_with("DELETE /v1/apps/hello HTTP/1.1\r\n")
    );

    // Invalid names never reach the node.
    let client = Client::new("127.0.0.1:1", None).unwrap();
    assert!(matches!(
        client.show("../x").await,
        Err(ClientError::Invalid(_))
    ));
}

#[tokio::test]
async fn deploy_streams_the_archive() {
    let (url, node) = mock_node(answer("201 Created", "application/json", APP_JSON)).await;
    let client = Client::new(&url, Some("s3cret".to_owned())).unwrap();
    let tar: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let app = client
        .deploy_bundle("hello", tar.clone(), move |sent, total| {
            seen.lock().unwrap().push((sent, total))
        })
        .await
        .unwrap();
    assert_eq!(app.name, "hello");
    assert_eq!(app.version, 2);
    assert_eq!(app.services[0].limits.concurrency, 64);

    let received = node.await.unwrap();
    assert!(
        received.head.starts_with("PUT /v1/apps/hello HTTP/1.1\r\n"),
        "{}",
        received.head
    );
    assert_eq!(received.header("content-type"), Some("application/x-tar"));
    assert_eq!(received.header("content-length"), Some("200000"));
    assert_eq!(received.header("transfer-encoding"), None);
    assert_eq!(received.header("authorization"), Some("Bearer s3cret"));
    assert_eq!(received.body, tar);
    assert_eq!(
        *calls.lock().unwrap(),
        [
            (0, 200_000),
            (65_536, 200_000),
            (131_072, 200_000),
            (196_608, 200_000),
            (200_000, 200_000)
        ]
    );
}

#[tokio::test]
async fn deploy_dir_uploads_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mote.toml",
        b"name = \"hello\"\n[services.hello]\nsource = \"hello.wasm\"\nroutes = [\"/hello\"]\n",
    );
    write(dir.path(), "hello.wasm", b"\0asm");
    let (url, node) = mock_node(answer("201 Created", "application/json", APP_JSON)).await;
    let app = Client::new(&url, None)
        .unwrap()
        .deploy_dir(dir.path(), |_, _| {})
        .await
        .unwrap();
    assert_eq!(app.version, 2);
    let received = node.await.unwrap();
    assert_eq!(bundle_dir(dir.path()).unwrap().1, received.body);
    let names: Vec<String> = entries(&received.body)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, ["mote.toml", "hello.wasm"]);
}

#[tokio::test]
async fn invoke_passes_requests_and_answers_through() {
    let response = "HTTP/1.1 418 I'm a teapot\r\nx-answer: 42\r\ncontent-length: 5\r\nconnection: close\r\n\r\nshort";
    let (url, node) = mock_node(response.to_owned()).await;
    let client = Client::new(&url, Some("tok".to_owned())).unwrap();
    let answer = client
        .invoke(
            "hello",
            Method::PATCH,
            "hi/there?x=1&y=a%20b",
            vec![
                ("X-Test".to_owned(), " yes ".to_owned()),
                ("Authorization".to_owned(), "Basic nope".to_owned()),
            ],
            b"payload".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 418);
    assert!(!answer.is_success());
    assert_eq!(answer.header("X-Answer"), Some("42"));
    assert_eq!(&answer.body[..], b"short");

    let received = node.await.unwrap();
    assert!(
        received
            .head
            .starts_with("PATCH /v1/apps/hello/invoke/hi/there?x=1&y=a%20b HTTP/1.1\r\n"),
        "{}",
        received.head
    );
    assert_eq!(received.header("x-test"), Some("yes"));
    assert_eq!(received.header("authorization"), Some("Bearer tok"));
    assert_eq!(received.body, b"payload");

    let client = Client::new("127.0.0.1:1", None).unwrap();
    let bad = client.invoke(
        "hello",
        Method::GET,
        "/",
        vec![("bad name".to_owned(), "v".to_owned())],
        Vec::new(),
    );
    assert!(matches!(bad.await, Err(ClientError::Invalid(_))));
}

#[tokio::test]
async fn secrets_set_list_remove() {
    let (url, node) = mock_node(answer(
        "200 OK",
        "application/json",
        r#"{"name":"slack_token","updated":1700000000}"#,
    ))
    .await;
    let client = Client::new(&url, Some("tok".to_owned())).unwrap();
    let info = client
        .set_secret("hello", "slack_token", "xoxb-1 2\n")
        .await
        .unwrap();
    assert_eq!(
        info,
        SecretInfo {
            name: "slack_token".to_owned(),
            updated: 1_700_000_000
        }
    );
    let received = node.await.unwrap();
    assert!(
        received
            .head
            .starts_with("PUT /v1/apps/hello/secrets/slack_token HTTP/1.1\r\n"),
        "{}",
        received.head
    );
    assert_eq!(
        received.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(received.header("authorization"), Some("Bearer tok"));
    assert_eq!(received.body, b"xoxb-1 2\n", "the value is sent as is");

    let (url, node) = mock_node(answer(
        "200 OK",
        "application/json",
        r#"[{"name":"a","updated":1},{"name":"b","updated":2}]"#,
    ))
    .await;
    let listed = Client::new(&url, None)
        .unwrap()
        .list_secrets("hello")
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(listed[1].updated, 2);
    assert!(
        node.await
            .unwrap()
            .head
            .starts_with("GET /v1/apps/hello/secrets HTTP/1.1\r\n")
    );

    let (url, node) = mock_node(answer("204 No Content", "text/plain", "")).await;
    Client::new(&url, None)
        .unwrap()
        .remove_secret("hello", "a")
        .await
        .unwrap();
    assert!(
        node.await
            .unwrap()
            .head
            .starts_with("DELETE /v1/apps/hello/secrets/a HTTP/1.1\r\n")
    );

    let (url, node) = mock_node(answer(
        "404 Not Found",
        "application/json",
        r#"{"error":"app \"hello\" has no secret named \"a\""}"#,
    ))
    .await;
    let error = Client::new(&url, None)
        .unwrap()
        .remove_secret("hello", "a")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404));
    assert_eq!(error.to_string(), "app \"hello\" has no secret named \"a\"");
    node.await.unwrap();

    // A list answer holding anything but names and times is refused.
    let (url, node) = mock_node(answer(
        "200 OK",
        "application/json",
        r#"[{"name":"a","updated":1,"value":"x"}]"#,
    ))
    .await;
    let error = Client::new(&url, None)
        .unwrap()
        .list_secrets("hello")
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Decode(_)), "{error:?}");
    node.await.unwrap();
}

#[tokio::test]
async fn invalid_secrets_never_reach_the_node() {
    // Nothing listens on port 1: each of these must fail before connecting.
    let client = Client::new("127.0.0.1:1", None).unwrap();
    for name in [
        "",
        "bad-name",
        "1st",
        "a/b",
        "../x",
        "a?b",
        "a%2Fb",
        &"a".repeat(129),
    ] {
        let error = client.set_secret("hello", name, "v").await.unwrap_err();
        assert!(
            matches!(error, ClientError::Invalid(_)),
            "{name:?}: {error:?}"
        );
        assert!(
            error.to_string().starts_with("invalid secret name: "),
            "{error}"
        );
        let error = client.remove_secret("hello", name).await.unwrap_err();
        assert!(
            matches!(error, ClientError::Invalid(_)),
            "{name:?}: {error:?}"
        );
    }
    for app in ["Hello", "../x", ""] {
        assert!(matches!(
            client.set_secret(app, "token", "v").await,
            Err(ClientError::Invalid(_))
        ));
        assert!(matches!(
            client.list_secrets(app).await,
            Err(ClientError::Invalid(_))
        ));
    }

    let error = client.set_secret("hello", "token", "").await.unwrap_err();
    assert_eq!(error.to_string(), "the secret's value is empty");
    let large = "z".repeat(MAX_SECRET_BYTES + 1);
    let error = client
        .set_secret("hello", "token", &large)
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Invalid(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the secret's value is larger than 64 KiB (65536 bytes)"
    );
    // The largest value accepted is checked only by the node from here on.
    let largest = "z".repeat(MAX_SECRET_BYTES);
    let error = client
        .set_secret("hello", "token", &largest)
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Connect { .. }), "{error:?}");
    assert!(!error.to_string().contains("zzz"));
}
