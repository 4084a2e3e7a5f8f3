//! Sizes ("64MiB") and durations ("250ms"): parsing and formatting.

use std::time::Duration;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;

/// Splits `"64 MiB"` into `("64", "MiB")`. The number must be plain ASCII digits.
fn split_number(text: &str) -> Option<(&str, &str)> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, rest) = text.split_at(end);
    if digits.is_empty() {
        return None;
    }
    Some((digits, rest.trim_start_matches(' ')))
}

/// Parses a size: a number of bytes with an optional unit.
///
/// Units (case-insensitive): `B`, `KB`/`MB`/`GB`/`TB` (powers of 1000) and
/// `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024). No unit means bytes.
/// Zero is accepted here; callers decide whether it is allowed.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = || format!("expected a size like \"64MiB\", got {text:?}");
    let (digits, unit) = split_number(text).ok_or_else(invalid)?;
    let multiplier = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => KIB,
        "mib" => MIB,
        "gib" => GIB,
        "tib" => TIB,
        _ => return Err(invalid()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("size {text:?} is too large"))
}

/// Formats a size with the largest binary unit that represents it exactly,
/// e.g. `64MiB`, `1536KiB` or `1000B`. [`parse_size`] reads it back.
pub fn format_size(bytes: u64) -> String {
    for (unit, name) in [(TIB, "TiB"), (GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if bytes != 0 && bytes.is_multiple_of(unit) {
            return format!("{}{name}", bytes / unit);
        }
    }
    format!("{bytes}B")
}

const NANOS: [(&str, u128); 8] = [
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("µs", 1_000),
    ("ns", 1),
    ("", 0), // sentinel: a unit is required
];

/// Parses a duration: a whole number followed by a unit, one of `h`, `m`,
/// `s`, `ms`, `us` (or `µs`) and `ns`. Zero is accepted here; callers decide
/// whether it is allowed.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("expected a duration like \"250ms\", got {text:?}");
    let (digits, unit) = split_number(text).ok_or_else(invalid)?;
    let per_unit = NANOS
        .iter()
        .find(|(name, nanos)| *name == unit && *nanos != 0)
        .map(|(_, nanos)| *nanos)
        .ok_or_else(invalid)?;
    let too_long = || format!("duration {text:?} is too long");
    let nanos = digits
        .parse::<u128>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .ok_or_else(too_long)?;
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_long())?;
    // The remainder is below 10^9, so it fits.
    let subsec = (nanos % 1_000_000_000) as u32;
    Ok(Duration::new(secs, subsec))
}

/// Formats a duration with the largest unit that represents it exactly,
/// e.g. `1s`, `250ms`, `90s`, `2m`. [`parse_duration`] reads it back.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    for (unit, per_unit) in NANOS {
        if per_unit != 0 && nanos.is_multiple_of(per_unit) {
            return format!("{}{unit}", nanos / per_unit);
        }
    }
    unreachable!("every duration is a whole number of nanoseconds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("123B"), Ok(123));
        assert_eq!(parse_size("100KB"), Ok(100_000));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64mib"), Ok(64 << 20));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn bad_sizes() {
        for bad in [
            "", "lots", "MiB", "-1", "1.5MiB", "64M", "64 MiBs", " 64MiB", "64MiB ", "0x10",
        ] {
            assert_eq!(
                parse_size(bad),
                Err(format!("expected a size like \"64MiB\", got {bad:?}")),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_size("99999999999999999999"),
            Err("size \"99999999999999999999\" is too large".to_owned())
        );
        assert_eq!(
            parse_size("17179869184GiB"),
            Err("size \"17179869184GiB\" is too large".to_owned())
        );
    }

    #[test]
    fn size_formatting_round_trips() {
        for (bytes, text) in [
            (64 << 20, "64MiB"),
            (1536 * 1024, "1536KiB"),
            (1000, "1000B"),
            (0, "0B"),
            (4 << 30, "4GiB"),
            (3 << 40, "3TiB"),
        ] {
            assert_eq!(format_size(bytes), text);
            assert_eq!(parse_size(text), Ok(bytes));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1500us"), Ok(Duration::from_micros(1500)));
        assert_eq!(parse_duration("1500µs"), Ok(Duration::from_micros(1500)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("30 s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations() {
        for bad in ["", "soon", "5", "ms", "1.5s", "2S", "1d", "-1s", "10 sec"] {
            assert_eq!(
                parse_duration(bad),
                Err(format!("expected a duration like \"250ms\", got {bad:?}")),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_duration("99999999999999999999999h"),
            Err("duration \"99999999999999999999999h\" is too long".to_owned())
        );
    }

    #[test]
    fn duration_formatting_round_trips() {
        for (duration, text) in [
            (Duration::from_secs(1), "1s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_micros(1500), "1500us"),
            (Duration::from_nanos(1_000_000_001), "1000000001ns"),
            (Duration::ZERO, "0s"),
            (Duration::MAX, "18446744073709551615999999999ns"),
        ] {
            assert_eq!(format_duration(duration), text);
            assert_eq!(parse_duration(text), Ok(duration));
        }
    }
}
