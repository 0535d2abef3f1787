//! The audio side of a live session: each party's samples through the same stages a recording
//! goes through, on the live audio thread.
//!
//! In: per-party samples at the source's rate (a capture device's, or a replayed recording's),
//! in blocks of any size. Out, to the monitor: closed speech spans, the pieces sent to decoding
//! (announced before they are queued, so the monitor knows to wait for them), and after every
//! block how far each party is settled and the media clock; to the [`JobQueue`]: the pieces.
//!
//! Stages per party: [`StreamResampler`] (bit-identical to the recording path's resampling) and
//! [`SpeechStream`] (the recording path's speech detection and piece cutting, as soon as each
//! result is final).

use std::sync::mpsc::Sender;

use crate::call::CallEvent;
use crate::nudge::DeviceState;
use crate::party::{Party, Seconds};
use crate::pipeline::{CLIP_PADDING, MAX_CHUNK_SECONDS};
use crate::resample::{ResampleError, StreamResampler};
use crate::voice::{Piece, SpeechSpan, SpeechStream, VoiceConfig};

use super::decode::{Job, JobQueue};
use super::order::Key;
use super::{Msg, Segment};

/// One party's stages.
struct PartyStage {
    party: Party,
    resampler: StreamResampler,
    speech: SpeechStream,
    wide: Vec<f32>,
    spans: Vec<SpeechSpan>,
    pieces: Vec<Piece>,
    /// The last settled time sent, to send only changes.
    settled: Option<f64>,
}

/// Feeds the stages and tells the monitor what comes out.
pub struct Feeder<'q> {
    monitor: Sender<Msg>,
    queue: &'q JobQueue,
    voice: VoiceConfig,
    stages: Vec<PartyStage>,
    /// False once the monitor or the queue has gone: the session is over.
    open: bool,
}

impl<'q> Feeder<'q> {
    pub fn new(monitor: Sender<Msg>, queue: &'q JobQueue, voice: VoiceConfig) -> Self {
        Feeder {
            monitor,
            queue,
            voice,
            stages: Vec::new(),
            open: true,
        }
    }

    /// Whether the session still listens.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Starts a segment: fresh stages for its parties, whose audio comes at `rates`.
    pub fn begin(&mut self, segment: Segment, rates: &[u32]) -> Result<(), ResampleError> {
        self.stages = segment
            .parties
            .iter()
            .zip(rates)
            .map(|(&party, &rate)| {
                Ok(PartyStage {
                    party,
                    resampler: StreamResampler::new(rate)?,
                    speech: SpeechStream::new(self.voice.clone(), MAX_CHUNK_SECONDS, CLIP_PADDING),
                    wide: Vec::with_capacity(4096),
                    spans: Vec::new(),
                    pieces: Vec::new(),
                    settled: None,
                })
            })
            .collect::<Result<_, ResampleError>>()?;
        self.send(Msg::Begin(segment));
        Ok(())
    }

    /// Feeds party `index` (in the segment's order) a block of samples at its source rate.
    pub fn feed(&mut self, index: usize, samples: &[f32]) -> Result<(), ResampleError> {
        let Some(stage) = self.stages.get_mut(index) else {
            return Ok(());
        };
        stage.wide.clear();
        stage.resampler.push_into(samples, &mut stage.wide)?;
        stage
            .speech
            .push(&stage.wide, &mut stage.spans, &mut stage.pieces);
        self.forward(index);
        Ok(())
    }

    /// Media time fed to party `index` so far (16 kHz samples out of its resampler).
    pub fn position(&self, index: usize) -> Seconds {
        self.stages
            .get(index)
            .map_or(Seconds(0.0), |s| s.speech.now())
    }

    /// Tells the monitor how far every party is settled, and the media clock (the time events
    /// reported now are stamped with).
    pub fn settle(&mut self, clock: Seconds) {
        self.settle_parties();
        self.send(Msg::Clock(clock));
    }

    fn settle_parties(&mut self) {
        for i in 0..self.stages.len() {
            let until = self.stages[i].speech.settled_until();
            if self.stages[i].settled != Some(until.0) {
                self.stages[i].settled = Some(until.0);
                let party = self.stages[i].party;
                self.send(Msg::Settled { party, until });
            }
        }
    }

    /// A call event of a replayed recording, at its media time; `seq` is its place in the
    /// sidecar.
    pub fn event(&mut self, event: CallEvent, seq: u64) {
        self.send(Msg::Event { event, seq });
    }

    pub fn device(&mut self, party: Party, device: &str, state: DeviceState, at: Seconds) {
        self.send(Msg::Device {
            party,
            device: device.to_string(),
            state,
            at,
        });
    }

    pub fn overrun(&mut self, party: Party, samples: u64) {
        self.send(Msg::Overrun { party, samples });
    }

    /// Ends the segment at `end` (`cut`: stopped before the audio's end): every stage flushes,
    /// everything still open comes out.
    pub fn end(&mut self, end: Seconds, cut: bool) -> Result<(), ResampleError> {
        for i in 0..self.stages.len() {
            let stage = &mut self.stages[i];
            stage.wide.clear();
            stage.resampler.finish_into(&mut stage.wide)?;
            stage
                .speech
                .push(&stage.wide, &mut stage.spans, &mut stage.pieces);
            stage.speech.finish(&mut stage.spans, &mut stage.pieces);
            self.forward(i);
        }
        self.settle_parties();
        let (done, finished) = std::sync::mpsc::channel();
        self.send(Msg::End {
            end,
            cut,
            done: Some(done),
        });
        self.stages.clear();
        // Wait for the monitor to score the segment; an error means it is gone, and then there
        // is nothing to wait for.
        let _ = finished.recv();
        Ok(())
    }

    /// Sends what party `index`'s stages produced: spans to the monitor, pieces announced to
    /// the monitor and then queued for decoding.
    fn forward(&mut self, index: usize) {
        let stage = &mut self.stages[index];
        let party = stage.party;
        let mut spans = std::mem::take(&mut stage.spans);
        let mut pieces = std::mem::take(&mut stage.pieces);
        for span in spans.drain(..) {
            self.send(Msg::Speech { party, span });
        }
        for piece in pieces.drain(..) {
            let key = Key::piece(party, piece.span);
            self.send(Msg::Decoding { party, key });
            let queued = self.queue.push(Job {
                key,
                party,
                span: piece.span,
                samples: piece.samples,
            });
            if !queued {
                self.open = false;
            }
        }
        // Keep the (empty) buffers' capacity for the next block.
        let stage = &mut self.stages[index];
        stage.spans = spans;
        stage.pieces = pieces;
    }

    fn send(&mut self, msg: Msg) {
        if self.monitor.send(msg).is_err() {
            self.open = false;
        }
    }
}
