//! Batch benchmark: how fast archives are scored, re-scored, and whether memory stays flat.
//!
//! All of it runs the real `zhijian` binary on a fresh store and transcript cache in a temporary
//! directory, on whatever calls are present: `fixtures/corpus/calls/*.wav` if that corpus exists,
//! else `fixtures/calls/*.wav`. In one run it measures:
//!
//! 1. **First scoring** (transcription included) of the corpus, once per worker-pool layout:
//!    `--jobs 1` (one call at a time, its clips spread over both whisper states: how `score`
//!    worked before batches) and `--jobs 2` (two calls in flight sharing the states' clip queue,
//!    so one call's reading and speech detection, and its first clips, overlap the previous
//!    call's last clips). Reported: audio hours per wall-clock hour, CPU use, the machine's load,
//!    and the ratio between the layouts.
//! 2. **A long batch from the cache**: the corpus copied many times over (hard links, new call
//!    ids) and scored with every transcript in the cache, sampling the process's resident memory
//!    (VmRSS) against the number of calls committed: memory must not grow with the calls.
//! 3. **Re-scoring** all those calls under changed rules (`zhijian rescore`): calls per second,
//!    and the ratio to the first scoring's seconds per call.
//!
//! Run: `cargo bench --bench batch`. `ZHIJIAN_BENCH_DECODING="--greedy --fast"` changes the
//! decoding settings (default: zhijian's, beam 5); `ZHIJIAN_BENCH_LAYOUTS=2` runs only
//! `--jobs 2`; `ZHIJIAN_BENCH_REPEAT=N` runs the layouts N times, alternating, and keeps the best
//! of each; `ZHIJIAN_BENCH_COPIES=N` sets the long batch's size (default 600 calls).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

fn zhijian() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zhijian"));
    c.env_remove("ZHIJIAN_DB").env_remove("ZHIJIAN_CACHE");
    c
}

fn corpus(root: &Path) -> Vec<PathBuf> {
    for dir in ["fixtures/corpus/calls", "fixtures/calls"] {
        let mut calls: Vec<PathBuf> = fs::read_dir(root.join(dir))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "wav"))
                    .collect()
            })
            .unwrap_or_default();
        if !calls.is_empty() {
            calls.sort();
            eprintln!("corpus: {} calls in {dir}", calls.len());
            return calls;
        }
    }
    panic!("no fixture calls found");
}

fn audio_seconds(calls: &[PathBuf]) -> f64 {
    calls
        .iter()
        .map(|c| {
            zhijian::audio::read_wav(c)
                .map(|r| r.duration().0)
                .unwrap_or(0.0)
        })
        .sum()
}

fn decoding() -> Vec<String> {
    std::env::var("ZHIJIAN_BENCH_DECODING")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect()
}

fn committed(db: &Path) -> i64 {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .and_then(|c| c.query_row("SELECT count(*) FROM calls", [], |r| r.get(0)))
        .unwrap_or(0)
}

/// `(VmRSS, VmHWM)` in MiB.
fn memory(pid: u32) -> Option<(f64, f64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<f64>()
            .ok()
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

struct Sampled {
    wall: f64,
    /// CPU seconds (user + system) the process used.
    cpu: f64,
    /// The machine's 1-minute load average at the start and at the end.
    load: (f64, f64),
    peak_mib: f64,
    /// (calls committed, RSS MiB), one sample per committed-count change.
    trace: Vec<(i64, f64)>,
    stderr: String,
}

/// CPU seconds used by this process's waited-for children (`cutime + cstime`).
fn children_cpu() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // cutime and cstime are fields 16 and 17; USER_HZ is 100 on Linux.
    (ticks(13) + ticks(14)) / 100.0
}

