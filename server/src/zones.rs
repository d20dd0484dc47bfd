//! UTC offsets of IANA time zones over a span of time, computed here so the browser widget carries no time
//! zone data.
//!
//! The zone data is the copy bundled into the binary (jiff's `tzdb-bundle-always`), so every machine gives
//! the same answers and a zone name from a browser never touches the file system.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Whether `name` is a time zone this server knows, e.g. `Europe/Paris` or `UTC`. Names match without
/// regard to ASCII case, as in the zone database.
pub fn is_known_zone(name: &str) -> bool {
    zone(name).is_some()
}

/// The UTC offsets of zone `name` from `from_ms` until `until_ms` (milliseconds since the epoch), as
/// `(utc_start_ms, utc_offset_seconds)` spans in time order. The first span starts at `from_ms` with the
/// offset in force then; each later one starts at a transition in `(from_ms, until_ms]` that changes the
/// offset (transitions that only rename the zone's abbreviation are left out). `None` for an unknown zone.
///
/// A span of years gives a few entries per year; the caller bounds the span it asks for.
pub fn offsets(name: &str, from_ms: i64, until_ms: i64) -> Option<Vec<(i64, i32)>> {
    let zone = zone(name)?;
    let from = timestamp(from_ms);
    let until = timestamp(until_ms);
    let mut spans = vec![(from_ms, zone.to_offset(from).seconds())];
    for transition in zone.following(from) {
        if transition.timestamp() > until {
            break;
        }
        let offset = transition.offset().seconds();
        if spans.last().map(|&(_, previous)| previous) != Some(offset) {
            spans.push((transition.timestamp().as_millisecond(), offset));
        }
    }
    Some(spans)
}

fn zone(name: &str) -> Option<TimeZone> {
    // `Etc/Unknown` is jiff's stand-in for "no zone", not an IANA zone.
    TimeZone::get(name).ok().filter(|zone| !zone.is_unknown())
}

/// Milliseconds beyond jiff's range (years -9999 to 9999) are clamped to its ends.
fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn year_2026(name: &str) -> Vec<(i64, i32)> {
        offsets(name, ms("2026-01-01T00:00:00Z"), ms("2027-01-01T00:00:00Z")).unwrap()
    }

    #[test]
    fn paris_2026() {
        assert_eq!(
            year_2026("Europe/Paris"),
            [
                (ms("2026-01-01T00:00:00Z"), 3600),
                (ms("2026-03-29T01:00:00Z"), 7200),
                (ms("2026-10-25T01:00:00Z"), 3600),
            ]
        );
    }

    #[test]
    fn new_york_2026() {
        assert_eq!(
            year_2026("America/New_York"),
            [
                (ms("2026-01-01T00:00:00Z"), -5 * 3600),
                (ms("2026-03-08T07:00:00Z"), -4 * 3600),
                (ms("2026-11-01T06:00:00Z"), -5 * 3600),
            ]
        );
    }

    #[test]
    fn kolkata_has_one_offset() {
        assert_eq!(
            year_2026("Asia/Kolkata"),
            [(ms("2026-01-01T00:00:00Z"), 5 * 3600 + 1800)]
        );
    }

    #[test]
    fn lord_howe_moves_by_half_an_hour() {
        // +11:00 in the southern summer, +10:30 in winter; both changes happen at 02:00 local time on the
        // first Sunday of April and of October.
        assert_eq!(
            year_2026("Australia/Lord_Howe"),
            [
                (ms("2026-01-01T00:00:00Z"), 11 * 3600),
                (ms("2026-04-04T15:00:00Z"), 10 * 3600 + 1800),
                (ms("2026-10-03T15:30:00Z"), 11 * 3600),
            ]
        );
    }

    #[test]
    fn utc_never_moves() {
        for name in ["UTC", "Etc/UTC", "utc"] {
            assert_eq!(year_2026(name), [(ms("2026-01-01T00:00:00Z"), 0)], "{name}");
            assert!(is_known_zone(name), "{name}");
        }
    }

    #[test]
    fn unknown_zones_give_none() {
        for name in [
            "",
            "Mars/Olympus_Mons",
            "Etc/Unknown",
            "../../etc/passwd",
            "/usr/share/zoneinfo/Europe/Paris",
            "Europe/Paris\0",
        ] {
            assert!(!is_known_zone(name), "{name:?}");
            assert_eq!(offsets(name, 0, 1), None, "{name:?}");
        }
        assert!(is_known_zone("Europe/Paris"));
        assert!(is_known_zone("europe/paris"));
    }

    #[test]
    fn the_span_is_closed_at_its_end_and_open_at_its_start() {
        let spring = ms("2026-03-29T01:00:00Z");
        let autumn = ms("2026-10-25T01:00:00Z");
        // Starting on a transition: its new offset is the first entry, and it is not repeated.
        assert_eq!(
            offsets("Europe/Paris", spring, autumn).unwrap(),
            [(spring, 7200), (autumn, 3600)]
        );
        assert_eq!(
            offsets("Europe/Paris", spring - 1, autumn - 1).unwrap(),
            [(spring - 1, 3600), (spring, 7200)]
        );
        assert_eq!(
            offsets("Europe/Paris", spring, spring).unwrap(),
            [(spring, 7200)]
        );
        // An empty or backwards span still says what offset is in force at its start.
        assert_eq!(
            offsets("Europe/Paris", autumn, spring).unwrap(),
            [(autumn, 3600)]
        );
    }

    #[test]
    fn history_comes_from_the_database() {
        // France kept one offset all year from 1946 until it brought summer time back in 1976.
        let quiet = offsets(
            "Europe/Paris",
            ms("1960-01-01T00:00:00Z"),
            ms("1975-01-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(quiet, [(ms("1960-01-01T00:00:00Z"), 3600)]);
    }

    #[test]
    fn extreme_milliseconds_are_clamped_without_panicking() {
        let all = offsets("Europe/Paris", i64::MIN, i64::MAX).unwrap();
        assert_eq!(all.first().map(|&(start, _)| start), Some(i64::MIN));
        assert!(all.len() > 100, "{}", all.len());
        assert!(all.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert!(all.windows(2).all(|pair| pair[0].1 != pair[1].1));
        assert_eq!(offsets("UTC", i64::MAX, i64::MIN).unwrap(), [(i64::MAX, 0)]);
    }
}
