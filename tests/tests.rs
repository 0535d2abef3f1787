//! Integration tests: the real `zhijian` binary on real recordings.
//!
//! The end-to-end tests load the real Whisper model (install it with `.ci/setup` or
//! `zhijian model install`); without it they fail and say so, rather than pass unseen.
//!
//! - `cli_errors`: unreadable inputs are named, the others still processed.
//! - `live_capture`: a call played into a PulseAudio server the test starts, captured through
//!   cpal, nudged and scored, with a device lost and restored mid-call.
//! - `live_replay`: `zhijian live --replay` against `zhijian score` on every fixture call; the
//!   web page, its server-sent nudges and the event endpoint.
//! - `transcribe_fixtures`: transcripts of the fixture calls (accuracy, parties, timing).
//! - `voice_fixtures`: speech detection on the fixture calls.

mod util;

mod cli_errors;
mod live_capture;
mod live_replay;
mod transcribe_fixtures;
mod voice_fixtures;
