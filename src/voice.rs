//! Speech detection per channel: 16 kHz samples of one party in, speech spans out.
//!
//! Telephone audio is noisy and its level varies from call to call, so the detector compares
//! each 10 ms frame's speech-band energy (250–3600 Hz, which also ignores mains hum and line
//! rumble) with the channel's own noise floor: a low percentile of the last few seconds of frame
//! energies. A span opens when a frame rises [`VoiceConfig::onset_db`] above the floor and is
//! back-dated to where the energy first crossed the lower [`VoiceConfig::offset_db`] threshold;
//! it closes after [`VoiceConfig::hangover`] below the higher [`VoiceConfig::end_db`] threshold
//! and ends at the last frame above it, so span boundaries sit on the speech itself rather than on the detector's delays. Spans
//! closer than [`VoiceConfig::merge_gap`] are joined; those shorter than
//! [`VoiceConfig::min_speech`] are dropped; a span that is one steady pure tone (ringback, busy
//! tone) is not speech and is dropped.
//!
//! [`VoiceDetector`] is streaming (push samples in any sizes, get closed spans out), so live
//! capture and recorded calls share it; [`detect`] runs it over a whole buffer. [`split_long`]
//! cuts spans longer than Whisper's window at their quietest points; [`SpeechStream`] does the
//! same cuts on a live stream as soon as they are certain, so a long turn is transcribed piece by
//! piece while it goes on. Everything here is plain arithmetic on the calling thread.

use std::collections::VecDeque;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};

use crate::party::Seconds;
use crate::resample::WHISPER_RATE;

mod stream;

pub use self::stream::{Piece, SpeechStream};

const HOP: usize = 160; // 10 ms at 16 kHz
const WINDOW: usize = 400; // 25 ms
const FFT_LEN: usize = 512;
const FRAME_SECONDS: f64 = HOP as f64 / WHISPER_RATE as f64;
/// Energies are kept in 0.5 dB bins from -120 dBFS to 0 dBFS for the percentile.
const DB_MIN: f32 = -120.0;
const HIST_BINS: usize = 240;
/// Frames over which the energy's spread tells steady noise (spread under [`STEADY_DB`]) from
/// speech, whose syllables swing the energy by 15–25 dB several times a second.
const STEADY_FRAMES: usize = 30;
const STEADY_DB: f32 = 3.0;
/// A span's start is back-dated at most 400 ms before the frame that opened it.
const MAX_BACKDATE: usize = 40;

/// Tunables of the speech detector. The defaults were set on 8 kHz telephone audio with
/// background noise (see the tests and the fixture calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// A span opens this far above the noise floor (dB).
    pub onset_db: f32,
    /// A span's start is back-dated to where the energy first rose this far above the floor (dB).
    pub offset_db: f32,
    /// A span extends while above the floor by this much (dB). Higher than `offset_db`: speech
    /// starts abruptly but fades out into the noise, and line noise that wanders a few dB above
    /// its median must not stretch the end.
    pub end_db: f32,
    /// Nothing quieter than this is speech, whatever the floor (dBFS).
    pub absolute_min_dbfs: f32,
    /// How much history the noise floor looks at (seconds).
    pub floor_window: f64,
    /// Which percentile of that history is the floor (0–1).
    pub floor_percentile: f32,
    /// Silence this long closes a span (seconds).
    pub hangover: f64,
    /// Spans closer than this are one span (seconds).
    pub merge_gap: f64,
    /// Spans shorter than this are dropped as clicks and breaths (seconds).
    pub min_speech: f64,
    /// Drop spans that are a steady pure tone (ringback, busy tone).
    pub reject_tones: bool,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            onset_db: 10.0,
            offset_db: 3.5,
            end_db: 5.0,
            absolute_min_dbfs: -60.0,
            floor_window: 5.0,
            floor_percentile: 0.5,
            hangover: 0.25,
            merge_gap: 0.5,
            min_speech: 0.15,
            reject_tones: true,
        }
    }
}

