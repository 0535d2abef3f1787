//! One recorded call through every stage: WAV → parties → 16 kHz → speech spans → clips →
//! Whisper → text → a [`CallTranscript`].
//!
//! Runs on the calling thread except for decoding, which [`Transcriber`] spreads over its
//! workers. [`Pipeline::transcribe_call`] is [`Pipeline::prepare`] (read, resample, cut into
//! clips), decoding, then [`Pipeline::assemble`]; a batch calls the steps itself to decode each
//! call on its own worker. The clips of both parties go to the workers together, so a stereo call keeps every
//! core busy. A clip that fails to decode does not lose the call: its utterance keeps its times,
//! with empty text, and the transcript carries a warning.

use std::path::{Path, PathBuf};

use crate::audio::{read_wav, AudioError, ChannelMap, ChannelMapError};
use crate::call::tones::{self, ToneReport};
use crate::call::{Sidecar, SidecarError};
use crate::party::{Party, Seconds};
use crate::resample::{ResampleError, Resampler, WHISPER_RATE};
use crate::text::TextAnalyzer;
use crate::transcribe::{Decoded, TranscribeError, Transcriber};
use crate::transcript::{CallTranscript, Track, Utterance};
use crate::voice::{self, SpeechSpan, VoiceConfig};

/// Longest piece of speech sent to Whisper in one decode (its window is 30 s; the rest is
/// padding room).
pub const MAX_CHUNK_SECONDS: f64 = 28.0;
/// Audio kept on each side of a span when decoding it, so first and last syllables are whole.
const CLIP_PADDING: f64 = 0.2;

/// Per-call settings.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Overrides the sidecar's channel map.
    pub channels: Option<ChannelMap>,
    pub voice: VoiceConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Sidecar(#[from] SidecarError),
    #[error("{path}: {source}")]
    Channels {
        path: PathBuf,
        source: ChannelMapError,
    },
    #[error("{path}: {source}")]
    Resample {
        path: PathBuf,
        source: ResampleError,
    },
}

/// The loaded, shareable parts of the pipeline.
pub struct Pipeline<'a> {
    pub transcriber: &'a Transcriber,
    pub text: &'a TextAnalyzer,
}

/// A piece of one party's speech, ready to decode.
struct Clip {
    party: Party,
    span: SpeechSpan,
    samples: Vec<f32>,
}

/// A call read, resampled and cut into clips, waiting for Whisper: the first half of
/// [`Pipeline::transcribe_call`]. A batch prepares the next call while the current one decodes.
pub struct PreparedCall {
    path: PathBuf,
    call_id: String,
    duration: Seconds,
    sample_rate: u32,
    encoding: String,
    tracks: Vec<Track>,
    clips: Vec<Clip>,
    /// Ringback and busy tone found in the customer channel.
    tones: ToneReport,
}

impl PreparedCall {
    /// The clips to decode, in the order [`Pipeline::assemble`] expects their results.
    pub fn clips(&self) -> Vec<&[f32]> {
        self.clips.iter().map(|c| c.samples.as_slice()).collect()
    }

    /// Moves the clips' samples out, in [`PreparedCall::clips`] order, for decoders elsewhere
    /// ([`Pipeline::assemble`] needs only the rest).
    pub fn take_clips(&mut self) -> Vec<Vec<f32>> {
        self.clips
            .iter_mut()
            .map(|c| std::mem::take(&mut c.samples))
            .collect()
    }

    /// The recording's length.
    pub fn duration(&self) -> Seconds {
        self.duration
    }
}

