//! Start and stop real `mote serve` processes; build app folders.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const MOTE: &str = env!("CARGO_BIN_EXE_mote");

/// A `mote serve` child process on ephemeral loopback ports.
pub struct Node {
    child: Option<Child>,
    pub data: SocketAddr,
    pub admin: SocketAddr,
    pub data_dir: PathBuf,
    logs: Arc<Mutex<String>>,
}

fn parse_addr(line: &str, key: &str) -> Option<SocketAddr> {
    let start = line.find(key)? + key.len();
    let rest = &line[start..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

impl Node {
    /// Start a node on `data_dir`, deploying `apps` at start-up.
    pub fn start(data_dir: &Path, apps: &[&Path]) -> Node {
        Self::try_start(data_dir, apps)
            .unwrap_or_else(|logs| panic!("node failed to start:\n{logs}"))
    }

    /// Start a node; `Err(logs)` if it exits before it is ready.
    pub fn try_start(data_dir: &Path, apps: &[&Path]) -> Result<Node, String> {
        Self::try_start_with(data_dir, apps, &[])
    }

    /// Start a node with more `mote serve` arguments (like `--kv URL`).
    pub fn start_with(data_dir: &Path, apps: &[&Path], args: &[&str]) -> Node {
        Self::try_start_with(data_dir, apps, args)
            .unwrap_or_else(|logs| panic!("node failed to start:\n{logs}"))
    }

    fn try_start_with(data_dir: &Path, apps: &[&Path], args: &[&str]) -> Result<Node, String> {
        let mut cmd = Command::new(MOTE);
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        for app in apps {
            cmd.arg("--app").arg(app);
        }
        cmd.args(args);
        let mut child = cmd.spawn().expect("spawn mote");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let logs = logs.clone();
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("mote node started")
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(line.clone());
                    }
                    let mut l = logs.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => Ok(Node {
                child: Some(child),
                data: parse_addr(&line, "data_addr=").expect("data_addr in start line"),
                admin: parse_addr(&line, "admin_addr=").expect("admin_addr in start line"),
                data_dir: data_dir.to_path_buf(),
                logs,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                Err(logs.lock().unwrap().clone())
            }
        }
    }

    /// `http://127.0.0.1:PORT{path}` on the data plane.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.data, path)
    }

    /// `http://127.0.0.1:PORT{path}` on the admin API.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin, path)
    }

    /// The admin token the node created.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin-token"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Everything the node has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Wait (bounded) until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The first log line containing `needle`, waiting (bounded) for it.
    pub fn log_line(&self, needle: &str) -> String {
        assert!(self.wait_for_log(needle), "no log line with {needle:?}");
        self.logs()
            .lines()
            .find(|l| l.contains(needle))
            .unwrap()
            .to_string()
    }

    /// Run the `mote` CLI against this node.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(MOTE)
            .args(args)
            .arg("--admin")
            .arg(self.admin.to_string())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .stdin(Stdio::null())
            .output()
            .expect("run mote")
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("a running node").id()
    }

    /// `kill -9`: no chance to flush or clean up.
    pub fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM and wait for a clean exit; returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        child.wait().unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A temporary app folder: `mote.toml` plus guest components copied in.
pub fn app_dir(manifest: &str, guests: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_app(dir.path(), manifest, guests);
    dir
}

/// Write `mote.toml` and copy guests (`(file name, guest package)`) into `dir`.
pub fn write_app(dir: &Path, manifest: &str, guests: &[(&str, &str)]) {
    std::fs::write(dir.join("mote.toml"), manifest).unwrap();
    for (file, guest) in guests {
        let src = mote_test_guests::get(guest).unwrap_or_else(|| panic!("no guest {guest}"));
        std::fs::copy(src, dir.join(file)).unwrap();
    }
}

/// A blocking HTTP client with generous timeouts.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// `GET path` on the data plane: status and body.
pub fn get(node: &Node, path: &str) -> (u16, String) {
    let resp = http().get(node.url(path)).send().unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

/// `GET path` on the data plane, which must answer 200 with JSON.
pub fn get_json(node: &Node, path: &str) -> serde_json::Value {
    let (status, body) = get(node, path);
    assert_eq!(status, 200, "{path}: {body}\n{}", node.logs());
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// A client that sends the node's admin token.
pub fn admin(node: &Node) -> reqwest::blocking::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", node.token()).parse().unwrap(),
    );
    reqwest::blocking::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A tar of an app folder, as `mote deploy` uploads it.
pub fn tar_of(dir: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        b.append_path_with_name(entry.path(), entry.file_name())
            .unwrap();
    }
    b.into_inner().unwrap()
}

/// The value of `key=` in a log line.
pub fn log_field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line
        .find(&format!(" {key}="))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + key.len()
        + 2;
    let rest = &line[start..];
    &rest[..rest.find(' ').unwrap_or(rest.len())]
}

/// A hello app manifest named `name` with route `route`.
pub fn hello_manifest(name: &str, route: &str) -> String {
    format!(
        "name = \"{name}\"\n\n[services.hello]\nsource = \"hello.wasm\"\nroutes = [\"{route}\"]\n"
    )
}
