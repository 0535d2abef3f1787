//! What the engine knows of a call so far, shared read-only by every rule.
//!
//! The engine appends each [`super::Item`] here before the rules see it, so a rule can look back
//! at everything heard and reported up to now (calls are minutes long: a few hundred utterances
//! at most). Questions several rules ask — when was the call answered, who hung up, did the
//! customer ever speak — are answered once, here.

use crate::call::{CallEvent, EventKind};
use crate::party::{Party, Seconds};
use crate::text::TextAnalyzer;
use crate::transcript::Utterance;
use crate::voice::SpeechSpan;

use super::holds::Hold;
use super::phrase::Heard;
use super::Layout;

/// What the rules keep of an utterance: who, when, the words heard, counts, and its matching
/// view.
#[derive(Debug, Clone)]
pub struct HeardUtterance {
    pub party: Party,
    pub start: Seconds,
    pub end: Seconds,
    /// Display text (what a finding quotes).
    pub text: String,
    /// Chinese characters and digits of the matching form: about one syllable each.
    pub syllables: usize,
    /// jieba words holding a Chinese character or a digit.
    pub words: usize,
    pub heard: Heard,
}

/// Counts towards a speaking rate: a Chinese character or a digit.
pub fn is_syllable(c: char) -> bool {
    c.is_ascii_digit() || matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

impl HeardUtterance {
    pub fn new(analyzer: &TextAnalyzer, u: &Utterance) -> Self {
        HeardUtterance {
            party: u.party,
            start: u.start,
            end: u.end,
            text: u.text.clone(),
            syllables: u.normalized.chars().filter(|&c| is_syllable(c)).count(),
            words: u
                .words
                .iter()
                .filter(|w| w.text.chars().any(is_syllable))
                .count(),
            heard: Heard::new(analyzer, &u.normalized, &u.words),
        }
    }
}

/// Everything known about the call up to now.
#[derive(Debug, Clone)]
pub struct CallState {
    pub layout: Layout,
    /// Events in arrival order.
    pub events: Vec<CallEvent>,
    /// Utterances in arrival order (by end time).
    pub utterances: Vec<HeardUtterance>,
    /// Closed speech spans per party, in arrival order.
    pub agent_speech: Vec<SpeechSpan>,
    pub customer_speech: Vec<SpeechSpan>,
    pub mixed_speech: Vec<SpeechSpan>,
    /// The call's end (set when the engine finishes).
    pub end: Option<Seconds>,
    /// Holds, worked out once at the end (see [`super::holds`]).
    pub holds: Vec<Hold>,
    /// Whether the silent-call rule found the script followed (set at the end, before the rules
    /// that make an exception for it are judged).
    pub silent_call_handled: bool,
}

impl CallState {
    pub fn new(layout: Layout) -> Self {
        CallState {
            layout,
            events: Vec::new(),
            utterances: Vec::new(),
            agent_speech: Vec::new(),
            customer_speech: Vec::new(),
            mixed_speech: Vec::new(),
            end: None,
            holds: Vec::new(),
            silent_call_handled: false,
        }
    }

    pub fn is_mono(&self) -> bool {
        self.layout == Layout::Mono
    }

    pub fn speech_of(&self, party: Party) -> &[SpeechSpan] {
        match party {
            Party::Agent => &self.agent_speech,
            Party::Customer => &self.customer_speech,
            Party::Mixed => &self.mixed_speech,
        }
    }

    /// Every speech span of every party.
    pub fn all_speech(&self) -> impl Iterator<Item = &SpeechSpan> {
        self.agent_speech
            .iter()
            .chain(&self.customer_speech)
            .chain(&self.mixed_speech)
    }

    pub fn utterances_of(&self, party: Party) -> impl Iterator<Item = &HeardUtterance> {
        self.utterances.iter().filter(move |u| u.party == party)
    }

    /// The agent's utterances in time order.
    pub fn agent_utterances(&self) -> Vec<&HeardUtterance> {
        let mut v: Vec<&HeardUtterance> = self.utterances_of(Party::Agent).collect();
        v.sort_by(|a, b| a.start.0.total_cmp(&b.start.0));
        v
    }

    pub fn first_event(&self, pred: impl Fn(&EventKind) -> bool) -> Option<&CallEvent> {
        self.events
            .iter()
            .filter(|e| pred(&e.kind))
            .min_by(|a, b| a.t.0.total_cmp(&b.t.0))
    }

    pub fn ring(&self) -> Option<&CallEvent> {
        self.first_event(|k| matches!(k, EventKind::Ring))
    }

    pub fn answer_event(&self) -> Option<&CallEvent> {
        self.first_event(|k| matches!(k, EventKind::Answer))
    }

    /// When the call was answered: the answer event, else the start of the recording
    /// (CONTRACT §1).
    pub fn answer(&self) -> f64 {
        self.answer_event().map_or(0.0, |e| e.t.0)
    }

    /// The first hang-up reported for `party`.
    pub fn hangup_of(&self, party: Party) -> Option<&CallEvent> {
        self.first_event(|k| matches!(k, EventKind::Hangup { party: Some(p) } if *p == party))
    }

    /// True on a two-party call whose customer has not spoken (after answer) so far — at the
    /// end of the call: a silent call.
    pub fn customer_silent(&self) -> bool {
        let answer = self.answer();
        !self.is_mono() && !self.customer_speech.iter().any(|s| s.end.0 > answer)
    }

    /// The customer's speech spans overlapping `[from, to]`, as seconds of overlap.
    pub fn customer_speech_within(&self, from: f64, to: f64) -> f64 {
        self.customer_speech
            .iter()
            .map(|s| (s.end.0.min(to) - s.start.0.max(from)).max(0.0))
            .sum()
    }
}