impl Pipeline<'_> {
    /// Transcribes one call. `on_clip(done, total)` reports decoding progress.
    pub fn transcribe_call(
        &self,
        path: &Path,
        options: &CallOptions,
        on_clip: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<CallTranscript, PipelineError> {
        let prepared = self.prepare(path, options)?;
        let total = prepared.clips.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let tick = || {
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            on_clip(n, total);
        };
        let decoded = self.transcriber.transcribe(&prepared.clips(), &tick);
        Ok(self.assemble(prepared, decoded))
    }

    /// Reads, resamples and cuts one call into clips (everything but decoding), on the calling
    /// thread.
    pub fn prepare(
        &self,
        path: &Path,
        options: &CallOptions,
    ) -> Result<PreparedCall, PipelineError> {
        let sidecar = Sidecar::load_for(path)?.unwrap_or_default();
        let map = options.channels.or(sidecar.channels).unwrap_or_default();
        let recording = read_wav(path)?;
        let (rate, encoding, duration) = (
            recording.sample_rate,
            recording.encoding,
            recording.duration(),
        );
        let parties = recording
            .into_parties(map)
            .map_err(|source| PipelineError::Channels {
                path: path.to_path_buf(),
                source,
            })?;

        let mut resampler = Resampler::new(rate).map_err(|source| PipelineError::Resample {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tracks = Vec::new();
        let mut clips = Vec::new();
        let mut customer_audio = None;
        for party_audio in parties {
            let wide = resampler.process(&party_audio.samples).map_err(|source| {
                PipelineError::Resample {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            // Ringback and busy tone are looked for in the customer channel as recorded.
            if party_audio.party == Party::Customer {
                customer_audio = Some(party_audio.samples);
            } else {
                drop(party_audio.samples);
            }
            let (spans, energies) = voice::detect(&wide, &options.voice);
            tracing::debug!(party = %party_audio.party, spans = spans.len(), "speech detected");
            for span in voice::split_long(&spans, &energies, MAX_CHUNK_SECONDS) {
                let from = Seconds(span.start.0 - CLIP_PADDING).to_samples(WHISPER_RATE);
                let to = Seconds(span.end.0 + CLIP_PADDING)
                    .to_samples(WHISPER_RATE)
                    .min(wide.len());
                clips.push(Clip {
                    party: party_audio.party,
                    span,
                    samples: wide[from.min(to)..to].to_vec(),
                });
            }
            tracks.push(Track {
                party: party_audio.party,
                speech: spans,
            });
        }

        let agent_first_speech = tracks
            .iter()
            .filter(|t| t.party == Party::Agent)
            .flat_map(|t| t.speech.first())
            .map(|s| s.start)
            .next();
        let tones = customer_audio
            .map(|samples| tones::infer_events(&samples, rate, agent_first_speech))
            .unwrap_or_default();

        let call_id = sidecar.call_id.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        Ok(PreparedCall {
            path: path.to_path_buf(),
            call_id,
            duration: duration.rounded(),
            sample_rate: rate,
            encoding: encoding.to_string(),
            tracks,
            clips,
            tones,
        })
    }

    /// Puts a prepared call and its clips' decoded text (in [`PreparedCall::clips`] order)
    /// together into a transcript.
    pub fn assemble(
        &self,
        prepared: PreparedCall,
        decoded: Vec<Result<Decoded, TranscribeError>>,
    ) -> CallTranscript {
        let clips = prepared.clips;
        let mut warnings = Vec::new();
        let mut utterances: Vec<Utterance> = clips
            .iter()
            .zip(decoded)
            .map(|(clip, result)| {
                let heard = match result {
                    Ok(d) => d.text,
                    Err(e) => {
                        warnings.push(format!(
                            "{} speech at {:.2}–{:.2} s was not transcribed: {e}",
                            clip.party, clip.span.start.0, clip.span.end.0
                        ));
                        String::new()
                    }
                };
                let text = self.text.analyze(&heard);
                Utterance {
                    party: clip.party,
                    start: clip.span.start.rounded(),
                    end: clip.span.end.rounded(),
                    text: text.display,
                    normalized: text.normalized,
                    words: text.words,
                }
            })
            .collect();
        utterances.sort_by(|a, b| a.start.0.total_cmp(&b.start.0).then(a.party.cmp(&b.party)));
        CallTranscript {
            call_id: prepared.call_id,
            source: prepared.path,
            duration: prepared.duration,
            sample_rate: prepared.sample_rate,
            encoding: prepared.encoding,
            tracks: prepared.tracks,
            utterances,
            warnings,
            tones: prepared.tones,
        }
    }
}
