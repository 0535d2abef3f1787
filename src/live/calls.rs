//! Where calls begin and end on a capture session, from the call events the telephony side
//! reports.
//!
//! In: the session's call events in media order (session time), and the passing of media time.
//! Out: [`Change`]s — a call starts (its origin: the answer, so the ring comes out at a negative
//! time as in a recording's sidecar), or ends. Rules:
//!
//! - Until the first event, the whole session is one call from its first sample (CONTRACT §1:
//!   answer defaults to the start of the recording), so a session without events is one call.
//! - `ring` opens the next call (ending any call under way there); `answer` starts it. Any other
//!   event outside a call (a hold, an unknown event) starts one there: its answer went unreported.
//! - The call ends at its second hang-up, at a hang-up that names no party, or `grace` seconds
//!   after the first hang-up, whichever comes first (the customer's and the agent's hang-ups
//!   come apart; both count for `hangup_order`). A hang-up outside a call is ignored.
//!
//! Pure logic on the monitor thread.

use crate::call::{CallEvent, EventKind};
use crate::party::Seconds;

/// What happens to the calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A call starts; `origin` is its media time zero on the session's clock. `pre` are its
    /// events from before the origin (the ring).
    Start {
        origin: Seconds,
        pre: Vec<CallEvent>,
        call_id: Option<String>,
    },
    /// The call under way ends at `at` (session time).
    End { at: Seconds },
    /// The call under way ends with this event (a hang-up): the event is its last.
    EndWith { at: Seconds },
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    /// The session before any event: one implicit call from its start.
    Implicit,
    Idle,
    Ringing {
        ring: CallEvent,
        call_id: Option<String>,
    },
    InCall {
        answered: bool,
        /// When the first hang-up came, and whose it was.
        hangup: Option<Seconds>,
    },
}

#[derive(Debug)]
pub struct CallTracker {
    grace: f64,
    state: State,
}

impl CallTracker {
    /// `grace`: how long after the first hang-up the second may come (seconds).
    pub fn new(grace: f64) -> Self {
        CallTracker {
            grace,
            state: State::Implicit,
        }
    }

    /// The changes an event (session time) brings, in order; the event goes into the call under
    /// way after them, except that an [`Change::EndWith`] comes after the event. `call_id` is
    /// what the event named, if anything.
    pub fn on_event(&mut self, event: &CallEvent, call_id: Option<&str>) -> Vec<Change> {
        let mut changes = self.on_time(event.t);
        let t = event.t;
        let id = call_id.map(str::to_string);
        match (&event.kind, self.state.clone()) {
            (EventKind::Ring, State::Implicit | State::InCall { .. }) => {
                changes.push(Change::End { at: t });
                self.state = State::Ringing {
                    ring: event.clone(),
                    call_id: id,
                };
            }
            (EventKind::Ring, State::Idle | State::Ringing { .. }) => {
                self.state = State::Ringing {
                    ring: event.clone(),
                    call_id: id,
                };
            }
            (EventKind::Answer, State::Ringing { ring, call_id }) => {
                changes.push(Change::Start {
                    origin: t,
                    pre: vec![ring],
                    call_id: id.or(call_id),
                });
                self.state = State::InCall {
                    answered: true,
                    hangup: None,
                };
            }
            (EventKind::Answer, State::Implicit | State::Idle) => {
                if self.state == State::Implicit {
                    changes.push(Change::End { at: t });
                }
                changes.push(Change::Start {
                    origin: t,
                    pre: vec![],
                    call_id: id,
                });
                self.state = State::InCall {
                    answered: true,
                    hangup: None,
                };
            }
            (EventKind::Answer, State::InCall { answered, hangup }) => {
                // A second answer is the next call (its predecessor's hang-up went unreported),
                // unless this call's answer was never reported.
                if answered {
                    changes.push(Change::End { at: t });
                    changes.push(Change::Start {
                        origin: t,
                        pre: vec![],
                        call_id: id,
                    });
                }
                self.state = State::InCall {
                    answered: true,
                    hangup,
                };
            }
            (EventKind::Hangup { party }, State::InCall { answered, hangup }) => {
                match (party, hangup) {
                    (None, _) | (Some(_), Some(_)) => {
                        changes.push(Change::EndWith { at: t });
                        self.state = State::Idle;
                    }
                    (Some(_), None) => {
                        self.state = State::InCall {
                            answered,
                            hangup: Some(t),
                        }
                    }
                }
            }
            (EventKind::Hangup { party }, State::Implicit) => {
                // The first event of the session: the implicit call was a real one.
                self.state = State::InCall {
                    answered: false,
                    hangup: None,
                };
                let mut more = self.on_event(
                    &CallEvent {
                        kind: EventKind::Hangup { party: *party },
                        ..event.clone()
                    },
                    call_id,
                );
                changes.append(&mut more);
            }
            (EventKind::Hangup { .. }, State::Idle | State::Ringing { .. }) => {}
            (_, State::Idle) => {
                changes.push(Change::Start {
                    origin: t,
                    pre: vec![],
                    call_id: id,
                });
                self.state = State::InCall {
                    answered: false,
                    hangup: None,
                };
            }
            (_, State::Ringing { ring, call_id }) => {
                changes.push(Change::Start {
                    origin: t,
                    pre: vec![ring],
                    call_id: id.or(call_id),
                });
                self.state = State::InCall {
                    answered: false,
                    hangup: None,
                };
            }
            (_, State::Implicit) => {
                self.state = State::InCall {
                    answered: false,
                    hangup: None,
                };
            }
            (_, State::InCall { .. }) => {}
        }
        changes
    }

