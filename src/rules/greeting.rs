//! `greeting` (标准开头语): the agent opens with every required part, no forbidden opener, and
//! without keeping the customer waiting.
//!
//! The *opening* is the agent's first utterance after answer and those that follow it within
//! `opening_window` seconds, until the customer first speaks. It must contain a phrase of every
//! `part` (问候, 自报家门, 工号/姓名, 服务), none of `forbidden` (喂, 什么事…), and start within
//! `max_delay` seconds of answer. Judged as soon as the opening is over (the customer speaks, or
//! the window passes), so the live monitor can nudge; on a silent call (the customer never
//! speaks) the `silent_call` rule judges the agent's openings instead.

use serde::Deserialize;
use toml::Spanned;

use crate::party::Seconds;

use super::config::{Compiler, NamedList, Part, PhraseList};
use super::engine::{conduct_party, Check, Judgement};
use super::phrase::PhraseSet;
use super::state::HeardUtterance;
use super::{CallState, Finding, Item, RuleId, Verdict};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    max_delay: Spanned<f64>,
    opening_window: Spanned<f64>,
    forbidden: PhraseList,
    part: Spanned<Vec<NamedList>>,
}

#[derive(Debug)]
pub struct Spec {
    pub max_delay: f64,
    pub opening_window: f64,
    pub forbidden: PhraseSet,
    pub parts: Vec<Part>,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    Spec {
        max_delay: cx.within(&p.max_delay, "max_delay", 0.0..60.0),
        opening_window: cx.within(&p.opening_window, "opening_window", 1.0..60.0),
        forbidden: cx.phrases(&p.forbidden, "forbidden"),
        parts: cx.parts(&p.part, "part"),
    }
}

pub struct Rule<'r> {
    id: RuleId,
    spec: &'r Spec,
    /// The verdict and its finding, once the opening was over while the call went on (a fail's
    /// finding was reported then).
    judged: Option<(Verdict, Finding)>,
}

impl<'r> Rule<'r> {
    pub fn new(id: RuleId, spec: &'r Spec) -> Self {
        Rule {
            id,
            spec,
            judged: None,
        }
    }

    /// The agent's opening utterances, and whether the opening is over.
    fn opening<'c>(&self, call: &'c CallState) -> Option<(Vec<&'c HeardUtterance>, bool)> {
        let answer = call.answer();
        let agent: Vec<&HeardUtterance> = call
            .agent_utterances()
            .into_iter()
            .filter(|u| u.end.0 > answer - 0.5)
            .collect();
        let first = *agent.first()?;
        let customer_from = call
            .customer_speech
            .iter()
            .map(|s| s.start.0)
            .filter(|&t| t > first.start.0 + 0.3)
            .fold(f64::INFINITY, f64::min);
        let until = customer_from.min(first.start.0 + self.spec.opening_window);
        let opening: Vec<&HeardUtterance> =
            agent.into_iter().filter(|u| u.start.0 < until).collect();
        let later_agent = call
            .utterances_of(crate::party::Party::Agent)
            .any(|u| u.start.0 >= until);
        let over = customer_from.is_finite() || later_agent;
        Some((opening, over))
    }

    fn judge(&self, call: &CallState, opening: &[&HeardUtterance]) -> (Verdict, Finding) {
        let mut problems = Vec::new();
        let missing: Vec<&str> = self
            .spec
            .parts
            .iter()
            .filter(|part| !opening.iter().any(|u| part.set.occurs_in(&u.heard)))
            .map(|part| part.name.as_str())
            .collect();
        if !missing.is_empty() {
            problems.push(format!("missing parts: {}", missing.join(", ")));
        }
        let forbidden: Vec<&str> = opening
            .iter()
            .flat_map(|u| self.spec.forbidden.find_all(&u.heard))
            .map(|(i, _)| self.spec.forbidden.phrases[i].text.as_str())
            .collect();
        if !forbidden.is_empty() {
            problems.push(format!("forbidden opener {}", forbidden.join(", ")));
        }
        let first = opening[0];
        let delay = first.start.0 - call.answer();
        if delay > self.spec.max_delay {
            problems.push(format!(
                "first words {delay:.1} s after answer (limit {:.0} s)",
                self.spec.max_delay
            ));
        }
        let verdict = if problems.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        let message = if problems.is_empty() {
            format!(
                "opening has {}",
                self.spec
                    .parts
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            problems.join("; ")
        };
        let finding = Finding {
            rule: self.id,
            start: first.start,
            end: opening.last().map_or(first.end, |u| u.end),
            party: conduct_party(call),
            text: opening
                .iter()
                .map(|u| u.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            message,
            suggestion: None,
            violation: verdict == Verdict::Fail,
        };
        (verdict, finding)
    }
}

impl Check for Rule<'_> {
    fn observe(&mut self, item: &Item<'_>, call: &CallState, out: &mut Vec<Finding>) {
        if self.judged.is_some() || call.is_mono() || matches!(item, Item::Event(_)) {
            return;
        }
        let Some((opening, true)) = self.opening(call) else {
            return;
        };
        if opening.is_empty() {
            return;
        }
        let (verdict, finding) = self.judge(call, &opening);
        if verdict == Verdict::Fail {
            out.push(finding.clone());
        }
        self.judged = Some((verdict, finding));
    }

    fn finish(&mut self, call: &CallState) -> Judgement {
        if call.is_mono() {
            return Judgement::not_applicable(
                "mono recording: the agent's words cannot be told apart",
            );
        }
        if call.customer_silent() {
            return Judgement::not_applicable(
                "silent call (the customer never spoke): judged by silent_call",
            );
        }
        if let Some((verdict, finding)) = &self.judged {
            return match verdict {
                Verdict::Fail => Judgement::fail(finding.message.clone()),
                _ => Judgement::pass(finding.message.clone()),
            };
        }
        let opening = self.opening(call).map(|(o, _)| o).unwrap_or_default();
        if opening.is_empty() {
            let finding = Finding {
                rule: self.id,
                start: Seconds(call.answer()),
                end: call.end.unwrap_or(Seconds(call.answer())),
                party: conduct_party(call),
                text: String::new(),
                message: "the agent never spoke".into(),
                suggestion: None,
                violation: true,
            };
            return Judgement::fail("the agent never spoke").with_findings(vec![finding]);
        }
        let (verdict, finding) = self.judge(call, &opening);
        let note = finding.message.clone();
        match verdict {
            Verdict::Fail => Judgement::fail(note).with_findings(vec![finding]),
            _ => Judgement::pass(note),
        }
    }
}
