//! Weekly times in UTC — `hour:minute` on some days of the week — as backup schedules
//! (`recurrence_info`) and the update policy (`check_schedule`) give them: the day names of the
//! vAPI, the range checks that name the field, and the next time one is due.
use time::{OffsetDateTime, Time, UtcOffset, Weekday};

use crate::CoreError;

/// At `hour:minute` UTC on `days` (every day when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub minute: u8,
    pub hour: u8,
    pub days: Vec<Weekday>,
}

const DAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "MONDAY"),
    (Weekday::Tuesday, "TUESDAY"),
    (Weekday::Wednesday, "WEDNESDAY"),
    (Weekday::Thursday, "THURSDAY"),
    (Weekday::Friday, "FRIDAY"),
    (Weekday::Saturday, "SATURDAY"),
    (Weekday::Sunday, "SUNDAY"),
];

/// The vAPI name of a day (`MONDAY`).
pub fn day_name(d: Weekday) -> &'static str {
    DAYS.iter()
        .find(|(w, _)| *w == d)
        .map_or("MONDAY", |(_, n)| n)
}

/// A day from its vAPI name, in any case.
pub fn parse_day(name: &str) -> Option<Weekday> {
    DAYS.iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(w, _)| *w)
}

/// The last hour of a day and minute of an hour a weekly time may name.
pub const HOUR_MAX: u8 = 23;
pub const MINUTE_MAX: u8 = 59;

/// `hour` (0–23) and `minute` (0–59) of a request, errors naming `<at>.hour` or `<at>.minute`.
pub fn check_time(at: &str, hour: i64, minute: i64) -> Result<(u8, u8), CoreError> {
    let hour = u8::try_from(hour)
        .ok()
        .filter(|h| *h <= HOUR_MAX)
        .ok_or_else(|| {
            CoreError::invalid(format!("{at}.hour"), format!("must be 0 to {HOUR_MAX}"))
        })?;
    let minute = u8::try_from(minute)
        .ok()
        .filter(|m| *m <= MINUTE_MAX)
        .ok_or_else(|| {
            CoreError::invalid(format!("{at}.minute"), format!("must be 0 to {MINUTE_MAX}"))
        })?;
    Ok((hour, minute))
}

/// The first time after `after` the recurrence names.
pub fn next_due(r: &Recurrence, after: OffsetDateTime) -> OffsetDateTime {
    let after = after.to_offset(UtcOffset::UTC);
    let at = Time::from_hms(r.hour, r.minute, 0).unwrap_or(Time::MIDNIGHT);
    let mut day = after.date();
    // Eight days always reach a named weekday after `after`.
    for _ in 0..8 {
        let t = day.with_time(at).assume_utc();
        if t > after && (r.days.is_empty() || r.days.contains(&day.weekday())) {
            return t;
        }
        match day.next_day() {
            Some(d) => day = d,
            None => break,
        }
    }
    after + time::Duration::days(7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn daily(hour: u8, minute: u8) -> Recurrence {
        Recurrence {
            minute,
            hour,
            days: Vec::new(),
        }
    }

    #[test]
    fn next_due_is_strictly_after_and_on_a_named_day() {
        let r = daily(3, 30);
        let t = datetime!(2026-12-06 03:30:00 UTC);
        assert_eq!(next_due(&r, t), datetime!(2026-12-07 03:30:00 UTC));
        assert_eq!(
            next_due(&r, datetime!(2026-12-06 03:29:59 UTC)),
            datetime!(2026-12-06 03:30:00 UTC)
        );
        // 2026-12-06 is a Sunday.
        let weekdays = Recurrence {
            days: vec![Weekday::Monday, Weekday::Friday],
            ..r
        };
        assert_eq!(next_due(&weekdays, t), datetime!(2026-12-07 03:30:00 UTC));
        assert_eq!(
            next_due(&weekdays, datetime!(2026-12-07 04:00:00 UTC)),
            datetime!(2026-12-11 03:30:00 UTC)
        );
    }

    #[test]
    fn times_out_of_range_name_their_field() {
        let field = |h, m| match check_time("policy.check_schedule[2]", h, m).unwrap_err() {
            CoreError::InvalidArgument { field, .. } => field,
            e => panic!("{e}"),
        };
        assert_eq!(field(24, 0), "policy.check_schedule[2].hour");
        assert_eq!(field(-1, 0), "policy.check_schedule[2].hour");
        assert_eq!(field(0, 60), "policy.check_schedule[2].minute");
        assert_eq!(check_time("x", 23, 59).unwrap(), (23, 59));
        assert_eq!(parse_day("friday"), Some(Weekday::Friday));
        assert_eq!(parse_day("FUNDAY"), None);
        assert_eq!(day_name(Weekday::Sunday), "SUNDAY");
    }
}
