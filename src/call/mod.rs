//! The call around the audio: its id, which channel is which party, and its events, as the
//! `<name>.events.json` sidecar of CONTRACT §1 gives them.
//!
//! Every field of the sidecar is optional; unknown event types are kept (as
//! [`EventKind::Other`]) and ignored by the rules; unknown top-level fields are allowed, since
//! telephony systems add their own metadata. A sidecar that is not valid JSON, or whose known
//! fields have the wrong type, is an error that names the file, line and column.

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
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: bad events sidecar: {message} (see CONTRACT §1 for the format)")]
    Parse { path: PathBuf, line: usize, column: usize, message: String },
}

/// The sidecar's path for a recording: same directory and stem, `.events.json`.
pub fn sidecar_path(wav: &Path) -> PathBuf {
    let stem = wav.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
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
            message: e.to_string().split(" at line").next().unwrap_or_default().to_string(),
        })
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
        assert_eq!(s.channels, Some(ChannelMap { agent: 0, customer: 1 }));
        assert_eq!(s.events[0], CallEvent { t: Seconds(-8.0), kind: EventKind::Ring, inferred: false });
        assert_eq!(s.events[4].kind, EventKind::Hangup { party: Some(Party::Customer) });
        assert!(matches!(s.events[6].kind, EventKind::Other(_)));
    }

    #[test]
    fn every_field_is_optional() {
        assert_eq!(Sidecar::parse("{}", Path::new("x")).unwrap(), Sidecar::default());
    }

    #[test]
    fn a_malformed_sidecar_names_file_line_and_column() {
        let text = "{\n  \"events\": [\n    {\"t\": \"soon\", \"type\": \"ring\"}\n  ]\n}";
        let err = Sidecar::parse(text, Path::new("calls/c1.events.json")).unwrap_err().to_string();
        assert!(err.starts_with("calls/c1.events.json:3:"), "{err}");
    }

    #[test]
    fn the_sidecar_sits_next_to_the_wav() {
        assert_eq!(sidecar_path(Path::new("/a/b/call7.wav")), PathBuf::from("/a/b/call7.events.json"));
    }
}
