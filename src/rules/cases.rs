//! The test cases rule files carry (`[[case]]`): utterances and events in, a verdict out.
//!
//! Each case becomes a small call — its utterances analysed like Whisper's output, each one also
//! a speech span — scored by the whole standard; the case's rule must give the expected verdict
//! (and, where the case says so, that many findings, with that text in their messages). Run by
//! `zhijian rules test` and by `cargo test`.

use std::path::PathBuf;

use crate::party::{Party, Seconds};
use crate::text::TextAnalyzer;
use crate::transcript::{CallTranscript, Track, Utterance};
use crate::voice::SpeechSpan;

use super::config::{Case, CaseLayout, RuleSet};
use super::{judge_call, RuleId, RuleResult};

/// How one case went.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub rule: RuleId,
    pub path: PathBuf,
    pub name: String,
    /// `None` when the case passed; otherwise what differed.
    pub failure: Option<String>,
}

/// The call a case describes.
pub fn call_of(case: &Case, analyzer: &TextAnalyzer) -> CallTranscript {
    let mono = case.layout == Some(CaseLayout::Mono);
    let mut utterances: Vec<Utterance> = case
        .utterances
        .iter()
        .map(|u| {
            let text = analyzer.analyze(&u.text);
            Utterance {
                party: if mono { Party::Mixed } else { u.party },
                start: Seconds(u.start),
                end: Seconds(u.end),
                text: text.display,
                normalized: text.normalized,
                words: text.words,
            }
        })
        .collect();
    utterances.sort_by(|a, b| a.start.0.total_cmp(&b.start.0));
    let parties: &[Party] = if mono {
        &[Party::Mixed]
    } else {
        &[Party::Agent, Party::Customer]
    };
    let tracks = parties
        .iter()
        .map(|&party| Track {
            party,
            speech: utterances
                .iter()
                .filter(|u| u.party == party)
                .map(|u| SpeechSpan {
                    start: u.start,
                    end: u.end,
                })
                .collect(),
        })
        .collect();
    let last = utterances
        .iter()
        .map(|u| u.end.0)
        .chain(case.events.iter().map(|e| e.t.0))
        .fold(0.0, f64::max);
    CallTranscript {
        call_id: case.name.clone(),
        source: PathBuf::new(),
        duration: Seconds(case.duration.unwrap_or(last + 1.0)),
        sample_rate: 16000,
        encoding: "test case".into(),
        tracks,
        utterances,
        warnings: Vec::new(),
        tones: Default::default(),
    }
}

/// Checks one rule's result against a case; `None` when it is as expected.
pub fn check(case: &Case, result: &RuleResult) -> Option<String> {
    let mut problems = Vec::new();
    if result.verdict != case.expect {
        problems.push(format!(
            "expected {}, got {} ({})",
            case.expect, result.verdict, result.note
        ));
    }
    if let Some(n) = case.findings {
        if result.findings.len() != n {
            let messages: Vec<&str> = result.findings.iter().map(|f| f.message.as_str()).collect();
            problems.push(format!(
                "expected {n} finding(s), got {}: {messages:?}",
                result.findings.len()
            ));
        }
    }
    if let Some(text) = &case.message {
        let ok = if result.findings.is_empty() {
            result.note.contains(text.as_str())
        } else {
            result
                .findings
                .iter()
                .all(|f| f.message.contains(text.as_str()))
        };
        if !ok {
            let messages: Vec<&str> = result.findings.iter().map(|f| f.message.as_str()).collect();
            problems.push(format!(
                "expected {text:?} in every message; got {messages:?} (note: {})",
                result.note
            ));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Runs every case of every rule.
pub fn run_all(rules: &RuleSet, analyzer: &TextAnalyzer) -> Vec<CaseOutcome> {
    let mut out = Vec::new();
    for rule in &rules.rules {
        for case in &rule.cases {
            let call = call_of(case, analyzer);
            let results = judge_call(rules, analyzer, &call, &case.events);
            let failure = match results.iter().find(|r| r.rule == rule.id) {
                Some(result) => check(case, result),
                None => Some("the rule gave no result".into()),
            };
            out.push(CaseOutcome {
                rule: rule.id,
                path: rule.path.clone(),
                name: case.name.clone(),
                failure,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::analyzer;

    #[test]
    fn every_case_in_the_project_rules_passes() {
        let rules = RuleSet::built_in(analyzer()).unwrap();
        let outcomes = run_all(&rules, analyzer());
        let failed: Vec<String> = outcomes
            .iter()
            .filter_map(|o| {
                o.failure
                    .as_ref()
                    .map(|f| format!("{} [{}]: {f}", o.path.display(), o.name))
            })
            .collect();
        assert!(
            failed.is_empty(),
            "{} of {} cases failed:\n{}",
            failed.len(),
            outcomes.len(),
            failed.join("\n")
        );
        for id in RuleId::ALL {
            let n = outcomes.iter().filter(|o| o.rule == id).count();
            assert!(n >= 3, "{id} has only {n} test cases");
        }
    }
}
