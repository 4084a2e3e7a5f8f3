//! The command line: what `mote` accepts, and its help.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mote_client::{DEFAULT_ADMIN_URL, Method};

#[derive(Debug, Parser)]
#[command(
    name = "mote",
    version,
    about = "Mote: a self-hosted nanoservices platform",
    long_about = "Mote: a self-hosted nanoservices platform.\n\n\
        Apps are folders holding a manifest (mote.toml) and WebAssembly components \
        (wasi:http). `mote serve` runs a node: a data plane serving the apps' routes \
        and an admin API to manage them. The other commands talk to a node's admin API.",
    after_help = "Examples:\n  \
        mote serve --app examples/hello       run a node serving one app\n  \
        mote deploy examples/hello            deploy (or update) an app\n  \
        mote ls                               list the deployed apps\n  \
        mote invoke hello --path /hello       send the app a request\n  \
        mote secret set hello slack_token     set a secret (the value is read from stdin)\n\n\
        Run `mote help COMMAND` for a command's options and examples."
)]
pub struct Cli {
    /// Print only errors and the data asked for: no progress bar, no confirmations
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Serve(ServeArgs),
    Deploy(DeployArgs),
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Show an app: its live version, services, routes and limits
    #[command(after_help = "Examples:\n  \
        mote show hello\n  \
        mote show hello --json")]
    Show(AppQueryArgs),
    /// List the kept versions of an app
    #[command(after_help = "Examples:\n  \
        mote versions hello\n  \
        mote versions hello --json")]
    Versions(AppQueryArgs),
    /// Make the version before the live one live again
    #[command(after_help = "Examples:\n  \
        mote rollback hello\n  \
        mote versions hello      see which versions are kept")]
    Rollback(AppArgs),
    /// Stop serving an app and delete all its versions
    #[command(
        visible_alias = "delete",
        after_help = "Examples:\n  \
        mote rm hello"
    )]
    Rm(AppArgs),
    Invoke(InvokeArgs),
    Secret(SecretArgs),
    Health(HealthArgs),
}

/// How to reach a node's admin API (the options of every client command).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// The node's admin API: a URL, or HOST:PORT
    #[arg(long, env = "MOTE_ADMIN", value_name = "URL", default_value = DEFAULT_ADMIN_URL)]
    pub admin: String,

    /// The admin token [default: read from <DATA_DIR>/admin-token]
    #[arg(long, env = "MOTE_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// The node's data directory, where the admin token is read from when
    /// --token is not given [default: $HOME/.local/share/mote]
    #[arg(long, env = "MOTE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The format of `mote serve`'s logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event
    Text,
    /// One JSON object per line
    Json,
}

/// Run a node: the data plane and the admin API
#[derive(Debug, Args)]
#[command(
    long_about = "Run a node until interrupted (Ctrl-C or SIGTERM): the data plane serves the \
        deployed apps' routes on --listen, the admin API (used by the other commands) \
        listens on --admin.\n\n\
        Deployed apps are kept in the data directory and served again after a restart. \
        The admin token is written to <DATA_DIR>/admin-token on first start. Logs go to \
        stderr; set their level with RUST_LOG (default: info).",
    after_help = "Examples:\n  \
        mote serve --app examples/hello\n  \
        mote serve --listen 0.0.0.0:8080 --admin 127.0.0.1:8081 --data-dir /var/lib/mote\n  \
        RUST_LOG=debug mote serve --log-format json"
)]
pub struct ServeArgs {
    /// An app folder (holding mote.toml) to deploy at start-up; repeatable
    #[arg(long = "app", value_name = "DIR")]
    pub apps: Vec<PathBuf>,

    /// Address of the data plane
    #[arg(long, env = "MOTE_LISTEN", value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_listen_addr)]
    pub listen: SocketAddr,

    /// Address of the admin API
    #[arg(long = "admin", env = "MOTE_ADMIN_LISTEN", value_name = "ADDR", default_value = "127.0.0.1:8081", value_parser = parse_listen_addr)]
    pub admin: SocketAddr,

