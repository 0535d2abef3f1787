//! Putting a live call's items in the order a recording gives them to the rules engine.
//!
//! In: items as they arrive — call events, closed speech spans from each party's audio stage,
//! utterances from the decoding workers (in whatever order decoding finishes) — and, from each
//! source, a bound below which it will send nothing more. Out: the items in exactly the order
//! [`crate::rules::items_of`] sorts a recorded call's items (by the media time each becomes
//! known; at equal times events, then utterances, then speech spans; then as the recording
//! lists them), each released as soon as no source can still send one that sorts before it.
//!
//! Pure bookkeeping on the monitor thread; no clock, no I/O.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::call::CallEvent;
use crate::party::{Party, Seconds};
use crate::transcript::Utterance;
use crate::voice::SpeechSpan;

/// Where an item sorts. Compared field by field; times with `total_cmp`.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// When the item becomes known (media time).
    t: f64,
    /// Events 0, utterances 1, speech spans 2 (as [`crate::rules::items_of`]).
    rank: u8,
    /// Utterances: their start (a transcript lists utterances by start).
    start: f64,
    party: u8,
    /// Events: their place in the order they were reported.
    seq: u64,
}

impl Key {
    pub fn event(t: Seconds, seq: u64) -> Key {
        Key {
            t: t.0,
            rank: 0,
            start: 0.0,
            party: 0,
            seq,
        }
    }

    pub fn utterance(party: Party, start: Seconds, end: Seconds) -> Key {
        Key {
            t: end.0,
            rank: 1,
            start: start.0,
            party: party_rank(party),
            seq: 0,
        }
    }

    /// The key of the utterance a piece of speech will give (its times rounded as utterances
    /// round them).
    pub fn piece(party: Party, span: SpeechSpan) -> Key {
        Key::utterance(party, span.start.rounded(), span.end.rounded())
    }

    pub fn speech(party: Party, span: SpeechSpan) -> Key {
        Key {
            t: span.end.0,
            rank: 2,
            start: 0.0,
            party: party_rank(party),
            seq: 0,
        }
    }

    /// Below every key of an event reported at `t` or later.
    pub fn events_from(t: Seconds) -> Key {
        Key {
            t: t.0,
            rank: 0,
            start: f64::NEG_INFINITY,
            party: 0,
            seq: 0,
        }
    }

    /// Below every key of a span or utterance (rounded or not) that ends at `t` or later.
    pub fn speech_from(t: Seconds) -> Key {
        let speech = Key {
            t: t.0,
            rank: 2,
            start: f64::NEG_INFINITY,
            party: 0,
            seq: 0,
        };
        let utterance = Key {
            t: t.rounded().0,
            rank: 1,
            start: f64::NEG_INFINITY,
            party: 0,
            seq: 0,
        };
        speech.min(utterance)
    }

    /// An event's place in the order events were reported.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub const END: Key = Key {
        t: f64::INFINITY,
        rank: u8::MAX,
        start: f64::INFINITY,
        party: u8::MAX,
        seq: u64::MAX,
    };
}

