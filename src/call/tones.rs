//! Call events inferred from the line's tones, for calls that come with no reported events.
//!
//! In: the customer channel (samples in [-1, 1] at any rate; 8 kHz after G.711 decoding is
//! typical) and, when known, when the agent first spoke. Out: a [`ToneReport`]: the ringback
//! heard before the agent's first words (first ring, ring count, when ringing stopped) and the
//! busy tone heard after the customer hung up, and from them [`CallEvent`]s marked `inferred`.
//!
//! Chinese exchanges signal with a 450 Hz tone: ringback 1 s on / 4 s off, busy tone 0.35 s on /
//! 0.35 s off (RULEBOOK, "Where the inputs come from"). Each 20 ms frame is measured twice: its
//! whole energy, and its energy at 450 Hz (a Goertzel filter over a Hann window, about ±70 Hz
//! wide). A frame is *tone* when at least half its energy is at 450 Hz and it is louder than
//! -50 dBFS: a tone 15 dB above white or pink noise keeps about 97 % of a frame's energy in that
//! band, voiced speech rarely more than a fifth (its energy is spread over many harmonics).
//! Runs of tone frames are bursts; a burst whose level swings more than 6 dB is not a tone
//! (syllables swing 15–25 dB). Then the cadence decides:
//!
//! - **ringback**: at least two bursts of 0.8–1.25 s whose onsets are 4.5–5.5 s apart, all
//!   starting before the agent's first words; the last may be shorter (answered mid-ring);
//! - **busy**: at least three bursts of 0.25–0.5 s whose onsets are 0.55–0.9 s apart; the last
//!   may be shorter (the recording ended).
//!
//! A single burst is never taken for a tone, whatever its length: a lone beep, a lone
//! ring-length burst and a continuous dial tone all give nothing. So a call answered during the
//! first ring silence gets no inferred ring (its answer time cannot fail the rule anyway).
//!
//! Event placement:
//! - `ring` at the first ringback burst's onset (the ring count is the number of bursts);
//! - `answer`: when the last burst was cut short, at its end (the line went to speech there);
//!   otherwise at the agent's first words or at the end of the last burst's 4 s silence
//!   (its onset + 5 s), whichever is earlier. Either way `answer − ring` lies in
//!   (5 (n − 1), 5 n] s for n rings, so the answer-time rule (> 15 s fails) agrees with the
//!   ring count: three rings pass, four fail. With neither (the recording ends still ringing, or
//!   the busy tone comes first) there is no answer;
//! - `hangup` with party customer at the busy tone's first onset.
//!
//! Pure arithmetic on the calling thread: one pass over the samples, no allocation per frame.

use serde::{Deserialize, Serialize};

use crate::call::{CallEvent, EventKind};
use crate::party::{Party, Seconds};

const TONE_HZ: f64 = 450.0;
const FRAME_SECONDS: f64 = 0.02;
/// At least this share of a frame's energy at 450 Hz makes it a tone frame.
const MIN_TONE_SHARE: f64 = 0.5;
/// Mean square of the quietest tone frame (-50 dBFS, full-scale square wave = 0 dB).
const MIN_TONE_POWER: f64 = 1e-5;
/// The most a burst's level may vary (10th to 90th percentile of its inner frames) in dB.
const MAX_LEVEL_SPREAD_DB: f64 = 6.0;
/// One frame without tone inside a burst (a noise spike, a lost packet) does not split it.
const MAX_FRAME_GAP: usize = 1;
/// A last burst cut short (answer, end of recording) still counts from this length on.
const MIN_CUT_BURST: f64 = 0.1;

/// A tone's on/off pattern, with the tolerances this module accepts.
struct Cadence {
    /// Length of a whole burst (s).
    on: (f64, f64),
    /// Onset to onset (s).
    period: (f64, f64),
    /// The nominal period: the end of a burst's silence is its onset plus this.
    nominal_period: f64,
    min_bursts: usize,
}

