//! The live monitor: everything known about the session in, nudges and scorecards out.
//!
//! In ([`Msg`]): speech spans and settled times from the audio thread, utterances from the
//! decoding workers, call events (a replay's sidecar, or reported on standard input and over
//! HTTP), device and overrun reports. It puts the items in the order a recording gives them
//! ([`Sequencer`]), finds where calls begin and end ([`CallTracker`], on a capture session; a
//! replayed recording is one call), and feeds each call's [`Engine`] — the same engine, fed the
//! same items in the same order, as `zhijian score` — so a replayed call's scorecard is the
//! recording's, byte for byte. Findings become nudges at once; at a call's end its scorecard is
//! assembled exactly as the recording path assembles it and handed to the caller to write.
//!
//! Runs on one thread of its own; it never blocks on anything but its inbox, and never reads
//! the wall clock: media time comes in with the messages.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::call::CallEvent;
use crate::nudge::{DeviceState, Envelope, Hub, Nudge};
use crate::party::{Party, Seconds};
use crate::pipeline::sort_utterances;
use crate::rules::{Engine, Finding, Item, Layout, RuleSet};
use crate::scorecard::{clock, Scorecard};
use crate::text::TextAnalyzer;
use crate::transcript::{CallTranscript, Track, Utterance};
use crate::voice::SpeechSpan;

use super::calls::{CallTracker, Change};
use super::order::{Key, LiveItem, Sequencer, Source};
use super::{Msg, Recording, Reported, Segment};

/// Decoding this far behind the audio is reported (seconds of media).
const LAG_REPORT: f64 = 5.0;

/// What the web page's status shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The call under way.
    pub call_id: Option<String>,
    /// Media time of the session.
    pub clock: f64,
    pub calls: usize,
    pub nudges: usize,
    /// Pieces of speech being decoded.
    pub decoding: usize,
}

/// What the session did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub calls: usize,
    pub nudges: usize,
    /// Calls whose scorecard could not be written.
    pub failed: usize,
}

/// Writes a finished scorecard; returns where, when it went to a file.
pub type CardWriter<'a> = dyn FnMut(&Scorecard) -> Result<Option<PathBuf>, String> + 'a;

/// A device outage, in session time.
#[derive(Debug, Clone)]
struct Outage {
    party: Party,
    device: String,
    from: Seconds,
    to: Option<Seconds>,
}

/// A call being heard.
struct Call<'r> {
    id: String,
    /// Session time of the call's media time zero.
    origin: f64,
    engine: Engine<'r>,
    parties: Vec<Party>,
    /// The recording, for a replayed one.
    recording: Option<Recording>,
    events: Vec<CallEvent>,
    speech: Vec<Vec<SpeechSpan>>,
    utterances: Vec<Utterance>,
    /// Decode failures, with the piece's party and start, to list as the recording path does.
    decode_warnings: Vec<(Party, f64, String)>,
    /// Audio dropped by a capture ring, per party.
    overruns: BTreeMap<Party, u64>,
    findings: Vec<Finding>,
}

impl<'r> Call<'r> {
    fn new(
        rules: &'r RuleSet,
        analyzer: &'r TextAnalyzer,
        id: String,
        origin: f64,
        parties: Vec<Party>,
        recording: Option<Recording>,
    ) -> Self {
        let layout = if parties == [Party::Mixed] {
            Layout::Mono
        } else {
            Layout::TwoParty
        };
        Call {
            id,
            origin,
            engine: Engine::new(rules, analyzer, layout),
            speech: vec![Vec::new(); parties.len()],
            parties,
            recording,
            events: Vec::new(),
            utterances: Vec::new(),
            decode_warnings: Vec::new(),
            overruns: BTreeMap::new(),
            findings: Vec::new(),
        }
    }

    /// Session time to call time. A replayed call's origin is 0, and its times go through
    /// untouched (bit for bit).
    fn shift(&self, t: Seconds) -> Seconds {
        if self.origin == 0.0 {
            t
        } else {
            Seconds(t.0 - self.origin)
        }
    }

