//! Sample-rate conversion to the 16 kHz that Whisper and speech detection work at.
//!
//! Uses rubato's synchronous FFT resampler: the ratio of a recording or a device is fixed, and it
//! is both the fastest and the cleanest of rubato's resamplers. [`StreamResampler`] takes input in
//! pieces of any size (a capture device's callbacks, a replay's blocks) and trims the resampler's
//! own delay, so output sample `i` is media time `i / 16000` exactly as input sample `j` is
//! `j / rate`: timestamps do not drift. [`Resampler::process`] is the same stream over a whole
//! buffer, so a recording and a live stream of the same audio give the same samples, bit for bit.
//! Runs on the calling thread; a resampler is built once per source rate and reused.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler as _};

/// The rate every stage after this one works at.
pub const WHISPER_RATE: u32 = 16_000;

/// Input frames per FFT chunk: long enough for clean filtering, short enough that a live stream
/// is held back by at most 64 ms at 16 kHz input (less at higher rates).
const CHUNK: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// Set-up: the rate cannot be converted. Retrying does not help.
    #[error("cannot resample from {rate} Hz: {reason}")]
    Setup { rate: u32, reason: String },
    /// Run-time: rubato refused a chunk (a bug, not bad input).
    #[error("resampling failed: {0}")]
    Process(String),
}

/// Converts a stream at one fixed rate to [`WHISPER_RATE`], piece by piece.
pub struct StreamResampler {
    from: u32,
    /// `None` at 16 kHz already: samples pass through.
    fft: Option<Fft<f32>>,
    /// Input not yet making up a whole chunk (capacity: one chunk).
    pending: Vec<f32>,
    /// One chunk's output (capacity: the resampler's largest output).
    scratch: Vec<f32>,
    out: Output,
    /// Input frames taken since the start.
    taken: u64,
}

impl StreamResampler {
    /// A stream from `from` Hz; at 16 kHz already it only copies.
    pub fn new(from: u32) -> Result<Self, ResampleError> {
        let fft = if from == WHISPER_RATE {
            None
        } else {
            let fft = Fft::<f32>::new(
                from as usize,
                WHISPER_RATE as usize,
                CHUNK,
                1,
                FixedSync::Both,
            )
            .map_err(|e| ResampleError::Setup {
                rate: from,
                reason: e.to_string(),
            })?;
            Some(fft)
        };
        let (chunk_in, chunk_out, delay) = fft.as_ref().map_or((0, 0, 0), |f| {
            (
                f.input_frames_next(),
                f.output_frames_max(),
                f.output_delay(),
            )
        });
        Ok(StreamResampler {
            from,
            fft,
            pending: Vec::with_capacity(chunk_in),
            scratch: vec![0.0; chunk_out],
            out: Output {
                to_trim: delay,
                given: 0,
            },
            taken: 0,
        })
    }

    pub fn source_rate(&self) -> u32 {
        self.from
    }

    /// Starts a new stream (a new call): the filter's memory and the delay are reset.
    pub fn reset(&mut self) {
        if let Some(fft) = self.fft.as_mut() {
            fft.reset();
            self.out.to_trim = fft.output_delay();
        }
        self.pending.clear();
        self.taken = 0;
        self.out.given = 0;
    }

