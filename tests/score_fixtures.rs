//! `zhijian score` on the fixture calls (CONTRACT §2, §3): the verdicts their scripts intend,
//! the scorecard's shape, the text and HTML cards, and bad input.

use std::path::PathBuf;
use std::sync::OnceLock;

use zhijian::reference::Reference;
use zhijian::rules::{RuleId, Verdict};
use zhijian::scorecard::Scorecard;

use crate::util::*;

const CALLS: [&str; 5] = [
    "call_16k_stereo",
    "call_8k_stereo",
    "call_8k_mulaw",
    "call_mono",
    "call_8k_alaw_swapped",
];

/// Every fixture call scored once, in one process, as JSON Lines.
fn cards() -> &'static Vec<(serde_json::Value, Scorecard)> {
    static CARDS: OnceLock<Vec<(serde_json::Value, Scorecard)>> = OnceLock::new();
    CARDS.get_or_init(|| {
        require_model();
        let paths: Vec<PathBuf> = CALLS.iter().map(|c| fixture(&format!("{c}.wav"))).collect();
        let mut args = vec!["score", "--format", "json"];
        args.extend(paths.iter().map(|p| p.to_str().unwrap()));
        let out = zhijian(&args);
        assert!(out.status.success(), "score failed:\n{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|line| {
                let value: serde_json::Value =
                    serde_json::from_str(line).expect("one JSON object per line");
                let card: Scorecard = serde_json::from_value(value.clone()).expect("a scorecard");
                (value, card)
            })
            .collect()
    })
}

fn card(call: &str) -> &'static Scorecard {
    &cards()
        .iter()
        .find(|(_, c)| c.call_id == call)
        .unwrap_or_else(|| panic!("no scorecard for {call}"))
        .1
}