    /// Gives the engine one item; returns the findings it is sure of.
    fn push(&mut self, item: LiveItem) -> Vec<Finding> {
        self.findings.clear();
        match item {
            LiveItem::Event(mut e) => {
                e.t = self.shift(e.t);
                self.engine.push(Item::Event(&e), &mut self.findings);
                self.events.push(e);
            }
            LiveItem::Speech { party, mut span } => {
                if self.origin != 0.0 {
                    // Speech begun before the call started is heard from its start.
                    span.start = Seconds(self.shift(span.start).0.max(0.0));
                    span.end = self.shift(span.end);
                }
                self.engine
                    .push(Item::Speech { party, span }, &mut self.findings);
                if let Some(i) = self.parties.iter().position(|&p| p == party) {
                    self.speech[i].push(span);
                }
            }
            LiveItem::Utterance(mut u) => {
                if self.origin != 0.0 {
                    u.start = Seconds(self.shift(u.start).0.max(0.0)).rounded();
                    u.end = self.shift(u.end).rounded();
                }
                self.engine.push(Item::Utterance(&u), &mut self.findings);
                self.utterances.push(u);
            }
        }
        std::mem::take(&mut self.findings)
    }

    /// Ends the call at session time `end` and scores it; `outages` are the session's device
    /// outages.
    fn finish(self, rules: &RuleSet, end: Seconds, cut: bool, outages: &[Outage]) -> Scorecard {
        let duration = match &self.recording {
            Some(r) if !cut => r.duration.rounded(),
            _ => Seconds(end.0 - self.origin).rounded(),
        };
        let mut decode_warnings = self.decode_warnings;
        decode_warnings.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut warnings: Vec<String> = decode_warnings.into_iter().map(|(_, _, w)| w).collect();
        let mut partial = false;
        for o in outages {
            let from = o.from.0 - self.origin;
            let to = o.to.map_or(duration.0, |t| t.0 - self.origin);
            if to > 0.0 && from < duration.0 {
                partial = true;
                warnings.push(format!(
                    "the {} device {:?} was lost from {} to {}: that audio was not heard",
                    o.party,
                    o.device,
                    clock(Seconds(from.max(0.0))),
                    clock(Seconds(to.min(duration.0)))
                ));
            }
        }
        if cut {
            partial = true;
            warnings.push(format!("the replay was stopped at {}", clock(duration)));
        }
        for (party, samples) in &self.overruns {
            warnings.push(format!(
                "{samples} samples of {party} audio were dropped (the capture ring overran)"
            ));
        }
        let mut utterances = self.utterances;
        sort_utterances(&mut utterances);
        let (source, sample_rate, encoding) = match &self.recording {
            Some(r) => (r.path.clone(), r.sample_rate, r.encoding.clone()),
            None => (
                PathBuf::new(),
                crate::resample::WHISPER_RATE,
                "live".to_string(),
            ),
        };
        let transcript = CallTranscript {
            call_id: self.id,
            source,
            duration,
            sample_rate,
            encoding,
            tracks: self
                .parties
                .iter()
                .zip(self.speech)
                .map(|(&party, speech)| Track { party, speech })
                .collect(),
            utterances,
            warnings,
            // A replay's tones came in as events; live capture infers none.
            tones: Default::default(),
        };
        let results = self.engine.finish(duration);
        let mut card = Scorecard::new(rules, &transcript, self.events, results);
        card.partial = partial;
        card
    }
}

/// The state of the segment being heard.
struct Heard<'r> {
    parties: Vec<Party>,
    recording: Option<Recording>,
    sequencer: Sequencer,
    /// Capture sessions: where calls begin and end.
    tracker: Option<CallTracker>,
    call: Option<Call<'r>>,
    /// Call ids the events named, by the events' sequence numbers.
    named: BTreeMap<u64, String>,
    /// Decode warnings waiting for their utterance's turn.
    warnings: BTreeMap<Key, String>,
    /// Set when the audio is over: the segment ends once the last decodes are in.
    end: Option<Seconds>,
    /// The audio was stopped before its end (a replay cut short).
    cut: bool,
    /// Told when the segment is over.
    done: Option<std::sync::mpsc::Sender<()>>,
}

/// The monitor's state.
pub struct Monitor<'r, 'w> {
    rules: &'r RuleSet,
    analyzer: &'r TextAnalyzer,
    hub: Hub,
    write_card: &'w mut CardWriter<'w>,
    grace: f64,
    status: Arc<Mutex<Status>>,
    /// Session start on the wall clock (for naming live calls only).
    session_name: String,
    heard: Option<Heard<'r>>,
    clock: Seconds,
    /// Sequence numbers of reported events (after a replay's sidecar indices).
    next_seq: u64,
    outages: Vec<Outage>,
    last_lag_report: f64,
    summary: Summary,
    /// Events reported before the session's first audio began (the telephony side may be quick
    /// off the mark): applied at its start.
    early: Vec<Reported>,
    began: bool,
}

