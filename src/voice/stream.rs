//! Speech detection on a live stream: 16 kHz samples of one party in, closed speech spans and
//! the pieces Whisper decodes out, each as soon as it is final.
//!
//! The pieces are exactly those [`split_long`](super::split_long) cuts from the spans of the whole
//! recording, each with the same padded clip [`crate::pipeline`] takes, so a live call and its
//! recording decode the same audio. A turn longer than the piece length is cut while it goes on:
//! a cut only looks at the frames up to `start + max` (plus the 70 ms its smoothing reads), so it
//! is certain as soon as the turn has passed that point, long before the turn ends.
//!
//! One caveat: a span that is later rejected as a steady tone after being cut (a pure tone of
//! more than 28 s) has already given out its first pieces; the recording would have none.
//!
//! Runs on the calling thread (the live audio thread); keeps only the audio and energies that a
//! piece still to come can need, so memory stays flat over hours.

use std::collections::VecDeque;

use crate::party::Seconds;
use crate::resample::WHISPER_RATE;

use super::{cut_needs_frames, cut_point, SpeechSpan, VoiceConfig, VoiceDetector};

/// A piece of speech to decode, with its padded 16 kHz clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub span: SpeechSpan,
    pub samples: Vec<f32>,
}

/// Speech spans and pieces of one party's live stream.
pub struct SpeechStream {
    detector: VoiceDetector,
    /// Longest piece (seconds).
    max: f64,
    /// Audio kept on each side of a piece (seconds).
    padding: f64,
    /// The span being cut while it goes on: its start, and where its next piece starts.
    cutting: Option<(Seconds, Seconds)>,
    /// Pieces cut whose clip is not yet all here (it reaches `padding` past the piece).
    waiting: VecDeque<SpeechSpan>,
    /// 16 kHz samples from sample `history_base` on.
    history: VecDeque<f32>,
    history_base: usize,
    /// Samples pushed since the start.
    seen: usize,
    finished: bool,
    closed: Vec<SpeechSpan>,
}

impl SpeechStream {
    /// `max`: longest piece (seconds); `padding`: audio kept on each side of a piece's clip.
    pub fn new(config: VoiceConfig, max: f64, padding: f64) -> Self {
        SpeechStream {
            detector: VoiceDetector::new(config),
            max,
            padding,
            cutting: None,
            waiting: VecDeque::new(),
            history: VecDeque::with_capacity(WHISPER_RATE as usize * 4),
            history_base: 0,
            seen: 0,
            finished: false,
            closed: Vec::new(),
        }
    }

    /// Feeds more 16 kHz samples; closed spans go to `spans` and pieces whose clip is complete
    /// to `pieces`, in time order.
    pub fn push(&mut self, samples: &[f32], spans: &mut Vec<SpeechSpan>, pieces: &mut Vec<Piece>) {
        self.history.extend(samples);
        self.seen += samples.len();
        let mut closed = std::mem::take(&mut self.closed);
        self.detector.push(samples, &mut closed);
        self.settle(&mut closed, spans);
        self.closed = closed;
        self.cut_in_progress();
        self.serve(pieces);
        self.forget();
    }

    /// Ends the stream: every span and piece still open comes out.
    pub fn finish(&mut self, spans: &mut Vec<SpeechSpan>, pieces: &mut Vec<Piece>) {
        let mut closed = std::mem::take(&mut self.closed);
        self.detector.finish(&mut closed);
        self.finished = true;
        self.settle(&mut closed, spans);
        self.closed = closed;
        self.serve(pieces);
    }

    /// Media time pushed so far.
    pub fn now(&self) -> Seconds {
        Seconds::from_samples(self.seen, WHISPER_RATE)
    }

    /// No span or piece still to come out of this stream ends before this time (infinite once
    /// finished). A live call's items are put in order by it.
    pub fn settled_until(&self) -> Seconds {
        if self.finished {
            return Seconds(f64::INFINITY);
        }
        let mut bound = self.detector.unsettled_end().0;
        if let Some((_, from)) = self.cutting {
            // The next cut lies at or after a third of the piece length.
            bound = bound.min(super::centre(super::frame_of(Seconds(from.0 + self.max / 3.0))).0);
        }
        for piece in &self.waiting {
            bound = bound.min(piece.end.0);
        }
        Seconds(bound)
    }

    /// Cuts the spans the detector has closed into their remaining pieces.
    fn settle(&mut self, closed: &mut Vec<SpeechSpan>, spans: &mut Vec<SpeechSpan>) {
        let total = self.detector.frames();
        for span in closed.drain(..) {
            let mut start = match self.cutting.take() {
                Some((of, from)) if of == span.start => from,
                _ => span.start,
            };
            while span.end.0 - start.0 > self.max {
                let cut = self.cut(start, total);
                self.waiting.push_back(SpeechSpan { start, end: cut });
                start = cut;
            }
            self.waiting.push_back(SpeechSpan {
                start,
                end: span.end,
            });
            spans.push(span);
        }
    }

