//! Working-day calendar for legal time limits (限时办结).
//!
//! A working day is Monday to Friday, minus the published public holidays, plus the published
//! make-up workdays (调休上班) that fall on a weekend. The arrangement is published by the State
//! Council each November for the next year, so it is data (`schemas/calendar-<year>.toml`), never
//! code. Pure: no I/O; the caller reads the file.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

/// The official 2026 arrangement, shipped as the default calendar.
pub const DEFAULT_2026: &str = include_str!("../../schemas/calendar-2026.toml");

/// Why a calendar file could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    /// The TOML did not parse or lacked a field.
    #[error("calendar is not valid TOML: {0}")]
    Syntax(String),
    /// A date was not a plain date (`2026-01-01`) or did not exist.
    #[error("calendar: {0} is not a plain calendar date")]
    BadDate(String),
    /// A holiday's `to` is before its `from`.
    #[error("calendar: holiday {0} ends before it starts")]
    Reversed(String),
    /// A day is both a holiday and a make-up workday.
    #[error("calendar: {0} is listed both as a holiday and as a make-up workday")]
    Both(NaiveDate),
    /// A listed day lies outside the years the file declares it covers.
    #[error("calendar: {0} is outside the declared years")]
    OutsideYears(NaiveDate),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    years: Vec<i32>,
    #[serde(default)]
    holiday: Vec<HolidayFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayFile {
    name: String,
    from: toml::value::Datetime,
    to: toml::value::Datetime,
    #[serde(default)]
    make_up: Vec<toml::value::Datetime>,
}

/// A legal deadline and whether it rests on years the calendar does not cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The last working day on which the matter must be concluded.
    pub due: NaiveDate,
    /// True when some counted day lies in a year whose arrangement is not configured (counted
    /// as plain Monday–Friday); the date may move once that year's arrangement is published.
    pub provisional: bool,
}

/// Holidays and make-up workdays for the years it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeSet<i32>,
    holidays: BTreeSet<NaiveDate>,
    make_up: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// The official 2026 calendar (`schemas/calendar-2026.toml`).
    pub fn official_2026() -> Self {
        Self::parse(DEFAULT_2026).expect("the shipped 2026 calendar is valid")
    }

    /// Parses a calendar file (see `schemas/calendar-2026.toml` for the format).
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let file: CalendarFile =
            toml::from_str(text).map_err(|e| CalendarError::Syntax(e.message().to_owned()))?;
        let years: BTreeSet<i32> = file.years.into_iter().collect();
        let mut holidays = BTreeSet::new();
        let mut make_up = BTreeSet::new();
        for h in &file.holiday {
            let from = plain_date(&h.from)?;
            let to = plain_date(&h.to)?;
            if to < from {
                return Err(CalendarError::Reversed(h.name.clone()));
            }
            let mut d = from;
            while d <= to {
                holidays.insert(d);
                d = d + Days::new(1);
            }
            for m in &h.make_up {
                make_up.insert(plain_date(m)?);
            }
        }
        if let Some(d) = holidays.intersection(&make_up).next() {
            return Err(CalendarError::Both(*d));
        }
        if let Some(d) = holidays
            .iter()
            .chain(make_up.iter())
            .find(|d| !years.contains(&d.year()))
        {
            return Err(CalendarError::OutsideYears(*d));
        }
        Ok(Self {
            years,
            holidays,
            make_up,
        })
    }

    /// Whether the calendar holds the arrangement for `year`.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.make_up.contains(&day) {
            return true;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The deadline `working_days` working days after `accepted_on`, counting from the next day
    /// (the day of acceptance does not count). Zero days gives the day of acceptance.
    pub fn deadline(&self, accepted_on: NaiveDate, working_days: u32) -> Deadline {
        let mut day = accepted_on;
        let mut left = working_days;
        let mut provisional = false;
        while left > 0 {
            day = day + Days::new(1);
            if !self.covers(day.year()) {
                provisional = true;
            }
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        Deadline {
            due: day,
            provisional,
        }
    }

    /// Working days from `today` to the deadline `due`: the working days after today up to
    /// and including `due` (0 when due today), or, once `due` has passed, minus the working
    /// days after `due` up to and including today. Days of years the calendar does not cover
    /// count as plain Monday–Friday, as in [`Calendar::deadline`].
    pub fn working_days_left(&self, today: NaiveDate, due: NaiveDate) -> i64 {
        let (from, to, sign) = if due >= today {
            (today, due, 1)
        } else {
            (due, today, -1)
        };
        let mut n = 0;
        let mut day = from;
        while day < to {
            day = day + Days::new(1);
            if self.is_working_day(day) {
                n += 1;
            }
        }
        sign * n
    }
}