const RINGBACK: Cadence = Cadence {
    on: (0.8, 1.25),
    period: (4.5, 5.5),
    nominal_period: 5.0,
    min_bursts: 2,
};

const BUSY: Cadence = Cadence {
    on: (0.25, 0.5),
    period: (0.55, 0.9),
    nominal_period: 0.7,
    min_bursts: 3,
};

/// Ringback heard before the agent's first words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ringback {
    /// Onset of the first burst.
    pub onset: Seconds,
    /// When ringing stopped (see the module doc); `None` when the call was not answered within
    /// the recording.
    pub answer: Option<Seconds>,
    /// Bursts heard, the cut-short last one included.
    pub rings: usize,
}

/// Busy tone: the far end (the customer) has hung up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusyTone {
    /// Onset of the first burst.
    pub onset: Seconds,
    pub bursts: usize,
}

/// What the tones in the customer channel say about the call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToneReport {
    pub ringback: Option<Ringback>,
    pub busy: Option<BusyTone>,
}

impl ToneReport {
    /// Rings heard before the answer (0 without ringback).
    pub fn rings(&self) -> usize {
        self.ringback.as_ref().map_or(0, |r| r.rings)
    }

    /// `ring`, `answer` and `hangup` (party customer), each marked inferred, in time order.
    pub fn events(&self) -> Vec<CallEvent> {
        let inferred = |t: Seconds, kind| CallEvent {
            t: t.rounded(),
            kind,
            inferred: true,
        };
        let mut events = Vec::new();
        if let Some(ring) = &self.ringback {
            events.push(inferred(ring.onset, EventKind::Ring));
            if let Some(answer) = ring.answer {
                events.push(inferred(answer, EventKind::Answer));
            }
        }
        if let Some(busy) = &self.busy {
            let party = Some(Party::Customer);
            events.push(inferred(busy.onset, EventKind::Hangup { party }));
        }
        events
    }
}

/// Finds ringback and busy tone in the customer channel. `agent_first_speech`, when known,
/// bounds the ringback (ringing ends before the agent speaks) and can place the answer earlier
/// than the end of the last ring's silence.
pub fn infer_events(
    customer: &[f32],
    rate: u32,
    agent_first_speech: Option<Seconds>,
) -> ToneReport {
    let bursts = tone_bursts(customer, rate);
    let duration = Seconds::from_samples(customer.len(), rate);
    let mut ringback = find_ringback(&bursts, agent_first_speech, duration);
    let busy_from = match &ringback {
        Some((_, last)) => bursts[*last].end,
        None => Seconds(0.0),
    };
    let busy = find_chain(&bursts, &BUSY, |b| b.start >= busy_from).map(|chain| BusyTone {
        onset: bursts[chain.start].start,
        bursts: chain.len(),
    });
    // An answer cannot come after the hang-up: ringing that ends in busy tone was not answered.
    if let (Some((ring, _)), Some(busy)) = (&mut ringback, &busy) {
        if ring.answer.is_some_and(|a| a.0 >= busy.onset.0) {
            ring.answer = None;
        }
    }
    ToneReport {
        ringback: ringback.map(|(ring, _)| ring),
        busy,
    }
}

/// A run of 450 Hz tone frames.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Burst {
    start: Seconds,
    end: Seconds,
}

impl Burst {
    fn len(&self) -> f64 {
        self.end.0 - self.start.0
    }
}

