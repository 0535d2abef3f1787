//! The mel filterbank stored in a ggml Whisper file.
//!
//! In: sample rate, FFT size, number of mel bands. Out: `n_mels × (n_fft/2 + 1)` weights, row
//! major. CTranslate2 models do not carry the filterbank (faster-whisper computes it at run time),
//! so the converter rebuilds it here exactly as `librosa.filters.mel` does by default: Slaney mel
//! scale, Slaney area normalisation. Computed in `f64` and only then narrowed to `f32`; that
//! matches Whisper's own `mel_filters.npz` to about 2e-9.

/// Slaney's mel scale: linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// Triangular mel filters from 0 Hz to Nyquist, each scaled to unit area (Slaney norm).
///
/// Returns `n_mels` rows of `n_fft / 2 + 1` weights.
pub fn slaney_mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f64> {
    let n_bins = n_fft / 2 + 1;
    let sr = f64::from(sample_rate);
    // numpy.fft.rfftfreq: bin k sits at k * sr / n_fft.
    let bin_step = 1.0 / (n_fft as f64 * (1.0 / sr));
    let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * bin_step).collect();

    // n_mels + 2 band edges evenly spaced in mel, as numpy.linspace computes them.
    let min_mel = hz_to_mel(0.0);
    let max_mel = hz_to_mel(sr / 2.0);
    let n_edges = n_mels + 2;
    let step = (max_mel - min_mel) / (n_edges - 1) as f64;
    let mut mel_f: Vec<f64> = (0..n_edges)
        .map(|i| mel_to_hz(min_mel + i as f64 * step))
        .collect();
    // linspace sets its last point to the stop value exactly.
    mel_f[n_edges - 1] = mel_to_hz(max_mel);

    let mut weights = vec![0.0f64; n_mels * n_bins];
    for m in 0..n_mels {
        let lower_width = mel_f[m + 1] - mel_f[m];
        let upper_width = mel_f[m + 2] - mel_f[m + 1];
        let enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - mel_f[m]) / lower_width;
            let upper = (mel_f[m + 2] - f) / upper_width;
            weights[m * n_bins + k] = lower.min(upper).max(0.0) * enorm;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80,
    /// dtype=np.float64)` (librosa 0.11.0), computed once and pasted here.
    const LIBROSA: &[(usize, usize, f64)] = &[
        (0, 1, 0.024862593984176087),
        (1, 1, 0.00199082188809807),
        (1, 2, 0.022871772096078016),
        (14, 14, 0.02583532531117542),
        (15, 14, 0.0010180905610987637),
        (15, 15, 0.023844503423077285),
        (16, 15, 0.003008912449196894),
        (16, 16, 0.0218536815349792),
        (30, 29, 0.01585603806172187),
        (30, 30, 0.0089627711717323),
        (50, 61, 0.0008110002442121123),
        (50, 63, 0.009462301431072994),
        (50, 65, 0.002778399436469445),
        (79, 186, 0.00036674167978492585),
        (79, 192, 0.003164711739176461),
        (79, 193, 0.0031413131931235135),
        (79, 199, 0.00044875902758905584),
    ];

    #[test]
    fn whisper_filterbank_matches_librosa() {
        let w = slaney_mel_filters(16_000, 400, 80);
        assert_eq!(w.len(), 80 * 201);
        for &(m, k, expected) in LIBROSA {
            let got = w[m * 201 + k];
            assert!(
                (got - expected).abs() < 1e-12,
                "filter {m} bin {k}: got {got:e}, librosa {expected:e}"
            );
        }
    }

    #[test]
    fn whisper_filterbank_has_librosa_zeros_and_totals() {
        let w = slaney_mel_filters(16_000, 400, 80);
        // Bins librosa leaves at exactly zero (outside each triangle).
        for &(m, k) in &[
            (0, 0),
            (0, 2),
            (1, 3),
            (10, 25),
            (40, 60),
            (79, 185),
            (79, 200),
        ] {
            assert_eq!(w[m * 201 + k], 0.0, "filter {m} bin {k}");
        }
        assert_eq!(w.iter().filter(|&&v| v > 0.0).count(), 391);
        let total: f64 = w.iter().sum();
        assert!((total - 1.9990241029178577).abs() < 1e-10, "sum {total}");
    }

    #[test]
    fn mel_scale_is_slaney_and_inverts() {
        // librosa gets 1000 / (200/3) = 14.999999999999998 too; only the tolerance matters.
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(2000.0) - (15.0 + 27.0 * 2f64.ln() / 6.4f64.ln())).abs() < 1e-12);
        assert!((hz_to_mel(200.0 / 3.0) - 1.0).abs() < 1e-15);
        for hz in [0.0, 123.0, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
    }
}