    /// Cuts the span still going on wherever a cut is already certain.
    fn cut_in_progress(&mut self) {
        let Some(open) = self.detector.in_progress() else {
            // Nothing open: a span being cut was dropped (a tone) and nothing is left to cut.
            self.cutting = None;
            return;
        };
        let from = match self.cutting {
            Some((of, from)) if of == open.start => from,
            _ => open.start,
        };
        let mut from = from;
        let frames = self.detector.frames();
        while open.end.0 - from.0 > self.max && frames >= cut_needs_frames(from, self.max) {
            let cut = self.cut(from, frames);
            self.waiting.push_back(SpeechSpan {
                start: from,
                end: cut,
            });
            from = cut;
        }
        self.cutting = Some((open.start, from));
    }

    fn cut(&self, start: Seconds, total: usize) -> Seconds {
        cut_point(
            start,
            self.max,
            self.detector.energies(),
            self.detector.energies_base(),
            total,
        )
    }

    /// Gives out the waiting pieces whose clip is complete, in order.
    fn serve(&mut self, pieces: &mut Vec<Piece>) {
        while let Some(span) = self.waiting.front().copied() {
            let to = Seconds(span.end.0 + self.padding).to_samples(WHISPER_RATE);
            if to > self.seen && !self.finished {
                break;
            }
            let to = to.min(self.seen);
            let from = Seconds(span.start.0 - self.padding)
                .to_samples(WHISPER_RATE)
                .min(to);
            let (a, b) = (from - self.history_base, to - self.history_base);
            pieces.push(Piece {
                span,
                samples: self.history.range(a..b).copied().collect(),
            });
            self.waiting.pop_front();
        }
    }