    /// Media time has reached `now`: a call whose second hang-up is overdue ends.
    pub fn on_time(&mut self, now: Seconds) -> Vec<Change> {
        if let State::InCall {
            hangup: Some(first),
            ..
        } = self.state
        {
            let deadline = Seconds(first.0 + self.grace);
            if now.0 >= deadline.0 {
                self.state = State::Idle;
                return vec![Change::End { at: deadline }];
            }
        }
        Vec::new()
    }

    /// Whether a call is under way (speech now belongs to it).
    pub fn in_call(&self) -> bool {
        matches!(self.state, State::Implicit | State::InCall { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::Party;

    fn ev(t: f64, kind: EventKind) -> CallEvent {
        CallEvent {
            t: Seconds(t),
            kind,
            inferred: false,
        }
    }

    fn hangup(t: f64, party: Option<Party>) -> CallEvent {
        ev(t, EventKind::Hangup { party })
    }

    #[test]
    fn a_session_without_events_is_one_call() {
        let mut calls = CallTracker::new(3.0);
        assert!(calls.in_call());
        assert!(calls.on_time(Seconds(3600.0)).is_empty());
        assert!(calls.in_call());
    }

    #[test]
    fn ring_answer_hangups_make_a_call_from_the_answer() {
        let mut calls = CallTracker::new(3.0);
        let ring = ev(10.0, EventKind::Ring);
        assert_eq!(
            calls.on_event(&ring, Some("c42")),
            vec![Change::End { at: Seconds(10.0) }]
        );
        assert!(!calls.in_call(), "ringing is not talking");
        assert_eq!(
            calls.on_event(&ev(16.0, EventKind::Answer), None),
            vec![Change::Start {
                origin: Seconds(16.0),
                pre: vec![ring],
                call_id: Some("c42".into())
            }]
        );
        assert!(calls.in_call());
        assert!(calls
            .on_event(&ev(40.0, EventKind::HoldStart), None)
            .is_empty());
        assert!(calls
            .on_event(&hangup(90.0, Some(Party::Customer)), None)
            .is_empty());
        assert!(calls.in_call(), "waiting for the agent's hang-up");
        assert_eq!(
            calls.on_event(&hangup(90.7, Some(Party::Agent)), None),
            vec![Change::EndWith { at: Seconds(90.7) }]
        );
        assert!(!calls.in_call());
        // The next call.
        assert!(calls
            .on_event(&hangup(91.0, Some(Party::Customer)), None)
            .is_empty());
        assert!(calls.on_event(&ev(95.0, EventKind::Ring), None).is_empty());
        assert_eq!(calls.on_event(&ev(99.0, EventKind::Answer), None).len(), 1);
    }

    #[test]
    fn a_lone_hangup_ends_the_call_after_the_grace() {
        let mut calls = CallTracker::new(3.0);
        calls.on_event(&ev(0.0, EventKind::Answer), None);
        calls.on_event(&hangup(50.0, Some(Party::Agent)), None);
        assert!(calls.on_time(Seconds(52.9)).is_empty());
        assert_eq!(
            calls.on_time(Seconds(53.2)),
            vec![Change::End { at: Seconds(53.0) }]
        );
        assert!(!calls.in_call());
    }

    #[test]
    fn a_hangup_without_a_party_ends_the_call_at_once() {
        let mut calls = CallTracker::new(3.0);
        calls.on_event(&ev(1.0, EventKind::Answer), None);
        assert_eq!(
            calls.on_event(&hangup(20.0, None), None),
            vec![Change::EndWith { at: Seconds(20.0) }]
        );
    }

    #[test]
    fn an_event_outside_a_call_starts_one_whose_answer_went_unreported() {
        let mut calls = CallTracker::new(3.0);
        calls.on_event(&ev(1.0, EventKind::Answer), None);
        calls.on_event(&hangup(20.0, None), None);
        assert_eq!(
            calls.on_event(&ev(30.0, EventKind::HoldStart), Some("c9")),
            vec![Change::Start {
                origin: Seconds(30.0),
                pre: vec![],
                call_id: Some("c9".into())
            }]
        );
    }

    #[test]
    fn the_sessions_first_event_ends_the_implicit_call_only_when_it_opens_a_new_one() {
        // A hang-up first: the implicit call was the call.
        let mut calls = CallTracker::new(3.0);
        assert!(calls
            .on_event(&hangup(30.0, Some(Party::Customer)), None)
            .is_empty());
        assert_eq!(
            calls.on_event(&hangup(30.5, Some(Party::Agent)), None),
            vec![Change::EndWith { at: Seconds(30.5) }]
        );
        // A hold first: also the implicit call's.
        let mut calls = CallTracker::new(3.0);
        assert!(calls
            .on_event(&ev(12.0, EventKind::HoldStart), None)
            .is_empty());
        assert!(calls.in_call());
        // An answer first: a new call.
        let mut calls = CallTracker::new(3.0);
        assert_eq!(calls.on_event(&ev(5.0, EventKind::Answer), None).len(), 2);
    }

    #[test]
    fn an_answer_without_a_hangup_before_it_is_the_next_call() {
        let mut calls = CallTracker::new(3.0);
        calls.on_event(&ev(1.0, EventKind::Answer), None);
        let changes = calls.on_event(&ev(60.0, EventKind::Answer), None);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0], Change::End { at: Seconds(60.0) });
    }
}
