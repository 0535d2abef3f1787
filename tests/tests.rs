//! Integration tests: the real `zhijian` binary on real recordings.
//!
//! The end-to-end tests load the real Whisper model (install it with `.ci/setup` or
//! `zhijian model install`); without it they fail and say so, rather than pass unseen.

mod util;

mod batch;
mod cli_errors;
mod score_fixtures;
mod transcribe_fixtures;
mod voice_fixtures;