/// A stretch of one party's speech, in media time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpeechSpan {
    pub start: Seconds,
    pub end: Seconds,
}

impl SpeechSpan {
    pub fn duration(&self) -> f64 {
        self.end.0 - self.start.0
    }
}

/// Per-frame measurements, kept so spans can be cut at quiet points later.
#[derive(Debug, Clone, Copy)]
struct Frame {
    db: f32,
    /// The peak FFT bin, and the share of the band's energy within ±2 bins of it.
    peak_bin: u16,
    peak_share: f32,
}

/// Streaming speech detector for one channel at 16 kHz.
pub struct VoiceDetector {
    config: VoiceConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    scratch_in: Vec<f32>,
    scratch_out: Vec<Complex<f32>>,
    band: (usize, usize),
    /// Samples not yet consumed by a full frame.
    pending: VecDeque<f32>,
    /// Index of the next frame.
    frame_index: usize,
    /// Frame energies in dB (for [`split_long`]) from frame `energies_base` on; 4 bytes per
    /// 10 ms. A live stream forgets the ones it no longer needs.
    energies: Vec<f32>,
    energies_base: usize,
    history: VecDeque<u16>,
    histogram: Vec<u32>,
    /// The last [`STEADY_FRAMES`] energies, to tell steady noise from speech.
    recent: VecDeque<f32>,
    state: State,
    /// Whether the previous frame was above the end threshold.
    prev_above_end: bool,
    /// A closed span waiting to see whether the next one is close enough to merge.
    held: Option<OpenSpan>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Silence {
        /// First frame of the current run above the offset threshold, if any.
        rise: Option<usize>,
    },
    Speech(OpenSpan),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct OpenSpan {
    first: usize,
    /// Last frame above the offset threshold.
    last: usize,
    /// Frames in the span that looked like one steady tone.
    tonal: usize,
    frames: usize,
    last_peak: u16,
}

impl VoiceDetector {
    pub fn new(config: VoiceConfig) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_LEN);
        let scratch_in = fft.make_input_vec();
        let scratch_out = fft.make_output_vec();
        let window = (0..WINDOW)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / WINDOW as f32).cos())
            .collect();
        let bin_hz = WHISPER_RATE as f32 / FFT_LEN as f32;
        let band = (
            (250.0 / bin_hz).round() as usize,
            (3600.0 / bin_hz).round() as usize,
        );
        VoiceDetector {
            config,
            fft,
            window,
            scratch_in,
            scratch_out,
            band,
            pending: VecDeque::with_capacity(WINDOW + HOP),
            frame_index: 0,
            energies: Vec::new(),
            energies_base: 0,
            history: VecDeque::new(),
            histogram: vec![0; HIST_BINS],
            recent: VecDeque::with_capacity(STEADY_FRAMES + 1),
            state: State::Silence { rise: None },
            prev_above_end: false,
            held: None,
        }
    }

    /// Feeds more samples; spans that are certainly over are appended to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<SpeechSpan>) {
        self.pending.extend(samples);
        while self.pending.len() >= WINDOW {
            let frame = self.measure();
            self.pending.drain(..HOP);
            self.step(frame, out);
        }
    }

    /// Ends the stream: closes any open span.
    pub fn finish(&mut self, out: &mut Vec<SpeechSpan>) {
        if let State::Speech(span) = self.state {
            self.state = State::Silence { rise: None };
            self.close(span, out);
        }
        if let Some(held) = self.held.take() {
            self.emit(held, out);
        }
    }

    /// Energy (dBFS) of the frames kept so far, one per 10 ms, from frame
    /// [`Self::energies_base`] on (every frame unless [`Self::forget_energies_before`] was used).
    pub fn energies(&self) -> &[f32] {
        &self.energies
    }

    /// The frame index of `energies()[0]`.
    pub fn energies_base(&self) -> usize {
        self.energies_base
    }

    /// Drops the energies of frames before `frame` (a live stream keeps minutes, not hours).
    pub fn forget_energies_before(&mut self, frame: usize) {
        let drop = frame
            .saturating_sub(self.energies_base)
            .min(self.energies.len());
        // Draining the front is a copy: do it in big steps.
        if drop >= 1000 {
            self.energies.drain(..drop);
            self.energies_base += drop;
        }
    }

    /// Frames measured so far.
    pub fn frames(&self) -> usize {
        self.frame_index
    }

    /// The span that will come out next, as far as it is known now: where it starts, and its
    /// end so far (it may still grow). `None` while nothing is open or waiting to merge.
    pub fn in_progress(&self) -> Option<SpeechSpan> {
        let merge = self.merge_frames();
        let (first, last) = match (self.held, self.state) {
            (Some(held), State::Speech(open)) if open.first <= held.last + merge => {
                (held.first, open.last.max(held.last))
            }
            (Some(held), _) => (held.first, held.last),
            (None, State::Speech(open)) => (open.first, open.last),
            (None, State::Silence { .. }) => return None,
        };
        Some(SpeechSpan {
            start: centre(first),
            end: centre(last),
        })
    }

    /// No span still to come out will end before this time.
    pub fn unsettled_end(&self) -> Seconds {
        match (self.held, self.state) {
            (Some(held), _) => centre(held.last),
            (None, State::Speech(open)) => centre(open.last),
            (None, State::Silence { .. }) => centre(self.frame_index),
        }
    }

    /// No span still to come out will start before this time (a span is back-dated at most
    /// 400 ms before the frame that opens it).
    pub fn unsettled_start(&self) -> Seconds {
        match (self.held, self.state) {
            (Some(held), _) => centre(held.first),
            (None, State::Speech(open)) => centre(open.first),
            (None, State::Silence { .. }) => {
                centre(self.frame_index.saturating_sub(MAX_BACKDATE + 1))
            }
        }
    }

    fn merge_frames(&self) -> usize {
        (self.config.merge_gap / FRAME_SECONDS).round() as usize
    }

    fn measure(&mut self) -> Frame {
        for (i, (dst, w)) in self.scratch_in.iter_mut().zip(&self.window).enumerate() {
            *dst = self.pending[i] * w;
        }
        self.scratch_in[WINDOW..].fill(0.0);
        // The buffers have the planned lengths, so this cannot fail.
        let _ = self
            .fft
            .process(&mut self.scratch_in, &mut self.scratch_out);
        let power: Vec<f32> = self.scratch_out[self.band.0..=self.band.1]
            .iter()
            .map(|c| c.norm_sqr())
            .collect();
        let total: f32 = power.iter().sum();
        let window_power: f32 = self.window.iter().map(|w| w * w).sum();
        // Mean in-band power relative to a full-scale sine.
        let mean_power = 2.0 * total / (FFT_LEN as f32 * window_power);
        let db = (10.0 * (mean_power.max(1e-12)).log10() + 3.01).max(DB_MIN);
        let (peak, _) =
            power.iter().enumerate().fold(
                (0, 0.0f32),
                |best, (i, &p)| if p > best.1 { (i, p) } else { best },
            );
        let lo = peak.saturating_sub(2);
        let hi = (peak + 2).min(power.len() - 1);
        let share = if total > 0.0 {
            power[lo..=hi].iter().sum::<f32>() / total
        } else {
            0.0
        };
        Frame {
            db,
            peak_bin: peak as u16,
            peak_share: share,
        }
    }

    fn floor(&self) -> f32 {
        let target = ((self.history.len() as f32) * self.config.floor_percentile).floor() as u32;
        let mut seen = 0;
        for (bin, &count) in self.histogram.iter().enumerate() {
            seen += count;
            if seen > target {
                return DB_MIN + bin as f32 * 0.5;
            }
        }
        DB_MIN
    }

    /// Adds a frame to the noise-floor history if the last 300 ms were steady: speech never
    /// enters it, so long speech cannot drag the floor up, while a rise in steady noise does.
    fn remember(&mut self, db: f32) {
        self.recent.push_back(db);
        if self.recent.len() > STEADY_FRAMES {
            self.recent.pop_front();
        }
        let n = self.recent.len() as f32;
        let mean = self.recent.iter().sum::<f32>() / n;
        let spread = (self.recent.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
        // Until the first 300 ms are in, every frame counts, so the floor starts somewhere.
        if self.recent.len() == STEADY_FRAMES && spread > STEADY_DB && !self.history.is_empty() {
            return;
        }
        let bin = (((db - DB_MIN) / 0.5) as usize).min(HIST_BINS - 1) as u16;
        self.history.push_back(bin);
        self.histogram[usize::from(bin)] += 1;
        let keep = (self.config.floor_window / FRAME_SECONDS) as usize;
        while self.history.len() > keep.max(1) {
            if let Some(old) = self.history.pop_front() {
                self.histogram[usize::from(old)] -= 1;
            }
        }
    }

    fn step(&mut self, frame: Frame, out: &mut Vec<SpeechSpan>) {
        let index = self.frame_index;
        self.frame_index += 1;
        self.energies.push(frame.db);
        self.remember(frame.db);
        let floor = self.floor();
        let above_offset =
            frame.db > (floor + self.config.offset_db).max(self.config.absolute_min_dbfs - 5.0);
        let above_onset =
            frame.db > (floor + self.config.onset_db).max(self.config.absolute_min_dbfs);
        let above_end =
            frame.db > (floor + self.config.end_db).max(self.config.absolute_min_dbfs - 5.0);
        let hangover = (self.config.hangover / FRAME_SECONDS).round() as usize;

        self.state = match self.state {
            State::Silence { rise } => {
                let rise = if above_offset {
                    rise.or(Some(index))
                } else {
                    None
                };
                if above_onset {
                    // Back-date to the start of the rise, but not past a slow swell of noise.
                    let first = rise
                        .unwrap_or(index)
                        .max(index.saturating_sub(MAX_BACKDATE));
                    State::Speech(OpenSpan {
                        first,
                        last: index,
                        tonal: 0,
                        frames: 0,
                        last_peak: frame.peak_bin,
                    })
                } else {
                    State::Silence { rise }
                }
            }
            State::Speech(mut span) => {
                // A lone noise frame over the threshold must not stretch the span's end.
                if above_onset || (above_end && self.prev_above_end) {
                    span.last = index;
                }
                if index - span.last > hangover {
                    self.close(span, out);
                    State::Silence { rise: None }
                } else {
                    State::Speech(span)
                }
            }
        };
        self.prev_above_end = above_end;
        if let State::Speech(span) = &mut self.state {
            if above_offset {
                span.frames += 1;
                let steady = frame.peak_bin.abs_diff(span.last_peak) <= 1;
                if frame.peak_share > 0.8 && steady {
                    span.tonal += 1;
                }
                span.last_peak = frame.peak_bin;
            }
        }
        // A held span is final once the next one can no longer merge with it.
        if let Some(held) = self.held {
            let merge = self.merge_frames();
            let open_since = match self.state {
                State::Speech(span) => Some(span.first),
                State::Silence { rise } => rise,
            };
            let could_merge = open_since.is_some_and(|f| f <= held.last + merge);
            if !could_merge && index > held.last + merge {
                self.held = None;
                self.emit(held, out);
            }
        }
    }

    fn close(&mut self, span: OpenSpan, out: &mut Vec<SpeechSpan>) {
        if self.config.reject_tones && span.frames > 0 && span.tonal * 10 >= span.frames * 8 {
            return;
        }
        let merge = self.merge_frames();
        match self.held {
            Some(held) if span.first <= held.last + merge => {
                self.held = Some(OpenSpan {
                    last: span.last,
                    tonal: held.tonal + span.tonal,
                    frames: held.frames + span.frames,
                    ..held
                });
            }
            Some(held) => {
                self.emit(held, out);
                self.held = Some(span);
            }
            None => self.held = Some(span),
        }
    }

    fn emit(&self, span: OpenSpan, out: &mut Vec<SpeechSpan>) {
        let s = SpeechSpan {
            start: centre(span.first),
            end: centre(span.last),
        };
        if s.duration() >= self.config.min_speech {
            out.push(s);
        }
    }
}

