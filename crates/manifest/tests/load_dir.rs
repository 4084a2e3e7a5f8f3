//! `load_dir`: reading `DIR/mote.toml` and checking the services' files.

use std::fs;
use std::path::Path;

use mote_manifest::{MANIFEST_FILE, load_dir};

const MANIFEST: &str = r#"name = "shop"

[services.hello]
source = "hello.wasm"
routes = ["/hello"]

[services.world]
source = "build/world.wasm"
routes = ["/world"]
"#;

fn write(dir: &Path, name: &str, contents: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

#[test]
fn loads_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), MANIFEST_FILE, MANIFEST);
    write(dir.path(), "hello.wasm", "");
    write(dir.path(), "build/world.wasm", "");

    let (app, manifest) = load_dir(dir.path()).unwrap();
    assert_eq!(manifest, dir.path().join("mote.toml"));
    assert_eq!(app.name, "shop");
    assert_eq!(
        app.services["world"].source,
        Path::new("build/world.wasm"),
        "sources stay relative, as written"
    );

    // The manifest's own path works too.
    let (again, manifest) = load_dir(&dir.path().join("mote.toml")).unwrap();
    assert_eq!(again, app);
    assert_eq!(manifest, dir.path().join("mote.toml"));
}

#[test]
fn reports_a_missing_source_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), MANIFEST_FILE, MANIFEST);
    write(dir.path(), "hello.wasm", "");

    let error = load_dir(dir.path()).unwrap_err();
    let file = dir.path().join("mote.toml").display().to_string();
    assert_eq!(error.file, file);
    assert_eq!(error.line, Some(8));
    assert_eq!(error.path, "services.world.source");
    let missing = dir.path().join("build/world.wasm");
    assert_eq!(
        error.to_string(),
        format!(
            "{file}:8: services.world.source: file not found: {}",
            missing.display()
        )
    );
}

#[test]
fn reports_a_source_that_is_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), MANIFEST_FILE, MANIFEST);
    fs::create_dir(dir.path().join("hello.wasm")).unwrap();
    write(dir.path(), "build/world.wasm", "");

    let error = load_dir(dir.path()).unwrap_err();
    assert_eq!(error.line, Some(4));
    assert_eq!(error.path, "services.hello.source");
    assert!(error.message.starts_with("not a file: "), "{error}");
}

#[test]
fn reports_a_missing_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let error = load_dir(dir.path()).unwrap_err();
    let file = dir.path().join("mote.toml").display().to_string();
    assert_eq!(error.to_string(), format!("{file}: file not found"));
}

#[test]
fn parse_errors_name_the_manifest_path() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), MANIFEST_FILE, "name = \"Shop\"\n");
    let error = load_dir(dir.path()).unwrap_err();
    let file = dir.path().join("mote.toml").display().to_string();
    assert_eq!(error.file, file);
    assert_eq!(error.line, Some(1));
    assert_eq!(error.path, "name");
}
