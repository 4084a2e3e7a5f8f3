//! The client commands: everything but `serve`, talking to a node's admin API.

use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mote_client::{Client, MAX_SECRET_BYTES, Method, TOKEN_FILE};

use crate::cli::{Command, Connection, DeployArgs, InvokeArgs, SecretCommand};
use crate::output;

/// Runs a client command to completion.
pub fn run(command: Command, quiet: bool) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(command, quiet))
}

async fn dispatch(command: Command, quiet: bool) -> Result<()> {
    let mut out = io::stdout().lock();
    match command {
        Command::Serve(_) => unreachable!("`serve` is not a client command"),
        Command::Deploy(args) => deploy(args, quiet, &mut out).await,
        Command::Ls(args) => {
            let apps = connect(&args.connection)?.list().await?;
            if args.json {
                output::json(&mut out, &apps)
            } else {
                output::apps(&mut out, &apps)
            }
        }
        Command::Show(args) => {
            let app = connect(&args.connection)?.show(&args.app).await?;
            if args.json {
                output::json(&mut out, &app)
            } else {
                output::app(&mut out, &app)
            }
        }
        Command::Versions(args) => {
            let versions = connect(&args.connection)?.versions(&args.app).await?;
            if args.json {
                output::json(&mut out, &versions)
            } else {
                output::versions(&mut out, &versions)
            }
        }
        Command::Rollback(args) => {
            let app = connect(&args.connection)?.rollback(&args.app).await?;
            if !quiet {
                writeln!(out, "rolled back {} to version {}", app.name, app.version)?;
            }
            Ok(())
        }
        Command::Rm(args) => {
            connect(&args.connection)?.delete(&args.app).await?;
            if !quiet {
                writeln!(out, "removed {}", args.app)?;
            }
            Ok(())
        }
        Command::Invoke(args) => invoke(args, &mut out).await,
        Command::Secret(args) => secret(args.command, quiet, &mut out).await,
        Command::Health(args) => {
            let client = connect(&args.connection)?;
            let health = client.health().await?;
            if args.json {
                output::json(&mut out, &health)
            } else {
                output::health(&mut out, client.base_url(), &health)
            }
        }
    }
}

/// A client for the connection options: the token is `--token` or
/// `MOTE_TOKEN`, or else read from `<data-dir>/admin-token` if readable.
fn connect(connection: &Connection) -> Result<Client> {
    let token = connection
        .token
        .as_deref()
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            let dir = connection
                .data_dir
                .clone()
                .or_else(crate::default_data_dir)?;
            read_token(&dir.join(TOKEN_FILE))
        });
    Ok(Client::new(&connection.admin, token)?)
}

fn read_token(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

async fn deploy(args: DeployArgs, quiet: bool, out: &mut impl Write) -> Result<()> {
    let client = connect(&args.connection)?;
    let bar = if quiet || !io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
        )?
        .progress_chars("=> "),
    );
    bar.set_message("uploading");
    let compiling = ProgressStyle::with_template("{spinner} {msg} {elapsed}")?;
    let progress = {
        let bar = bar.clone();
        move |sent: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(sent);
            if sent == total {
                bar.set_style(compiling.clone());
                bar.set_message("uploaded; the node is compiling the app...");
                bar.reset_elapsed();
                bar.enable_steady_tick(Duration::from_millis(100));
            }
        }
    };
    let result = client.deploy_dir(&args.dir, progress).await;
    bar.finish_and_clear();
    let app = result?;
    if !quiet {
        output::deployed(out, &app)?;
    }
    Ok(())
}

async fn secret(command: SecretCommand, quiet: bool, out: &mut impl Write) -> Result<()> {
    match command {
        SecretCommand::Set(args) => {
            // Names first: a typo is not worth typing the value for.
            mote_client::check_app_name(&args.app)?;
            mote_client::check_secret_name(&args.name)?;
            let client = connect(&args.connection)?;
            let value = read_secret_value(&args.app, &args.name)?;
            let info = client.set_secret(&args.app, &args.name, &value).await?;
            if !quiet {
                writeln!(out, "set secret {} of {}", info.name, args.app)?;
            }
            Ok(())
        }
        SecretCommand::Ls(args) => {
            let secrets = connect(&args.connection)?.list_secrets(&args.app).await?;
            if args.json {
                output::json(out, &secrets)
            } else {
                output::secrets(out, &secrets)
            }
        }
        SecretCommand::Rm(args) => {
            connect(&args.connection)?
                .remove_secret(&args.app, &args.name)
                .await?;
            if !quiet {
                writeln!(out, "removed secret {} of {}", args.name, args.app)?;
            }
            Ok(())
        }
    }
}

/// A secret's value from stdin, to its end, without one trailing newline.
/// On a terminal, a prompt on stderr says how to end it.
fn read_secret_value(app: &str, name: &str) -> Result<String> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprintln!("Value of secret {name} of {app} (then Enter and Ctrl-D):");
    }
    let mut data = Vec::new();
    // Enough to tell a value over the limit, whatever follows.
    stdin
        .lock()
        .take(MAX_SECRET_BYTES as u64 + 3)
        .read_to_end(&mut data)
        .context("cannot read the secret's value from stdin")?;
    strip_newline(&mut data);
    let value = mote_client::check_secret_value(&data)?;
    Ok(value.to_owned())
}

/// Removes one trailing `\n` or `\r\n`.
fn strip_newline(data: &mut Vec<u8>) {
    if data.ends_with(b"\r\n") {
        data.truncate(data.len() - 2);
    } else if data.ends_with(b"\n") {
        data.truncate(data.len() - 1);
    }
}

async fn invoke(args: InvokeArgs, out: &mut impl Write) -> Result<()> {
    let body = match (&args.data, &args.data_file) {
        (Some(data), _) => Some(data.clone().into_bytes()),
        (None, Some(file)) if file == Path::new("-") => {
            let mut data = Vec::new();
            io::stdin()
                .read_to_end(&mut data)
                .context("cannot read the request body from stdin")?;
            Some(data)
        }
        (None, Some(file)) => {
            Some(fs::read(file).with_context(|| format!("cannot read {}", file.display()))?)
        }
        (None, None) => None,
    };
    let method = match (&args.method, &body) {
        (Some(method), _) => method.clone(),
        (None, Some(_)) => Method::POST,
        (None, None) => Method::GET,
    };
    let client = connect(&args.connection)?;
    let response = client
        .invoke(
            &args.app,
            method,
            &args.path,
            args.headers,
            body.unwrap_or_default(),
        )
        .await?;
    if args.include {
        output::status_and_headers(out, &response)?;
    }
    out.write_all(&response.body)?;
    out.flush()?;
    if response.status >= 400 || response.status < 200 {
        bail!(
            "{} answered {}",
            args.app,
            output::status_text(response.status)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_removed() {
        for (input, expected) in [
            (&b"token\n"[..], &b"token"[..]),
            (b"token\r\n", b"token"),
            (b"token", b"token"),
            (b"token\n\n", b"token\n"),
            (b"token\r\n\r\n", b"token\r\n"),
            (b"to\nken\n", b"to\nken"),
            (b"token\r", b"token\r"),
            (b"\n", b""),
            (b"", b""),
        ] {
            let mut data = input.to_vec();
            strip_newline(&mut data);
            assert_eq!(data, expected, "{input:?}");
        }
    }
}
