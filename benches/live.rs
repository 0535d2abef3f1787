//! Live monitoring benchmark: how soon a nudge follows the words that earned it, and what a live
//! session costs in memory and CPU over ten minutes.
//!
//! **Latency.** Every fixture call is replayed through `zhijian live --replay` at real time
//! (`--speed 1`), reading its JSON Lines stream as it comes. A nudge's latency is the wall time
//! from the end of the violating line in the audio (the fixture's `.truth.json` gives every
//! line's exact end; Whisper cannot know the words before the line ends) to the moment the nudge
//! line is read. The fixtures hold two banned phrases (call_8k_mulaw); to measure on every agent
//! line, the rules used are the standard's plus a zero-point `bench` category of phrases that
//! occur in most agent lines (您好, 请问, 稍等, …) — the same rule, the same path through the
//! pipeline. Reported per decoding configuration: p50 / p95 / max over the agent lines, the two
//! real banned phrases on their own, and the baseline measured in the same run: the time Whisper
//! takes to decode those same pieces alone (so latency − decode is the pipeline's own delay:
//! the 0.5 s speech detection waits to be sure a turn has ended, queueing, ordering).
//!
//! **Memory and CPU.** The fixture calls replayed back to back for at least ten minutes at real
//! time in one live session; VmRSS, VmHWM and CPU time of the process sampled every 2 s, reported
//! per minute, with the RSS trend over the last eight minutes (flat means no growth).
//!
//! Run: `cargo bench --bench live` (both), `-- latency` or `-- memory` for one part.
//! `ZHIJIAN_BENCH_CONFIGS="greedy-fast,beam5"` picks the decoding configurations (parts: beam5,
//! greedy, fast, 1x2 = one worker with two threads); the memory run uses the first.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zhijian::model;
use zhijian::nudge::{Envelope, Nudge};
use zhijian::party::Party;
use zhijian::pipeline::{clip_range, CallOptions, RecordedCall, MAX_CHUNK_SECONDS};
use zhijian::reference::{self, Reference};
use zhijian::resample::Resampler;
use zhijian::rules::RuleId;
use zhijian::transcribe::{DecodeOptions, Strategy, Transcriber};
use zhijian::voice::{self, VoiceConfig};

const BENCH_PHRASES: &[&str] = &[
    "您好", "你好", "请问", "请您", "稍等", "好的", "感谢", "谢谢", "帮您", "为您", "再见",
];

fn fixture_calls(root: &Path) -> Vec<PathBuf> {
    let mut calls: Vec<PathBuf> = std::fs::read_dir(root.join("fixtures/calls"))
        .expect("fixtures/calls")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "wav") && reference::reference_path(p).exists()
        })
        .collect();
    calls.sort();
    calls
}

/// A configuration's command-line flags and its decode options.
fn configs() -> Vec<(String, Vec<&'static str>, DecodeOptions)> {
    let wanted = std::env::var("ZHIJIAN_BENCH_CONFIGS")
        .unwrap_or_else(|_| "greedy-fast,greedy,beam5".into());
    wanted
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            let mut flags = Vec::new();
            let mut options = DecodeOptions::default();
            for part in name.split('-') {
                match part {
                    "beam5" => options.strategy = Strategy::Beam { size: 5 },
                    "greedy" => {
                        flags.push("--greedy");
                        options.strategy = Strategy::Greedy;
                    }
                    "fast" => {
                        flags.push("--fast");
                        options.shorten_audio_ctx = true;
                    }
                    "1x2" => {
                        flags.extend(["--workers", "1", "--threads", "2"]);
                        (options.workers, options.threads_per_worker) = (1, 2);
                    }
                    other => panic!("unknown configuration part {other:?} in {name:?}"),
                }
            }
            (name.to_string(), flags, options)
        })
        .collect()
}