    /// Where deployments, compiled code and the admin token are kept
    /// [default: $HOME/.local/share/mote]
    #[arg(long, env = "MOTE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Format of the logs
    #[arg(long, env = "MOTE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Data-plane threads, each serving its own share of the connections
    /// (a request and the service calls it makes stay on one thread)
    /// [default: one per CPU]
    #[arg(long, env = "MOTE_THREADS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Where KV namespaces are stored: "embedded" (a database in the data
    /// directory) or a Redis server's URL, like redis://127.0.0.1:6379/0
    #[arg(long, env = "MOTE_KV", value_name = "embedded|URL", default_value = "embedded", value_parser = parse_kv)]
    pub kv: KvBackend,

    /// Most sandbox instances at once (sizes the instance pool; each request
    /// and each service-binding call holds one while it runs; beyond it
    /// requests wait briefly, then get 503)
    #[arg(long, env = "MOTE_MAX_INSTANCES", value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    pub max_instances: u32,

    /// A service's code unused for this long is unloaded from memory (its
    /// next request loads it again from the compiled-code cache, in about a
    /// millisecond)
    #[arg(long, env = "MOTE_IDLE_TIMEOUT", value_name = "DURATION", default_value = "5m", value_parser = parse_positive_duration)]
    pub idle_timeout: std::time::Duration,

    /// Most memory the services' loaded code may hold (compiled components,
    /// JavaScript bundles and snapshots); over it, the least recently used
    /// is unloaded
    #[arg(long, env = "MOTE_MEMORY_BUDGET", value_name = "SIZE", default_value = "512MiB", value_parser = mote_manifest::parse_size)]
    pub memory_budget: u64,

    /// The most a service's manifest may set a limit to, as LIMIT=VALUE
    /// (repeatable, or comma-separated in the variable): cpu=5s,
    /// memory=256MiB, concurrency=100... A deploy above a maximum is refused.
    /// [default maxima: memory=1GiB cpu=60s timeout=10m request_body=1GiB
    /// response_body=1GiB concurrency=10000 queue=10000 subrequests=1000
    /// log=1MiB]
    #[arg(long = "limit-max", env = "MOTE_LIMIT_MAX", value_name = "LIMIT=VALUE", value_delimiter = ',', value_parser = parse_limit_max)]
    pub limit_max: Vec<(String, String)>,

    /// Promote a JavaScript service to its own snapshot (requests ~15 %
    /// cheaper, ~4 MiB of memory and 2-4 s of CPU to make) once it has
    /// served about this many requests in the last 8 seconds (the default,
    /// about 125 a second); 0 never promotes
    #[arg(
        long,
        env = "MOTE_PROMOTE_AFTER",
        value_name = "REQUESTS",
        default_value_t = 1000
    )]
    pub promote_after: u32,

    /// An instance slot keeps the pages its last instance used (up to 1 MiB,
    /// so that the next instance starts without page faults); once unused
    /// for this long (up to twice this), it gives them back to the system.
    /// After a burst of requests, the node's memory returns to what its
    /// steady traffic uses.
    #[arg(long, env = "MOTE_RELEASE_IDLE_MEMORY_AFTER", value_name = "DURATION", default_value = "10s", value_parser = parse_positive_duration)]
    pub release_idle_memory_after: std::time::Duration,
}

fn parse_limit_max(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected LIMIT=VALUE like cpu=5s, got {text:?}"))?;
    mote_manifest::Limits::node_maximum().set(key, value)?;
    Ok((key.to_owned(), value.to_owned()))
}

fn parse_positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match mote_manifest::parse_duration(text)? {
        d if d.is_zero() => Err("must be more than 0s".to_owned()),
        d => Ok(d),
    }
}

/// `--kv`: the KV backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvBackend {
    /// The embedded store in the data directory.
    Embedded,
    /// A Redis server.
    Redis(String),
}

fn parse_kv(text: &str) -> Result<KvBackend, String> {
    if text == "embedded" {
        Ok(KvBackend::Embedded)
    } else if text.starts_with("redis://") || text.starts_with("rediss://") {
        Ok(KvBackend::Redis(text.to_owned()))
    } else {
        Err(format!(
            "expected \"embedded\" or a redis:// URL like redis://127.0.0.1:6379/0, got {text:?}"
        ))
    }
}

