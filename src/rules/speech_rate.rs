//! `speech_rate` (语速): the agent speaks at a rate inside the band `rules/` sets.
//!
//! Rate is measured per minute of the agent's own speaking time (the sum of their speech spans,
//! so pauses between turns do not count): characters (Chinese characters and digits of the
//! matching form: each is one syllable, near enough) and jieba words. `judge_by` says which band
//! decides. Calls with less than `min_speaking_time` of agent speech are too short to judge.

use serde::Deserialize;
use toml::Spanned;

use crate::party::{Party, Seconds};

use super::config::Compiler;
use super::engine::{Check, Judgement};
use super::{CallState, Finding, RuleId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    min_chars_per_minute: Spanned<f64>,
    max_chars_per_minute: Spanned<f64>,
    min_words_per_minute: Spanned<f64>,
    max_words_per_minute: Spanned<f64>,
    min_speaking_time: Spanned<f64>,
    judge_by: JudgeBy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeBy {
    Chars,
    Words,
    Both,
}

#[derive(Debug)]
pub struct Spec {
    pub chars: (f64, f64),
    pub words: (f64, f64),
    pub min_speaking_time: f64,
    pub judge_by: JudgeBy,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    let band = |cx: &mut Compiler<'_>, lo: &Spanned<f64>, hi: &Spanned<f64>, what: &str| {
        let l = cx.within(lo, &format!("min_{what}_per_minute"), 0.0..2000.0);
        let h = cx.within(hi, &format!("max_{what}_per_minute"), 0.0..2000.0);
        if l >= h {
            cx.error(
                hi.span(),
                format!("max_{what}_per_minute ({h}) must be above min_{what}_per_minute ({l})"),
            );
        }
        (l, h)
    };
    Spec {
        chars: band(
            cx,
            &p.min_chars_per_minute,
            &p.max_chars_per_minute,
            "chars",
        ),
        words: band(
            cx,
            &p.min_words_per_minute,
            &p.max_words_per_minute,
            "words",
        ),
        min_speaking_time: cx.within(&p.min_speaking_time, "min_speaking_time", 0.0..3600.0),
        judge_by: p.judge_by,
    }
}

pub struct Rule<'r> {
    id: RuleId,
    spec: &'r Spec,
}

impl<'r> Rule<'r> {
    pub fn new(id: RuleId, spec: &'r Spec) -> Self {
        Rule { id, spec }
    }
}

impl Check for Rule<'_> {
    fn finish(&mut self, call: &CallState) -> Judgement {
        if call.is_mono() {
            return Judgement::not_applicable(
                "mono recording: the agent's speech cannot be told apart",
            );
        }
        let speaking: f64 = call.agent_speech.iter().map(|s| s.duration()).sum();
        if speaking < self.spec.min_speaking_time {
            return Judgement::not_applicable(format!(
                "{speaking:.1} s of agent speech, less than the {:.0} s needed to judge the rate",
                self.spec.min_speaking_time
            ));
        }
        let agent = call.agent_utterances();
        let chars: usize = agent.iter().map(|u| u.syllables).sum();
        let words: usize = agent.iter().map(|u| u.words).sum();
        let minutes = speaking / 60.0;
        let (cpm, wpm) = (chars as f64 / minutes, words as f64 / minutes);
        let outside = |v: f64, (lo, hi): (f64, f64)| v < lo || v > hi;
        let bad = match self.spec.judge_by {
            JudgeBy::Chars => outside(cpm, self.spec.chars),
            JudgeBy::Words => outside(wpm, self.spec.words),
            JudgeBy::Both => outside(cpm, self.spec.chars) || outside(wpm, self.spec.words),
        };
        let message = format!(
            "{cpm:.0} 字/分钟, {wpm:.0} 词/分钟 over {speaking:.1} s of agent speech (band {:.0}–{:.0} 字/分钟, {:.0}–{:.0} 词/分钟)",
            self.spec.chars.0, self.spec.chars.1, self.spec.words.0, self.spec.words.1
        );
        if !bad {
            return Judgement::pass(message);
        }
        let fast = cpm > self.spec.chars.1 || wpm > self.spec.words.1;
        let finding = Finding {
            rule: self.id,
            start: agent.first().map_or(Seconds(0.0), |u| u.start),
            end: agent.last().map_or(Seconds(0.0), |u| u.end),
            party: Party::Agent,
            text: String::new(),
            message: format!("too {}: {message}", if fast { "fast" } else { "slow" }),
            suggestion: None,
            violation: true,
        };
        Judgement::fail(finding.message.clone()).with_findings(vec![finding])
    }
}
