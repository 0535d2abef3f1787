//! The service standard as rules: loaded from `rules/*.toml`, run over a call as it goes.
//!
//! **In:** a time-ordered stream of [`Item`]s — call events, closed speech spans (from speech
//! detection) and utterances (what Whisper heard in them) — pushed one at a time into an
//! [`Engine`]. **Out:** [`Finding`]s as soon as a rule can tell (the live monitor turns them into
//! nudges), and at call end one [`RuleResult`] per rule of the standard (pass, fail or
//! not applicable, with evidence and the deduction), which [`crate::scorecard`] turns into a
//! scorecard.
//!
//! Rules never read the wall clock: they see media time only, so a recording and a live call
//! give the same verdicts. Batch and live feed the same engine ([`items_of`] orders a recorded
//! call's items the way a live call delivers them: each at the moment it becomes known).
//!
//! **Threads:** an [`Engine`] is plain single-threaded state (`Send`, cheap: scoring a call from
//! its transcript takes microseconds); a [`RuleSet`] is read-only after loading and shared by
//! reference between any number of engines.
//!
//! # Layout
//! - `config`: reading `rules/*.toml` strictly, errors as `file:line:column`.
//! - `phrase`: phrase lists, matched on word boundaries and through homophones (pinyin).
//! - `state`: what the engine knows of the call so far ([`CallState`]), shared by the rules.
//! - `holds`: holds, reported or implicit, and whether they were announced (used by two rules).
//! - `cases`: the test cases rule files carry.
//! - one file per rule: `answer_time`, `greeting`, `banned_phrase`, `hangup_order`, `closing`,
//!   `hold_etiquette`, `dead_air`, `interruption`, `speech_rate`, `silent_call`, `courtesy`.

mod answer_time;
mod banned_phrase;
pub mod cases;
mod closing;
pub mod config;
mod courtesy;
mod dead_air;
mod engine;
mod greeting;
mod hangup_order;
mod hold_etiquette;
mod holds;
mod interruption;
pub mod phrase;
mod silent_call;
mod speech_rate;
pub mod state;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::call::CallEvent;
use crate::party::{Party, Seconds};
use crate::text::TextAnalyzer;
use crate::transcript::{CallTranscript, Utterance};
use crate::voice::SpeechSpan;

pub use self::config::{Overrides, RuleSet, RulesError};
pub use self::engine::Engine;
pub use self::state::CallState;

/// Every rule of the service standard (`../shared/RULEBOOK.md`), in scorecard order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    AnswerTime,
    Greeting,
    BannedPhrase,
    HangupOrder,
    Closing,
    HoldEtiquette,
    DeadAir,
    Interruption,
    SpeechRate,
    SilentCall,
    Courtesy,
}

impl RuleId {
    pub const ALL: [RuleId; 11] = [
        RuleId::AnswerTime,
        RuleId::Greeting,
        RuleId::BannedPhrase,
        RuleId::HangupOrder,
        RuleId::Closing,
        RuleId::HoldEtiquette,
        RuleId::DeadAir,
        RuleId::Interruption,
        RuleId::SpeechRate,
        RuleId::SilentCall,
        RuleId::Courtesy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::AnswerTime => "answer_time",
            RuleId::Greeting => "greeting",
            RuleId::BannedPhrase => "banned_phrase",
            RuleId::HangupOrder => "hangup_order",
            RuleId::Closing => "closing",
            RuleId::HoldEtiquette => "hold_etiquette",
            RuleId::DeadAir => "dead_air",
            RuleId::Interruption => "interruption",
            RuleId::SpeechRate => "speech_rate",
            RuleId::SilentCall => "silent_call",
            RuleId::Courtesy => "courtesy",
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        RuleId::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
                format!(
                    "unknown rule id {s:?} (the rules are: {})",
                    known.join(", ")
                )
            })
    }
}

/// A rule's judgement of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The call lacks what the rule needs (a mono recording, no ring event, no hold…): the
    /// rule does not guess.
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotApplicable => "not_applicable",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pass" => Ok(Verdict::Pass),
            "fail" => Ok(Verdict::Fail),
            "not_applicable" => Ok(Verdict::NotApplicable),
            other => Err(format!(
                "unknown verdict {other:?} (pass, fail or not_applicable)"
            )),
        }
    }
}

