//! Calendar arithmetic and UTC-offset tables, so time windows need no time-zone database in the browser.
//!
//! The server computes each zone's offsets from its own tz database and ships them as a [`ZoneTable`];
//! this module only looks offsets up and turns local milliseconds into a date, a weekday and a minute.

use serde::{Deserialize, Serialize};

const MS_PER_DAY: i64 = 86_400_000;

/// A zone's UTC offsets over a span of time: `spans[i] = (utc_start_ms, offset_seconds)`, sorted, each in
/// force until the next one starts, the last until `until_ms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneTable {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<[i64; 2]>))]
    pub spans: Vec<(i64, i32)>,
    pub until_ms: i64,
}

impl ZoneTable {
    /// The offset in force at `utc_ms`, or `None` outside the table.
    pub fn offset_at(&self, utc_ms: i64) -> Option<i32> {
        if utc_ms >= self.until_ms {
            return None;
        }
        let after = self.spans.partition_point(|&(start, _)| start <= utc_ms);
        let index = after.checked_sub(1)?;
        self.spans.get(index).map(|&(_, offset)| offset)
    }
}

/// A moment in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Days since 1970-01-01.
    pub day: i32,
    /// Monday = 0 … Sunday = 6.
    pub weekday: u8,
    /// Minutes since local midnight.
    pub minute: u16,
}

impl LocalTime {
    pub fn from_local_ms(local_ms: i64) -> LocalTime {
        let day = local_ms.div_euclid(MS_PER_DAY);
        let minute = local_ms.rem_euclid(MS_PER_DAY) / 60_000;
        LocalTime {
            day: i32::try_from(day).unwrap_or(if day < 0 { i32::MIN } else { i32::MAX }),
            // 1970-01-01 was a Thursday (3 when Monday is 0).
            weekday: u8::try_from((day + 3).rem_euclid(7)).unwrap_or(0),
            minute: u16::try_from(minute).unwrap_or(0),
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX })
}

/// The date of a day number: `(year, month, day)`.
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        i32::try_from(year).unwrap_or(0),
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Whether `(year, month, day)` is a real date.
pub fn is_valid_date(year: i32, month: u32, day: u32) -> bool {
    if !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let length = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= length
}

/// `YYYY-MM-DD` to a day number.
pub fn parse_date(text: &str) -> Option<i32> {
    let mut parts = text.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let month: u32 = month.parse().ok()?;
    let day: u32 = day.parse().ok()?;
    is_valid_date(year, month, day).then(|| days_from_civil(year, month, day))
}

/// A day number as `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `HH:MM` (00:00 to 24:00) to minutes since midnight.
pub fn parse_clock(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    let total = hours.checked_mul(60)?.checked_add(minutes)?;
    (minutes < 60 && total <= 24 * 60).then_some(total)
}

/// Minutes since midnight as `HH:MM`.
pub fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// An RFC 3339 instant (`2026-03-29T01:30:00Z`, `…+02:00`, optional fraction) to Unix milliseconds.
pub fn parse_instant(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let day = parse_date(date)?;
    let (clock, offset_seconds) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0i64)
    } else {
        let split = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(split);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let minutes = i64::from(parse_clock(offset.get(1..)?)?);
        (clock, sign * minutes * 60)
    };
    let (clock, fraction_ms) = match clock.split_once('.') {
        Some((clock, fraction)) => {
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
            (clock, millis.parse::<i64>().ok()?)
        }
        None => (clock, 0),
    };
    let mut parts = clock.splitn(3, ':');
    let (hours, minutes, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    if [hours, minutes, seconds].iter().any(|part| part.len() != 2) {
        return None;
    }
    let (hours, minutes, seconds): (i64, i64, i64) = (
        hours.parse().ok()?,
        minutes.parse().ok()?,
        seconds.parse().ok()?,
    );
    if hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let local =
        i64::from(day) * MS_PER_DAY + ((hours * 60 + minutes) * 60 + seconds) * 1000 + fraction_ms;
    Some(local - offset_seconds * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-719_468, -1, 0, 1, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_date("2026-03-29"), Some(days_from_civil(2026, 3, 29)));
        assert_eq!(format_date(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2026-3-29"), None);
    }

    #[test]
    fn weekdays() {
        // 2026-11-21 is a Saturday.
        let saturday = i64::from(days_from_civil(2026, 11, 21)) * MS_PER_DAY;
        assert_eq!(LocalTime::from_local_ms(saturday).weekday, 5);
        assert_eq!(LocalTime::from_local_ms(0).weekday, 3);
        assert_eq!(LocalTime::from_local_ms(-1).weekday, 2);
        assert_eq!(LocalTime::from_local_ms(-1).minute, 1439);
    }

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_instant("1969-12-31T19:00:00.5-05:00"), Some(500));
        assert_eq!(parse_instant("1970-01-01T24:00:00Z"), None);
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn offsets() {
        let table = ZoneTable {
            spans: vec![(0, 3600), (1_000, 7200)],
            until_ms: 2_000,
        };
        assert_eq!(table.offset_at(-1), None);
        assert_eq!(table.offset_at(0), Some(3600));
        assert_eq!(table.offset_at(999), Some(3600));
        assert_eq!(table.offset_at(1_000), Some(7200));
        assert_eq!(table.offset_at(2_000), None);
    }
}
