//! vAPI value forms shared by the REST flavours.
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 in UTC with milliseconds, as the vAPI runtime writes datetimes.
pub fn datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t
        .replace_nanosecond((t.nanosecond() / 1_000_000) * 1_000_000)
        .unwrap_or(t);
    let s = t.format(&Rfc3339).unwrap_or_default();
    // Rfc3339 drops a zero fraction; vAPI clients expect exactly three digits.
    match s.find('.') {
        Some(_) => s,
        None => s.replacen('Z', ".000Z", 1),
    }
}

/// `com.vmware.vapi.std.localizable_message`.
pub fn loc_msg(id: &str, default_message: &str, args: &[&str]) -> Value {
    json!({ "id": id, "default_message": default_message, "args": args })
}

/// Which REST flavour a request came through: `/api` answers bare values, `/rest` wraps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Api,
    Rest,
}

impl Flavor {
    pub fn wrap(self, v: Value) -> Value {
        match self {
            Flavor::Api => v,
            Flavor::Rest => json!({ "value": v }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_have_three_fraction_digits() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(datetime(t), "2023-11-14T22:13:20.000Z");
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(datetime(t), "2023-11-14T22:13:20.123Z");
    }
}
