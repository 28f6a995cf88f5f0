//! The annual check schedule.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::*;

/// Days before the due date from which a check counts as due.
pub const DUE_WINDOW_DAYS: i64 = 30;
/// Months from one completed check to the next due date.
pub const CHECK_INTERVAL_MONTHS: u32 = 12;

/// Where a representative's annual check stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSchedule {
    /// The last completed check, if any.
    pub last_check: Option<NaiveDate>,
    /// When the next check falls due.
    pub due_date: NaiveDate,
    /// The state as of the date asked.
    pub state: ScheduleState,
}

/// The schedule as of `as_of`: the next check falls due 12 months after the
/// last completed one (or after duties began, `since`, when there is none).
/// Due within 30 days of that date, overdue after it; done when a check was
/// completed and the next one is further off; scheduled otherwise.
pub fn schedule(since: NaiveDate, last_check: Option<NaiveDate>, as_of: NaiveDate) -> CheckSchedule {
    let due_date = add_months(last_check.unwrap_or(since), CHECK_INTERVAL_MONTHS);
    let days_left = (due_date - as_of).num_days();
    let state = if days_left < 0 {
        ScheduleState::Overdue
    } else if days_left <= DUE_WINDOW_DAYS {
        ScheduleState::Due
    } else if last_check.is_some() {
        ScheduleState::Done
    } else {
        ScheduleState::Scheduled
    };
    CheckSchedule { last_check, due_date, state }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn states_around_the_due_date() {
        let since = d("2024-01-10");
        let s = schedule(since, None, d("2024-06-01"));
        assert_eq!((s.state, s.due_date), (ScheduleState::Scheduled, d("2025-01-10")));
        assert_eq!(schedule(since, None, d("2024-12-11")).state, ScheduleState::Due);
        assert_eq!(schedule(since, None, d("2025-01-10")).state, ScheduleState::Due);
        assert_eq!(schedule(since, None, d("2025-01-11")).state, ScheduleState::Overdue);
        let done = schedule(since, Some(d("2025-02-01")), d("2025-03-01"));
        assert_eq!((done.state, done.due_date), (ScheduleState::Done, d("2026-02-01")));
        assert_eq!(schedule(since, Some(d("2024-02-29")), d("2025-03-01")).state, ScheduleState::Overdue);
    }
}