/// The ringback and the index of its last burst.
fn find_ringback(
    bursts: &[Burst],
    agent_first_speech: Option<Seconds>,
    duration: Seconds,
) -> Option<(Ringback, usize)> {
    let before_agent = |b: &Burst| agent_first_speech.is_none_or(|s| b.start.0 < s.0);
    let chain = find_chain(bursts, &RINGBACK, before_agent)?;
    let last = bursts[chain.end - 1];
    let onset = bursts[chain.start].start;
    let answer = if last.len() < RINGBACK.on.0 {
        Some(last.end)
    } else {
        // The end of the last silence, but never later than n nominal periods after the first
        // ring: on an exchange slower than 5 s a period, n rings still count as n rings.
        let silence_end = (last.start.0 + RINGBACK.nominal_period)
            .min(onset.0 + RINGBACK.nominal_period * chain.len() as f64)
            .max(last.end.0);
        let answer = match agent_first_speech {
            Some(s) if s.0 >= last.end.0 && s.0 < silence_end => s.0,
            _ => silence_end,
        };
        // A recording that ends before then ended while still ringing.
        (answer <= duration.0).then_some(Seconds(answer))
    };
    let ring = Ringback {
        onset,
        answer,
        rings: chain.len(),
    };
    Some((ring, chain.end - 1))
}

/// The first run of consecutive bursts (among those `eligible`) that follows `cadence`: whole
/// bursts at the cadence's spacing, the last possibly cut short, at least `min_bursts` long.
fn find_chain(
    bursts: &[Burst],
    cadence: &Cadence,
    eligible: impl Fn(&Burst) -> bool,
) -> Option<std::ops::Range<usize>> {
    let whole = |b: &Burst| (cadence.on.0..=cadence.on.1).contains(&b.len());
    let cut = |b: &Burst| (MIN_CUT_BURST..cadence.on.0).contains(&b.len());
    let spaced = |a: &Burst, b: &Burst| {
        (cadence.period.0..=cadence.period.1).contains(&(b.start.0 - a.start.0))
    };
    for first in 0..bursts.len() {
        if !eligible(&bursts[first]) || !whole(&bursts[first]) {
            continue;
        }
        let mut end = first + 1;
        while end < bursts.len() && eligible(&bursts[end]) && spaced(&bursts[end - 1], &bursts[end])
        {
            if whole(&bursts[end]) {
                end += 1;
            } else {
                if cut(&bursts[end]) {
                    end += 1;
                }
                break;
            }
        }
        if end - first >= cadence.min_bursts {
            return Some(first..end);
        }
    }
    None
}

/// The steady 450 Hz bursts in `samples`.
fn tone_bursts(samples: &[f32], rate: u32) -> Vec<Burst> {
    let frame = (f64::from(rate) * FRAME_SECONDS).round() as usize;
    if frame < 8 {
        return Vec::new();
    }
    let window: Vec<f64> = (0..frame)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / frame as f64).cos())
        .collect();
    let window_sum: f64 = window.iter().sum();
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * TONE_HZ / f64::from(rate)).cos();
    let frame_time = |index: usize| Seconds::from_samples(index * frame, rate);

    let mut bursts = Vec::new();
    // The open run: first frame, last tone frame, and the tone levels (dB) of its frames.
    let mut run: Option<(usize, usize)> = None;
    let mut levels: Vec<f64> = Vec::new();
    let mut close = |first: usize, last: usize, levels: &mut Vec<f64>| {
        if is_steady(levels) {
            bursts.push(Burst {
                start: frame_time(first),
                end: frame_time(last + 1),
            });
        }
        levels.clear();
    };
    for (index, chunk) in samples.chunks_exact(frame).enumerate() {
        let tone = tone_level(chunk, &window, window_sum, coeff);
        match (tone, run) {
            (Some(db), Some((first, last))) if index - last <= MAX_FRAME_GAP + 1 => {
                run = Some((first, index));
                levels.push(db);
            }
            (Some(db), _) => {
                if let Some((first, last)) = run {
                    close(first, last, &mut levels);
                }
                run = Some((index, index));
                levels.push(db);
            }
            (None, Some((first, last))) if index - last > MAX_FRAME_GAP => {
                close(first, last, &mut levels);
                run = None;
            }
            (None, _) => {}
        }
    }
    if let Some((first, last)) = run {
        close(first, last, &mut levels);
    }
    bursts
}

