//! Batches, the store, re-scoring and reports: the real binary on copies of the fixture calls in
//! temporary directories (never the user's store or cache).
//!
//! The fixture calls are transcribed once per test process into the tests' shared cache
//! ([`warm`]); the tests then score copies of them (same audio, new call ids and metadata) from
//! that cache, so they exercise everything but Whisper in milliseconds per call.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::util::*;

/// Fast decoding for these tests: they check batches and the store, not accuracy.
const DECODING: [&str; 2] = ["--greedy", "--fast"];
/// Two stereo calls (one with swapped channels) and a mono one.
const SOURCES: [&str; 3] = ["call_8k_alaw_swapped", "call_8k_mulaw", "call_mono"];

/// Transcribes the source calls into the tests' cache, once per test process.
fn warm() {
    static WARM: OnceLock<()> = OnceLock::new();
    WARM.get_or_init(|| {
        require_model();
        let mut args = vec!["score", "--no-store", "-q"];
        args.extend(DECODING);
        let paths: Vec<String> = SOURCES
            .iter()
            .map(|s| fixture(&format!("{s}.wav")).display().to_string())
            .collect();
        args.extend(paths.iter().map(String::as_str));
        let out = zhijian(&args);
        assert!(out.status.success(), "{}", stderr(&out));
    });
}

/// Copies source call `source` to `dir/name.wav` with a sidecar that gives it call id `name`,
/// an agent, a queue and a start time (the source's events and channel map kept).
fn copy_call(source: &str, dir: &Path, name: &str, agent: &str, started: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let wav = dir.join(format!("{name}.wav"));
    fs::copy(fixture(&format!("{source}.wav")), &wav).unwrap();
    let sidecar = fs::read_to_string(fixture(&format!("{source}.events.json"))).unwrap();
    let mut sidecar: serde_json::Value = serde_json::from_str(&sidecar).unwrap();
    sidecar["call_id"] = name.into();
    sidecar["agent_id"] = agent.into();
    sidecar["queue"] = "billing".into();
    sidecar["started_at"] = started.into();
    fs::write(
        dir.join(format!("{name}.events.json")),
        serde_json::to_vec_pretty(&sidecar).unwrap(),
    )
    .unwrap();
    wav
}

/// `zhijian score ARGS… --db DB` with the tests' decoding settings.
fn score(db: &Path, args: &[&str]) -> std::process::Output {
    score_command(db, args).output().expect("run zhijian")
}

fn score_command(db: &Path, args: &[&str]) -> Command {
    let mut command = command(db);
    command.arg("score").args(DECODING).args(args);
    command
}

fn read_only(db: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
}

