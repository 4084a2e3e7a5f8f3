//! `mote`: runs a Mote node (`mote serve`) and manages nodes through their
//! admin API (`mote deploy`, `mote ls`, `mote invoke`, ...).
//!
//! Errors are printed as one line, `error: <message>`, with exit code 1;
//! usage errors exit with 2 (clap's).

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mote_client::ClientError;

mod cli;
mod commands;
mod output;
mod serve;

use cli::{Cli, Command};

/// The node's heap is jemalloc's, with its background thread: freed memory
/// goes back to the kernel within seconds (dirty pages decay over 10 s) even
/// while the node is idle, where glibc's allocator kept ~140 MiB after a burst
/// of 2,000 connections. See docs/ARCHITECTURE.md, "Choices and why".
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start (the crate's symbols carry the
/// `_rjem_` prefix). `_RJEM_MALLOC_CONF` in the environment overrides them.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8; 23] = b"background_thread:true\0";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = cli.quiet;
    let result = match cli.command {
        Command::Serve(args) => serve::run(args, quiet),
        command => commands::run(command, quiet),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The default data directory of a node, and where client commands look for
/// the admin token: `$HOME/.local/share/mote`. `None` without a `HOME`.
pub fn default_data_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/mote"))
}

/// A closed stdout (`mote invoke ... | head -c 10`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes on one line, `a: b: c`. A cause already said is
/// left out, and so are the causes of a [`ClientError`], whose message is
/// complete.
fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = one_line(&cause.to_string());
        if !text.is_empty() && !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        if cause.is::<ClientError>() {
            break;
        }
    }
    line
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines() {
        let error = anyhow::Error::new(ClientError::Bundle("cannot read x".to_owned()))
            .context("deploying\nshop");
        assert_eq!(error_line(&error), "deploying shop: cannot read x");

        #[derive(Debug)]
        struct Outer(io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "outer: {}", self.0)
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = anyhow::Error::new(Outer(io::Error::other("inner")));
        assert_eq!(error_line(&error), "outer: inner");
    }
}
