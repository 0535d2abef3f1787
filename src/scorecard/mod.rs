//! Scorecards: a call's verdicts, evidence and score, for QA reviewers and for machines.
//!
//! **In:** the rules' results for one call ([`crate::rules::RuleResult`]), its transcript and its
//! events. **Out:** a [`Scorecard`] (CONTRACT §3) and its three renderings: one JSON object per
//! line ([`Scorecard::write_json_line`]), a readable text card ([`text`]) and a self-contained
//! HTML page with both parties on a timeline ([`html`]).
//!
//! The score starts at the standard's `full_score`; every failed rule deducts its points, a
//! critical failure (一票否决) sets it to 0, and it never goes below 0.

pub mod html;
pub mod text;

use std::io::{self, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::call::CallEvent;
use crate::party::{Party, Seconds};
use crate::rules::{Layout, RuleResult, RuleSet, Verdict};
use crate::transcript::CallTranscript;

/// Which standard scored the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardRef {
    pub name: String,
    pub version: String,
    /// Where the rules were read from.
    pub rules: PathBuf,
}

/// One utterance as the scorecard shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardUtterance {
    pub party: Party,
    pub start: Seconds,
    pub end: Seconds,
    pub text: String,
}

/// A scored call (CONTRACT §3, with optional extras).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub call_id: String,
    pub score: u32,
    pub full_score: u32,
    /// A critical rule failed: the score is 0 whatever else.
    pub critical_failure: bool,
    /// The recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PathBuf>,
    pub duration: Seconds,
    pub layout: Layout,
    pub standard: StandardRef,
    /// One entry per rule of the standard, in the standard's order.
    pub rules: Vec<RuleResult>,
    pub utterances: Vec<CardUtterance>,
    /// The call events the rules saw (reported and inferred).
    pub events: Vec<CallEvent>,
    /// Things a reviewer should know (speech that could not be transcribed, …).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The call was not heard in full (a device lost mid-call): verdicts cover what was heard.
    #[serde(default)]
    pub partial: bool,
}

/// The score the results give under `full_score`.
pub fn score_of(full_score: u32, results: &[RuleResult]) -> (u32, bool) {
    let failed = || results.iter().filter(|r| r.verdict == Verdict::Fail);
    let critical = failed().any(|r| r.critical);
    let deducted: u32 = failed().map(|r| r.deduction).sum();
    (
        if critical {
            0
        } else {
            full_score.saturating_sub(deducted)
        },
        critical,
    )
}

impl Scorecard {
    /// Assembles the card of one call.
    pub fn new(
        rules: &RuleSet,
        transcript: &CallTranscript,
        mut events: Vec<CallEvent>,
        results: Vec<RuleResult>,
    ) -> Scorecard {
        let (score, critical_failure) = score_of(rules.standard.full_score, &results);
        events.sort_by(|a, b| a.t.0.total_cmp(&b.t.0));
        Scorecard {
            call_id: transcript.call_id.clone(),
            score,
            full_score: rules.standard.full_score,
            critical_failure,
            source: (!transcript.source.as_os_str().is_empty()).then(|| transcript.source.clone()),
            duration: transcript.duration,
            layout: crate::rules::layout_of(transcript),
            standard: StandardRef {
                name: rules.standard.name.clone(),
                version: rules.standard.version.clone(),
                rules: rules.dir.clone(),
            },
            rules: results,
            utterances: transcript
                .utterances
                .iter()
                .map(|u| CardUtterance {
                    party: u.party,
                    start: u.start,
                    end: u.end,
                    text: u.text.clone(),
                })
                .collect(),
            events,
            warnings: transcript.warnings.clone(),
            partial: false,
        }
    }

    /// The card as one line of JSON (JSON Lines), newline included.
    pub fn write_json_line(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }

    /// Verdict counts: (pass, fail, not applicable).
    pub fn tally(&self) -> (usize, usize, usize) {
        let count = |v| self.rules.iter().filter(|r| r.verdict == v).count();
        (
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::NotApplicable),
        )
    }
}

/// `mm:ss.s` of a media time.
pub fn clock(t: Seconds) -> String {
    let sign = if t.0 < 0.0 { "-" } else { "" };
    let total = t.0.abs();
    let minutes = (total / 60.0).floor();
    format!(
        "{sign}{:02}:{:04.1}",
        minutes as u64,
        total - minutes * 60.0
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rules::{Finding, RuleId};

    pub(crate) fn result(
        rule: RuleId,
        verdict: Verdict,
        deduction: u32,
        critical: bool,
    ) -> RuleResult {
        RuleResult {
            rule,
            name: rule.as_str().into(),
            verdict,
            deduction,
            critical,
            findings: if verdict == Verdict::Fail {
                vec![Finding {
                    rule,
                    start: Seconds(0.6),
                    end: Seconds(2.9),
                    party: Party::Agent,
                    text: "喂，什么事？".into(),
                    message: "forbidden opener 喂".into(),
                    suggestion: Some("您好，请问有什么可以帮您？".into()),
                    violation: true,
                }]
            } else {
                vec![]
            },
            note: String::new(),
        }
    }

    #[test]
    fn failed_rules_deduct_and_a_critical_failure_zeroes_the_score() {
        let results = vec![
            result(RuleId::Greeting, Verdict::Fail, 10, false),
            result(RuleId::Closing, Verdict::Fail, 10, false),
            result(RuleId::DeadAir, Verdict::Pass, 0, false),
            result(RuleId::AnswerTime, Verdict::NotApplicable, 0, false),
        ];
        assert_eq!(score_of(100, &results), (80, false));
        let mut critical = results.clone();
        critical.push(result(RuleId::BannedPhrase, Verdict::Fail, 100, true));
        assert_eq!(score_of(100, &critical), (0, true));
        let many: Vec<RuleResult> = (0..20)
            .map(|_| result(RuleId::Greeting, Verdict::Fail, 10, false))
            .collect();
        assert_eq!(score_of(100, &many), (0, false), "never below 0");
    }

    #[test]
    fn clock_reads_minutes_and_seconds() {
        assert_eq!(clock(Seconds(92.34)), "01:32.3");
        assert_eq!(clock(Seconds(-8.0)), "-00:08.0");
    }
}
