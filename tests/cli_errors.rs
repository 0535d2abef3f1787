//! Bad input gets a clear error naming the file; one bad call never stops the others.

use crate::util::*;

#[test]
fn a_missing_model_names_the_command_that_fetches_it() {
    let out = zhijian(&[
        "transcribe",
        "--model",
        "/nonexistent/ggml-base.bin",
        fixture("call_mono.wav").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("/nonexistent/ggml-base.bin") && err.contains("zhijian model install"),
        "{err}"
    );
}

#[test]
fn a_directory_argument_is_refused_with_a_hint() {
    let out = zhijian(&[
        "transcribe",
        root().join("fixtures/calls").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}

#[test]
fn help_explains_the_input_formats_and_the_model() {
    let out = zhijian(&["transcribe", "--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for needle in [
        "μ-law",
        "--format",
        "--model",
        "zhijian model install",
        "--agent-channel",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn bad_files_in_a_batch_are_each_reported_and_the_good_call_is_still_transcribed() {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.wav", b"");
    let garbage = write(
        dir.path(),
        "garbage.wav",
        b"this is not audio at all, just text",
    );
    let mut cut = std::fs::read(fixture("call_mono.wav")).unwrap();
    cut.truncate(cut.len() / 2 + 1);
    let truncated = write(dir.path(), "truncated.wav", &cut);
    let missing = dir.path().join("missing.wav");
    let good = fixture("call_mono.wav");
    let args: Vec<&str> = ["transcribe", "--format", "json"]
        .into_iter()
        .chain(
            [&empty, &garbage, &good, &truncated, &missing]
                .iter()
                .map(|p| p.to_str().unwrap()),
        )
        .collect();
    let out = zhijian(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed call must make the exit status non-zero"
    );
    let err = stderr(&out);
    for (file, problem) in [
        ("empty.wav", "empty"),
        ("garbage.wav", "not a WAV file"),
        ("truncated.wav", "truncated"),
        ("missing.wav", "cannot open"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(file) && l.contains(problem)),
            "no '{problem}' error for {file}:\n{err}"
        );
    }
    assert!(
        err.contains("4 of 5 call(s) could not be transcribed"),
        "{err}"
    );
    let lines = stdout(&out);
    assert!(
        lines.lines().count() >= 4,
        "the good call's utterances are missing:\n{lines}"
    );
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON Lines");
        assert_eq!(v["call_id"], "call_mono");
    }
}
