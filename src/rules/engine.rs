//! The rules engine: one per call, fed one [`Item`] at a time.
//!
//! Each item is recorded in the [`CallState`] and then shown to every enabled rule, which may
//! report findings at once (the live monitor's nudges). [`Engine::finish`] closes the call and
//! asks every rule for its verdict. Runs on whatever thread owns it; it never blocks.

use std::collections::BTreeMap;

use crate::party::{Party, Seconds};
use crate::text::TextAnalyzer;

use super::config::{LoadedRule, RuleSet, Spec};
use super::state::{CallState, HeardUtterance};
use super::{
    answer_time, banned_phrase, closing, courtesy, dead_air, greeting, hangup_order,
    hold_etiquette, holds, interruption, silent_call, speech_rate, Finding, Item, Layout, RuleId,
    RuleResult, Verdict,
};

/// What a rule concluded about a whole call.
#[derive(Debug, Clone)]
pub(crate) struct Judgement {
    pub verdict: Verdict,
    /// Findings known only at the end (those reported while the call went on are kept by the
    /// engine and come first).
    pub findings: Vec<Finding>,
    pub note: String,
    /// Overrides the rule's weight (banned phrases deduct per category).
    pub deduction: Option<u32>,
    /// Overrides the rule's critical flag (critical banned-phrase categories).
    pub critical: Option<bool>,
}

impl Judgement {
    pub fn pass(note: impl Into<String>) -> Self {
        Judgement::new(Verdict::Pass, note)
    }

    pub fn fail(note: impl Into<String>) -> Self {
        Judgement::new(Verdict::Fail, note)
    }

    pub fn not_applicable(note: impl Into<String>) -> Self {
        Judgement::new(Verdict::NotApplicable, note)
    }

    fn new(verdict: Verdict, note: impl Into<String>) -> Self {
        Judgement {
            verdict,
            findings: Vec::new(),
            note: note.into(),
            deduction: None,
            critical: None,
        }
    }

    pub fn with_findings(mut self, findings: Vec<Finding>) -> Self {
        self.findings = findings;
        self
    }
}

/// A rule at work on one call.
pub(crate) trait Check {
    /// Sees each item after the call state has it; findings that are certain go to `out`.
    fn observe(&mut self, _item: &Item<'_>, _call: &CallState, _out: &mut Vec<Finding>) {}

    /// The verdict on the whole call.
    fn finish(&mut self, call: &CallState) -> Judgement;
}

/// The party a rule about the agent's conduct names: the agent, or the mixed party on mono.
pub(crate) fn conduct_party(call: &CallState) -> Party {
    if call.is_mono() {
        Party::Mixed
    } else {
        Party::Agent
    }
}

fn build<'r>(rule: &'r LoadedRule) -> Box<dyn Check + 'r> {
    let id = rule.id;
    match &rule.spec {
        Spec::AnswerTime(s) => Box::new(answer_time::Rule::new(id, s)),
        Spec::Greeting(s) => Box::new(greeting::Rule::new(id, s)),
        Spec::BannedPhrase(s) => Box::new(banned_phrase::Rule::new(id, s)),
        Spec::HangupOrder(s) => Box::new(hangup_order::Rule::new(id, s)),
        Spec::Closing(s) => Box::new(closing::Rule::new(id, s)),
        Spec::HoldEtiquette(s) => Box::new(hold_etiquette::Rule::new(id, s)),
        Spec::DeadAir(s) => Box::new(dead_air::Rule::new(id, s)),
        Spec::Interruption(s) => Box::new(interruption::Rule::new(id, s)),
        Spec::SpeechRate(s) => Box::new(speech_rate::Rule::new(id, s)),
        Spec::SilentCall(s) => Box::new(silent_call::Rule::new(id, s)),
        Spec::Courtesy(s) => Box::new(courtesy::Rule::new(id, s)),
    }
}

/// Runs every rule of a [`RuleSet`] over one call.
pub struct Engine<'r> {
    rules: &'r RuleSet,
    analyzer: &'r TextAnalyzer,
    state: CallState,
    /// In [`RuleId::ALL`] order; `None` for disabled rules.
    checks: Vec<(&'r LoadedRule, Option<Box<dyn Check + 'r>>)>,
    emitted: BTreeMap<RuleId, Vec<Finding>>,
    scratch: Vec<Finding>,
}

