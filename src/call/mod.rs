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

use tones::ToneReport;

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

/// Where an event of [`CallEvents`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Sidecar,
    /// A FreeSWITCH CDR or an Asterisk queue_log record.
    Telephony,
    Tones,
}

/// Kinds of event that one source gives whole: a hold's start and end come from the same
/// source, as do all hang-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Ring,
    Answer,
    Hold,
    Hangup,
}

impl Family {
    fn of(kind: &EventKind) -> Option<Family> {
        match kind {
            EventKind::Ring => Some(Family::Ring),
            EventKind::Answer => Some(Family::Answer),
            EventKind::HoldStart | EventKind::HoldEnd => Some(Family::Hold),
            EventKind::Hangup { .. } => Some(Family::Hangup),
            EventKind::Other(_) => None,
        }
    }
}

/// A call's events from all its sources, in time order, each with its [`Source`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallEvents {
    events: Vec<(CallEvent, Source)>,
}

impl CallEvents {
    /// Puts together what the sidecar, a telephony record and the tones say about a call.
    ///
    /// Each family of events (ring; answer; hold start and end; hang-ups) is taken whole from
    /// the strongest source that has any of it, so one call never mixes two clocks' ideas of
    /// the same moment. Strongest first:
    /// 1. reported events of the sidecar (it is written for this recording, so it beats a
    ///    telephony record of the same call);
    /// 2. reported events of the telephony record;
    /// 3. events marked inferred, from the sidecar and then the record;
    /// 4. tone inference.
    ///
    /// Events of unknown types ([`EventKind::Other`]) are kept from every source. Ties in time
    /// keep the order above.
    pub fn assemble(
        sidecar: Option<&Sidecar>,
        record: Option<&CallRecord>,
        tones: Option<&ToneReport>,
    ) -> CallEvents {
        let tone_events = tones.map(ToneReport::events).unwrap_or_default();
        let mut candidates: Vec<(CallEvent, Source)> = Vec::new();
        let sources = [
            (sidecar.map_or(&[][..], |s| &s.events[..]), Source::Sidecar),
            (record.map_or(&[][..], |r| &r.events[..]), Source::Telephony),
            (&tone_events[..], Source::Tones),
        ];
        for (events, source) in sources {
            candidates.extend(events.iter().map(|e| (e.clone(), source)));
        }
        let rank = |(event, source): &(CallEvent, Source)| (event.inferred, *source);
        let best = |family: Family| {
            candidates
                .iter()
                .filter(|(e, _)| Family::of(&e.kind) == Some(family))
                .map(rank)
                .min()
        };
        let winners: Vec<(Family, Option<(bool, Source)>)> =
            [Family::Ring, Family::Answer, Family::Hold, Family::Hangup]
                .into_iter()
                .map(|f| (f, best(f)))
                .collect();
        let keep = |candidate: &(CallEvent, Source)| match Family::of(&candidate.0.kind) {
            None => true,
            Some(family) => winners
                .iter()
                .any(|&(f, w)| f == family && w == Some(rank(candidate))),
        };
        let mut events: Vec<(CallEvent, Source)> =
            candidates.iter().filter(|c| keep(c)).cloned().collect();
        events.sort_by(|a, b| a.0.t.0.total_cmp(&b.0.t.0));
        CallEvents { events }
    }

    /// The events in time order.
    pub fn events(&self) -> impl Iterator<Item = &CallEvent> {
        self.events.iter().map(|(e, _)| e)
    }

