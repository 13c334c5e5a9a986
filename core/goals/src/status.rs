//! A goal's status from its actual, forecast and period, with the thresholds
//! the README documents.

use serde::Serialize;

/// Pace (forecast ÷ target) at or above which a goal is on track.
pub const ON_TRACK: f64 = 1.0;
/// Pace at or above which a goal that is not on track is at risk; below it, behind.
pub const AT_RISK: f64 = 0.8;

/// Where a goal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The target is reached (a ratio: within its bound at the period's end).
    Achieved,
    /// The forecast reaches the target.
    OnTrack,
    /// The forecast reaches at least 80 % of the target.
    AtRisk,
    /// The forecast reaches less than 80 % of the target.
    Behind,
    /// The period is over and the target was not reached.
    Missed,
    /// Not enough data to say (no readings, one reading, a period not started).
    NoData,
}

impl Status {
    /// The words printed in tables and reports.
    pub fn label(self) -> &'static str {
        match self {
            Status::Achieved => "achieved",
            Status::OnTrack => "on track",
            Status::AtRisk => "at risk",
            Status::Behind => "behind",
            Status::Missed => "missed",
            Status::NoData => "no data",
        }
    }

    /// The status of a goal still running at `pace` (1.0 = exactly on target).
    pub fn from_pace(pace: f64) -> Status {
        if pace >= ON_TRACK {
            Status::OnTrack
        } else if pace >= AT_RISK {
            Status::AtRisk
        } else {
            Status::Behind
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(Status::from_pace(1.0), Status::OnTrack);
        assert_eq!(Status::from_pace(0.916), Status::AtRisk);
        assert_eq!(Status::from_pace(0.8), Status::AtRisk);
        assert_eq!(Status::from_pace(0.79), Status::Behind);
    }
}
