//! Recorded call audio: a WAV file in, one sample buffer per party out.
//!
//! Reads what CONTRACT §1 promises: PCM 8/16/24/32-bit, 32-bit float, G.711 μ-law and A-law, any
//! sample rate, mono or stereo. Stereo channels map to parties through a [`ChannelMap`] (channel
//! 0 agent, channel 1 customer unless the sidecar or a flag says otherwise); a mono file is one
//! [`Party::Mixed`] buffer, never split by guesswork. Runs on the calling thread.

mod g711;
mod wav;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use g711::{alaw_to_linear, ulaw_to_linear};

use crate::party::{Party, Seconds};

/// How the samples of a WAV file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Integer PCM (8-bit unsigned, 16/24/32-bit signed).
    Pcm { bits: u16 },
    /// IEEE 32-bit float.
    Float32,
    /// G.711 μ-law (WAV format tag 7).
    MuLaw,
    /// G.711 A-law (WAV format tag 6).
    ALaw,
}

impl Encoding {
    fn bytes_per_sample(self) -> u16 {
        match self {
            Encoding::Pcm { bits } => bits / 8,
            Encoding::Float32 => 4,
            Encoding::MuLaw | Encoding::ALaw => 1,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encoding::Pcm { bits } => write!(f, "PCM {bits}-bit"),
            Encoding::Float32 => f.write_str("float 32-bit"),
            Encoding::MuLaw => f.write_str("G.711 μ-law"),
            Encoding::ALaw => f.write_str("G.711 A-law"),
        }
    }
}

/// A decoded recording: one buffer per channel, samples in [-1, 1].
#[derive(Debug, Clone)]
pub struct Recording {
    pub sample_rate: u32,
    pub encoding: Encoding,
    pub channels: Vec<Vec<f32>>,
}

impl Recording {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    pub fn duration(&self) -> Seconds {
        Seconds::from_samples(self.frames(), self.sample_rate)
    }

    /// Splits the channels into parties. Mono gives one [`Party::Mixed`] buffer.
    pub fn into_parties(self, map: ChannelMap) -> Result<Vec<PartyAudio>, ChannelMapError> {
        let rate = self.sample_rate;
        let mut channels = self.channels;
        if channels.len() == 1 {
            let samples = channels.pop().unwrap_or_default();
            return Ok(vec![PartyAudio {
                party: Party::Mixed,
                sample_rate: rate,
                samples,
            }]);
        }
        map.validate(channels.len())?;
        let mut taken: Vec<Option<Vec<f32>>> = channels.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(2);
        for (party, index) in [(Party::Agent, map.agent), (Party::Customer, map.customer)] {
            let samples = taken[index].take().unwrap_or_default();
            out.push(PartyAudio {
                party,
                sample_rate: rate,
                samples,
            });
        }
        Ok(out)
    }
}

/// One party's audio at its original sample rate.
#[derive(Debug, Clone)]
pub struct PartyAudio {
    pub party: Party,
    pub sample_rate: u32,
    pub samples: Vec<f32>,
}

/// Which stereo channel carries which party (CONTRACT §1: `"channels": {"agent": 0, "customer": 1}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMap {
    pub agent: usize,
    pub customer: usize,
}

impl Default for ChannelMap {
    fn default() -> Self {
        ChannelMap {
            agent: 0,
            customer: 1,
        }
    }
}

impl ChannelMap {
    /// Agent on `agent`, customer on the other channel of a stereo pair.
    pub fn agent_on(agent: usize) -> Self {
        ChannelMap {
            agent,
            customer: 1 - agent.min(1),
        }
    }

    pub fn validate(&self, channels: usize) -> Result<(), ChannelMapError> {
        if self.agent == self.customer {
            return Err(ChannelMapError(format!(
                "agent and customer are both mapped to channel {}",
                self.agent
            )));
        }
        for (name, index) in [("agent", self.agent), ("customer", self.customer)] {
            if index >= channels {
                return Err(ChannelMapError(format!(
                    "{name} is mapped to channel {index}, but the recording has {channels} channel(s)"
                )));
            }
        }
        Ok(())
    }
}

/// A channel map that does not fit the recording.
#[derive(Debug, thiserror::Error)]
#[error("bad channel map: {0}")]
pub struct ChannelMapError(pub String);

/// A recording that cannot be read, with the file it came from.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct AudioError {
    pub path: PathBuf,
    pub problem: Problem,
}

impl AudioError {
    fn new(path: &Path, problem: Problem) -> Self {
        AudioError {
            path: path.to_path_buf(),
            problem,
        }
    }
}

/// What is wrong with a recording. None of these is helped by retrying.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("cannot open: {0}")]
    Open(#[source] io::Error),
    #[error("empty: the file holds no audio samples")]
    Empty,
    #[error("not a WAV file: {0}")]
    NotWav(String),
    #[error("corrupt WAV: {0}")]
    Corrupt(String),
    #[error("truncated WAV: {0}")]
    Truncated(String),
    #[error(
        "unsupported encoding: {0}; zhijian reads PCM 8/16/24/32-bit, 32-bit float, G.711 μ-law \
         and A-law (convert with e.g. `sox IN.wav -e signed -b 16 OUT.wav`)"
    )]
    Unsupported(String),
    #[error("{0} channels: zhijian reads mono or stereo (agent and customer) recordings")]
    Channels(u16),
}

/// Reads a WAV file (see the module docs for what is accepted).
pub fn read_wav(path: &Path) -> Result<Recording, AudioError> {
    wav::read(path)
}

#[cfg(test)]
mod tests;