/// The standard's rules plus the zero-point `bench` category.
fn bench_rules(root: &Path, into: &Path) -> PathBuf {
    let dir = into.join("rules");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(root.join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let banned = dir.join("banned_phrase.toml");
    let mut text = std::fs::read_to_string(&banned).unwrap();
    // Appended after the last table, so it is one more category.
    let phrases: Vec<String> = BENCH_PHRASES.iter().map(|p| format!("{p:?}")).collect();
    text.push_str(&format!(
        "\n[[params.category]]\nname = \"bench\"\ndeduction = 0\ncritical = false\nsuggestion = \"(benchmark)\"\nphrases = [{}]\n",
        phrases.join(", ")
    ));
    std::fs::write(&banned, text).unwrap();
    dir
}

/// One nudge's delay, against the end of the line it was about.
#[derive(Debug, Clone)]
struct Sample {
    call: String,
    /// The line's end in the audio (truth), seconds.
    line_end: f64,
    /// Wall seconds from the line's end to the nudge.
    latency: f64,
    /// One of the standard's own phrases (not the bench category).
    real: bool,
    start: f64,
    end: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Replays one call at real time; returns its nudges with the wall time each was read, and the
/// wall time the call started.
fn replay(
    call: &Path,
    rules: &Path,
    flags: &[&str],
    out: &Path,
) -> (Instant, Vec<(Instant, Nudge)>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zhijian"))
        .args(["live", "--replay"])
        .arg(call)
        .args([
            "--speed",
            "1",
            "--no-http",
            "--no-stdin",
            "--quiet",
            "--jsonl",
            "-",
        ])
        .args(["--format", "json", "--out"])
        .arg(out)
        .arg("--rules")
        .arg(rules)
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run zhijian live");
    let mut started = None;
    let mut nudges = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let now = Instant::now();
        let Ok(line) = line else { break };
        match serde_json::from_str::<Envelope>(&line) {
            Ok(Envelope::CallStart { .. }) => started = Some(now),
            Ok(Envelope::Nudge(n)) => nudges.push((now, n)),
            _ => {}
        }
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "zhijian live failed on {}",
        call.display()
    );
    (started.expect("a call start"), nudges)
}

/// The truth line(s) a finding about `[start, end]` of `party`'s speech covers: the end of the
/// last one.
fn line_end(reference: &Reference, party: Party, start: f64, end: f64) -> Option<f64> {
    reference
        .turns
        .iter()
        .filter(|t| t.party == party || reference.layout == "mono")
        .filter(|t| t.start.0 < end + 0.3 && t.end.0 > start - 0.3)
        .map(|t| t.end.0)
        .fold(None, |m: Option<f64>, e| Some(m.map_or(e, |m| m.max(e))))
}

fn latency(root: &Path) {
    let calls = fixture_calls(root);
    let work = tempfile::tempdir().unwrap();
    let rules = bench_rules(root, work.path());
    let model_path = model::resolve_model_path(None);
    println!(
        "## Nudge latency at real-time replay ({} fixture calls)\n",
        calls.len()
    );
    println!(
        "cores: {}, load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    for (name, flags, options) in configs() {
        let mut samples = Vec::new();
        for call in &calls {
            let reference = Reference::load_for(call).unwrap();
            let out = work.path().join(&name);
            std::fs::create_dir_all(&out).unwrap();
            let (started, nudges) = replay(call, &rules, &flags, &out);
            let mut seen = BTreeMap::new();
            for (at, n) in nudges {
                if n.rule != RuleId::BannedPhrase {
                    continue;
                }
                let real = !n.message.contains("[bench]");
                let key = (n.start.0.to_bits(), n.end.0.to_bits());
                let Some(end) = line_end(&reference, n.party, n.start.0, n.end.0) else {
                    continue;
                };
                let latency = at.duration_since(started).as_secs_f64() - end;
                let entry = seen.entry(key).or_insert(Sample {
                    call: reference.call_id.clone(),
                    line_end: end,
                    latency,
                    real,
                    start: n.start.0,
                    end: n.end.0,
                });
                entry.real |= real;
                entry.latency = entry.latency.min(latency);
            }
            samples.extend(seen.into_values());
        }
        let mut all: Vec<f64> = samples.iter().map(|s| s.latency).collect();
        all.sort_by(f64::total_cmp);
        let mut real: Vec<f64> = samples
            .iter()
            .filter(|s| s.real)
            .map(|s| s.latency)
            .collect();
        real.sort_by(f64::total_cmp);

        // The baseline, in the same run: decoding the nudged pieces alone, one at a time.
        let transcriber = Transcriber::load(&model_path, options.clone()).expect("the model");
        let mut decode = Vec::new();
        for call in &calls {
            let opened = RecordedCall::open(call, &CallOptions::default()).unwrap();
            let call_id = opened.call_id.clone();
            for party in opened.parties {
                let wide = Resampler::new(opened.sample_rate)
                    .unwrap()
                    .process(&party.samples)
                    .unwrap();
                let (spans, energies) = voice::detect(&wide, &VoiceConfig::default());
                for piece in voice::split_long(&spans, &energies, MAX_CHUNK_SECONDS) {
                    let nudged = samples.iter().any(|s| {
                        s.call == call_id
                            && (s.start - piece.start.rounded().0).abs() < 1e-6
                            && (s.end - piece.end.rounded().0).abs() < 1e-6
                    });
                    if nudged {
                        let clip = &wide[clip_range(piece, wide.len())];
                        let t = Instant::now();
                        let _ = transcriber.decode_on(0, clip);
                        decode.push(t.elapsed().as_secs_f64());
                    }
                }
            }
        }
        decode.sort_by(f64::total_cmp);
        println!(
            "\n### {name} ({})",
            if flags.is_empty() {
                "defaults".into()
            } else {
                flags.join(" ")
            }
        );
        println!("| | n | p50 | p95 | max |");
        println!("|---|---|---|---|---|");
        let row = |label: &str, v: &[f64]| {
            println!(
                "| {label} | {} | {:.2} s | {:.2} s | {:.2} s |",
                v.len(),
                percentile(v, 0.5),
                percentile(v, 0.95),
                v.last().copied().unwrap_or(f64::NAN)
            )
        };
        row("nudge latency, every agent line", &all);
        row("nudge latency, the real banned phrases", &real);
        row("baseline: decoding the piece alone", &decode);
        println!(
            "\np95 latency / p95 decode alone: {:.2}; p95 target 1.5 s: {}",
            percentile(&all, 0.95) / percentile(&decode, 0.95),
            if percentile(&all, 0.95) <= 1.5 {
                "met"
            } else {
                "missed"
            }
        );
        let mut worst = samples.clone();
        worst.sort_by(|a, b| b.latency.total_cmp(&a.latency));
        for s in worst.iter().take(3) {
            println!(
                "  slowest: {} line ending {:.2} s, piece {:.2}–{:.2} s: {:.2} s",
                s.call, s.line_end, s.start, s.end, s.latency
            );
        }
    }
}

/// Reads VmRSS and VmHWM (MiB) and CPU seconds of a process.
fn sample(pid: u32) -> Option<(f64, f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): utime is the 14th field overall.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let hz = 100.0; // USER_HZ on Linux
    Some((kib("VmRSS:")? / 1024.0, kib("VmHWM:")? / 1024.0, ticks / hz))
}

