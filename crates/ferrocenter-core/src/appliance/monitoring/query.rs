//! What a query answers (management guide, "Statistics Interval Adjustment" and "Empty Data
//! Values"): the start is aligned down to the previous UTC multiple of the interval, the end is
//! not adjusted (so the last interval may be incomplete, or one more than expected), each
//! interval gives one value by the roll-up function, and an interval without samples gives `''`.
use time::OffsetDateTime;

use crate::ports::{StatBucket, StatSpan};
use crate::CoreError;

/// The roll-up intervals of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Minutes5,
    Minutes30,
    Hours2,
    Hours6,
    Day1,
}

impl Interval {
    pub const ALL: [Interval; 5] = [
        Interval::Minutes5,
        Interval::Minutes30,
        Interval::Hours2,
        Interval::Hours6,
        Interval::Day1,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Minutes5 => "MINUTES5",
            Interval::Minutes30 => "MINUTES30",
            Interval::Hours2 => "HOURS2",
            Interval::Hours6 => "HOURS6",
            Interval::Day1 => "DAY1",
        }
    }

    pub fn parse(s: &str) -> Option<Interval> {
        Interval::ALL.into_iter().find(|i| i.as_str() == s)
    }

    pub fn seconds(self) -> i64 {
        match self {
            Interval::Minutes5 => 300,
            Interval::Minutes30 => 1800,
            Interval::Hours2 => 7200,
            Interval::Hours6 => 21_600,
            Interval::Day1 => 86_400,
        }
    }

    /// The stored copy the interval is computed from: the longest aggregate that divides it,
    /// so a year of daily values reads one row a day. Five minutes is shorter than the
    /// 30-minute aggregates, so it reads the raw samples (kept for days; older intervals are
    /// empty).
    pub fn span(self) -> StatSpan {
        match self {
            Interval::Minutes5 => StatSpan::Raw,
            Interval::Minutes30 | Interval::Hours2 => StatSpan::HalfHour,
            Interval::Hours6 => StatSpan::SixHours,
            Interval::Day1 => StatSpan::Day,
        }
    }
}

/// The roll-up functions of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Count,
    Max,
    Avg,
    Min,
}

impl Function {
    pub const ALL: [Function; 4] = [Function::Count, Function::Max, Function::Avg, Function::Min];

    pub fn as_str(self) -> &'static str {
        match self {
            Function::Count => "COUNT",
            Function::Max => "MAX",
            Function::Avg => "AVG",
            Function::Min => "MIN",
        }
    }

    pub fn parse(s: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The most intervals one item's answer holds: 13 months of 5-minute intervals (396 × 288 =
/// 114,048) fit; a longer answer is refused rather than built in memory.
pub const MAX_INTERVALS: i64 = 115_000;

/// The intervals a query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The start aligned down to a UTC multiple of the interval, in seconds.
    pub origin: i64,
    /// The interval's length in seconds.
    pub width: i64,
    /// How many intervals: from the origin up to and including the one holding the end.
    pub count: i64,
}

impl Plan {
    /// The last second the answer covers (the end, unadjusted).
    pub fn last(&self) -> i64 {
        self.origin + self.count * self.width - 1
    }
}

/// Plans a query of `width`-second intervals between `start` and `end` (inclusive).
pub fn plan(start: OffsetDateTime, end: OffsetDateTime, width: i64) -> Result<Plan, CoreError> {
    if start > end {
        return Err(CoreError::invalid(
            "item.start_time",
            "must not be after item.end_time",
        ));
    }
    let origin = start.unix_timestamp().div_euclid(width) * width;
    let count = (end.unix_timestamp() - origin) / width + 1;
    if count > MAX_INTERVALS {
        return Err(CoreError::invalid(
            "item.end_time",
            format!(
                "the query spans {count} intervals of {width} s; at most {MAX_INTERVALS} are \
                 answered: narrow the time range or choose a longer interval"
            ),
        ));
    }
    Ok(Plan {
        origin,
        width,
        count,
    })
}

/// One value per planned interval: the function over the interval's samples, or `''`.
pub fn values(
    plan: &Plan,
    buckets: &[StatBucket],
    function: Function,
    integral: bool,
) -> Vec<String> {
    let len = usize::try_from(plan.count).unwrap_or(0);
    let mut out = vec![String::new(); len];
    for b in buckets {
        let Some(slot) = usize::try_from(b.index).ok().and_then(|i| out.get_mut(i)) else {
            continue;
        };
        if b.count == 0 {
            continue;
        }
        *slot = match function {
            Function::Count => b.count.to_string(),
            Function::Max => number(b.max, integral),
            Function::Min => number(b.min, integral),
            // The count is at most a few hundred thousand: exact in an f64.
            #[allow(clippy::cast_precision_loss)]
            Function::Avg => number(b.sum / b.count as f64, integral),
        };
    }
    out
}

