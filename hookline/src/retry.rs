//! When to try a delivery again. Attempts follow a schedule of delays from
//! the first attempt's failure, each spread by ±20 % jitter so that many
//! deliveries failing together do not retry together.

use std::time::Duration;

/// Delay before each attempt after the first: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
pub const DEFAULT_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The longest single delay a schedule may hold: a year.
pub const MAX_DELAY: Duration = Duration::from_secs(365 * 86_400);

#[derive(Clone, Debug, PartialEq)]
pub struct RetrySchedule {
    /// `delays[i]` is the wait before attempt `i + 2`.
    pub delays: Vec<Duration>,
    /// Fraction of each delay added or removed at random (0.2 = ±20 %).
    pub jitter: f64,
    /// Longest wait a `Retry-After` answer can ask for.
    pub max_retry_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            delays: DEFAULT_DELAYS.to_vec(),
            jitter: 0.2,
            max_retry_after: Duration::from_secs(6 * 3600),
        }
    }
}

impl RetrySchedule {
    /// How long after its first attempt a delivery can still be retried:
    /// every delay stretched by the most jitter adds, or as long as the
    /// longest `Retry-After` it honours, whichever is longer.
    pub fn longest_span(&self) -> Duration {
        self.delays
            .iter()
            .map(|d| d.mul_f64(1.0 + self.jitter).max(self.max_retry_after))
            .sum()
    }

    /// Total attempts, the first included.
    pub fn max_attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// The wait after `attempts_made` failed attempts, or `None` when the
    /// delivery has had all its attempts. `unit` is a uniform random number
    /// in `[0, 1)` (the caller's RNG, so tests can pin it). A `Retry-After`
    /// from a 429 or 503 answer replaces the scheduled wait when it is longer,
    /// up to `max_retry_after`.
    pub fn next_delay(
        &self,
        attempts_made: usize,
        unit: f64,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let base = *self.delays.get(attempts_made.checked_sub(1)?)?;
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        let jittered = base.mul_f64(factor.max(0.0));
        Some(match retry_after {
            Some(asked) if asked > jittered => asked.min(self.max_retry_after).max(jittered),
            _ => jittered,
        })
    }

    /// Parses a list such as `5s,5m,30m,2h,5h,10h,10h` (operators' configuration).
    pub fn parse_delays(text: &str) -> Result<Vec<Duration>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                let (number, unit) = item.split_at(
                    item.find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(item.len()),
                );
                let n: u64 = number
                    .parse()
                    .map_err(|_| format!("`{item}` is not a number with a unit (s, m, h)"))?;
                let unit_secs = match unit {
                    "s" => 1,
                    "m" => 60,
                    "h" => 3600,
                    _ => return Err(format!("`{item}` needs a unit: s, m or h")),
                };
                match n.checked_mul(unit_secs) {
                    Some(secs) if secs <= MAX_DELAY.as_secs() => Ok(Duration::from_secs(secs)),
                    _ => Err(format!(
                        "`{item}` is longer than {} days",
                        MAX_DELAY.as_secs() / 86_400
                    )),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_schedule_within_jitter() {
        let s = RetrySchedule::default();
        assert_eq!(s.max_attempts(), 8);
        assert_eq!(s.next_delay(0, 0.5, None), None, "no failed attempt yet");
        assert_eq!(s.next_delay(1, 0.5, None), Some(Duration::from_secs(5)));
        assert_eq!(s.next_delay(1, 0.0, None), Some(Duration::from_secs(4)));
        assert_eq!(s.next_delay(2, 0.999_999, None).unwrap().as_secs(), 359);
        assert_eq!(
            s.next_delay(7, 0.5, None),
            Some(Duration::from_secs(36_000))
        );
        assert_eq!(
            s.next_delay(8, 0.5, None),
            None,
            "eight attempts, then failed"
        );
    }

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let s = RetrySchedule::default();
        assert_eq!(
            s.next_delay(1, 0.5, Some(Duration::from_secs(60))),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            s.next_delay(1, 0.5, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(5)),
            "never sooner than planned"
        );
        assert_eq!(
            s.next_delay(1, 0.5, Some(Duration::from_secs(86_400))),
            Some(Duration::from_secs(6 * 3600))
        );
        assert_eq!(s.next_delay(8, 0.5, Some(Duration::from_secs(60))), None);
    }

    #[test]
    fn parses_operator_lists() {
        assert_eq!(
            RetrySchedule::parse_delays("5s, 5m,2h").unwrap(),
            vec![
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(7200)
            ]
        );
        assert!(RetrySchedule::parse_delays("5").is_err());
        assert!(RetrySchedule::parse_delays("5d").is_err());
        assert!(RetrySchedule::parse_delays("x5s").is_err());
        assert!(RetrySchedule::parse_delays("6000000000000000h").is_err());
        assert!(RetrySchedule::parse_delays("8761h").is_err());
        // Five delays up to the 6 h Retry-After cap, then 10 h + 20 % twice.
        let span = RetrySchedule::default().longest_span().as_secs_f64();
        assert_eq!(span.round() as u64, 54 * 3600);
    }
}
