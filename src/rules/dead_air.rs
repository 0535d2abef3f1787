//! `dead_air` (避免冷场): neither party silent for longer than `max_silence` mid-call, outside
//! an announced hold.
//!
//! Silences are the gaps between the speech spans of both parties together, from the first
//! speech of the call to the last (before the first words the greeting rule judges the delay).
//! A silence that overlaps a hold the agent announced is not dead air; an unannounced hold's
//! silence is (the customer was left in silence without a word). Judged at call end.

use serde::Deserialize;
use toml::Spanned;

use crate::party::Seconds;

use super::config::Compiler;
use super::engine::{conduct_party, Check, Judgement};
use super::{CallState, Finding, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    max_silence: Spanned<f64>,
}

#[derive(Debug)]
pub struct Spec {
    pub max_silence: f64,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    Spec {
        max_silence: cx.within(&p.max_silence, "max_silence", 1.0..600.0),
    }
}

pub struct Rule<'r> {
    id: RuleId,
    spec: &'r Spec,
}

impl<'r> Rule<'r> {
    pub fn new(id: RuleId, spec: &'r Spec) -> Self {
        Rule { id, spec }
    }
}

/// The gaps between the union of `spans`, in time order.
pub(crate) fn silences(spans: &mut [(f64, f64)]) -> Vec<(f64, f64)> {
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut gaps = Vec::new();
    let mut covered_to = f64::NEG_INFINITY;
    for &(start, end) in spans.iter() {
        if covered_to.is_finite() && start > covered_to {
            gaps.push((covered_to, start));
        }
        covered_to = covered_to.max(end);
    }
    gaps
}

impl Check for Rule<'_> {
    fn finish(&mut self, call: &CallState) -> Judgement {
        let mut spans: Vec<(f64, f64)> = call.all_speech().map(|s| (s.start.0, s.end.0)).collect();
        if spans.is_empty() {
            return Judgement::not_applicable("no speech at all");
        }
        let mut findings = Vec::new();
        let mut excused = 0;
        for (from, to) in silences(&mut spans) {
            if to - from <= self.spec.max_silence {
                continue;
            }
            if call
                .holds
                .iter()
                .any(|h| h.announced() && h.start < to && from < h.end)
            {
                excused += 1;
                continue;
            }
            let before = call
                .utterances
                .iter()
                .filter(|u| u.end.0 <= from + 0.05)
                .max_by(|a, b| a.end.0.total_cmp(&b.end.0))
                .map(|u| u.text.clone())
                .unwrap_or_default();
            findings.push(Finding {
                rule: self.id,
                start: Seconds(from),
                end: Seconds(to),
                party: conduct_party(call),
                text: before,
                message: format!(
                    "{:.1} s of silence on both sides (limit {:.0} s)",
                    to - from,
                    self.spec.max_silence
                ),
                suggestion: None,
                violation: true,
            });
        }
        let excuse = if excused > 0 {
            format!(" ({excused} long silence(s) inside announced holds)")
        } else {
            String::new()
        };
        if findings.is_empty() {
            Judgement::pass(format!(
                "no silence longer than {:.0} s{excuse}",
                self.spec.max_silence
            ))
        } else {
            Judgement::fail(format!(
                "{} silence(s) longer than {:.0} s{excuse}",
                findings.len(),
                self.spec.max_silence
            ))
            .with_findings(findings)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silences_are_the_gaps_of_the_union() {
        let mut spans = vec![
            (5.0, 9.0),
            (0.0, 3.0),
            (2.0, 4.0),
            (20.0, 21.0),
            (8.0, 10.0),
        ];
        assert_eq!(silences(&mut spans), vec![(4.0, 5.0), (10.0, 20.0)]);
        assert!(silences(&mut []).is_empty());
    }
}
