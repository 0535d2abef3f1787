//! FreeSWITCH JSON CDRs: one call leg's record in, its ring / answer / hang-up (and who hung up)
//! on the recording's media time line out, with the call's id, agent, queue and caller.
//!
//! In: one file as `mod_json_cdr` writes it: a JSON object with `core-uuid`, `switchname`,
//! `channel_data`, `variables` (every value a string), `app_log` and `callflow` (an array of
//! caller profiles with `times` in microseconds; a single object in older releases). Values are
//! URL-encoded unless `encode-values` is set false in `json_cdr.conf.xml`, so text values are
//! decoded here. Out: [`FreeswitchCdr`] (wall-clock instants) and, given where the recording
//! started, a [`CallRecord`] ([`FreeswitchCdr::record`]).
//!
//! **Which leg.** A call center's recording belongs to the customer's leg: the inbound A-leg
//! (`direction` = `inbound`), or the member leg of `mod_callcenter` (`cc_side` = `member`). A CDR
//! of the agent's leg (`cc_side` = `agent`) is read too; an outbound leg that says neither is
//! [`Leg::Unknown`], since it may go to the customer or to the agent.
//!
//! **Times.** Each instant is read from `<name>_uepoch` (µs), else `<name>_epoch` (s), else the
//! first caller profile's `callflow[].times` (µs); `"0"` means "never happened".
//! - *Answer* is when the agent picked up: when `mod_callcenter` bridged the caller to an agent
//!   (`cc_queue_answered_epoch`, refined by `bridge_uepoch` when that lies within the same
//!   second), else when the leg was bridged (`bridge_*`), else when the switch answered
//!   (`answer_*`). A caller who waited in a queue (`cc_queue_joined_epoch`) and was never
//!   bridged was not answered, although the switch answered the leg to play hold music.
//! - *Ring* is when the caller started hearing ringback: the first of `progress_*` (180
//!   Ringing sent) and `progress_media_*` (183 with early media), else the call's start
//!   (`start_*`, the INVITE) when the leg never signalled progress. FreeSWITCH sends these when
//!   the bridged phone (the agent's) rings, so answer − ring is how long the agent let it ring;
//!   `start` alone would add the routing and post-dial delay. When the switch answered the leg
//!   itself first (an IVR, a queue's hold music), the agent's phone rang later, on another leg,
//!   and this record does not say when: there is then no ring event, rather than a guess.
//! - *Hang-up* is `end_*`.
//!
//! **Who hung up first** comes from `sip_hangup_disposition`, read for the customer's leg:
//! `recv_bye` / `recv_cancel` (the switch received BYE or CANCEL from the caller) → the
//! customer; `send_bye` (the switch hung up the caller because our side, the agent, did) → the
//! agent. On the agent's leg only `recv_bye` (→ the agent) is certain. Anything else
//! (`send_refuse`, `send_cancel`, `recv_refuse`, a missing value, an unknown leg) gives a hang-up
//! without a party, never a guess.
//!
//! **Media time.** t = 0 is the recording's first sample: the caller's epoch when given, else a
//! `zhijian_record_start` or `record_start_epoch` variable set by the recording dialplan (Unix
//! seconds; milliseconds or microseconds are recognised by their size), else the answer (the
//! usual recording start), else, for a call nobody answered, the call's start.
//!
//! Parsing is plain `serde_json` on the calling thread. Errors name the file, line and column.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::call::{CallRecord, EventKind, TimeBase, UnixMicros};
use crate::party::Party;

/// Whose leg a CDR describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The customer's: the inbound A-leg, or a `mod_callcenter` member leg.
    Customer,
    /// The agent's: a `mod_callcenter` agent leg.
    Agent,
    /// An outbound leg that does not say whose it is.
    Unknown,
}

/// One FreeSWITCH CDR as read: who and when, in wall-clock time.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeswitchCdr {
    /// The leg's `uuid` (else `call_uuid`).
    pub uuid: String,
    pub leg: Leg,
    /// `cc_agent`: the `mod_callcenter` agent who took the call.
    pub agent: Option<String>,
    /// `cc_queue`.
    pub queue: Option<String>,
    /// `caller_id_number`: on the customer's leg, the customer's number.
    pub caller: Option<String>,
    pub destination: Option<String>,
    /// The call reached the switch (`start_*`).
    pub started: UnixMicros,
    /// The caller started hearing ringback (see the module doc); `None` when unknown.
    pub ringing: Option<UnixMicros>,
    /// The switch answered the leg (`answer_*`), perhaps before any agent did.
    pub switch_answered: Option<UnixMicros>,
    /// The agent picked up.
    pub answered: Option<UnixMicros>,
    /// The caller joined a `mod_callcenter` queue.
    pub queue_joined: Option<UnixMicros>,
    pub ended: UnixMicros,
    /// A recording start the dialplan wrote into the CDR.
    pub record_start: Option<UnixMicros>,
    pub disposition: Option<String>,
    pub hangup_cause: Option<String>,
    /// Who hung up first, when the disposition says so for this leg.
    pub hung_up_first: Option<Party>,
}

