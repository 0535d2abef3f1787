//! Live monitoring: headset and far-end audio (or a replayed recording) through the same stages
//! as a recording, nudges as soon as a rule fires, a scorecard at each call's end.
//!
//! # Threads, queues and back-pressure
//!
//! ```text
//! cpal callback ─copy─▶ rtrb ring (4 s, per device; full → drop and count)
//!        │ (or a replayed WAV, paced at --speed)
//!        ▼
//! audio thread: per party StreamResampler → SpeechStream ──pieces──▶ JobQueue (64, earliest
//!        │        spans, settled times, media clock                     end first; full → wait)
//!        ▼                                                                   │
//! monitor thread ◀──────────── utterances ──────────── decoding workers (one whisper state each)
//!   Sequencer (recording order) → CallTracker → rules Engine per call
//!        │ nudges                      │ scorecards (exactly as `zhijian score` writes them)
//!        ▼                             ▼
//!   Hub: terminal · JSON Lines · broadcast ──▶ tokio runtime: web page (SSE), Unix socket
//!
//! call events: stdin reader thread, HTTP POST /events ──▶ monitor (stamped with the media clock)
//! ```
//!
//! - The capture callback only copies into a preallocated ring ([`crate::capture`]); the audio
//!   thread drains the rings every 10 ms, notices lost devices (and fills their time with
//!   silence, so the other party goes on being heard), and reopens them when they come back.
//! - Whisper runs only on the decoding workers ([`decode`]), never on the audio thread, the
//!   monitor or the async runtime. When they fall behind, the bounded queue holds the audio
//!   thread: a replay waits; a capture's rings fill and drop what they cannot hold, counted
//!   (drop-and-count, the live policy).
//! - The monitor ([`monitor`]) puts items in a recording's order ([`order`]), so the rules see
//!   a live call exactly as they see its recording, and ends calls where the events say
//!   ([`calls`]).
//!
//! Media time only: the rules never see the wall clock. The wall clock paces a replay, measures
//! how long a lost device was away, and names live calls.
//!
//! # Layout
//! - `feed`: the audio side (stages per party), shared by capture and replay.
//! - `decode`: the decode queue and workers.
//! - `order`: the reorder buffer.
//! - `calls`: call boundaries from events.
//! - `monitor`: the monitor thread.
//! - `serve`: the loopback HTTP server (page, server-sent nudges, events in) and the Unix socket.

pub mod calls;
pub mod decode;
pub mod feed;
pub mod monitor;
pub mod order;
pub mod serve;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::call::{CallEvent, EventKind};
use crate::capture::{Capture, CaptureError};
use crate::nudge::{DeviceState, Envelope, Hub};
use crate::party::{Party, Seconds};
use crate::pipeline::{recording_events, CallOptions, RecordedCall};
use crate::resample::ResampleError;
use crate::rules::RuleSet;
use crate::text::TextAnalyzer;
use crate::transcribe::Transcriber;
use crate::transcript::Utterance;
use crate::voice::{SpeechSpan, VoiceConfig};

use self::decode::JobQueue;
use self::feed::Feeder;
use self::monitor::{CardWriter, Monitor};
use self::order::Key;

pub use self::monitor::{Status, Summary};

/// How often the audio thread drains the capture rings.
const POLL: Duration = Duration::from_millis(10);
/// How often a lost device is looked for again.
const RETRY: Duration = Duration::from_secs(1);

/// Where the audio comes from.
#[derive(Debug, Clone)]
pub enum LiveSource {
    /// Two capture devices: the agent's headset and the far end.
    Capture { agent: String, customer: String },
    /// Recordings played through the live pipeline, each one call, at `speed` × real time
    /// (0: as fast as decoding goes).
    Replay {
        calls: Vec<PathBuf>,
        speed: f64,
        options: CallOptions,
    },
}

