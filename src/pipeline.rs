//! One recorded call through every stage: WAV → parties → 16 kHz → speech spans → clips →
//! Whisper → text → a [`CallTranscript`].
//!
//! Runs on the calling thread except for decoding, which [`Transcriber`] spreads over its
//! workers. [`Pipeline::transcribe_call`] is [`Pipeline::prepare`] (read, resample, cut into
//! clips), decoding, then [`Pipeline::assemble`]; a batch calls the steps itself so that its
//! calls share the decoders. The clips of both parties go to the workers together, so a stereo
//! call keeps every core busy. A clip that fails to decode does not lose the call: its utterance
//! keeps its times, with empty text, and the transcript carries a warning.
//!
//! The live monitor ([`crate::live`]) runs the same stages on a stream and shares the pieces
//! that decide what a transcript holds: [`RecordedCall::open`] (a replayed recording),
//! [`clip_range`], [`utterance_of`] and [`sort_utterances`], and a replay gets its events from
//! [`recording_events`], so a live call and its recording give the same transcript and events.

use std::path::{Path, PathBuf};

use crate::audio::{read_wav, AudioError, ChannelMap, ChannelMapError, Encoding, PartyAudio};
use crate::call::tones::{self, ToneReport};
use crate::call::{events_for_recording, CallEvent, EventSourceError, Sidecar, SidecarError};
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
pub const CLIP_PADDING: f64 = 0.2;

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
    #[error(transparent)]
    Events(#[from] EventSourceError),
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

/// A recorded call read and split by party, before any stage has run.
pub struct RecordedCall {
    /// The sidecar's `call_id`, else the file's stem (CONTRACT §1).
    pub call_id: String,
    pub path: PathBuf,
    pub sample_rate: u32,
    pub encoding: Encoding,
    pub duration: Seconds,
    /// Agent then customer, or the one mixed party of a mono recording.
    pub parties: Vec<PartyAudio>,
}

impl RecordedCall {
    /// Reads the WAV and its sidecar and splits the channels by party (the options' channel
    /// map, else the sidecar's, else channel 0 agent).
    pub fn open(path: &Path, options: &CallOptions) -> Result<RecordedCall, PipelineError> {
        let sidecar = Sidecar::load_for(path)?.unwrap_or_default();
        let map = options.channels.or(sidecar.channels).unwrap_or_default();
        let recording = read_wav(path)?;
        let (sample_rate, encoding, duration) = (
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
        let call_id = sidecar.call_id.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        Ok(RecordedCall {
            call_id,
            path: path.to_path_buf(),
            sample_rate,
            encoding,
            duration,
            parties,
        })
    }
}

/// The events of a recording as `zhijian score` judges it: its sidecar, its telephony record
/// (a FreeSWITCH CDR beside it) and the ringback and busy tones in its customer channel, merged
/// ([`crate::call::CallEvents::assemble`]). For a replay, which has the whole recording before it
/// starts.
pub fn recording_events(
    call: &RecordedCall,
    options: &CallOptions,
) -> Result<Vec<CallEvent>, PipelineError> {
    let agent_first_speech = match call.parties.iter().find(|p| p.party == Party::Agent) {
        Some(agent) => {
            let wide = Resampler::new(call.sample_rate)
                .and_then(|mut r| r.process(&agent.samples))
                .map_err(|source| PipelineError::Resample {
                    path: call.path.clone(),
                    source,
                })?;
            voice::detect(&wide, &options.voice)
                .0
                .first()
                .map(|s| s.start)
        }
        None => None,
    };
    let tones = tones_of(&call.parties, call.sample_rate, agent_first_speech);
    Ok(events_for_recording(&call.path, &tones, None)?
        .events()
        .cloned()
        .collect())
}

/// Ringback and busy tone in the customer channel as recorded (nothing for a mono call).
fn tones_of(parties: &[PartyAudio], rate: u32, agent_first_speech: Option<Seconds>) -> ToneReport {
    parties
        .iter()
        .find(|p| p.party == Party::Customer)
        .map(|c| tones::infer_events(&c.samples, rate, agent_first_speech))
        .unwrap_or_default()
}

/// The samples (at 16 kHz) a piece of speech is decoded from: the span with
/// [`CLIP_PADDING`] on each side, within a stream of `len` samples.
pub fn clip_range(span: SpeechSpan, len: usize) -> std::ops::Range<usize> {
    let from = Seconds(span.start.0 - CLIP_PADDING).to_samples(WHISPER_RATE);
    let to = Seconds(span.end.0 + CLIP_PADDING)
        .to_samples(WHISPER_RATE)
        .min(len);
    from.min(to)..to
}

/// The utterance of one decoded piece: the piece's times (rounded to ms), the text analysed. A
/// failed decode keeps the times with empty text, and says so in `warnings`.
pub fn utterance_of(
    analyzer: &TextAnalyzer,
    party: Party,
    span: SpeechSpan,
    decoded: Result<Decoded, TranscribeError>,
    warnings: &mut Vec<String>,
) -> Utterance {
    let heard = match decoded {
        Ok(d) => d.text,
        Err(e) => {
            warnings.push(format!(
                "{} speech at {:.2}–{:.2} s was not transcribed: {e}",
                party, span.start.0, span.end.0
            ));
            String::new()
        }
    };
    let text = analyzer.analyze(&heard);
    Utterance {
        party,
        start: span.start.rounded(),
        end: span.end.rounded(),
        text: text.display,
        normalized: text.normalized,
        words: text.words,
    }
}

/// A transcript's utterance order: by start, agent first on ties.
pub fn sort_utterances(utterances: &mut [Utterance]) {
    utterances.sort_by(|a, b| a.start.0.total_cmp(&b.start.0).then(a.party.cmp(&b.party)));
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
        let call = RecordedCall::open(path, options)?;
        let rate = call.sample_rate;

        let mut resampler = Resampler::new(rate).map_err(|source| PipelineError::Resample {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tracks = Vec::new();
        let mut clips = Vec::new();
        for party_audio in &call.parties {
            let wide = resampler.process(&party_audio.samples).map_err(|source| {
                PipelineError::Resample {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            let (spans, energies) = voice::detect(&wide, &options.voice);
            tracing::debug!(party = %party_audio.party, spans = spans.len(), "speech detected");
            for span in voice::split_long(&spans, &energies, MAX_CHUNK_SECONDS) {
                clips.push(Clip {
                    party: party_audio.party,
                    span,
                    samples: wide[clip_range(span, wide.len())].to_vec(),
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
        // Ringback and busy tone are looked for in the customer channel as recorded.
        let tones = tones_of(&call.parties, rate, agent_first_speech);
        Ok(PreparedCall {
            path: call.path,
            call_id: call.call_id,
            duration: call.duration.rounded(),
            sample_rate: rate,
            encoding: call.encoding.to_string(),
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
                utterance_of(self.text, clip.party, clip.span, result, &mut warnings)
            })
            .collect();
        sort_utterances(&mut utterances);
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
