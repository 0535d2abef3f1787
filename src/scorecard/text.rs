//! The readable text scorecard: score, then every rule with its verdict, and under each failed
//! rule its evidence — when, who, the words heard, what was wrong, what to say instead.

use std::io::{self, Write};

use crate::rules::Verdict;

use super::{clock, Scorecard};

impl Scorecard {
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let (pass, fail, na) = self.tally();
        let critical = if self.critical_failure {
            " · 一票否决 (critical failure)"
        } else {
            ""
        };
        let partial = if self.partial {
            " · PARTIAL (not heard in full)"
        } else {
            ""
        };
        writeln!(
            out,
            "── {} ── score {}/{}{critical}{partial} · {} · {pass} pass, {fail} fail, {na} n/a",
            self.call_id,
            self.score,
            self.full_score,
            clock(self.duration),
        )?;
        let width = self
            .rules
            .iter()
            .map(|r| r.rule.as_str().len())
            .max()
            .unwrap_or(0);
        for r in &self.rules {
            let (mark, verdict) = match r.verdict {
                Verdict::Pass => ("✓", "pass".to_string()),
                Verdict::Fail if r.critical => ("✗", format!("FAIL −{} 一票否决", r.deduction)),
                Verdict::Fail => ("✗", format!("FAIL −{}", r.deduction)),
                Verdict::NotApplicable => ("·", "n/a".to_string()),
            };
            writeln!(
                out,
                "{mark} {:<width$}  {}  {verdict}: {}",
                r.rule.as_str(),
                r.name,
                r.note
            )?;
            for f in r
                .findings
                .iter()
                .filter(|f| f.violation || r.verdict != Verdict::Pass)
            {
                let words = if f.text.is_empty() {
                    String::new()
                } else {
                    format!(" 「{}」", f.text)
                };
                writeln!(
                    out,
                    "    [{}–{}] {}{words}: {}",
                    clock(f.start),
                    clock(f.end),
                    f.party.label(),
                    f.message
                )?;
                if let Some(s) = &f.suggestion {
                    writeln!(out, "      → {s}")?;
                }
            }
        }
        for w in &self.warnings {
            writeln!(out, "! {w}")?;
        }
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::result;
    use super::super::*;
    use crate::rules::RuleId;

    #[test]
    fn the_text_card_shows_score_verdicts_and_evidence() {
        let card = Scorecard {
            call_id: "c0001".into(),
            score: 90,
            full_score: 100,
            critical_failure: false,
            source: None,
            duration: Seconds(92.9),
            layout: Layout::TwoParty,
            standard: StandardRef {
                name: "std".into(),
                version: "1".into(),
                rules: "rules".into(),
            },
            rules: vec![
                result(RuleId::Greeting, Verdict::Fail, 10, false),
                result(RuleId::AnswerTime, Verdict::NotApplicable, 0, false),
            ],
            utterances: vec![],
            events: vec![],
            warnings: vec![],
            partial: false,
        };
        let mut out = Vec::new();
        card.write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("── c0001 ── score 90/100 · 01:32.9 · 0 pass, 1 fail, 1 n/a"),
            "{text}"
        );
        assert!(text.contains("✗ greeting"), "{text}");
        assert!(text.contains("FAIL −10"), "{text}");
        assert!(
            text.contains("[00:00.6–00:02.9] 坐席 「喂，什么事？」: forbidden opener 喂"),
            "{text}"
        );
        assert!(text.contains("→ 您好，请问有什么可以帮您？"), "{text}");
        assert!(text.contains("· answer_time"), "{text}");
    }
}