fn memory(root: &Path) {
    let calls = fixture_calls(root);
    let durations: Vec<f64> = calls
        .iter()
        .map(|c| Reference::load_for(c).unwrap().duration.0)
        .collect();
    let mut list = Vec::new();
    let mut total = 0.0;
    'fill: loop {
        for (c, d) in calls.iter().zip(&durations) {
            list.push(c.clone());
            total += d;
            if total >= 600.0 {
                break 'fill;
            }
        }
    }
    let (name, flags, _) = configs().into_iter().next().expect("a configuration");
    let work = tempfile::tempdir().unwrap();
    println!(
        "\n## A live session over {:.1} minutes of replayed calls ({} calls, {name}, real time)\n",
        total / 60.0,
        list.len()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_zhijian"))
        .args(["live", "--replay"])
        .args(&list)
        .args([
            "--speed",
            "1",
            "--no-http",
            "--no-stdin",
            "--quiet",
            "--format",
            "json",
            "--out",
        ])
        .arg(work.path())
        .args(&flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run zhijian live");
    let pid = child.id();
    let started = Instant::now();
    let mut samples = Vec::new();
    while child.try_wait().unwrap().is_none() {
        if let Some(s) = sample(pid) {
            samples.push((started.elapsed().as_secs_f64(), s));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let wall = started.elapsed().as_secs_f64();
    println!("| minute | VmRSS | VmHWM | CPU (of one core) |");
    println!("|---|---|---|---|");
    let mut last_cpu = (0.0, 0.0);
    for minute in 1..=((wall / 60.0).ceil() as usize) {
        let Some((t, (rss, hwm, cpu))) = samples
            .iter()
            .rev()
            .find(|(t, _)| *t <= minute as f64 * 60.0)
            .copied()
        else {
            continue;
        };
        let share = (cpu - last_cpu.1) / (t - last_cpu.0).max(1e-9) * 100.0;
        last_cpu = (t, cpu);
        println!("| {minute} | {rss:.0} MiB | {hwm:.0} MiB | {share:.0} % |");
    }
    // Least-squares slope of RSS over the last eight minutes.
    let tail: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(t, _)| *t >= wall - 480.0)
        .map(|(t, s)| (*t / 60.0, s.0))
        .collect();
    let n = tail.len() as f64;
    let (mx, my) = (
        tail.iter().map(|p| p.0).sum::<f64>() / n,
        tail.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let slope = tail.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
        / tail
            .iter()
            .map(|p| (p.0 - mx).powi(2))
            .sum::<f64>()
            .max(1e-9);
    let (_, (rss, hwm, cpu)) = samples.last().copied().unwrap_or((0.0, (0.0, 0.0, 0.0)));
    println!(
        "\nwall {wall:.0} s for {total:.0} s of audio; CPU {cpu:.0} s = {:.0} % of one core, {:.0} % of the machine; RSS at the end {rss:.0} MiB, peak {hwm:.0} MiB; RSS trend over the last 8 minutes {slope:+.2} MiB/min",
        cpu / wall * 100.0,
        cpu / wall * 100.0 / std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
    );
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if model::check_model(&model::resolve_model_path(None)).is_err() {
        eprintln!("the live benchmark needs the Whisper model: zhijian model install");
        std::process::exit(1);
    }
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |part: &str| which.is_empty() || which.iter().any(|w| w == part);
    if run("latency") {
        latency(&root);
    }
    if run("memory") {
        memory(&root);
    }
}
