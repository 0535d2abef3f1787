//! Whisper transcription of speech clips (whisper-rs over whisper.cpp), on worker threads.
//!
//! In: 16 kHz clips of one party's speech, each at most 30 s (speech detection cut them). Out:
//! one [`Decoded`] text per clip, simplified Chinese, with caption credits and token loops
//! removed (see [`guard`]). One [`Transcriber`] loads the model once and holds one whisper state
//! per worker thread; [`Transcriber::transcribe`] spreads the clips of a call over those workers
//! and blocks until all are done, and [`Transcriber::decode_on`] decodes one clip on one worker's
//! state (the live monitor's decoding threads each own one). It never runs on an async
//! runtime's threads: callers that have one use `spawn_blocking` or a dedicated thread.

pub mod guard;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use serde::{Deserialize, Serialize};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use crate::resample::WHISPER_RATE;
use crate::text::to_simplified;

/// Bumped when decoding changes the text that comes out of the same clip with the same options
/// (cached transcripts made before are then misses).
pub const DECODER_REVISION: u32 = 2;

/// The prompt that keeps Whisper's Chinese simplified and punctuated (ASR_NOTES: without it
/// about 27% of characters come out traditional).
pub const DEFAULT_PROMPT: &str = "以下是普通话的句子。";

/// Longest clip one decode accepts: Whisper's window.
pub const MAX_CLIP_SECONDS: f64 = 30.0;

/// How to search for the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Greedy,
    Beam { size: u8 },
}

/// Decoding settings. They are part of what a transcript depends on (a cache keys on them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodeOptions {
    pub strategy: Strategy,
    /// Worker threads, each with its own whisper state.
    pub workers: usize,
    /// Threads whisper.cpp uses inside each worker.
    pub threads_per_worker: usize,
    /// Shrink the encoder's audio context to the clip's length (faster on short clips, a little
    /// less accurate).
    pub shorten_audio_ctx: bool,
    pub prompt: String,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        DecodeOptions {
            strategy: Strategy::Beam { size: 5 },
            workers: cores.clamp(1, 4),
            threads_per_worker: 1,
            shorten_audio_ctx: false,
            prompt: DEFAULT_PROMPT.to_string(),
        }
    }
}

/// One clip's decoded text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// Simplified Chinese as heard, guards applied.
    pub text: String,
    /// Segments the guards threw away (caption credits, loops), for logs and debugging.
    pub dropped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    /// Set-up: the model cannot be used. Retrying does not help.
    #[error(
        "cannot load the Whisper model {path}: {reason}; install it with `zhijian model install`"
    )]
    Load { path: PathBuf, reason: String },
    /// Set-up: whisper.cpp could not allocate a state (memory).
    #[error("cannot create a Whisper state: {0}")]
    State(String),
    /// Run-time: one clip failed; the others are unaffected.
    #[error("decoding a {seconds:.1} s clip failed: {reason}")]
    Decode { seconds: f64, reason: String },
    #[error("a {seconds:.1} s clip is longer than Whisper's {MAX_CLIP_SECONDS} s window")]
    TooLong { seconds: f64 },
}

/// The loaded model and one whisper state per worker.
pub struct Transcriber {
    // The states point into it; beam search makes a fresh state per clip from it.
    context: WhisperContext,
    /// One per worker; `None` between a beam-search clip and the next (see [`Self::decode`]).
    states: Vec<Mutex<Option<WhisperState>>>,
    options: DecodeOptions,
}

static LOG_HOOKS: Once = Once::new();

