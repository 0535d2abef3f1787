//! Asterisk `queue_log` files: every queued call's ring, answer and hang-up (and who hung up),
//! one record per call, on the recording's media time line.
//!
//! In: the text of a `queue_log` (by default `/var/log/asterisk/queue_log`), one event a line:
//! `epoch|callid|queuename|agent|event|data1|data2|data3[|data4|data5]`, where `callid` is the
//! caller channel's uniqueid (`NONE` for queue- and agent-level events, which are skipped).
//! Out: [`QueueLog`]: the calls keyed by uniqueid in the order they appear ([`QueueCall`]; look
//! one up by uniqueid or by a recording's file stem), plus the lines that could not be read, as
//! `file:line` errors. One bad line never stops the other calls, nor its own call's other lines.
//!
//! Events read (data fields as `app_queue` writes them; see the Asterisk docs, "Queue Logs"):
//! - `ENTERQUEUE|url|callerid[|position]`: the caller joined the queue;
//! - `RINGNOANSWER|ringtime`: a member's phone rang `ringtime` ms unanswered;
//! - `CONNECT|holdtime|bridgedchanneluniqueid|ringtime`: a member answered after the caller had
//!   waited `holdtime` s in the queue and the member's phone had rung `ringtime` s (logged when
//!   the call is bridged, i.e. at the answer);
//! - `COMPLETEAGENT|holdtime|calltime|origposition`: after talking `calltime` s, the *agent* hung
//!   up; `COMPLETECALLER`: the *caller* did;
//! - `ABANDON|position|origposition|waittime`: the caller hung up while waiting;
//! - `EXITWITHTIMEOUT`, `EXITEMPTY`, `EXITWITHKEY`: the queue let the caller go (no hang-up);
//! - `TRANSFER|extension|context|…`, `BLINDTRANSFER|extension|context|…`, `ATTENDEDTRANSFER|…`;
//! - `HOLD` / `UNHOLD`, which stock `app_queue` does not write but some call-center add-ons do.
//!
//! Media time ([`QueueCall::record`]): t = 0 is the recording's first sample: the caller's
//! epoch when given, else the CONNECT (queue recordings start when the member answers), else,
//! for a call no member answered, when it entered the queue. `ring` is CONNECT − ringtime: the
//! answering agent's phone rang from then, which is what the answer-time rule judges; the wait
//! in the queue before that (hold music) is the queue's, not the agent's, and stays in
//! [`QueueCall::wait_seconds`]. A caller who comes back to a queue (transferred to another
//! one) keeps the first answer; a recording of the second leg needs its start given.
//! `queue_log` counts whole seconds, so every time here is to the second. Pure parsing on the
//! calling thread.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::call::{CallRecord, EventKind, TimeBase, UnixMicros};
use crate::party::Party;

/// How a queued call ended, as far as the log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueOutcome {
    /// No ending line (yet): the call was still up when the log was copied, or the line is lost.
    Unfinished,
    /// `COMPLETEAGENT`: the agent hung up first.
    AgentHungUp,
    /// `COMPLETECALLER`: the caller hung up first.
    CallerHungUp,
    /// `ABANDON`: the caller hung up before any member answered.
    Abandoned,
    /// The call went on elsewhere (`TRANSFER`, `BLINDTRANSFER`, `ATTENDEDTRANSFER`).
    Transferred,
    /// The queue let the caller go unanswered (`EXITWITHTIMEOUT`, `EXITEMPTY`, `EXITWITHKEY`).
    Exited(String),
}

/// A member's phone that rang without being answered.
#[derive(Debug, Clone, PartialEq)]
pub struct MissedRing {
    pub agent: String,
    /// When the ringing gave up.
    pub at: UnixMicros,
    pub ring_ms: u64,
}

