//! `interruption` (不抢话不插话): the agent does not start speaking while the customer speaks.
//!
//! A talk-over is an agent speech span that starts inside a customer speech span and overlaps
//! it by more than `min_overlap` seconds (a short 嗯 or 好的 over the customer is back-channel,
//! not an interruption). `fail_at` talk-overs fail the call; each is found as soon as both spans
//! are closed, so the live monitor nudges at the one that breaks the rule.

use serde::Deserialize;
use toml::Spanned;

use crate::party::{Party, Seconds};
use crate::voice::SpeechSpan;

use super::config::Compiler;
use super::engine::{Check, Judgement};
use super::{CallState, Finding, Item, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    min_overlap: Spanned<f64>,
    fail_at: Spanned<u32>,
}

#[derive(Debug)]
pub struct Spec {
    pub min_overlap: f64,
    pub fail_at: u32,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    Spec {
        min_overlap: cx.within(&p.min_overlap, "min_overlap", 0.0..30.0),
        fail_at: cx.count(&p.fail_at, "fail_at", 1..100),
    }
}

pub struct Rule<'r> {
    id: RuleId,
    spec: &'r Spec,
    talk_overs: Vec<Finding>,
    /// How many of them were reported while the call went on.
    reported: usize,
}

impl<'r> Rule<'r> {
    pub fn new(id: RuleId, spec: &'r Spec) -> Self {
        Rule {
            id,
            spec,
            talk_overs: Vec::new(),
            reported: 0,
        }
    }

    fn talk_over(
        &self,
        call: &CallState,
        agent: &SpeechSpan,
        customer: &SpeechSpan,
    ) -> Option<Finding> {
        let starts_inside = customer.start.0 < agent.start.0 && agent.start.0 < customer.end.0;
        let overlap = agent.end.0.min(customer.end.0) - agent.start.0;
        if !starts_inside || overlap <= self.spec.min_overlap {
            return None;
        }
        let words = |party: Party, at: f64| {
            call.utterances_of(party)
                .find(|u| u.start.0 <= at + 0.05 && u.end.0 >= at)
                .map(|u| u.text.as_str().to_owned())
                .unwrap_or_default()
        };
        let heard = words(Party::Agent, agent.start.0);
        let over = words(Party::Customer, agent.start.0);
        let text = match (heard.is_empty(), over.is_empty()) {
            (false, false) => format!("{heard} (over the customer's: {over})"),
            (false, true) => heard,
            _ => over,
        };
        Some(Finding {
            rule: self.id,
            start: agent.start,
            end: Seconds(agent.start.0 + overlap),
            party: Party::Agent,
            text,
            message: format!("the agent talked over the customer for {overlap:.1} s"),
            suggestion: None,
            violation: true,
        })
    }
}

impl Check for Rule<'_> {
    fn observe(&mut self, item: &Item<'_>, call: &CallState, out: &mut Vec<Finding>) {
        let Item::Speech { party, span } = item else {
            return;
        };
        let found: Vec<Finding> = match party {
            Party::Agent => call
                .customer_speech
                .iter()
                .filter_map(|c| self.talk_over(call, span, c))
                .collect(),
            Party::Customer => call
                .agent_speech
                .iter()
                .filter_map(|a| self.talk_over(call, a, span))
                .collect(),
            Party::Mixed => Vec::new(),
        };
        self.talk_overs.extend(found);
        if self.talk_overs.len() >= self.spec.fail_at as usize {
            let numbered = self.talk_overs.len();
            for (i, f) in self.talk_overs.iter().enumerate().skip(self.reported) {
                let mut f = f.clone();
                f.message = format!("{} (talk-over {} of {numbered})", f.message, i + 1);
                out.push(f);
            }
            self.reported = self.talk_overs.len();
        }
    }

    fn finish(&mut self, call: &CallState) -> Judgement {
        if call.is_mono() {
            return Judgement::not_applicable(
                "mono recording: who talked over whom cannot be told",
            );
        }
        let n = self.talk_overs.len();
        if n >= self.spec.fail_at as usize {
            return Judgement::fail(format!(
                "{n} talk-over(s) of more than {:.1} s",
                self.spec.min_overlap
            ));
        }
        let evidence = self
            .talk_overs
            .iter()
            .cloned()
            .map(|f| Finding {
                violation: false,
                ..f
            })
            .collect();
        Judgement::pass(format!(
            "{n} talk-over(s); the rule fails at {}",
            self.spec.fail_at
        ))
        .with_findings(evidence)
    }
}