impl<'r> Engine<'r> {
    /// An engine for one call; `analyzer` is the one that analysed the utterances.
    pub fn new(rules: &'r RuleSet, analyzer: &'r TextAnalyzer, layout: Layout) -> Self {
        let checks = rules
            .rules
            .iter()
            .map(|r| (r, r.meta.enabled.then(|| build(r))))
            .collect();
        Engine {
            rules,
            analyzer,
            state: CallState::new(layout),
            checks,
            emitted: BTreeMap::new(),
            scratch: Vec::new(),
        }
    }

    /// What the engine knows of the call so far.
    pub fn state(&self) -> &CallState {
        &self.state
    }

    /// Takes in one item (items must come in the order they became known); findings the rules
    /// are sure of are appended to `out`.
    pub fn push(&mut self, item: Item<'_>, out: &mut Vec<Finding>) {
        match item {
            Item::Event(e) => self.state.events.push(e.clone()),
            Item::Speech { party, span } => match party {
                Party::Agent => self.state.agent_speech.push(span),
                Party::Customer => self.state.customer_speech.push(span),
                Party::Mixed => self.state.mixed_speech.push(span),
            },
            Item::Utterance(u) => self
                .state
                .utterances
                .push(HeardUtterance::new(self.analyzer, u)),
        }
        for (rule, check) in &mut self.checks {
            let Some(check) = check else { continue };
            self.scratch.clear();
            check.observe(&item, &self.state, &mut self.scratch);
            for mut finding in self.scratch.drain(..) {
                if finding.suggestion.is_none() && finding.violation {
                    finding.suggestion.clone_from(&rule.meta.suggestion);
                }
                out.push(finding.clone());
                self.emitted.entry(rule.id).or_default().push(finding);
            }
        }
    }

    /// Ends the call at `end` (the recording's length) and judges it, one result per rule.
    pub fn finish(mut self, end: Seconds) -> Vec<RuleResult> {
        self.state.end = Some(end);
        if let Spec::HoldEtiquette(spec) = &self.rules.rule(RuleId::HoldEtiquette).spec {
            self.state.holds = holds::find(&self.state, spec);
        }
        // The silent-call verdict comes first: hang-up order makes an exception for it.
        let mut judgements: BTreeMap<RuleId, Judgement> = BTreeMap::new();
        let order = std::iter::once(RuleId::SilentCall)
            .chain(RuleId::ALL.into_iter().filter(|r| *r != RuleId::SilentCall));
        for id in order {
            let Some((rule, check)) = self.checks.iter_mut().find(|(r, _)| r.id == id) else {
                continue;
            };
            let judgement = match check {
                Some(check) => check.finish(&self.state),
                None => Judgement::not_applicable(format!("disabled in {}", rule.path.display())),
            };
            if id == RuleId::SilentCall {
                self.state.silent_call_handled = judgement.verdict == Verdict::Pass;
            }
            judgements.insert(id, judgement);
        }
        self.checks
            .iter()
            .map(|(rule, _)| {
                let j = judgements
                    .remove(&rule.id)
                    .unwrap_or_else(|| Judgement::not_applicable("not judged"));
                // Findings reported on the way lose their point when the rule turns out not to
                // apply (a 喂，听不见 nudge on a call where the customer did speak after all).
                let emitted = self.emitted.remove(&rule.id).unwrap_or_default();
                let mut findings = if j.verdict == Verdict::NotApplicable {
                    Vec::new()
                } else {
                    emitted
                };
                findings.extend(j.findings);
                for f in &mut findings {
                    if f.suggestion.is_none() && f.violation {
                        f.suggestion.clone_from(&rule.meta.suggestion);
                    }
                }
                findings.sort_by(|a, b| a.start.0.total_cmp(&b.start.0));
                let failed = j.verdict == Verdict::Fail;
                RuleResult {
                    rule: rule.id,
                    name: rule.meta.name.clone(),
                    verdict: j.verdict,
                    deduction: if failed {
                        j.deduction.unwrap_or(rule.meta.weight)
                    } else {
                        0
                    },
                    critical: failed && j.critical.unwrap_or(rule.meta.critical),
                    findings,
                    note: j.note,
                }
            })
            .collect()
    }
}
