//! Synthetic test signals shared by the unit tests of several stages (test builds only).
//!
//! Deterministic noise (white and pink), speech-like sound whose boundaries are known exactly,
//! pure tones, a telephone band-pass, and G.711 μ-law companding, so tests can build telephone
//! audio with known events and check what a stage finds in it.

use crate::audio::ulaw_to_linear;

/// A deterministic noise source (xorshift), roughly uniform in [-1, 1].
pub(crate) struct Noise(pub(crate) u64);

impl Noise {
    pub(crate) fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// `n` samples of white noise with RMS `rms`.
pub(crate) fn white_noise(n: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut noise = Noise(seed);
    // A uniform variable on [-1, 1] has RMS 1/√3.
    let gain = rms * 3f32.sqrt();
    (0..n).map(|_| gain * noise.next()).collect()
}

/// `n` samples of pink (1/f) noise with RMS `rms` (Paul Kellett's filter on white noise).
pub(crate) fn pink_noise(n: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut noise = Noise(seed);
    let mut b = [0.0f32; 7];
    let raw: Vec<f32> = (0..n)
        .map(|_| {
            let white = noise.next();
            b[0] = 0.99886 * b[0] + white * 0.0555179;
            b[1] = 0.99332 * b[1] + white * 0.0750759;
            b[2] = 0.96900 * b[2] + white * 0.153852;
            b[3] = 0.86650 * b[3] + white * 0.3104856;
            b[4] = 0.55000 * b[4] + white * 0.5329522;
            b[5] = -0.7616 * b[5] - white * 0.0168980;
            let out = b.iter().sum::<f32>() + white * 0.5362;
            b[6] = white * 0.115926;
            out
        })
        .collect();
    let gain = rms / rms_of(&raw).max(1e-12);
    raw.into_iter().map(|s| s * gain).collect()
}

pub(crate) fn rms_of(samples: &[f32]) -> f32 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (energy / samples.len().max(1) as f64).sqrt() as f32
}

/// Adds a sine of `freq` Hz and peak `amplitude` into `out` from `start` for `len` seconds,
/// with 5 ms ramps so that its edges do not click.
pub(crate) fn add_tone(
    out: &mut [f32],
    rate: u32,
    freq: f32,
    amplitude: f32,
    start: f64,
    len: f64,
) {
    let at = (start * f64::from(rate)) as usize;
    let n = (len * f64::from(rate)) as usize;
    let ramp = (0.005 * f64::from(rate)) as usize;
    for i in 0..n.min(out.len().saturating_sub(at)) {
        let edge = (i.min(n - 1 - i) as f32 / ramp as f32).min(1.0);
        let t = i as f32 / rate as f32;
        out[at + i] += amplitude * edge * (2.0 * std::f32::consts::PI * freq * t).sin();
    }
}

/// Voiced-speech-like sound: a gliding harmonic series whose syllables swing the level by about
/// 20 dB (as real speech does), with syllable peaks at both ends and 15 ms ramps, so its
/// boundaries are known exactly.
pub(crate) fn speechlike(seconds: f64, rate: u32, level: f32, seed: f32) -> Vec<f32> {
    let n = (seconds * rate as f64) as usize;
    let ramp = (0.015 * rate as f64) as usize;
    let syllables = (seconds * 4.3).round().max(1.0) as f32;
    let mut phase = 0.0f32;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let f0 = 190.0 + 40.0 * (2.0 * std::f32::consts::PI * (0.7 + seed) * t).sin();
            phase += 2.0 * std::f32::consts::PI * f0 / rate as f32;
            let voiced: f32 = (1..=12).map(|k| (k as f32 * phase).sin() / k as f32).sum();
            let syllable = 0.08
                + 0.92
                    * (std::f32::consts::PI * syllables * t / seconds as f32)
                        .cos()
                        .abs();
            let edge = (i.min(n - 1 - i) as f32 / ramp as f32).min(1.0);
            level * voiced * syllable * edge
        })
        .collect()
}