#[derive(Debug, thiserror::Error)]
pub enum CdrError {
    /// The file could not be read (a retry may help if the disk or share was busy).
    #[error("{path}: cannot read the FreeSWITCH CDR: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// Not JSON, or not shaped like `mod_json_cdr` output.
    #[error("{path}:{line}:{column}: not a FreeSWITCH JSON CDR: {message}")]
    Format {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A time variable holds something that is not a Unix time.
    #[error(
        "{path}:{line}:{column}: {field} is {value:?}; expected a Unix time in seconds \
         (*_epoch) or microseconds (*_uepoch)"
    )]
    BadTime {
        path: PathBuf,
        line: usize,
        column: usize,
        field: String,
        value: String,
    },
    /// An instant every CDR has (the call's start, its end) is missing.
    #[error(
        "{path}:{line}:{column}: the CDR has no {what} time; expected variables.{name}_uepoch or \
         {name}_epoch (or callflow times.{times_key})"
    )]
    MissingTime {
        path: PathBuf,
        line: usize,
        column: usize,
        what: &'static str,
        name: &'static str,
        times_key: &'static str,
    },
}

impl FreeswitchCdr {
    pub fn load(path: &Path) -> Result<FreeswitchCdr, CdrError> {
        let text = std::fs::read_to_string(path).map_err(|source| CdrError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        FreeswitchCdr::parse(&text, path)
    }

    /// Reads one CDR; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<FreeswitchCdr, CdrError> {
        let reader = Reader::new(text, path)?;
        let instant = |name, times_key| reader.instant(name, times_key);
        let started = instant("start", "created_time")?
            .ok_or_else(|| reader.missing("start", "start", "created_time"))?;
        let ended = instant("end", "hangup_time")?
            .ok_or_else(|| reader.missing("end", "end", "hangup_time"))?;
        let switch_answered = instant("answer", "answered_time")?;
        let bridged = instant("bridge", "bridged_time")?;
        let progress = instant("progress", "progress_time")?;
        let progress_media = instant("progress_media", "progress_media_time")?;
        let queue_joined = reader.seconds("cc_queue_joined_epoch")?;
        let queue_answered = reader.seconds("cc_queue_answered_epoch")?;

        let answered = match (queue_answered, bridged) {
            (Some(queue), Some(bridge)) if (bridge.0 - queue.0).abs() < 1_000_000 => Some(bridge),
            (Some(queue), _) => Some(queue),
            (None, Some(bridge)) => Some(bridge),
            (None, None) if queue_joined.is_some() => None,
            (None, None) => switch_answered,
        };
        // The caller heard ringback until the agent answered only if the switch did not answer
        // the leg first (within a second: the switch answers the A-leg as the B-leg answers).
        let rang_until_answer = match (switch_answered, answered) {
            (None, _) => true,
            (Some(switch), Some(agent)) => (agent.0 - switch.0).abs() < 1_000_000,
            (Some(_), None) => false,
        };
        let ringing = rang_until_answer
            .then(|| {
                [progress, progress_media]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(started)
            })
            .map(|ring| answered.map_or(ring, |a| ring.min(a)));

        let direction = reader
            .text("direction")
            .or_else(|| reader.channel_data("direction"));
        let leg = match (reader.text("cc_side").as_deref(), direction.as_deref()) {
            (Some("member"), _) => Leg::Customer,
            (Some("agent"), _) => Leg::Agent,
            (_, Some("inbound")) => Leg::Customer,
            _ => Leg::Unknown,
        };
        let disposition = reader.text("sip_hangup_disposition");
        let hung_up_first = match (leg, disposition.as_deref()) {
            (Leg::Customer, Some("recv_bye" | "recv_cancel")) => Some(Party::Customer),
            (Leg::Customer, Some("send_bye")) => Some(Party::Agent),
            (Leg::Agent, Some("recv_bye")) => Some(Party::Agent),
            _ => None,
        };
        let record_start = match reader.text("zhijian_record_start") {
            Some(_) => reader.any_epoch("zhijian_record_start")?,
            None => reader.any_epoch("record_start_epoch")?,
        };
        let uuid = reader.text("uuid").or_else(|| reader.text("call_uuid"));
        Ok(FreeswitchCdr {
            uuid: uuid.ok_or_else(|| reader.format("no uuid; expected variables.uuid"))?,
            leg,
            agent: reader.text("cc_agent"),
            queue: reader.text("cc_queue"),
            caller: reader
                .text("caller_id_number")
                .or_else(|| reader.profile("caller_id_number")),
            destination: reader
                .text("destination_number")
                .or_else(|| reader.profile("destination_number")),
            started,
            ringing,
            switch_answered,
            answered,
            queue_joined,
            ended,
            record_start,
            disposition,
            hangup_cause: reader.text("hangup_cause"),
            hung_up_first,
        })
    }