/// Deploy an app folder (a new version of the app)
#[derive(Debug, Args)]
#[command(
    long_about = "Deploy the app in DIR: the folder holding mote.toml and the WebAssembly \
        files it names. The manifest is checked here first; then the folder is uploaded \
        and the node compiles it. The new version goes live only once it is ready, and \
        if anything fails the previous version keeps serving.",
    after_help = "Examples:\n  \
        mote deploy examples/hello\n  \
        mote deploy . --admin http://node1.example.com:8081 --token \"$TOKEN\""
)]
pub struct DeployArgs {
    /// The app's folder (or its mote.toml)
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    #[command(flatten)]
    pub connection: Connection,
}

/// List the deployed apps
#[derive(Debug, Args)]
#[command(
    long_about = "List the deployed apps: name, live version, services and when the live \
        version was deployed (UTC).",
    after_help = "Examples:\n  \
        mote ls\n  \
        mote ls --json"
)]
pub struct LsArgs {
    /// Print JSON (as the admin API answers) instead of a table
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub connection: Connection,
}

/// The arguments of a command about one app whose answer can be printed as JSON.
#[derive(Debug, Args)]
pub struct AppQueryArgs {
    /// The app's name
    pub app: String,

    /// Print JSON (as the admin API answers)
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub connection: Connection,
}

/// The arguments of a command that changes one app.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// The app's name
    pub app: String,

    #[command(flatten)]
    pub connection: Connection,
}

/// Send one request to an app and print its response
#[derive(Debug, Args)]
#[command(
    long_about = "Send one request to an app through the admin API and print the response's \
        body to stdout, as is. The request is routed by --path among the app's own routes \
        (hosts are ignored). Exits with 0 when the app answers 2xx or 3xx, 1 otherwise.\n\n\
        Without -X, the method is GET, or POST when a body is given with -d or --data-file.",
    after_help = "Examples:\n  \
        mote invoke hello --path /hello\n  \
        mote invoke hello --path '/hello?name=you' -i\n  \
        mote invoke echo --path /echo -X PUT -H 'Content-Type: application/json' -d '{\"a\": 1}'\n  \
        cat body.json | mote invoke echo --path /echo/json --data-file -"
)]
pub struct InvokeArgs {
    /// The app's name
    pub app: String,

    /// The request's path inside the app, with its query string if any
    #[arg(long, value_name = "PATH")]
    pub path: String,

    /// The method [default: GET, or POST with a body]
    #[arg(short = 'X', long = "request", value_name = "METHOD", value_parser = parse_method)]
    pub method: Option<Method>,

    /// A request header; repeatable
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// The request's body
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "data_file"
    )]
    pub data: Option<String>,

    /// Read the request's body from FILE ("-" for stdin)
    #[arg(long = "data-file", value_name = "FILE")]
    pub data_file: Option<PathBuf>,

    /// Print the response's status and headers before its body
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    #[command(flatten)]
    pub connection: Connection,
}

/// Manage an app's secrets: set, list, remove
#[derive(Debug, Args)]
#[command(
    long_about = "Manage an app's secrets: values such as API tokens that are set on the node, \
        never written in mote.toml. A service gets a secret only when its manifest grants it, \
        as an environment variable: `bindings.TOKEN = { secret = \"slack_token\" }`.\n\n\
        Secrets belong to the app's name: they can be set before its first deploy and are \
        kept when it is redeployed or removed. The node stores them in \
        <DATA_DIR>/secrets.redb (mode 0600). Values are never shown again: not by these \
        commands, the admin API nor the node's logs.",
    after_help = "Examples:\n  \
        echo \"$SLACK_TOKEN\" | mote secret set hello slack_token\n  \
        mote secret ls hello\n  \
        mote secret rm hello slack_token"
)]
pub struct SecretArgs {
    #[command(subcommand)]
    pub command: SecretCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    Set(SecretSetArgs),
    /// List an app's secrets: names and when they were set, never values
    #[command(
        visible_alias = "list",
        long_about = "List the secrets of app APP: their names and when each was last set (UTC). \
            Values are never shown.",
        after_help = "Examples:\n  \
            mote secret ls hello\n  \
            mote secret ls hello --json"
    )]
    Ls(AppQueryArgs),
    #[command(visible_alias = "delete")]
    Rm(SecretNameArgs),
}