fn plain_date(v: &toml::value::Datetime) -> Result<NaiveDate, CalendarError> {
    match (v.date, v.time, v.offset) {
        (Some(d), None, None) => {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                .ok_or_else(|| CalendarError::BadDate(v.to_string()))
        }
        _ => Err(CalendarError::BadDate(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_published_example_ends_on_9_october() {
        let cal = Calendar::official_2026();
        let got = cal.deadline(d("2026-09-18"), 10);
        assert_eq!(got.due, d("2026-10-09"));
        assert!(!got.provisional);
    }

    #[test]
    fn make_up_sundays_count_and_holidays_do_not() {
        let cal = Calendar::official_2026();
        assert!(cal.is_working_day(d("2026-09-20")), "Sunday make-up day");
        assert!(cal.is_working_day(d("2026-10-10")), "Saturday make-up day");
        assert!(!cal.is_working_day(d("2026-10-05")), "National Day Monday");
        assert!(!cal.is_working_day(d("2026-09-26")), "plain Saturday");
        assert!(cal.is_working_day(d("2026-09-22")), "plain Tuesday");
    }

    #[test]
    fn spring_festival_food_licence_and_business_licence() {
        let cal = Calendar::official_2026();
        // Fri 13 Feb: Sat 14 (make-up) is day 1, 15–23 off, 24, 25, 26, 27, Sat 28 (make-up),
        // Mon 2 Mar ... 10 working days end on Thu 5 Mar.
        assert_eq!(cal.deadline(d("2026-02-13"), 10).due, d("2026-03-05"));
        // 3 working days from Thu 30 Apr: 1–5 May off, Wed 6, Thu 7, Fri 8.
        assert_eq!(cal.deadline(d("2026-04-30"), 3).due, d("2026-05-08"));
        // Accepted on a New Year holiday: Sun 4 Jan is a make-up day.
        assert_eq!(cal.deadline(d("2026-01-01"), 1).due, d("2026-01-04"));
    }

    #[test]
    fn working_days_left_count_to_the_deadline_and_past_it() {
        let cal = Calendar::official_2026();
        let due = cal.deadline(d("2026-09-18"), 10).due;
        assert_eq!(cal.working_days_left(d("2026-09-18"), due), 10);
        assert_eq!(cal.working_days_left(due, due), 0);
        // Fri 9 Oct is due; Sat 10 Oct is a make-up day, Sun 11 is not, Mon 12 is.
        assert_eq!(cal.working_days_left(d("2026-10-10"), due), -1);
        assert_eq!(cal.working_days_left(d("2026-10-11"), due), -1);
        assert_eq!(cal.working_days_left(d("2026-10-12"), due), -2);
        // National Day week: from Wed 30 Sep only Thu 8 and Fri 9 Oct count.
        assert_eq!(cal.working_days_left(d("2026-09-30"), due), 2);
    }

    #[test]
    fn zero_days_is_the_day_of_acceptance() {
        let cal = Calendar::official_2026();
        assert_eq!(cal.deadline(d("2026-03-03"), 0).due, d("2026-03-03"));
    }

    #[test]
    fn counting_into_an_unconfigured_year_is_provisional() {
        let cal = Calendar::official_2026();
        let got = cal.deadline(d("2026-12-30"), 3);
        // Thu 31 Dec, then plain Fri 1 Jan 2027 and Mon 4 Jan 2027 (2027 not configured).
        assert_eq!(got.due, d("2027-01-04"));
        assert!(got.provisional);
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let reversed = "years=[2026]\n[[holiday]]\nname=\"x\"\nfrom=2026-05-05\nto=2026-05-01\n";
        assert_eq!(
            Calendar::parse(reversed),
            Err(CalendarError::Reversed("x".into()))
        );
        let both = "years=[2026]\n[[holiday]]\nname=\"x\"\nfrom=2026-05-01\nto=2026-05-02\nmake_up=[2026-05-02]\n";
        assert_eq!(
            Calendar::parse(both),
            Err(CalendarError::Both(d("2026-05-02")))
        );
        let outside = "years=[2027]\n[[holiday]]\nname=\"x\"\nfrom=2026-05-01\nto=2026-05-01\n";
        assert_eq!(
            Calendar::parse(outside),
            Err(CalendarError::OutsideYears(d("2026-05-01")))
        );
        let timed =
            "years=[2026]\n[[holiday]]\nname=\"x\"\nfrom=2026-05-01T00:00:00\nto=2026-05-01\n";
        assert!(matches!(
            Calendar::parse(timed),
            Err(CalendarError::BadDate(_))
        ));
        assert!(matches!(
            Calendar::parse("nonsense = ["),
            Err(CalendarError::Syntax(_))
        ));
    }
}