    /// Resamples `input`, appending every output sample that is final to `out`. Allocates
    /// nothing once `out` has room.
    pub fn push_into(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        self.taken += input.len() as u64;
        let Some(fft) = self.fft.as_mut() else {
            out.extend_from_slice(input);
            self.out.given += input.len() as u64;
            return Ok(());
        };
        let chunk = fft.input_frames_next();
        let mut rest = input;
        while !rest.is_empty() {
            let take = (chunk - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == chunk {
                let n = run_chunk(fft, &self.pending, chunk, &mut self.scratch)?;
                self.pending.clear();
                self.out.give(&self.scratch[..n], None, out);
            }
        }
        Ok(())
    }

    /// Ends the stream: the last partial chunk and the resampler's delay are flushed, so the
    /// whole stream is `ceil(input × 16000 / rate)` samples, as [`Resampler::process`] gives.
    pub fn finish_into(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let Some(fft) = self.fft.as_mut() else {
            return Ok(());
        };
        let expected = (fft.resample_ratio() * self.taken as f64).ceil() as u64;
        if !self.pending.is_empty() {
            let partial = self.pending.len();
            let n = run_chunk(fft, &self.pending, partial, &mut self.scratch)?;
            self.pending.clear();
            self.out.give(&self.scratch[..n], Some(expected), out);
        }
        while self.out.given < expected {
            let n = run_chunk(fft, &[], 0, &mut self.scratch)?;
            self.out.give(&self.scratch[..n], Some(expected), out);
        }
        Ok(())
    }
}

/// The output side of a stream: the delay still to drop, and how much was given out.
struct Output {
    /// Output frames still to drop: the resampler's delay.
    to_trim: usize,
    /// Output frames given out since the start.
    given: u64,
}

impl Output {
    /// Hands out `fresh` samples, minus the delay still to trim and anything beyond `limit`.
    fn give(&mut self, fresh: &[f32], limit: Option<u64>, out: &mut Vec<f32>) {
        let skip = self.to_trim.min(fresh.len());
        self.to_trim -= skip;
        let mut fresh = &fresh[skip..];
        if let Some(limit) = limit {
            let room = limit.saturating_sub(self.given) as usize;
            fresh = &fresh[..fresh.len().min(room)];
        }
        out.extend_from_slice(fresh);
        self.given += fresh.len() as u64;
    }
}

/// One chunk through the resampler: `valid` frames of `input`, the rest of the chunk silence
/// (the last chunk of a stream, and the flush). Returns the number of output frames.
fn run_chunk(
    fft: &mut Fft<f32>,
    input: &[f32],
    valid: usize,
    scratch: &mut [f32],
) -> Result<usize, ResampleError> {
    let process = |e: &dyn std::fmt::Display| ResampleError::Process(e.to_string());
    let frames = input.len().max(1);
    // The adapter needs one frame to exist even for a chunk of pure silence.
    let silence = [0.0f32];
    let data = if input.is_empty() {
        &silence[..]
    } else {
        input
    };
    let wave_in = InterleavedSlice::new(data, 1, frames).map_err(|e| process(&e))?;
    let capacity = scratch.len();
    let mut wave_out = InterleavedSlice::new_mut(scratch, 1, capacity).map_err(|e| process(&e))?;
    let indexing = Indexing {
        partial_len: (valid < fft.input_frames_next()).then_some(valid),
        ..Indexing::default()
    };
    let (_, written) = fft
        .process_into_buffer(&wave_in, &mut wave_out, Some(&indexing))
        .map_err(|e| process(&e))?;
    Ok(written)
}

/// Converts whole buffers from one fixed rate to [`WHISPER_RATE`] (one per call, reused for
/// every channel): a [`StreamResampler`] run over the whole buffer.
pub struct Resampler {
    stream: StreamResampler,
}

impl Resampler {
    /// A resampler from `from` Hz; at 16 kHz already it only copies.
    pub fn new(from: u32) -> Result<Self, ResampleError> {
        Ok(Resampler {
            stream: StreamResampler::new(from)?,
        })
    }

    pub fn source_rate(&self) -> u32 {
        self.stream.source_rate()
    }