impl Transcriber {
    /// Loads the model (once) and makes a state per worker.
    pub fn load(model: &Path, options: DecodeOptions) -> Result<Self, TranscribeError> {
        // whisper.cpp's own logging goes to `tracing` (target whisper_rs), not to stderr.
        LOG_HOOKS.call_once(whisper_rs::install_logging_hooks);
        let path = model.to_string_lossy().into_owned();
        let context = WhisperContext::new_with_params(&path, WhisperContextParameters::default())
            .map_err(|e| TranscribeError::Load {
            path: model.to_path_buf(),
            reason: e.to_string(),
        })?;
        let workers = options.workers.max(1);
        let states = (0..workers)
            .map(|_| context.create_state().map(|s| Mutex::new(Some(s))))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TranscribeError::State(e.to_string()))?;
        Ok(Transcriber {
            context,
            states,
            options,
        })
    }

    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    /// How many workers (whisper states) it has.
    pub fn workers(&self) -> usize {
        self.states.len()
    }

    /// Decodes one clip on the calling thread with worker `worker`'s whisper state (indices wrap
    /// around), waiting while another caller uses that state; threads on different workers decode in
    /// parallel. A batch runs one thread per worker over a queue of clips from several calls with
    /// this, the live monitor one per worker over utterances as they end.
    pub fn decode_on(&self, worker: usize, clip: &[f32]) -> Result<Decoded, TranscribeError> {
        let state = &self.states[worker % self.states.len()];
        // See `transcribe` on poisoned states.
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        self.decode(&mut state, clip)
    }

    /// Decodes every clip; results come back in the clips' order. `on_done` is called (from a
    /// worker thread) after each clip, for progress.
    pub fn transcribe(
        &self,
        clips: &[&[f32]],
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<Result<Decoded, TranscribeError>> {
        let next = AtomicUsize::new(0);
        let results: Vec<Mutex<Option<Result<Decoded, TranscribeError>>>> =
            clips.iter().map(|_| Mutex::new(None)).collect();
        let workers = self.states.len().min(clips.len()).max(1);
        std::thread::scope(|scope| {
            for state in self.states.iter().take(workers) {
                let (next, results) = (&next, &results);
                scope.spawn(move || {
                    // A poisoned state means a decode panicked inside whisper.cpp; its state is
                    // still a valid allocation, and each decode resets it.
                    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(clip) = clips.get(i) else { break };
                        let result = self.decode(&mut state, clip);
                        *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                        on_done();
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|p| p.into_inner())
                    .unwrap_or(Err(TranscribeError::Decode {
                        seconds: 0.0,
                        reason: "worker stopped".into(),
                    }))
            })
            .collect()
    }

    fn decode(
        &self,
        slot: &mut Option<WhisperState>,
        clip: &[f32],
    ) -> Result<Decoded, TranscribeError> {
        let seconds = clip.len() as f64 / f64::from(WHISPER_RATE);
        if seconds > MAX_CLIP_SECONDS {
            return Err(TranscribeError::TooLong { seconds });
        }
        let strategy = match self.options.strategy {
            Strategy::Greedy => SamplingStrategy::Greedy { best_of: 1 },
            Strategy::Beam { size } => {
                // whisper.cpp (1.8) draws each beam's candidate tokens from the distribution
                // with the first decoder's random generator, which is seeded when the state is
                // made and never again: on a used state, a clip's text depends on every clip that
                // state decoded before (so a batch changed with thread scheduling, and a live
                // call could not match its recording). A fresh state per clip makes the text a
                // function of the clip alone. It is not free: making a state and warming it up
                // about doubles beam search's decoding time on 2 cores (`cargo bench --bench
                // asr`); greedy decoding needs none of it. The used state goes first, so memory
                // holds one state per worker.
                *slot = None;
                SamplingStrategy::BeamSearch {
                    beam_size: i32::from(size),
                    patience: -1.0,
                }
            }
        };
        if slot.is_none() {
            *slot = Some(
                self.context
                    .create_state()
                    .map_err(|e| TranscribeError::Decode {
                        seconds,
                        reason: format!("cannot create a Whisper state: {e}"),
                    })?,
            );
        }
        let Some(state) = slot.as_mut() else {
            unreachable!("a state was made above")
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(self.options.threads_per_worker.max(1) as i32);
        params.set_language(Some("zh"));
        params.set_translate(false);
        // Each clip is decoded on its own: no text carried over from the previous clip, which
        // keeps one clip's errors from spreading and makes the result independent of order.
        params.set_no_context(true);
        params.set_initial_prompt(&self.options.prompt);
        // No temperature fallback: it samples with the same once-seeded generators (see the beam
        // search above), so a clip's text depended on which clips its worker's state had decoded
        // before. The fixtures' CER is unchanged without it (beam 5: 0.0996 with, 0.0985
        // without).
        params.set_temperature(0.0);
        params.set_temperature_inc(0.0);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        if self.options.shorten_audio_ctx {
            params.set_audio_ctx(audio_ctx_for(seconds));
        }
        // whisper.cpp refuses input under 1 s ("input is too short"); pad short clips with
        // silence, which also gives the decoder room to finish the last syllable.
        let padded;
        let input = if clip.len() < WHISPER_RATE as usize + WHISPER_RATE as usize / 10 {
            let mut p = clip.to_vec();
            p.resize(WHISPER_RATE as usize + WHISPER_RATE as usize / 10, 0.0);
            padded = p;
            &padded[..]
        } else {
            clip
        };
        state
            .full(params, input)
            .map_err(|e| TranscribeError::Decode {
                seconds,
                reason: e.to_string(),
            })?;
        let mut segments = Vec::new();
        for segment in state.as_iter() {
            let bytes = segment.to_bytes().map_err(|e| TranscribeError::Decode {
                seconds,
                reason: e.to_string(),
            })?;
            segments.push(bytes.to_vec());
        }
        let texts = guard::join_segments(segments)
            .into_iter()
            .map(|s| to_simplified(&s))
            .collect();
        let cleaned = guard::clean(texts);
        if !cleaned.dropped.is_empty() {
            tracing::debug!(dropped = ?cleaned.dropped, "guards dropped hallucinated segments");
        }
        Ok(Decoded {
            text: cleaned.text,
            dropped: cleaned.dropped,
        })
    }
}

/// Encoder frames (50 per second) for a clip, with a margin and a floor: Whisper was trained on
/// 30 s windows, and very short contexts cost more accuracy than they save time.
fn audio_ctx_for(seconds: f64) -> i32 {
    let frames = ((seconds + 1.0) * 50.0).ceil() as i32;
    let rounded = (frames + 63) / 64 * 64;
    rounded.clamp(384, 1500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_covers_the_clip_and_stays_in_whisper_range() {
        assert_eq!(audio_ctx_for(0.5), 384);
        assert!(audio_ctx_for(10.0) >= 550);
        assert_eq!(audio_ctx_for(10.0) % 64, 0);
        assert_eq!(audio_ctx_for(29.5), 1500);
    }
}
