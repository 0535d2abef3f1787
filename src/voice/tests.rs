use super::*;
use crate::audio::ulaw_to_linear;
use crate::resample::Resampler;
use crate::test_signal::{linear_to_ulaw, speechlike, Noise};

/// Places `bursts` (start, length) of speech-like sound in noise at `snr_db` below the speech
/// level; returns the samples at `rate`.
fn scene(total: f64, bursts: &[(f64, f64)], rate: u32, snr_db: f32) -> Vec<f32> {
    let level = 0.25;
    let mut out = vec![0.0f32; (total * rate as f64) as usize];
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let noise_level = level * 10f32.powf(-snr_db / 20.0);
    for s in out.iter_mut() {
        *s = noise_level * noise.next();
    }
    for (k, &(start, len)) in bursts.iter().enumerate() {
        let at = (start * rate as f64) as usize;
        for (i, v) in speechlike(len, rate, level, k as f32 * 0.3)
            .into_iter()
            .enumerate()
        {
            out[at + i] += v;
        }
    }
    out
}

fn assert_spans(got: &[SpeechSpan], want: &[(f64, f64)], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "spans {got:?}, wanted {want:?}");
    for (g, &(start, len)) in got.iter().zip(want) {
        let end = start + len;
        assert!(
            (g.start.0 - start).abs() <= tolerance && (g.end.0 - end).abs() <= tolerance,
            "span {:.3}–{:.3} vs true {start:.3}–{end:.3} (± {tolerance})",
            g.start.0,
            g.end.0
        );
    }
}

const BURSTS: [(f64, f64); 4] = [(1.0, 2.2), (4.7, 0.9), (7.3, 3.5), (12.0, 0.6)];

#[test]
fn spans_match_known_boundaries_in_clean_16k_audio() {
    let audio = scene(14.0, &BURSTS, 16_000, 40.0);
    let (spans, _) = detect(&audio, &VoiceConfig::default());
    assert_spans(&spans, &BURSTS, 0.05);
}

#[test]
fn spans_match_known_boundaries_in_noisy_8k_mulaw_telephone_audio() {
    let audio = scene(14.0, &BURSTS, 8000, 20.0);
    // Through G.711 μ-law and back, then up to 16 kHz, as a telephony recording would come.
    let companded: Vec<f32> = audio
        .iter()
        .map(|&s| f32::from(ulaw_to_linear(linear_to_ulaw(s))) / 32768.0)
        .collect();
    let wide = Resampler::new(8000).unwrap().process(&companded).unwrap();
    let (spans, _) = detect(&wide, &VoiceConfig::default());
    assert_spans(&spans, &BURSTS, 0.05);
}

#[test]
fn quiet_speech_after_a_loud_stretch_is_still_found() {
    // The floor follows the noise, not the loud speaker: a soft reply 15 dB down is found.
    let mut audio = scene(10.0, &[(0.5, 3.0)], 16_000, 30.0);
    for (i, v) in speechlike(1.5, 16_000, 0.25 * 0.18, 0.9)
        .into_iter()
        .enumerate()
    {
        audio[(6.0 * 16_000.0) as usize + i] += v;
    }
    let (spans, _) = detect(&audio, &VoiceConfig::default());
    assert_spans(&spans, &[(0.5, 3.0), (6.0, 1.5)], 0.06);
}

#[test]
fn near_spans_merge_and_far_spans_do_not() {
    let audio = scene(8.0, &[(1.0, 1.0), (2.3, 1.0), (4.5, 1.0)], 16_000, 30.0);
    let (spans, _) = detect(&audio, &VoiceConfig::default());
    assert_spans(&spans, &[(1.0, 2.3), (4.5, 1.0)], 0.05);
}

#[test]
fn noise_alone_and_digital_silence_give_no_speech() {
    let noise = scene(10.0, &[], 16_000, 20.0);
    assert!(detect(&noise, &VoiceConfig::default()).0.is_empty());
    assert!(detect(&vec![0.0; 160_000], &VoiceConfig::default())
        .0
        .is_empty());
}

#[test]
fn ringback_and_busy_tones_are_not_speech() {
    let rate = 16_000;
    let mut audio = scene(20.0, &[], rate, 25.0);
    // Ringback: 450 Hz, 1 s on / 4 s off; then busy tone: 0.35 s on / 0.35 s off.
    let mut tone_at = |start: f64, len: f64| {
        for i in 0..(len * rate as f64) as usize {
            let t = i as f32 / rate as f32;
            audio[(start * rate as f64) as usize + i] +=
                0.3 * (2.0 * std::f32::consts::PI * 450.0 * t).sin();
        }
    };
    tone_at(0.5, 1.0);
    tone_at(5.5, 1.0);
    for k in 0..8 {
        tone_at(11.0 + 0.7 * k as f64, 0.35);
    }
    let (spans, _) = detect(&audio, &VoiceConfig::default());
    assert!(spans.is_empty(), "tones taken for speech: {spans:?}");
}

#[test]
fn streaming_in_odd_pieces_gives_the_same_spans_as_one_buffer() {
    let audio = scene(14.0, &BURSTS, 16_000, 25.0);
    let (whole, _) = detect(&audio, &VoiceConfig::default());
    let mut detector = VoiceDetector::new(VoiceConfig::default());
    let mut spans = Vec::new();
    let mut at = 0;
    let mut size = 7;
    while at < audio.len() {
        let end = (at + size).min(audio.len());
        detector.push(&audio[at..end], &mut spans);
        at = end;
        size = size * 3 % 2011 + 1;
    }
    detector.finish(&mut spans);
    assert_eq!(spans, whole);
}

#[test]
fn long_speech_is_cut_at_pauses_into_pieces_of_at_most_28_seconds() {
    // 70 s of talk with short (0.2 s) breaths every ~6 s: one merged span, cut at breaths.
    let mut bursts = Vec::new();
    let mut t = 0.5;
    while t < 70.0 {
        bursts.push((t, 5.8));
        t += 6.0;
    }
    let audio = scene(77.0, &bursts, 16_000, 30.0);
    let (spans, energies) = detect(&audio, &VoiceConfig::default());
    assert_eq!(
        spans.len(),
        1,
        "breaths shorter than the merge gap keep one span: {spans:?}"
    );
    let pieces = split_long(&spans, &energies, 28.0);
    assert!(pieces.len() >= 3, "{pieces:?}");
    for (i, p) in pieces.iter().enumerate() {
        assert!(
            p.duration() <= 28.0 + 1e-9,
            "piece {i} is {:.2} s",
            p.duration()
        );
        if i + 1 < pieces.len() {
            // Each cut falls inside a breath (the 0.2 s gaps), not in the middle of a word.
            let in_gap = bursts
                .iter()
                .any(|&(s, l)| p.end.0 > s + l - 0.05 && p.end.0 < s + l + 0.25);
            assert!(in_gap, "cut at {:.2} s is not in a pause", p.end.0);
            assert_eq!(p.end, pieces[i + 1].start);
        }
    }
    assert_eq!(pieces.first().unwrap().start, spans[0].start);
    assert_eq!(pieces.last().unwrap().end, spans[0].end);
}
