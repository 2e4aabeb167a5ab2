//! Timestamps as c1z stores them: `YYYY-MM-DD HH:MM:SS[.fraction]`, with
//! trailing zeros of the fraction removed and no zone suffix.
//!
//! The Go SDK writes local time and reads it back as UTC; this crate always
//! writes UTC, which is what the Go SDK produces on a host running in UTC and
//! what every reader assumes.

use time::OffsetDateTime;

/// Formats a time in the c1z layout.
pub fn format(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let mut text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let nanos = at.nanosecond();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text
}

/// The current time in the c1z layout.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Parses a stored timestamp (space or `T` separated, optional fraction, optional `Z`).
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim().trim_end_matches('Z');
    let (date, clock) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    let mut d = date.split('-').map(|p| p.parse::<i32>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut c = hms.split(':').map(|p| p.parse::<u8>().ok());
    let (hour, minute, second) = (c.next()??, c.next()??, c.next().flatten().unwrap_or(0));
    let nanos = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").get(..9)?.parse::<u32>().ok()?
    };
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month as u8).ok()?, day as u8)
            .ok()?;
    let clock = time::Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_trailing_zeros_of_the_fraction() {
        let at = parse("2026-12-04 19:48:57.41112658").unwrap();
        assert_eq!(format(at), "2026-12-04 19:48:57.41112658");
        let whole = parse("2026-12-04 19:48:57").unwrap();
        assert_eq!(format(whole), "2026-12-04 19:48:57");
        assert_eq!(
            format(parse("2026-12-04 19:48:57.100").unwrap()),
            "2026-12-04 19:48:57.1"
        );
    }
}
