//! Batches: many recorded calls scored with one loaded model, resumably; and re-scoring stored
//! calls under new rules.
//!
//! **In:** WAV paths ([`collect`] finds them in directories), the loaded [`Pipeline`] and
//! [`RuleSet`], an optional [`TranscriptCache`], and what the store already holds
//! ([`Batch::scored`]). **Out:** one [`Outcome`] per call — scored (with its scorecard and
//! everything the store keeps), skipped (already scored from the same inputs with the same
//! rules), or failed (with the reason) — handed to a sink on the calling thread, which writes
//! the store and the outputs. A bad file is an outcome like any other: the batch goes on.
//!
//! **Threads:** [`Batch::run`] starts `jobs` worker threads. Each takes the next call, reads,
//! resamples and cuts it, and decodes it on its own share of the [`Transcriber`]'s whisper
//! states ([`Transcriber::transcribe_on`]); with one state per job, one call's reading and speech
//! detection overlap another's decoding, and no state idles at the end of a call waiting for
//! another state's last clip. Finished calls reach the calling thread over a bounded channel
//! (back-pressure: workers wait while the sink is behind), so memory holds at most about two
//! calls per job, however long the batch.
//!
//! [`Transcriber`]: crate::transcribe::Transcriber
//! [`Transcriber::transcribe_on`]: crate::transcribe::Transcriber::transcribe_on

use std::collections::HashMap;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::cache::{sha256_hex, KeyInputs, TranscriptCache, TranscriptKey};
use crate::call::{sidecar_path, Sidecar};
use crate::model::hex;
use crate::pipeline::{CallOptions, Pipeline};
use crate::rules::{judge_call, RuleSet};
use crate::scorecard::Scorecard;
use crate::store::{CallMeta, RunId, ScoredWith, Store, StoreError, StoredCall};
use crate::transcript::CallTranscript;

/// A scored call, with everything the store keeps about it.
#[derive(Debug)]
pub struct ScoredCall {
    pub card: Scorecard,
    pub transcript: CallTranscript,
    pub meta: CallMeta,
    pub audio_sha256: String,
    pub transcript_key: TranscriptKey,
    /// What the card depends on besides the rules (see [`crate::store::NewCall::inputs_key`]).
    pub inputs_key: String,
    /// False when the transcript came from the cache.
    pub transcribed: bool,
    /// Problems with the call's metadata (it was still scored).
    pub warnings: Vec<String>,
}

/// What became of one call.
#[derive(Debug)]
pub enum Outcome {
    Scored(Box<ScoredCall>),
    /// Already scored from the same audio, model, settings, sidecar and rules.
    Skipped {
        call_id: String,
    },
    Failed {
        error: String,
    },
}

/// One call's outcome as the sink sees it.
#[derive(Debug)]
pub struct Done {
    /// The call's position in the input list.
    pub index: usize,
    pub path: PathBuf,
    /// The WAV file's size (0 if it could not be read), for progress.
    pub bytes: u64,
    /// Time spent on the call by its worker.
    pub elapsed: Duration,
    pub outcome: Outcome,
}

/// A batch of calls to score.
pub struct Batch<'a> {
    pub pipeline: Pipeline<'a>,
    pub rules: &'a RuleSet,
    pub call_options: CallOptions,
    pub cache: Option<&'a TranscriptCache>,
    /// SHA-256 of the model (part of every transcript's key).
    pub model_sha256: &'a str,
    /// Calls in flight at once; each decodes on `workers / jobs` whisper states.
    pub jobs: usize,
    /// What the store holds, by call id: those scored from the same inputs and rules are skipped.
    pub scored: HashMap<String, ScoredWith>,
    /// Score every call, even those the store already holds.
    pub force: bool,
}

