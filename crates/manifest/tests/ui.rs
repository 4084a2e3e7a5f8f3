//! Snapshot tests of error messages: every `tests/ui/NAME.toml` must fail to
//! parse with exactly the message in `tests/ui/NAME.err`.
//!
//! `MOTE_BLESS=1 cargo test -p mote-manifest --test ui` rewrites the `.err`
//! files; review the diff (line numbers especially) before committing.

use std::fs;
use std::path::Path;

#[test]
fn error_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let bless = std::env::var_os("MOTE_BLESS").is_some_and(|v| v == "1");
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "test cases missing from {}",
        dir.display()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy();
        let text = fs::read_to_string(case).unwrap();
        let actual = match mote_manifest::parse("mote.toml", &text) {
            Ok(app) => {
                failures.push(format!("{name}: parsed without error: {app:?}"));
                continue;
            }
            Err(error) => error.to_string(),
        };
        assert!(
            !actual.contains('\n'),
            "{name}: message spans lines: {actual}"
        );
        let expected_file = case.with_extension("err");
        if bless {
            fs::write(&expected_file, format!("{actual}\n")).unwrap();
            continue;
        }
        match fs::read_to_string(&expected_file) {
            Ok(expected) if expected.trim_end_matches('\n') == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}:\n  expected: {}\n  actual:   {actual}",
                expected.trim_end_matches('\n')
            )),
            Err(_) => failures.push(format!("{name}: no {name}.err; actual: {actual}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed (MOTE_BLESS=1 rewrites the .err files):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
