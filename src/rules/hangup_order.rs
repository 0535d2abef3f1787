//! `hangup_order` (客户先挂机): the customer hangs up first.
//!
//! Needs hang-up events that say who hung up (reported, or the customer's inferred from the
//! busy tone). The agent's hang-up before the customer's — or the agent's alone — fails, except
//! (with `silent_call_exception`) on a silent call the agent ended after following the script.

use serde::Deserialize;

use crate::call::{CallEvent, EventKind};
use crate::party::Party;

use super::config::Compiler;
use super::engine::{Check, Judgement};
use super::{CallState, Finding, Item, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    silent_call_exception: bool,
}

#[derive(Debug)]
pub struct Spec {
    pub silent_call_exception: bool,
}

pub fn compile(p: Params, _cx: &mut Compiler<'_>) -> Spec {
    Spec {
        silent_call_exception: p.silent_call_exception,
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

    fn finding(&self, agent: &CallEvent, customer: Option<&CallEvent>) -> Finding {
        let message = match customer {
            Some(c) => format!(
                "the agent hung up {:.1} s before the customer",
                c.t.0 - agent.t.0
            ),
            None => "the agent hung up; the customer had not".to_string(),
        };
        Finding {
            rule: self.id,
            start: agent.t,
            end: customer.map_or(agent.t, |c| c.t),
            party: Party::Agent,
            text: String::new(),
            message,
            suggestion: None,
            violation: true,
        }
    }
}

fn inferred(e: Option<&CallEvent>) -> &'static str {
    if e.is_some_and(|e| e.inferred) {
        " (inferred from the busy tone)"
    } else {
        ""
    }
}

impl Check for Rule<'_> {
    fn observe(&mut self, item: &Item<'_>, call: &CallState, out: &mut Vec<Finding>) {
        let Item::Event(e) = item else { return };
        let agent_hung_up = matches!(
            e.kind,
            EventKind::Hangup {
                party: Some(Party::Agent)
            }
        );
        // While the customer has spoken it cannot become a silent call: the fault is certain.
        if agent_hung_up
            && !self.reported
            && call.hangup_of(Party::Customer).is_none()
            && !call.customer_silent()
        {
            self.reported = true;
            out.push(self.finding(e, None));
        }
    }

    fn finish(&mut self, call: &CallState) -> Judgement {
        let agent = call.hangup_of(Party::Agent);
        let customer = call.hangup_of(Party::Customer);
        let Some(agent) = agent else {
            return match customer {
                Some(c) => Judgement::pass(format!(
                    "the customer hung up first at {:.1} s{}",
                    c.t.0,
                    inferred(customer)
                )),
                None => Judgement::not_applicable(
                    "no hang-up event says who hung up (none reported, no busy tone heard)",
                ),
            };
        };
        let agent_first = customer.is_none_or(|c| agent.t.0 < c.t.0);
        if !agent_first {
            return Judgement::pass(format!(
                "the customer hung up first, {:.1} s before the agent{}",
                customer.map_or(0.0, |c| agent.t.0 - c.t.0),
                inferred(customer)
            ));
        }
        if self.spec.silent_call_exception && call.silent_call_handled {
            return Judgement::pass("a silent call the agent ended after the script (allowed)");
        }
        let finding = self.finding(agent, customer);
        let note = finding.message.clone();
        Judgement::fail(note).with_findings(if self.reported { vec![] } else { vec![finding] })
    }
}
