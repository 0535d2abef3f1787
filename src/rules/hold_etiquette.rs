//! `hold_etiquette` (等待礼仪): every hold is announced (请您稍等) and closed with thanks
//! (感谢您的耐心等待 / 让您久等了).
//!
//! Holds are reported ones and implicit ones (see [`super::holds`]). A hold is announced when an
//! agent utterance within `announce_within` seconds before it starts holds an `announce` phrase,
//! and thanked when one within `thank_within` seconds after it ends holds a `thank` phrase.
//! Judged at call end.

use serde::Deserialize;
use toml::Spanned;

use crate::party::Seconds;

use super::config::{Compiler, PhraseList};
use super::engine::{conduct_party, Check, Judgement};
use super::phrase::PhraseSet;
use super::{CallState, Finding, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    announce_within: Spanned<f64>,
    thank_within: Spanned<f64>,
    implicit_after: Spanned<f64>,
    implicit_max_customer_share: Spanned<f64>,
    announce: PhraseList,
    thank: PhraseList,
}

#[derive(Debug)]
pub struct Spec {
    pub announce_within: f64,
    pub thank_within: f64,
    pub implicit_after: f64,
    pub implicit_max_customer_share: f64,
    pub announce: PhraseSet,
    pub thank: PhraseSet,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    Spec {
        announce_within: cx.within(&p.announce_within, "announce_within", 0.0..120.0),
        thank_within: cx.within(&p.thank_within, "thank_within", 0.0..120.0),
        implicit_after: cx.within(&p.implicit_after, "implicit_after", 1.0..600.0),
        implicit_max_customer_share: cx.within(
            &p.implicit_max_customer_share,
            "implicit_max_customer_share",
            0.0..1.0,
        ),
        announce: cx.phrases(&p.announce, "announce"),
        thank: cx.phrases(&p.thank, "thank"),
    }
}

pub struct Rule<'r> {
    id: RuleId,
    _spec: &'r Spec,
}

impl<'r> Rule<'r> {
    pub fn new(id: RuleId, spec: &'r Spec) -> Self {
        Rule { id, _spec: spec }
    }
}

impl Check for Rule<'_> {
    fn finish(&mut self, call: &CallState) -> Judgement {
        if call.is_mono() {
            return Judgement::not_applicable(
                "mono recording: the agent's words cannot be told apart",
            );
        }
        if call.holds.is_empty() {
            return Judgement::not_applicable(
                "no hold: none reported and the agent was never silent long enough",
            );
        }
        let mut findings = Vec::new();
        for hold in &call.holds {
            let mut missing = Vec::new();
            if !hold.announced() {
                missing.push("not announced (请您稍等)");
            }
            if hold.thanked_by.is_none() && !hold.open_ended {
                missing.push("not closed with thanks (感谢您的耐心等待)");
            }
            if missing.is_empty() {
                continue;
            }
            let kind = if hold.reported {
                "hold"
            } else {
                "agent silence"
            };
            let around: Vec<&str> = [hold.announced_by, hold.thanked_by]
                .into_iter()
                .flatten()
                .map(|i| call.utterances[i].text.as_str())
                .collect();
            findings.push(Finding {
                rule: self.id,
                start: Seconds(hold.start),
                end: Seconds(hold.end),
                party: conduct_party(call),
                text: around.join(" "),
                message: format!(
                    "{kind} of {:.1} s {}",
                    hold.end - hold.start,
                    missing.join(", ")
                ),
                suggestion: None,
                violation: true,
            });
        }
        let n = call.holds.len();
        if findings.is_empty() {
            Judgement::pass(format!(
                "{n} hold(s), each announced and closed with thanks"
            ))
        } else {
            Judgement::fail(format!(
                "{} of {n} hold(s) without the proper words",
                findings.len()
            ))
            .with_findings(findings)
        }
    }
}
