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
//! **Threads:** [`Batch::run`] starts one decoder thread per whisper state of the
//! [`Transcriber`] and `jobs` call threads. A call thread takes the next call, reads, resamples
//! and cuts it, queues its clips, waits for them, and scores the call. Decoders take clips from
//! that one queue in the order they were queued, whichever call they belong to: while one call's
//! last clips decode, the next call's first ones keep the other states busy, and its reading and
//! speech detection happened while the previous call was decoding. Finished calls reach the
//! calling thread over a bounded channel (back-pressure: call threads wait while the sink is
//! behind), so memory holds about `jobs` calls' audio, however long the batch.
//!
//! [`Transcriber`]: crate::transcribe::Transcriber

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::cache::{sha256_hex, KeyInputs, TranscriptCache, TranscriptKey};
use crate::call::asterisk::QueueLog;
use crate::call::{sidecar_path, telephony_record, CallEvent, CallEvents, Sidecar};
use crate::model::hex;
use crate::pipeline::{CallOptions, Pipeline};
use crate::resample::WHISPER_RATE;
use crate::rules::{judge_call, RuleSet};
use crate::scorecard::Scorecard;
use crate::store::{CallMeta, RunId, ScoredWith, Store, StoreError, StoredCall};
use crate::transcribe::{Decoded, TranscribeError, Transcriber};
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
    /// Calls in flight at once (read, decoding or being scored); their clips share the
    /// transcriber's workers.
    pub jobs: usize,
    /// What the store holds, by call id: those scored from the same inputs and rules are skipped.
    pub scored: HashMap<String, ScoredWith>,
    /// Score every call, even those the store already holds.
    pub force: bool,
    /// An Asterisk queue_log with the calls' events (a CDR beside a recording wins).
    pub queue_log: Option<&'a QueueLog>,
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
    ) -> Result<DecoderTime, E> {
        let jobs = self.jobs.clamp(1, paths.len().max(1));
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let claimed: Mutex<HashMap<String, PathBuf>> = Mutex::new(HashMap::new());
        let queue = ClipQueue::default();
        let (tx, rx) = mpsc::sync_channel::<Done>(jobs);
        let transcriber = self.pipeline.transcriber;
        std::thread::scope(|scope| {
            let decoders: Vec<_> = (0..transcriber.workers())
                .map(|worker| {
                    let queue = &queue;
                    std::thread::Builder::new()
                        .name(format!("decode-{worker}"))
                        .spawn_scoped(scope, move || queue.serve(transcriber, worker))
                        .expect("spawn a decoder")
                })
                .collect();
            // The decoders stop once the queue is closed: when the call threads are done, or
            // when this thread unwinds.
            let close = CloseOnDrop(&queue);
            for job in 0..jobs {
                let tx = tx.clone();
                let (next, stop, claimed, queue) = (&next, &stop, &claimed, &queue);
                std::thread::Builder::new()
                    .name(format!("call-{job}"))
                    .spawn_scoped(scope, move || {
                        while !stop.load(Ordering::Relaxed) {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            let Some(path) = paths.get(index) else { break };
                            if tx.send(self.done(index, path, queue, claimed)).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawn a call thread");
            }
            drop(tx);
            let mut failure = None;
            // Ends when every call thread has ended (and dropped its sender).
            for done in rx {
                if failure.is_some() {
                    continue;
                }
                if let Err(e) = sink(done) {
                    stop.store(true, Ordering::Relaxed);
                    failure = Some(e);
                }
            }
            drop(close);
            let time = decoders.into_iter().filter_map(|d| d.join().ok()).fold(
                DecoderTime::default(),
                |a, b| DecoderTime {
                    busy: a.busy + b.busy,
                    idle: a.idle + b.idle,
                },
            );
            failure.map_or(Ok(time), Err)
        })
    }

    /// One call, timed, with a panic turned into a failure of that call alone.
    fn done(
        &self,
        index: usize,
        path: &Path,
        queue: &ClipQueue,
        claimed: &Mutex<HashMap<String, PathBuf>>,
    ) -> Done {
        let started = Instant::now();
        let bytes = fs::metadata(path).map_or(0, |m| m.len());
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| self.one(path, queue, claimed)))
            .unwrap_or_else(|panic| Outcome::Failed {
                error: format!(
                    "{}: internal error: {}",
                    path.display(),
                    panic_message(&panic)
                ),
            });
        Done {
            index,
            path: path.to_path_buf(),
            bytes,
            elapsed: started.elapsed(),
            outcome,
        }
    }

    /// Scores one call, its clips decoded through `queue`.
    fn one(
        &self,
        path: &Path,
        queue: &ClipQueue,
        claimed: &Mutex<HashMap<String, PathBuf>>,
    ) -> Outcome {
        let failed = |error: String| Outcome::Failed { error };
        let sidecar = match Sidecar::load_for(path) {
            Ok(s) => s,
            Err(e) => return failed(e.to_string()),
        };
        let record = match telephony_record(
            path,
            sidecar.as_ref().and_then(|s| s.call_id.as_deref()),
            self.queue_log,
        ) {
            Ok(r) => r,
            Err(e) => return failed(e.to_string()),
        };
        let call_id = sidecar
            .as_ref()
            .and_then(|s| s.call_id.clone())
            .unwrap_or_else(|| {
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
            .or(sidecar.as_ref().and_then(|s| s.channels))
            .unwrap_or_default();
        let decode = self.pipeline.transcriber.options();
        let transcript_key = TranscriptKey::new(&KeyInputs::new(
            &audio_sha256,
            self.model_sha256,
            decode,
            &self.call_options.voice,
            channels,
        ));
        // What the events come from besides the audio: the sidecar as written, and the telephony
        // record (a CDR beside the recording, or the call's lines in the queue_log) as read.
        let sidecar_bytes = fs::read(sidecar_path(path)).unwrap_or_default();
        let record_text = record
            .as_ref()
            .map(|r| format!("{r:?}"))
            .unwrap_or_default();
        let inputs_key = inputs_key(
            &call_id,
            &transcript_key,
            &[&sidecar_bytes, record_text.as_bytes()],
        );
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
                let mut prepared = match self.pipeline.prepare(path, &self.call_options) {
                    Ok(p) => p,
                    Err(e) => return failed(e.to_string()),
                };
                let decoded = queue.decode(prepared.take_clips());
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
        let events: Vec<CallEvent> =
            CallEvents::assemble(sidecar.as_ref(), record.as_ref(), Some(&transcript.tones))
                .events()
                .cloned()
                .collect();
        let card = score(self.rules, &self.pipeline, &transcript, events);
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

/// How the decoders (one per whisper state) spent a batch, summed over them: decoding, or
/// waiting for a clip. Waiting is what a better overlap of reading and decoding removes; unlike
/// the wall clock, it does not depend on what else the machine runs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecoderTime {
    pub busy: Duration,
    pub idle: Duration,
}

impl DecoderTime {
    /// The share of the decoders' time spent decoding (0 when they never ran).
    pub fn busy_share(&self) -> f64 {
        let total = (self.busy + self.idle).as_secs_f64();
        if total > 0.0 {
            self.busy.as_secs_f64() / total
        } else {
            0.0
        }
    }
}

/// The clips of one call, shared by the decoders that take them.
struct CallClips {
    samples: Vec<Vec<f32>>,
    results: Mutex<Results>,
    finished: Condvar,
}

struct Results {
    slots: Vec<Option<Result<Decoded, TranscribeError>>>,
    left: usize,
}

/// Clips waiting for a decoder, in the order they were queued (see the module doc).
#[derive(Default)]
struct ClipQueue {
    waiting: Mutex<Waiting>,
    ready: Condvar,
}

#[derive(Default)]
struct Waiting {
    clips: VecDeque<(Arc<CallClips>, usize)>,
    closed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here panics while holding these locks; a poisoned one still holds whole data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ClipQueue {
    /// Queues a call's clips and blocks until all are decoded; results in the clips' order.
    fn decode(&self, samples: Vec<Vec<f32>>) -> Vec<Result<Decoded, TranscribeError>> {
        let n = samples.len();
        let call = Arc::new(CallClips {
            samples,
            results: Mutex::new(Results {
                slots: (0..n).map(|_| None).collect(),
                left: n,
            }),
            finished: Condvar::new(),
        });
        lock(&self.waiting)
            .clips
            .extend((0..n).map(|i| (Arc::clone(&call), i)));
        self.ready.notify_all();
        let mut results = lock(&call.results);
        while results.left > 0 {
            results = call
                .finished
                .wait(results)
                .unwrap_or_else(|p| p.into_inner());
        }
        std::mem::take(&mut results.slots)
            .into_iter()
            .map(|slot| {
                slot.unwrap_or(Err(TranscribeError::Decode {
                    seconds: 0.0,
                    reason: "not decoded".into(),
                }))
            })
            .collect()
    }

    /// A decoder: takes clips with worker `worker`'s state until the queue is closed and empty.
    fn serve(&self, transcriber: &Transcriber, worker: usize) -> DecoderTime {
        let mut time = DecoderTime::default();
        loop {
            let waiting_since = Instant::now();
            let (call, i) = {
                let mut waiting = lock(&self.waiting);
                loop {
                    if let Some(task) = waiting.clips.pop_front() {
                        break task;
                    }
                    if waiting.closed {
                        time.idle += waiting_since.elapsed();
                        return time;
                    }
                    waiting = self.ready.wait(waiting).unwrap_or_else(|p| p.into_inner());
                }
            };
            let decoding_since = Instant::now();
            time.idle += decoding_since - waiting_since;
            let seconds = call.samples[i].len() as f64 / f64::from(WHISPER_RATE);
            // A panic inside whisper.cpp's bindings must not leave the call waiting forever.
            let result = panic::catch_unwind(AssertUnwindSafe(|| {
                transcriber.decode_on(worker, &call.samples[i])
            }))
            .unwrap_or_else(|panic| {
                Err(TranscribeError::Decode {
                    seconds,
                    reason: panic_message(&panic),
                })
            });
            time.busy += decoding_since.elapsed();
            let mut results = lock(&call.results);
            results.slots[i] = Some(result);
            results.left -= 1;
            if results.left == 0 {
                call.finished.notify_all();
            }
        }
    }
}

struct CloseOnDrop<'a>(&'a ClipQueue);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        lock(&self.0.waiting).closed = true;
        self.0.ready.notify_all();
    }
}

fn score(
    rules: &RuleSet,
    pipeline: &Pipeline<'_>,
    transcript: &CallTranscript,
    events: Vec<CallEvent>,
) -> Scorecard {
    let results = judge_call(rules, pipeline.text, transcript, &events);
    Scorecard::new(rules, transcript, events, results)
}

/// The key of everything a call's card depends on besides the rules: its id, its transcript
/// (audio, model, settings) and its event sources (the sidecar: events, channels, metadata; the
/// telephony record).
fn inputs_key(call_id: &str, transcript: &TranscriptKey, sources: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    let head = [call_id.as_bytes(), transcript.as_str().as_bytes()];
    for part in head.iter().chain(sources) {
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
        let base = inputs_key("c1", &t1, &[b"{}", b""]);
        assert_eq!(base, inputs_key("c1", &t1, &[b"{}", b""]));
        assert_ne!(base, inputs_key("c2", &t1, &[b"{}", b""]));
        assert_ne!(base, inputs_key("c1", &t2, &[b"{}", b""]));
        assert_ne!(base, inputs_key("c1", &t1, &[b"{\"events\":[]}", b""]));
        // The telephony record counts, and is not confused with the sidecar.
        assert_ne!(base, inputs_key("c1", &t1, &[b"{}", b"record"]));
        assert_ne!(
            inputs_key("c1", &t1, &[b"{}record", b""]),
            inputs_key("c1", &t1, &[b"{}", b"record"])
        );
    }
}
