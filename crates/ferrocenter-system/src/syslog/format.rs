//! RFC 5424 messages from the server's log records. Hand-written: the maintained crates either
//! parse only (`syslog_rfc5424`, `syslog_loose`) or own the transport as a synchronous `log`
//! backend (`syslog`), and what is needed here is a dozen lines of header and escaping.
use std::fmt::Write;

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Facility `daemon` (3): ferrocenter is a system daemon; receivers that sort by facility
/// find it with the other daemons.
pub const FACILITY: u8 = 3;

/// The SD-ID of the record's fields: a private one under the IANA enterprise number that
/// RFC 5612 reserves for documentation (ferrocenter has none of its own).
pub const SD_ID: &str = "ferrocenter@32473";

pub const APP_NAME: &str = "ferrocenter";

/// Longer messages are cut here, on a character boundary: rsyslog's default limit, and well
/// within a UDP datagram.
pub const MESSAGE_MAX_BYTES: usize = 8 * 1024;

/// RFC 5424's TIMESTAMP: RFC 3339 in UTC with microseconds (TIME-SECFRAC has at most six).
const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Severity from the tracing level (RFC 5424 table 2).
pub fn severity(level: &tracing::Level) -> u8 {
    match *level {
        tracing::Level::ERROR => 3,
        tracing::Level::WARN => 4,
        tracing::Level::INFO => 6,
        tracing::Level::DEBUG | tracing::Level::TRACE => 7,
    }
}

/// One record as it goes out.
pub struct Record<'a> {
    pub time: OffsetDateTime,
    pub severity: u8,
    /// The tracing target (the module that logged).
    pub target: &'a str,
    /// MSGID: what kind of record (`test` for a test message, else the module's last segment).
    pub msgid: &'a str,
    pub message: &'a str,
    pub fields: &'a [(String, String)],
}

/// The header fields that do not change while the process lives.
pub struct Origin {
    pub hostname: String,
    pub procid: String,
}

/// RFC 5424 names: printable US-ASCII without space, at most `max` characters; `-` when empty.
fn name(s: &str, max: usize, out: &mut String) {
    let start = out.len();
    out.extend(s.chars().filter(char::is_ascii_graphic).take(max));
    if out.len() == start {
        out.push('-');
    }
}

/// A PARAM-NAME: as [`name`], without `=`, `]` and `"`, at most 32.
fn param_name(s: &str, out: &mut String) {
    out.extend(
        s.chars()
            .filter(|c| c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"'))
            .take(32),
    );
}

/// A PARAM-VALUE: `"`, `\` and `]` escaped with a backslash.
fn param_value(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The module's last path segment, as the MSGID of an ordinary record.
pub fn msgid_of(target: &str) -> &str {
    target.rsplit("::").next().unwrap_or(target)
}

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`.
pub fn rfc5424(origin: &Origin, r: &Record<'_>) -> Vec<u8> {
    let mut out = String::with_capacity(256 + r.message.len());
    let _ = write!(out, "<{}>1 ", FACILITY * 8 + r.severity);
    out.push_str(&r.time.format(TIMESTAMP).unwrap_or_else(|_| "-".into()));
    out.push(' ');
    name(&origin.hostname, 255, &mut out);
    out.push(' ');
    name(APP_NAME, 48, &mut out);
    out.push(' ');
    name(&origin.procid, 128, &mut out);
    out.push(' ');
    name(r.msgid, 32, &mut out);
    out.push_str(" [");
    out.push_str(SD_ID);
    out.push_str(" target=\"");
    param_value(r.target, &mut out);
    out.push('"');
    for (k, v) in r.fields {
        let at = out.len();
        out.push(' ');
        param_name(k, &mut out);
        if out.len() == at + 1 {
            out.truncate(at);
            continue;
        }
        out.push_str("=\"");
        param_value(v, &mut out);
        out.push('"');
    }
    out.push(']');
    if !r.message.is_empty() {
        out.push(' ');
        out.push_str(r.message);
    }
    if out.len() > MESSAGE_MAX_BYTES {
        let mut cut = MESSAGE_MAX_BYTES;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_structured_data_and_escapes() {
        let origin = Origin {
            hostname: "vc01".into(),
            procid: "42".into(),
        };
        let fields = vec![
            ("user".to_string(), "a\"b\\c]d".to_string()),
            ("=]".to_string(), "dropped".to_string()),
        ];
        let r = Record {
            time: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap(),
            severity: severity(&tracing::Level::WARN),
            target: "ferrocenter_core::appliance::firewall",
            msgid: msgid_of("ferrocenter_core::appliance::firewall"),
            message: "rules replaced",
            fields: &fields,
        };
        let text = String::from_utf8(rfc5424(&origin, &r)).unwrap();
        assert_eq!(
            text,
            "<28>1 2023-11-14T22:13:20.123456Z vc01 ferrocenter 42 firewall \
             [ferrocenter@32473 target=\"ferrocenter_core::appliance::firewall\" \
             user=\"a\\\"b\\\\c\\]d\"] rules replaced"
        );
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let origin = Origin {
            hostname: "h".into(),
            procid: "1".into(),
        };
        let long = "é".repeat(MESSAGE_MAX_BYTES);
        let r = Record {
            time: OffsetDateTime::UNIX_EPOCH,
            severity: 6,
            target: "t",
            msgid: "",
            message: &long,
            fields: &[],
        };
        let out = rfc5424(&origin, &r);
        assert!(out.len() <= MESSAGE_MAX_BYTES);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains(" - [ferrocenter@32473"));
    }
}
