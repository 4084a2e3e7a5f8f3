//! What the client commands print.

use std::io::{self, Write};
use std::time::Duration;

use mote_client::{AppDetail, AppSummary, Health, InvokeResponse, SecretInfo, Version};
use mote_manifest::{format_duration, format_size};

/// Pretty JSON, as the admin API answers.
pub fn json(out: &mut impl Write, value: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// `mote ls`.
pub fn apps(out: &mut impl Write, apps: &[AppSummary]) -> anyhow::Result<()> {
    let rows = apps
        .iter()
        .map(|app| {
            vec![
                app.name.clone(),
                app.version.to_string(),
                app.services.join(","),
                loaded_text(app.loaded, app.promoted, app.services.len()),
                human_size(app.memory_bytes),
                app.requests.to_string(),
                format_time(app.deployed_unix_ms),
            ]
        })
        .collect::<Vec<_>>();
    table(
        out,
        &[
            "APP", "VERSION", "SERVICES", "LOADED", "MEMORY", "REQUESTS", "DEPLOYED",
        ],
        &rows,
    )?;
    Ok(())
}

/// An amount of memory to one decimal: `0 B`, `812 B`, `3.4 KiB`, `512.0 MiB`.
fn human_size(bytes: u64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KiB", "MiB", "GiB"] {
        if value < 1024.0 || unit == "GiB" {
            return match unit {
                "B" => format!("{bytes} B"),
                _ => format!("{value:.1} {unit}"),
            };
        }
        value /= 1024.0;
    }
    unreachable!("the loop returns at GiB")
}

/// `2/3` services loaded, `2/3 (1 promoted)`.
fn loaded_text(loaded: u32, promoted: u32, services: usize) -> String {
    match promoted {
        0 => format!("{loaded}/{services}"),
        p => format!("{loaded}/{services} ({p} promoted)"),
    }
}

/// `mote versions`.
pub fn versions(out: &mut impl Write, versions: &[Version]) -> anyhow::Result<()> {
    let rows = versions
        .iter()
        .map(|version| {
            vec![
                version.version.to_string(),
                format_time(version.deployed_unix_ms),
                if version.current { "live" } else { "" }.to_owned(),
            ]
        })
        .collect::<Vec<_>>();
    table(out, &["VERSION", "DEPLOYED", "STATUS"], &rows)?;
    Ok(())
}

/// `mote secret ls`: names and when they were set, never values.
pub fn secrets(out: &mut impl Write, secrets: &[SecretInfo]) -> anyhow::Result<()> {
    let rows = secrets
        .iter()
        .map(|secret| {
            vec![
                secret.name.clone(),
                format_time(secret.updated.saturating_mul(1000)),
            ]
        })
        .collect::<Vec<_>>();
    table(out, &["NAME", "UPDATED"], &rows)?;
    Ok(())
}

/// `mote show`.
pub fn app(out: &mut impl Write, app: &AppDetail) -> anyhow::Result<()> {
    writeln!(out, "app       {}", app.name)?;
    writeln!(
        out,
        "version   {} (deployed {})",
        app.version,
        format_time(app.deployed_unix_ms)
    )?;
    for service in &app.services {
        let limits = &service.limits;
        writeln!(out)?;
        writeln!(out, "service   {}", service.name)?;
        writeln!(out, "  source    {}", service.source)?;
        writeln!(out, "  sha256    {}", service.sha256)?;
        writeln!(out, "  routes    {}", service.routes.join(" "))?;
        if !service.env.is_empty() {
            writeln!(out, "  env       {}", service.env.join(" "))?;
        }
        writeln!(
            out,
            "  limits    memory {}, cpu {}, timeout {}, request body {}, response body {}, concurrency {}, queue {}, subrequests {}, log {}",
            format_size(limits.memory_bytes),
            format_duration(Duration::from_millis(limits.cpu_ms)),
            format_duration(Duration::from_millis(limits.timeout_ms)),
            format_size(limits.request_body_bytes),
            format_size(limits.response_body_bytes),
            limits.concurrency,
            limits.queue,
            limits.subrequests,
            format_size(limits.log_bytes),
        )?;
        writeln!(out, "  requests  {}", service.requests)?;
        writeln!(
            out,
            "  state     {}, {} running, {} of code, last used {}",
            service.state,
            service.instances,
            human_size(service.memory_bytes),
            service
                .last_used_unix_ms
                .map_or("never".to_owned(), format_time),
        )?;
    }
    Ok(())
}

/// After `mote deploy`: the version, then each route with its service.
pub fn deployed(out: &mut impl Write, app: &AppDetail) -> anyhow::Result<()> {
    let count = app.services.len();
    writeln!(
        out,
        "deployed {} version {} ({count} service{})",
        app.name,
        app.version,
        if count == 1 { "" } else { "s" }
    )?;
    let routes: Vec<(&str, &str)> = app
        .services
        .iter()
        .flat_map(|service| {
            service
                .routes
                .iter()
                .map(|route| (route.as_str(), service.name.as_str()))
        })
        .collect();
    let width = routes
        .iter()
        .map(|(route, _)| route.len())
        .max()
        .unwrap_or(0);
    for (route, service) in routes {
        writeln!(out, "  {route:width$}  -> {service}")?;
    }
    Ok(())
}