fn party_rank(party: Party) -> u8 {
    match party {
        Party::Agent => 0,
        Party::Customer => 1,
        Party::Mixed => 2,
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.t
            .total_cmp(&other.t)
            .then(self.rank.cmp(&other.rank))
            .then(self.start.total_cmp(&other.start))
            .then(self.party.cmp(&other.party))
            .then(self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

/// One thing that became known about the call (owned: it waits here until its turn).
#[derive(Debug, Clone, PartialEq)]
pub enum LiveItem {
    Event(CallEvent),
    Speech { party: Party, span: SpeechSpan },
    Utterance(Utterance),
}

/// A source of items: a party's audio stage (with its decodes under way) or the call events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Events,
    Party(Party),
}

#[derive(Debug, Default)]
struct Bound {
    /// What the source itself has promised.
    settled: Option<Key>,
    /// Utterances being decoded, by key (a count: two pieces never share a key, but a bad
    /// clock might make them).
    decoding: BTreeMap<Key, usize>,
}

impl Bound {
    fn lowest(&self) -> Key {
        let settled = self.settled.unwrap_or(Key {
            t: f64::NEG_INFINITY,
            rank: 0,
            start: f64::NEG_INFINITY,
            party: 0,
            seq: 0,
        });
        match self.decoding.keys().next() {
            Some(k) => settled.min(*k),
            None => settled,
        }
    }
}

/// The reorder buffer.
#[derive(Debug, Default)]
pub struct Sequencer {
    waiting: BTreeMap<Key, LiveItem>,
    sources: BTreeMap<Source, Bound>,
}

impl Sequencer {
    /// A sequencer that waits for every one of `sources` before releasing anything.
    pub fn new(sources: impl IntoIterator<Item = Source>) -> Self {
        Sequencer {
            waiting: BTreeMap::new(),
            sources: sources.into_iter().map(|s| (s, Bound::default())).collect(),
        }
    }

    /// `source` will send nothing that sorts below `key` (apart from decodes it announced).
    pub fn settle(&mut self, source: Source, key: Key) {
        let bound = self.sources.entry(source).or_default();
        bound.settled = Some(bound.settled.map_or(key, |k| k.max(key)));
    }

    /// A piece of `party`'s speech went to decoding: its utterance will come with `key`.
    pub fn decoding(&mut self, party: Party, key: Key) {
        *self
            .sources
            .entry(Source::Party(party))
            .or_default()
            .decoding
            .entry(key)
            .or_default() += 1;
    }

    /// Takes in an item. An utterance settles the decode announced with its key.
    pub fn push(&mut self, key: Key, item: LiveItem) {
        if let LiveItem::Utterance(u) = &item {
            if let Some(bound) = self.sources.get_mut(&Source::Party(u.party)) {
                if let Some(n) = bound.decoding.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        bound.decoding.remove(&key);
                    }
                }
            }
        }
        self.waiting.insert(key, item);
    }

    /// The lowest key any source can still send.
    pub fn horizon(&self) -> Key {
        self.sources
            .values()
            .map(Bound::lowest)
            .min()
            .unwrap_or(Key::END)
    }

    /// The media time below which every item has come in (infinite when all sources are done).
    pub fn horizon_time(&self) -> f64 {
        self.horizon().t
    }

    /// Stops waiting for decodes under way (the session is being cut short).
    pub fn abandon_decoding(&mut self) {
        for bound in self.sources.values_mut() {
            bound.decoding.clear();
        }
    }

    /// The next item whose turn has come.
    pub fn pop(&mut self) -> Option<(Key, LiveItem)> {
        let horizon = self.horizon();
        let first = self.waiting.first_key_value().map(|(k, _)| *k)?;
        if first < horizon {
            self.waiting.pop_first()
        } else {
            None
        }
    }

    /// Decodes still under way.
    pub fn decoding_count(&self) -> usize {
        self.sources
            .values()
            .map(|b| b.decoding.values().sum::<usize>())
            .sum()
    }

    /// Items waiting for their turn.
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::EventKind;
    use crate::rules::{items_of, Item};
    use crate::transcript::{CallTranscript, Track};

    fn span(a: f64, b: f64) -> SpeechSpan {
        SpeechSpan {
            start: Seconds(a),
            end: Seconds(b),
        }
    }

    fn utterance(party: Party, s: SpeechSpan) -> Utterance {
        Utterance {
            party,
            start: s.start.rounded(),
            end: s.end.rounded(),
            text: format!("{party} {:.3}", s.start.0),
            normalized: String::new(),
            words: Vec::new(),
        }
    }

    fn describe(item: &Item<'_>) -> String {
        match item {
            Item::Event(e) => format!("event {:?} {}", e.kind, e.t.0),
            Item::Speech { party, span } => format!("speech {party} {}", span.end.0),
            Item::Utterance(u) => format!("utterance {} {}", u.party, u.text),
        }
    }

    fn describe_live(item: &LiveItem) -> String {
        match item {
            LiveItem::Event(e) => describe(&Item::Event(e)),
            LiveItem::Speech { party, span } => describe(&Item::Speech {
                party: *party,
                span: *span,
            }),
            LiveItem::Utterance(u) => describe(&Item::Utterance(u)),
        }
    }

    /// Frame-centred times, like the detector's (k·0.01 + 0.0125 s).
    fn at(k: u32) -> f64 {
        f64::from(k) * 0.01 + 0.0125
    }

    #[test]
    fn live_arrivals_come_out_in_the_recordings_order() {
        let agent = vec![span(at(50), at(300)), span(at(900), at(1200))];
        let customer = vec![span(at(320), at(600)), span(at(1150), at(1300))];
        let events = vec![
            CallEvent {
                t: Seconds(-8.0),
                kind: EventKind::Ring,
                inferred: false,
            },
            CallEvent {
                t: Seconds(0.0),
                kind: EventKind::Answer,
                inferred: false,
            },
            CallEvent {
                t: Seconds(at(1200)),
                kind: EventKind::HoldStart,
                inferred: false,
            },
        ];
        let mut utterances: Vec<Utterance> = agent
            .iter()
            .map(|s| utterance(Party::Agent, *s))
            .chain(customer.iter().map(|s| utterance(Party::Customer, *s)))
            .collect();
        crate::pipeline::sort_utterances(&mut utterances);
        let transcript = CallTranscript {
            call_id: "c".into(),
            source: Default::default(),
            duration: Seconds(14.0),
            sample_rate: 16_000,
            encoding: "PCM 16-bit".into(),
            tracks: vec![
                Track {
                    party: Party::Agent,
                    speech: agent.clone(),
                },
                Track {
                    party: Party::Customer,
                    speech: customer.clone(),
                },
            ],
            utterances: utterances.clone(),
            warnings: vec![],
            tones: Default::default(),
        };
        let want: Vec<String> = items_of(&transcript, &events)
            .iter()
            .map(describe)
            .collect();

        // Live: each party's spans arrive 0.5 s after they end; decodes finish out of order
        // (the customer's first one last); events arrive at their time.
        let mut seq = Sequencer::new([
            Source::Events,
            Source::Party(Party::Agent),
            Source::Party(Party::Customer),
        ]);
        let mut got = Vec::new();
        let drain = |seq: &mut Sequencer, got: &mut Vec<String>| {
            while let Some((_, item)) = seq.pop() {
                got.push(describe_live(&item));
            }
        };
        let mut decoding: Vec<(f64, Party, SpeechSpan)> = Vec::new();
        for (k, e) in events.iter().enumerate().filter(|(_, e)| e.t.0 < 0.0) {
            seq.push(Key::event(e.t, k as u64), LiveItem::Event(e.clone()));
        }
        for tick in 0..1500u32 {
            let now = f64::from(tick) * 0.01;
            for (k, e) in events.iter().enumerate() {
                if e.t.0 >= 0.0 && e.t.0 <= now && e.t.0 > now - 0.01 {
                    seq.push(Key::event(e.t, k as u64), LiveItem::Event(e.clone()));
                }
            }
            seq.settle(Source::Events, Key::events_from(Seconds(now)));
            for (party, spans) in [(Party::Agent, &agent), (Party::Customer, &customer)] {
                for s in spans.iter() {
                    if (s.end.0 + 0.5 - now).abs() < 0.005 {
                        seq.decoding(party, Key::piece(party, *s));
                        let delay = if party == Party::Customer && s.start.0 < 5.0 {
                            4.0
                        } else {
                            0.8
                        };
                        decoding.push((now + delay, party, *s));
                        seq.push(Key::speech(party, *s), LiveItem::Speech { party, span: *s });
                    }
                }
                // Nothing still to come from this party ends before half a second ago, or
                // before the span it is in.
                let open = spans
                    .iter()
                    .find(|s| s.start.0 <= now && s.end.0 + 0.5 > now);
                let bound = open.map_or(now - 0.5, |s| s.start.0.min(now - 0.5));
                seq.settle(Source::Party(party), Key::speech_from(Seconds(bound)));
            }
            decoding.retain(|&(done, party, s)| {
                if done <= now {
                    let u = utterance(party, s);
                    seq.push(
                        Key::utterance(party, u.start, u.end),
                        LiveItem::Utterance(u),
                    );
                    false
                } else {
                    true
                }
            });
            drain(&mut seq, &mut got);
        }
        for source in [
            Source::Events,
            Source::Party(Party::Agent),
            Source::Party(Party::Customer),
        ] {
            seq.settle(source, Key::END);
        }
        drain(&mut seq, &mut got);
        assert_eq!(got, want);
    }

    #[test]
    fn an_item_waits_for_a_decode_that_sorts_before_it() {
        let mut seq = Sequencer::new([Source::Party(Party::Agent), Source::Party(Party::Customer)]);
        let customer = span(1.0, 2.0);
        seq.decoding(Party::Customer, Key::piece(Party::Customer, customer));
        let agent = span(2.5, 3.0);
        seq.push(
            Key::speech(Party::Agent, agent),
            LiveItem::Speech {
                party: Party::Agent,
                span: agent,
            },
        );
        seq.settle(Source::Party(Party::Agent), Key::speech_from(Seconds(4.0)));
        seq.settle(
            Source::Party(Party::Customer),
            Key::speech_from(Seconds(4.0)),
        );
        assert!(
            seq.pop().is_none(),
            "the customer's utterance is still being decoded"
        );
        let u = utterance(Party::Customer, customer);
        seq.push(
            Key::utterance(Party::Customer, u.start, u.end),
            LiveItem::Utterance(u),
        );
        assert!(matches!(seq.pop(), Some((_, LiveItem::Utterance(_)))));
        assert!(matches!(seq.pop(), Some((_, LiveItem::Speech { .. }))));
        assert_eq!(seq.decoding_count(), 0);
    }

    #[test]
    fn nothing_is_released_before_every_source_has_spoken() {
        let mut seq = Sequencer::new([Source::Events, Source::Party(Party::Mixed)]);
        let s = span(0.5, 1.0);
        seq.push(
            Key::speech(Party::Mixed, s),
            LiveItem::Speech {
                party: Party::Mixed,
                span: s,
            },
        );
        seq.settle(Source::Party(Party::Mixed), Key::END);
        assert!(
            seq.pop().is_none(),
            "the events source has not said anything yet"
        );
        seq.settle(Source::Events, Key::events_from(Seconds(1.5)));
        assert!(seq.pop().is_some());
    }
}
