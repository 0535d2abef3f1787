//! `courtesy` (十字用语): the agent uses the basic polite words (请, 您好, 对不起/抱歉, 谢谢, 再见).
//!
//! A soft rule with a small weight: it fails when the agent uses fewer than `min_kinds` of the
//! kinds of polite words over the whole call. Judged at call end.

use serde::Deserialize;
use toml::Spanned;

use crate::party::Seconds;

use super::config::{Compiler, NamedList, Part};
use super::engine::{conduct_party, Check, Judgement};
use super::{CallState, Finding, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    min_kinds: Spanned<u32>,
    kind: Spanned<Vec<NamedList>>,
}

#[derive(Debug)]
pub struct Spec {
    pub min_kinds: u32,
    pub kinds: Vec<Part>,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    let kinds = cx.parts(&p.kind, "kind");
    let min_kinds = cx.count(&p.min_kinds, "min_kinds", 1..kinds.len().max(1) as u32);
    Spec { min_kinds, kinds }
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
        let agent = call.agent_utterances();
        if agent.is_empty() {
            return Judgement::not_applicable("the agent never spoke");
        }
        let (used, unused): (Vec<&crate::rules::config::Part>, Vec<_>) = self
            .spec
            .kinds
            .iter()
            .partition(|k| agent.iter().any(|u| k.set.occurs_in(&u.heard)));
        let names = |v: &[&crate::rules::config::Part]| {
            v.iter()
                .map(|k| k.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if used.len() >= self.spec.min_kinds as usize {
            return Judgement::pass(format!("used {}", names(&used)));
        }
        let message = format!(
            "used {} of the polite words ({}), fewer than {}; never {}",
            used.len(),
            if used.is_empty() {
                "none".to_string()
            } else {
                names(&used)
            },
            self.spec.min_kinds,
            names(&unused)
        );
        let finding = Finding {
            rule: self.id,
            start: agent.first().map_or(Seconds(0.0), |u| u.start),
            end: agent.last().map_or(Seconds(0.0), |u| u.end),
            party: conduct_party(call),
            text: String::new(),
            message: message.clone(),
            suggestion: None,
            violation: true,
        };
        Judgement::fail(message).with_findings(vec![finding])
    }
}