/// `mote health`.
pub fn health(out: &mut impl Write, url: &str, health: &Health) -> anyhow::Result<()> {
    writeln!(
        out,
        "{}: Mote {} at {url}, {} app{}, {} service{}, {} allocator",
        health.status,
        health.version,
        health.apps,
        if health.apps == 1 { "" } else { "s" },
        health.services,
        if health.services == 1 { "" } else { "s" },
        health.allocator,
    )?;
    let l = &health.lifecycle;
    writeln!(
        out,
        "memory: {} resident; code {} of a {} budget (at most {} so far); {} service{} loaded ({} promoted); idle instance slots keep {} ({} given back so far)",
        human_size(l.rss_bytes),
        human_size(l.code_bytes),
        human_size(l.budget_bytes),
        human_size(l.code_bytes_peak),
        l.loaded,
        if l.loaded == 1 { "" } else { "s" },
        l.promoted,
        human_size(l.idle_slot_bytes),
        human_size(l.idle_slot_bytes_released),
    )?;
    writeln!(
        out,
        "since start: {} loads, {} idle evictions, {} budget evictions, {} promotions ({} failed), {} demotions",
        l.loads,
        l.idle_evictions,
        l.budget_evictions,
        l.promotions,
        l.promotion_failures,
        l.demotions,
    )?;
    Ok(())
}

/// `mote invoke -i`: the status line and the headers, then a blank line.
pub fn status_and_headers(out: &mut impl Write, response: &InvokeResponse) -> io::Result<()> {
    writeln!(out, "{}", status_text(response.status))?;
    for (name, value) in &response.headers {
        writeln!(out, "{name}: {value}")?;
    }
    writeln!(out)
}

/// `404 Not Found`.
pub fn status_text(status: u16) -> String {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// Columns separated by two spaces, each as wide as its widest cell; the
/// last one is not padded.
fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A Unix time in ms as `2025-01-02 15:04:05 UTC`.
pub fn format_time(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_client::{Limits, ServiceDetail};

    fn text(f: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000_999), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_time(4_102_444_799_000), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn tables() {
        let apps = [
            AppSummary {
                name: "hello".to_owned(),
                version: 12,
                services: vec!["hello".to_owned(), "api".to_owned()],
                deployed_unix_ms: 0,
                loaded: 2,
                promoted: 1,
                memory_bytes: 3 << 20,
                requests: 1234,
            },
            AppSummary {
                name: "x".to_owned(),
                version: 1,
                services: vec!["x".to_owned()],
                deployed_unix_ms: 1_700_000_000_000,
                loaded: 0,
                promoted: 0,
                memory_bytes: 0,
                requests: 0,
            },
        ];
        assert_eq!(
            text(|out| super::apps(out, &apps)),
            "APP    VERSION  SERVICES   LOADED            MEMORY   REQUESTS  DEPLOYED\n\
             hello  12       hello,api  2/2 (1 promoted)  3.0 MiB  1234      1970-01-01 00:00:00 UTC\n\
             x      1        x          0/1               0 B      0         2023-11-14 22:13:20 UTC\n"
        );
        assert_eq!(
            text(|out| super::apps(out, &[])),
            "APP  VERSION  SERVICES  LOADED  MEMORY  REQUESTS  DEPLOYED\n"
        );
        let versions = [
            Version {
                version: 1,
                deployed_unix_ms: 0,
                current: false,
            },
            Version {
                version: 2,
                deployed_unix_ms: 0,
                current: true,
            },
        ];
        let secrets = [
            SecretInfo {
                name: "api_key".to_owned(),
                updated: 1_700_000_000,
            },
            SecretInfo {
                name: "slack_token".to_owned(),
                updated: 0,
            },
        ];
        assert_eq!(
            text(|out| super::secrets(out, &secrets)),
            "NAME         UPDATED\n\
             api_key      2023-11-14 22:13:20 UTC\n\
             slack_token  1970-01-01 00:00:00 UTC\n"
        );
        assert_eq!(text(|out| super::secrets(out, &[])), "NAME  UPDATED\n");
        assert_eq!(
            text(|out| super::versions(out, &versions)),
            "VERSION  DEPLOYED                 STATUS\n\
             1        1970-01-01 00:00:00 UTC\n\
             2        1970-01-01 00:00:00 UTC  live\n"
        );
    }

    #[test]
    fn deploy_summary() {
        let service = |name: &str, routes: &[&str]| ServiceDetail {
            name: name.to_owned(),
            source: format!("{name}.wasm"),
            sha256: "0".repeat(64),
            routes: routes.iter().map(|r| r.to_string()).collect(),
            env: vec![],
            limits: Limits {
                memory_bytes: 64 << 20,
                cpu_ms: 1000,
                timeout_ms: 30_000,
                request_body_bytes: 10 << 20,
                response_body_bytes: 10 << 20,
                concurrency: 64,
                queue: 32,
                subrequests: 50,
                log_bytes: 16 << 10,
            },
            requests: 0,
            state: "loaded".to_owned(),
            instances: 1,
            memory_bytes: 2048,
            last_used_unix_ms: None,
        };
        let app = AppDetail {
            name: "shop".to_owned(),
            version: 3,
            deployed_unix_ms: 0,
            services: vec![
                service("api", &["/api/*"]),
                service("web", &["/", "/static/*"]),
            ],
        };
        assert_eq!(
            text(|out| deployed(out, &app)),
            "deployed shop version 3 (2 services)\n  /api/*     -> api\n  /          -> web\n  /static/*  -> web\n"
        );
        let shown = text(|out| super::app(out, &app));
        assert!(
            shown.starts_with("app       shop\nversion   3 (deployed 1970-01-01 00:00:00 UTC)\n"),
            "{shown}"
        );
        assert!(shown.contains("  limits    memory 64MiB, cpu 1s, timeout 30s, request body 10MiB, response body 10MiB, concurrency 64, queue 32, subrequests 50, log 16KiB\n"), "{shown}");
        assert!(
            shown.contains("  state     loaded, 1 running, 2.0 KiB of code, last used never\n"),
            "{shown}"
        );
        assert_eq!(status_text(404), "404 Not Found");
        assert_eq!(status_text(599), "599");
    }
}
