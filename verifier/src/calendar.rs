//! The jurisdiction's working days (工作日), for deadlines counted in working days: objections
//! are accepted within 5 and resolved within 20 of them (DOMAIN §6).
//!
//! A calendar is one TOML file per year (`calendars/china-2026.toml`): the public holidays and
//! the adjusted working days (调休上班) of that year, with the notice they come from. Any other
//! day follows the ordinary rule: Monday to Friday work, Saturday and Sunday rest. A deadline is
//! the N-th working day *after* the day it runs from (the starting day does not count, as for
//! every period in Chinese administrative law); a deadline that reaches a year the calendar does
//! not cover is counted by the ordinary rule and marked provisional.

use crate::date::Date;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The calendar shipped for China: 2026 (国务院办公厅关于2026年部分节假日安排的通知). The notice for
/// 2027 had not been published where this was written; add `calendars/china-2027.toml` when it is.
pub const CHINA: &[&str] = &[include_str!("../../calendars/china-2026.toml")];

/// A calendar file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar: {0}")]
pub struct CalendarError(pub String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: u16,
    source: String,
    holidays: Vec<Date>,
    working_days: Vec<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Year {
    holidays: BTreeSet<Date>,
    working_days: BTreeSet<Date>,
    source: String,
}

/// Working days by year.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Calendar {
    years: BTreeMap<u16, Year>,
}

/// A deadline and whether it could be counted from published calendars only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The last day on which the step is in time.
    pub date: Date,
    /// Whether counting reached a year the calendar does not cover (then weekends only).
    pub provisional: bool,
}

/// Monday is 0, Sunday 6.
pub fn weekday(date: Date) -> u8 {
    // 1970-01-01 was a Thursday.
    u8::try_from((date.days_since_epoch() + 3).rem_euclid(7)).expect("0..7")
}

impl Calendar {
    /// Reads year files (TOML).
    ///
    /// # Errors
    ///
    /// A file that does not parse, a date outside its year, a day listed as both a holiday and a
    /// working day, an adjusted working day that is not a weekend day, or a year given twice.
    pub fn parse(files: &[&str]) -> Result<Self, CalendarError> {
        let mut years = BTreeMap::new();
        for text in files {
            let f: YearFile = toml::from_str(text).map_err(|e| CalendarError(e.to_string()))?;
            if f.source.trim().is_empty() {
                return Err(CalendarError(format!("{}: source names the notice the dates come from", f.year)));
            }
            for d in f.holidays.iter().chain(&f.working_days) {
                if d.year() != f.year {
                    return Err(CalendarError(format!("{d} is not in the year {}", f.year)));
                }
            }
            let holidays: BTreeSet<Date> = f.holidays.into_iter().collect();
            let working_days: BTreeSet<Date> = f.working_days.into_iter().collect();
            if let Some(d) = holidays.intersection(&working_days).next() {
                return Err(CalendarError(format!("{d} is listed both as a holiday and as a working day")));
            }
            if let Some(d) = working_days.iter().find(|d| weekday(**d) < 5) {
                return Err(CalendarError(format!(
                    "{d} is an adjusted working day but already a weekday; only a Saturday or Sunday becomes one"
                )));
            }
            if years.insert(f.year, Year { holidays, working_days, source: f.source }).is_some() {
                return Err(CalendarError(format!("the year {} is given twice", f.year)));
            }
        }
        Ok(Self { years })
    }

    /// The shipped calendar for China ([`CHINA`]).
    ///
    /// # Panics
    ///
    /// Never: the shipped files are tested.
    pub fn china() -> Self {
        Self::parse(CHINA).expect("the shipped calendar parses")
    }

    /// Whether the calendar has the year's notice.
    pub fn covers(&self, year: u16) -> bool {
        self.years.contains_key(&year)
    }

