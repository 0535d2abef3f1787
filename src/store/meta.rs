//! Call metadata the store files calls under: who took the call, in which queue, and when.
//!
//! **In:** the extra top-level fields of the `<name>.events.json` sidecar (CONTRACT §1 allows
//! them): `"agent_id"`, `"queue"` and `"started_at"` (RFC 3339 / ISO 8601 with an offset, e.g.
//! `"2024-05-01T09:30:00+08:00"`). **Out:** a [`CallMeta`], and calendar helpers ([`Date`], ISO
//! weeks) for the report's date filters and weekly trends. Runs on the calling thread.
//!
//! A call's day and week are those of its own clock (the offset it was recorded with), so a call
//! at 07:00 Beijing time on 1 May counts for 1 May whatever the machine's time zone.
//!
//! Telephony records (FreeSWITCH CDRs, Asterisk queue_logs) also know the agent, the queue and
//! the start; when `crate::call` gives one for a call, its values fill the fields the sidecar
//! leaves empty through [`CallMeta::or`] — that is the seam where they plug in.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::call::sidecar_path;

/// Who took a call, in which queue, and when it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallMeta {
    pub agent_id: Option<String>,
    pub queue: Option<String>,
    pub started_at: Option<Timestamp>,
}

/// The metadata fields of a sidecar; everything else in it is the call module's.
#[derive(Deserialize, Default)]
struct SidecarMeta {
    #[serde(default)]
    agent_id: Option<serde_json::Value>,
    #[serde(default)]
    queue: Option<serde_json::Value>,
    #[serde(default)]
    started_at: Option<serde_json::Value>,
}

impl CallMeta {
    /// The metadata in `wav`'s sidecar, if it has one, and a warning per field that is there but
    /// unusable (the call is still scored and stored, without that field). A sidecar that is not
    /// JSON at all is the call module's error to report, so here it is just no metadata.
    pub fn from_sidecar(wav: &Path) -> (CallMeta, Vec<String>) {
        let path = sidecar_path(wav);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return (CallMeta::default(), Vec::new());
        };
        let Ok(fields) = serde_json::from_str::<SidecarMeta>(&text) else {
            return (CallMeta::default(), Vec::new());
        };
        let mut warnings = Vec::new();
        let mut name = |field: &str, value: Option<serde_json::Value>| match value {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => {
                Some(s.trim().to_string())
            }
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                warnings.push(format!(
                    "{}: {field} {other} is not a name or number; stored without it",
                    path.display()
                ));
                None
            }
        };
        let agent_id = name("agent_id", fields.agent_id);
        let queue = name("queue", fields.queue);
        let started_at = match fields.started_at {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => match Timestamp::parse(&s) {
                Ok(t) => Some(t),
                Err(e) => {
                    warnings.push(format!(
                        "{}: started_at {s:?}: {e}; stored without a time",
                        path.display()
                    ));
                    None
                }
            },
            Some(other) => {
                warnings.push(format!(
                    "{}: started_at {other} is not a time like \"2024-05-01T09:30:00+08:00\"; stored without a time",
                    path.display()
                ));
                None
            }
        };
        (
            CallMeta {
                agent_id,
                queue,
                started_at,
            },
            warnings,
        )
    }

    /// These fields, with the ones missing here taken from `other` (a telephony record).
    pub fn or(self, other: CallMeta) -> CallMeta {
        CallMeta {
            agent_id: self.agent_id.or(other.agent_id),
            queue: self.queue.or(other.queue),
            started_at: self.started_at.or(other.started_at),
        }
    }
}