impl Batch<'_> {
    /// Scores every call of `paths`, handing each outcome to `sink` on the calling thread as
    /// soon as it is known (in completion order; [`Done::index`] gives the input order). An
    /// error from the sink (the store cannot be written) stops the batch: calls in flight are
    /// finished and dropped, no new one starts, and the error is returned.
    pub fn run<E>(
        &self,
        paths: &[PathBuf],
        sink: &mut dyn FnMut(Done) -> Result<(), E>,
    ) -> Result<(), E> {
        let jobs = self.jobs.clamp(1, paths.len().max(1));
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let claimed: Mutex<HashMap<String, PathBuf>> = Mutex::new(HashMap::new());
        let (tx, rx) = mpsc::sync_channel::<Done>(jobs);
        let workers = self.pipeline.transcriber.workers();
        std::thread::scope(|scope| {
            for job in 0..jobs {
                let tx = tx.clone();
                let (next, stop, claimed) = (&next, &stop, &claimed);
                let states = job * workers / jobs
                    ..((job + 1) * workers / jobs).max(job * workers / jobs + 1);
                std::thread::Builder::new()
                    .name(format!("batch-{job}"))
                    .spawn_scoped(scope, move || {
                        while !stop.load(Ordering::Relaxed) {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            let Some(path) = paths.get(index) else { break };
                            let started = Instant::now();
                            let bytes = fs::metadata(path).map_or(0, |m| m.len());
                            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                                self.one(path, states.clone(), claimed)
                            }))
                            .unwrap_or_else(|panic| {
                                Outcome::Failed {
                                    error: format!(
                                        "{}: internal error: {}",
                                        path.display(),
                                        panic_message(&panic)
                                    ),
                                }
                            });
                            let done = Done {
                                index,
                                path: path.clone(),
                                bytes,
                                elapsed: started.elapsed(),
                                outcome,
                            };
                            if tx.send(done).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawn a batch worker");
            }
            drop(tx);
            let mut failure = None;
            for done in rx {
                if failure.is_some() {
                    continue;
                }
                if let Err(e) = sink(done) {
                    stop.store(true, Ordering::Relaxed);
                    failure = Some(e);
                }
            }
            failure.map_or(Ok(()), Err)
        })
    }

    /// Scores one call on the whisper states `states`.
    fn one(
        &self,
        path: &Path,
        states: std::ops::Range<usize>,
        claimed: &Mutex<HashMap<String, PathBuf>>,
    ) -> Outcome {
        let failed = |error: String| Outcome::Failed { error };
        let sidecar = match Sidecar::load_for(path) {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => return failed(e.to_string()),
        };
        let call_id = sidecar.call_id.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        {
            let mut claimed = claimed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(other) = claimed.get(&call_id) {
                return failed(format!(
                    "{}: call id {call_id:?} is also {}'s; give the calls distinct ids in their sidecars",
                    path.display(),
                    other.display()
                ));
            }
            claimed.insert(call_id.clone(), path.to_path_buf());
        }
        // A file that cannot be read gets the audio reader's error below, which says why.
        let audio_sha256 = fs::read(path).map(|b| sha256_hex(&b)).unwrap_or_default();
        let channels = self
            .call_options
            .channels
            .or(sidecar.channels)
            .unwrap_or_default();
        let decode = self.pipeline.transcriber.options();
        let transcript_key = TranscriptKey::new(&KeyInputs::new(
            &audio_sha256,
            self.model_sha256,
            decode,
            &self.call_options.voice,
            channels,
        ));
        let sidecar_bytes = fs::read(sidecar_path(path)).unwrap_or_default();
        let inputs_key = inputs_key(&call_id, &transcript_key, &sidecar_bytes);
        if !self.force && !audio_sha256.is_empty() {
            if let Some(stored) = self.scored.get(&call_id) {
                if stored.inputs_key == inputs_key
                    && stored.rules_fingerprint == self.rules.fingerprint()
                {
                    return Outcome::Skipped { call_id };
                }
            }
        }

        let cached = if audio_sha256.is_empty() {
            None
        } else {
            self.cache.and_then(|c| c.get(&transcript_key))
        };
        let transcribed = cached.is_none();
        let mut warnings = Vec::new();
        let transcript = match cached {
            Some(mut t) => {
                // The same audio may have been cached under another name.
                t.call_id = call_id;
                t.source = path.to_path_buf();
                t
            }
            None => {
                let prepared = match self.pipeline.prepare(path, &self.call_options) {
                    Ok(p) => p,
                    Err(e) => return failed(e.to_string()),
                };
                let decoded =
                    self.pipeline
                        .transcriber
                        .transcribe_on(states, &prepared.clips(), &|| {});
                let transcript = self.pipeline.assemble(prepared, decoded);
                if let Some(cache) = self.cache {
                    if let Err(e) = cache.put(&transcript_key, &transcript) {
                        warnings.push(e.to_string());
                    }
                }
                transcript
            }
        };
        let (meta, meta_warnings) = CallMeta::from_sidecar(path);
        warnings.extend(meta_warnings);
        let card = score(self.rules, &self.pipeline, &transcript, sidecar.events);
        Outcome::Scored(Box::new(ScoredCall {
            card,
            transcript,
            meta,
            audio_sha256,
            transcript_key,
            inputs_key,
            transcribed,
            warnings,
        }))
    }
}

