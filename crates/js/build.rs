//! Builds the JavaScript engine component (`<repo>/engines/js`, QuickJS
//! through rquickjs) for `wasm32-wasip2` and copies it to
//! `$OUT_DIR/mote_js_engine.wasm`, which the crate embeds.
//!
//! QuickJS is C: the nested build compiles it with Debian's clang-14 against
//! Debian's wasi-libc (`scripts/setup` installs both). `MOTE_JS_ENGINE_WASM`
//! names an already built engine component to embed instead.

use std::env;
use std::fs;
use std::path::PathBuf;

use mote_wasm_build::{WasmWorkspace, write_if_changed};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("mote_js_engine.wasm");
    println!("cargo:rerun-if-env-changed=MOTE_JS_ENGINE_WASM");
    // The host interfaces the engine imports (`mote:host`).
    println!("cargo:rerun-if-changed=../../wit");
    let built = match env::var_os("MOTE_JS_ENGINE_WASM") {
        Some(path) => PathBuf::from(path),
        None => {
            let mut workspace = WasmWorkspace::new("../../engines/js", "mote-js-engine");
            workspace.env = vec![
                // rquickjs-sys would otherwise download the WASI SDK.
                ("RQUICKJS_SYS_NO_WASI_SDK", "1"),
                ("CC_wasm32_wasip2", "clang-14"),
                ("AR_wasm32_wasip2", "llvm-ar-14"),
                ("CFLAGS_wasm32_wasip2", "--target=wasm32-wasi"),
            ];
            workspace.hint = "\nQuickJS needs Debian's clang-14, lld-14, wasi-libc and \
                 libclang-rt-14-dev-wasm32 packages: scripts/setup installs them.";
            workspace.watch_sources();
            workspace.build();
            workspace.artifacts().join("mote_js_engine.wasm")
        }
    };
    println!("cargo:rerun-if-changed={}", built.display());
    let bytes = fs::read(&built)
        .unwrap_or_else(|e| panic!("the JavaScript engine {} is missing: {e}", built.display()));
    write_if_changed(&out, &bytes, None);
}