/// A value as the API's strings carry it: sizes as whole numbers, the rest with at most two
/// decimals and no trailing zeros.
fn number(v: f64, integral: bool) -> String {
    if integral {
        return format!("{:.0}", v.round());
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn bucket(index: i64, values: &[f64]) -> StatBucket {
        StatBucket {
            index,
            count: values.len() as u64,
            sum: values.iter().sum(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// The guide's example: a start at 10:31 with one-hour intervals is moved to 10:00, and the
    /// intervals run 10:00–10:59:59.999, 11:00–11:59:59.999, 12:00–12:59:59.999.
    #[test]
    fn the_start_is_aligned_down_to_a_utc_multiple_of_the_interval() {
        let p = plan(
            datetime!(2025-03-04 10:31 UTC),
            datetime!(2025-03-04 12:45 UTC),
            3600,
        )
        .unwrap();
        assert_eq!(p.origin, datetime!(2025-03-04 10:00 UTC).unix_timestamp());
        assert_eq!(p.count, 3);
        assert_eq!(
            p.last(),
            datetime!(2025-03-04 12:59:59 UTC).unix_timestamp()
        );
        // Already aligned: unchanged.
        let p = plan(
            datetime!(2025-03-04 10:00 UTC),
            datetime!(2025-03-04 10:59 UTC),
            3600,
        )
        .unwrap();
        assert_eq!(
            (p.origin, p.count),
            (datetime!(2025-03-04 10:00 UTC).unix_timestamp(), 1)
        );
        // DAY1 aligns to UTC midnight, HOURS6 to 00, 06, 12, 18 UTC.
        let p = plan(
            datetime!(2025-03-04 10:31 +02:00),
            datetime!(2025-03-06 00:00 UTC),
            86_400,
        )
        .unwrap();
        assert_eq!(
            (p.origin, p.count),
            (datetime!(2025-03-04 00:00 UTC).unix_timestamp(), 3)
        );
        let p = plan(
            datetime!(2025-03-04 17:59:59.9 UTC),
            datetime!(2025-03-04 18:00 UTC),
            21_600,
        )
        .unwrap();
        assert_eq!(
            (p.origin, p.count),
            (datetime!(2025-03-04 12:00 UTC).unix_timestamp(), 2)
        );
    }

    /// The end is not adjusted: an end on an interval's first second adds one more value than
    /// the period divided by the interval (the reference's request, 00:00 to 01:02:03.456 at
    /// MINUTES5, has 13).
    #[test]
    fn the_end_is_not_adjusted_and_may_add_one_more_value() {
        let p = plan(
            datetime!(2025-01-01 00:00 UTC),
            datetime!(2025-01-01 01:02:03.456 UTC),
            300,
        )
        .unwrap();
        assert_eq!(p.count, 13);
        let p = plan(
            datetime!(2025-01-01 10:00 UTC),
            datetime!(2025-01-01 12:00 UTC),
            3600,
        )
        .unwrap();
        assert_eq!(
            p.count, 3,
            "10:00, 11:00 and the 12:00 interval holding the end"
        );
        let p = plan(
            datetime!(2025-01-01 10:00 UTC),
            datetime!(2025-01-01 10:00 UTC),
            300,
        )
        .unwrap();
        assert_eq!(p.count, 1);
    }

    #[test]
    fn a_start_after_the_end_is_refused_naming_the_start() {
        let e = plan(
            datetime!(2025-01-01 10:00:01 UTC),
            datetime!(2025-01-01 10:00 UTC),
            300,
        )
        .unwrap_err();
        assert!(e.to_string().contains("item.start_time"), "{e}");
        let e = plan(
            datetime!(1990-01-01 0:00 UTC),
            datetime!(2025-01-01 10:00 UTC),
            300,
        )
        .unwrap_err();
        assert!(e.to_string().contains("item.end_time"), "{e}");
    }

    /// "Empty data values": an interval without a sample is `''` — every second one when the
    /// interval (5 minutes) is half the sample period (storage, 10 minutes).
    #[test]
    fn intervals_without_samples_are_empty_strings() {
        let p = Plan {
            origin: 0,
            width: 300,
            count: 5,
        };
        let b = [bucket(0, &[10.0]), bucket(2, &[20.0]), bucket(4, &[30.5])];
        assert_eq!(
            values(&p, &b, Function::Max, false),
            ["10", "", "20", "", "30.5"]
        );
        assert_eq!(
            values(&p, &b, Function::Count, false),
            ["1", "", "1", "", "1"]
        );
    }

    #[test]
    fn functions_roll_up_each_interval() {
        let p = Plan {
            origin: 0,
            width: 300,
            count: 2,
        };
        let b = [bucket(0, &[1.0, 2.0, 4.5]), bucket(1, &[1024.4, 1024.6])];
        assert_eq!(values(&p, &b, Function::Count, false), ["3", "2"]);
        assert_eq!(values(&p, &b, Function::Max, false), ["4.5", "1024.6"]);
        assert_eq!(values(&p, &b, Function::Min, false), ["1", "1024.4"]);
        assert_eq!(values(&p, &b, Function::Avg, false), ["2.5", "1024.5"]);
        assert_eq!(values(&p, &b, Function::Avg, true), ["3", "1025"]);
    }

    #[test]
    fn intervals_read_the_aggregate_that_divides_them() {
        for i in Interval::ALL {
            assert_eq!(Interval::parse(i.as_str()), Some(i));
            let span = i.span().seconds();
            assert!(span == 0 || i.seconds() % span == 0, "{i:?}");
        }
        assert_eq!(Function::parse("AVG"), Some(Function::Avg));
        assert_eq!(Function::parse("avg"), None);
    }
}
