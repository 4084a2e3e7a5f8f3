//! Compile time: module graphs, resolution, handler styles, errors.
mod common;
use common::*;

#[test]
fn esm_graph_with_relative_imports_json_and_cjs_package() {
    let s = Service::new(
        "src/index.js",
        &[
            (
                "src/index.js",
                r#"
                import { greet } from './lib/greet';
                import data from '../data.json';
                import pkg, { named } from 'cjs-pkg';
                import esm from 'esm-pkg/sub';
                import { Buffer } from 'node:buffer';
                import path from 'path';
                export default { async fetch(req) {
                    const dyn = await import('./lib/dyn.mjs');
                    return new Response([greet('x'), data.v, pkg.named(), named(), esm, Buffer.from('hi').toString('hex'), path.join('/a', 'b'), dyn.default].join('|'));
                } };
            "#,
            ),
            (
                "src/lib/greet.js",
                "export const greet = (n) => `hello ${n}`;",
            ),
            ("src/lib/dyn.mjs", "export default 'dynamic';"),
            ("data.json", r#"{ "v": 42 }"#),
            (
                "node_modules/cjs-pkg/package.json",
                r#"{ "name": "cjs-pkg", "main": "lib/main.js" }"#,
            ),
            (
                "node_modules/cjs-pkg/lib/main.js",
                "const h = require('./helper'); exports.named = () => 'named:' + h;",
            ),
            (
                "node_modules/cjs-pkg/lib/helper.js",
                "module.exports = 'helper';",
            ),
            (
                "node_modules/esm-pkg/package.json",
                r#"{ "name": "esm-pkg", "type": "module", "exports": { ".": "./index.js", "./sub": { "require": "./sub.cjs", "import": "./sub.js" } } }"#,
            ),
            ("node_modules/esm-pkg/sub.js", "export default 'esm-sub';"),
            (
                "node_modules/esm-pkg/sub.cjs",
                "module.exports = 'cjs-sub';",
            ),
        ],
    );
    assert_eq!(
        s.text(get("http://x/")),
        "hello x|42|named:helper|named:helper|esm-sub|6869|/a/b|dynamic"
    );
}

#[test]
fn commonjs_service_with_nested_node_modules() {
    let s = Service::new(
        "app/server.js",
        &[
            (
                "app/server.js",
                r#"
                const a = require('a');
                const { version } = require('./package.json');
                const crypto = require('node:crypto');
                module.exports = {
                    fetch(request) {
                        return new Response(`${a()} v${version} ${crypto.createHash('sha256').update('abc').digest('hex').slice(0, 8)} ${typeof __dirname} ${__filename}`);
                    },
                };
            "#,
            ),
            ("app/package.json", r#"{ "version": "1.2.3" }"#),
            // `a` is found in node_modules up the tree; its dependency `b`
            // resolves from a's own nested node_modules first.
            (
                "node_modules/a/index.js",
                "const b = require('b'); module.exports = () => 'a+' + b;",
            ),
            (
                "node_modules/a/node_modules/b/package.json",
                r#"{ "exports": { ".": { "node": "./node.js", "default": "./default.js" } } }"#,
            ),
            (
                "node_modules/a/node_modules/b/node.js",
                "module.exports = 'b-nested-node';",
            ),
            ("node_modules/b/index.js", "module.exports = 'b-top';"),
        ],
    );
    assert_eq!(
        s.text(get("http://x/")),
        "a+b-nested-node v1.2.3 ba7816bf string /app/server.js"
    );
}

#[test]
fn exports_fetch_and_default_fetch_commonjs() {
    let s = Service::new(
        "i.js",
        &[(
            "i.js",
            "exports.fetch = async (req, env, ctx) => new Response('exports.fetch');",
        )],
    );
    assert_eq!(s.text(get("http://x/")), "exports.fetch");
    let s = Service::new(
        "i.cjs",
        &[(
            "i.cjs",
            "module.exports = { default: { fetch: () => new Response('default.fetch') } };",
        )],
    );
    assert_eq!(s.text(get("http://x/")), "default.fetch");
}

#[test]
fn service_worker_script() {
    let s = Service::new(
        "sw.js",
        &[(
            "sw.js",
            r#"
            var hits = 0;
            addEventListener('fetch', (event) => {
                hits++;
                event.waitUntil(Promise.resolve());
                event.respondWith(new Response('sw ' + new URL(event.request.url).pathname + ' ' + hits + ' ' + (globalThis.hits === hits)));
            });
        "#,
        )],
    );
    assert_eq!(s.text(get("http://x/p")), "sw /p 1 true");
    assert_eq!(s.text(get("http://x/q")), "sw /q 2 true");
}

#[test]
fn package_imports_and_star_exports() {
    let s = Service::new(
        "index.mjs",
        &[
            (
                "index.mjs",
                "import x from 'pkg/feature/one'; import y from '#internal'; export default { fetch: () => new Response(x + y) };",
            ),
            (
                "package.json",
                r##"{ "imports": { "#internal": "./internal.js" } }"##,
            ),
            ("internal.js", "export default '+internal';"),
            (
                "node_modules/pkg/package.json",
                r#"{ "exports": { "./feature/*": "./dist/*.js" } }"#,
            ),
            ("node_modules/pkg/dist/one.js", "export default 'one';"),
        ],
    );
    assert_eq!(s.text(get("http://x/")), "one+internal");
}

#[test]
fn compile_errors_name_file_line_and_column() {
    let e = compile(
        "src/a.js",
        &[
            (
                "src/a.js",
                "import x from './x.js';\n\nimport b from './b.js';\nexport default {};",
            ),
            ("src/x.js", "export default 1;"),
        ],
    )
    .unwrap_err();
    assert_eq!(
        e,
        "src/a.js:3:1: cannot resolve './b.js' (imported from src/a.js)"
    );

    let e = compile(
        "a.js",
        &[(
            "a.js",
            "export default {\n  fetch() {\n    return 1 +;\n  }\n};",
        )],
    )
    .unwrap_err();
    assert!(e.starts_with("a.js:3:"), "{e}");
    assert!(e.contains("SyntaxError"), "{e}");

    // A syntax error in a CommonJS dependency, on its first line.
    let e = compile(
        "a.js",
        &[
            (
                "a.js",
                "const b = require('./b');\nmodule.exports = { fetch() {} };",
            ),
            ("b.js", "let x = ;"),
        ],
    )
    .unwrap_err();
    assert_eq!(&e[..8], "b.js:1:9", "{e}");

    let e = compile("a.js", &[("a.js", "const fs = require('node:fs');")]).unwrap_err();
    assert!(e.starts_with("a.js:1:12: 'node:fs' is not available in Mote; the supported node modules are node:assert, node:buffer"), "{e}");
    let e = compile("a.js", &[("a.js", "const fs = require('fs');")]).unwrap_err();
    assert!(
        e.contains("'fs' is a Node module not available in Mote"),
        "{e}"
    );

    let e = compile("a.js", &[("a.js", "const m = require('missing-pkg');")]).unwrap_err();
    assert_eq!(
        e,
        "a.js:1:11: cannot resolve 'missing-pkg' (imported from a.js)"
    );

    let e = compile(
        "a.js",
        &[
            ("a.js", "require('./e.mjs'); module.exports = {};"),
            ("e.mjs", "export default 1;"),
        ],
    )
    .unwrap_err();
    assert!(e.contains("cannot require() the ES module e.mjs"), "{e}");

    let e = compile("a.js", &[("a.js", "import '../outside.js';")]).unwrap_err();
    assert!(e.contains("outside the app"), "{e}");

    let e = compile("bad.json.js", &[("x.js", "")]).unwrap_err();
    assert_eq!(e, "bad.json.js: file not found in the app");

    let e = compile(
        "a.js",
        &[
            ("a.js", "import d from './d.json'; export default {};"),
            ("d.json", "{ bad json }"),
        ],
    )
    .unwrap_err();
    assert!(e.starts_with("d.json"), "{e}");
}

#[test]
fn missing_handler_is_an_error_at_load() {
    let bundle = compile("a.js", &[("a.js", "export default { notFetch() {} };")]).unwrap();
    let (mut e, _) = engine();
    let err = e.load(bundle).unwrap_err();
    assert!(err.contains("no fetch handler"), "{err}");
}

#[test]
fn bundle_is_bytecode_with_versioned_magic() {
    let b = compile(
        "a.js",
        &[("a.js", "export default { fetch: () => new Response('x') };")],
    )
    .unwrap();
    assert!(b.starts_with(b"MOTEJS\x002\0"));
    let (mut e, _) = engine();
    let mut bad = b.clone();
    bad[7] = b'9';
    assert!(e.load(bad).unwrap_err().contains("another engine version"));
}
