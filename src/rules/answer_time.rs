//! `answer_time` (三声内接听): the call is answered within `max_rings` rings.
//!
//! Needs a ring event (reported, or inferred from the ringback tone) and the answer (the answer
//! event, else the start of the recording). Rings are counted on the Chinese cadence, one every
//! `ring_period` seconds: answering later than `max_rings × ring_period` after the ring began is
//! a fail, reported the moment the answer is known.

use serde::Deserialize;
use toml::Spanned;

use crate::call::{CallEvent, EventKind};
use crate::party::{Party, Seconds};

use super::config::Compiler;
use super::engine::{Check, Judgement};
use super::{CallState, Finding, Item, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    max_rings: Spanned<u32>,
    ring_period: Spanned<f64>,
}

#[derive(Debug)]
pub struct Spec {
    pub max_rings: u32,
    pub ring_period: f64,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    Spec {
        max_rings: cx.count(&p.max_rings, "max_rings", 1..20),
        ring_period: cx.within(&p.ring_period, "ring_period", 1.0..30.0),
    }
}

pub struct Rule<'r> {
    id: RuleId,
    spec: &'r Spec,
    reported: bool,
}

impl<'r> Rule<'r> {
    pub fn new(id: RuleId, spec: &'r Spec) -> Self {
        Rule {
            id,
            spec,
            reported: false,
        }
    }

    fn judge(&self, ring: &CallEvent, answer: f64, inferred: bool) -> (bool, Finding) {
        let wait = answer - ring.t.0;
        let rings = (wait / self.spec.ring_period).ceil().max(1.0) as u32;
        let late = wait > f64::from(self.spec.max_rings) * self.spec.ring_period;
        let how = if inferred {
            " (inferred from the ringback tone)"
        } else {
            ""
        };
        let message = if late {
            format!(
                "answered {wait:.1} s after the ring began: {rings} rings, more than the {} allowed{how}",
                self.spec.max_rings
            )
        } else {
            format!("answered {wait:.1} s after the ring began ({rings} ring(s)){how}")
        };
        let finding = Finding {
            rule: self.id,
            start: ring.t,
            end: Seconds(answer),
            party: Party::Agent,
            text: String::new(),
            message,
            suggestion: None,
            violation: late,
        };
        (late, finding)
    }
}

impl Check for Rule<'_> {
    fn observe(&mut self, item: &Item<'_>, call: &CallState, out: &mut Vec<Finding>) {
        let Item::Event(e) = item else { return };
        if self.reported || !matches!(e.kind, EventKind::Answer) {
            return;
        }
        if let Some(ring) = call.ring() {
            let (late, finding) = self.judge(ring, e.t.0, ring.inferred || e.inferred);
            if late {
                self.reported = true;
                out.push(finding);
            }
        }
    }

    fn finish(&mut self, call: &CallState) -> Judgement {
        let Some(ring) = call.ring() else {
            return Judgement::not_applicable(
                "no ring event: none reported and no ringback tone heard",
            );
        };
        let answer = call.answer_event();
        let inferred = ring.inferred || answer.is_some_and(|a| a.inferred);
        let (late, finding) = self.judge(ring, call.answer(), inferred);
        let note = finding.message.clone();
        if late {
            let findings = if self.reported { vec![] } else { vec![finding] };
            Judgement::fail(note).with_findings(findings)
        } else {
            Judgement::pass(note)
        }
    }
}