/// A live session's settings.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub source: LiveSource,
    pub voice: VoiceConfig,
    /// How long after the first hang-up the second may come (seconds).
    pub hangup_grace: f64,
    /// Stop after this much media time (seconds); `None`: until stopped.
    pub max_duration: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// The system would not start a thread, or one died.
    #[error("{0}")]
    Thread(String),
}

/// A recording being replayed: what its scorecard says about it.
#[derive(Debug, Clone)]
pub struct Recording {
    pub call_id: String,
    pub path: PathBuf,
    pub sample_rate: u32,
    /// As the recording path names it (`G.711 μ-law`).
    pub encoding: String,
    pub duration: Seconds,
}

/// A stretch of audio with fresh stages: a replayed recording, or a capture session.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Agent then customer, or the one mixed party of a mono recording.
    pub parties: Vec<Party>,
    pub recording: Option<Recording>,
}

/// A call event reported from outside (standard input, HTTP).
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub kind: EventKind,
    pub call_id: Option<String>,
}

/// What the monitor hears about.
#[derive(Debug)]
pub enum Msg {
    Begin(Segment),
    /// The media clock: the audio is in up to here (session time).
    Clock(Seconds),
    /// A replayed recording's event at its media time; `seq`: its place in the sidecar.
    Event {
        event: CallEvent,
        seq: u64,
    },
    /// An event reported now, to be stamped with the media clock.
    Reported(Reported),
    Speech {
        party: Party,
        span: SpeechSpan,
    },
    /// A piece went to decoding; its utterance will come with `key`.
    Decoding {
        party: Party,
        key: Key,
    },
    Heard {
        key: Key,
        utterance: Utterance,
        warning: Option<String>,
    },
    /// Nothing more from `party` ends before `until`.
    Settled {
        party: Party,
        until: Seconds,
    },
    Device {
        party: Party,
        device: String,
        state: DeviceState,
        at: Seconds,
    },
    Overrun {
        party: Party,
        samples: u64,
    },
    /// The segment's audio is over at `end`; `cut` when it was stopped early. The monitor
    /// answers on `done` once the segment's last call is scored, so the next segment (the next
    /// replayed recording) cannot overtake the decodes still under way for this one.
    End {
        end: Seconds,
        cut: bool,
        done: Option<Sender<()>>,
    },
    /// No more segments.
    Quit,
}

/// The monitor's inbox, made before the session so event sources can be wired to it.
pub struct Inbox {
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
}

impl Inbox {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Inbox { tx, rx }
    }

    /// A handle that reports call events into the session.
    pub fn reporter(&self) -> Reporter {
        Reporter(self.tx.clone())
    }
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox::new()
    }
}

/// Reports call events to a running session (from standard input, or the HTTP endpoint).
#[derive(Clone, Debug)]
pub struct Reporter(Sender<Msg>);

/// A reported event that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("line {line}: {message} (an event is a JSON object such as {{\"type\": \"answer\"}}; types: ring, answer, hold_start, hold_end, hangup with \"party\")")]
    Bad { line: usize, message: String },
    #[error("the session is over")]
    Closed,
}

impl Reporter {
    /// Reports the events in `text`: one JSON object per line (JSON Lines; blank lines are
    /// skipped). Every line is checked before any is reported. Returns how many were reported.
    pub fn report(&self, text: &str) -> Result<usize, EventError> {
        let mut events = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            events.push(parse_reported(line).map_err(|message| EventError::Bad {
                line: i + 1,
                message,
            })?);
        }
        let n = events.len();
        for e in events {
            self.0
                .send(Msg::Reported(e))
                .map_err(|_| EventError::Closed)?;
        }
        Ok(n)
    }
}

/// One reported event: `{"type": "hangup", "party": "customer", "call_id": "c42"}`. Its time is
/// the moment it arrives (a `t` field is ignored: the telephony side cannot know the media
/// clock). Unknown types are kept and ignored by the rules, as in a sidecar.
pub fn parse_reported(line: &str) -> Result<Reported, String> {
    let mut value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Some(object) = value.as_object_mut() else {
        return Err("not a JSON object".into());
    };
    if !object.get("type").is_some_and(|t| t.is_string()) {
        return Err("no \"type\"".into());
    }
    let call_id = match object.remove("call_id") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => return Err(format!("\"call_id\" must be a string, not {other}")),
    };
    object.insert("t".into(), serde_json::json!(0.0));
    let event: CallEvent = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok(Reported {
        kind: event.kind,
        call_id,
    })
}

