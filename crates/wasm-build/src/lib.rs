//! Build-script support for crates that embed or point at WebAssembly built
//! from a separate cargo workspace of this repository (`guests/`,
//! `engines/js/`): those workspaces target `wasm32-wasip2`, so they cannot be
//! members of the root workspace and are built by a nested `cargo build`.
//!
//! The nested build goes to `<target-dir>/<name>`, next to (not inside) the
//! profile directories, so debug and release builds of the outer workspace
//! share it and a rebuild of the calling crate does not start it from
//! scratch.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The target every nested workspace is built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// A nested workspace to build for [`WASM_TARGET`].
pub struct WasmWorkspace {
    /// The workspace's directory (holding its `Cargo.toml`).
    pub dir: PathBuf,
    /// Name of its build directory under the outer target directory.
    pub target_name: &'static str,
    /// Extra environment for the nested build (e.g. the C compiler for a
    /// `-sys` crate); set on that build only.
    pub env: Vec<(&'static str, &'static str)>,
    /// What to tell the user when the build fails, besides the command.
    pub hint: &'static str,
}

impl WasmWorkspace {
    /// The workspace at `relative` (to the calling crate's manifest directory).
    pub fn new(relative: &str, target_name: &'static str) -> WasmWorkspace {
        let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
        let dir = manifest_dir
            .join(relative)
            .canonicalize()
            .unwrap_or_else(|e| panic!("the workspace {relative} is missing: {e}"));
        WasmWorkspace {
            dir,
            target_name,
            env: Vec::new(),
            hint: "",
        }
    }

    /// Reruns the build script when anything in the workspace changes,
    /// except its own `target/` (if someone built it by hand) and hidden
    /// entries.
    pub fn watch_sources(&self) {
        for entry in fs::read_dir(&self.dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name == "target" || name.starts_with('.') {
                continue;
            }
            // A directory is scanned recursively by cargo.
            println!("cargo:rerun-if-changed={}", entry.path().display());
        }
    }

    /// `<target-dir>/<target_name>`, found from `OUT_DIR`, which is
    /// `<target-dir>[/<triple>]/<profile>/build/<package>-<hash>/out`. Falls
    /// back to a directory inside `OUT_DIR` if the layout is not the
    /// expected one.
    pub fn target_dir(&self) -> PathBuf {
        let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
        let mut ancestors = out_dir.ancestors();
        let build = ancestors.nth(2);
        let target = ancestors.nth(1);
        match (build, target) {
            (Some(build), Some(target)) if build.file_name().is_some_and(|n| n == "build") => {
                target.join(self.target_name)
            }
            _ => out_dir.join(self.target_name),
        }
    }

    /// Where the built `.wasm` files are.
    pub fn artifacts(&self) -> PathBuf {
        self.target_dir().join(WASM_TARGET).join("release")
    }

    /// Runs `cargo build --release --locked --target wasm32-wasip2` on the
    /// workspace, with the environment the outer cargo gave the build script
    /// cleaned of everything meant for the outer build. Panics with the
    /// command to retry by hand if it fails.
    pub fn build(&self) {
        check_wasm_target();
        let manifest = self.dir.join("Cargo.toml");
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&self.dir)
            .args(["build", "--release", "--locked", "--target", WASM_TARGET])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(self.target_dir());
        for (key, _) in env::vars_os() {
            if key.to_str().is_some_and(outer_only) {
                cmd.env_remove(key);
            }
        }
        let mut by_hand = String::new();
        for (key, value) in &self.env {
            cmd.env(key, value);
            by_hand.push_str(&format!("{key}={value} "));
        }

        // Cargo reads the build script's stdout for directives: send the
        // nested build's output to stderr, which cargo shows if it fails.
        cmd.stdout(Stdio::from(std::io::stderr()));
        eprintln!("running: {cmd:?}");
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("failed to run cargo for {}: {e}", self.dir.display()));
        if !status.success() {
            panic!(
                "building {} failed ({status}); try it directly with\n\n    \
                 {by_hand}cargo build --release --locked --target {WASM_TARGET} --manifest-path {}\n\n\
                 (if its Cargo.lock is out of date, run that without --locked and commit the lock file){}",
                self.dir.display(),
                manifest.display(),
                self.hint,
            );
        }
    }
}

/// Variables cargo set for the outer build that must not leak into the
/// nested one.
fn outer_only(key: &str) -> bool {
    [
        "CARGO_BUILD_",
        "CARGO_TARGET_",
        "CARGO_PROFILE_",
        "CARGO_ENCODED_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
    ]
    .iter()
    .any(|prefix| key.starts_with(prefix))
        || [
            "RUSTFLAGS",
            "RUSTDOCFLAGS",
            "CARGO_MAKEFLAGS",
            "MAKEFLAGS",
            "MFLAGS",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_INCREMENTAL",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
            "RUSTC_LINKER",
            "CLIPPY_ARGS",
            "CLIPPY_CONF_DIR",
            "__CARGO_FIX_PLZ",
        ]
        .contains(&key)
}

/// Fails early, with the fix, if the standard library for the wasm target is
/// not installed.
fn check_wasm_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output();
    let installed = match output {
        Ok(out) if out.status.success() => {
            let dir = String::from_utf8_lossy(&out.stdout);
            Path::new(dir.trim()).is_dir()
        }
        _ => false,
    };
    if !installed {
        panic!(
            "\n\nThe Rust target `{WASM_TARGET}` is not installed, and Mote builds WebAssembly \
             for it.\nInstall it with:\n\n    rustup target add {WASM_TARGET}\n\n(scripts/setup does)\n"
        );
    }
}

/// Writes `bytes` to `path` unless it already holds them, through a
/// temporary file and a rename, so a reader never sees half of it. Returns
/// whether it wrote. `mtime`, if given, is set on the new file (cargo
/// reruns a build script when a watched file is newer than its last run).
pub fn write_if_changed(path: &Path, bytes: &[u8], mtime: Option<std::time::SystemTime>) -> bool {
    if fs::read(path).ok().as_deref() == Some(bytes) {
        return false;
    }
    let name = path
        .file_name()
        .unwrap_or(OsStr::new("file"))
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    fs::write(&tmp, bytes).unwrap();
    if let Some(time) = mtime {
        let file = fs::File::options().write(true).open(&tmp).unwrap();
        file.set_modified(time).unwrap();
    }
    fs::rename(&tmp, path).unwrap();
    true
}