    /// The notice a year's dates come from.
    pub fn source(&self, year: u16) -> Option<&str> {
        self.years.get(&year).map(|y| y.source.as_str())
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.years.get(&date.year()) {
            Some(y) if y.holidays.contains(&date) => false,
            Some(y) if y.working_days.contains(&date) => true,
            _ => weekday(date) < 5,
        }
    }

    /// The `n`-th working day after `from` (`from` itself does not count).
    pub fn add_working_days(&self, from: Date, n: u32) -> Deadline {
        let mut date = from;
        let mut left = n;
        let mut provisional = false;
        while left > 0 {
            date = date.add_days(1).unwrap_or(Date::MAX);
            if date == Date::MAX {
                break;
            }
            provisional |= !self.covers(date.year());
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        Deadline { date, provisional }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn weekdays_are_right() {
        assert_eq!(weekday(d("2026-11-29")), 6, "a Sunday");
        assert_eq!(weekday(d("2026-02-14")), 5, "a Saturday");
        assert_eq!(weekday(d("2026-10-01")), 3, "a Thursday, as the notice says");
    }

    #[test]
    fn the_shipped_calendar_parses_and_matches_its_notice() {
        let c = Calendar::china();
        assert!(c.covers(2026));
        assert!(c.source(2026).unwrap().contains("2026年部分节假日安排"));
        // Spring Festival: nine days off, two Saturdays worked.
        assert!(!c.is_working_day(d("2026-02-16")), "a Monday inside the Spring Festival");
        assert!(c.is_working_day(d("2026-02-14")), "Saturday 14 February is worked");
        assert!(c.is_working_day(d("2026-02-28")), "Saturday 28 February is worked");
        assert!(c.is_working_day(d("2026-09-20")), "Sunday 20 September is worked");
        assert!(
            c.is_working_day(d("2026-10-08")),
            "Thursday 8 October, after National Day, is an ordinary working day"
        );
        assert!(!c.is_working_day(d("2026-10-11")), "an ordinary Sunday");
    }

    #[test]
    fn deadlines_cross_a_holiday_and_an_adjusted_working_day() {
        let c = Calendar::china();
        // Filed on Wednesday 30 September: 1–7 October are off, Thursday 8 and Friday 9 work,
        // Saturday 10 October is an adjusted working day, then Monday 12 and Tuesday 13.
        let dl = c.add_working_days(d("2026-09-30"), 5);
        assert_eq!(dl, Deadline { date: d("2026-10-13"), provisional: false });
        // Without the calendar (weekends only) it would be Wednesday 7 October.
        assert_eq!(Calendar::default().add_working_days(d("2026-09-30"), 5).date, d("2026-10-07"));
        // Filed on Friday 13 February: Saturday 14 is worked, then nine days off to Monday 23.
        assert_eq!(c.add_working_days(d("2026-02-13"), 1).date, d("2026-02-14"));
        assert_eq!(c.add_working_days(d("2026-02-13"), 2).date, d("2026-02-24"));
        // Twenty working days from 10 December run into 2027, which has no notice here.
        let dl = c.add_working_days(d("2026-12-10"), 20);
        assert!(dl.provisional);
        assert_eq!(dl.date, d("2027-01-07"));
    }

    #[test]
    fn bad_calendar_files_are_refused() {
        let file = |h: &str, w: &str| format!("year = 2026\nsource = \"x\"\nholidays = [{h}]\nworking_days = [{w}]\n");
        assert!(Calendar::parse(&[&file("\"2026-10-01\"", "\"2026-10-10\"")]).is_ok());
        assert!(Calendar::parse(&[&file("\"2027-10-01\"", "")]).is_err(), "a date of another year");
        assert!(Calendar::parse(&[&file("\"2026-10-10\"", "\"2026-10-10\"")]).is_err(), "both");
        assert!(Calendar::parse(&[&file("", "\"2026-10-09\"")]).is_err(), "a Friday made a working day");
        let f = file("", "");
        assert!(Calendar::parse(&[&f, &f]).is_err(), "the same year twice");
    }
}