/// One queued call, from all its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueCall {
    /// The caller channel's uniqueid (the log's `callid`).
    pub uniqueid: String,
    pub queue: String,
    /// The caller's number, from ENTERQUEUE.
    pub caller: Option<String>,
    /// The first line of this call.
    pub first_seen: UnixMicros,
    pub entered: Option<UnixMicros>,
    /// The member who answered, as the log names them (e.g. `PJSIP/8002`, `Agent/1001`).
    pub agent: Option<String>,
    /// The answering member's channel uniqueid (CONNECT's second field).
    pub agent_uniqueid: Option<String>,
    pub connected: Option<UnixMicros>,
    /// How long the answering member's phone rang (CONNECT).
    pub ring_seconds: Option<u64>,
    /// How long the caller waited in the queue (CONNECT or ABANDON).
    pub wait_seconds: Option<u64>,
    /// How long the caller and agent talked (COMPLETE*).
    pub talk_seconds: Option<u64>,
    pub ended: Option<UnixMicros>,
    pub outcome: QueueOutcome,
    pub missed: Vec<MissedRing>,
    /// HOLD (true) and UNHOLD (false) lines.
    pub holds: Vec<(UnixMicros, bool)>,
    /// Transfers: when, and the target the log names.
    pub transfers: Vec<(UnixMicros, String)>,
    /// Lines of this call that could not be read (see [`QueueLog::errors`]).
    pub bad_lines: Vec<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueLogError {
    /// The file could not be read (a retry may help if the disk or share was busy).
    #[error("{path}: cannot read the queue_log: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// One line is not a queue_log line; the other lines are still read.
    #[error("{path}:{line}: bad queue_log line: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A whole `queue_log`: its calls and its unreadable lines.
#[derive(Debug, Default)]
pub struct QueueLog {
    calls: Vec<QueueCall>,
    by_id: HashMap<String, usize>,
    /// Lines that could not be read ([`QueueLogError::Line`]), in file order.
    pub errors: Vec<QueueLogError>,
}

impl QueueLog {
    pub fn load(path: &Path) -> Result<QueueLog, QueueLogError> {
        let bytes = std::fs::read(path).map_err(|source| QueueLogError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(QueueLog::parse(&String::from_utf8_lossy(&bytes), path))
    }

    /// Reads every line; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> QueueLog {
        let mut log = QueueLog::default();
        let mut bad_lines: Vec<(String, usize)> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let number = index + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            if let Err(message) = log.read_line(line) {
                if let Some(id) = line.split('|').nth(1).filter(|id| is_call_id(id)) {
                    bad_lines.push((id.to_string(), number));
                }
                log.errors.push(QueueLogError::Line {
                    path: path.to_path_buf(),
                    line: number,
                    message,
                });
            }
        }
        for (id, number) in bad_lines {
            if let Some(&at) = log.by_id.get(&id) {
                log.calls[at].bad_lines.push(number);
            }
        }
        log
    }

    /// The calls in the order they first appear.
    pub fn calls(&self) -> &[QueueCall] {
        &self.calls
    }

    /// The call whose caller uniqueid, or whose answering member's channel uniqueid, is `id`.
    pub fn call(&self, id: &str) -> Option<&QueueCall> {
        match self.by_id.get(id) {
            Some(&at) => Some(&self.calls[at]),
            None => self
                .calls
                .iter()
                .find(|c| c.agent_uniqueid.as_deref() == Some(id)),
        }
    }

    /// The call a recording belongs to, from its file stem: the stem is a uniqueid, or ends
    /// with one after a separator (as in FreePBX's `q-5000-13800138000-20240101-155013-
    /// 1704095413.15`).
    pub fn call_for_recording(&self, stem: &str) -> Option<&QueueCall> {
        let ends_with_id = |id: &str| {
            stem.strip_suffix(id).is_some_and(|head| {
                head.is_empty() || !head.ends_with(|c: char| c.is_ascii_digit() || c == '.')
            })
        };
        self.calls.iter().find(|c| {
            ends_with_id(&c.uniqueid) || c.agent_uniqueid.as_deref().is_some_and(ends_with_id)
        })
    }

    fn read_line(&mut self, line: &str) -> Result<(), String> {
        let fields: Vec<&str> = line.split('|').collect();
        if fields.len() < 5 {
            return Err(format!(
                "expected epoch|callid|queuename|agent|event|data…, found {} field{}",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" }
            ));
        }
        let at = parse_epoch(fields[0])?;
        let (id, queue, agent, event) = (fields[1], fields[2], fields[3], fields[4]);
        let data = |n: usize| fields.get(4 + n).copied().unwrap_or("").trim();
        if !is_call_id(id) {
            return Ok(());
        }
        let number = |n: usize, what: &str| -> Result<u64, String> {
            data(n).parse().map_err(|_| {
                format!(
                    "{event} data{n} ({what}) is {:?}, expected a whole number",
                    data(n)
                )
            })
        };
        let optional = |n: usize, what: &str| -> Result<Option<u64>, String> {
            if data(n).is_empty() {
                Ok(None)
            } else {
                number(n, what).map(Some)
            }
        };
        // Parse everything before touching the call, so that a bad line changes nothing.
        let change: Box<dyn FnOnce(&mut QueueCall)> = match event {
            "ENTERQUEUE" => {
                let caller = Some(data(2).to_string()).filter(|c| !c.is_empty());
                Box::new(move |c| {
                    c.entered = Some(at);
                    c.caller = caller.or(c.caller.take());
                })
            }
            "RINGNOANSWER" => {
                let ring_ms = number(1, "ring time, ms")?;
                let agent = agent.to_string();
                Box::new(move |c| c.missed.push(MissedRing { agent, at, ring_ms }))
            }
            "CONNECT" => {
                let wait = number(1, "hold time, s")?;
                let ring = optional(3, "ring time, s")?;
                let (agent, agent_uniqueid) = (
                    agent.to_string(),
                    Some(data(2).to_string()).filter(|u| !u.is_empty()),
                );
                Box::new(move |c| {
                    // A caller who comes back to a queue keeps the first answer.
                    if c.connected.is_none() {
                        c.connected = Some(at);
                        c.agent = Some(agent);
                        c.agent_uniqueid = agent_uniqueid;
                        c.wait_seconds = Some(wait);
                        c.ring_seconds = ring;
                    }
                })
            }
            "COMPLETEAGENT" | "COMPLETECALLER" => {
                number(1, "hold time, s")?;
                let talk = number(2, "call time, s")?;
                let outcome = if event == "COMPLETEAGENT" {
                    QueueOutcome::AgentHungUp
                } else {
                    QueueOutcome::CallerHungUp
                };
                Box::new(move |c| c.end(at, outcome, Some(talk)))
            }
            "ABANDON" => {
                let wait = optional(3, "wait time, s")?;
                Box::new(move |c| {
                    c.wait_seconds = wait.or(c.wait_seconds);
                    c.end(at, QueueOutcome::Abandoned, None);
                })
            }
            "EXITWITHTIMEOUT" | "EXITEMPTY" | "EXITWITHKEY" => {
                let outcome = QueueOutcome::Exited(event.to_string());
                Box::new(move |c| c.end(at, outcome, None))
            }
            "TRANSFER" | "BLINDTRANSFER" | "ATTENDEDTRANSFER" => {
                let target = match (data(1), data(2)) {
                    (exten, context) if event != "ATTENDEDTRANSFER" && !context.is_empty() => {
                        format!("{exten}@{context}")
                    }
                    (first, _) => first.to_string(),
                };
                let talk = optional(4, "call time, s").ok().flatten();
                Box::new(move |c| {
                    c.transfers.push((at, target));
                    c.end(at, QueueOutcome::Transferred, talk);
                })
            }
            "HOLD" | "UNHOLD" => {
                let on = event == "HOLD";
                Box::new(move |c| c.holds.push((at, on)))
            }
            _ => return Ok(()),
        };
        let index = match self.by_id.get(id) {
            Some(&index) => index,
            None => {
                self.by_id.insert(id.to_string(), self.calls.len());
                self.calls.push(QueueCall::new(id, queue, at));
                self.calls.len() - 1
            }
        };
        change(&mut self.calls[index]);
        Ok(())
    }
}

