//! Nudges: what the agent is told while the call goes on, and the stream integrations read.
//!
//! In: the findings the rules engine reports as soon as it is sure of them, and what happens to
//! the session (calls starting and ending, a device lost or back, audio dropped). Out: one
//! [`Envelope`] per thing, `{"type": …, "data": …}` (JSON Lines, as ripgrep's `--json`), which a
//! [`Hub`] sends to every sink at once: a readable line on the terminal, a JSON Lines stream (a
//! file, standard output or a Unix socket), and the local web page's server-sent events.
//!
//! A nudge names the rule, the words heard and what to say instead (the suggestion from
//! `rules/`), with the media times of the evidence and the moment of the call it was given
//! (`at`), so its delay is `at − end`.
//!
//! Runs on the live monitor's thread; sending never blocks it (the web and socket sinks are a
//! bounded broadcast: a client too slow to keep up misses lines rather than holding the call up).

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::party::{Party, Seconds};
use crate::rules::{Finding, RuleId};
use crate::scorecard::clock;

/// What the agent is told when a rule fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nudge {
    pub call_id: String,
    pub rule: RuleId,
    /// The rule's name in the standard (服务忌语).
    pub name: String,
    pub party: Party,
    /// The evidence, in the call's media time.
    pub start: Seconds,
    pub end: Seconds,
    /// The words heard (empty for silences and timings).
    pub heard: String,
    /// What was wrong.
    pub message: String,
    /// What to say instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// False for a warning that counts towards a limit (the first of two talk-overs).
    pub violation: bool,
    /// The call's media time when the nudge was given.
    pub at: Seconds,
}

impl Nudge {
    pub fn of(call_id: &str, name: &str, finding: &Finding, at: Seconds) -> Nudge {
        Nudge {
            call_id: call_id.to_string(),
            rule: finding.rule,
            name: name.to_string(),
            party: finding.party,
            start: finding.start,
            end: finding.end,
            heard: finding.text.clone(),
            message: finding.message.clone(),
            suggestion: finding.suggestion.clone(),
            violation: finding.violation,
            at: at.rounded(),
        }
    }

    /// Seconds from the end of the evidence to the nudge.
    pub fn delay(&self) -> f64 {
        self.at.0 - self.end.0
    }
}

/// A device's state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    Lost,
    Back,
}

/// One line of the JSON Lines stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Envelope {
    /// The session started: where its web page is, and what it listens to.
    Session {
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<String>,
    },
    CallStart {
        call_id: String,
    },
    Nudge(Nudge),
    /// The call ended and was scored.
    CallEnd {
        call_id: String,
        score: u32,
        duration: Seconds,
        /// Not all of the call was heard (a device was lost).
        partial: bool,
        /// Where the scorecard was written, when written to a file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scorecard: Option<PathBuf>,
    },
    /// A capture device went away, or came back (session media time).
    Device {
        party: Party,
        device: String,
        state: DeviceState,
        at: Seconds,
    },
    /// Audio the capture ring had no room for (the pipeline fell behind).
    Overrun {
        party: Party,
        samples: u64,
    },
    /// Decoding is behind the audio by this many seconds.
    Lagging {
        behind: f64,
    },
    /// The session ended.
    End {
        calls: usize,
    },
}

impl Envelope {
    /// The `type` of the envelope (the server-sent event's name).
    pub fn kind(&self) -> &'static str {
        match self {
            Envelope::Session { .. } => "session",
            Envelope::CallStart { .. } => "call_start",
            Envelope::Nudge(_) => "nudge",
            Envelope::CallEnd { .. } => "call_end",
            Envelope::Device { .. } => "device",
            Envelope::Overrun { .. } => "overrun",
            Envelope::Lagging { .. } => "lagging",
            Envelope::End { .. } => "end",
        }
    }

    /// The envelope as one line of JSON (no newline).
    pub fn to_line(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A line for a person at a terminal.
    pub fn readable(&self) -> String {
        match self {
            Envelope::Session { source, page } => match page {
                Some(page) => format!("listening to {source}; nudges at {page}"),
                None => format!("listening to {source}"),
            },
            Envelope::CallStart { call_id } => format!("── call {call_id} ──"),
            Envelope::Nudge(n) => {
                let mark = if n.violation { "!" } else { "·" };
                let mut line = format!("{mark} {} {}: {}", clock(n.end), n.name, n.message);
                if !n.heard.is_empty() {
                    line.push_str(&format!("\n    heard 「{}」", n.heard));
                }
                if let Some(s) = &n.suggestion {
                    line.push_str(&format!("\n    say   「{s}」"));
                }
                line
            }
            Envelope::CallEnd {
                call_id,
                score,
                duration,
                partial,
                ..
            } => format!(
                "── call {call_id} ended: {score} points, {}{} ──",
                clock(*duration),
                if *partial { ", partly heard" } else { "" }
            ),
            Envelope::Device {
                party,
                device,
                state,
                at,
            } => match state {
                DeviceState::Lost => {
                    format!(
                        "{party} device {device:?} lost at {}; waiting for it",
                        clock(*at)
                    )
                }
                DeviceState::Back => format!("{party} device {device:?} back at {}", clock(*at)),
            },
            Envelope::Overrun { party, samples } => {
                format!("{party} audio: {samples} samples dropped (the pipeline fell behind)")
            }
            Envelope::Lagging { behind } => {
                format!("decoding is {behind:.1} s behind the audio")
            }
            Envelope::End { calls } => format!("session ended after {calls} call(s)"),
        }
    }
}

