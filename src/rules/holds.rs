//! Holds: when the customer was left waiting, and whether the agent said so before and thanked
//! them after. Worked out once at call end (from the `hold_etiquette` rule's parameters) and
//! shared by `hold_etiquette` and `dead_air` (silence inside an announced hold is not dead air).
//!
//! A hold is either reported (`hold_start` … `hold_end`; a hold never ended lasts to the end of
//! the call) or *implicit*: the agent silent for more than `implicit_after` seconds between two
//! of their own speech spans while the customer speaks less than `implicit_max_customer_share`
//! of that time (a customer explaining at length is not on hold).

use crate::call::EventKind;
use crate::party::Party;

use super::hold_etiquette::Spec;
use super::state::HeardUtterance;
use super::CallState;

#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub start: f64,
    pub end: f64,
    pub reported: bool,
    /// The agent utterance that announced it (index into the call's utterances).
    pub announced_by: Option<usize>,
    /// The agent utterance that thanked the customer after it.
    pub thanked_by: Option<usize>,
    /// Still on hold when the call ended: there was no after.
    pub open_ended: bool,
}

/// The holds of a finished call, in time order.
pub fn find(call: &CallState, spec: &Spec) -> Vec<Hold> {
    if call.is_mono() {
        return Vec::new();
    }
    let end = call.end.map_or(f64::INFINITY, |e| e.0);
    let mut spans: Vec<(f64, f64, bool, bool)> = Vec::new();
    let mut events: Vec<_> = call.events.iter().collect();
    events.sort_by(|a, b| a.t.0.total_cmp(&b.t.0));
    let mut open: Option<f64> = None;
    for e in events {
        match e.kind {
            EventKind::HoldStart if open.is_none() => open = Some(e.t.0),
            EventKind::HoldEnd => {
                if let Some(start) = open.take() {
                    spans.push((start, e.t.0, true, false));
                }
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        spans.push((start, end, true, true));
    }
    let mut agent: Vec<_> = call.agent_speech.clone();
    agent.sort_by(|a, b| a.start.0.total_cmp(&b.start.0));
    for pair in agent.windows(2) {
        let (from, to) = (pair[0].end.0, pair[1].start.0);
        let gap = to - from;
        if gap <= spec.implicit_after {
            continue;
        }
        let reported_overlap = spans.iter().any(|(s, e, ..)| *s < to && from < *e);
        let customer_share = call.customer_speech_within(from, to) / gap;
        if !reported_overlap && customer_share < spec.implicit_max_customer_share {
            spans.push((from, to, false, false));
        }
    }
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    spans
        .into_iter()
        .map(|(start, end, reported, open_ended)| Hold {
            start,
            end,
            reported,
            announced_by: find_agent(call, start - spec.announce_within, start + 1.0, |u| {
                spec.announce.occurs_in(&u.heard)
            }),
            thanked_by: if open_ended {
                None
            } else {
                find_agent(call, end - 1.0, end + spec.thank_within, |u| {
                    spec.thank.occurs_in(&u.heard)
                })
            },
            open_ended,
        })
        .collect()
}

/// The first agent utterance overlapping `[from, to]` that satisfies `pred`.
fn find_agent(
    call: &CallState,
    from: f64,
    to: f64,
    pred: impl Fn(&HeardUtterance) -> bool,
) -> Option<usize> {
    call.utterances
        .iter()
        .enumerate()
        .filter(|(_, u)| u.party == Party::Agent && u.start.0 <= to && u.end.0 >= from)
        .find(|(_, u)| pred(u))
        .map(|(i, _)| i)
}

impl Hold {
    /// Whether the agent announced it.
    pub fn announced(&self) -> bool {
        self.announced_by.is_some()
    }
}