/// Speech spans of a whole 16 kHz buffer, and the per-frame energies (for [`split_long`]).
pub fn detect(samples: &[f32], config: &VoiceConfig) -> (Vec<SpeechSpan>, Vec<f32>) {
    let mut detector = VoiceDetector::new(config.clone());
    let mut spans = Vec::new();
    detector.push(samples, &mut spans);
    detector.finish(&mut spans);
    (spans, detector.energies)
}

/// The media time frame `k` is centred on (sample k·HOP + WINDOW/2).
fn centre(k: usize) -> Seconds {
    Seconds((k * HOP + WINDOW / 2) as f64 / f64::from(WHISPER_RATE))
}

/// The frame centred nearest to `t`.
fn frame_of(t: Seconds) -> usize {
    ((t.0 * WHISPER_RATE as f64 - (WINDOW / 2) as f64) / HOP as f64)
        .round()
        .max(0.0) as usize
}

/// Cuts spans longer than `max` seconds at the quietest point of each stretch, so that every
/// piece fits one Whisper window. `energies` are the detector's per-frame dB values.
pub fn split_long(spans: &[SpeechSpan], energies: &[f32], max: f64) -> Vec<SpeechSpan> {
    let mut out = Vec::with_capacity(spans.len());
    for span in spans {
        let mut start = span.start;
        while span.end.0 - start.0 > max {
            let cut = cut_point(start, max, energies, 0, energies.len());
            out.push(SpeechSpan { start, end: cut });
            start = cut;
        }
        out.push(SpeechSpan {
            start,
            end: span.end,
        });
    }
    out
}

