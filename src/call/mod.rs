//! The call around the audio: its id, which channel is which party, and its events.
//!
//! In: the `<name>.events.json` sidecar of CONTRACT §1, a telephony record of the call (a
//! FreeSWITCH JSON CDR, [`freeswitch`], or an Asterisk `queue_log`, [`asterisk`]), and the tones
//! heard in the customer channel ([`tones`]). Out: [`CallEvents`], the call's ring / answer /
//! hold / hang-up events on the recording's media time line, one source per kind of event
//! (see [`CallEvents::assemble`] for the precedence), each marked with where it came from.
//!
//! Every field of the sidecar is optional; unknown event types are kept (as
//! [`EventKind::Other`]) and ignored by the rules; unknown top-level fields are allowed, since
//! telephony systems add their own metadata. A sidecar that is not valid JSON, or whose known
//! fields have the wrong type, is an error that names the file, line and column.
//!
//! Telephony systems log wall-clock instants ([`UnixMicros`]); a [`CallRecord`] places them on
//! the media time line given where the recording started ([`TimeBase`]), so no rule ever sees
//! the wall clock. Everything here runs on the calling thread.

pub mod asterisk;
pub mod freeswitch;
pub mod tones;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audio::ChannelMap;
use crate::party::{Party, Seconds};

/// What happened on the line, and when (media time; negative = before the recording began).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEvent {
    pub t: Seconds,
    #[serde(flatten)]
    pub kind: EventKind,
    /// True when the event was inferred from the audio (tones) rather than reported.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Ring,
    Answer,
    HoldStart,
    HoldEnd,
    Hangup {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        party: Option<Party>,
    },
    #[serde(untagged)]
    Other(serde_json::Value),
}

/// The sidecar file, as read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    #[serde(default)]
    pub call_id: Option<String>,
    #[serde(default)]
    pub channels: Option<ChannelMap>,
    #[serde(default)]
    pub events: Vec<CallEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error("{path}: cannot read the events sidecar: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: bad events sidecar: {message} (see CONTRACT §1 for the format)"
    )]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The sidecar's path for a recording: same directory and stem, `.events.json`.
pub fn sidecar_path(wav: &Path) -> PathBuf {
    let stem = wav
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    wav.with_file_name(format!("{stem}.events.json"))
}

impl Sidecar {
    /// Reads the sidecar next to `wav`; `None` if there is none.
    pub fn load_for(wav: &Path) -> Result<Option<Sidecar>, SidecarError> {
        let path = sidecar_path(wav);
        match std::fs::read_to_string(&path) {
            Ok(text) => Sidecar::parse(&text, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SidecarError::Read { path, source }),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Sidecar, SidecarError> {
        serde_json::from_str(text).map_err(|e| SidecarError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_string(),
        })
    }
}

/// A wall-clock instant as telephony systems log it: microseconds since the Unix epoch (UTC).
/// Only used to place reported events on a recording's media time line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMicros(pub i64);

impl UnixMicros {
    pub fn from_seconds(seconds: i64) -> Self {
        UnixMicros(seconds.saturating_mul(1_000_000))
    }

    /// Media time of this instant on a recording whose first sample was at `origin`.
    pub fn since(self, origin: UnixMicros) -> Seconds {
        Seconds((self.0 - origin.0) as f64 / 1e6)
    }
}

/// What a [`CallRecord`] took as the recording's first sample (media t = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBase {
    /// The caller said when the recording started.
    Given,
    /// The record itself said (a variable the recording dialplan set).
    Recorded,
    /// The default: the recording starts when the agent answered.
    Answer,
    /// A call that no agent answered: its start (offered to the switch, or entered the queue).
    CallStart,
}

/// One call as a telephony system reports it, on the recording's media time line.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// The system's id of the call (FreeSWITCH uuid, Asterisk uniqueid).
    pub call_id: String,
    /// The agent who took the call, as the system names them.
    pub agent: Option<String>,
    pub queue: Option<String>,
    /// The customer's number.
    pub caller: Option<String>,
    /// When the call began (offered to the switch, or entered the queue).
    pub started: Option<UnixMicros>,
    /// The wall-clock instant of media t = 0, and what it was taken from.
    pub origin: UnixMicros,
    pub time_base: TimeBase,
    /// Reported events (never inferred), in time order.
    pub events: Vec<CallEvent>,
}

impl CallRecord {
    /// A reported event at wall-clock `at`.
    fn event(&self, at: UnixMicros, kind: EventKind) -> CallEvent {
        CallEvent {
            t: at.since(self.origin).rounded(),
            kind,
            inferred: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT_EXAMPLE: &str = r#"{
  "call_id": "c0001",
  "channels": {"agent": 0, "customer": 1},
  "events": [
    {"t": -8.0,  "type": "ring"},
    {"t": 0.0,   "type": "answer"},
    {"t": 41.5,  "type": "hold_start"},
    {"t": 56.0,  "type": "hold_end"},
    {"t": 92.3,  "type": "hangup", "party": "customer"},
    {"t": 92.9,  "type": "hangup", "party": "agent"},
    {"t": 93.0,  "type": "transfer", "to": "queue 7"}
  ],
  "agent_id": "A1086"
}"#;

    #[test]
    fn the_contract_example_parses_and_unknown_events_are_kept() {
        let s = Sidecar::parse(CONTRACT_EXAMPLE, Path::new("c.events.json")).unwrap();
        assert_eq!(s.call_id.as_deref(), Some("c0001"));
        assert_eq!(
            s.channels,
            Some(ChannelMap {
                agent: 0,
                customer: 1
            })
        );
        assert_eq!(
            s.events[0],
            CallEvent {
                t: Seconds(-8.0),
                kind: EventKind::Ring,
                inferred: false
            }
        );
        assert_eq!(
            s.events[4].kind,
            EventKind::Hangup {
                party: Some(Party::Customer)
            }
        );
        assert!(matches!(s.events[6].kind, EventKind::Other(_)));
    }

    #[test]
    fn every_field_is_optional() {
        assert_eq!(
            Sidecar::parse("{}", Path::new("x")).unwrap(),
            Sidecar::default()
        );
    }

    #[test]
    fn a_malformed_sidecar_names_file_line_and_column() {
        let text = "{\n  \"events\": [\n    {\"t\": \"soon\", \"type\": \"ring\"}\n  ]\n}";
        let err = Sidecar::parse(text, Path::new("calls/c1.events.json"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("calls/c1.events.json:3:"), "{err}");
    }

    #[test]
    fn the_sidecar_sits_next_to_the_wav() {
        assert_eq!(
            sidecar_path(Path::new("/a/b/call7.wav")),
            PathBuf::from("/a/b/call7.events.json")
        );
    }

    #[test]
    fn wall_clock_instants_become_media_time_from_the_origin() {
        let origin = UnixMicros(1_704_095_419_654_321);
        assert_eq!(
            UnixMicros(1_704_095_413_203_456).since(origin),
            Seconds(-6.450865)
        );
        assert_eq!(
            UnixMicros::from_seconds(1_704_095_511).since(UnixMicros::from_seconds(1_704_095_419)),
            Seconds(92.0)
        );
    }
}