/// What a session needs that outlives it.
pub struct Session<'a> {
    pub rules: &'a RuleSet,
    pub analyzer: &'a TextAnalyzer,
    pub transcriber: &'a Transcriber,
    pub hub: Hub,
    pub inbox: Inbox,
    /// Set to stop the session (Ctrl-C): the call under way is scored, then it ends.
    pub stop: &'a AtomicBool,
    pub status: Arc<Mutex<Status>>,
    /// Names live calls (`NAME-1`, `NAME-2`, …).
    pub name: String,
}

/// Runs a live session until its source is over or it is stopped. `write_card` writes each
/// call's scorecard; `on_error` hears about recordings that cannot be replayed (the others
/// still are).
pub fn run(
    options: &LiveOptions,
    session: Session<'_>,
    page: Option<String>,
    write_card: &mut CardWriter<'_>,
    on_error: &mut (dyn FnMut(String) + Send),
) -> Result<Summary, LiveError> {
    let Session {
        rules,
        analyzer,
        transcriber,
        hub,
        inbox,
        stop,
        status,
        name,
    } = session;
    let queue = JobQueue::new();
    let Inbox { tx, rx } = inbox;
    let source = match &options.source {
        LiveSource::Capture { agent, customer } => {
            format!("agent {agent:?}, customer {customer:?}")
        }
        LiveSource::Replay { calls, speed, .. } => {
            let speed = if *speed > 0.0 {
                format!("{speed}×")
            } else {
                "full speed".into()
            };
            format!("a replay of {} recording(s) at {speed}", calls.len())
        }
    };
    // Open capture devices before anything starts: a wrong name is a set-up error.
    if let LiveSource::Capture { agent, customer } = &options.source {
        for name in [agent, customer] {
            crate::capture::check_device(name)?;
        }
    }
    let mut monitor = Monitor::new(
        rules,
        analyzer,
        hub,
        write_card,
        options.hangup_grace,
        status,
        name,
    );
    monitor.announce(&Envelope::Session { source, page });
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for worker in 0..transcriber.workers() {
            let (queue, tx) = (&queue, tx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("decode-{worker}"))
                .spawn_scoped(scope, move || {
                    decode::work(worker, queue, transcriber, analyzer, &tx);
                    // Whoever is waiting on the queue must not wait for ever.
                    queue.close();
                });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => tracing::error!(error = %e, "cannot start a decoding thread"),
            }
        }
        // The audio side on a thread of its own; the monitor (whose rules engines stay on one
        // thread) on this one.
        let audio = {
            let (queue, tx) = (&queue, tx.clone());
            let voice = options.voice.clone();
            std::thread::Builder::new()
                .name("audio".into())
                .spawn_scoped(scope, move || {
                    let mut feeder = Feeder::new(tx.clone(), queue, voice);
                    let fed = match &options.source {
                        LiveSource::Capture { agent, customer } => listen(
                            [agent.as_str(), customer.as_str()],
                            &mut feeder,
                            stop,
                            options.max_duration,
                        ),
                        LiveSource::Replay {
                            calls,
                            speed,
                            options: call_options,
                        } => replay(calls, *speed, call_options, &mut feeder, stop, on_error),
                    };
                    queue.close();
                    let _ = tx.send(Msg::Quit);
                    fed
                })
        };
        drop(tx);
        let audio = match audio {
            Ok(handle) => handle,
            Err(e) => {
                queue.close();
                return Err(LiveError::Thread(e.to_string()));
            }
        };
        let summary = monitor.run(rx);
        let fed = audio
            .join()
            .unwrap_or_else(|_| Err(LiveError::Thread("the audio thread panicked".into())));
        for w in workers {
            let _ = w.join();
        }
        fed.map(|()| summary)
    })
}