    /// The call on the media time line of a recording that started at `recording_start` (when
    /// the caller knows it; see the module doc for the default).
    pub fn record(&self, recording_start: Option<UnixMicros>) -> CallRecord {
        let (origin, time_base) = match (recording_start, self.record_start, self.answered) {
            (Some(given), _, _) => (given, TimeBase::Given),
            (None, Some(recorded), _) => (recorded, TimeBase::Recorded),
            (None, None, Some(answer)) => (answer, TimeBase::Answer),
            (None, None, None) => (self.started, TimeBase::CallStart),
        };
        let mut record = CallRecord {
            call_id: self.uuid.clone(),
            agent: self.agent.clone(),
            queue: self.queue.clone(),
            caller: self.caller.clone(),
            started: Some(self.started),
            origin,
            time_base,
            events: Vec::new(),
        };
        let mut events = Vec::new();
        if let Some(ring) = self.ringing {
            events.push(record.event(ring, EventKind::Ring));
        }
        if let Some(answer) = self.answered {
            events.push(record.event(answer, EventKind::Answer));
        }
        events.push(record.event(
            self.ended,
            EventKind::Hangup {
                party: self.hung_up_first,
            },
        ));
        record.events = events;
        record
    }
}

/// The parsed JSON with the text it came from, for errors that point into the file.
struct Reader<'a> {
    text: &'a str,
    path: &'a Path,
    root: Map<String, Value>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, path: &'a Path) -> Result<Reader<'a>, CdrError> {
        let root: Value = serde_json::from_str(text).map_err(|e| CdrError::Format {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_string(),
        })?;
        let reader = |root| Reader { text, path, root };
        match root {
            Value::Object(root) if root.get("variables").is_some_and(Value::is_object) => {
                Ok(reader(root))
            }
            _ => Err(reader(Map::new())
                .format("expected an object with a \"variables\" object (mod_json_cdr output)")),
        }
    }

    fn variables(&self) -> &Map<String, Value> {
        self.root["variables"]
            .as_object()
            .expect("checked in Reader::new")
    }

    /// A text variable, URL-decoded; `None` when absent or empty.
    fn text(&self, name: &str) -> Option<String> {
        as_text(self.variables().get(name)?)
    }

    fn channel_data(&self, name: &str) -> Option<String> {
        as_text(self.root.get("channel_data")?.get(name)?)
    }

    /// The callflow entries, newest caller profile first (an array since FreeSWITCH 1.6, a
    /// single object before).
    fn callflow(&self) -> Vec<&Value> {
        match self.root.get("callflow") {
            Some(Value::Array(entries)) => entries.iter().collect(),
            Some(entry @ Value::Object(_)) => vec![entry],
            _ => Vec::new(),
        }
    }

    fn profile(&self, name: &str) -> Option<String> {
        self.callflow()
            .into_iter()
            .find_map(|entry| as_text(entry.get("caller_profile")?.get(name)?))
    }

    /// An instant from `<name>_uepoch`, `<name>_epoch` or the callflow's `times_key`.
    fn instant(&self, name: &str, times_key: &str) -> Result<Option<UnixMicros>, CdrError> {
        if let Some(at) = self.integer(&format!("{name}_uepoch"))? {
            return Ok((at > 0).then_some(UnixMicros(at)));
        }
        if let Some(at) = self.integer(&format!("{name}_epoch"))? {
            return Ok((at > 0).then(|| UnixMicros::from_seconds(at)));
        }
        for entry in self.callflow() {
            if let Some(value) = entry.get("times").and_then(|t| t.get(times_key)) {
                let at = parse_integer(value).ok_or_else(|| self.bad_time(times_key, value))?;
                if at > 0 {
                    return Ok(Some(UnixMicros(at)));
                }
            }
        }
        Ok(None)
    }

    /// A whole-second epoch variable (`mod_callcenter`'s `cc_queue_*_epoch`).
    fn seconds(&self, name: &str) -> Result<Option<UnixMicros>, CdrError> {
        Ok(self
            .integer(name)?
            .filter(|&s| s > 0)
            .map(UnixMicros::from_seconds))
    }

    /// An epoch in seconds (fractions allowed), milliseconds or microseconds, told apart by
    /// size: seconds now are about 1.7e9, milliseconds 1.7e12, microseconds 1.7e15.
    fn any_epoch(&self, name: &str) -> Result<Option<UnixMicros>, CdrError> {
        let Some(value) = self.variables().get(name) else {
            return Ok(None);
        };
        let number = as_text(value)
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n > 0.0)
            .ok_or_else(|| self.bad_time(name, value))?;
        let micros = if number >= 1e14 {
            number
        } else if number >= 1e11 {
            number * 1e3
        } else {
            number * 1e6
        };
        Ok(Some(UnixMicros(micros.round() as i64)))
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, CdrError> {
        match self.variables().get(name) {
            None => Ok(None),
            Some(value) => parse_integer(value)
                .map(Some)
                .ok_or_else(|| self.bad_time(name, value)),
        }
    }

    fn bad_time(&self, field: &str, value: &Value) -> CdrError {
        let (line, column) = locate(self.text, field);
        let value = as_text(value).unwrap_or_else(|| value.to_string());
        CdrError::BadTime {
            path: self.path.to_path_buf(),
            line,
            column,
            field: field.to_string(),
            value,
        }
    }

    fn missing(&self, what: &'static str, name: &'static str, times_key: &'static str) -> CdrError {
        let (line, column) = locate(self.text, "variables");
        CdrError::MissingTime {
            path: self.path.to_path_buf(),
            line,
            column,
            what,
            name,
            times_key,
        }
    }

    fn format(&self, message: &str) -> CdrError {
        let (line, column) = locate(self.text, "variables");
        CdrError::Format {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.to_string(),
        }
    }
}

