//! Utterances, a call's transcript, and its two renderings: JSON Lines and a readable
//! two-party text.
//!
//! An [`Utterance`] is one speech span of one party with what was heard in it; its times are the
//! span's (from speech detection), not Whisper's. A [`CallTranscript`] also keeps every party's
//! speech spans, which the timing rules use.

use std::io::{self, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::call::tones::ToneReport;
use crate::party::{Party, Seconds};
use crate::text::Word;
use crate::voice::SpeechSpan;

/// What one party said in one stretch of speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    pub party: Party,
    pub start: Seconds,
    pub end: Seconds,
    /// Simplified Chinese as heard (half-width punctuation); empty when speech was detected but
    /// nothing could be made of it.
    pub text: String,
    /// The text as rules match it: no punctuation, numerals as digits.
    pub normalized: String,
    pub words: Vec<Word>,
}

/// One party's channel: where it spoke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub party: Party,
    pub speech: Vec<SpeechSpan>,
}

/// Everything heard on one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallTranscript {
    pub call_id: String,
    pub source: PathBuf,
    pub duration: Seconds,
    pub sample_rate: u32,
    pub encoding: String,
    pub tracks: Vec<Track>,
    /// In time order (agent first on ties).
    pub utterances: Vec<Utterance>,
    /// Things a reviewer should know (a clip that failed to decode, and so on).
    pub warnings: Vec<String>,
    /// Ringback and busy tone heard in the customer channel (events inferred from the audio).
    #[serde(default)]
    pub tones: ToneReport,
}

/// One line of `zhijian transcribe --format json`.
#[derive(Serialize)]
struct UtteranceLine<'a> {
    call_id: &'a str,
    #[serde(flatten)]
    utterance: &'a Utterance,
}

impl CallTranscript {
    /// One JSON object per utterance, one per line.
    pub fn write_json_lines(&self, out: &mut dyn Write) -> io::Result<()> {
        for utterance in &self.utterances {
            serde_json::to_writer(
                &mut *out,
                &UtteranceLine {
                    call_id: &self.call_id,
                    utterance,
                },
            )?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// A transcript a person reads: a header, then one line per utterance.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let parties: Vec<&str> = self.tracks.iter().map(|t| t.party.label()).collect();
        writeln!(
            out,
            "── {} ── {} · {} Hz {} · {}",
            self.call_id,
            clock(self.duration),
            self.sample_rate,
            self.encoding,
            parties.join(" / ")
        )?;
        for u in &self.utterances {
            let text = if u.text.is_empty() {
                "（听不清）"
            } else {
                &u.text
            };
            writeln!(
                out,
                "[{} – {}] {}: {}",
                clock(u.start),
                clock(u.end),
                u.party.label(),
                text
            )?;
        }
        for w in &self.warnings {
            writeln!(out, "! {w}")?;
        }
        writeln!(out)
    }
}

/// `mm:ss.s`
fn clock(t: Seconds) -> String {
    let total = t.0.max(0.0);
    let minutes = (total / 60.0).floor();
    format!("{:02}:{:04.1}", minutes as u64, total - minutes * 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CallTranscript {
        CallTranscript {
            call_id: "c1".into(),
            source: "c1.wav".into(),
            duration: Seconds(65.25),
            sample_rate: 8000,
            encoding: "G.711 μ-law".into(),
            tracks: vec![
                Track {
                    party: Party::Agent,
                    speech: vec![SpeechSpan {
                        start: Seconds(0.5),
                        end: Seconds(2.0),
                    }],
                },
                Track {
                    party: Party::Customer,
                    speech: vec![],
                },
            ],
            utterances: vec![Utterance {
                party: Party::Agent,
                start: Seconds(0.5),
                end: Seconds(62.04),
                text: "您好,请问有什么可以帮您?".into(),
                normalized: "您好请问有什么可以帮您".into(),
                words: vec![Word {
                    text: "您好".into(),
                    start: 0,
                    end: 2,
                    pinyin: "nin hao".into(),
                }],
            }],
            warnings: vec![],
            tones: ToneReport::default(),
        }
    }

    #[test]
    fn json_lines_carry_the_call_id_and_round_trip() {
        let mut out = Vec::new();
        sample().write_json_lines(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["call_id"], "c1");
        assert_eq!(v["party"], "agent");
        assert_eq!(v["start"], 0.5);
        assert_eq!(v["words"][0]["pinyin"], "nin hao");
        let back: Utterance = serde_json::from_value(v).unwrap();
        assert_eq!(back, sample().utterances[0]);
    }

    #[test]
    fn the_text_form_shows_times_and_parties() {
        let mut out = Vec::new();
        sample().write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("── c1 ── 01:05.2 · 8000 Hz G.711 μ-law · 坐席 / 客户"),
            "{text}"
        );
        assert!(
            text.contains("[00:00.5 – 01:02.0] 坐席: 您好,请问有什么可以帮您?"),
            "{text}"
        );
    }
}