    /// Drops audio and energies no piece still to come can need.
    fn forget(&mut self) {
        let mut earliest = self.detector.unsettled_start().0;
        if let Some((_, from)) = self.cutting {
            earliest = earliest.min(from.0);
        }
        if let Some(piece) = self.waiting.front() {
            earliest = earliest.min(piece.start.0);
        }
        let keep_from = Seconds(earliest - self.padding)
            .to_samples(WHISPER_RATE)
            .saturating_sub(1);
        let drop = keep_from.saturating_sub(self.history_base);
        // Draining is cheap on a VecDeque, but there is no need to do it every 10 ms.
        if drop >= WHISPER_RATE as usize {
            self.history.drain(..drop);
            self.history_base += drop;
        }
        // A cut from `earliest` on reads frames from a third of the piece length after it, less
        // its smoothing's 7 frames: keeping from 8 frames before `earliest` is enough.
        self.detector
            .forget_energies_before(super::frame_of(Seconds(earliest)).saturating_sub(8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_signal::{speechlike, Noise};
    use crate::voice::{detect, split_long};

    /// `bursts` (start, length) of speech-like sound over noise 30 dB down, at 16 kHz.
    fn scene(total: f64, bursts: &[(f64, f64)]) -> Vec<f32> {
        let rate = WHISPER_RATE;
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        let mut out: Vec<f32> = (0..(total * f64::from(rate)) as usize)
            .map(|_| 0.008 * noise.next())
            .collect();
        for (k, &(start, len)) in bursts.iter().enumerate() {
            let at = (start * f64::from(rate)) as usize;
            for (i, v) in speechlike(len, rate, 0.25, k as f32 * 0.3)
                .into_iter()
                .enumerate()
            {
                if let Some(s) = out.get_mut(at + i) {
                    *s += v;
                }
            }
        }
        out
    }

    /// What the recording path makes of the same audio: spans, and pieces with their clips.
    fn batch(audio: &[f32], max: f64, padding: f64) -> (Vec<SpeechSpan>, Vec<Piece>) {
        let (spans, energies) = detect(audio, &VoiceConfig::default());
        let pieces = split_long(&spans, &energies, max)
            .into_iter()
            .map(|span| {
                let from = Seconds(span.start.0 - padding).to_samples(WHISPER_RATE);
                let to = Seconds(span.end.0 + padding)
                    .to_samples(WHISPER_RATE)
                    .min(audio.len());
                Piece {
                    span,
                    samples: audio[from.min(to)..to].to_vec(),
                }
            })
            .collect();
        (spans, pieces)
    }

    fn live(audio: &[f32], max: f64, padding: f64, piece: usize) -> (Vec<SpeechSpan>, Vec<Piece>) {
        let mut stream = SpeechStream::new(VoiceConfig::default(), max, padding);
        let (mut spans, mut pieces) = (Vec::new(), Vec::new());
        for part in audio.chunks(piece) {
            stream.push(part, &mut spans, &mut pieces);
        }
        stream.finish(&mut spans, &mut pieces);
        (spans, pieces)
    }

    #[test]
    fn a_stream_gives_the_spans_and_pieces_of_the_recording() {
        // Short turns, one long turn with breaths (cut while it goes on), speech up to the end.
        let mut bursts = vec![(0.4, 2.0), (3.1, 1.2), (6.0, 0.3)];
        let mut t = 8.0;
        while t < 75.0 {
            bursts.push((t, 5.8));
            t += 6.0;
        }
        bursts.push((79.0, 1.95));
        let audio = scene(81.0, &bursts);
        let want = batch(&audio, 28.0, 0.2);
        assert!(
            want.1.len() > want.0.len(),
            "the long turn is cut: {:?}",
            want.0
        );
        for piece in [160, 333, 4096] {
            let got = live(&audio, 28.0, 0.2, piece);
            assert_eq!(got.0, want.0, "spans, pushed {piece} at a time");
            assert_eq!(
                got.1.len(),
                want.1.len(),
                "pieces, pushed {piece} at a time"
            );
            for (g, w) in got.1.iter().zip(&want.1) {
                assert_eq!(g, w, "piece, pushed {piece} at a time");
            }
        }
    }

    #[test]
    fn a_long_turn_is_cut_before_it_ends() {
        let bursts: Vec<(f64, f64)> = (0..12).map(|k| (0.5 + 6.0 * k as f64, 5.8)).collect();
        let audio = scene(80.0, &bursts);
        let mut stream = SpeechStream::new(VoiceConfig::default(), 28.0, 0.2);
        let (mut spans, mut pieces) = (Vec::new(), Vec::new());
        let mut first_piece_at = None;
        for (k, part) in audio.chunks(1600).enumerate() {
            stream.push(part, &mut spans, &mut pieces);
            if first_piece_at.is_none() && !pieces.is_empty() {
                first_piece_at = Some(((k + 1) as f64 * 0.1, spans.len()));
            }
        }
        let (at, closed) = first_piece_at.expect("a piece while the turn went on");
        assert_eq!(closed, 0, "the first piece came only after the turn ended");
        assert!(at < 30.0, "first piece out at {at:.1} s");
        assert!(pieces[0].span.duration() <= 28.0);
    }

    #[test]
    fn nothing_still_to_come_ends_before_the_settled_time() {
        let bursts = [(0.4, 2.0), (3.1, 1.2), (6.0, 0.3), (8.0, 40.0)];
        let audio = scene(50.0, &bursts);
        let mut stream = SpeechStream::new(VoiceConfig::default(), 28.0, 0.2);
        let (mut spans, mut pieces) = (Vec::new(), Vec::new());
        let mut bounds = Vec::new();
        for part in audio.chunks(800) {
            let (s0, p0) = (spans.len(), pieces.len());
            stream.push(part, &mut spans, &mut pieces);
            for s in &spans[s0..] {
                bounds.push((s.end.0, "span"));
            }
            for p in &pieces[p0..] {
                bounds.push((p.span.end.0, "piece"));
            }
            bounds.push((stream.settled_until().0, "bound"));
        }
        // Every span or piece that came out ends at or after every bound given before it.
        let mut highest = f64::NEG_INFINITY;
        for (t, what) in bounds {
            if what == "bound" {
                highest = highest.max(t);
            } else {
                assert!(
                    t >= highest,
                    "a {what} ending at {t:.3} came after a bound of {highest:.3}"
                );
            }
        }
    }

    #[test]
    fn memory_stays_flat_over_a_long_stream() {
        let mut bursts = Vec::new();
        let mut t = 0.5;
        while t < 590.0 {
            bursts.push((t, 3.0));
            t += 5.0;
        }
        let audio = scene(600.0, &bursts);
        let mut stream = SpeechStream::new(VoiceConfig::default(), 28.0, 0.2);
        let (mut spans, mut pieces) = (Vec::new(), Vec::new());
        let mut most = 0;
        for part in audio.chunks(1600) {
            stream.push(part, &mut spans, &mut pieces);
            pieces.clear();
            most = most.max(stream.history.len() + 4 * stream.detector.energies().len());
        }
        // Under ~20 s of audio kept at any time, not ten minutes.
        assert!(most < 20 * WHISPER_RATE as usize, "kept {most} samples");
        assert!(spans.len() > 100);
    }
}
