//! `closing` (结束语): the agent ends by asking for further needs, thanking, and saying goodbye.
//!
//! The agent's utterances that end within the last `window` seconds of their speech must hold a
//! phrase of every `part` (询问, 致谢, 道别). Judged at call end. On a silent call the script's
//! own closing is judged by `silent_call` instead.

use serde::Deserialize;
use toml::Spanned;

use super::config::{Compiler, NamedList, Part};
use super::engine::{conduct_party, Check, Judgement};
use super::state::HeardUtterance;
use super::{CallState, Finding, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    window: Spanned<f64>,
    part: Spanned<Vec<NamedList>>,
}

#[derive(Debug)]
pub struct Spec {
    pub window: f64,
    pub parts: Vec<Part>,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    Spec {
        window: cx.within(&p.window, "window", 1.0..300.0),
        parts: cx.parts(&p.part, "part"),
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

impl Check for Rule<'_> {
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
        let agent = call.agent_utterances();
        let Some(last_end) = agent.iter().map(|u| u.end.0).reduce(f64::max) else {
            return Judgement::not_applicable("the agent never spoke");
        };
        let window: Vec<&HeardUtterance> = agent
            .into_iter()
            .filter(|u| u.end.0 >= last_end - self.spec.window)
            .collect();
        let missing: Vec<&str> = self
            .spec
            .parts
            .iter()
            .filter(|part| !window.iter().any(|u| part.set.occurs_in(&u.heard)))
            .map(|part| part.name.as_str())
            .collect();
        if missing.is_empty() {
            let names: Vec<&str> = self.spec.parts.iter().map(|p| p.name.as_str()).collect();
            return Judgement::pass(format!("the closing has {}", names.join(", ")));
        }
        let message = format!("the closing lacks {}", missing.join(", "));
        let finding = Finding {
            rule: self.id,
            start: window[0].start,
            end: window[window.len() - 1].end,
            party: conduct_party(call),
            text: window
                .iter()
                .map(|u| u.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            message: message.clone(),
            suggestion: None,
            violation: true,
        };
        Judgement::fail(message).with_findings(vec![finding])
    }
}