/// Plays recordings through the live pipeline: each one call, its events (as `zhijian score`
/// finds them: sidecar, CDR, tones) delivered at their media times.
fn replay(
    calls: &[PathBuf],
    speed: f64,
    options: &CallOptions,
    feeder: &mut Feeder<'_>,
    stop: &AtomicBool,
    on_error: &mut (dyn FnMut(String) + Send),
) -> Result<(), LiveError> {
    for path in calls {
        if stop.load(Ordering::Relaxed) || !feeder.is_open() {
            break;
        }
        let call = match RecordedCall::open(path, options) {
            Ok(call) => call,
            Err(e) => {
                on_error(e.to_string());
                continue;
            }
        };
        let events = match recording_events(&call, options) {
            Ok(events) => events,
            Err(e) => {
                on_error(e.to_string());
                continue;
            }
        };
        let rate = call.sample_rate;
        let parties: Vec<Party> = call.parties.iter().map(|p| p.party).collect();
        let rates = vec![rate; parties.len()];
        feeder.begin(
            Segment {
                parties,
                recording: Some(Recording {
                    call_id: call.call_id.clone(),
                    path: call.path.clone(),
                    sample_rate: rate,
                    encoding: call.encoding.to_string(),
                    duration: call.duration,
                }),
            },
            &rates,
        )?;
        // Events in media order; equal times keep the sidecar's order.
        let mut pending: Vec<(u64, CallEvent)> = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| (i as u64, e))
            .collect();
        pending.sort_by(|a, b| a.1.t.0.total_cmp(&b.1.t.0));
        let mut pending = pending.into_iter().peekable();
        let mut deliver = |feeder: &mut Feeder<'_>, until: f64| {
            while let Some((seq, e)) = pending.next_if(|(_, e)| e.t.0 <= until) {
                feeder.event(e, seq);
            }
        };
        let frames = call.parties.first().map_or(0, |p| p.samples.len());
        let block = (rate as usize / 50).max(1);
        let started = Instant::now();
        let mut at = 0;
        let mut cut = false;
        deliver(feeder, 0.0);
        feeder.settle(Seconds(0.0));
        while at < frames {
            if stop.load(Ordering::Relaxed) || !feeder.is_open() {
                cut = true;
                break;
            }
            if speed > 0.0 {
                let due = started + Duration::from_secs_f64(at as f64 / f64::from(rate) / speed);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
            let to = (at + block).min(frames);
            for (i, party) in call.parties.iter().enumerate() {
                feeder.feed(i, &party.samples[at..to])?;
            }
            at = to;
            let t = at as f64 / f64::from(rate);
            deliver(feeder, t);
            feeder.settle(Seconds(t));
        }
        if cut {
            feeder.end(Seconds::from_samples(at, rate), true)?;
        } else {
            deliver(feeder, f64::INFINITY);
            feeder.end(call.duration, false)?;
        }
    }
    Ok(())
}

/// One capture line: a device, and what happens to it.
struct Line<'n> {
    party: Party,
    name: &'n str,
    rate: u32,
    capture: Option<Capture>,
    overruns: u64,
    next_try: Instant,
}

