use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/calls").join(name)
}

/// Runs the built binary with `args`, with a store of its own that is deleted afterwards and the
/// tests' shared transcript cache: a test never touches the user's store or cache (`--db` and
/// `--cache` still override).
pub fn zhijian(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    command(&home.path().join("zhijian.db"))
        .args(args)
        .output()
        .expect("run zhijian")
}

/// The binary, with `db` as its store and the tests' shared transcript cache.
pub fn command(db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zhijian"));
    command
        .env("ZHIJIAN_DB", db)
        .env("ZHIJIAN_CACHE", test_cache());
    command
}

/// A transcript cache shared by the tests (and kept between test runs: entries are keyed by
/// everything a transcript depends on, so a stale one cannot be hit).
pub fn test_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transcripts")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Fails with the set-up command when the model is not installed.
pub fn require_model() {
    let path = zhijian::model::resolve_model_path(None);
    if let Err(e) = zhijian::model::check_model(&path) {
        panic!("the end-to-end tests need the Whisper model: {e}\n(run `bash .ci/setup`)");
    }
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}
