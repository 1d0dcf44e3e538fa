use serde::{Deserialize, Deserializer, Serialize};

/// An RFC 3339 time in UTC or with an offset, e.g. `2026-11-28T14:05:00Z`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    pub fn parse(raw: &str) -> Result<Timestamp, String> {
        if is_rfc3339(raw) {
            Ok(Timestamp(raw.to_owned()))
        } else {
            Err(format!(
                "`{raw}` is not an RFC 3339 time such as 2026-11-28T14:05:00Z"
            ))
        }
    }

    /// The instant `ms` after the Unix epoch, in UTC with milliseconds.
    pub fn from_unix_ms(ms: i64) -> Timestamp {
        let date = crate::time::format_utc(ms); // "YYYY-MM-DD HH:MM UTC"
        let secs = ms.div_euclid(1000).rem_euclid(60);
        let millis = ms.rem_euclid(1000);
        Timestamp(format!(
            "{}T{}:{secs:02}.{millis:03}Z",
            &date[..10],
            &date[11..16]
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Timestamp::parse(&raw).map_err(serde::de::Error::custom)
    }
}

fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let num =
        |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok()).unwrap_or(99);
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    // A real calendar day, and no leap second: what a strict `date-time`
    // check on the merchant's side accepts, Hookline accepts.
    let (year, month) = (num(0..4), num(5..7));
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 59
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        "Z" | "z" => true,
        offset => {
            let o = offset.as_bytes();
            o.len() == 6
                && matches!(o[0], b'+' | b'-')
                && o[1..3].iter().all(u8::is_ascii_digit)
                && o[3] == b':'
                && o[4..6].iter().all(u8::is_ascii_digit)
                && num(s.len() - 5..s.len() - 3) <= 23
                && num(s.len() - 2..s.len()) <= 59
        }
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_only() {
        for ok in [
            "2026-11-28T14:05:00Z",
            "2026-11-28T14:05:00.123Z",
            "2026-11-28T14:05:00+01:00",
            "2028-02-29T14:05:00Z",
            "2000-02-29T23:59:59-23:59",
            "2026-12-31T23:59:59.999999999Z",
        ] {
            assert!(Timestamp::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2026-11-28",
            "2026-11-28 14:05:00Z",
            "2026-13-28T14:05:00Z",
            "2026-11-28T14:05:00",
            "yesterday",
            "2026-02-29T14:05:00Z",
            "2026-04-31T14:05:00Z",
            "2026-11-28T14:05:60Z",
            "2026-11-28T14:05:00+24:00",
            "2026-11-28T14:05:00+01:60",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_unix_millis() {
        assert_eq!(
            Timestamp::from_unix_ms(1_795_835_107_042).as_str(),
            "2026-11-28T03:05:07.042Z"
        );
        assert!(Timestamp::parse(Timestamp::from_unix_ms(0).as_str()).is_ok());
    }
}
