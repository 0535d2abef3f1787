//! `zhijian live --replay`: the live pipeline fed by recordings, against `zhijian score`, and
//! its local interface (the web page, server-sent nudges, call events posted over HTTP).
//!
//! Both sides decode greedily, to keep the test short: a clip's text is a function of the clip
//! alone with either strategy (the last test), so what holds for greedy decoding holds for beam
//! search.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use zhijian::nudge::{Envelope, Nudge};
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

fn envelopes(text: &str) -> Vec<Envelope> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad envelope {l}: {e}")))
        .collect()
}

#[test]
fn every_replayed_fixture_call_scores_byte_for_byte_as_zhijian_score() {
    require_model();
    let paths: Vec<String> = CALLS
        .iter()
        .map(|c| fixture(&format!("{c}.wav")).display().to_string())
        .collect();
    let mut args = vec!["score", "--format", "json", "--greedy"];
    args.extend(paths.iter().map(String::as_str));
    let batch = zhijian(&args);
    assert!(batch.status.success(), "score failed:\n{}", stderr(&batch));

    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("nudges.jsonl");
    let mut args = vec!["live", "--replay"];
    args.extend(paths.iter().map(String::as_str));
    // Faster than real time: this is about agreement; latency is the benchmark's business.
    args.extend([
        "--speed",
        "8",
        "--format",
        "json",
        "--greedy",
        "--no-http",
        "--no-stdin",
        "--quiet",
        "--jsonl",
        jsonl.to_str().unwrap(),
    ]);
    let live = zhijian(&args);
    assert!(live.status.success(), "live failed:\n{}", stderr(&live));

    let (batch, live_out) = (stdout(&batch), stdout(&live));
    assert_eq!(live_out.lines().count(), CALLS.len(), "{live_out}");
    for ((call, b), l) in CALLS.iter().zip(batch.lines()).zip(live_out.lines()) {
        if b != l {
            let (b, l): (Scorecard, Scorecard) = (
                serde_json::from_str(b).unwrap(),
                serde_json::from_str(l).unwrap(),
            );
            let differs: Vec<String> = b
                .rules
                .iter()
                .zip(&l.rules)
                .filter(|(x, y)| x != y)
                .map(|(x, y)| format!("{}: {} vs {}", x.rule, x.verdict, y.verdict))
                .collect();
            panic!(
                "{call}: the live scorecard differs from `zhijian score`'s\nrules: {differs:?}\nbatch utterances: {:#?}\nlive utterances: {:#?}",
                b.utterances, l.utterances
            );
        }
    }

    // The stream: each call starts, its nudges come as the call goes on, it ends scored.
    let stream = envelopes(&std::fs::read_to_string(&jsonl).unwrap());
    let ends: Vec<&str> = stream
        .iter()
        .filter_map(|e| match e {
            Envelope::CallEnd { call_id, .. } => Some(call_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ends, CALLS);
    let nudges: Vec<&Nudge> = stream
        .iter()
        .filter_map(|e| match e {
            Envelope::Nudge(n) => Some(n),
            _ => None,
        })
        .collect();
    let banned: Vec<&&Nudge> = nudges
        .iter()
        .filter(|n| n.call_id == "call_8k_mulaw" && n.rule == RuleId::BannedPhrase)
        .collect();
    assert!(
        banned.iter().any(|n| n.heard.contains("不知道")
            && n.suggestion.as_deref() == Some("请您稍等，我帮您核实一下")),
        "no 我不知道 nudge with its suggestion: {banned:#?}"
    );
    for n in &nudges {
        assert!(
            n.at.0 >= n.end.0,
            "a nudge before its evidence ended: {n:?}"
        );
        assert!(!n.name.is_empty() && !n.message.is_empty());
    }
    // Every nudge's finding is in the call's scorecard.
    let cards: Vec<Scorecard> = live_out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for n in &nudges {
        let card = cards.iter().find(|c| c.call_id == n.call_id).unwrap();
        let result = card.rules.iter().find(|r| r.rule == n.rule).unwrap();
        assert!(
            result.verdict == Verdict::NotApplicable
                || result
                    .findings
                    .iter()
                    .any(|f| f.start == n.start && f.end == n.end),
            "{n:?} not in the scorecard"
        );
    }
}

/// A minimal HTTP/1.1 request; returns the status code and the body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the live server");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[test]
fn the_web_page_streams_nudges_and_takes_call_events() {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let call = fixture("call_8k_mulaw.wav");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zhijian"))
        .args(["live", "--replay"])
        .arg(&call)
        .args([
            "--speed",
            "2",
            "--greedy",
            "--port",
            "0",
            "--no-stdin",
            "--quiet",
        ])
        .args(["--format", "json", "--jsonl", "-", "--out"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zhijian live");
    let lines = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(lines).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait = Duration::from_secs(300);
    let first: Envelope =
        serde_json::from_str(&rx.recv_timeout(wait).expect("a session line")).unwrap();
    let Envelope::Session {
        page: Some(page), ..
    } = first
    else {
        panic!("the first line is not the session with its page: {first:?}");
    };
    let addr: SocketAddr = page
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    assert!(addr.ip().is_loopback(), "bound to {addr}");

    // Server-sent events, read on their own thread.
    let (events_tx, events_rx) = mpsc::channel::<(String, String)>();
    let mut sse = TcpStream::connect(addr).unwrap();
    // HTTP/1.0: the stream comes unchunked, until the server closes it.
    write!(
        sse,
        "GET /nudges HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let sse_reader = std::thread::spawn(move || {
        let mut name = String::new();
        for line in BufReader::new(sse).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("event: ") {
                name = n.to_string();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let _ = events_tx.send((name.clone(), data.to_string()));
            }
        }
    });

    let started = rx.recv_timeout(wait).expect("the call's start");
    assert!(started.contains("\"call_start\""), "{started}");

    let (status, page) = http(addr, "GET", "/", "");
    assert_eq!(status, 200);
    assert!(page.contains("EventSource(\"/nudges\")"), "{page}");
    let (status, body) = http(
        addr,
        "POST",
        "/events",
        "{\"type\":\"hold_start\",\"call_id\":\"x\"}\n{\"type\":\"hold_end\"}\n",
    );
    assert_eq!(status, 202, "{body}");
    assert!(body.contains("\"accepted\":2"), "{body}");
    let (status, body) = http(
        addr,
        "POST",
        "/events",
        "{\"type\":\"hold_start\"}\n{\"type\":\n",
    );
    assert_eq!(status, 400);
    assert!(body.starts_with("line 2:"), "{body}");
    let (status, body) = http(addr, "GET", "/status", "");
    assert_eq!(status, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["call_id"], "call_8k_mulaw");

    // A nudge comes over the event stream while the call is replayed.
    let nudge = loop {
        let (name, data) = events_rx
            .recv_timeout(wait)
            .expect("a nudge over the event stream");
        if name == "nudge" {
            let Envelope::Nudge(n) = serde_json::from_str(&data).unwrap() else {
                panic!("{data}")
            };
            break n;
        }
    };
    assert_eq!(nudge.call_id, "call_8k_mulaw");

    let done = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(done.success(), "{err}");
    // Shutdown is graceful: the event stream was closed (its reader finished).
    sse_reader.join().unwrap();
    let rest: Vec<Envelope> = rx
        .iter()
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    assert!(
        matches!(rest.last(), Some(Envelope::End { calls: 1 })),
        "{rest:?}"
    );
    let card_path = rest
        .iter()
        .find_map(|e| match e {
            Envelope::CallEnd { scorecard, .. } => scorecard.clone(),
            _ => None,
        })
        .expect("the scorecard's path");
    assert_eq!(
        card_path,
        PathBuf::from(dir.path()).join("call_8k_mulaw.json")
    );
    let card: Scorecard =
        serde_json::from_str(&std::fs::read_to_string(card_path).unwrap()).unwrap();
    // The posted hold came on top of the sidecar's own hold (two of each now).
    let holds = card
        .events
        .iter()
        .filter(|e| serde_json::to_value(e).unwrap()["type"] == "hold_start")
        .count();
    assert_eq!(holds, 2, "{:?}", card.events);
}

#[test]
fn decoding_a_clip_does_not_depend_on_what_the_state_decoded_before() {
    use zhijian::pipeline::{clip_range, CallOptions, RecordedCall, MAX_CHUNK_SECONDS};
    use zhijian::resample::Resampler;
    use zhijian::transcribe::{DecodeOptions, Strategy, Transcriber};
    use zhijian::voice::{self, VoiceConfig};

    require_model();
    let call = RecordedCall::open(&fixture("call_8k_mulaw.wav"), &CallOptions::default()).unwrap();
    let agent = &call.parties[0];
    let wide = Resampler::new(call.sample_rate)
        .unwrap()
        .process(&agent.samples)
        .unwrap();
    let (spans, energies) = voice::detect(&wide, &VoiceConfig::default());
    let clips: Vec<&[f32]> = voice::split_long(&spans, &energies, MAX_CHUNK_SECONDS)
        .into_iter()
        .map(|s| &wide[clip_range(s, wide.len())])
        .collect();
    // The clip with 这事不归我管 (the one beam search heard differently after different clips
    // while whisper states were reused).
    let target = clips.len() - 2;
    for strategy in [Strategy::Greedy, Strategy::Beam { size: 5 }] {
        let options = DecodeOptions {
            strategy,
            workers: 1,
            ..DecodeOptions::default()
        };
        let transcriber =
            Transcriber::load(&zhijian::model::resolve_model_path(None), options).unwrap();
        let first = transcriber.decode_on(0, clips[target]).unwrap().text;
        for other in [0, 1, 3] {
            transcriber.decode_on(0, clips[other]).unwrap();
            let again = transcriber.decode_on(0, clips[target]).unwrap().text;
            assert_eq!(again, first, "{strategy:?}, after clip {other}");
        }
    }
}
