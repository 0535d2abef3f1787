use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/calls").join(name)
}

/// Runs the built binary with `args`.
pub fn zhijian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zhijian"))
        .args(args)
        .output()
        .expect("run zhijian")
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
