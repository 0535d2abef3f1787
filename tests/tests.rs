//! Integration tests: the real `zhijian` binary on real recordings.
//!
//! The end-to-end tests load the real Whisper model (install it with `.ci/setup` or
//! `zhijian model install`); without it they fail and say so, rather than pass unseen.
//!
//! - `batch`: directories of calls into the store; SIGKILL mid-batch and resume; rescore and
//!   reports.
//! - `cli_errors`: unreadable inputs are named, the others still processed.
//! - `live_capture`: a call played into a PulseAudio server the test starts, captured through
//!   cpal, nudged and scored, with a device lost and restored mid-call.
//! - `live_replay`: `zhijian live --replay` against `zhijian score` on every fixture call; the
//!   web page, its server-sent nudges and the event endpoint.
//! - `score_fixtures`: scorecards of the fixture calls against the verdicts their scripts
//!   intend; event sources; malformed inputs.
//! - `transcribe_fixtures`: transcripts of the fixture calls (accuracy, parties, timing).
//! - `voice_fixtures`: speech detection on the fixture calls.

mod util;

mod batch;
mod cli_errors;
mod live_capture;
mod live_replay;
mod score_fixtures;
mod transcribe_fixtures;
mod voice_fixtures;
