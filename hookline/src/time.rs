//! Time formatting that works the same on the server and in the browser.

/// `2026-11-28 14:05 UTC` for a millisecond Unix timestamp.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let secs_of_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs_of_day / 3600,
        (secs_of_day % 3600) / 60
    )
}

/// `2026-11-28T14:05`, the value of an `<input type="datetime-local">`, in UTC.
pub fn format_input(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let secs_of_day = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}",
        secs_of_day / 3600,
        (secs_of_day % 3600) / 60
    )
}

/// [`format_input`] with the seconds when there are any (`2026-11-28T14:05:30`),
/// for a value that must read back as the same second.
pub fn format_input_exact(ms: i64) -> String {
    let seconds = ms.div_euclid(1000).rem_euclid(60);
    if seconds == 0 {
        format_input(ms)
    } else {
        format!("{}:{seconds:02}", format_input(ms))
    }
}

/// Reads `2026-11-28T14:05` (seconds and a trailing `Z` allowed) as UTC milliseconds.
pub fn parse_input(raw: &str) -> Option<i64> {
    // RFC 3339 in UTC (`…Z`) reads the same.
    let raw = raw.trim();
    let raw = raw.strip_suffix('Z').unwrap_or(raw);
    let (date, clock) = raw.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, d) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let mut clock = clock.splitn(3, ':').map(str::parse::<i64>);
    let (h, min) = (clock.next()?.ok()?, clock.next()?.ok()?);
    let s = match clock.next() {
        Some(s) => s.ok()?,
        None => 0,
    };
    let valid = (1..=9999).contains(&y)
        && (1..=12).contains(&m)
        && (1..=days_in_month(y, m)).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&min)
        && (0..60).contains(&s);
    valid.then(|| ((days_from_civil(y, m, d) * 86_400) + h * 3600 + min * 60 + s) * 1000)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A proleptic Gregorian date to days since 1970-01-01 (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::{format_input, format_input_exact, format_utc, parse_input};

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_795_835_100_000), "2026-11-28 03:05 UTC");
        assert_eq!(format_utc(-1_000), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn input_values_round_trip() {
        for ms in [0, 951_782_400_000, 1_795_835_100_000, 4_102_444_740_000] {
            assert_eq!(parse_input(&format_input(ms)), Some(ms));
        }
        assert_eq!(parse_input("2026-11-28T03:05:30"), Some(1_795_835_130_000));
        for ms in [1_795_835_100_000, 1_795_835_130_000, -1_000] {
            assert_eq!(parse_input(&format_input_exact(ms)), Some(ms));
        }
        assert_eq!(format_input_exact(1_795_835_130_000), "2026-11-28T03:05:30");
        for bad in [
            "",
            "2026-11-28",
            "2026-02-29T00:00",
            "2026-13-01T00:00",
            "2026-11-28T24:00",
            "x-y-zT1:2",
        ] {
            assert_eq!(parse_input(bad), None, "{bad}");
        }
    }
}
