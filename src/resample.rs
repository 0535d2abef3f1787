//! Sample-rate conversion to the 16 kHz that Whisper and speech detection work at.
//!
//! Uses rubato's synchronous FFT resampler: the ratio of a recording is fixed, and it is both
//! the fastest and the cleanest of rubato's resamplers. `process_all_into_buffer` trims the
//! resampler's own delay, so sample `i` of the output is media time `i / 16000` exactly as sample
//! `j` of the input is `j / rate`: timestamps do not drift. Runs on the calling thread; a
//! [`Resampler`] is built once per source rate and reused for every channel of a call.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _};

/// The rate every stage after this one works at.
pub const WHISPER_RATE: u32 = 16_000;

/// Converts from one fixed rate to [`WHISPER_RATE`].
pub struct Resampler {
    from: u32,
    inner: Option<Fft<f32>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample from {rate} Hz: {reason}")]
    Setup { rate: u32, reason: String },
    #[error("resampling failed: {0}")]
    Process(String),
}

impl Resampler {
    /// A resampler from `from` Hz; at 16 kHz already it only copies.
    pub fn new(from: u32) -> Result<Self, ResampleError> {
        let inner = if from == WHISPER_RATE {
            None
        } else {
            let fft = Fft::<f32>::new(
                from as usize,
                WHISPER_RATE as usize,
                1024,
                1,
                FixedSync::Both,
            )
            .map_err(|e| ResampleError::Setup {
                rate: from,
                reason: e.to_string(),
            })?;
            Some(fft)
        };
        Ok(Resampler { from, inner })
    }

    pub fn source_rate(&self) -> u32 {
        self.from
    }

    /// The whole of `samples` at 16 kHz.
    pub fn process(&mut self, samples: &[f32]) -> Result<Vec<f32>, ResampleError> {
        let Some(fft) = self.inner.as_mut() else {
            return Ok(samples.to_vec());
        };
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        let input = InterleavedSlice::new(samples, 1, samples.len())
            .map_err(|e| ResampleError::Process(e.to_string()))?;
        fft.reset();
        let needed = fft.process_all_needed_output_len(samples.len());
        let mut out = vec![0.0f32; needed];
        let mut output = InterleavedSlice::new_mut(&mut out, 1, needed)
            .map_err(|e| ResampleError::Process(e.to_string()))?;
        let (_, written) = fft
            .process_all_into_buffer(&input, &mut output, samples.len(), None)
            .map_err(|e| ResampleError::Process(e.to_string()))?;
        out.truncate(written);
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
}