/// One envelope of the JSON Lines stream, as broadcast to the web page and socket clients.
#[derive(Debug, Clone)]
pub struct Line {
    /// The envelope's type (`nudge`, `call_end`, …): the server-sent event's name.
    pub kind: &'static str,
    pub json: Arc<str>,
}

/// Where envelopes go.
pub struct Hub {
    terminal: Option<Box<dyn Write + Send>>,
    lines: Option<Box<dyn Write + Send>>,
    broadcast: Option<tokio::sync::broadcast::Sender<Line>>,
    sent: u64,
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            terminal: None,
            lines: None,
            broadcast: None,
            sent: 0,
        }
    }

    /// Readable lines to `out` (standard error, for the agent's terminal).
    pub fn with_terminal(mut self, out: Box<dyn Write + Send>) -> Hub {
        self.terminal = Some(out);
        self
    }

    /// JSON Lines to `out` (a file or standard output).
    pub fn with_lines(mut self, out: Box<dyn Write + Send>) -> Hub {
        self.lines = Some(out);
        self
    }

    /// JSON lines to every subscriber of `tx` (the web page, Unix socket clients).
    pub fn with_broadcast(mut self, tx: tokio::sync::broadcast::Sender<Line>) -> Hub {
        self.broadcast = Some(tx);
        self
    }

    /// Sends one envelope everywhere. A sink that fails (a closed pipe) is dropped with a
    /// warning; the session goes on.
    pub fn send(&mut self, envelope: &Envelope) {
        self.sent += 1;
        if let Some(out) = &mut self.terminal {
            if writeln!(out, "{}", envelope.readable())
                .and_then(|()| out.flush())
                .is_err()
            {
                self.terminal = None;
            }
        }
        let line = envelope.to_line();
        if let Some(out) = &mut self.lines {
            if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                tracing::warn!(error = %e, "the JSON Lines stream is closed; nudges go on elsewhere");
                self.lines = None;
            }
        }
        if let Some(tx) = &self.broadcast {
            // No subscriber is not an error: nobody has the page open.
            let _ = tx.send(Line {
                kind: envelope.kind(),
                json: Arc::from(line),
            });
        }
    }

    /// Envelopes sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Flushes and closes the sinks (the web page's stream ends).
    pub fn close(&mut self) -> io::Result<()> {
        self.broadcast = None;
        if let Some(out) = &mut self.lines {
            out.flush()?;
        }
        Ok(())
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nudge() -> Nudge {
        Nudge {
            call_id: "c1".into(),
            rule: RuleId::BannedPhrase,
            name: "服务忌语".into(),
            party: Party::Agent,
            start: Seconds(16.153),
            end: Seconds(19.843),
            heard: "第三方平台充值的话,我不知道他们什么时候到账。".into(),
            message: "服务忌语 [推诿]: 我不知道".into(),
            suggestion: Some("请您稍等，我帮您核实一下".into()),
            violation: true,
            at: Seconds(20.9),
        }
    }

    #[test]
    fn envelopes_are_type_and_data_and_read_back() {
        let e = Envelope::Nudge(nudge());
        let line = e.to_line();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "nudge");
        assert_eq!(v["data"]["rule"], "banned_phrase");
        assert_eq!(v["data"]["suggestion"], "请您稍等，我帮您核实一下");
        assert_eq!(serde_json::from_str::<Envelope>(&line).unwrap(), e);
        assert_eq!(e.kind(), "nudge");
        let end = Envelope::CallEnd {
            call_id: "c1".into(),
            score: 60,
            duration: Seconds(53.2),
            partial: true,
            scorecard: None,
        };
        let v: serde_json::Value = serde_json::from_str(&end.to_line()).unwrap();
        assert_eq!(v["type"], "call_end");
        assert_eq!(v["data"]["partial"], true);
    }

    #[test]
    fn a_terminal_line_names_the_rule_the_words_and_what_to_say() {
        let line = Envelope::Nudge(nudge()).readable();
        assert!(line.contains("服务忌语"), "{line}");
        assert!(line.contains("我不知道他们"), "{line}");
        assert!(line.contains("请您稍等，我帮您核实一下"), "{line}");
        assert!((nudge().delay() - 1.057).abs() < 1e-9);
    }

    #[test]
    fn a_hub_writes_every_sink() {
        #[derive(Clone, Default)]
        struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (terminal, lines) = (Shared::default(), Shared::default());
        let (tx, mut rx) = tokio::sync::broadcast::channel(8);
        let mut hub = Hub::new()
            .with_terminal(Box::new(terminal.clone()))
            .with_lines(Box::new(lines.clone()))
            .with_broadcast(tx);
        hub.send(&Envelope::Nudge(nudge()));
        let text = String::from_utf8(terminal.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("say"), "{text}");
        let json = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(json.lines().count(), 1);
        let line = rx.try_recv().unwrap();
        assert_eq!(line.kind, "nudge");
        assert_eq!(&*line.json, json.trim_end());
    }
}
