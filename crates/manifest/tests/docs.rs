//! The docs must match the code: the published schema docs/mote.schema.json
//! is the generated one (`MOTE_BLESS=1 cargo test -p mote-manifest --test docs`
//! rewrites it), and the example of docs/manifest.md parses.

use std::fs;
use std::path::Path;

#[test]
fn published_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/mote.schema.json");
    let generated = serde_json::to_string_pretty(&mote_manifest::json_schema()).unwrap() + "\n";
    if std::env::var_os("MOTE_BLESS").is_some_and(|v| v == "1") {
        fs::write(&path, &generated).unwrap();
        return;
    }
    let published = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "{} is out of date; run `MOTE_BLESS=1 cargo test -p mote-manifest --test docs`",
        path.display()
    );
}

#[test]
fn schema_describes_the_format() {
    let schema = mote_manifest::json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["required"], serde_json::json!(["name", "services"]));
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn example_in_the_docs_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/manifest.md");
    let docs = fs::read_to_string(path).unwrap();
    let start = docs.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &docs[start..start + docs[start..].find("```").unwrap()];
    let app = mote_manifest::parse("manifest.md", example).unwrap();
    assert_eq!(app.name, "shop");
    assert_eq!(app.services.len(), 2);
    assert_eq!(app.services["catalog"].limits.concurrency, 16);
    assert_eq!(app.services["catalog"].limits.queue, 100);
}