/// Set (create or replace) a secret of an app; the value is read from stdin
#[derive(Debug, Args)]
#[command(
    long_about = "Set (create or replace) secret NAME of app APP. The value is read from \
        stdin to its end, so it never appears in the command line or the shell's history; \
        one trailing newline (\"\\n\" or \"\\r\\n\") is removed, so `echo` works. On a \
        terminal, type the value, then Enter and Ctrl-D.\n\n\
        The value is UTF-8 text, not empty, at most 64 KiB. The app need not be deployed \
        yet. Services that are running see the new value from their next request on.",
    after_help = "Examples:\n  \
        echo \"$SLACK_TOKEN\" | mote secret set hello slack_token\n  \
        mote secret set hello db_password < password.txt\n  \
        mote secret set hello api_key                   type it, then Enter and Ctrl-D"
)]
pub struct SecretSetArgs {
    /// The app's name
    pub app: String,

    /// The secret's name: letters, digits and "_", not starting with a digit
    pub name: String,

    #[command(flatten)]
    pub connection: Connection,
}

/// Remove a secret of an app
#[derive(Debug, Args)]
#[command(
    long_about = "Remove secret NAME of app APP from the node. Fails if the app has no \
        secret of that name.",
    after_help = "Examples:\n  \
        mote secret rm hello slack_token"
)]
pub struct SecretNameArgs {
    /// The app's name
    pub app: String,

    /// The secret's name
    pub name: String,

    #[command(flatten)]
    pub connection: Connection,
}

/// Check that a node is up, and summarise it
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
        mote health\n  \
        mote health --admin 127.0.0.1:9081 --json")]
pub struct HealthArgs {
    /// Print JSON (as the admin API answers)
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub connection: Connection,
}

/// A listen address: `HOST:PORT` (the host may be a name, like
/// `localhost:8080`), optionally written as an `http://` URL.
fn parse_listen_addr(text: &str) -> Result<SocketAddr, String> {
    let bare = text
        .strip_prefix("http://")
        .unwrap_or(text)
        .trim_end_matches('/');
    if let Ok(addr) = bare.parse() {
        return Ok(addr);
    }
    match bare.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("{text:?} resolves to no address")),
        Err(_) => Err(format!(
            "expected an address like 127.0.0.1:8080, got {text:?}"
        )),
    }
}

/// A method, like `get` or `PATCH` (upper-cased).
fn parse_method(text: &str) -> Result<Method, String> {
    Method::from_bytes(text.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid method {text:?}"))
}

/// A header written `Name: value`.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("expected a header like 'Name: value', got {text:?}"))?;
    let name = name.trim();
    let value = value.trim();
    http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("invalid header name {name:?}"))?;
    http::HeaderValue::from_str(value).map_err(|_| format!("invalid value of header {name:?}"))?;
    Ok((name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen_addr("127.0.0.1:8081").unwrap(),
            "127.0.0.1:8081".parse().unwrap()
        );
        assert_eq!(
            parse_listen_addr("http://0.0.0.0:80/").unwrap(),
            "0.0.0.0:80".parse().unwrap()
        );
        assert!(
            parse_listen_addr("localhost:8080")
                .unwrap()
                .ip()
                .is_loopback()
        );
        assert!(parse_listen_addr("8080").is_err());
    }

    #[test]
    fn headers_and_methods() {
        assert_eq!(
            parse_header("Content-Type:  text/plain ").unwrap(),
            ("Content-Type".to_owned(), "text/plain".to_owned())
        );
        assert_eq!(parse_header("X-Empty:").unwrap().1, "");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert_eq!(parse_method("patch").unwrap(), Method::PATCH);
        assert!(parse_method("BAD METHOD").is_err());
    }
}
