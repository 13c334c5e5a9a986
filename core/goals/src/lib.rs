//! Goals: "+100 followers a month", "50 reviews by June", "cost per lead
//! under $20", evaluated against the store with pace, forecast and status.
//!
//! A business and its agency look at these every month, so every number must
//! be explainable: each [`Evaluation`] carries notes saying which readings it
//! used, where data is missing and which values are provisional. A goal never
//! reports zero growth because data is missing; it reports no data.
//!
//! # Counting convention
//!
//! Periods are whole calendar days in the client's time zone: a month starts
//! at local midnight on its first day. "Today" is the local date of the
//! evaluation instant (`tally goals --at 2026-06-20` evaluates at the end of
//! that day). Days are counted in whole days from the period's first day:
//!
//! - `growth` (a gauge): the change from the period's opening reading to its
//!   closing reading spans the N − 1 day-to-day steps of an N-day period.
//!   On day k (the first day is day 1), k − 1 steps have elapsed and
//!   expected = target × (k − 1) ⁄ (N − 1). In a 30-day month on day 20:
//!   19 of 29 steps, so +100 is expected to be at +65.5.
//! - `total` (a sum): the N days each add their total; on day k, k − 1 whole
//!   days have elapsed and expected = target × (k − 1) ⁄ N.
//! - `level`: paced in a straight line from the first reading to `target` on
//!   `by`, counted in whole days.
//! - `ratio`: expected is the bound itself.
//!
//! The opening reading of a gauge is the sample nearest the period's start
//! (looking back at most one period length), the closing one the latest
//! sample (once the period is over, the one nearest its end); notes say
//! which. How sums and gauges are turned into a total, a change and a
//! forecast is described in [`activity`].
//!
//! # Forecast
//!
//! A linear trend over the period so far: for gauges the least-squares line
//! through the daily readings extended to the period's last day (with two
//! readings, actual ⁄ days between them × N − 1); for sums the average per day
//! with data applied to the days without. A ratio divides the forecasts of
//! its two metrics.
//!
//! # Status
//!
//! - `achieved`: actual ≥ target (a ratio: within its bound when its period
//!   is over; a level: reached by `by`).
//! - `missed`: the period is over (or `by` has passed) without that.
//! - otherwise pace = forecast ÷ target (a level: the share of the gap from
//!   the first reading to the target that the forecast closes; a ratio with
//!   `at_most`: bound ÷ forecast, with `at_least`: forecast ÷ bound):
//!   `on track` at ≥ 100 % ([`status::ON_TRACK`]), `at risk` at ≥ 80 %
//!   ([`status::AT_RISK`]), `behind` below.
//! - `no data`: no reading, a single reading, or a period not started yet.
//!
//! # Provisional data
//!
//! A source's `settle_days` is how long its platform restates numbers. A
//! value whose time (a sum's end, a gauge's instant) is younger than that is
//! provisional; the goal is flagged and a note counts such values.

pub mod activity;
pub mod evaluate;
pub mod period;
pub mod report;
pub mod roi;
pub mod scope;
pub mod series;
pub mod status;
pub mod trend;
pub mod utm;

pub use evaluate::{evaluate, evaluate_all, Context, Evaluation, GoalChart, GoalError};
pub use period::Period;
pub use status::Status;
