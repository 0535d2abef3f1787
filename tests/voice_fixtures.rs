//! Speech detection on the fixture calls (real synthetic speech, 8 and 16 kHz, telephone band,
//! background noise, G.711) against the exact speech times their scripts placed. Needs no model.

use zhijian::audio::{read_wav, ChannelMap};
use zhijian::call::Sidecar;
use zhijian::party::Party;
use zhijian::reference::Reference;
use zhijian::resample::Resampler;
use zhijian::voice::{detect, SpeechSpan, VoiceConfig};

use crate::util::fixture;

fn spans_of(call: &str) -> Vec<(Party, Vec<SpeechSpan>)> {
    let path = fixture(&format!("{call}.wav"));
    let map = Sidecar::load_for(&path)
        .unwrap()
        .and_then(|s| s.channels)
        .unwrap_or(ChannelMap::default());
    let recording = read_wav(&path).unwrap();
    let mut resampler = Resampler::new(recording.sample_rate).unwrap();
    recording
        .into_parties(map)
        .unwrap()
        .into_iter()
        .map(|p| {
            let wide = resampler.process(&p.samples).unwrap();
            (p.party, detect(&wide, &VoiceConfig::default()).0)
        })
        .collect()
}

#[test]
fn every_scripted_line_is_one_span_with_boundaries_within_100_ms() {
    let mut errors = Vec::new();
    let mut worst: f64 = 0.0;
    for call in [
        "call_16k_stereo",
        "call_8k_stereo",
        "call_8k_mulaw",
        "call_8k_alaw_swapped",
    ] {
        let reference = Reference::load_for(&fixture(&format!("{call}.wav"))).unwrap();
        for (party, spans) in spans_of(call) {
            let mut turns: Vec<_> = reference
                .turns
                .iter()
                .filter(|t| t.party == party)
                .collect();
            turns.sort_by(|a, b| a.start.0.total_cmp(&b.start.0));
            // Lines of one party closer than the merge gap are expected to share a span.
            let mut expected: Vec<(f64, f64)> = Vec::new();
            for t in turns {
                match expected.last_mut() {
                    Some(last) if t.start.0 - last.1 < VoiceConfig::default().merge_gap => {
                        last.1 = t.end.0
                    }
                    _ => expected.push((t.start.0, t.end.0)),
                }
            }
            if spans.len() != expected.len() {
                errors.push(format!(
                    "{call} {party}: {} spans for {} lines: {spans:?} vs {expected:?}",
                    spans.len(),
                    expected.len()
                ));
                continue;
            }
            for (s, (start, end)) in spans.iter().zip(&expected) {
                let off = (s.start.0 - start).abs().max((s.end.0 - end).abs());
                worst = worst.max(off);
                if off > 0.05 {
                    eprintln!(
                        "{call} {party}: span {:.3}–{:.3} vs line {start:.3}–{end:.3}",
                        s.start.0, s.end.0
                    );
                }
                if off > 0.10 {
                    errors.push(format!(
                        "{call} {party}: span {:.3}–{:.3} vs line {start:.3}–{end:.3}",
                        s.start.0, s.end.0
                    ));
                }
            }
        }
    }
    eprintln!("worst boundary error {:.0} ms", worst * 1000.0);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn a_silent_channel_has_no_speech() {
    // The mono call's noise floor and the customer channels between turns are covered above;
    // here, a stereo call whose customer channel is pure line noise.
    let path = fixture("call_8k_stereo.wav");
    let mut recording = read_wav(&path).unwrap();
    let noise: Vec<f32> = recording.channels[1]
        .iter()
        .take(8000 * 2)
        .copied()
        .collect();
    let frames = recording.frames();
    recording.channels[1] = noise.iter().cycle().take(frames).copied().collect();
    let parties = recording.into_parties(ChannelMap::default()).unwrap();
    let wide = Resampler::new(8000)
        .unwrap()
        .process(&parties[1].samples)
        .unwrap();
    let (spans, _) = detect(&wide, &VoiceConfig::default());
    assert!(spans.is_empty(), "line noise taken for speech: {spans:?}");
}
