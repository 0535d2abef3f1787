//! The real Whisper model on the fixture calls: every input format, per-party transcripts,
//! accuracy (CER ≤ 0.20 after normalisation) and utterance timing against the scripts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use zhijian::party::Party;
use zhijian::reference::Reference;
use zhijian::text::{cer, Cer, TextAnalyzer};
use zhijian::transcript::Utterance;

use crate::util::*;

const CALLS: [&str; 5] = [
    "call_16k_stereo",
    "call_8k_stereo",
    "call_8k_mulaw",
    "call_mono",
    "call_8k_alaw_swapped",
];

#[derive(serde::Deserialize)]
struct Line {
    call_id: String,
    #[serde(flatten)]
    utterance: Utterance,
}

/// Transcribes every fixture call once (one process, as a user would) and keeps the result for
/// all the tests of this file.
fn transcripts() -> &'static BTreeMap<String, Vec<Utterance>> {
    static CACHE: OnceLock<BTreeMap<String, Vec<Utterance>>> = OnceLock::new();
    CACHE.get_or_init(|| {
        require_model();
        let paths: Vec<PathBuf> = CALLS.iter().map(|c| fixture(&format!("{c}.wav"))).collect();
        let mut args = vec!["transcribe", "--format", "json"];
        args.extend(paths.iter().map(|p| p.to_str().unwrap()));
        let out = zhijian(&args);
        assert!(out.status.success(), "transcribe failed:\n{}", stderr(&out));
        let mut by_call: BTreeMap<String, Vec<Utterance>> = BTreeMap::new();
        for line in stdout(&out).lines() {
            let line: Line =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line {line}: {e}"));
            by_call
                .entry(line.call_id)
                .or_default()
                .push(line.utterance);
        }
        by_call
    })
}

fn reference(call: &str) -> Reference {
    Reference::load_for(&fixture(&format!("{call}.wav"))).expect("fixture reference")
}

fn analyzer() -> &'static TextAnalyzer {
    static A: OnceLock<TextAnalyzer> = OnceLock::new();
    A.get_or_init(TextAnalyzer::new)
}

fn call_cer(call: &str) -> Cer {
    let reference = reference(call);
    let utterances = &transcripts()[call];
    let parties: Vec<Party> = if reference.layout == "mono" {
        vec![Party::Mixed]
    } else {
        vec![Party::Agent, Party::Customer]
    };
    parties
        .into_iter()
        .map(|party| {
            let heard: String = utterances
                .iter()
                .filter(|u| u.party == party)
                .map(|u| u.text.as_str())
                .collect();
            cer(analyzer(), &reference.text_of(party), &heard)
        })
        .sum()
}

#[test]
fn every_fixture_call_is_transcribed_with_cer_at_most_0_20() {
    let mut total = Cer::default();
    let mut report = String::new();
    for call in CALLS {
        let c = call_cer(call);
        report.push_str(&format!(
            "{call}: CER {:.3} ({} / {})\n",
            c.rate(),
            c.errors,
            c.reference_len
        ));
        total = total + c;
    }
    eprintln!("{report}all: CER {:.3}", total.rate());
    assert!(
        total.rate() <= 0.20,
        "corpus CER {:.3} > 0.20\n{report}",
        total.rate()
    );
    for call in CALLS {
        let c = call_cer(call);
        assert!(
            c.rate() <= 0.20,
            "{call}: CER {:.3} > 0.20\n{report}",
            c.rate()
        );
    }
}

#[test]
fn stereo_calls_keep_the_parties_apart() {
    for call in [
        "call_16k_stereo",
        "call_8k_stereo",
        "call_8k_mulaw",
        "call_8k_alaw_swapped",
    ] {
        let reference = reference(call);
        let utterances = &transcripts()[call];
        for party in [Party::Agent, Party::Customer] {
            let heard: String = utterances
                .iter()
                .filter(|u| u.party == party)
                .map(|u| u.text.as_str())
                .collect();
            let own = cer(analyzer(), &reference.text_of(party), &heard).rate();
            let other = if party == Party::Agent {
                Party::Customer
            } else {
                Party::Agent
            };
            let crossed = cer(analyzer(), &reference.text_of(other), &heard).rate();
            assert!(own < 0.25 && crossed > 0.6, "{call}: {party} text matches own script at {own:.2}, the other party's at {crossed:.2}");
        }
    }
}

#[test]
fn a_mono_call_is_one_mixed_party() {
    let utterances = &transcripts()["call_mono"];
    assert!(!utterances.is_empty());
    assert!(utterances.iter().all(|u| u.party == Party::Mixed));
}

#[test]
fn utterance_times_follow_the_script_lines() {
    // Every scripted line is found: an utterance of the same party that starts within 0.15 s of
    // the line and ends within 0.25 s of it (lines of one party closer than the merge gap may
    // share one utterance, so the end is checked against the last such line).
    for call in [
        "call_16k_stereo",
        "call_8k_stereo",
        "call_8k_mulaw",
        "call_8k_alaw_swapped",
    ] {
        let reference = reference(call);
        let utterances = &transcripts()[call];
        for turn in &reference.turns {
            let found = utterances.iter().any(|u| {
                u.party == turn.party && u.start.0 <= turn.end.0 && u.end.0 >= turn.start.0
            });
            assert!(
                found,
                "{call}: no {} utterance overlaps the line at {:.2}–{:.2} s",
                turn.party, turn.start.0, turn.end.0
            );
            let starts_here = utterances
                .iter()
                .filter(|u| u.party == turn.party)
                .any(|u| (u.start.0 - turn.start.0).abs() <= 0.15);
            let inside = utterances.iter().any(|u| {
                u.party == turn.party
                    && u.start.0 < turn.start.0 - 0.15
                    && u.end.0 >= turn.end.0 - 0.25
            });
            assert!(
                starts_here || inside,
                "{call}: the {} line at {:.2} s has no utterance starting within 0.15 s",
                turn.party,
                turn.start.0
            );
        }
        for u in utterances {
            let backed = reference.turns.iter().any(|t| {
                t.party == u.party && u.start.0 <= t.end.0 + 0.1 && u.end.0 >= t.start.0 - 0.1
            });
            assert!(
                backed,
                "{call}: utterance at {:.2}–{:.2} s ({}) is not in the script: {:?}",
                u.start.0, u.end.0, u.party, u.text
            );
        }
    }
}

#[test]
fn words_and_pinyin_cover_the_normalised_text() {
    for utterances in transcripts().values() {
        for u in utterances {
            let chars: Vec<char> = u.normalized.chars().collect();
            for w in &u.words {
                let slice: String = chars[w.start..w.end].iter().collect();
                assert_eq!(slice, w.text, "word span in {:?}", u.normalized);
                assert!(!w.pinyin.is_empty() || w.text.chars().all(|c| !c.is_alphanumeric()));
            }
        }
    }
}

#[test]
fn the_text_format_is_a_readable_two_party_transcript() {
    require_model();
    let out = zhijian(&[
        "transcribe",
        "--format",
        "text",
        fixture("call_8k_alaw_swapped.wav").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("── call_8k_alaw_swapped ──"), "{text}");
    assert!(text.contains("G.711 A-law"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("] 坐席: "))
            && text.lines().any(|l| l.contains("] 客户: ")),
        "{text}"
    );
}
