//! The transcript cache: a call's [`CallTranscript`] kept on disk under a key made of everything
//! the transcript depends on, so re-scoring a call never transcribes it again.
//!
//! **In:** what a transcript depends on ([`KeyInputs`]: the WAV's content hash, the model's
//! content hash, the decoding and speech-detection settings, the channel map, zhijian's version),
//! and transcripts to keep. **Out:** a [`TranscriptKey`], and the transcript kept under it, or
//! nothing.
//!
//! Entries are JSON files, `DIR/ab/abcd….json`, written under a temporary name and renamed into
//! place, so a reader never sees half an entry (a writer killed midway leaves at most a stray
//! `.tmp` file). An entry that cannot be read is a miss, never an error: the cache only saves
//! time. Runs on the calling thread; any number of threads and processes may share a directory.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audio::ChannelMap;
use crate::model::{env_path, hex, home_dir, HOME_ENV};
use crate::transcribe::{DecodeOptions, Strategy};
use crate::transcript::CallTranscript;
use crate::voice::VoiceConfig;

/// Bumped when the entry layout changes; older entries are then misses.
const FORMAT: u32 = 2;

/// Environment variable that names the cache directory.
pub const CACHE_ENV: &str = "ZHIJIAN_CACHE";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Set-up: the directory cannot be made. Retrying does not help until it is fixed.
    #[error("{}: cannot create the transcript cache: {source}", path.display())]
    Create { path: PathBuf, source: io::Error },
    /// Run-time: an entry cannot be written (disk full, permissions).
    #[error("{}: cannot write to the transcript cache: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// Set-up: the model cannot be read to fingerprint it.
    #[error("{}: cannot read the model to fingerprint it: {source}", path.display())]
    Model { path: PathBuf, source: io::Error },
}

/// Lowercase hex SHA-256 of some bytes (a WAV file's, for [`KeyInputs::audio_sha256`]).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Everything a call's transcript depends on.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInputs<'a> {
    /// SHA-256 of the WAV file's bytes.
    pub audio_sha256: &'a str,
    /// SHA-256 of the model file ([`model_fingerprint`]).
    pub model_sha256: &'a str,
    /// [`crate::transcribe::DECODER_REVISION`].
    pub decoder: u32,
    pub strategy: Strategy,
    pub shorten_audio_ctx: bool,
    pub prompt: &'a str,
    pub voice: &'a VoiceConfig,
    /// The channel map in effect (flag, else sidecar, else the default).
    pub channels: ChannelMap,
}

impl<'a> KeyInputs<'a> {
    /// The inputs of a call decoded with `decode` (its worker and thread counts do not change the
    /// text, so they are not part of the key).
    pub fn new(
        audio_sha256: &'a str,
        model_sha256: &'a str,
        decode: &'a DecodeOptions,
        voice: &'a VoiceConfig,
        channels: ChannelMap,
    ) -> Self {
        KeyInputs {
            audio_sha256,
            model_sha256,
            decoder: crate::transcribe::DECODER_REVISION,
            strategy: decode.strategy,
            shorten_audio_ctx: decode.shorten_audio_ctx,
            prompt: &decode.prompt,
            voice,
            channels,
        }
    }
}

/// The cache key of one transcript: a SHA-256 (hex) of its [`KeyInputs`] and zhijian's version
/// (a new version may transcribe differently, so it starts a fresh cache).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TranscriptKey(String);

impl TranscriptKey {
    pub fn new(inputs: &KeyInputs<'_>) -> Self {
        let mut hash = Sha256::new();
        hash.update(format!(
            "zhijian {} transcript {FORMAT}\n",
            env!("CARGO_PKG_VERSION")
        ));
        // serde_json writes struct fields in declaration order: a stable encoding.
        hash.update(serde_json::to_vec(inputs).unwrap_or_default());
        TranscriptKey(hex(&hash.finalize()))
    }

    /// A key read back from the store.
    pub fn from_hex(hex: &str) -> Option<Self> {
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| TranscriptKey(hex.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One entry on disk.
#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    key: String,
    transcript: CallTranscript,
}

/// A directory of cached transcripts.
#[derive(Debug, Clone)]
pub struct TranscriptCache {
    dir: PathBuf,
}

/// Distinguishes the temporary files of concurrent writers in one process.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl TranscriptCache {
    /// Opens (creating it if needed) a cache directory.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        fs::create_dir_all(dir).map_err(|source| CacheError::Create {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(TranscriptCache {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, key: &TranscriptKey) -> PathBuf {
        self.dir.join(&key.0[..2]).join(format!("{}.json", key.0))
    }