impl QueueCall {
    fn new(uniqueid: &str, queue: &str, first_seen: UnixMicros) -> QueueCall {
        QueueCall {
            uniqueid: uniqueid.to_string(),
            queue: queue.to_string(),
            caller: None,
            first_seen,
            entered: None,
            agent: None,
            agent_uniqueid: None,
            connected: None,
            ring_seconds: None,
            wait_seconds: None,
            talk_seconds: None,
            ended: None,
            outcome: QueueOutcome::Unfinished,
            missed: Vec::new(),
            holds: Vec::new(),
            transfers: Vec::new(),
            bad_lines: Vec::new(),
        }
    }

    fn end(&mut self, at: UnixMicros, outcome: QueueOutcome, talk: Option<u64>) {
        if self.outcome == QueueOutcome::Unfinished {
            self.ended = Some(at);
            self.outcome = outcome;
            self.talk_seconds = talk.or(self.talk_seconds);
        }
    }

    /// The call on the media time line of a recording that started at `recording_start` (when
    /// the caller knows it; see the module doc for the default).
    pub fn record(&self, recording_start: Option<UnixMicros>) -> CallRecord {
        let (origin, time_base) = match (recording_start, self.connected) {
            (Some(given), _) => (given, TimeBase::Given),
            (None, Some(connect)) => (connect, TimeBase::Answer),
            (None, None) => (self.entered.unwrap_or(self.first_seen), TimeBase::CallStart),
        };
        let mut record = CallRecord {
            call_id: self.uniqueid.clone(),
            agent: self.agent.clone(),
            queue: Some(self.queue.clone()),
            caller: self.caller.clone(),
            started: self.entered,
            origin,
            time_base,
            events: Vec::new(),
        };
        let mut events = Vec::new();
        if let (Some(connect), Some(ring)) = (self.connected, self.ring_seconds) {
            let ring_start = UnixMicros(connect.0 - UnixMicros::from_seconds(ring as i64).0);
            events.push(record.event(ring_start, EventKind::Ring));
        }
        if let Some(connect) = self.connected {
            events.push(record.event(connect, EventKind::Answer));
        }
        for &(at, on) in &self.holds {
            events.push(record.event(
                at,
                if on {
                    EventKind::HoldStart
                } else {
                    EventKind::HoldEnd
                },
            ));
        }
        for (at, target) in &self.transfers {
            let transfer = serde_json::json!({"type": "transfer", "to": target});
            events.push(record.event(*at, EventKind::Other(transfer)));
        }
        let hung_up = match self.outcome {
            QueueOutcome::AgentHungUp => Some(Party::Agent),
            QueueOutcome::CallerHungUp | QueueOutcome::Abandoned => Some(Party::Customer),
            _ => None,
        };
        if let (Some(party), Some(at)) = (hung_up, self.ended) {
            events.push(record.event(at, EventKind::Hangup { party: Some(party) }));
        }
        events.sort_by(|a, b| a.t.0.total_cmp(&b.t.0));
        record.events = events;
        record
    }
}

