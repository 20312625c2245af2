//! Dates and timestamps without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Converts days since 1970-01-01 to a (year, month, day) civil date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` for days since 1970-01-01.
pub(crate) fn iso_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses a strict `YYYY-MM-DD` date into days since 1970-01-01; `None` if malformed or invalid.
pub(crate) fn parse_iso_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let well_formed = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    let year: i64 = text.get(0..4)?.parse().ok()?;
    let month: i64 = text.get(5..7)?.parse().ok()?;
    let day: i64 = text.get(8..10)?.parse().ok()?;
    let days = days_from_civil(year, month, day);
    (civil_from_days(days) == (year, month, day)).then_some(days)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since 1970-01-01T00:00:00Z.
pub(crate) fn iso_timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        iso_date(days),
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch.
pub(crate) fn iso_timestamp_ms(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let base = iso_timestamp(secs);
    format!("{}.{ms:03}Z", base.trim_end_matches('Z'))
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0)
}

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> i64 {
    now_millis().div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(19_723), "2024-01-01");
        assert_eq!(parse_iso_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_iso_date("2023-02-29"), None);
        assert_eq!(parse_iso_date("2024-13-01"), None);
        assert_eq!(parse_iso_date("2024-1-01"), None);
        assert_eq!(parse_iso_date("２０２４-01-01"), None);
        for days in [-1000, 0, 365, 19_000, 20_000, 60_000] {
            assert_eq!(parse_iso_date(&iso_date(days)), Some(days));
        }
        assert_eq!(iso_timestamp(86_399), "1970-01-01T23:59:59Z");
        assert_eq!(iso_timestamp_ms(1_500), "1970-01-01T00:00:01.500Z");
    }
}