/// G.711 μ-law compression (the inverse of the decoder), for making test input.
pub(crate) fn linear_to_ulaw(sample: f32) -> u8 {
    let pcm = (sample * 32768.0).clamp(-32768.0, 32767.0) as i32;
    let sign = if pcm < 0 { 0x80 } else { 0 };
    let magnitude = (pcm.abs().min(32635) + 0x84) as u32;
    let exponent = (31 - magnitude.leading_zeros()).saturating_sub(7).min(7);
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// The samples as a μ-law recording would give them back: encoded, then decoded.
pub(crate) fn through_ulaw(samples: &[f32]) -> Vec<f32> {
    samples
        .iter()
        .map(|&s| f32::from(ulaw_to_linear(linear_to_ulaw(s))) / 32768.0)
        .collect()
}

/// The telephone channel's pass band, 300–3400 Hz: two second-order Butterworth sections
/// (high-pass at 300 Hz, low-pass at 3400 Hz), as a line would shape the audio.
pub(crate) fn telephone_band(samples: &[f32], rate: u32) -> Vec<f32> {
    let high = Biquad::butterworth(rate, 300.0, true);
    let low = Biquad::butterworth(rate, 3400.0, false);
    low.run(&high.run(samples))
}

struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    /// RBJ cookbook coefficients, Q = 1/√2.
    fn butterworth(rate: u32, cutoff: f64, high_pass: bool) -> Biquad {
        let w = 2.0 * std::f64::consts::PI * cutoff / f64::from(rate);
        let alpha = w.sin() / std::f64::consts::SQRT_2;
        let cos = w.cos();
        let a0 = 1.0 + alpha;
        let (b0, b1) = if high_pass {
            ((1.0 + cos) / 2.0, -(1.0 + cos))
        } else {
            ((1.0 - cos) / 2.0, 1.0 - cos)
        };
        Biquad {
            b: [b0 / a0, b1 / a0, b0 / a0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
        }
    }

    fn run(&self, input: &[f32]) -> Vec<f32> {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        input
            .iter()
            .map(|&x| {
                let x = f64::from(x);
                let y = self.b[0] * x + self.b[1] * x1 + self.b[2] * x2
                    - self.a[0] * y1
                    - self.a[1] * y2;
                (x2, x1, y2, y1) = (x1, x, y1, y);
                y as f32
            })
            .collect()
    }
}

#[test]
fn the_test_mulaw_encoder_round_trips_through_the_decoder() {
    for code in 0u8..=255 {
        let linear = f32::from(ulaw_to_linear(code)) / 32768.0;
        let back = linear_to_ulaw(linear);
        assert_eq!(
            ulaw_to_linear(back),
            ulaw_to_linear(code),
            "code {code:#04x}"
        );
    }
}

#[test]
fn noise_has_the_asked_level_and_pink_noise_leans_to_low_frequencies() {
    let white = white_noise(80_000, 0.05, 7);
    let pink = pink_noise(80_000, 0.05, 7);
    assert!(
        (rms_of(&white) / 0.05 - 1.0).abs() < 0.02,
        "white rms {}",
        rms_of(&white)
    );
    assert!(
        (rms_of(&pink) / 0.05 - 1.0).abs() < 0.02,
        "pink rms {}",
        rms_of(&pink)
    );
    // First differences weigh high frequencies: pink noise loses far more of its level to them.
    let diff = |s: &[f32]| rms_of(&s.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>());
    assert!(
        diff(&pink) < 0.5 * diff(&white),
        "pink {} white {}",
        diff(&pink),
        diff(&white)
    );
}

#[test]
fn the_telephone_band_passes_450_hz_and_stops_50_hz_and_3900_hz() {
    let level = |freq: f32| {
        let mut tone = vec![0.0; 8000];
        add_tone(&mut tone, 8000, freq, 0.5, 0.0, 1.0);
        rms_of(&telephone_band(&tone, 8000)[2000..]) / rms_of(&tone[2000..])
    };
    assert!(level(450.0) > 0.8, "450 Hz kept at {}", level(450.0));
    assert!(level(50.0) < 0.05, "50 Hz kept at {}", level(50.0));
    assert!(level(3900.0) < 0.5, "3900 Hz kept at {}", level(3900.0));
}
