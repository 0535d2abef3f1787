//! Decoding on worker threads: pieces of speech in, utterances out to the monitor.
//!
//! The audio thread puts each piece in a [`JobQueue`]; one worker thread per whisper state takes
//! the piece that ends first (the monitor needs them in that order), decodes it, analyses the
//! text, and sends the utterance to the monitor. Whisper never runs on the audio thread, the
//! monitor, or an async runtime.
//!
//! Back-pressure: the queue is bounded. When decoding falls that far behind, the audio thread
//! blocks on it — a replay then waits, and a capture's rings fill up and drop what they cannot
//! hold, counted as overruns (drop-and-count, as live audio must).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex};

use crate::party::Party;
use crate::pipeline::utterance_of;
use crate::text::TextAnalyzer;
use crate::transcribe::Transcriber;
use crate::voice::SpeechSpan;

use super::order::Key;
use super::Msg;

/// Pieces waiting for a worker; ~4 minutes of speech at typical turn lengths.
pub const QUEUE_CAPACITY: usize = 64;

/// A piece to decode.
#[derive(Debug)]
pub struct Job {
    pub key: Key,
    pub party: Party,
    pub span: SpeechSpan,
    pub samples: Vec<f32>,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Job {}

impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Job {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

#[derive(Debug, Default)]
struct State {
    jobs: BinaryHeap<Reverse<Job>>,
    closed: bool,
}

/// A bounded queue of pieces, earliest-ending first.
#[derive(Debug, Default)]
pub struct JobQueue {
    state: Mutex<State>,
    ready: Condvar,
    room: Condvar,
}

impl JobQueue {
    pub fn new() -> Self {
        JobQueue::default()
    }

    /// Adds a piece, waiting while the queue is full. Returns false once the queue is closed.
    pub fn push(&self, job: Job) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.jobs.len() >= QUEUE_CAPACITY && !state.closed {
            state = self.room.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if state.closed {
            return false;
        }
        state.jobs.push(Reverse(job));
        self.ready.notify_one();
        true
    }

    /// The earliest-ending piece, waiting for one; `None` once closed and empty.
    pub fn pop(&self) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(Reverse(job)) = state.jobs.pop() {
                self.room.notify_one();
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// No more pieces will come: workers finish what is queued, then stop.
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.closed = true;
        self.ready.notify_all();
        self.room.notify_all();
    }

    /// Pieces waiting.
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .jobs
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One worker: decodes pieces on whisper state `worker` until the queue closes.
pub fn work(
    worker: usize,
    queue: &JobQueue,
    transcriber: &Transcriber,
    analyzer: &TextAnalyzer,
    monitor: &Sender<Msg>,
) {
    while let Some(job) = queue.pop() {
        let started = std::time::Instant::now();
        let decoded = transcriber.decode_on(worker, &job.samples);
        let mut warnings = Vec::new();
        let utterance = utterance_of(analyzer, job.party, job.span, decoded, &mut warnings);
        tracing::debug!(
            worker,
            party = %job.party,
            seconds = job.span.duration(),
            took_ms = started.elapsed().as_millis() as u64,
            "piece decoded"
        );
        let sent = monitor.send(Msg::Heard {
            key: job.key,
            utterance,
            warning: warnings.pop(),
        });
        if sent.is_err() {
            // The monitor is gone: the session is over.
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::Seconds;

    fn job(end: f64) -> Job {
        let span = SpeechSpan {
            start: Seconds(end - 1.0),
            end: Seconds(end),
        };
        Job {
            key: Key::piece(Party::Agent, span),
            party: Party::Agent,
            span,
            samples: vec![],
        }
    }

    #[test]
    fn the_earliest_ending_piece_goes_first_and_close_drains() {
        let queue = JobQueue::new();
        for end in [5.0, 2.0, 9.0] {
            assert!(queue.push(job(end)));
        }
        queue.close();
        let order: Vec<f64> = std::iter::from_fn(|| queue.pop())
            .map(|j| j.span.end.0)
            .collect();
        assert_eq!(order, vec![2.0, 5.0, 9.0]);
        assert!(!queue.push(job(1.0)), "closed");
    }

    #[test]
    fn a_full_queue_holds_the_producer_until_a_worker_takes_a_piece() {
        let queue = JobQueue::new();
        for k in 0..QUEUE_CAPACITY {
            queue.push(job(k as f64 + 1.0));
        }
        std::thread::scope(|s| {
            let producer = s.spawn(|| queue.push(job(1000.0)));
            // The producer can only finish once there is room.
            assert!(queue.pop().is_some());
            assert!(producer.join().unwrap());
        });
        assert_eq!(queue.len(), QUEUE_CAPACITY);
    }
}