/// A caller channel's uniqueid (`1704095413.15`), not a queue- or agent-level placeholder.
fn is_call_id(id: &str) -> bool {
    !id.is_empty() && id != "NONE" && id != "REALTIME"
}

/// Unix seconds, as `app_queue` writes them (a fraction is accepted).
fn parse_epoch(field: &str) -> Result<UnixMicros, String> {
    let bad = || format!("epoch {field:?} is not Unix seconds");
    let (whole, fraction) = field.trim().split_once('.').unwrap_or((field.trim(), ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let seconds: i64 = whole.parse().map_err(|_| bad())?;
    let micros: i64 = format!("{fraction:0<6}")[..6].parse().unwrap_or(0);
    Ok(UnixMicros(seconds.saturating_mul(1_000_000) + micros))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::Seconds;

    /// An afternoon's excerpt of a `queue_log` as Asterisk writes it (one line a pipe-separated
    /// event; format and data fields per the Asterisk docs, "Queue Logs", and `app_queue`):
    /// four interleaved callers in queue `support`. Line 12 is corrupt, as a crash mid-write
    /// leaves it.
    const QUEUE_LOG: &str = "\
1704095400|NONE|NONE|NONE|QUEUESTART|
1704095405|NONE|support|PJSIP/8001|ADDMEMBER|
1704095405|NONE|support|PJSIP/8002|ADDMEMBER|
1704095413|1704095413.15|support|NONE|ENTERQUEUE||13800138000|1
1704095416|1704095416.18|support|NONE|ENTERQUEUE||13900139000|2
1704095428|1704095413.15|support|PJSIP/8001|RINGNOANSWER|15000
1704095435|1704095413.15|support|PJSIP/8002|CONNECT|22|1704095428.21|7
1704095440|1704095440.25|support|NONE|ENTERQUEUE||13700137000|2
1704095444|1704095416.18|support|PJSIP/8001|CONNECT|28|1704095441.27|3
1704095470|1704095440.25|support|NONE|ABANDON|2|2|30
1704095472|1704095472.31|support|NONE|ENTERQUEUE||13600136000|1
1704095480|1704095472.31|supp
1704095490|1704095472.31|support|PJSIP/8002|CONNECT|18|1704095487.44|3
1704095501|NONE|support|PJSIP/8001|PAUSE|lunch
1704095526|1704095413.15|support|PJSIP/8002|COMPLETEAGENT|22|91|1
1704095530|1704095416.18|support|PJSIP/8001|COMPLETECALLER|28|86|2
1704095560|1704095472.31|support|PJSIP/8002|COMPLETECALLER|18|70|1
";

    fn log() -> QueueLog {
        QueueLog::parse(QUEUE_LOG, Path::new("/var/log/asterisk/queue_log"))
    }

    fn times(call: &QueueCall) -> Vec<(f64, EventKind)> {
        call.record(None)
            .events
            .iter()
            .map(|e| (e.t.0, e.kind.clone()))
            .collect()
    }

    fn hangup(party: Party) -> EventKind {
        EventKind::Hangup { party: Some(party) }
    }

    #[test]
    fn interleaved_calls_are_kept_apart_in_order_of_appearance() {
        let log = log();
        let ids: Vec<&str> = log.calls().iter().map(|c| c.uniqueid.as_str()).collect();
        assert_eq!(
            ids,
            [
                "1704095413.15",
                "1704095416.18",
                "1704095440.25",
                "1704095472.31"
            ]
        );
    }

    #[test]
    fn completeagent_means_the_agent_hung_up_and_ring_time_comes_from_connect() {
        let log = log();
        let call = log.call("1704095413.15").unwrap();
        assert_eq!(call.outcome, QueueOutcome::AgentHungUp);
        assert_eq!(call.agent.as_deref(), Some("PJSIP/8002"));
        assert_eq!(call.caller.as_deref(), Some("13800138000"));
        assert_eq!(
            (call.wait_seconds, call.ring_seconds, call.talk_seconds),
            (Some(22), Some(7), Some(91))
        );
        // The first member's phone rang 15 s unanswered before 8002 picked up.
        let missed = MissedRing {
            agent: "PJSIP/8001".into(),
            at: UnixMicros::from_seconds(1_704_095_428),
            ring_ms: 15_000,
        };
        assert_eq!(call.missed, [missed]);
        assert_eq!(
            times(call),
            [
                (-7.0, EventKind::Ring),
                (0.0, EventKind::Answer),
                (91.0, hangup(Party::Agent))
            ]
        );
        let record = call.record(None);
        assert_eq!(record.time_base, TimeBase::Answer);
        assert_eq!(record.origin, UnixMicros::from_seconds(1_704_095_435));
        assert_eq!(record.queue.as_deref(), Some("support"));
    }

    #[test]
    fn completecaller_means_the_caller_hung_up() {
        let log = log();
        let call = log.call("1704095416.18").unwrap();
        assert_eq!(call.outcome, QueueOutcome::CallerHungUp);
        assert_eq!(
            times(call),
            [
                (-3.0, EventKind::Ring),
                (0.0, EventKind::Answer),
                (86.0, hangup(Party::Customer))
            ]
        );
    }

    #[test]
    fn an_abandoned_call_has_only_the_callers_hangup_timed_from_entering_the_queue() {
        let log = log();
        let call = log.call("1704095440.25").unwrap();
        assert_eq!(call.outcome, QueueOutcome::Abandoned);
        assert_eq!(call.wait_seconds, Some(30));
        let record = call.record(None);
        assert_eq!(record.time_base, TimeBase::CallStart);
        assert_eq!(times(call), [(30.0, hangup(Party::Customer))]);
    }

    #[test]
    fn a_corrupt_line_is_reported_as_file_and_line_and_its_call_still_comes_out() {
        let log = log();
        let errors: Vec<String> = log.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errors,
            [
                "/var/log/asterisk/queue_log:12: bad queue_log line: expected \
              epoch|callid|queuename|agent|event|data…, found 3 fields"
            ]
        );
        let call = log.call("1704095472.31").unwrap();
        assert_eq!(call.bad_lines, [12]);
        assert_eq!(
            times(call),
            [
                (-3.0, EventKind::Ring),
                (0.0, EventKind::Answer),
                (70.0, hangup(Party::Customer))
            ]
        );
        assert!(log
            .calls()
            .iter()
            .filter(|c| c.uniqueid != call.uniqueid)
            .all(|c| c.bad_lines.is_empty()));
    }

    #[test]
    fn bad_numbers_and_epochs_are_errors_that_change_nothing() {
        let text = "\
1704095413|1704095413.15|support|NONE|ENTERQUEUE||13800138000|1
1704095435|1704095413.15|support|PJSIP/8002|CONNECT|twenty|1704095428.21|7
17040954x6|1704095413.15|support|PJSIP/8002|COMPLETEAGENT|22|91|1
";
        let log = QueueLog::parse(text, Path::new("queue_log"));
        let errors: Vec<String> = log.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errors,
            [
                "queue_log:2: bad queue_log line: CONNECT data1 (hold time, s) is \"twenty\", expected a whole number",
                "queue_log:3: bad queue_log line: epoch \"17040954x6\" is not Unix seconds",
            ]
        );
        let call = log.call("1704095413.15").unwrap();
        assert_eq!(
            (call.connected, &call.outcome, &call.bad_lines[..]),
            (None, &QueueOutcome::Unfinished, &[2, 3][..])
        );
    }

    #[test]
    fn a_caller_who_comes_back_to_the_queue_keeps_the_first_answer() {
        let text = "\
1704095413|1704095413.15|support|NONE|ENTERQUEUE||13800138000|1
1704095435|1704095413.15|support|PJSIP/8002|CONNECT|22|1704095428.21|7
1704095500|1704095413.15|billing|NONE|ENTERQUEUE||13800138000|1
1704095530|1704095413.15|billing|PJSIP/8005|CONNECT|30|1704095522.60|8
1704095600|1704095413.15|billing|PJSIP/8005|COMPLETECALLER|30|70|1
";
        let log = QueueLog::parse(text, Path::new("queue_log"));
        let call = log.call("1704095413.15").unwrap();
        assert_eq!(call.agent.as_deref(), Some("PJSIP/8002"));
        assert_eq!(
            call.connected,
            Some(UnixMicros::from_seconds(1_704_095_435))
        );
        assert_eq!(times(call).last(), Some(&(165.0, hangup(Party::Customer))));
    }

    #[test]
    fn a_recording_finds_its_call_by_either_uniqueid_in_its_stem() {
        let log = log();
        let found = |stem: &str| log.call_for_recording(stem).map(|c| c.uniqueid.as_str());
        assert_eq!(found("1704095416.18"), Some("1704095416.18"));
        assert_eq!(
            found("q-support-13800138000-20240101-155013-1704095413.15"),
            Some("1704095413.15")
        );
        assert_eq!(found("agent-1704095487.44"), Some("1704095472.31"));
        assert_eq!(
            found("x-11704095416.18"),
            None,
            "a longer number is another id"
        );
        assert_eq!(found("1704095416.181"), None);
        assert_eq!(
            log.call("1704095428.21").map(|c| c.uniqueid.as_str()),
            Some("1704095413.15")
        );
    }

    #[test]
    fn the_recording_start_can_be_given_and_hold_and_transfer_lines_become_events() {
        let text = "\
1704095413|1704095413.15|support|NONE|ENTERQUEUE||13800138000|1
1704095435|1704095413.15|support|PJSIP/8002|CONNECT|22|1704095428.21|7
1704095470|1704095413.15|support|PJSIP/8002|HOLD|
1704095482|1704095413.15|support|PJSIP/8002|UNHOLD|
1704095500|1704095413.15|support|PJSIP/8002|BLINDTRANSFER|8888|from-internal|22|65|1
";
        let log = QueueLog::parse(text, Path::new("queue_log"));
        let call = log.call("1704095413.15").unwrap();
        assert_eq!(call.outcome, QueueOutcome::Transferred);
        let record = call.record(Some(UnixMicros::from_seconds(1_704_095_433)));
        assert_eq!(record.time_base, TimeBase::Given);
        let transfer =
            EventKind::Other(serde_json::json!({"type": "transfer", "to": "8888@from-internal"}));
        let events: Vec<(Seconds, EventKind)> = record
            .events
            .iter()
            .map(|e| (e.t, e.kind.clone()))
            .collect();
        assert_eq!(
            events,
            [
                (Seconds(-5.0), EventKind::Ring),
                (Seconds(2.0), EventKind::Answer),
                (Seconds(37.0), EventKind::HoldStart),
                (Seconds(49.0), EventKind::HoldEnd),
                (Seconds(67.0), transfer),
            ]
        );
    }
}
