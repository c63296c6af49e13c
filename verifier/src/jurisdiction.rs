//! The jurisdiction's settings: the local time and the date bounds the rules depend on. They
//! are on the log: the operator signs a `set_jurisdiction` identity statement (the registry logs
//! one with the defaults when it creates a log), and every rule judges an entry by the settings
//! in force before it, so a court replaying the log applies the same dates the server applied.
//! Before any such statement the defaults below hold. Defaults and their sources are in
//! `docs/FORMAT.md` §10.

use crate::date::Date;
use serde::{Deserialize, Serialize};

/// The settings the date rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// No record is dated before this day. Default 1988-07-01, the day the Regulations on the
    /// Registration of Enterprise Legal Persons (企业法人登记管理条例) took effect: no enterprise
    /// in today's register could have been penalised or licensed as one before it.
    pub earliest_record_date: Date,
    /// A record may be dated at most this many days after the day it is logged (clock and time
    /// zone differences between a department's system and the log). Default 1.
    pub future_tolerance_days: u32,
    /// The jurisdiction's offset from UTC in minutes: "today" and the day an entry was logged
    /// are local dates. Default +480 (Asia/Shanghai, China Standard Time, no daylight saving
    /// since 1991).
    pub utc_offset_minutes: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            earliest_record_date: Date::new(1988, 7, 1).expect("a valid date"),
            future_tolerance_days: 1,
            utc_offset_minutes: 480,
        }
    }
}

impl Settings {
    /// The jurisdiction's local date at `unix_seconds`.
    pub fn local_date(&self, unix_seconds: u64) -> Date {
        let local = i64::try_from(unix_seconds).unwrap_or(i64::MAX / 2) + i64::from(self.utc_offset_minutes) * 60;
        Date::from_days(local.div_euclid(86_400)).unwrap_or(Date::EPOCH)
    }

    /// The offset as `UTC+08:00`.
    pub fn utc_label(&self) -> String {
        let m = self.utc_offset_minutes;
        format!("UTC{}{:02}:{:02}", if m < 0 { '-' } else { '+' }, m.abs() / 60, m.abs() % 60)
    }

    /// Checks that the settings are within what any jurisdiction could mean.
    ///
    /// # Errors
    ///
    /// The setting out of range and the range, in plain language.
    pub fn check(&self) -> Result<(), String> {
        if !(-720..=840).contains(&self.utc_offset_minutes) || self.utc_offset_minutes % 15 != 0 {
            return Err(format!(
                "utc_offset_minutes is {}; an offset from UTC is between -720 and +840 minutes, in steps of 15",
                self.utc_offset_minutes
            ));
        }
        if self.future_tolerance_days > 7 {
            return Err(format!(
                "future_tolerance_days is {}; a record may be dated at most 7 days after the day it is logged",
                self.future_tolerance_days
            ));
        }
        let floor = Date::new(1949, 10, 1).expect("a valid date");
        if self.earliest_record_date < floor {
            return Err(format!(
                "earliest_record_date is {}; no record of today's registers is dated before {floor}",
                self.earliest_record_date
            ));
        }
        Ok(())
    }
}

/// The jurisdiction a log serves and its settings, as the identity entries up to some index make
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jurisdiction {
    /// Its name, e.g. `淄博市张店区` (empty before any `set_jurisdiction` statement).
    pub name: String,
    /// The IANA time zone the offset stands for, e.g. `Asia/Shanghai` (a label: the rules use
    /// the offset).
    pub time_zone: String,
    /// The settings.
    pub settings: Settings,
    /// The entry that set them (`None`: the defaults).
    pub set_at: Option<u64>,
}

impl Default for Jurisdiction {
    fn default() -> Self {
        Self { name: String::new(), time_zone: "Asia/Shanghai".into(), settings: Settings::default(), set_at: None }
    }
}

/// Checks a jurisdiction's name and time zone label.
///
/// # Errors
///
/// What is wrong, in plain language.
pub fn check_labels(name: &str, time_zone: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err("name is the jurisdiction's name, 1 to 100 characters without control characters".into());
    }
    if time_zone.is_empty()
        || time_zone.len() > 64
        || !time_zone.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
    {
        return Err(format!(
            "time_zone is an IANA time zone name such as Asia/Shanghai (letters, digits, / _ + -), not {time_zone:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_dates_follow_the_offset() {
        let s = Settings::default();
        // 2026-11-29T16:00:00Z is 2026-11-30 00:00 in China Standard Time.
        let t = 1_795_968_000;
        assert_eq!(s.local_date(t).to_string(), "2026-11-30");
        assert_eq!(s.local_date(t - 1).to_string(), "2026-11-29");
        let utc = Settings { utc_offset_minutes: 0, ..s };
        assert_eq!(utc.local_date(t).to_string(), "2026-11-29");
        assert_eq!(s.utc_label(), "UTC+08:00");
        assert_eq!(Settings { utc_offset_minutes: -30, ..s }.utc_label(), "UTC-00:30");
        assert_eq!(Settings { utc_offset_minutes: 345, ..s }.utc_label(), "UTC+05:45");
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        assert!(Settings::default().check().is_ok());
        for bad in [
            Settings { utc_offset_minutes: 481, ..Settings::default() },
            Settings { utc_offset_minutes: 900, ..Settings::default() },
            Settings { future_tolerance_days: 30, ..Settings::default() },
            Settings { earliest_record_date: Date::new(1900, 1, 1).unwrap(), ..Settings::default() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(check_labels("淄博市张店区", "Asia/Shanghai").is_ok());
        assert!(check_labels("", "Asia/Shanghai").is_err());
        assert!(check_labels("淄博", "Asia/Shang hai").is_err());
    }
}
