//! Rules-engine benchmark: calls per second scored from ready transcripts, on one core.
//!
//! The transcripts are the fixture calls' reference transcripts (`fixtures/**/*.truth.json`:
//! every line as scripted, with its exact speech span), analysed once up front the way
//! transcription leaves them. Each round scores every call with the whole standard (a fresh
//! engine per call, every item pushed, every rule judged, the scorecard assembled), single
//! threaded. For scale, the same run also measures a baseline: deserialising the same calls
//! from their JSON (what `zhijian rescore` must do anyway to get a cached transcript back), and
//! reports scoring as a multiple of it.
//!
//! Run: `cargo bench --bench rules`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zhijian::party::{Party, Seconds};
use zhijian::reference::Reference;
use zhijian::rules::{judge_call, RuleSet};
use zhijian::scorecard::Scorecard;
use zhijian::text::TextAnalyzer;
use zhijian::transcript::{CallTranscript, Track, Utterance};
use zhijian::voice::SpeechSpan;

fn truth_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            truth_files(&path, out);
        } else if path.to_string_lossy().ends_with(".truth.json") {
            out.push(path);
        }
    }
}

fn transcript_of(reference: &Reference, analyzer: &TextAnalyzer) -> CallTranscript {
    let mono = reference.layout == "mono";
    let mut utterances: Vec<Utterance> = reference
        .turns
        .iter()
        .map(|t| {
            let text = analyzer.analyze(&t.text);
            Utterance {
                party: if mono { Party::Mixed } else { t.party },
                start: t.start,
                end: t.end,
                text: text.display,
                normalized: text.normalized,
                words: text.words,
            }
        })
        .collect();
    utterances.sort_by(|a, b| a.start.0.total_cmp(&b.start.0));
    let parties = if mono {
        vec![Party::Mixed]
    } else {
        vec![Party::Agent, Party::Customer]
    };
    let tracks = parties
        .into_iter()
        .map(|party| Track {
            party,
            speech: utterances
                .iter()
                .filter(|u| u.party == party)
                .map(|u| SpeechSpan {
                    start: u.start,
                    end: u.end,
                })
                .collect(),
        })
        .collect();
    CallTranscript {
        call_id: reference.call_id.clone(),
        source: PathBuf::new(),
        duration: Seconds(reference.duration.0),
        sample_rate: 8000,
        encoding: "reference".into(),
        tracks,
        utterances,
        warnings: vec![],
        tones: Default::default(),
    }
}

/// The best of `rounds` timings of `f`, per call.
fn per_call(rounds: usize, calls: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
        / calls as u32
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    truth_files(&root.join("fixtures"), &mut files);
    files.sort();
    let analyzer = TextAnalyzer::new();
    let rules = RuleSet::built_in(&analyzer).expect("the built-in rules load");
    let calls: Vec<(CallTranscript, Vec<zhijian::call::CallEvent>)> = files
        .iter()
        .filter_map(|f| {
            let wav = PathBuf::from(f.to_string_lossy().replace(".truth.json", ".wav"));
            let reference = Reference::load_for(&wav).ok()?;
            let events = zhijian::call::Sidecar::load_for(&wav)
                .ok()
                .flatten()
                .map(|s| s.events)
                .unwrap_or_default();
            Some((transcript_of(&reference, &analyzer), events))
        })
        .collect();
    assert!(
        !calls.is_empty(),
        "no fixture calls with a .truth.json under fixtures/"
    );
    let utterances: usize = calls.iter().map(|(t, _)| t.utterances.len()).sum();
    let json: Vec<String> = calls
        .iter()
        .map(|(t, _)| serde_json::to_string(t).unwrap())
        .collect();
    eprintln!(
        "{} calls, {} utterances in all (reference transcripts)",
        calls.len(),
        utterances
    );

    // Enough rounds for stable minima on a shared machine.
    let rounds = 30;
    let repeat = (2000 / calls.len()).max(1);
    let n = calls.len() * repeat;
    let score = per_call(rounds, n, || {
        for _ in 0..repeat {
            for (transcript, events) in &calls {
                let results = judge_call(&rules, &analyzer, transcript, events);
                black_box(Scorecard::new(&rules, transcript, events.clone(), results));
            }
        }
    });
    let parse = per_call(rounds, n, || {
        for _ in 0..repeat {
            for text in &json {
                black_box(serde_json::from_str::<CallTranscript>(text).unwrap());
            }
        }
    });
    let per_sec = |d: Duration| 1.0 / d.as_secs_f64();
    println!(
        "rules engine, one thread, {} calls × {repeat}, best of {rounds} rounds:",
        calls.len()
    );
    println!(
        "  score a call (engine + scorecard):  {:>8.1} µs  {:>9.0} calls/s",
        score.as_secs_f64() * 1e6,
        per_sec(score)
    );
    println!(
        "  baseline: parse its JSON transcript: {:>8.1} µs  {:>9.0} calls/s",
        parse.as_secs_f64() * 1e6,
        per_sec(parse)
    );
    println!(
        "  scoring costs {:.1}× reading the transcript",
        score.as_secs_f64() / parse.as_secs_f64()
    );
}
