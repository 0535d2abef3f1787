//! Who is speaking, and when.
//!
//! [`Party`] travels with every sample buffer, span and utterance: agent and customer are never
//! mixed. [`Seconds`] is media time, seconds from the first sample of the recording; nothing in
//! the pipeline reads the wall clock.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One side of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// Our side: the headset of the 坐席 / 客服.
    Agent,
    /// The far end: the 客户 / 用户.
    Customer,
    /// A mono recording: both parties mixed in one channel, so no rule can tell them apart.
    Mixed,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Agent => "agent",
            Party::Customer => "customer",
            Party::Mixed => "mixed",
        }
    }

    /// The label a readable transcript uses.
    pub fn label(self) -> &'static str {
        match self {
            Party::Agent => "坐席",
            Party::Customer => "客户",
            Party::Mixed => "混音",
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Media time in seconds from the first sample of the recording.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

impl Seconds {
    /// The time of sample `index` at `rate` samples per second.
    pub fn from_samples(index: usize, rate: u32) -> Self {
        Seconds(index as f64 / f64::from(rate))
    }

    /// The sample index at `rate` nearest to this time (never negative).
    pub fn to_samples(self, rate: u32) -> usize {
        (self.0 * f64::from(rate)).round().max(0.0) as usize
    }

    /// Rounded to milliseconds, the precision every output uses.
    pub fn rounded(self) -> Self {
        Seconds((self.0 * 1000.0).round() / 1000.0)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}s", self.0)
    }
}
