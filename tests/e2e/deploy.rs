//! Deployments: deploy, redeploy under load, failed deploys, rollback,
//! delete, and durability across restarts and `kill -9`.

use std::time::Duration;

use crate::harness::{Node, admin, app_dir, hello_manifest, http, tar_of, write_app};

fn text(node: &Node, path: &str) -> (u16, String) {
    let resp = http().get(node.url(path)).send().unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

fn deploy(node: &Node, dir: &std::path::Path, name: &str) -> (u16, serde_json::Value) {
    let resp = admin(node)
        .put(node.admin_url(&format!("/v1/apps/{name}")))
        .header("content-type", "application/x-tar")
        .body(tar_of(dir))
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

const TWO_SERVICES: &str = r#"name = "site"

[services.front]
source = "front.wasm"
routes = ["/front"]

[services.slow]
source = "slow.wasm"
routes = ["/slow"]
"#;

#[test]
fn redeploy_switches_atomically_while_in_flight_requests_finish_on_the_old_version() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let v1 = app_dir(
        TWO_SERVICES,
        &[("front.wasm", "hello"), ("slow.wasm", "slow")],
    );
    let (status, body) = deploy(&node, v1.path(), "site");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(text(&node, "/front").1, "Hello from Mote!\n");

    std::thread::scope(|s| {
        // Requests in flight on version 1 while version 2 goes live.
        let in_flight: Vec<_> = (0..4)
            .map(|_| s.spawn(|| text(&node, "/slow?ms=1500")))
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let v2 = app_dir(
            &TWO_SERVICES.replace("\"/slow\"", "\"/slow2\""),
            &[("front.wasm", "version2"), ("slow.wasm", "slow")],
        );
        let (status, body) = deploy(&node, v2.path(), "site");
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["version"], 2);
        assert_eq!(text(&node, "/front").1, "Hello v2\n");
        assert_eq!(text(&node, "/slow?ms=1").0, 404, "v2 moved the route");
        for h in in_flight {
            assert_eq!(h.join().unwrap(), (200, "done".to_string()));
        }
    });
    // The route v2 gave up is free for another app.
    let taker = app_dir(
        &hello_manifest("taker", "/slow"),
        &[("hello.wasm", "hello")],
    );
    let (status, body) = deploy(&node, taker.path(), "taker");
    assert_eq!(status, 201, "{body}");
    assert_eq!(text(&node, "/slow"), (200, "Hello from Mote!\n".into()));
}

#[test]
fn failed_deploys_keep_the_old_version_serving() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let good = app_dir(&hello_manifest("keep", "/keep"), &[("hello.wasm", "hello")]);
    assert_eq!(deploy(&node, good.path(), "keep").0, 201);

    // Not a component at all.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(
        broken.path().join("mote.toml"),
        hello_manifest("keep", "/keep"),
    )
    .unwrap();
    std::fs::write(
        broken.path().join("hello.wasm"),
        b"\0asm\x0d\0\x01\0garbage",
    )
    .unwrap();
    let (status, body) = deploy(&node, broken.path(), "keep");
    assert_eq!(status, 422, "{body}");
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains("service \"hello\" (hello.wasm)"), "{msg}");

    // A core module, not a component.
    std::fs::write(broken.path().join("hello.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let (status, body) = deploy(&node, broken.path(), "keep");
    assert_eq!(status, 422);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("core WebAssembly module"),
        "{body}"
    );

    // The hello manifest with a memory limit (on line 6).
    let with_memory = |memory: &str| {
        let manifest = format!(
            "{}limits = {{ memory = \"{memory}\" }}\n",
            hello_manifest("keep", "/keep")
        );
        std::fs::write(broken.path().join("mote.toml"), manifest).unwrap();
    };

    // An invalid manifest: the error names file, line and field.
    with_memory("lots");
    let (status, body) = deploy(&node, broken.path(), "keep");
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "mote.toml:6: services.hello.limits.memory: expected a size like \"64MiB\", got \"lots\""
    );

    // A limit above the node's maximum.
    with_memory("2GiB");
    let (status, body) = deploy(&node, broken.path(), "keep");
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "services.hello.limits.memory: 2GiB is above this node's maximum of 1GiB"
    );

    // The manifest names another app than the URL.
    let (status, _) = deploy(&node, good.path(), "other-name");
    assert_eq!(status, 400);

    // A route another app already serves.
    let thief = app_dir(
        &hello_manifest("thief", "/keep"),
        &[("hello.wasm", "version2")],
    );
    let (status, body) = deploy(&node, thief.path(), "thief");
    assert_eq!(status, 409);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("already served by service \"hello\" of app \"keep\""),
        "{body}"
    );

    assert_eq!(text(&node, "/keep"), (200, "Hello from Mote!\n".into()));
    let versions: serde_json::Value = admin(&node)
        .get(node.admin_url("/v1/apps/keep/versions"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        versions.as_array().unwrap().len(),
        1,
        "failed deploys stored nothing"
    );
}

#[test]
fn rollback_and_delete() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let dir = app_dir(&hello_manifest("rb", "/rb"), &[("hello.wasm", "hello")]);
    assert_eq!(deploy(&node, dir.path(), "rb").0, 201);
    write_app(
        dir.path(),
        &hello_manifest("rb", "/rb"),
        &[("hello.wasm", "version2")],
    );
    assert_eq!(deploy(&node, dir.path(), "rb").0, 201);
    assert_eq!(text(&node, "/rb").1, "Hello v2\n");

    let out = node.cli(&["rollback", "rb"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text(&node, "/rb").1, "Hello from Mote!\n");
    let versions: serde_json::Value = admin(&node)
        .get(node.admin_url("/v1/apps/rb/versions"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(versions[0]["current"], true);
    assert_eq!(versions[1]["current"], false);

    // Nothing before version 1.
    let resp = admin(&node)
        .post(node.admin_url("/v1/apps/rb/rollback"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 409);

    let out = node.cli(&["rm", "rb"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text(&node, "/rb").0, 404);
    let resp = admin(&node)
        .get(node.admin_url("/v1/apps/rb"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[test]
fn restart_and_kill_9_keep_every_acknowledged_deploy() {
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(
        &hello_manifest("first", "/first"),
        &[("hello.wasm", "hello")],
    );
    let b = app_dir(
        &hello_manifest("second", "/second"),
        &[("hello.wasm", "version2")],
    );
    {
        let node = Node::start(data.path(), &[a.path()]);
        assert_eq!(deploy(&node, b.path(), "second").0, 201);
        assert!(node.terminate().success(), "SIGTERM exits 0");
    }
    {
        let node = Node::start(data.path(), &[]);
        assert_eq!(text(&node, "/first").1, "Hello from Mote!\n");
        assert_eq!(text(&node, "/second").1, "Hello v2\n");
        // kill -9 right after the deploy was acknowledged.
        let c = app_dir(
            &hello_manifest("third", "/third"),
            &[("hello.wasm", "counter")],
        );
        assert_eq!(deploy(&node, c.path(), "third").0, 201);
        node.kill9();
    }
    let node = Node::start(data.path(), &[]);
    assert_eq!(text(&node, "/third"), (200, "1".into()));
    assert_eq!(text(&node, "/first").0, 200);
    // The compiled-code cache was used: nothing was compiled on this start.
    assert!(
        node.logs()
            .contains("component loaded from the compiled-code cache"),
        "{}",
        node.logs()
    );
    assert!(
        !node.logs().contains("component compiled"),
        "{}",
        node.logs()
    );
}