    /// The whole of `samples` at 16 kHz.
    pub fn process(&mut self, samples: &[f32]) -> Result<Vec<f32>, ResampleError> {
        let ratio = f64::from(WHISPER_RATE) / f64::from(self.stream.source_rate());
        let mut out = Vec::with_capacity((samples.len() as f64 * ratio).ceil() as usize + CHUNK);
        self.stream.reset();
        self.stream.push_into(samples, &mut out)?;
        self.stream.finish_into(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// The frequency of a clean sine, from its zero crossings.
    fn frequency(samples: &[f32], rate: u32) -> f32 {
        let crossings: Vec<usize> = (1..samples.len())
            .filter(|&i| samples[i - 1] < 0.0 && samples[i] >= 0.0)
            .collect();
        let (first, last) = (crossings[0], crossings[crossings.len() - 1]);
        (crossings.len() - 1) as f32 * rate as f32 / (last - first) as f32
    }

    #[test]
    fn a_tone_keeps_its_frequency_and_the_length_scales() {
        for (rate, freq) in [
            (8000u32, 1000.0f32),
            (44_100, 440.0),
            (48_000, 3000.0),
            (22_050, 450.0),
        ] {
            let input = sine(freq, rate, 2.0);
            let out = Resampler::new(rate).unwrap().process(&input).unwrap();
            let expected_len = (input.len() as f64 * 16_000.0 / rate as f64).ceil() as usize;
            assert_eq!(out.len(), expected_len, "length from {rate} Hz");
            let measured = frequency(&out[1600..out.len() - 1600], WHISPER_RATE);
            assert!(
                (measured - freq).abs() < 0.5,
                "{freq} Hz from {rate} Hz came out at {measured} Hz"
            );
        }
    }

    #[test]
    fn resampling_adds_no_delay() {
        // A click at 1.000 s must stay at 1.000 s (± one output sample).
        let mut input = vec![0.0f32; 16_000];
        for (k, s) in input[8000..8040].iter_mut().enumerate() {
            *s = (std::f32::consts::PI * k as f32 / 40.0).sin();
        }
        let out = Resampler::new(8000).unwrap().process(&input).unwrap();
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap();
        // The half-sine's peak sits at 1.0025 s.
        assert!((peak as i64 - 16_040).abs() <= 2, "peak at sample {peak}");
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed() {
        let input = sine(11_000.0, 44_100, 1.0);
        let out = Resampler::new(44_100).unwrap().process(&input).unwrap();
        let rms = (out[800..out.len() - 800].iter().map(|s| s * s).sum::<f32>()
            / (out.len() - 1600) as f32)
            .sqrt();
        assert!(rms < 0.01, "an 11 kHz tone leaked through as rms {rms}");
    }

    #[test]
    fn sixteen_khz_passes_through_untouched() {
        let input = sine(500.0, 16_000, 0.1);
        assert_eq!(
            Resampler::new(16_000).unwrap().process(&input).unwrap(),
            input
        );
    }

    /// What rubato's own whole-clip method gives: the reference the stream must match.
    fn rubato_whole(samples: &[f32], rate: u32) -> Vec<f32> {
        let mut fft = Fft::<f32>::new(rate as usize, 16_000, CHUNK, 1, FixedSync::Both).unwrap();
        let input = InterleavedSlice::new(samples, 1, samples.len()).unwrap();
        let needed = fft.process_all_needed_output_len(samples.len());
        let mut out = vec![0.0f32; needed];
        let mut output = InterleavedSlice::new_mut(&mut out, 1, needed).unwrap();
        let (_, written) = fft
            .process_all_into_buffer(&input, &mut output, samples.len(), None)
            .unwrap();
        out.truncate(written);
        out
    }

    fn speechy(rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                0.3 * (2.0 * std::f32::consts::PI * 210.0 * t).sin() * (3.0 * t).sin()
                    + 0.1 * (2.0 * std::f32::consts::PI * 1330.0 * t).sin()
            })
            .collect()
    }

    #[test]
    fn a_stream_in_pieces_gives_the_whole_buffer_result_bit_for_bit() {
        for rate in [8000u32, 44_100, 48_000, 16_000] {
            // Lengths around chunk boundaries, and a long odd one.
            for seconds in [0.01f32, 0.128, 0.256, 1.0, 3.7] {
                let input = speechy(rate, seconds);
                let whole = Resampler::new(rate).unwrap().process(&input).unwrap();
                if rate != 16_000 {
                    assert_eq!(whole, rubato_whole(&input, rate), "{rate} Hz, {seconds} s");
                }
                for piece in [1usize, 7, 160, 441, 1024, 4800] {
                    let mut stream = StreamResampler::new(rate).unwrap();
                    let mut out = Vec::new();
                    for part in input.chunks(piece) {
                        stream.push_into(part, &mut out).unwrap();
                    }
                    stream.finish_into(&mut out).unwrap();
                    assert_eq!(out, whole, "{rate} Hz, {seconds} s in pieces of {piece}");
                }
            }
        }
    }

    #[test]
    fn a_reset_stream_starts_afresh() {
        let input = speechy(8000, 0.9);
        let mut stream = StreamResampler::new(8000).unwrap();
        let mut first = Vec::new();
        stream.push_into(&input, &mut first).unwrap();
        stream.finish_into(&mut first).unwrap();
        stream.push_into(&input[..333], &mut Vec::new()).unwrap();
        stream.reset();
        let mut second = Vec::new();
        stream.push_into(&input, &mut second).unwrap();
        stream.finish_into(&mut second).unwrap();
        assert_eq!(first, second);
    }
}
