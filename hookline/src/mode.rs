use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Every merchant has a sandbox and a live world; nothing crosses between them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Sandbox,
    Live,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Sandbox, Mode::Live];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Live => "live",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Sandbox => "Sandbox",
            Mode::Live => "Live",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sandbox" => Ok(Mode::Sandbox),
            "live" => Ok(Mode::Live),
            other => Err(format!(
                "unknown mode `{other}`: expected `sandbox` or `live`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        for mode in Mode::ALL {
            assert_eq!(mode.as_str().parse::<Mode>().unwrap(), mode);
        }
        assert!("production".parse::<Mode>().is_err());
    }
}