    /// The transcript kept under `key`, if there is a readable one.
    pub fn get(&self, key: &TranscriptKey) -> Option<CallTranscript> {
        let path = self.path_of(key);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unreadable cache entry; transcribing again");
                return None;
            }
        };
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(entry) if entry.format == FORMAT && entry.key == key.0 => Some(entry.transcript),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "corrupt cache entry; transcribing again");
                None
            }
        }
    }

    /// Keeps `transcript` under `key`, replacing what was there, atomically.
    pub fn put(&self, key: &TranscriptKey, transcript: &CallTranscript) -> Result<(), CacheError> {
        let path = self.path_of(key);
        let entry = Entry {
            format: FORMAT,
            key: key.0.clone(),
            transcript: transcript.clone(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| CacheError::Write {
            path: path.clone(),
            source: e.into(),
        })?;
        write_atomically(&path, &bytes).map_err(|source| CacheError::Write { path, source })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let temp = dir.join(name);
    let written = fs::File::create(&temp).and_then(|mut f| f.write_all(bytes));
    match written.and_then(|()| fs::rename(&temp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// What the fingerprint memo remembers of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Remembered {
    len: u64,
    modified_ns: u128,
    sha256: String,
}

/// The model file's SHA-256 (hex). Hashing 150 MB takes a noticeable fraction of a second, so
/// with a cache the result is remembered in `models.json` there, keyed by the file's path, size
/// and modification time, and only recomputed when one of those changes.
pub fn model_fingerprint(
    model: &Path,
    cache: Option<&TranscriptCache>,
) -> Result<String, CacheError> {
    let read_err = |source| CacheError::Model {
        path: model.to_path_buf(),
        source,
    };
    let meta = fs::metadata(model).map_err(read_err)?;
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let name = fs::canonicalize(model)
        .unwrap_or_else(|_| model.to_path_buf())
        .to_string_lossy()
        .into_owned();
    let memo_path = cache.map(|c| c.dir.join("models.json"));
    let mut memo: BTreeMap<String, Remembered> = memo_path
        .as_ref()
        .and_then(|p| fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Some(r) = memo.get(&name) {
        if r.len == meta.len() && r.modified_ns == modified_ns {
            return Ok(r.sha256.clone());
        }
    }
    let mut file = fs::File::open(model).map_err(read_err)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    let sha256 = hex(&hash.finalize());
    if let Some(memo_path) = memo_path {
        memo.insert(
            name,
            Remembered {
                len: meta.len(),
                modified_ns,
                sha256: sha256.clone(),
            },
        );
        // Only saves time next run; a failure to remember is not worth stopping for.
        if let Err(e) = write_atomically(
            &memo_path,
            &serde_json::to_vec_pretty(&memo).unwrap_or_default(),
        ) {
            tracing::debug!(error = %e, "cannot remember the model fingerprint");
        }
    }
    Ok(sha256)
}

/// Default: `$ZHIJIAN_HOME/cache/transcripts` if `ZHIJIAN_HOME` is set, else
/// `$XDG_CACHE_HOME/zhijian/transcripts`, else `~/.cache/zhijian/transcripts`.
pub fn default_dir() -> PathBuf {
    default_dir_from(&|k| std::env::var_os(k))
}

fn default_dir_from(get: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Some(home) = env_path(get, HOME_ENV) {
        return home.join("cache/transcripts");
    }
    match env_path(get, "XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        Some(cache) => cache.join("zhijian/transcripts"),
        None => home_dir(get).join(".cache/zhijian/transcripts"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::{Party, Seconds};
    use crate::transcript::{Track, Utterance};

    fn transcript() -> CallTranscript {
        CallTranscript {
            call_id: "c1".into(),
            source: "/calls/c1.wav".into(),
            duration: Seconds(12.5),
            sample_rate: 8000,
            encoding: "G.711 μ-law".into(),
            tracks: vec![Track {
                party: Party::Agent,
                speech: vec![],
            }],
            utterances: vec![Utterance {
                party: Party::Agent,
                start: Seconds(0.5),
                end: Seconds(2.0),
                text: "您好".into(),
                normalized: "您好".into(),
                words: vec![],
            }],
            warnings: vec![],
            tones: Default::default(),
        }
    }

    fn key_with(
        edit: impl FnOnce(&mut DecodeOptions, &mut VoiceConfig, &mut ChannelMap),
    ) -> TranscriptKey {
        let (mut decode, mut voice, mut channels) = (
            DecodeOptions::default(),
            VoiceConfig::default(),
            ChannelMap::default(),
        );
        edit(&mut decode, &mut voice, &mut channels);
        TranscriptKey::new(&KeyInputs::new("aa", "mm", &decode, &voice, channels))
    }

    #[test]
    fn the_key_changes_with_what_the_text_depends_on_and_nothing_else() {
        let base = key_with(|_, _, _| {});
        assert_eq!(base, key_with(|_, _, _| {}), "deterministic");
        assert_eq!(base.as_str().len(), 64);
        assert_ne!(base, key_with(|d, _, _| d.strategy = Strategy::Greedy));
        assert_ne!(base, key_with(|d, _, _| d.shorten_audio_ctx = true));
        assert_ne!(base, key_with(|_, v, _| v.onset_db += 1.0));
        assert_ne!(base, key_with(|_, _, c| *c = ChannelMap::agent_on(1)));
        assert_eq!(
            base,
            key_with(|d, _, _| d.workers = 7),
            "worker count does not change the text"
        );
        let (d, v) = (DecodeOptions::default(), VoiceConfig::default());
        let other_audio =
            TranscriptKey::new(&KeyInputs::new("ab", "mm", &d, &v, ChannelMap::default()));
        let other_model =
            TranscriptKey::new(&KeyInputs::new("aa", "mn", &d, &v, ChannelMap::default()));
        assert_ne!(base, other_audio);
        assert_ne!(base, other_model);
        assert_eq!(TranscriptKey::from_hex(base.as_str()), Some(base));
        assert_eq!(TranscriptKey::from_hex("../../etc/passwd"), None);
    }

    #[test]
    fn a_kept_transcript_comes_back_and_a_corrupt_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TranscriptCache::open(&dir.path().join("t")).unwrap();
        let key = key_with(|_, _, _| {});
        assert_eq!(cache.get(&key), None);
        cache.put(&key, &transcript()).unwrap();
        assert_eq!(cache.get(&key), Some(transcript()));
        let path = cache.path_of(&key);
        let whole = fs::read(&path).unwrap();
        fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        assert_eq!(cache.get(&key), None, "a torn entry is a miss");
        let other = key_with(|d, _, _| d.strategy = Strategy::Greedy);
        fs::create_dir_all(cache.path_of(&other).parent().unwrap()).unwrap();
        fs::write(cache.path_of(&other), &whole).unwrap();
        assert_eq!(
            cache.get(&other),
            None,
            "an entry under the wrong name is a miss"
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary files left behind");
    }

    #[test]
    fn the_model_fingerprint_is_its_sha256_and_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.bin");
        fs::write(&model, b"not really a model").unwrap();
        let cache = TranscriptCache::open(&dir.path().join("c")).unwrap();
        let first = model_fingerprint(&model, Some(&cache)).unwrap();
        assert_eq!(first, sha256_hex(b"not really a model"));
        assert!(cache.dir().join("models.json").exists());
        assert_eq!(model_fingerprint(&model, Some(&cache)).unwrap(), first);
        fs::write(&model, b"another model, longer than the first").unwrap();
        assert_eq!(
            model_fingerprint(&model, Some(&cache)).unwrap(),
            sha256_hex(b"another model, longer than the first"),
            "a changed file is hashed again"
        );
        assert!(matches!(
            model_fingerprint(&dir.path().join("missing.bin"), None),
            Err(CacheError::Model { .. })
        ));
    }

    #[test]
    fn the_default_directory_follows_zhijian_home_then_xdg() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            default_dir_from(&env(&[("ZHIJIAN_HOME", "/zh"), ("HOME", "/h")])),
            PathBuf::from("/zh/cache/transcripts")
        );
        assert_eq!(
            default_dir_from(&env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            PathBuf::from("/x/zhijian/transcripts")
        );
        assert_eq!(
            default_dir_from(&env(&[("HOME", "/h")])),
            PathBuf::from("/h/.cache/zhijian/transcripts")
        );
    }
}