fn query_i64(db: &Path, sql: &str) -> i64 {
    read_only(db)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Calls committed so far (0 while the store does not exist yet).
fn committed(db: &Path) -> i64 {
    read_only(db)
        .and_then(|c| c.query_row("SELECT count(*) FROM calls", [], |r| r.get(0)))
        .unwrap_or(0)
}

/// Which run scored each stored call.
fn scored_in(db: &Path) -> HashMap<String, i64> {
    let conn = read_only(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT call_id, scored_in FROM calls")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<HashMap<String, i64>>>()
        .unwrap();
    rows
}

fn archive_of(dir: &Path, calls: usize) -> PathBuf {
    let archive = dir.join("archive");
    for i in 0..calls {
        let day = 1 + i % 14;
        copy_call(
            SOURCES[i % SOURCES.len()],
            &archive.join(format!("2024-05-{day:02}")),
            &format!("c{i:03}"),
            &format!("A{}", i % 4),
            &format!("2024-05-{day:02}T09:{:02}:00+08:00", i % 60),
        );
    }
    archive
}

#[test]
fn a_batch_killed_with_sigkill_resumes_and_scores_every_call_exactly_once() {
    warm();
    let dir = tempfile::tempdir().unwrap();
    let calls = 90;
    let archive = archive_of(dir.path(), calls);
    // One call no cache holds (a changed sample), first in path order: its worker is decoding
    // it while the kills come.
    let fresh = copy_call(
        SOURCES[0],
        &archive.join("2024-04-30"),
        "fresh",
        "A9",
        "2024-04-30T09:00:00+08:00",
    );
    let mut bytes = fs::read(&fresh).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    fs::write(&fresh, bytes).unwrap();
    let total = calls as i64 + 1;
    let db = dir.path().join("store/zhijian.db");
    let archive_arg = archive.to_str().unwrap();

    let mut kills = 0;
    let mut before_kills: HashMap<String, i64> = HashMap::new();
    for _ in 0..3 {
        let mut child = score_command(&db, &[archive_arg, "--recursive", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let target = committed(&db) + 12;
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if committed(&db) >= target {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                break;
            }
            // Polling interval only: when to kill, never what is asserted.
            std::thread::sleep(Duration::from_millis(2));
        }
        let now = scored_in(&db);
        for (call, run) in &before_kills {
            assert_eq!(
                now.get(call),
                Some(run),
                "{call} was scored again after a restart"
            );
        }
        before_kills = now;
    }
    assert!(
        kills >= 2,
        "the batch ended before it could be killed ({kills} kills)"
    );
    assert!((before_kills.len() as i64) < total);

    let out = score(&db, &[archive_arg, "--recursive", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("skipped {} call(s)", before_kills.len())),
        "every call committed before a kill is skipped:\n{err}"
    );
    assert!(
        err.contains(&format!(
            "scored {} call(s)",
            total as usize - before_kills.len()
        )),
        "{err}"
    );

    let after = scored_in(&db);
    assert_eq!(after.len() as i64, total, "every call is stored");
    for (call, run) in &before_kills {
        assert_eq!(after.get(call), Some(run), "{call} was scored twice");
    }
    assert_eq!(
        query_i64(&db, "SELECT count(DISTINCT call_id) FROM calls"),
        total
    );
    assert_eq!(query_i64(&db, "SELECT count(*) FROM results"), total * 11);
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM calls c WHERE NOT EXISTS (SELECT 1 FROM utterances u WHERE u.call = c.id)"),
        0,
        "every call has its utterances"
    );
    // Copies of one recording have the same transcript, whichever run stored them.
    assert_eq!(
        query_i64(
            &db,
            "SELECT count(*) FROM (SELECT audio_sha256, count(DISTINCT n) AS k FROM
               (SELECT c.audio_sha256, (SELECT count(*) FROM utterances u WHERE u.call = c.id) AS n
                FROM calls c) GROUP BY audio_sha256) WHERE k > 1"
        ),
        0
    );
    let store = zhijian::store::Store::open_existing(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn a_rerun_skips_what_the_store_holds_and_still_prints_every_card_in_order() {
    warm();
    let dir = tempfile::tempdir().unwrap();
    let a = copy_call(
        "call_mono",
        dir.path(),
        "first",
        "A1",
        "2024-05-01T09:00:00+08:00",
    );
    let b = copy_call(
        "call_8k_alaw_swapped",
        dir.path(),
        "second",
        "A2",
        "2024-05-01T10:00:00+08:00",
    );
    let db = dir.path().join("z.db");
    let args = ["--format", "json", a.to_str().unwrap(), b.to_str().unwrap()];
    let ids = |out: &std::process::Output| -> Vec<String> {
        stdout(out)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["call_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let first = score(&db, &args);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        ids(&first),
        ["first", "second"],
        "CONTRACT §2: JSON Lines, in the order given"
    );
    assert!(
        stderr(&first).contains("scored 2 call(s)"),
        "{}",
        stderr(&first)
    );

    let again = score(&db, &args);
    assert!(again.status.success());
    assert_eq!(
        stdout(&again),
        stdout(&first),
        "the stored cards are the cards"
    );
    assert!(
        stderr(&again).contains("skipped 2 call(s)"),
        "{}",
        stderr(&again)
    );

    let forced = score(&db, &[&args[..], &["--force"]].concat());
    assert!(
        stderr(&forced).contains("scored 2 call(s)"),
        "{}",
        stderr(&forced)
    );
    assert!(
        stderr(&forced).contains("0 transcribed, 2 from the transcript cache"),
        "{}",
        stderr(&forced)
    );

    // A changed sidecar (new events or metadata) is a new input: the call is scored again.
    let sidecar = dir.path().join("first.events.json");
    let text = fs::read_to_string(&sidecar)
        .unwrap()
        .replace("\"A1\"", "\"A7\"");
    fs::write(&sidecar, text).unwrap();
    let changed = score(&db, &args);
    assert!(
        stderr(&changed).contains("scored 1 call(s)"),
        "{}",
        stderr(&changed)
    );
    assert!(
        stderr(&changed).contains("skipped 1 call(s)"),
        "{}",
        stderr(&changed)
    );
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM calls WHERE agent_id = 'A7'"),
        1
    );
}

#[test]
fn the_store_is_on_by_default_under_zhijian_home_and_no_store_keeps_nothing() {
    warm();
    let model = zhijian::model::resolve_model_path(None);
    let call = fixture("call_8k_alaw_swapped.wav");
    for (flag, kept) in [(None, true), (Some("--no-store"), false)] {
        let home = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_zhijian"));
        command
            .env("ZHIJIAN_HOME", home.path())
            .env_remove("ZHIJIAN_DB")
            .env("ZHIJIAN_CACHE", test_cache())
            .args(["score", "--format", "json", "--model"])
            .arg(&model)
            .args(DECODING)
            .args(flag)
            .arg(&call);
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 1);
        assert_eq!(home.path().join("zhijian.db").exists(), kept, "{flag:?}");
    }

    // A home where nothing can be created (here: a file) costs the store and the cache, not
    // the scorecards.
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = write(dir.path(), "home", b"a file");
    let out = Command::new(env!("CARGO_BIN_EXE_zhijian"))
        .env("ZHIJIAN_HOME", &not_a_dir)
        .env_remove("ZHIJIAN_DB")
        .env_remove("ZHIJIAN_CACHE")
        .args(["score", "--format", "json", "--model"])
        .arg(&model)
        .args(DECODING)
        .arg(&call)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1);
    let err = stderr(&out);
    assert!(
        err.contains("calls are not stored") && err.contains("not cached"),
        "{err}"
    );
}

#[test]
fn bad_files_in_an_archive_are_reported_in_the_summary_and_the_batch_goes_on() {
    warm();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    copy_call(
        "call_8k_mulaw",
        &archive,
        "good",
        "A1",
        "2024-05-01T09:00:00+08:00",
    );
    let bad = archive.join("2024/bad");
    fs::create_dir_all(&bad).unwrap();
    write(&bad, "empty.wav", b"");
    write(&bad, "garbage.wav", b"this is not audio at all, just text");
    let mut cut = fs::read(fixture("call_mono.wav")).unwrap();
    cut.truncate(cut.len() / 2 + 1);
    write(&bad, "truncated.wav", &cut);
    fs::copy(fixture("call_8k_mulaw.wav"), bad.join("broken.wav")).unwrap();
    write(
        &bad,
        "broken.events.json",
        b"{\n  \"events\": [ {\"t\": \"soon\"} ]\n}",
    );
    write(&archive, "notes.txt", b"not a call");
    let db = dir.path().join("z.db");

    let out = score(
        &db,
        &[archive.to_str().unwrap(), "--recursive", "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed call makes the exit status non-zero"
    );
    let err = stderr(&out);
    for (file, problem) in [
        ("empty.wav", "empty"),
        ("garbage.wav", "not a WAV file"),
        ("truncated.wav", "truncated"),
        ("broken.events.json", "bad events sidecar"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with("  ") && l.contains(file) && l.contains(problem)),
            "the summary lacks '{problem}' for {file}:\n{err}"
        );
    }
    assert!(err.contains("failed 4 call(s)"), "{err}");
    assert!(err.contains("4 of 5 call(s) could not be scored"), "{err}");
    let cards: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0]["call_id"], "good");
    assert_eq!(committed(&db), 1);
}