impl<'r, 'w> Monitor<'r, 'w> {
    pub fn new(
        rules: &'r RuleSet,
        analyzer: &'r TextAnalyzer,
        hub: Hub,
        write_card: &'w mut CardWriter<'w>,
        grace: f64,
        status: Arc<Mutex<Status>>,
        session_name: String,
    ) -> Self {
        Monitor {
            rules,
            analyzer,
            hub,
            write_card,
            grace,
            status,
            session_name,
            heard: None,
            clock: Seconds(0.0),
            next_seq: 0,
            outages: Vec::new(),
            last_lag_report: f64::NEG_INFINITY,
            summary: Summary::default(),
            early: Vec::new(),
            began: false,
        }
    }

    /// Sends an envelope to every sink (the session's start, for instance).
    pub fn announce(&mut self, envelope: &Envelope) {
        self.hub.send(envelope);
    }

    /// Handles messages until the audio side says the session is over and every call is scored.
    pub fn run(mut self, inbox: Receiver<Msg>) -> Summary {
        let mut quitting = false;
        while let Ok(msg) = inbox.recv() {
            if matches!(msg, Msg::Quit) {
                quitting = true;
            } else {
                self.handle(msg);
            }
            if quitting && self.heard.is_none() {
                break;
            }
        }
        // The inbox closed (every sender gone) or the session is over: score what is left.
        if let Some(heard) = self.heard.as_mut() {
            heard.end.get_or_insert(self.clock);
            for source in [Source::Events] {
                heard.sequencer.settle(source, Key::END);
            }
            self.finish_segment(true);
        }
        self.hub.send(&Envelope::End {
            calls: self.summary.calls,
        });
        if let Err(e) = self.hub.close() {
            tracing::warn!(error = %e, "closing the nudge stream");
        }
        self.summary
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Begin(segment) => self.begin(segment),
            Msg::Clock(t) => {
                self.clock = t;
                if let Some(heard) = self.heard.as_mut() {
                    heard.sequencer.settle(Source::Events, Key::events_from(t));
                }
                self.update_status();
            }
            Msg::Event { event, seq } => {
                self.next_seq = self.next_seq.max(seq + 1);
                if let Some(heard) = self.heard.as_mut() {
                    heard
                        .sequencer
                        .push(Key::event(event.t, seq), LiveItem::Event(event));
                }
            }
            Msg::Reported(reported) => self.reported(reported),
            Msg::Speech { party, span } => {
                if let Some(heard) = self.heard.as_mut() {
                    heard
                        .sequencer
                        .push(Key::speech(party, span), LiveItem::Speech { party, span });
                }
            }
            Msg::Decoding { party, key } => {
                if let Some(heard) = self.heard.as_mut() {
                    heard.sequencer.decoding(party, key);
                }
            }
            Msg::Heard {
                key,
                utterance,
                warning,
            } => {
                if let Some(heard) = self.heard.as_mut() {
                    if let Some(w) = warning {
                        heard.warnings.insert(key, w);
                    }
                    heard.sequencer.push(key, LiveItem::Utterance(utterance));
                }
            }
            Msg::Settled { party, until } => {
                if let Some(heard) = self.heard.as_mut() {
                    heard
                        .sequencer
                        .settle(Source::Party(party), Key::speech_from(until));
                }
            }
            Msg::Device {
                party,
                device,
                state,
                at,
            } => {
                match state {
                    DeviceState::Lost => self.outages.push(Outage {
                        party,
                        device: device.clone(),
                        from: at,
                        to: None,
                    }),
                    DeviceState::Back => {
                        if let Some(o) = self
                            .outages
                            .iter_mut()
                            .rev()
                            .find(|o| o.party == party && o.to.is_none())
                        {
                            o.to = Some(at);
                        }
                    }
                }
                self.hub.send(&Envelope::Device {
                    party,
                    device,
                    state,
                    at: at.rounded(),
                });
            }
            Msg::Overrun { party, samples } => {
                if let Some(call) = self.heard.as_mut().and_then(|h| h.call.as_mut()) {
                    *call.overruns.entry(party).or_default() += samples;
                }
                self.hub.send(&Envelope::Overrun { party, samples });
            }
            Msg::End { end, cut, done } => {
                if let Some(heard) = self.heard.as_mut() {
                    heard.end = Some(end);
                    heard.cut = cut;
                    heard.done = done;
                    heard.sequencer.settle(Source::Events, Key::END);
                }
            }
            Msg::Quit => {}
        }
        self.release();
        self.report_lag();
        let done = self
            .heard
            .as_ref()
            .is_some_and(|h| h.end.is_some() && h.sequencer.decoding_count() == 0);
        if done {
            self.finish_segment(false);
        }
    }

    fn begin(&mut self, segment: Segment) {
        if self.heard.is_some() {
            self.finish_segment(true);
        }
        self.clock = Seconds(0.0);
        let mut sources = vec![Source::Events];
        sources.extend(segment.parties.iter().map(|&p| Source::Party(p)));
        let mut heard = Heard {
            parties: segment.parties.clone(),
            recording: segment.recording.clone(),
            sequencer: Sequencer::new(sources),
            tracker: None,
            call: None,
            named: BTreeMap::new(),
            warnings: BTreeMap::new(),
            end: None,
            cut: false,
            done: None,
        };
        match &segment.recording {
            // A replayed recording is one call, whatever its events say.
            Some(r) => {
                let id = r.call_id.clone();
                heard.call = Some(Call::new(
                    self.rules,
                    self.analyzer,
                    id,
                    0.0,
                    segment.parties.clone(),
                    Some(r.clone()),
                ));
            }
            None => {
                heard.tracker = Some(CallTracker::new(self.grace));
                heard.call = Some(self.new_call(None, 0.0, &segment.parties));
            }
        }
        let id = heard.call.as_ref().map(|c| c.id.clone());
        self.heard = Some(heard);
        self.update_status();
        if let Some(call_id) = id {
            self.hub.send(&Envelope::CallStart { call_id });
        }
        self.next_seq = 0;
        self.began = true;
        for reported in std::mem::take(&mut self.early) {
            self.reported(reported);
        }
    }

    fn new_call(&self, id: Option<String>, origin: f64, parties: &[Party]) -> Call<'r> {
        let id = id.unwrap_or_else(|| format!("{}-{}", self.session_name, self.summary.calls + 1));
        Call::new(
            self.rules,
            self.analyzer,
            id,
            origin,
            parties.to_vec(),
            None,
        )
    }

    /// An event reported from outside: stamped with the media clock as it arrives.
    fn reported(&mut self, reported: Reported) {
        let Some(heard) = self.heard.as_mut() else {
            if self.began {
                tracing::debug!("an event came between calls of a replay; dropped");
            } else {
                self.early.push(reported);
            }
            return;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let event = CallEvent {
            t: self.clock,
            kind: reported.kind,
            inferred: false,
        };
        if let Some(id) = reported.call_id {
            heard.named.insert(seq, id);
        }
        heard
            .sequencer
            .push(Key::event(event.t, seq), LiveItem::Event(event));
    }

    /// Gives every item whose turn has come to the call it belongs to.
    fn release(&mut self) {
        loop {
            let Some(heard) = self.heard.as_mut() else {
                return;
            };
            let Some((key, item)) = heard.sequencer.pop() else {
                break;
            };
            let t = match &item {
                LiveItem::Event(e) => e.t,
                LiveItem::Speech { span, .. } => span.end,
                LiveItem::Utterance(u) => u.end,
            };
            self.apply_time(t);
            let mut after = Vec::new();
            if let LiveItem::Event(e) = &item {
                let named = self.heard.as_mut().and_then(|h| h.named.remove(&key.seq()));
                let changes = self
                    .heard
                    .as_mut()
                    .and_then(|h| h.tracker.as_mut())
                    .map(|tracker| tracker.on_event(e, named.as_deref()))
                    .unwrap_or_default();
                let (before, with): (Vec<Change>, Vec<Change>) = changes
                    .into_iter()
                    .partition(|c| !matches!(c, Change::EndWith { .. }));
                self.apply(before);
                after = with;
            }
            let warning = self.heard.as_mut().and_then(|h| h.warnings.remove(&key));
            // A call that ends with this event (its last hang-up) still hears it.
            let in_call = self.heard.as_ref().is_some_and(|h| {
                (!after.is_empty() || h.tracker.as_ref().is_none_or(|t| t.in_call()))
                    && h.call.is_some()
            });
            if !in_call {
                continue;
            }
            let Some(call) = self.heard.as_mut().and_then(|h| h.call.as_mut()) else {
                continue;
            };
            if let (Some(w), LiveItem::Utterance(u)) = (warning, &item) {
                call.decode_warnings.push((u.party, u.start.0, w));
            }
            let at = call.shift(self.clock);
            let findings = call.push(item);
            let call_id = call.id.clone();
            for finding in findings {
                let name = self.rules.rule(finding.rule).meta.name.clone();
                let nudge = Nudge::of(&call_id, &name, &finding, at);
                self.summary.nudges += 1;
                self.hub.send(&Envelope::Nudge(nudge));
            }
            self.apply(after);
        }
        // Media time has passed everything below the horizon: a call whose second hang-up is
        // overdue ends now.
        if let Some(t) = self.heard.as_ref().map(|h| h.sequencer.horizon_time()) {
            if t.is_finite() {
                self.apply_time(Seconds(t));
            }
        }
    }

    fn apply_time(&mut self, t: Seconds) {
        let changes = self
            .heard
            .as_mut()
            .and_then(|h| h.tracker.as_mut())
            .map(|tracker| tracker.on_time(t))
            .unwrap_or_default();
        self.apply(changes);
    }

    fn apply(&mut self, changes: Vec<Change>) {
        for change in changes {
            match change {
                Change::End { at } | Change::EndWith { at } => self.end_call(at),
                Change::Start {
                    origin,
                    pre,
                    call_id,
                } => {
                    let Some(parties) = self.heard.as_ref().map(|h| h.parties.clone()) else {
                        continue;
                    };
                    if self.heard.as_ref().is_some_and(|h| h.call.is_some()) {
                        self.end_call(origin);
                    }
                    let mut call = self.new_call(call_id, origin.0, &parties);
                    for e in pre {
                        call.push(LiveItem::Event(e));
                    }
                    let call_id = call.id.clone();
                    if let Some(h) = self.heard.as_mut() {
                        h.call = Some(call);
                    }
                    self.hub.send(&Envelope::CallStart { call_id });
                }
            }
        }
    }

    /// Ends the call under way at session time `at`, scores it and writes its card.
    fn end_call(&mut self, at: Seconds) {
        let Some(call) = self.heard.as_mut().and_then(|h| h.call.take()) else {
            return;
        };
        let live_without_speech =
            call.recording.is_none() && call.utterances.is_empty() && call.events.is_empty();
        if live_without_speech {
            // The session's idle start before its first call: nothing was said.
            tracing::debug!(call = %call.id, "nothing heard before the first call event");
            return;
        }
        let cut = self.heard.as_ref().is_some_and(|h| h.cut);
        let card = call.finish(self.rules, at, cut, &self.outages);
        self.summary.calls += 1;
        let scorecard = match (self.write_card)(&card) {
            Ok(path) => path,
            Err(e) => {
                self.summary.failed += 1;
                tracing::error!(call = %card.call_id, error = %e, "cannot write the scorecard");
                None
            }
        };
        self.hub.send(&Envelope::CallEnd {
            call_id: card.call_id.clone(),
            score: card.score,
            duration: card.duration,
            partial: card.partial,
            scorecard,
        });
    }

    /// Ends the segment: once its audio is over and its last decodes are in (or, when
    /// `force`, now), everything left is released and its call scored.
    fn finish_segment(&mut self, force: bool) {
        let Some(heard) = self.heard.as_mut() else {
            return;
        };
        let end = heard.end.unwrap_or(self.clock);
        if force {
            let parties = heard.parties.clone();
            for party in parties {
                heard.sequencer.settle(Source::Party(party), Key::END);
            }
            heard.sequencer.settle(Source::Events, Key::END);
            heard.sequencer.abandon_decoding();
        }
        self.release();
        let end = match self
            .heard
            .as_ref()
            .and_then(|h| h.recording.as_ref().zip(Some(h.cut)))
        {
            Some((r, false)) => r.duration,
            _ => end,
        };
        self.apply_time(end);
        self.end_call(end);
        if let Some(done) = self.heard.take().and_then(|h| h.done) {
            // The audio thread may have gone (a session cut short): nobody to tell.
            let _ = done.send(());
        }
    }

    fn update_status(&mut self) {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.clock = self.clock.rounded().0;
        status.calls = self.summary.calls;
        status.nudges = self.summary.nudges;
        status.call_id = self
            .heard
            .as_ref()
            .and_then(|h| h.call.as_ref())
            .map(|c| c.id.clone());
        status.decoding = self
            .heard
            .as_ref()
            .map_or(0, |h| h.sequencer.decoding_count());
    }

    fn report_lag(&mut self) {
        let Some(heard) = self.heard.as_ref() else {
            return;
        };
        let horizon = heard.sequencer.horizon_time();
        if !horizon.is_finite() || heard.end.is_some() {
            return;
        }
        let behind = self.clock.0 - horizon;
        if behind > LAG_REPORT && self.clock.0 - self.last_lag_report > 30.0 {
            self.last_lag_report = self.clock.0;
            tracing::warn!(behind, "decoding is behind the audio");
            self.hub.send(&Envelope::Lagging {
                behind: (behind * 10.0).round() / 10.0,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::mpsc;

    use super::*;
    use crate::call::EventKind;
    use crate::live::Reported;
    use crate::nudge::Envelope;
    use crate::rules::{RuleId, Verdict};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What a capture session's audio and decoding side would send: `speech` (party, start,
    /// end, text) closes 0.5 s after it ends and is decoded at once; `events` are reported at
    /// their time; the clock ticks every 0.1 s up to `end`.
    fn capture_session(
        speech: &[(Party, f64, f64, &str)],
        events: &[(f64, EventKind, Option<&str>)],
        end: f64,
        analyzer: &TextAnalyzer,
    ) -> Vec<Msg> {
        let mut msgs = vec![Msg::Begin(Segment {
            parties: vec![Party::Agent, Party::Customer],
            recording: None,
        })];
        let ticks = (end * 10.0).round() as usize;
        for k in 0..=ticks {
            let t = k as f64 / 10.0;
            msgs.push(Msg::Clock(Seconds(t)));
            for (at, kind, id) in events {
                if (at - t).abs() < 0.05 {
                    msgs.push(Msg::Reported(Reported {
                        kind: kind.clone(),
                        call_id: id.map(str::to_string),
                    }));
                }
            }
            for &(party, start, stop, text) in speech {
                if (stop + 0.5 - t).abs() < 0.05 {
                    let span = SpeechSpan {
                        start: Seconds(start),
                        end: Seconds(stop),
                    };
                    let key = Key::piece(party, span);
                    msgs.push(Msg::Speech { party, span });
                    msgs.push(Msg::Decoding { party, key });
                    let decoded = Ok(crate::transcribe::Decoded {
                        text: text.to_string(),
                        dropped: vec![],
                    });
                    let utterance = crate::pipeline::utterance_of(
                        analyzer,
                        party,
                        span,
                        decoded,
                        &mut Vec::new(),
                    );
                    msgs.push(Msg::Heard {
                        key,
                        utterance,
                        warning: None,
                    });
                }
            }
            for party in [Party::Agent, Party::Customer] {
                let open = speech
                    .iter()
                    .filter(|s| s.0 == party && s.1 <= t && s.2 + 0.5 > t)
                    .map(|s| s.1)
                    .fold(t - 0.5, f64::min);
                msgs.push(Msg::Settled {
                    party,
                    until: Seconds(open),
                });
            }
        }
        msgs.push(Msg::End {
            end: Seconds(end),
            cut: false,
            done: None,
        });
        msgs.push(Msg::Quit);
        msgs
    }

    #[test]
    fn events_reported_before_the_audio_begins_are_kept_for_it() {
        let analyzer = TextAnalyzer::new();
        let rules = RuleSet::built_in(&analyzer).unwrap();
        let speech = [(
            Party::Agent,
            1.0,
            4.0,
            "您好，联通客服中心，工号1234，请问有什么可以帮您？",
        )];
        // The telephony side is quicker than the audio: ring and answer reach the monitor
        // before the session's audio has begun.
        let mut msgs = vec![
            Msg::Reported(Reported {
                kind: EventKind::Ring,
                call_id: Some("early".into()),
            }),
            Msg::Reported(Reported {
                kind: EventKind::Answer,
                call_id: None,
            }),
        ];
        msgs.extend(capture_session(&speech, &[], 8.0, &analyzer));
        let (tx, rx) = mpsc::channel();
        for msg in msgs {
            tx.send(msg).unwrap();
        }
        drop(tx);
        let mut cards = Vec::new();
        let mut write = |card: &Scorecard| {
            cards.push(card.clone());
            Ok(None)
        };
        let status = Arc::new(Mutex::new(Status::default()));
        let monitor = Monitor::new(
            &rules,
            &analyzer,
            Hub::new(),
            &mut write,
            3.0,
            status,
            "s".into(),
        );
        monitor.run(rx);
        let ids: Vec<&str> = cards.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(ids, ["early"]);
    }

    #[test]
    fn call_events_cut_a_capture_session_into_calls_on_their_own_time_lines() {
        let analyzer = TextAnalyzer::new();
        let rules = RuleSet::built_in(&analyzer).unwrap();
        let speech = [
            (Party::Agent, 2.0, 3.0, "喂，喂。"),
            (
                Party::Agent,
                6.0,
                9.0,
                "您好，联通客服中心，工号1234，请问有什么可以帮您？",
            ),
            (Party::Customer, 9.5, 11.0, "我想查一下话费。"),
            (Party::Agent, 12.0, 15.0, "这个我不知道。"),
            (Party::Agent, 34.0, 36.0, "您好，联通客服中心，工号1234。"),
        ];
        let events = [
            (1.0, EventKind::Ring, Some("c42")),
            (5.0, EventKind::Answer, None),
            (
                30.0,
                EventKind::Hangup {
                    party: Some(Party::Customer),
                },
                None,
            ),
            (
                30.5,
                EventKind::Hangup {
                    party: Some(Party::Agent),
                },
                None,
            ),
            (33.0, EventKind::Answer, Some("c43")),
        ];
        let (tx, rx) = mpsc::channel();
        for msg in capture_session(&speech, &events, 40.0, &analyzer) {
            tx.send(msg).unwrap();
        }
        drop(tx);
        let lines = Shared::default();
        let hub = Hub::new().with_lines(Box::new(lines.clone()));
        let mut cards = Vec::new();
        let mut write = |card: &Scorecard| {
            cards.push(card.clone());
            Ok(None)
        };
        let status = Arc::new(Mutex::new(Status::default()));
        let monitor = Monitor::new(&rules, &analyzer, hub, &mut write, 3.0, status, "s".into());
        let summary = monitor.run(rx);

        // Nothing was said before the ring (no card for it), and what was said while it rang
        // belongs to no call; c42 runs from its answer to the agent's hang-up, c43 from its
        // answer to the end of the session.
        let ids: Vec<&str> = cards.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(ids, ["c42", "c43"], "{summary:?}");
        let c42 = &cards[0];
        assert_eq!(c42.duration, Seconds(25.5));
        let times: Vec<f64> = c42.events.iter().map(|e| e.t.0).collect();
        assert_eq!(times, [-4.0, 0.0, 25.0, 25.5]);
        assert_eq!(c42.utterances[0].start, Seconds(1.0));
        let banned = c42
            .rules
            .iter()
            .find(|r| r.rule == RuleId::BannedPhrase)
            .unwrap();
        assert_eq!(banned.verdict, Verdict::Fail);
        assert_eq!(banned.findings[0].start, Seconds(7.0));
        let greeting = c42
            .rules
            .iter()
            .find(|r| r.rule == RuleId::Greeting)
            .unwrap();
        assert_eq!(greeting.verdict, Verdict::Pass, "{}", greeting.note);
        assert_eq!(cards[1].duration, Seconds(7.0));

        // Nudges came as the calls went on, each naming its call, at the call's own clock.
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let nudges: Vec<Nudge> = text
            .lines()
            .filter_map(|l| match serde_json::from_str::<Envelope>(l).unwrap() {
                Envelope::Nudge(n) => Some(n),
                _ => None,
            })
            .collect();
        let banned: Vec<&Nudge> = nudges
            .iter()
            .filter(|n| n.rule == RuleId::BannedPhrase && n.call_id == "c42")
            .collect();
        assert_eq!(banned.len(), 1, "{nudges:?}");
        assert_eq!(
            banned[0].suggestion.as_deref(),
            Some("请您稍等，我帮您核实一下")
        );
        assert!(
            banned[0].delay() >= 0.5 && banned[0].delay() < 0.7,
            "{:?}",
            banned[0]
        );
        assert_eq!(summary.calls, 2);
    }
}