    /// The events in time order, each with where it came from.
    pub fn sourced(&self) -> impl Iterator<Item = (&CallEvent, Source)> {
        self.events.iter().map(|(e, s)| (e, *s))
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The first event of `kind`'s type (hang-ups match whatever their party).
    pub fn first(&self, kind: &EventKind) -> Option<&CallEvent> {
        let same = |e: &&CallEvent| std::mem::discriminant(&e.kind) == std::mem::discriminant(kind);
        self.events().find(same)
    }

    /// When the call was answered: the answer event, or the recording's start when no source
    /// gives one (CONTRACT §1).
    pub fn answer_or_start(&self) -> Seconds {
        self.first(&EventKind::Answer).map_or(Seconds(0.0), |e| e.t)
    }
}

/// A FreeSWITCH JSON CDR's path for a recording: same directory and stem, `.cdr.json`.
pub fn cdr_path(wav: &Path) -> PathBuf {
    let stem = wav
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    wav.with_file_name(format!("{stem}.cdr.json"))
}

/// Why a recording's reported events could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventSourceError {
    #[error(transparent)]
    Sidecar(#[from] SidecarError),
    #[error(transparent)]
    Cdr(#[from] freeswitch::CdrError),
}

/// Everything known about a recording's events, merged ([`CallEvents::assemble`]): its sidecar,
/// its telephony record ([`telephony_record`]) and the tones heard in it.
pub fn events_for_recording(
    wav: &Path,
    tones: &ToneReport,
    queue_log: Option<&asterisk::QueueLog>,
) -> Result<CallEvents, EventSourceError> {
    let sidecar = Sidecar::load_for(wav)?;
    let call_id = sidecar.as_ref().and_then(|s| s.call_id.as_deref());
    let record = telephony_record(wav, call_id, queue_log)?;
    Ok(CallEvents::assemble(
        sidecar.as_ref(),
        record.as_ref(),
        Some(tones),
    ))
}

/// The telephony record of a recording: its FreeSWITCH CDR (`<stem>.cdr.json`, beside it) when
/// there is one, else its call in `queue_log`, found by the call id or the file's stem.
pub fn telephony_record(
    wav: &Path,
    call_id: Option<&str>,
    queue_log: Option<&asterisk::QueueLog>,
) -> Result<Option<CallRecord>, freeswitch::CdrError> {
    let cdr = cdr_path(wav);
    if cdr.exists() {
        return Ok(Some(freeswitch::FreeswitchCdr::load(&cdr)?.record(None)));
    }
    let Some(log) = queue_log else {
        return Ok(None);
    };
    let stem = wav
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let call = call_id
        .and_then(|id| log.call(id))
        .or_else(|| log.call_for_recording(&stem));
    Ok(call.map(|c| c.record(None)))
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

    fn at(t: f64, kind: EventKind) -> CallEvent {
        CallEvent {
            t: Seconds(t),
            kind,
            inferred: false,
        }
    }

    fn hangup(party: Party) -> EventKind {
        EventKind::Hangup { party: Some(party) }
    }

    fn record(events: Vec<CallEvent>) -> CallRecord {
        CallRecord {
            call_id: "3f1c".into(),
            agent: None,
            queue: None,
            caller: None,
            started: None,
            origin: UnixMicros(0),
            time_base: TimeBase::Answer,
            events,
        }
    }

    fn summary(events: &CallEvents) -> Vec<(f64, EventKind, Source)> {
        events
            .sourced()
            .map(|(e, s)| (e.t.0, e.kind.clone(), s))
            .collect()
    }

    #[test]
    fn the_sidecar_beats_the_record_which_beats_the_tones_kind_by_kind() {
        let sidecar = Sidecar {
            events: vec![
                at(0.4, EventKind::Answer),
                at(88.0, hangup(Party::Customer)),
            ],
            ..Sidecar::default()
        };
        let record = record(vec![
            at(-9.0, EventKind::Ring),
            at(0.0, EventKind::Answer),
            at(30.0, EventKind::HoldStart),
            at(45.0, EventKind::HoldEnd),
            at(87.5, hangup(Party::Agent)),
        ]);
        let tones = ToneReport {
            ringback: Some(tones::Ringback {
                onset: Seconds(-7.0),
                answer: Some(Seconds(0.2)),
                rings: 2,
            }),
            busy: Some(tones::BusyTone {
                onset: Seconds(88.2),
                bursts: 5,
            }),
        };
        let events = CallEvents::assemble(Some(&sidecar), Some(&record), Some(&tones));
        assert_eq!(
            summary(&events),
            [
                (-9.0, EventKind::Ring, Source::Telephony),
                (0.4, EventKind::Answer, Source::Sidecar),
                (30.0, EventKind::HoldStart, Source::Telephony),
                (45.0, EventKind::HoldEnd, Source::Telephony),
                (88.0, hangup(Party::Customer), Source::Sidecar),
            ]
        );
        assert_eq!(events.answer_or_start(), Seconds(0.4));
    }

    #[test]
    fn tones_fill_in_what_no_report_gives_and_stay_marked_inferred() {
        let record = record(vec![at(0.0, EventKind::Answer)]);
        let tones = ToneReport {
            ringback: Some(tones::Ringback {
                onset: Seconds(-12.0),
                answer: Some(Seconds(0.1)),
                rings: 3,
            }),
            busy: Some(tones::BusyTone {
                onset: Seconds(61.3),
                bursts: 6,
            }),
        };
        let events = CallEvents::assemble(None, Some(&record), Some(&tones));
        assert_eq!(
            summary(&events),
            [
                (-12.0, EventKind::Ring, Source::Tones),
                (0.0, EventKind::Answer, Source::Telephony),
                (61.3, hangup(Party::Customer), Source::Tones),
            ]
        );
        let inferred: Vec<bool> = events.events().map(|e| e.inferred).collect();
        assert_eq!(inferred, [true, false, true]);
    }

    #[test]
    fn a_reported_event_beats_an_inferred_one_even_from_a_weaker_source() {
        let mut guessed_ring = at(-20.0, EventKind::Ring);
        guessed_ring.inferred = true;
        let sidecar = Sidecar {
            events: vec![guessed_ring],
            ..Sidecar::default()
        };
        let record = record(vec![at(-6.0, EventKind::Ring)]);
        let events = CallEvents::assemble(Some(&sidecar), Some(&record), None);
        assert_eq!(
            summary(&events),
            [(-6.0, EventKind::Ring, Source::Telephony)]
        );
    }

    #[test]
    fn a_hold_comes_whole_from_one_source_and_unknown_events_are_kept_from_all() {
        let transfer = EventKind::Other(serde_json::json!({"type": "transfer", "to": "8003"}));
        let sidecar = Sidecar {
            events: vec![at(50.0, EventKind::HoldStart), at(20.0, transfer.clone())],
            ..Sidecar::default()
        };
        let record = record(vec![
            at(30.0, EventKind::HoldStart),
            at(45.0, EventKind::HoldEnd),
            at(70.0, transfer.clone()),
        ]);
        let events = CallEvents::assemble(Some(&sidecar), Some(&record), None);
        assert_eq!(
            summary(&events),
            [
                (20.0, transfer.clone(), Source::Sidecar),
                (50.0, EventKind::HoldStart, Source::Sidecar),
                (70.0, transfer, Source::Telephony),
            ]
        );
    }

    #[test]
    fn with_no_source_there_are_no_events_and_the_answer_is_the_recording_start() {
        let events = CallEvents::assemble(None, None, Some(&ToneReport::default()));
        assert!(events.is_empty());
        assert_eq!(events.answer_or_start(), Seconds(0.0));
        assert_eq!(events.first(&EventKind::Hangup { party: None }), None);
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
