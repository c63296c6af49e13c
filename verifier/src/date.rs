//! Calendar dates, `YYYY-MM-DD` (ISO 8601 calendar date, extended format) in the proleptic
//! Gregorian calendar, years 0000 to 9999.
//!
//! Records and periods in the credit domain count whole days (`shared/DOMAIN.md` §1, §5): a
//! penalty's publicity period of 3 months, a listing's effect period of 3 years. Nothing here
//! reads a clock; "today" is always an argument. Day arithmetic uses the days-from-civil
//! algorithm (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"), integers only.

use std::fmt;
use std::str::FromStr;

/// A valid calendar date. Ordered chronologically; serialised as the string `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    // Field order gives the chronological `Ord`.
    year: u16,
    month: u8,
    day: u8,
}

/// Why a string or a triple is not a valid date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Not of the form `YYYY-MM-DD` with ASCII digits.
    #[error("{found:?} is not a date of the form YYYY-MM-DD (four-digit year, two-digit month and day)")]
    Format {
        /// The text given.
        found: String,
    },
    /// The year is above 9999.
    #[error("year {year} is outside 0000–9999")]
    Year {
        /// The year given.
        year: u32,
    },
    /// The month is not 1–12.
    #[error("{date}: there is no month {month:02}; months run from 01 to 12")]
    Month {
        /// The date as given.
        date: String,
        /// The month given.
        month: u32,
    },
    /// The day is 0 or past the end of the month.
    #[error("{date}: {} {year:04} has {days_in_month} days", MONTH_NAMES[usize::from(*month) - 1])]
    Day {
        /// The date as given.
        date: String,
        /// Year of the date.
        year: u16,
        /// Month of the date, 1–12.
        month: u8,
        /// Number of days in that month.
        days_in_month: u8,
    },
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Whether `year` is a leap year in the proleptic Gregorian calendar.
// `is_multiple_of` is Rust 1.87; the workspace declares rust-version 1.85.
#[allow(clippy::manual_is_multiple_of)]
pub fn is_leap_year(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in `month` (1–12) of `year`; 0 for a month outside 1–12.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to 0000-03-01 in the days-from-civil algorithm.
const DAYS_FROM_0000_03_01_TO_EPOCH: i64 = 719_468;
/// Days in a 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;

impl Date {
    /// The earliest date, 0000-01-01.
    pub const MIN: Date = Date { year: 0, month: 1, day: 1 };
    /// The latest date, 9999-12-31.
    pub const MAX: Date = Date { year: 9999, month: 12, day: 31 };
    /// 1970-01-01, day 0 of [`Date::days_since_epoch`].
    pub const EPOCH: Date = Date { year: 1970, month: 1, day: 1 };

    /// The date `year`-`month`-`day`.
    ///
    /// # Errors
    ///
    /// [`DateError::Year`] above 9999, [`DateError::Month`] outside 1–12, [`DateError::Day`] for
    /// day 0 or a day past the end of the month.
    pub fn new(year: u32, month: u32, day: u32) -> Result<Self, DateError> {
        let shown = || format!("{year:04}-{month:02}-{day:02}");
        let year = u16::try_from(year).ok().filter(|y| *y <= 9999).ok_or(DateError::Year { year })?;
        let month = u8::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| DateError::Month { date: shown(), month })?;
        let days = days_in_month(year, month);
        let day = u8::try_from(day).ok().filter(|d| (1..=days).contains(d)).ok_or_else(|| DateError::Day {
            date: shown(),
            year,
            month,
            days_in_month: days,
        })?;
        Ok(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD` exactly: ten ASCII characters, no sign, no time, no spaces.
    ///
    /// # Errors
    ///
    /// [`DateError::Format`] for any other shape, then the rules of [`Date::new`].
    pub fn parse(text: &str) -> Result<Self, DateError> {
        let b = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            b[range].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
        };
        let format = || DateError::Format { found: text.to_owned() };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(format());
        }
        let (year, month, day) = (digits(0..4), digits(5..7), digits(8..10));
        match (year, month, day) {
            (Some(year), Some(month), Some(day)) => Self::new(year, month, day),
            _ => Err(format()),
        }
    }

    /// The year, 0–9999.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, 1–31.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(&self) -> i64 {
        // Hinnant's days_from_civil: count years from March so that the leap day is last.
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year.rem_euclid(400);
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * DAYS_PER_ERA + day_of_era - DAYS_FROM_0000_03_01_TO_EPOCH
    }

    /// The date `days` days after 1970-01-01; `None` outside [`Date::MIN`]..=[`Date::MAX`].
    pub fn from_days(days: i64) -> Option<Self> {
        if days < Self::MIN.days_since_epoch() || days > Self::MAX.days_since_epoch() {
            return None;
        }
        // Hinnant's civil_from_days.
        let z = days + DAYS_FROM_0000_03_01_TO_EPOCH;
        let era = z.div_euclid(DAYS_PER_ERA);
        let day_of_era = z.rem_euclid(DAYS_PER_ERA);
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // The range check above keeps every component in range.
        Some(Self { year: u16::try_from(year).ok()?, month: u8::try_from(month).ok()?, day: u8::try_from(day).ok()? })
    }

    /// The date `days` days later (earlier if negative); `None` outside 0000-01-01..=9999-12-31.
    pub fn add_days(&self, days: i64) -> Option<Self> {
        Self::from_days(self.days_since_epoch().checked_add(days)?)
    }

    /// The same day `months` months later, clamped to the end of a shorter month
    /// (2026-01-31 + 1 month = 2026-02-28); `None` past 9999-12-31.
    pub fn add_months(&self, months: u32) -> Option<Self> {
        let index = u64::from(self.year) * 12 + u64::from(self.month - 1) + u64::from(months);
        let year = u16::try_from(index / 12).ok().filter(|y| *y <= 9999)?;
        // `index % 12` is below 12.
        let month = (index % 12) as u8 + 1;
        Some(Self { year, month, day: self.day.min(days_in_month(year, month)) })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Date> for String {
    fn from(date: Date) -> Self {
        date.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn parses_and_displays() {
        let date = d("2026-11-20");
        assert_eq!((date.year(), date.month(), date.day()), (2026, 11, 20));
        assert_eq!(date.to_string(), "2026-11-20");
        assert_eq!(d("0000-01-01"), Date::MIN);
        assert_eq!(d("9999-12-31"), Date::MAX);
        assert_eq!("2024-02-29".parse::<Date>().unwrap().to_string(), "2024-02-29");
    }

    #[test]
    fn rejects_other_shapes() {
        for text in [
            "2026-1-20",
            "2026/11/20",
            "20261120",
            "2026-11-20T00:00",
            " 2026-11-20",
            "+026-11-20",
            "2026-11-2x",
            "２０２６-11-20",
            "",
        ] {
            assert_eq!(Date::parse(text), Err(DateError::Format { found: text.to_owned() }), "{text}");
        }
    }

    #[test]
    fn errors_name_the_rule() {
        assert_eq!(Date::parse("2026-02-30").unwrap_err().to_string(), "2026-02-30: February 2026 has 28 days");
        assert_eq!(Date::parse("2024-02-30").unwrap_err().to_string(), "2024-02-30: February 2024 has 29 days");
        assert_eq!(Date::parse("2026-04-31").unwrap_err().to_string(), "2026-04-31: April 2026 has 30 days");
        assert_eq!(Date::parse("2026-04-00").unwrap_err().to_string(), "2026-04-00: April 2026 has 30 days");
        assert_eq!(
            Date::parse("2026-13-01").unwrap_err().to_string(),
            "2026-13-01: there is no month 13; months run from 01 to 12"
        );
        assert!(matches!(Date::parse("2026-00-01"), Err(DateError::Month { month: 0, .. })));
        assert_eq!(Date::new(10000, 1, 1), Err(DateError::Year { year: 10000 }));
    }

    #[test]
    fn leap_years() {
        assert!(is_leap_year(2024) && is_leap_year(2000) && is_leap_year(0));
        assert!(!is_leap_year(2026) && !is_leap_year(1900) && !is_leap_year(2100));
        assert!(Date::parse("2000-02-29").is_ok());
        assert!(Date::parse("1900-02-29").is_err());
    }

    #[test]
    fn days_since_epoch_known_answers() {
        assert_eq!(Date::EPOCH.days_since_epoch(), 0);
        assert_eq!(d("1970-01-02").days_since_epoch(), 1);
        assert_eq!(d("1969-12-31").days_since_epoch(), -1);
        assert_eq!(d("2000-03-01").days_since_epoch(), 11_017);
        // Python: (date(2026, 11, 20) - date(1970, 1, 1)).days
        assert_eq!(d("2026-11-20").days_since_epoch(), 20_777);
        assert_eq!(Date::MIN.days_since_epoch(), -719_528);
        assert_eq!(Date::MAX.days_since_epoch(), 2_932_896);
    }

    #[test]
    fn from_days_inverts_days_since_epoch_everywhere() {
        let mut expected = Date::MIN;
        for days in Date::MIN.days_since_epoch()..=Date::MAX.days_since_epoch() {
            let date = Date::from_days(days).unwrap();
            assert_eq!(date, expected, "day {days}");
            assert_eq!(date.days_since_epoch(), days);
            if date == Date::MAX {
                break;
            }
            // The next date by counting, independent of the algorithm.
            expected = if date.day < days_in_month(date.year, date.month) {
                Date { day: date.day + 1, ..date }
            } else if date.month < 12 {
                Date { month: date.month + 1, day: 1, ..date }
            } else {
                Date { year: date.year + 1, month: 1, day: 1 }
            };
        }
        assert_eq!(Date::from_days(Date::MIN.days_since_epoch() - 1), None);
        assert_eq!(Date::from_days(Date::MAX.days_since_epoch() + 1), None);
        assert_eq!(Date::from_days(i64::MIN), None);
    }

    #[test]
    fn add_days() {
        assert_eq!(d("2026-12-31").add_days(1), Some(d("2027-01-01")));
        assert_eq!(d("2024-02-28").add_days(1), Some(d("2024-02-29")));
        assert_eq!(d("2026-03-01").add_days(-1), Some(d("2026-02-28")));
        assert_eq!(d("2026-11-20").add_days(0), Some(d("2026-11-20")));
        assert_eq!(Date::MAX.add_days(1), None);
        assert_eq!(Date::MIN.add_days(-1), None);
        assert_eq!(d("2026-11-20").add_days(i64::MAX), None);
    }

    #[test]
    fn add_months_clamps_to_month_end() {
        assert_eq!(d("2026-01-31").add_months(1), Some(d("2026-02-28")));
        assert_eq!(d("2024-01-31").add_months(1), Some(d("2024-02-29")));
        assert_eq!(d("2026-03-31").add_months(1), Some(d("2026-04-30")));
        assert_eq!(d("2026-11-20").add_months(3), Some(d("2027-02-20")));
        assert_eq!(d("2026-11-20").add_months(36), Some(d("2029-11-20")));
        assert_eq!(d("2024-02-29").add_months(12), Some(d("2025-02-28")));
        assert_eq!(d("2026-05-15").add_months(0), Some(d("2026-05-15")));
        assert_eq!(d("9999-12-01").add_months(1), None);
        assert_eq!(d("2026-01-01").add_months(u32::MAX), None);
    }

    #[test]
    fn ordering_is_chronological() {
        assert!(d("2026-02-28") < d("2026-03-01"));
        assert!(d("2025-12-31") < d("2026-01-01"));
        assert!(d("2026-11-19") < d("2026-11-20"));
    }

    #[test]
    fn serde_is_the_string_and_validates() {
        assert_eq!(serde_json::to_string(&d("2026-11-20")).unwrap(), "\"2026-11-20\"");
        assert_eq!(serde_json::from_str::<Date>("\"2026-11-20\"").unwrap(), d("2026-11-20"));
        let err = serde_json::from_str::<Date>("\"2026-02-30\"").unwrap_err();
        assert!(err.to_string().contains("February 2026 has 28 days"), "{err}");
        assert!(serde_json::from_str::<Date>("20261120").is_err());
    }
}