/// Where a piece of more than `max` seconds of speech that starts at `start` is cut: the
/// quietest 150 ms in the last two thirds of the allowed length, so that pieces are neither tiny
/// nor cut mid-word when a pause is near. `energies` hold frames `base..`; `total` is the number
/// of frames in the whole stream (or, on a live stream, a number the frames this looks at are
/// all below: see [`cut_needs_frames`]).
fn cut_point(start: Seconds, max: f64, energies: &[f32], base: usize, total: usize) -> Seconds {
    let energy = |k: usize| energies[k - base];
    let lo = frame_of(Seconds(start.0 + max / 3.0));
    let hi = frame_of(Seconds(start.0 + max)).min(total.saturating_sub(1));
    let smooth = |k: usize| {
        let a = k.saturating_sub(7);
        let b = (k + 8).min(total);
        (a..b).map(energy).sum::<f32>() / (b - a).max(1) as f32
    };
    let cut = (lo..=hi.max(lo))
        .filter(|&k| k < total)
        .min_by(|&a, &b| smooth(a).total_cmp(&smooth(b)))
        .map_or(Seconds(start.0 + max), centre);
    if cut.0 <= start.0 || cut.0 - start.0 > max {
        Seconds(start.0 + max)
    } else {
        cut
    }
}

/// How many frames of a stream must have been measured before [`cut_point`] for a piece that
/// starts at `start` sees exactly what it would see on the whole recording.
fn cut_needs_frames(start: Seconds, max: f64) -> usize {
    frame_of(Seconds(start.0 + max)) + 8
}

#[cfg(test)]
mod tests;
