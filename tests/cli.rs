//! The `mote` command without a node: help, usage errors, and errors found
//! before (or instead of) talking to a node.

use std::path::Path;
use std::process::{Command, Output};

/// `mote ARGS`, isolated from the user's environment (no MOTE_* variables,
/// HOME in `home`, so no admin token is picked up).
fn mote(home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mote"));
    for var in [
        "MOTE_ADMIN",
        "MOTE_TOKEN",
        "MOTE_DATA_DIR",
        "MOTE_LISTEN",
        "MOTE_ADMIN_LISTEN",
        "MOTE_LOG_FORMAT",
        "MOTE_KV",
        "MOTE_THREADS",
    ] {
        command.env_remove(var);
    }
    command
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("cannot run mote")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn every_command_explains_itself_with_examples() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "serve",
            &[
                "mote serve --app examples/hello",
                "--listen",
                "--admin",
                "--data-dir",
                "--log-format",
            ],
        ),
        (
            "deploy",
            &[
                "mote deploy examples/hello",
                "--admin",
                "--token",
                "--data-dir",
            ],
        ),
        ("ls", &["mote ls --json"]),
        ("show", &["mote show hello"]),
        ("versions", &["mote versions hello"]),
        ("rollback", &["mote rollback hello"]),
        ("rm", &["mote rm hello"]),
        (
            "invoke",
            &[
                "mote invoke hello --path /hello",
                "-X",
                "-H",
                "--data-file",
                "--include",
            ],
        ),
        ("health", &["mote health"]),
    ];
    for (command, expected) in cases {
        let output = mote(home.path(), &[command, "--help"]);
        assert!(
            output.status.success(),
            "mote {command} --help: {}",
            stderr(&output)
        );
        let help = stdout(&output);
        assert!(help.contains("Examples:"), "mote {command} --help:\n{help}");
        for text in *expected {
            assert!(
                help.contains(text),
                "mote {command} --help lacks {text:?}:\n{help}"
            );
        }
    }

    let output = mote(home.path(), &["--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    for command in [
        "serve", "deploy", "ls", "show", "versions", "rollback", "rm", "invoke", "health",
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "mote --help does not list {command}:\n{help}"
        );
    }
    assert!(help.contains("Examples:"));

    let output = mote(home.path(), &["--version"]);
    assert!(output.status.success());
    assert_eq!(
        stdout(&output).trim(),
        format!("mote {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unreachable_node_is_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    // Nothing listens on port 1.
    let output = mote(home.path(), &["ls", "--admin", "127.0.0.1:1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("cannot reach"), "{err}");
    assert_eq!(
        err.trim_end(),
        "error: cannot reach the Mote admin API at http://127.0.0.1:1: connection refused (is `mote serve` running?)"
    );

    // The same through the environment, and for another command.
    let output = Command::new(env!("CARGO_BIN_EXE_mote"))
        .env("HOME", home.path())
        .env("MOTE_ADMIN", "http://127.0.0.1:1/")
        .env_remove("MOTE_TOKEN")
        .args(["show", "hello"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach the Mote admin API at http://127.0.0.1:1"),
        "{err}"
    );
}

#[test]
fn deploy_reports_manifest_errors_before_uploading() {
    let home = tempfile::tempdir().unwrap();
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("mote.toml"),
        "name = \"hello\"\n\n[services.hello]\nsource = \"hello.wasm\"\nroutes = [\"no-slash\"]\n",
    )
    .unwrap();
    std::fs::write(app.path().join("hello.wasm"), b"\0asm").unwrap();
    // The admin URL is unreachable: the error must come from the manifest.
    let dir = app.path().to_str().unwrap();
    let output = mote(home.path(), &["deploy", dir, "--admin", "127.0.0.1:1"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    let expected = format!(
        "error: {}:5: services.hello.routes[0]: ",
        app.path().join("mote.toml").display()
    );
    assert!(
        err.starts_with(&expected),
        "expected {expected:?}..., got {err:?}"
    );
    assert!(!err.contains("cannot reach"), "{err}");

    // A missing source file, too.
    std::fs::write(
        app.path().join("mote.toml"),
        "name = \"hello\"\n[services.hello]\nsource = \"missing.wasm\"\nroutes = [\"/\"]\n",
    )
    .unwrap();
    let output = mote(home.path(), &["deploy", dir, "--admin", "127.0.0.1:1"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("mote.toml:3: services.hello.source: file not found"),
        "{err}"
    );

    // And no manifest at all.
    let empty = tempfile::tempdir().unwrap();
    let output = mote(
        home.path(),
        &[
            "deploy",
            empty.path().to_str().unwrap(),
            "--admin",
            "127.0.0.1:1",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("mote.toml: file not found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let home = tempfile::tempdir().unwrap();
    let output = mote(home.path(), &["invoke", "hello"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("--path"), "{err}");
    assert!(err.contains("required"), "{err}");

    for args in [
        &["invoke", "hello", "--path", "/", "-H", "no colon"][..],
        &[
            "invoke",
            "hello",
            "--path",
            "/",
            "-d",
            "x",
            "--data-file",
            "f",
        ],
        &["invoke", "hello", "--path", "/", "-X", "BAD METHOD"],
        &["serve", "--listen", "nonsense"],
        &["serve", "--log-format", "xml"],
        &["frobnicate"],
        &["show"],
    ] {
        let output = mote(home.path(), args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "mote {args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn invalid_arguments_are_one_line_errors() {
    let home = tempfile::tempdir().unwrap();
    let output = mote(
        home.path(),
        &["show", "Not_An_App", "--admin", "127.0.0.1:1"],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: invalid app name \"Not_An_App\""),
        "{err}"
    );

    let output = mote(home.path(), &["ls", "--admin", "https://example.com"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.starts_with("error: invalid admin API URL"), "{err}");

    let output = mote(
        home.path(),
        &[
            "invoke",
            "hello",
            "--path",
            "/",
            "--data-file",
            "/nonexistent/body",
            "--admin",
            "127.0.0.1:1",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot read /nonexistent/body: "),
        "{err}"
    );
}

#[test]
fn serve_options_are_checked_before_anything_starts() {
    let home = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["serve", "--threads", "0"][..], "--threads"),
        (
            &["serve", "--kv", "postgres://x"][..],
            "expected \"embedded\" or a redis:// URL",
        ),
        (
            &["serve", "--limit-max", "cpus=1s"][..],
            "unknown limit \"cpus\"",
        ),
        (
            &["serve", "--limit-max", "cpu=5"][..],
            "cpu: expected a duration like \"250ms\", got \"5\"",
        ),
        (
            &["serve", "--idle-timeout", "0s"][..],
            "must be more than 0s",
        ),
        (
            &["serve", "--memory-budget", "lots"][..],
            "expected a size like \"64MiB\"",
        ),
        (&["serve", "--max-instances", "1"][..], "--max-instances"),
    ] {
        let output = mote(home.path(), args);
        assert_eq!(output.status.code(), Some(2), "mote {args:?}");
        let err = stderr(&output);
        assert!(err.contains(needle), "mote {args:?}: {err}");
    }
    // Nothing was created: the data directory is only made by a node that starts.
    assert!(!home.path().join(".local").exists());
}
