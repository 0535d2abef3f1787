//! Reference transcripts of labelled calls (`<name>.truth.json`, written by the fixture
//! generator): what was said when, and the verdict each rule should give; and how well a
//! transcript matches one: character error rate per party.
//!
//! Used by the end-to-end tests and the benchmarks; both texts go through the same
//! [`TextAnalyzer::normalize`], so 二十四 and 24, or 請 and 请, are not counted as errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::party::{Party, Seconds};
use crate::rules::{RuleId, Verdict};
use crate::text::{cer, Cer, TextAnalyzer};
use crate::transcript::CallTranscript;

/// One line of the script as it was placed in the recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceTurn {
    pub party: Party,
    pub start: Seconds,
    pub end: Seconds,
    pub text: String,
}

/// What a labelled call really contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub call_id: String,
    pub duration: Seconds,
    pub layout: String,
    pub turns: Vec<ReferenceTurn>,
    /// The verdict the script intends for every rule (labelled calls).
    #[serde(default)]
    pub expect: BTreeMap<RuleId, Verdict>,
    /// What the call is and why it expects what it does.
    #[serde(default)]
    pub description: String,
    /// The hard cases the call covers (homophone, near_miss, tones_only…).
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("{path}: cannot read the reference transcript: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: bad reference transcript: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The reference next to a recording: same stem, `.truth.json`.
pub fn reference_path(wav: &Path) -> PathBuf {
    let stem = wav
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    wav.with_file_name(format!("{stem}.truth.json"))
}

impl Reference {
    pub fn load_for(wav: &Path) -> Result<Reference, ReferenceError> {
        let path = reference_path(wav);
        let text = std::fs::read_to_string(&path).map_err(|source| ReferenceError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| ReferenceError::Parse {
            path,
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// The reference text of `party` in time order; for [`Party::Mixed`], everyone's.
    pub fn text_of(&self, party: Party) -> String {
        let mut turns: Vec<&ReferenceTurn> = self
            .turns
            .iter()
            .filter(|t| party == Party::Mixed || t.party == party)
            .collect();
        turns.sort_by(|a, b| a.start.0.total_cmp(&b.start.0));
        turns.iter().map(|t| t.text.as_str()).collect()
    }
}

/// Character errors of `transcript` against `reference`, per party present in the transcript.
pub fn score(
    analyzer: &TextAnalyzer,
    reference: &Reference,
    transcript: &CallTranscript,
) -> Vec<(Party, Cer)> {
    transcript
        .tracks
        .iter()
        .map(|track| {
            let heard: String = transcript
                .utterances
                .iter()
                .filter(|u| u.party == track.party)
                .map(|u| u.text.as_str())
                .collect();
            (
                track.party,
                cer(analyzer, &reference.text_of(track.party), &heard),
            )
        })
        .collect()
}