fn score(
    rules: &RuleSet,
    pipeline: &Pipeline<'_>,
    transcript: &CallTranscript,
    events: Vec<crate::call::CallEvent>,
) -> Scorecard {
    let results = judge_call(rules, pipeline.text, transcript, &events);
    Scorecard::new(rules, transcript, events, results)
}

/// The key of everything a call's card depends on besides the rules: its id, its transcript
/// (audio, model, settings) and its sidecar (events, channels, metadata).
fn inputs_key(call_id: &str, transcript: &TranscriptKey, sidecar: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [call_id.as_bytes(), transcript.as_str().as_bytes(), sidecar] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hex(&hash.finalize())
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a worker panicked".into())
}

/// The WAV files among `inputs`: files as given (whatever their name), directories searched
/// for `*.wav` (any case) — their subdirectories too when `recursive` — in path order. Paths
/// that do not exist are kept, so the batch reports them like any other bad file.
pub fn collect(inputs: &[PathBuf], recursive: bool) -> Result<Vec<PathBuf>, CollectError> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, recursive, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
#[error("{}: cannot list the directory: {source}", path.display())]
pub struct CollectError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn walk(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), CollectError> {
    let entries = fs::read_dir(dir).map_err(|source| CollectError {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| CollectError {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| CollectError {
            path: path.clone(),
            source,
        })?;
        // Symbolic links are followed for files, not for directories (no cycles).
        if kind.is_dir() {
            if recursive {
                walk(&path, recursive, out)?;
            }
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// What `rescore` did with one stored call.
#[derive(Debug)]
pub enum Rescored {
    /// Scored again; `before` was its score under the rules it had.
    Scored {
        before: u32,
        card: Box<Scorecard>,
    },
    /// Already scored with these rules.
    Skipped,
    Failed {
        error: String,
    },
}

/// Re-applies `rules` to stored calls from their stored transcripts (nothing is transcribed),
/// one transaction per call. Calls already scored with these rules are skipped unless `force`.
/// `on_call` sees each call's outcome. A store error stops the run and is returned.
pub fn rescore(
    store: &mut Store,
    run: RunId,
    rules: &RuleSet,
    pipeline_text: &crate::text::TextAnalyzer,
    calls: &[StoredCall],
    force: bool,
    on_call: &mut dyn FnMut(&StoredCall, Rescored),
) -> Result<(), StoreError> {
    for call in calls {
        if !force && call.rules_fingerprint == rules.fingerprint() {
            on_call(call, Rescored::Skipped);
            continue;
        }
        let (transcript, events) = match store.transcript(call.row) {
            Ok(t) => t,
            Err(e @ StoreError::Corrupt { .. }) => {
                on_call(
                    call,
                    Rescored::Failed {
                        error: e.to_string(),
                    },
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        let results = judge_call(rules, pipeline_text, &transcript, &events);
        let card = Scorecard::new(rules, &transcript, events, results);
        store.replace_scoring(run, call.row, &card, rules)?;
        on_call(
            call,
            Rescored::Scored {
                before: call.score,
                card: Box::new(card),
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_give_their_wav_files_in_order_and_files_are_kept_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("2024/05")).unwrap();
        for name in [
            "b.wav",
            "a.WAV",
            "a.events.json",
            "notes.txt",
            "2024/05/c.wav",
        ] {
            fs::write(root.join(name), b"").unwrap();
        }
        let flat = collect(&[root.to_path_buf()], false).unwrap();
        assert_eq!(flat, vec![root.join("a.WAV"), root.join("b.wav")]);
        let deep = collect(&[root.to_path_buf()], true).unwrap();
        assert_eq!(
            deep,
            vec![
                root.join("2024/05/c.wav"),
                root.join("a.WAV"),
                root.join("b.wav")
            ]
        );
        let given = collect(&[root.join("notes.txt"), root.join("missing.wav")], false).unwrap();
        assert_eq!(
            given,
            vec![root.join("notes.txt"), root.join("missing.wav")]
        );
    }

    #[test]
    fn the_inputs_key_changes_with_the_call_id_transcript_and_sidecar() {
        let t1 = TranscriptKey::from_hex(&"a".repeat(64)).unwrap();
        let t2 = TranscriptKey::from_hex(&"b".repeat(64)).unwrap();
        let base = inputs_key("c1", &t1, b"{}");
        assert_eq!(base, inputs_key("c1", &t1, b"{}"));
        assert_ne!(base, inputs_key("c2", &t1, b"{}"));
        assert_ne!(base, inputs_key("c1", &t2, b"{}"));
        assert_ne!(base, inputs_key("c1", &t1, b"{\"events\":[]}"));
    }
}