/// A string or number value as text, URL-decoded; `None` for empty strings and other types.
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(url_decode(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A whole number written as a JSON string of digits (as FreeSWITCH writes every variable) or
/// as a JSON number; an empty string counts as 0 (unset).
fn parse_integer(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) if s.trim().is_empty() => Some(0),
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Undoes `switch_url_encode`: `%XX` escapes (spaces are `%20`, so `+` stays a plus sign, as in
/// `+86` numbers). A `%` not followed by two hex digits is kept as it is.
fn url_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|&b| hex(b)),
            bytes.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Line and column (1-based, in characters) of the first `"key":` in the text; 1:1 when absent.
fn locate(text: &str, key: &str) -> (usize, usize) {
    let quoted = format!("\"{key}\"");
    let at = text
        .match_indices(&quoted)
        .map(|(at, _)| at)
        .find(|&at| text[at + quoted.len()..].trim_start().starts_with(':'));
    let Some(at) = at else { return (1, 1) };
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::CallEvent;
    use crate::party::Seconds;

    /// A customer's inbound A-leg bridged straight to the agent's phone, as `mod_json_cdr`
    /// writes it with `encode-values` off. Structure, field names and layout follow a real
    /// FreeSWITCH 1.6 record: the sample CDR in cgrates/cgrates `engine/fscdr_test.go`, whose
    /// A-leg `1001` was bridged to `user/1002` (same variables, `callflow` array with `times` in
    /// µs). Numbers, names and times are this project's; the `@…@` slots are filled in by
    /// [`cdr`]. Field meanings: FreeSWITCH docs (channel variables, `sip_hangup_disposition`).
    const DIRECT_TEMPLATE: &str = r#"{
	"core-uuid": "6f0b7b0e-9e2a-4c57-8d46-3f6a1d2c9b10",
	"switchname": "cc-fs01",
	"channel_data": {
		"state": "CS_REPORTING",
		"direction": "inbound",
		"state_number": "11",
		"flags": "0=1;1=1;3=1;20=1;37=1;38=1;40=1;43=1;48=1;53=1;75=1;98=1;112=1;113=1;122=1;134=1",
		"caps": "1=1;2=1;3=1;4=1;5=1;6=1"
	},
	"callStats": {
		"audio": {
			"inbound": {"raw_bytes": 1467040, "media_bytes": 1467040, "packet_count": 9169, "media_packet_count": 9169, "mos": 4.5},
			"outbound": {"raw_bytes": 1466880, "media_bytes": 1466880, "packet_count": 9168, "media_packet_count": 9168}
		}
	},
	"variables": {
		"direction": "inbound",
		"uuid": "a1e2f3c4-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
		"session_id": "4182",
		"sip_from_user": "13800138000",
		"sip_from_uri": "13800138000@10.20.0.5",
		"sip_from_host": "10.20.0.5",
		"channel_name": "sofia/external/13800138000@10.20.0.5",
		"sip_call_id": "7c2a9f0e41d3@10.20.0.5",
		"sip_invite_stamp": "@START_US@",
		"sofia_profile_name": "external",
		"sip_req_user": "4008123456",
		"sip_to_user": "4008123456",
		"call_uuid": "a1e2f3c4-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
		"ringback": "%(1000,4000,450)",
		"call_timeout": "60",
		"current_application_data": "user/8002@cc.example.cn",
		"current_application": "bridge",
		"originated_legs": "ARRAY::5d8e0a7b-1c2f-4e3d-9b6a-7f8e9d0c1b2a;Outbound Call;8002|:5d8e0a7b-1c2f-4e3d-9b6a-7f8e9d0c1b2a;Outbound Call;8002",
		"rtp_use_codec_name": "PCMA",
		"rtp_use_codec_rate": "8000",
		"read_codec": "PCMA",
		"write_codec": "PCMA",
		"endpoint_disposition": "@ENDPOINT@",
		"originate_disposition": "@ORIGINATE@",
		"DIALSTATUS": "@ORIGINATE@",
		"last_bridge_to": "5d8e0a7b-1c2f-4e3d-9b6a-7f8e9d0c1b2a",
		"bridge_channel": "sofia/internal/8002@10.20.1.32:5060",
		"bridge_uuid": "5d8e0a7b-1c2f-4e3d-9b6a-7f8e9d0c1b2a",
		"sip_hangup_phrase": "OK",
		"hangup_cause": "@CAUSE@",
		"hangup_cause_q850": "16",
		"digits_dialed": "none",
		"start_stamp": "2024-01-01 15:50:13",
		"answer_stamp": "2024-01-01 15:50:19",
		"end_stamp": "2024-01-01 15:51:51",
		"start_epoch": "@START_S@",
		"start_uepoch": "@START_US@",
		"profile_start_epoch": "@START_S@",
		"profile_start_uepoch": "@START_US@",
		"answer_epoch": "@ANSWER_S@",
		"answer_uepoch": "@ANSWER_US@",
		"bridge_epoch": "@ANSWER_S@",
		"bridge_uepoch": "@ANSWER_US@",
		"last_hold_epoch": "0",
		"last_hold_uepoch": "0",
		"hold_accum_seconds": "0",
		"hold_accum_usec": "0",
		"hold_accum_ms": "0",
		"resurrect_epoch": "0",
		"resurrect_uepoch": "0",
		"progress_epoch": "@PROGRESS_S@",
		"progress_uepoch": "@PROGRESS_US@",
		"progress_media_epoch": "@MEDIA_S@",
		"progress_media_uepoch": "@MEDIA_US@",
		"end_epoch": "@END_S@",
		"end_uepoch": "@END_US@",
		"last_app": "bridge",
		"last_arg": "user/8002@cc.example.cn",
		"caller_id": "\"13800138000\" <13800138000>",
		"sip_hangup_disposition": "@DISPOSITION@",
		"rtp_audio_in_mos": "4.50"
	},
	"app_log": {
		"applications": [
			{"app_name": "set", "app_data": "ringback=%(1000,4000,450)", "app_stamp": "@START_US@"},
			{"app_name": "bridge", "app_data": "user/8002@cc.example.cn", "app_stamp": "@START_US@"}
		]
	},
	"callflow": [{
		"dialplan": "XML",
		"profile_index": "1",
		"extension": {
			"name": "inbound_service_line",
			"number": "4008123456",
			"applications": [
				{"app_name": "set", "app_data": "ringback=%(1000,4000,450)"},
				{"app_name": "bridge", "app_data": "user/8002@cc.example.cn"}
			]
		},
		"caller_profile": {
			"username": "13800138000",
			"dialplan": "XML",
			"caller_id_name": "13800138000",
			"ani": "13800138000",
			"caller_id_number": "13800138000",
			"network_addr": "10.20.0.5",
			"destination_number": "4008123456",
			"uuid": "a1e2f3c4-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
			"source": "mod_sofia",
			"context": "public",
			"chan_name": "sofia/external/13800138000@10.20.0.5"
		},
		"times": {
			"created_time": "@START_US@",
			"profile_created_time": "@START_US@",
			"progress_time": "@PROGRESS_US@",
			"progress_media_time": "@MEDIA_US@",
			"answered_time": "@ANSWER_US@",
			"bridged_time": "@ANSWER_US@",
			"last_hold_time": "0",
			"hold_accum_time": "0",
			"hangup_time": "@END_US@",
			"resurrect_time": "0",
			"transfer_time": "0"
		}
	}]
}"#;

    const START: i64 = 1_704_095_413_123_456;

    /// The direct-bridge CDR of a call that rang at the agent from `START` + 80 ms, was
    /// answered `answer_after` µs after that (never, for `None`) and ended at `end_after` µs
    /// after the start, with this disposition and hang-up cause.
    fn cdr(answer_after: Option<i64>, end_after: i64, disposition: &str, cause: &str) -> String {
        let progress = START + 80_000;
        let media = START + 120_000;
        let answer = answer_after.map_or(0, |after| progress + after);
        let end = START + end_after;
        let (endpoint, originate) = if answer_after.is_some() {
            ("ANSWER", "SUCCESS")
        } else {
            ("ORIGINATOR_CANCEL", "ORIGINATOR_CANCEL")
        };
        let slots = [
            ("@START_US@", START.to_string()),
            ("@START_S@", (START / 1_000_000).to_string()),
            ("@PROGRESS_US@", progress.to_string()),
            ("@PROGRESS_S@", (progress / 1_000_000).to_string()),
            ("@MEDIA_US@", media.to_string()),
            ("@MEDIA_S@", (media / 1_000_000).to_string()),
            ("@ANSWER_US@", answer.to_string()),
            ("@ANSWER_S@", (answer / 1_000_000).to_string()),
            ("@END_US@", end.to_string()),
            ("@END_S@", (end / 1_000_000).to_string()),
            ("@DISPOSITION@", disposition.to_string()),
            ("@CAUSE@", cause.to_string()),
            ("@ENDPOINT@", endpoint.to_string()),
            ("@ORIGINATE@", originate.to_string()),
        ];
        let mut text = DIRECT_TEMPLATE.to_string();
        for (slot, value) in slots {
            assert!(text.contains(slot), "{slot} is not in the template");
            text = text.replace(slot, &value);
        }
        assert!(!text.contains("\"@"), "an unfilled slot is left");
        text
    }

    /// Replaces `from` (which must be there) with `to`.
    fn edit(text: &str, from: &str, to: &str) -> String {
        assert!(text.contains(from), "{from:?} is not in the CDR");
        text.replacen(from, to, 1)
    }

    fn parse(text: &str) -> FreeswitchCdr {
        FreeswitchCdr::parse(text, Path::new("a_a1e2f3c4.cdr.json"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(text: &str) -> String {
        FreeswitchCdr::parse(text, Path::new("cdr/a_a1e2f3c4.cdr.json"))
            .unwrap_err()
            .to_string()
    }

    fn times(record: &CallRecord) -> Vec<(f64, EventKind)> {
        record
            .events
            .iter()
            .map(|e| (e.t.0, e.kind.clone()))
            .collect()
    }

    #[test]
    fn an_answered_call_the_customer_hung_up_has_ring_answer_and_customer_hangup() {
        // Rang 6.45 s at the agent, 91.35 s of talk, then the caller sent BYE.
        let text = cdr(
            Some(6_450_865),
            6_530_865 + 91_350_000,
            "recv_bye",
            "NORMAL_CLEARING",
        );
        let cdr = parse(&text);
        assert_eq!(cdr.uuid, "a1e2f3c4-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
        assert_eq!(cdr.leg, Leg::Customer);
        assert_eq!(cdr.caller.as_deref(), Some("13800138000"));
        assert_eq!(cdr.destination.as_deref(), Some("4008123456"));
        assert_eq!(cdr.hung_up_first, Some(Party::Customer));

        let record = cdr.record(None);
        assert_eq!(record.time_base, TimeBase::Answer);
        assert_eq!(record.origin, UnixMicros(START + 80_000 + 6_450_865));
        assert_eq!(record.started, Some(UnixMicros(START)));
        assert_eq!(
            times(&record),
            [
                (-6.451, EventKind::Ring),
                (0.0, EventKind::Answer),
                (
                    91.35,
                    EventKind::Hangup {
                        party: Some(Party::Customer)
                    }
                ),
            ]
        );
        assert!(record.events.iter().all(|e| !e.inferred));
    }

    #[test]
    fn send_bye_on_the_customers_leg_means_the_agent_hung_up_first() {
        let text = cdr(Some(4_000_000), 64_000_000, "send_bye", "NORMAL_CLEARING");
        let record = parse(&text).record(None);
        let hangup = record.events.last().unwrap();
        assert_eq!(
            hangup.kind,
            EventKind::Hangup {
                party: Some(Party::Agent)
            }
        );
        assert_eq!(hangup.t, Seconds(59.92));
    }

    #[test]
    fn a_late_answer_shows_18_seconds_of_ringing() {
        let record = parse(&cdr(
            Some(18_000_000),
            50_000_000,
            "recv_bye",
            "NORMAL_CLEARING",
        ))
        .record(None);
        assert_eq!(
            record.events[0],
            CallEvent {
                t: Seconds(-18.0),
                kind: EventKind::Ring,
                inferred: false
            }
        );
        assert_eq!(record.events[1].t, Seconds(0.0));
    }

    #[test]
    fn an_unanswered_call_the_caller_abandoned_has_ring_and_customer_hangup_from_the_call_start() {
        let text = cdr(None, 21_300_000, "recv_cancel", "ORIGINATOR_CANCEL");
        let cdr = parse(&text);
        assert_eq!(cdr.answered, None);
        let record = cdr.record(None);
        assert_eq!(record.time_base, TimeBase::CallStart);
        assert_eq!(
            times(&record),
            [
                (0.08, EventKind::Ring),
                (
                    21.3,
                    EventKind::Hangup {
                        party: Some(Party::Customer)
                    }
                )
            ]
        );
    }

    #[test]
    fn dispositions_that_do_not_say_who_hung_up_give_a_hangup_without_party() {
        let answered =
            |disposition: &str| cdr(Some(3_000_000), 40_000_000, disposition, "NORMAL_CLEARING");
        for disposition in ["send_refuse", "recv_refuse", "send_cancel", "mystery"] {
            assert_eq!(
                parse(&answered(disposition)).hung_up_first,
                None,
                "{disposition}"
            );
        }
        let without = edit(
            &answered("recv_bye"),
            "\"sip_hangup_disposition\": \"recv_bye\",",
            "",
        );
        assert_eq!(parse(&without).hung_up_first, None);
        // An outbound leg may be the agent's or the customer's: recv_bye does not say whose.
        let outbound = edit(
            &answered("recv_bye"),
            "\"direction\": \"inbound\",\n\t\t\"uuid\"",
            "\"direction\": \"outbound\",\n\t\t\"uuid\"",
        );
        let cdr = parse(&outbound);
        assert_eq!(cdr.leg, Leg::Unknown);
        assert_eq!(
            cdr.record(None).events.last().unwrap().kind,
            EventKind::Hangup { party: None }
        );
    }

    /// A caller answered by the switch into a `mod_callcenter` queue (hold music), then bridged
    /// to agent 1001, who hung up first. Values URL-encoded, as `mod_json_cdr` does by default.
    const QUEUED: &str = r#"{"core-uuid":"6f0b7b0e-9e2a-4c57-8d46-3f6a1d2c9b10","switchname":"cc-fs01","channel_data":{"state":"CS_REPORTING","direction":"inbound","state_number":"11"},"variables":{"direction":"inbound","uuid":"0b9c7e52-3d41-4f0e-a8b6-2c5d9e7f1a30","sip_from_user":"%2B8613912345678","caller_id":"%22%2B8613912345678%22%20%3C%2B8613912345678%3E","cc_queue":"support%40cc.example.cn","cc_side":"member","cc_member_uuid":"2f8a6c1e-9b0d-4e3f-a7c2-5d1b8e9f0a64","cc_queue_joined_epoch":"1704099600","cc_agent":"1001%40cc.example.cn","cc_agent_uuid":"9e4d2b7a-6c1f-4a8e-b3d5-0f7c2e9a1b86","cc_agent_bridged":"true","cc_queue_answered_epoch":"1704099625","cc_cause":"answered","cc_queue_terminated_epoch":"1704099712","hangup_cause":"NORMAL_CLEARING","sip_hangup_disposition":"send_bye","start_epoch":"1704099599","start_uepoch":"1704099599512004","answer_epoch":"1704099599","answer_uepoch":"1704099599931877","bridge_epoch":"1704099625","bridge_uepoch":"1704099625310442","progress_epoch":"0","progress_uepoch":"0","progress_media_epoch":"1704099599","progress_media_uepoch":"1704099599931877","end_epoch":"1704099712","end_uepoch":"1704099712884006","last_app":"callcenter","last_arg":"support%40cc.example.cn"},"callflow":[{"dialplan":"XML","profile_index":"1","caller_profile":{"caller_id_number":"%2B8613912345678","destination_number":"4008123456","uuid":"0b9c7e52-3d41-4f0e-a8b6-2c5d9e7f1a30"},"times":{"created_time":"1704099599512004","progress_time":"0","progress_media_time":"1704099599931877","answered_time":"1704099599931877","bridged_time":"1704099625310442","hangup_time":"1704099712884006"}}]}"#;

    #[test]
    fn a_callcenter_call_is_answered_when_bridged_to_the_agent_and_has_no_ring() {
        let cdr = parse(QUEUED);
        assert_eq!(cdr.agent.as_deref(), Some("1001@cc.example.cn"));
        assert_eq!(cdr.queue.as_deref(), Some("support@cc.example.cn"));
        assert_eq!(cdr.caller.as_deref(), Some("+8613912345678"));
        assert_eq!(cdr.switch_answered, Some(UnixMicros(1_704_099_599_931_877)));
        assert_eq!(cdr.answered, Some(UnixMicros(1_704_099_625_310_442)));
        assert_eq!(
            cdr.queue_joined,
            Some(UnixMicros::from_seconds(1_704_099_600))
        );
        let record = cdr.record(None);
        assert_eq!(record.agent.as_deref(), Some("1001@cc.example.cn"));
        assert_eq!(
            times(&record),
            [
                (0.0, EventKind::Answer),
                (
                    87.574,
                    EventKind::Hangup {
                        party: Some(Party::Agent)
                    }
                )
            ]
        );
    }

    #[test]
    fn a_caller_who_left_the_queue_unanswered_was_not_answered_although_the_switch_was() {
        let mut text = QUEUED.to_string();
        for (from, to) in [
            ("\"cc_queue_answered_epoch\":\"1704099625\",", ""),
            (
                "\"bridge_epoch\":\"1704099625\",\"bridge_uepoch\":\"1704099625310442\",",
                "",
            ),
            ("\"bridged_time\":\"1704099625310442\",", ""),
            (
                "\"sip_hangup_disposition\":\"send_bye\"",
                "\"sip_hangup_disposition\":\"recv_bye\"",
            ),
        ] {
            text = edit(&text, from, to);
        }
        let record = parse(&text).record(None);
        assert_eq!(record.time_base, TimeBase::CallStart);
        assert_eq!(
            times(&record),
            [(
                113.372,
                EventKind::Hangup {
                    party: Some(Party::Customer)
                }
            )]
        );
    }

    #[test]
    fn the_recording_start_comes_from_the_caller_then_the_cdr_then_the_answer() {
        let text = cdr(Some(6_000_000), 60_000_000, "recv_bye", "NORMAL_CLEARING");
        let answer = START + 6_080_000;
        let with_variable = edit(
            &text,
            "\"last_app\"",
            "\"zhijian_record_start\": \"1704095418.203456\",\n\t\t\"last_app\"",
        );
        let record = parse(&with_variable).record(None);
        assert_eq!(record.time_base, TimeBase::Recorded);
        assert_eq!(
            record.events[1].t,
            Seconds(1.0),
            "answer 1 s into the recording"
        );

        let in_millis = edit(
            &text,
            "\"last_app\"",
            "\"record_start_epoch\": \"1704095417203\",\n\t\t\"last_app\"",
        );
        assert_eq!(parse(&in_millis).record(None).events[1].t, Seconds(2.0));
        let in_micros = edit(
            &text,
            "\"last_app\"",
            "\"record_start_epoch\": \"1704095416203456\",\n\t\t\"last_app\"",
        );
        assert_eq!(parse(&in_micros).record(None).events[1].t, Seconds(3.0));

        let given = parse(&with_variable).record(Some(UnixMicros(answer - 2_500_000)));
        assert_eq!(given.time_base, TimeBase::Given);
        assert_eq!(
            times(&given)[..2],
            [(-3.5, EventKind::Ring), (2.5, EventKind::Answer)]
        );
    }

    #[test]
    fn epoch_variables_may_be_missing_when_the_callflow_times_are_there() {
        let text = cdr(Some(5_000_000), 30_000_000, "recv_bye", "NORMAL_CLEARING");
        let trimmed: String = text
            .lines()
            .filter(|l| !l.contains("epoch\":"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            trimmed.len() < text.len() - 500,
            "the epoch variables were removed"
        );
        assert_eq!(
            times(&parse(&trimmed).record(None)),
            times(&parse(&text).record(None))
        );
    }

    #[test]
    fn malformed_json_names_file_line_and_column() {
        let text = cdr(Some(5_000_000), 30_000_000, "recv_bye", "NORMAL_CLEARING");
        let cut = &text[..text.find("\"end_uepoch\"").unwrap() + 20];
        let err = error(cut);
        let line = cut.lines().count();
        assert!(
            err.starts_with(&format!("cdr/a_a1e2f3c4.cdr.json:{line}:")),
            "{err}"
        );
        assert!(err.contains("not a FreeSWITCH JSON CDR"), "{err}");

        let err = error(r#"[{"uuid": "x"}]"#);
        assert!(
            err.contains("expected an object with a \"variables\" object"),
            "{err}"
        );
    }

    #[test]
    fn missing_or_unreadable_epochs_say_which_and_where() {
        let err = error("{\n  \"variables\": {\n    \"uuid\": \"u1\",\n    \"end_epoch\": \"1704095500\"\n  }\n}");
        assert_eq!(
            err,
            "cdr/a_a1e2f3c4.cdr.json:2:3: the CDR has no start time; expected variables.start_uepoch \
             or start_epoch (or callflow times.created_time)"
        );
        let text = cdr(Some(5_000_000), 30_000_000, "recv_bye", "NORMAL_CLEARING");
        let end = (START + 30_000_000).to_string();
        let bad = edit(
            &text,
            &format!("\"end_uepoch\": \"{end}\""),
            "\"end_uepoch\": \"17040954x3123456\"",
        );
        let line = bad
            .lines()
            .position(|l| l.contains("\"end_uepoch\""))
            .unwrap()
            + 1;
        let err = error(&bad);
        assert!(
            err.starts_with(&format!(
                "cdr/a_a1e2f3c4.cdr.json:{line}:3: end_uepoch is \"17040954x3123456\""
            )),
            "{err}"
        );
    }

    #[test]
    fn url_encoded_values_are_decoded_and_stray_percent_signs_kept() {
        assert_eq!(
            url_decode("support%40cc.example.cn"),
            "support@cc.example.cn"
        );
        assert_eq!(url_decode("%E5%BC%A0%E4%B8%89"), "张三");
        assert_eq!(url_decode("+86 100%"), "+86 100%");
        assert_eq!(url_decode("%(1000,4000,450)"), "%(1000,4000,450)");
    }
}