/// Evidence of something a rule noticed: when, who, the words heard, and what was wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    pub start: Seconds,
    pub end: Seconds,
    /// Whose conduct it is about (the agent, for every rule of this standard; `mixed` on mono).
    pub party: Party,
    /// The words heard (display form); empty for silences and timings.
    pub text: String,
    pub message: String,
    /// What to say instead, from `rules/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// True when this finding alone breaks the rule (a banned phrase, a late answer); false for
    /// evidence that counts towards a limit (the first of two talk-overs).
    #[serde(default = "yes")]
    pub violation: bool,
}

fn yes() -> bool {
    true
}

/// One rule's verdict on a whole call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub rule: RuleId,
    /// The rule's name in the standard (e.g. 服务忌语).
    pub name: String,
    pub verdict: Verdict,
    /// Points deducted from the score (0 unless the verdict is `fail`).
    pub deduction: u32,
    /// True when this failure sets the whole score to 0 (一票否决).
    #[serde(default)]
    pub critical: bool,
    pub findings: Vec<Finding>,
    /// Why the verdict is what it is, in one line (always set for `not_applicable`).
    #[serde(default)]
    pub note: String,
}

/// Whether the recording keeps the parties apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Agent and customer on their own channels.
    TwoParty,
    /// One mixed channel: rules that must know who spoke say `not_applicable`.
    Mono,
}

/// One thing that became known about the call, at the moment it became known.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    Event(&'a CallEvent),
    /// A stretch of one party's speech, closed (known at its end).
    Speech {
        party: Party,
        span: SpeechSpan,
    },
    /// What was heard in a stretch of speech (known at its end).
    Utterance(&'a Utterance),
}

impl Item<'_> {
    /// When the item becomes known, in media time.
    pub fn known_at(&self) -> Seconds {
        match self {
            Item::Event(e) => e.t,
            Item::Speech { span, .. } => span.end,
            Item::Utterance(u) => u.end,
        }
    }

    fn order(&self) -> u8 {
        match self {
            Item::Event(_) => 0,
            Item::Utterance(_) => 1,
            Item::Speech { .. } => 2,
        }
    }
}

/// A recorded call's items in the order a live call would deliver them: by the time each
/// becomes known; at equal times events first, then utterances, then speech spans (so a rule
/// that sees a span close can quote the words said in it).
pub fn items_of<'a>(transcript: &'a CallTranscript, events: &'a [CallEvent]) -> Vec<Item<'a>> {
    let mut items: Vec<Item<'a>> = events.iter().map(Item::Event).collect();
    for track in &transcript.tracks {
        items.extend(track.speech.iter().map(|span| Item::Speech {
            party: track.party,
            span: *span,
        }));
    }
    items.extend(transcript.utterances.iter().map(Item::Utterance));
    items.sort_by(|a, b| {
        a.known_at()
            .0
            .total_cmp(&b.known_at().0)
            .then(a.order().cmp(&b.order()))
    });
    items
}

/// The layout of a transcript: mono when its one track is the mixed party.
pub fn layout_of(transcript: &CallTranscript) -> Layout {
    if transcript.tracks.iter().any(|t| t.party == Party::Mixed) {
        Layout::Mono
    } else {
        Layout::TwoParty
    }
}

/// Scores a whole recorded call: every item through a fresh engine, then the verdicts.
pub fn judge_call(
    rules: &RuleSet,
    analyzer: &TextAnalyzer,
    transcript: &CallTranscript,
    events: &[CallEvent],
) -> Vec<RuleResult> {
    let mut engine = Engine::new(rules, analyzer, layout_of(transcript));
    let mut sink = Vec::new();
    for item in items_of(transcript, events) {
        engine.push(item, &mut sink);
        sink.clear();
    }
    engine.finish(transcript.duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_and_verdicts_round_trip_through_their_names() {
        for id in RuleId::ALL {
            assert_eq!(id.as_str().parse::<RuleId>(), Ok(id));
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
        assert!("greetings"
            .parse::<RuleId>()
            .unwrap_err()
            .contains("greeting"));
        for v in [Verdict::Pass, Verdict::Fail, Verdict::NotApplicable] {
            assert_eq!(v.as_str().parse::<Verdict>(), Ok(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
    }
}
