//! `silent_call` (无声电话处理): when the customer never speaks, the agent follows the script.
//!
//! The script (seed 002): the inquiry (您好，请问有什么可以帮您?) at least `min_inquiries` times,
//! `min_pause` seconds or more apart, then the closing line (很抱歉，您的电话没有声音，请您挂机后
//! 重新拨打…再见), and only then hang up. Never 喂、喂、听不见 or 不说话就挂了 (`forbidden`: reported
//! the moment it is heard while the customer is still silent). If the customer hangs up first,
//! the agent is judged only on what they said until then.

use serde::Deserialize;
use toml::Spanned;

use crate::party::{Party, Seconds};

use super::config::{Compiler, PhraseList};
use super::engine::{Check, Judgement};
use super::phrase::PhraseSet;
use super::state::HeardUtterance;
use super::{CallState, Finding, Item, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    min_inquiries: Spanned<u32>,
    min_pause: Spanned<f64>,
    inquiry: PhraseList,
    closing: PhraseList,
    forbidden: PhraseList,
}

#[derive(Debug)]
pub struct Spec {
    pub min_inquiries: u32,
    pub min_pause: f64,
    pub inquiry: PhraseSet,
    pub closing: PhraseSet,
    pub forbidden: PhraseSet,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    Spec {
        min_inquiries: cx.count(&p.min_inquiries, "min_inquiries", 1..10),
        min_pause: cx.within(&p.min_pause, "min_pause", 0.0..60.0),
        inquiry: cx.phrases(&p.inquiry, "inquiry"),
        closing: cx.phrases(&p.closing, "closing"),
        forbidden: cx.phrases(&p.forbidden, "forbidden"),
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

    fn forbidden(&self, u: &HeardUtterance) -> Option<Finding> {
        let hits = self.spec.forbidden.find_all(&u.heard);
        if hits.is_empty() {
            return None;
        }
        let said: Vec<&str> = hits
            .iter()
            .map(|(i, _)| self.spec.forbidden.phrases[*i].text.as_str())
            .collect();
        Some(Finding {
            rule: self.id,
            start: u.start,
            end: u.end,
            party: Party::Agent,
            text: u.text.as_str().to_owned(),
            message: format!(
                "silent call: forbidden line {} instead of the script",
                said.join(", ")
            ),
            suggestion: None,
            violation: true,
        })
    }
}

impl Check for Rule<'_> {
    fn observe(&mut self, item: &Item<'_>, call: &CallState, out: &mut Vec<Finding>) {
        let Item::Utterance(u) = item else { return };
        if u.party != Party::Agent || !call.customer_silent() {
            return;
        }
        if let Some(f) = call.utterances.last().and_then(|h| self.forbidden(h)) {
            out.push(f);
        }
    }

    fn finish(&mut self, call: &CallState) -> Judgement {
        if call.is_mono() {
            return Judgement::not_applicable(
                "mono recording: the customer's silence cannot be told",
            );
        }
        if !call.customer_silent() {
            return Judgement::not_applicable("the customer spoke: not a silent call");
        }
        let customer_gone = call.hangup_of(Party::Customer).map(|e| e.t.0);
        let agent_hangup = call.hangup_of(Party::Agent).map(|e| e.t.0);
        let cutoff = customer_gone.unwrap_or(f64::INFINITY);
        let agent: Vec<&HeardUtterance> = call
            .agent_utterances()
            .into_iter()
            .filter(|u| u.start.0 < cutoff)
            .collect();
        // Forbidden lines were reported as they were heard; the other problems are found here.
        let forbidden = agent.iter().filter_map(|u| self.forbidden(u)).count();
        let mut problems: Vec<String> = Vec::new();
        // The longest run of inquiries, each `min_pause` or more after the one before.
        let inquiries: Vec<&&HeardUtterance> = agent
            .iter()
            .filter(|u| self.spec.inquiry.occurs_in(&u.heard))
            .collect();
        let mut run = 0usize;
        let mut last_end = f64::NEG_INFINITY;
        for u in &inquiries {
            if u.start.0 - last_end >= self.spec.min_pause {
                run += 1;
                last_end = u.end.0;
            }
        }
        let closing = inquiries.last().and_then(|last| {
            agent
                .iter()
                .find(|u| u.start.0 >= last.start.0 && self.spec.closing.occurs_in(&u.heard))
        });
        let hung_up_early = |by: Option<&&HeardUtterance>| match (agent_hangup, by) {
            (Some(h), Some(u)) => h < u.end.0 && customer_gone.is_none_or(|c| c > h),
            (Some(h), None) => customer_gone.is_none_or(|c| c > h),
            (None, _) => false,
        };
        if customer_gone.is_some() && customer_gone < agent_hangup.or(Some(f64::INFINITY)) {
            // The customer left first: only what the agent managed to say counts.
            if inquiries.is_empty() {
                problems.push("no inquiry before the customer hung up".into());
            }
        } else {
            if run < self.spec.min_inquiries as usize {
                problems.push(format!(
                    "{run} inquiry(ies) (请问有什么可以帮您) {:.0} s apart, the script asks for {}",
                    self.spec.min_pause, self.spec.min_inquiries
                ));
            }
            if closing.is_none() {
                problems.push("no closing line (您的电话没有声音，请您挂机后重新拨打)".into());
            }
            if hung_up_early(closing) {
                problems.push("hung up before finishing the script".into());
            }
        }
        if agent.is_empty() {
            problems = vec!["the agent said nothing".into()];
        }
        if problems.is_empty() && forbidden == 0 {
            return Judgement::pass(format!(
                "silent call handled by the script ({run} inquiries, closing line said)"
            ));
        }
        if forbidden > 0 {
            problems.insert(0, format!("{forbidden} forbidden line(s)"));
        }
        let message = format!("silent call: {}", problems.join("; "));
        if problems.len() == 1 && forbidden > 0 {
            return Judgement::fail(message);
        }
        let findings = vec![Finding {
            rule: self.id,
            start: agent.first().map_or(Seconds(call.answer()), |u| u.start),
            end: agent.last().map_or(Seconds(call.answer()), |u| u.end),
            party: Party::Agent,
            text: agent
                .iter()
                .map(|u| u.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            message: message.clone(),
            suggestion: None,
            violation: true,
        }];
        Judgement::fail(message).with_findings(findings)
    }
}