#[test]
fn every_fixture_call_gets_the_verdicts_its_script_intends() {
    let mut wrong = Vec::new();
    for call in CALLS {
        let reference = Reference::load_for(&fixture(&format!("{call}.wav"))).unwrap();
        assert_eq!(
            reference.expect.len(),
            RuleId::ALL.len(),
            "{call}: the script labels every rule"
        );
        let card = card(call);
        for (rule, expected) in &reference.expect {
            let got = card
                .rules
                .iter()
                .find(|r| r.rule == *rule)
                .expect("every rule has a result");
            if got.verdict != *expected {
                wrong.push(format!(
                    "{call} {rule}: expected {expected}, got {} ({})",
                    got.verdict, got.note
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn scores_follow_from_the_deductions() {
    assert_eq!(card("call_16k_stereo").score, 100);
    let mulaw = card("call_8k_mulaw");
    let deducted: u32 = mulaw.rules.iter().map(|r| r.deduction).sum();
    assert!(
        deducted > 0 && mulaw.score == 100 - deducted,
        "{} after {deducted}",
        mulaw.score
    );
    let banned = mulaw
        .rules
        .iter()
        .find(|r| r.rule == RuleId::BannedPhrase)
        .unwrap();
    let heard: Vec<&str> = banned.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(heard.iter().any(|m| m.contains("我不知道")), "{heard:?}");
    assert!(banned
        .findings
        .iter()
        .all(|f| f.suggestion.is_some() && !f.text.is_empty()));
}

#[test]
fn the_scorecard_json_has_every_field_the_contract_requires() {
    for (value, card) in cards() {
        assert!(
            value["call_id"].is_string() && value["score"].is_u64(),
            "{value}"
        );
        let rules = value["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["rule"].as_str().unwrap()).collect();
        let all: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            ids, all,
            "{}: one entry per rule of the standard",
            card.call_id
        );
        for r in rules {
            assert!(["pass", "fail", "not_applicable"].contains(&r["verdict"].as_str().unwrap()));
            assert!(r["deduction"].is_u64());
            for f in r["findings"].as_array().unwrap() {
                for key in ["start", "end", "party", "text", "message"] {
                    assert!(!f[key].is_null(), "finding without {key}: {f}");
                }
                assert!(["agent", "customer", "mixed"].contains(&f["party"].as_str().unwrap()));
            }
        }
        let utterances = value["utterances"].as_array().unwrap();
        assert!(!utterances.is_empty());
        for u in utterances {
            assert!(
                u["party"].is_string()
                    && u["start"].is_f64()
                    && u["end"].is_f64()
                    && u["text"].is_string()
            );
        }
    }
    let fails = cards()
        .iter()
        .flat_map(|(_, c)| &c.rules)
        .filter(|r| r.verdict == Verdict::Fail)
        .count();
    assert!(
        fails > 0,
        "the fixtures include failures, and they must show"
    );
}

#[test]
fn text_and_html_cards_are_written_one_file_per_call() {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let call = fixture("call_8k_mulaw.wav");
    for format in ["text", "html"] {
        let out = zhijian(&[
            "score",
            "--format",
            format,
            "--out",
            dir.path().to_str().unwrap(),
            call.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).is_empty(),
            "with --out nothing goes to standard output"
        );
    }
    let text = std::fs::read_to_string(dir.path().join("call_8k_mulaw.txt")).unwrap();
    assert!(text.starts_with("── call_8k_mulaw ── score "), "{text}");
    assert!(
        text.contains("✗ banned_phrase") && text.contains("→ "),
        "{text}"
    );
    let html = std::fs::read_to_string(dir.path().join("call_8k_mulaw.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    assert!(
        html.contains("id=\"rule-banned_phrase\" data-verdict=\"fail\""),
        "the page marks the failed rule"
    );
    assert!(
        html.contains("class=\"lane agent\"") && html.contains("class=\"lane customer\""),
        "both parties on the timeline"
    );
    assert!(
        !html.contains("<script") && !html.contains("http"),
        "self-contained: no scripts, no external resources"
    );
}

#[test]
fn bad_calls_are_reported_and_the_good_one_is_still_scored() {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.wav", b"");
    let good = dir.path().join("good.wav");
    std::fs::copy(fixture("call_8k_alaw_swapped.wav"), &good).unwrap();
    let bad_sidecar = dir.path().join("bad_sidecar.wav");
    std::fs::copy(fixture("call_8k_alaw_swapped.wav"), &bad_sidecar).unwrap();
    write(
        dir.path(),
        "bad_sidecar.events.json",
        b"{\n  \"events\": [ {\"t\": \"soon\"} ]\n}",
    );
    let missing = dir.path().join("missing.wav");
    let args: Vec<&str> = ["score", "--format", "json"]
        .into_iter()
        .chain(
            [&empty, &good, &bad_sidecar, &missing]
                .iter()
                .map(|p| p.to_str().unwrap()),
        )
        .collect();
    let out = zhijian(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed call makes the exit status non-zero"
    );
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("empty.wav") && l.contains("empty")),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.contains("bad_sidecar.events.json:2:")),
        "{err}"
    );
    assert!(err.lines().any(|l| l.contains("missing.wav")), "{err}");
    assert!(err.contains("3 of 4 call(s) could not be scored"), "{err}");
    let cards: Vec<Scorecard> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].call_id, "good");
}

#[test]
fn a_freeswitch_cdr_beside_the_recording_gives_the_events() {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("fs-7f3a.wav");
    std::fs::copy(fixture("call_8k_alaw_swapped.wav"), &wav).unwrap();
    // The recording's own channel map, but no events: they come from the CDR.
    write(
        dir.path(),
        "fs-7f3a.events.json",
        br#"{"channels": {"agent": 1, "customer": 0}}"#,
    );
    // The customer's leg: rang 19 s (four rings), answered when recording began, and our side
    // sent the BYE (the agent hung up first).
    let cdr = r#"{"core-uuid": "3a1c", "switchname": "fs01", "channel_data": {"direction": "inbound"},
      "variables": {"uuid": "7f3a", "direction": "inbound", "sip_hangup_disposition": "send_bye",
        "start_epoch": "1732340000", "start_uepoch": "1732340000000000",
        "progress_epoch": "1732340001", "progress_uepoch": "1732340001000000",
        "answer_epoch": "1732340020", "answer_uepoch": "1732340020000000",
        "end_epoch": "1732340052", "end_uepoch": "1732340052000000"}}"#;
    write(dir.path(), "fs-7f3a.cdr.json", cdr.as_bytes());
    let out = zhijian(&["score", "--format", "json", wav.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let card: Scorecard = serde_json::from_str(stdout(&out).trim()).unwrap();
    let verdict = |id: RuleId| card.rules.iter().find(|r| r.rule == id).unwrap().verdict;
    assert_eq!(
        verdict(RuleId::AnswerTime),
        Verdict::Fail,
        "19 s of ringing is four rings"
    );
    assert_eq!(
        verdict(RuleId::HangupOrder),
        Verdict::Fail,
        "send_bye on the customer's leg: the agent hung up"
    );
    assert_eq!(verdict(RuleId::Greeting), Verdict::Pass);
}

#[test]
fn broken_rules_are_refused_with_file_line_and_column_before_any_audio_is_read() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let greeting = dir.path().join("greeting.toml");
    let text = std::fs::read_to_string(&greeting)
        .unwrap()
        .replace("max_delay = 5.0", "max_delay = \"soon\"");
    std::fs::write(&greeting, text).unwrap();
    let out = zhijian(&[
        "score",
        "--rules",
        dir.path().to_str().unwrap(),
        fixture("call_mono.wav").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let line = std::fs::read_to_string(&greeting)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("max_delay"))
        .unwrap()
        + 1;
    assert!(err.contains(&format!("greeting.toml:{line}:")), "{err}");
    let out = zhijian(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn rules_test_runs_every_case_and_fails_on_a_wrong_expectation() {
    let out = zhijian(&["rules", "test"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out)
        .lines()
        .last()
        .unwrap()
        .ends_with("cases passed"));
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let courtesy = dir.path().join("courtesy.toml");
    let text = std::fs::read_to_string(&courtesy).unwrap().replacen(
        "expect = \"pass\"",
        "expect = \"fail\"",
        1,
    );
    std::fs::write(&courtesy, text).unwrap();
    let out = zhijian(&["rules", "test", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAIL courtesy · a polite agent"),
        "{}",
        stdout(&out)
    );
}