/// An instant as a call's clock showed it: seconds since the Unix epoch, and the offset from UTC
/// the clock was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub unix: i64,
    pub offset_minutes: i32,
}

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a time like 2024-05-01T09:30:00+08:00 (RFC 3339, with Z or an offset): {0}")]
pub struct TimeError(&'static str);

impl Timestamp {
    /// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; a space may stand for the `T`.
    /// Fractions of a second are dropped. A time without an offset is refused: it could be any
    /// of 24 instants.
    pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
        let s = text.trim();
        if s.len() < 19 || !s.is_char_boundary(10) || !s.is_char_boundary(19) {
            return Err(TimeError("too short"));
        }
        let date = Date::parse(&s[..10]).map_err(|_| TimeError("bad date"))?;
        if !matches!(s.as_bytes()[10], b'T' | b't' | b' ') {
            return Err(TimeError("no time of day"));
        }
        let time = &s[11..19];
        let field = |r: std::ops::Range<usize>, max: i64| {
            time.get(r)
                .filter(|f| f.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|f| f.parse::<i64>().ok())
                .filter(|v| *v <= max)
                .ok_or(TimeError("bad time of day"))
        };
        if time.as_bytes()[2] != b':' || time.as_bytes()[5] != b':' {
            return Err(TimeError("bad time of day"));
        }
        let (hour, minute, second) = (field(0..2, 23)?, field(3..5, 59)?, field(6..8, 60)?);
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(TimeError("bad fraction of a second"));
            }
            rest = &frac[digits..];
        }
        let offset_minutes = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6
                && rest.is_ascii()
                && matches!(&rest[..1], "+" | "-")
                && &rest[3..4] == ":" =>
            {
                let hours: i32 = rest[1..3].parse().map_err(|_| TimeError("bad offset"))?;
                let minutes: i32 = rest[4..6].parse().map_err(|_| TimeError("bad offset"))?;
                if hours > 23 || minutes > 59 {
                    return Err(TimeError("bad offset"));
                }
                let sign = if rest.starts_with('-') { -1 } else { 1 };
                sign * (hours * 60 + minutes)
            }
            "" => return Err(TimeError("no offset (add Z for UTC, or e.g. +08:00)")),
            _ => return Err(TimeError("bad offset")),
        };
        let local = date.days_since_epoch() * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(Timestamp {
            unix: local - i64::from(offset_minutes) * 60,
            offset_minutes,
        })
    }

    fn local_seconds(self) -> i64 {
        self.unix + i64::from(self.offset_minutes) * 60
    }

    /// The day on the call's own clock.
    pub fn local_date(self) -> Date {
        Date::from_days_since_epoch(self.local_seconds().div_euclid(86_400))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 on the call's own clock, e.g. `2024-05-01T09:30:00+08:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.local_seconds().rem_euclid(86_400);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.local_date(),
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        match self.offset_minutes {
            0 => f.write_str("Z"),
            m => write!(
                f,
                "{}{:02}:{:02}",
                if m < 0 { '-' } else { '+' },
                m.abs() / 60,
                m.abs() % 60
            ),
        }
    }
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, String> {
        let bad = || format!("{text:?} is not a date like 2024-05-01");
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| {
            let digits = &text[r];
            match digits.bytes().all(|c| c.is_ascii_digit()) {
                true => digits.parse::<u32>().map_err(|_| bad()),
                false => Err(bad()),
            }
        };
        let (year, month, day) = (num(0..4)? as i32, num(5..7)?, num(8..10)?);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(bad());
        }
        Ok(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before), proleptic Gregorian (H. Hinnant's algorithm).
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Monday = 0 … Sunday = 6.
    fn weekday(self) -> i64 {
        // 1970-01-01 was a Thursday.
        (self.days_since_epoch() + 3).rem_euclid(7)
    }

    /// The ISO 8601 week, as `2024-W18`: weeks start on Monday, and week 1 holds the year's
    /// first Thursday.
    pub fn iso_week(self) -> String {
        let thursday = Date::from_days_since_epoch(self.days_since_epoch() - self.weekday() + 3);
        let jan1 = Date {
            year: thursday.year,
            month: 1,
            day: 1,
        };
        let week = (thursday.days_since_epoch() - jan1.days_since_epoch()) / 7 + 1;
        format!("{}-W{week:02}", thursday.year)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_parse_to_the_right_instant_and_local_day() {
        let t = Timestamp::parse("2024-05-01T07:30:00+08:00").unwrap();
        assert_eq!(t.unix, 1_714_519_800);
        assert_eq!(t.offset_minutes, 480);
        assert_eq!(
            t.local_date().to_string(),
            "2024-05-01",
            "the call's own day, not UTC's"
        );
        assert_eq!(t.to_string(), "2024-05-01T07:30:00+08:00");
        let z = Timestamp::parse("2024-04-30T23:30:00.250Z").unwrap();
        assert_eq!(z.unix, t.unix);
        assert_eq!(z.local_date().to_string(), "2024-04-30");
        assert_eq!(z.to_string(), "2024-04-30T23:30:00Z");
        let west = Timestamp::parse("1969-12-31 20:00:00-05:30").unwrap();
        assert_eq!(west.unix, 5_400);
        assert_eq!(west.to_string(), "1969-12-31T20:00:00-05:30");
    }

    #[test]
    fn times_that_are_not_one_instant_are_refused() {
        for bad in [
            "2024-05-01T07:30:00",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T07:30Z",
            "2024-05-01T07:30:00+8:00",
            "yesterday at nine",
            "2024-05-01T07:30:00.Z",
            "２０２４-05-01T07:30:00Z",
            "2024-05-01T0é:00:00Z",
            "2024-05-01T07:30:00+0é:0",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn days_round_trip_across_eras() {
        for days in (-800_000..800_000).step_by(997) {
            assert_eq!(Date::from_days_since_epoch(days).days_since_epoch(), days);
        }
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        assert_eq!(
            Date::parse("2000-03-01").unwrap().days_since_epoch(),
            11_017
        );
        assert!(Date::parse("2023-02-29").is_err());
        assert!(Date::parse("2024-02-29").is_ok());
    }

    #[test]
    fn iso_weeks_follow_the_first_thursday() {
        for (date, week) in [
            ("2024-05-01", "2024-W18"),
            ("2024-12-30", "2025-W01"),
            ("2021-01-03", "2020-W53"),
            ("2021-01-04", "2021-W01"),
            ("2026-01-01", "2026-W01"),
            ("2027-01-01", "2026-W53"),
        ] {
            assert_eq!(Date::parse(date).unwrap().iso_week(), week, "{date}");
        }
    }

    #[test]
    fn sidecar_metadata_is_read_and_bad_fields_are_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("c1.wav");
        std::fs::write(
            dir.path().join("c1.events.json"),
            r#"{"call_id": "c1", "events": [], "agent_id": 1086, "queue": "billing",
                "started_at": "2024-05-01T09:30:00+08:00"}"#,
        )
        .unwrap();
        let (meta, warnings) = CallMeta::from_sidecar(&wav);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(meta.agent_id.as_deref(), Some("1086"));
        assert_eq!(meta.queue.as_deref(), Some("billing"));
        assert_eq!(
            meta.started_at.unwrap().to_string(),
            "2024-05-01T09:30:00+08:00"
        );

        std::fs::write(
            dir.path().join("c1.events.json"),
            r#"{"agent_id": ["a"], "started_at": "2024-05-01 09:30"}"#,
        )
        .unwrap();
        let (meta, warnings) = CallMeta::from_sidecar(&wav);
        assert_eq!(meta, CallMeta::default());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings.iter().all(|w| w.contains("c1.events.json")),
            "{warnings:?}"
        );

        let (meta, warnings) = CallMeta::from_sidecar(&dir.path().join("no_sidecar.wav"));
        assert_eq!((meta, warnings.len()), (CallMeta::default(), 0));
    }

    #[test]
    fn a_telephony_record_fills_what_the_sidecar_leaves_out() {
        let sidecar = CallMeta {
            agent_id: Some("A1".into()),
            ..CallMeta::default()
        };
        let record = CallMeta {
            agent_id: Some("A2".into()),
            queue: Some("q".into()),
            started_at: None,
        };
        let merged = sidecar.or(record);
        assert_eq!(merged.agent_id.as_deref(), Some("A1"));
        assert_eq!(merged.queue.as_deref(), Some("q"));
    }
}