/// Captures the two devices until stopped (or `max_duration` of media).
fn listen(
    names: [&str; 2],
    feeder: &mut Feeder<'_>,
    stop: &AtomicBool,
    max_duration: Option<f64>,
) -> Result<(), LiveError> {
    let agent = Capture::open(names[0])?;
    let customer = Capture::open(names[1])?;
    let mut lines = [
        Line {
            party: Party::Agent,
            name: names[0],
            rate: agent.rate(),
            capture: Some(agent),
            overruns: 0,
            next_try: Instant::now(),
        },
        Line {
            party: Party::Customer,
            name: names[1],
            rate: customer.rate(),
            capture: Some(customer),
            overruns: 0,
            next_try: Instant::now(),
        },
    ];
    let rates: Vec<u32> = lines.iter().map(|l| l.rate).collect();
    feeder.begin(
        Segment {
            parties: vec![Party::Agent, Party::Customer],
            recording: None,
        },
        &rates,
    )?;
    let started = Instant::now();
    let mut block: Vec<f32> = Vec::with_capacity(48_000);
    let mut clock = Seconds(0.0);
    loop {
        if stop.load(Ordering::Relaxed) || !feeder.is_open() {
            break;
        }
        let now = Instant::now();
        let wall = now.duration_since(started).as_secs_f64();
        for (i, line) in lines.iter_mut().enumerate() {
            block.clear();
            match line.capture.as_mut() {
                Some(capture) => {
                    capture.read(&mut block);
                    let overruns = capture.overruns();
                    if overruns > line.overruns {
                        feeder.overrun(line.party, overruns - line.overruns);
                        line.overruns = overruns;
                    }
                    if capture.is_lost(now) {
                        tracing::warn!(party = %line.party, device = line.name, "capture device lost");
                        line.capture = None;
                        line.overruns = 0;
                        line.next_try = now + RETRY;
                        let at = feeder.position(i);
                        feeder.device(line.party, line.name, DeviceState::Lost, at);
                    }
                }
                None => {
                    // Silence while the device is away keeps both parties on one time line.
                    let behind = wall - feeder.position(i).0;
                    let n = (behind.clamp(0.0, 1.0) * f64::from(line.rate)) as usize;
                    block.resize(n, 0.0);
                    if now >= line.next_try {
                        line.next_try = now + RETRY;
                        match Capture::open(line.name) {
                            Ok(capture) if capture.rate() == line.rate => {
                                let at = feeder.position(i);
                                tracing::info!(party = %line.party, device = line.name, "capture device back");
                                feeder.device(line.party, line.name, DeviceState::Back, at);
                                line.capture = Some(capture);
                            }
                            Ok(capture) => tracing::warn!(
                                device = line.name,
                                was = line.rate,
                                now = capture.rate(),
                                "the device came back at another rate; still waiting"
                            ),
                            Err(e) => {
                                tracing::debug!(device = line.name, error = %e, "not back yet")
                            }
                        }
                    }
                }
            }
            feeder.feed(i, &block)?;
        }
        clock = feeder.position(0);
        feeder.settle(clock);
        if max_duration.is_some_and(|d| clock.0 >= d) {
            break;
        }
        std::thread::sleep(POLL);
    }
    feeder.end(clock, false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_events_take_the_contracts_vocabulary_and_a_call_id() {
        let r = parse_reported(r#"{"type":"hangup","party":"customer","call_id":"c42"}"#).unwrap();
        assert_eq!(
            r,
            Reported {
                kind: EventKind::Hangup {
                    party: Some(Party::Customer)
                },
                call_id: Some("c42".into())
            }
        );
        let r = parse_reported(r#"{"type":"answer","t":12.5}"#).unwrap();
        assert_eq!(r.kind, EventKind::Answer);
        let r = parse_reported(r#"{"type":"transfer","to":"queue 7"}"#).unwrap();
        assert!(matches!(r.kind, EventKind::Other(_)));
        for bad in [
            "",
            "[1]",
            r#"{"party":"agent"}"#,
            "{\"type\": 3}",
            "{\"type\":\"ring\",\"call_id\":5}",
        ] {
            assert!(parse_reported(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_bad_line_reports_nothing_and_names_the_line() {
        let inbox = Inbox::new();
        let reporter = inbox.reporter();
        let err = reporter
            .report("{\"type\":\"ring\"}\n\nnot json\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(inbox.rx.try_recv().is_err(), "nothing reported");
        assert_eq!(
            reporter
                .report("{\"type\":\"ring\"}\n{\"type\":\"answer\"}")
                .unwrap(),
            2
        );
    }
}