fn load_average() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs `command` to its end, sampling its memory and the store's committed calls.
fn run_sampled(mut command: Command, db: &Path) -> Sampled {
    let (cpu_before, load_before) = (children_cpu(), load_average());
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zhijian");
    let pid = child.id();
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let (mut peak, mut trace, mut last) = (0.0f64, Vec::new(), -1);
    loop {
        if let Some((rss, hwm)) = memory(pid) {
            peak = peak.max(hwm);
            let n = committed(db);
            if n != last {
                trace.push((n, rss));
                last = n;
            }
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = started.elapsed().as_secs_f64();
    let stderr = reader.join().unwrap_or_default();
    assert!(
        child.wait().expect("wait").success(),
        "zhijian failed:\n{stderr}"
    );
    Sampled {
        wall,
        cpu: children_cpu() - cpu_before,
        load: (load_before, load_average()),
        peak_mib: peak,
        trace,
        stderr,
    }
}

fn score_command(calls: &[PathBuf], db: &Path, cache: &Path, jobs: usize) -> Command {
    let mut c = zhijian();
    c.args(["score", "-q", "--jobs", &jobs.to_string(), "--db"])
        .arg(db)
        .arg("--cache")
        .arg(cache)
        .args(decoding())
        .args(calls);
    c
}

/// `copies` calls made of the corpus: hard links to its WAVs (symbolic links where hard links
/// cannot be made), each with a sidecar giving it a call id of its own.
fn replicate(calls: &[PathBuf], dir: &Path, copies: usize) -> PathBuf {
    let out = dir.join("long");
    for i in 0..copies {
        let source = &calls[i % calls.len()];
        let folder = out.join(format!("{:03}", i / 100));
        fs::create_dir_all(&folder).unwrap();
        let wav = folder.join(format!("copy{i:05}.wav"));
        if fs::hard_link(source, &wav).is_err() {
            std::os::unix::fs::symlink(source, &wav).unwrap();
        }
        let sidecar = zhijian::call::sidecar_path(source);
        let mut value: serde_json::Value = fs::read_to_string(&sidecar)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        value["call_id"] = format!("copy{i:05}").into();
        value["agent_id"] = format!("A{}", i % 10).into();
        value["started_at"] = format!("2024-05-{:02}T09:00:00+08:00", 1 + i % 28).into();
        fs::write(
            zhijian::call::sidecar_path(&wav),
            serde_json::to_vec(&value).unwrap(),
        )
        .unwrap();
    }
    out
}

fn doubled_rules(root: &Path, dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    fs::create_dir_all(&rules).unwrap();
    for entry in fs::read_dir(root.join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = fs::read_to_string(&path)
                .unwrap()
                .replace("full_score = 100", "full_score = 200");
            fs::write(rules.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    rules
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model = zhijian::model::resolve_model_path(None);
    if let Err(e) = zhijian::model::check_model(&model) {
        panic!("the batch benchmark needs the Whisper model: {e}");
    }
    let calls = corpus(&root);
    let audio = audio_seconds(&calls);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "{:.1} min of audio, {cores} core(s), decoding: {}",
        audio / 60.0,
        if decoding().is_empty() {
            "default (beam 5)".into()
        } else {
            decoding().join(" ")
        }
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let layouts: Vec<usize> = std::env::var("ZHIJIAN_BENCH_LAYOUTS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();

    // 1. First scoring, transcription included; the layouts alternate, best of the repeats
    // (other load on the machine only ever slows a run down).
    let repeat: usize = std::env::var("ZHIJIAN_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut first: Vec<(usize, f64, f64, (f64, f64))> = Vec::new();
    let mut busy: Vec<(usize, f64)> = Vec::new();
    let mut warm = None;
    for round in 0..repeat {
        for &jobs in &layouts {
            let db = dir.path().join(format!("first{jobs}-{round}.db"));
            let cache = dir.path().join(format!("cache{jobs}-{round}"));
            let run = run_sampled(score_command(&calls, &db, &cache, jobs), &db);
            assert_eq!(committed(&db), calls.len() as i64, "{}", run.stderr);
            // The summary says how much of the time the whisper workers were decoding rather than
            // waiting for clips: the structural effect of the layout, whatever the machine's load.
            let share = run
                .stderr
                .split("whisper workers busy ")
                .nth(1)
                .and_then(|s| s.split('%').next()?.parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            busy.push((jobs, share));
            eprintln!(
                "  score --jobs {jobs}: {:.1} s wall, {:.1} s CPU, load {:.1}→{:.1}, whisper workers busy {share:.0}%, peak {:.0} MiB",
                run.wall, run.cpu, run.load.0, run.load.1, run.peak_mib
            );
            match first.iter_mut().find(|f| f.0 == jobs) {
                Some(best) if best.1 <= run.wall => {}
                Some(best) => *best = (jobs, run.wall, run.cpu, run.load),
                None => first.push((jobs, run.wall, run.cpu, run.load)),
            }
            warm = Some(cache);
        }
    }
    let cache = warm.expect("at least one layout");
    let (best_jobs, first_wall) = first
        .iter()
        .map(|(jobs, wall, _, _)| (*jobs, *wall))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("a layout");

    // 2. A long batch from the cache, memory sampled.
    let copies: usize = std::env::var("ZHIJIAN_BENCH_COPIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let long = replicate(&calls, dir.path(), copies);
    let db = dir.path().join("long.db");
    let mut command = zhijian();
    command
        .args(["score", "-q", "--recursive", "--db"])
        .arg(&db)
        .arg("--cache")
        .arg(&cache)
        .args(decoding())
        .arg(&long);
    let run = run_sampled(command, &db);
    assert_eq!(committed(&db), copies as i64, "{}", run.stderr);
    let at = |fraction: f64| {
        let want = (copies as f64 * fraction) as i64;
        run.trace
            .iter()
            .find(|(n, _)| *n >= want)
            .map_or(f64::NAN, |(_, rss)| *rss)
    };
    let (q1, half, end) = (at(0.25), at(0.5), at(1.0));

    // 3. Re-scoring every stored call under changed rules.
    let rules = doubled_rules(&root, dir.path());
    let started = Instant::now();
    let out = zhijian()
        .args(["rescore", "--db"])
        .arg(&db)
        .arg("--rules")
        .arg(&rules)
        .stdout(Stdio::null())
        .output()
        .expect("run zhijian rescore");
    let rescore_wall = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let first_per_call = first_wall / calls.len() as f64;
    let rescore_per_call = rescore_wall / copies as f64;
    println!("\n== zhijian batch benchmark ({cores} cores) ==");
    println!(
        "corpus: {} calls, {:.1} min of audio",
        calls.len(),
        audio / 60.0
    );
    for (jobs, wall, cpu, load) in &first {
        println!(
            "first scoring, --jobs {jobs}: {wall:.1} s → {:.1} audio h per wall-clock h ({:.3}× real time); \
             {cpu:.0} CPU s = {:.0}% of {cores} cores (load average {:.1}→{:.1})",
            audio / wall,
            wall / audio,
            cpu / (wall * cores as f64) * 100.0,
            load.0,
            load.1
        );
    }
    for (jobs, _, _, _) in &first {
        let shares: Vec<String> = busy
            .iter()
            .filter(|(j, _)| j == jobs)
            .map(|(_, s)| format!("{s:.0}%"))
            .collect();
        println!(
            "whisper workers busy, --jobs {jobs}: {} of the time (each run)",
            shares.join(", ")
        );
    }
    if let (Some(one), Some(two)) = (
        first.iter().find(|f| f.0 == 1),
        first.iter().find(|f| f.0 == 2),
    ) {
        println!(
            "--jobs 2 vs --jobs 1: {:.2}× the throughput (best runs; the machine's load varies)",
            one.1 / two.1
        );
    }
    println!(
        "long batch from the cache: {copies} calls in {:.1} s ({:.0} calls/s; load average {:.1}→{:.1})",
        run.wall,
        copies as f64 / run.wall,
        run.load.0,
        run.load.1
    );
    println!(
        "memory over the long batch: RSS {q1:.0} MiB at 25% of the calls, {half:.0} MiB at 50%, {end:.0} MiB at 100% \
         (growth 25%→100%: {:+.1} MiB); peak (VmHWM) {:.0} MiB",
        end - q1,
        run.peak_mib
    );
    println!(
        "rescore: {copies} calls in {rescore_wall:.2} s → {:.0} calls/s (whole process, start-up included)",
        copies as f64 / rescore_wall
    );
    println!(
        "rescore vs first scoring (--jobs {best_jobs}): {:.3} s vs {:.4} s per call → {:.0}× faster",
        first_per_call,
        rescore_per_call,
        first_per_call / rescore_per_call
    );
}