/// Copies the project's rules with the standard's full score doubled.
fn doubled_rules(dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    fs::create_dir_all(&rules).unwrap();
    for entry in fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let mut text = fs::read_to_string(&path).unwrap();
            if path.ends_with("standard.toml") {
                text = text.replace("full_score = 100", "full_score = 200");
            }
            fs::write(rules.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    rules
}

#[test]
fn rescore_applies_changed_rules_to_stored_calls_without_the_model() {
    warm();
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_of(dir.path(), 6);
    let db = dir.path().join("z.db");
    let scored = score(&db, &[archive.to_str().unwrap(), "-r", "-q"]);
    assert!(scored.status.success(), "{}", stderr(&scored));
    let before: i64 = query_i64(&db, "SELECT sum(score) FROM calls");
    let rules = doubled_rules(dir.path());

    let rescore = |force: bool| {
        let mut c = command(&db);
        // No model at all: re-scoring must not need one.
        c.env("ZHIJIAN_MODEL", dir.path().join("no-model.bin"))
            .args(["rescore", "--rules"])
            .arg(&rules)
            .args(force.then_some("--force"));
        c.output().unwrap()
    };
    let out = rescore(false);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    let critical = query_i64(&db, "SELECT count(*) FROM calls WHERE critical_failure");
    assert_eq!(lines.len() as i64, 6 - critical, "{lines:?}");
    for line in &lines {
        let parts: Vec<&str> = line.split(' ').collect();
        let (old, new): (u32, u32) = (parts[1].parse().unwrap(), parts[3].parse().unwrap());
        assert_eq!(new, old + 100, "{line}");
    }
    assert!(
        stderr(&out).contains("rescored 6 call(s)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        query_i64(&db, "SELECT sum(score) FROM calls"),
        before + 100 * (6 - critical)
    );
    assert_eq!(
        query_i64(&db, "SELECT count(DISTINCT rule_set) FROM calls"),
        1
    );

    let again = rescore(false);
    assert!(
        stderr(&again).contains("skipped 6 call(s)"),
        "{}",
        stderr(&again)
    );
    assert_eq!(stdout(&again), "");

    // `score` with the same rules agrees: nothing left to do.
    let agrees = score(
        &db,
        &[
            archive.to_str().unwrap(),
            "-r",
            "-q",
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    assert!(
        stderr(&agrees).contains("skipped 6 call(s)"),
        "{}",
        stderr(&agrees)
    );
    let forced = rescore(true);
    assert!(
        stderr(&forced).contains("rescored 6 call(s)"),
        "{}",
        stderr(&forced)
    );
    assert_eq!(stdout(&forced), "", "same rules, same scores");
    let store = zhijian::store::Store::open_existing(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn reports_select_calls_and_render_csv_json_and_an_html_index_linking_every_card() {
    warm();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    // Two agents, two ISO weeks (2024-W18: 29 April – 5 May; W19: 6–12 May).
    for (i, (agent, day)) in [
        ("A1", "04-29"),
        ("A1", "05-06"),
        ("A2", "04-30"),
        ("A2", "05-07"),
        ("A1", "05-08"),
    ]
    .into_iter()
    .enumerate()
    {
        copy_call(
            SOURCES[i % 3],
            &archive,
            &format!("r{i}"),
            agent,
            &format!("2024-{day}T10:00:00+08:00"),
        );
    }
    let db = dir.path().join("z.db");
    assert!(score(&db, &[archive.to_str().unwrap(), "-q"])
        .status
        .success());
    let report = |args: &[&str]| {
        let mut c = command(&db);
        c.arg("report").args(args);
        c.output().unwrap()
    };

    let csv = report(&[]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    let rows: Vec<String> = stdout(&csv).lines().map(String::from).collect();
    assert_eq!(rows.len(), 6, "a header and five calls:\n{rows:?}");
    assert!(rows[0].starts_with("call_id,started_at,week,agent_id,queue,duration_s,score"));
    let scores: Vec<u32> = rows[1..]
        .iter()
        .map(|r| r.split(',').nth(6).unwrap().parse().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] <= w[1]),
        "worst first: {scores:?}"
    );

    assert_eq!(stdout(&report(&["--agent", "A1"])).lines().count(), 4);
    assert_eq!(
        stdout(&report(&["--from", "2024-05-06", "--to", "2024-05-07"]))
            .lines()
            .count(),
        3
    );
    assert_eq!(
        stdout(&report(&["--min-score", "101"])).lines().count(),
        1,
        "the header only"
    );

    let json = report(&["--format", "json"]);
    let lines: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (rule, verdict) in [
        ("interruption", None),
        ("greeting", Some("pass")),
        ("greeting", Some("fail")),
    ] {
        let expected = lines
            .iter()
            .filter(|l| l["type"] == "call")
            .filter(|l| {
                let v = &l["data"]["verdicts"][rule];
                match verdict {
                    Some(verdict) => v == verdict,
                    None => v != "not_applicable",
                }
            })
            .count();
        let mut args = vec!["--rule", rule];
        args.extend(verdict.iter().flat_map(|v| ["--verdict", *v]));
        assert_eq!(
            stdout(&report(&args)).lines().count(),
            1 + expected,
            "{args:?}"
        );
    }
    let of = |kind: &str| lines.iter().filter(|l| l["type"] == kind).count();
    assert_eq!(
        (
            of("call"),
            of("agent"),
            of("team"),
            of("week"),
            of("summary")
        ),
        (5, 2, 1, 2, 1)
    );
    assert_eq!(lines.last().unwrap()["data"]["calls"], 5);

    let out = dir.path().join("report");
    let html = report(&["--format", "html", "--out", out.to_str().unwrap()]);
    assert!(html.status.success(), "{}", stderr(&html));
    let index = fs::read_to_string(out.join("index.html")).unwrap();
    let links: Vec<&str> = index
        .split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(links.len(), 5, "{links:?}");
    for link in links {
        let page = fs::read_to_string(out.join(link)).unwrap_or_else(|e| panic!("{link}: {e}"));
        let id = link.trim_start_matches("calls/").trim_end_matches(".html");
        assert!(
            page.contains(&format!("<h1>{id}</h1>")),
            "{link} is not {id}'s scorecard"
        );
    }
    for section in ["Agents", "Teams", "Trend by week", "Review first"] {
        assert!(index.contains(section), "the index lacks {section}");
    }

    let no_out = report(&["--format", "html"]);
    assert_eq!(no_out.status.code(), Some(1));
    assert!(stderr(&no_out).contains("--out"), "{}", stderr(&no_out));
    let missing = command(&dir.path().join("none.db"))
        .arg("report")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("zhijian score"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn help_documents_batches_the_store_rescore_and_report() {
    for (command, needles) in [
        (
            "score",
            &[
                "--recursive",
                "--db",
                "--no-store",
                "--cache",
                "--no-cache",
                "--force",
                "--jobs",
                "--quiet",
            ][..],
        ),
        ("rescore", &["--rules", "--db", "--force"][..]),
        (
            "report",
            &[
                "--from",
                "--to",
                "--agent",
                "--rule",
                "--verdict",
                "--min-score",
                "--max-score",
                "--format",
                "--out",
            ][..],
        ),
    ] {
        let out = zhijian(&[command, "--help"]);
        assert!(out.status.success());
        let help = stdout(&out);
        for needle in needles {
            assert!(
                help.contains(needle),
                "{command} --help lacks {needle}:\n{help}"
            );
        }
    }
}