/// The frame's level at 450 Hz in dB when it is a tone frame.
fn tone_level(chunk: &[f32], window: &[f64], window_sum: f64, coeff: f64) -> Option<f64> {
    let n = chunk.len() as f64;
    let mean = chunk.iter().map(|&s| f64::from(s)).sum::<f64>() / n;
    let (mut energy, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for (&sample, &w) in chunk.iter().zip(window) {
        let x = f64::from(sample) - mean;
        energy += x * x;
        let s0 = x * w + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    // |X(450 Hz)|², scaled so that a pure 450 Hz sine gives its own energy in the frame.
    let magnitude = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let tone_energy = 2.0 * n * magnitude / (window_sum * window_sum);
    let is_tone = tone_energy >= MIN_TONE_SHARE * energy && tone_energy / n >= MIN_TONE_POWER;
    is_tone.then(|| 10.0 * (tone_energy / n).log10())
}

/// A tone keeps its level; speech that happens to be strong at 450 Hz does not. The first and
/// last frames are left out, since a burst's edges fill them only in part.
fn is_steady(levels: &[f64]) -> bool {
    if levels.len() < 5 {
        return true;
    }
    let mut inner = levels[1..levels.len() - 1].to_vec();
    inner.sort_by(f64::total_cmp);
    let at = |q: f64| inner[((inner.len() - 1) as f64 * q).round() as usize];
    at(0.9) - at(0.1) <= MAX_LEVEL_SPREAD_DB
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_signal::{
        add_tone, pink_noise, speechlike, telephone_band, through_ulaw, white_noise,
    };

    /// Peak amplitude of the generated tones (-20 dBFS RMS, a usual line level).
    const TONE: f32 = 0.14;

    #[derive(Clone, Copy)]
    enum Background {
        White,
        Pink,
    }

    /// The customer channel of a call: `seconds` of background noise `snr_db` below the tones.
    fn line(seconds: f64, rate: u32, background: Background, snr_db: f32) -> Vec<f32> {
        let n = (seconds * f64::from(rate)) as usize;
        let rms = TONE / 2f32.sqrt() * 10f32.powf(-snr_db / 20.0);
        match background {
            Background::White => white_noise(n, rms, 0x9E37_79B9_7F4A_7C15),
            Background::Pink => pink_noise(n, rms, 0x2545_F491_4F6C_DD1D),
        }
    }

    /// `count` ringback bursts (1 s on / 4 s off) from `first`.
    fn ring(audio: &mut [f32], rate: u32, first: f64, count: usize) {
        for k in 0..count {
            add_tone(audio, rate, 450.0, TONE, first + 5.0 * k as f64, 1.0);
        }
    }

    /// `count` busy bursts (0.35 s on / 0.35 s off) from `first`.
    fn busy(audio: &mut [f32], rate: u32, first: f64, count: usize) {
        for k in 0..count {
            add_tone(audio, rate, 450.0, TONE, first + 0.7 * k as f64, 0.35);
        }
    }

    /// As an 8 kHz telephone recording gives it back: band-limited, then μ-law coded.
    fn telephone(audio: &[f32]) -> Vec<f32> {
        through_ulaw(&telephone_band(audio, 8000))
    }

    fn assert_near(what: &str, got: Option<Seconds>, want: f64) {
        let got = got.unwrap_or_else(|| panic!("no {what} found, wanted {want:.2} s"));
        assert!(
            (got.0 - want).abs() <= 0.1,
            "{what} at {:.3} s, wanted {want:.3} s ± 0.1",
            got.0
        );
    }

    fn assert_nothing(report: &ToneReport, what: &str) {
        assert_eq!(
            report,
            &ToneReport::default(),
            "{what} was taken for a tone"
        );
        assert!(report.events().is_empty());
    }

    #[test]
    fn two_rings_then_busy_tone_in_white_noise_at_16k() {
        let rate = 16_000;
        let mut audio = line(30.0, rate, Background::White, 15.0);
        ring(&mut audio, rate, 1.3, 2);
        busy(&mut audio, rate, 21.2, 8);
        // The agent answers 1.8 s into the second ring's silence.
        let report = infer_events(&audio, rate, Some(Seconds(8.1)));

        assert_eq!(report.rings(), 2);
        let ringback = report.ringback.clone().unwrap();
        assert_near("ring", Some(ringback.onset), 1.3);
        assert_near("answer", ringback.answer, 8.1);
        let busy = report.busy.clone().unwrap();
        assert_near("busy tone", Some(busy.onset), 21.2);
        assert_eq!(busy.bursts, 8);

        let events = report.events();
        let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
        let hangup = EventKind::Hangup {
            party: Some(Party::Customer),
        };
        assert_eq!(kinds, [EventKind::Ring, EventKind::Answer, hangup]);
        assert!(events.iter().all(|e| e.inferred));
    }

    #[test]
    fn five_rings_then_busy_tone_in_pink_noise_through_an_8k_mulaw_line() {
        let rate = 8000;
        let mut audio = line(45.0, rate, Background::Pink, 15.0);
        ring(&mut audio, rate, 0.7, 5);
        busy(&mut audio, rate, 38.45, 6);
        let report = infer_events(&telephone(&audio), rate, None);

        assert_eq!(report.rings(), 5);
        let ringback = report.ringback.unwrap();
        assert_near("ring", Some(ringback.onset), 0.7);
        // No agent speech known: ringing stopped at the end of the fifth ring's silence.
        assert_near("answer", ringback.answer, 0.7 + 5.0 * 5.0);
        assert_near("busy tone", report.busy.map(|b| b.onset), 38.45);
    }

    #[test]
    fn busy_tone_alone_at_both_rates_marks_the_customer_hangup() {
        for (rate, background) in [(16_000, Background::Pink), (8000, Background::White)] {
            let mut audio = line(20.0, rate, background, 15.0);
            busy(&mut audio, rate, 12.35, 10);
            let audio = if rate == 8000 {
                telephone(&audio)
            } else {
                audio
            };
            let report = infer_events(&audio, rate, Some(Seconds(0.4)));
            assert!(report.ringback.is_none(), "{rate} Hz: {report:?}");
            assert_near("busy tone", report.busy.map(|b| b.onset), 12.35);
        }
    }

    #[test]
    fn an_answer_during_a_ring_is_placed_where_that_ring_was_cut() {
        let rate = 8000;
        let mut audio = line(25.0, rate, Background::White, 15.0);
        ring(&mut audio, rate, 2.0, 3);
        add_tone(&mut audio, rate, 450.0, TONE, 17.0, 0.45);
        let report = infer_events(&telephone(&audio), rate, None);
        assert_eq!(report.rings(), 4);
        assert_near("answer", report.ringback.and_then(|r| r.answer), 17.45);
    }

    #[test]
    fn answer_minus_ring_agrees_with_the_ring_count_of_the_answer_time_rule() {
        // Three rings pass (≤ 15 s) and four fail, wherever in the last silence the agent
        // answers, on exchanges a little faster or slower than the nominal 5 s period too.
        let rate = 8000;
        for period in [4.8, 5.0, 5.3] {
            for rings in 2..=5 {
                for into_silence in [0.3, 2.0, period - 1.1, period + 2.0] {
                    let mut audio =
                        line(9.0 + period * rings as f64, rate, Background::White, 15.0);
                    for k in 0..rings {
                        add_tone(&mut audio, rate, 450.0, TONE, 1.0 + period * k as f64, 1.0);
                    }
                    let last_end = 1.0 + period * (rings - 1) as f64 + 1.0;
                    let speech = Seconds(last_end + into_silence);
                    let report = infer_events(&audio, rate, Some(speech));
                    assert_eq!(report.rings(), rings, "period {period}");
                    let ringback = report.ringback.unwrap();
                    let answer = ringback.answer.unwrap().0;
                    let waited = answer - ringback.onset.0;
                    let case = format!("{rings} rings of {period} s, agent at {:.1} s", speech.0);
                    assert!(
                        answer >= last_end - 0.05 && answer <= speech.0 + 1e-9,
                        "{case}: answer at {answer:.2} s"
                    );
                    assert!(
                        waited <= 5.0 * rings as f64 + 1e-9,
                        "{case}: answer − ring = {waited:.2} s"
                    );
                    assert_eq!(
                        waited > 15.0,
                        rings > 3,
                        "{case}: answer − ring = {waited:.2} s"
                    );
                }
            }
        }
    }

    #[test]
    fn ringing_that_the_recording_ends_in_has_no_answer() {
        let rate = 8000;
        let mut audio = line(12.0, rate, Background::White, 15.0);
        ring(&mut audio, rate, 0.5, 3);
        let ringback = infer_events(&audio, rate, None).ringback.unwrap();
        assert_eq!(ringback.rings, 3);
        assert_eq!(ringback.answer, None);
    }

    #[test]
    fn ringing_that_ends_in_busy_tone_was_not_answered() {
        // The far end rejected the call during the second ring's silence.
        let rate = 8000;
        let mut audio = line(16.0, rate, Background::White, 15.0);
        ring(&mut audio, rate, 1.0, 2);
        busy(&mut audio, rate, 8.5, 8);
        let report = infer_events(&telephone(&audio), rate, None);
        let ringback = report.ringback.clone().unwrap();
        assert_eq!((ringback.rings, ringback.answer), (2, None));
        assert_near("busy tone", report.busy.as_ref().map(|b| b.onset), 8.5);
        let kinds: Vec<_> = report.events().into_iter().map(|e| e.kind).collect();
        assert!(!kinds.contains(&EventKind::Answer), "{kinds:?}");
    }

    #[test]
    fn bursts_after_the_agents_first_words_are_not_ringback() {
        let rate = 8000;
        let mut audio = line(20.0, rate, Background::White, 15.0);
        ring(&mut audio, rate, 6.0, 3);
        assert!(infer_events(&audio, rate, Some(Seconds(2.0)))
            .ringback
            .is_none());
        assert_eq!(infer_events(&audio, rate, None).rings(), 3);
    }

    #[test]
    fn speech_like_sound_gives_no_events() {
        for rate in [16_000, 8000] {
            let mut audio = line(32.0, rate, Background::Pink, 20.0);
            // Syllables in the cadence of ringback (1 s every 5 s) and of busy tone.
            for k in 0..4 {
                let at = ((1.0 + 5.0 * k as f64) * f64::from(rate)) as usize;
                let syllable = speechlike(1.0, rate, 0.25, 0.1 * k as f32);
                audio[at..at + syllable.len()]
                    .iter_mut()
                    .zip(&syllable)
                    .for_each(|(a, s)| *a += s);
            }
            for k in 0..8 {
                let at = ((21.0 + 0.7 * k as f64) * f64::from(rate)) as usize;
                let syllable = speechlike(0.35, rate, 0.25, 0.05 * k as f32);
                audio[at..at + syllable.len()]
                    .iter_mut()
                    .zip(&syllable)
                    .for_each(|(a, s)| *a += s);
            }
            let audio = if rate == 8000 {
                telephone(&audio)
            } else {
                audio
            };
            assert_nothing(
                &infer_events(&audio, rate, None),
                &format!("speech at {rate} Hz"),
            );
        }
    }

    #[test]
    fn a_voice_whose_harmonic_sits_on_450_hz_is_not_a_tone() {
        // Sustained vowels at f0 ≈ 225 Hz (second harmonic ≈ 450 Hz) with vibrato and syllable
        // swells, in the ringback cadence.
        let rate = 8000;
        let mut audio = line(22.0, rate, Background::White, 25.0);
        for k in 0..4 {
            let at = ((1.0 + 5.0 * k as f64) * f64::from(rate)) as usize;
            let mut phase = 0.0f32;
            for i in 0..rate as usize {
                let t = i as f32 / rate as f32;
                let f0 = 225.0 + 6.0 * (2.0 * std::f32::consts::PI * 5.5 * t).sin();
                phase += 2.0 * std::f32::consts::PI * f0 / rate as f32;
                let voiced: f32 = (1..=10).map(|h| (h as f32 * phase).sin() / h as f32).sum();
                let swell = 0.1 + 0.9 * (std::f32::consts::PI * 3.0 * t).sin().abs();
                audio[at + i] += 0.08 * voiced * swell;
            }
        }
        assert_nothing(
            &infer_events(&telephone(&audio), rate, None),
            "a 225 Hz voice",
        );
    }

    #[test]
    fn a_high_voice_on_450_hz_that_swells_like_syllables_is_not_a_tone() {
        // A fundamental of 450 Hz holds most of the energy, as a tone does; what gives it away
        // is its level, which swells and falls by 20 dB with each syllable. Sung in both the
        // ringback and the busy cadence.
        let rate = 8000;
        let mut audio = line(30.0, rate, Background::White, 25.0);
        let mut sing = |start: f64, len: f64| {
            let at = (start * f64::from(rate)) as usize;
            let mut phase = 0.0f32;
            for i in 0..(len * f64::from(rate)) as usize {
                let t = i as f32 / rate as f32;
                let f0 = 450.0 + 8.0 * (2.0 * std::f32::consts::PI * 5.5 * t).sin();
                phase += 2.0 * std::f32::consts::PI * f0 / rate as f32;
                let voiced: f32 = (1..=7).map(|h| (h as f32 * phase).sin() / h as f32).sum();
                let swell = 0.1 + 0.9 * (std::f32::consts::PI * 4.0 * t).sin().abs();
                audio[at + i] += 0.1 * voiced * swell;
            }
        };
        for k in 0..4 {
            sing(1.0 + 5.0 * k as f64, 1.0);
        }
        for k in 0..8 {
            sing(21.0 + 0.7 * k as f64, 0.35);
        }
        assert_nothing(
            &infer_events(&telephone(&audio), rate, None),
            "a 450 Hz voice",
        );
    }

    #[test]
    fn a_single_beep_or_two_gives_no_events() {
        let rate = 16_000;
        for (starts, len) in [(vec![4.0], 0.35), (vec![4.0], 1.0), (vec![4.0, 4.7], 0.35)] {
            let mut audio = line(10.0, rate, Background::White, 15.0);
            for &start in &starts {
                add_tone(&mut audio, rate, 450.0, TONE, start, len);
            }
            assert_nothing(
                &infer_events(&audio, rate, None),
                &format!("{starts:?} × {len} s"),
            );
        }
    }

    #[test]
    fn a_continuous_dial_tone_is_neither_ringback_nor_busy() {
        let rate = 8000;
        let mut audio = line(10.0, rate, Background::White, 15.0);
        add_tone(&mut audio, rate, 450.0, TONE, 1.0, 8.0);
        assert_nothing(&infer_events(&telephone(&audio), rate, None), "dial tone");
    }

    #[test]
    fn noise_and_silence_alone_give_no_events() {
        for (rate, background) in [
            (16_000, Background::White),
            (16_000, Background::Pink),
            (8000, Background::Pink),
        ] {
            let audio = line(20.0, rate, background, 15.0);
            let audio = if rate == 8000 {
                telephone(&audio)
            } else {
                audio
            };
            assert_nothing(&infer_events(&audio, rate, None), "noise");
        }
        assert_nothing(&infer_events(&vec![0.0; 80_000], 8000, None), "silence");
        assert_nothing(&infer_events(&[], 8000, None), "no audio");
        assert_nothing(&infer_events(&[0.1; 100], 0, None), "a zero rate");
    }
}
