//! Detection accuracy on labelled calls: precision and recall per rule, measured.
//!
//! **In:** for each labelled call (a WAV whose `<name>.truth.json` holds an `expect` table: the
//! verdict its script intends for every rule), the verdicts zhijian gave it. **Out:** an
//! [`Evaluation`]: per rule the confusion of expected against given verdicts, true / false
//! positives and negatives, precision and recall, and every disagreement with its evidence;
//! rendered as a readable table or JSON, and checked against a [`Floor`].
//!
//! A *positive* is a `fail`: the rule found a fault. A false positive is a fault found where the
//! script has none (an injustice to an agent); a false negative is a fault the script has that
//! was not found (a failed audit). `pass` and `not_applicable` both count as negative for
//! precision and recall; the confusion table keeps them apart.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::party::Seconds;
use crate::rules::{Finding, RuleId, RuleResult, Verdict};

const VERDICTS: [Verdict; 3] = [Verdict::Pass, Verdict::Fail, Verdict::NotApplicable];

fn index(v: Verdict) -> usize {
    match v {
        Verdict::Pass => 0,
        Verdict::Fail => 1,
        Verdict::NotApplicable => 2,
    }
}

/// One rule's counts over a corpus.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub true_positive: usize,
    pub false_positive: usize,
    pub false_negative: usize,
    pub true_negative: usize,
    /// `confusion[expected][given]`, verdicts in the order pass, fail, not_applicable.
    pub confusion: [[usize; 3]; 3],
}

impl Tally {
    pub fn add(&mut self, expected: Verdict, given: Verdict) {
        self.confusion[index(expected)][index(given)] += 1;
        match (expected == Verdict::Fail, given == Verdict::Fail) {
            (true, true) => self.true_positive += 1,
            (false, true) => self.false_positive += 1,
            (true, false) => self.false_negative += 1,
            (false, false) => self.true_negative += 1,
        }
    }

    /// Of the faults found, the share that are real; `None` when none was found.
    pub fn precision(&self) -> Option<f64> {
        let found = self.true_positive + self.false_positive;
        (found > 0).then(|| self.true_positive as f64 / found as f64)
    }

    /// Of the real faults, the share found; `None` when the corpus has none for this rule.
    pub fn recall(&self) -> Option<f64> {
        let real = self.true_positive + self.false_negative;
        (real > 0).then(|| self.true_positive as f64 / real as f64)
    }

    /// Share of calls whose verdict is exactly the intended one (pass, fail and n/a apart).
    pub fn agreement(&self) -> f64 {
        let total: usize = self.confusion.iter().flatten().sum();
        let same: usize = (0..3).map(|i| self.confusion[i][i]).sum();
        if total == 0 {
            1.0
        } else {
            same as f64 / total as f64
        }
    }

    pub fn calls(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }
}

/// A call where zhijian and the script disagree on a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub call_id: String,
    pub source: PathBuf,
    pub rule: RuleId,
    pub expected: Verdict,
    pub given: Verdict,
    /// The rule's own account of its verdict.
    pub note: String,
    /// The findings behind it (for a false positive: what it thought it heard).
    pub findings: Vec<Finding>,
}

/// How the evaluated calls were scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub model: String,
    pub decoding: String,
    pub by_sound: bool,
    pub rules: String,
}

/// Results over a labelled corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub settings: Settings,
    pub calls: usize,
    /// Calls that could not be scored, with the reason (they count for no rule).
    pub failed: Vec<(PathBuf, String)>,
    pub rules: BTreeMap<RuleId, Tally>,
    pub disagreements: Vec<Disagreement>,
    /// Audio evaluated, and the wall-clock time it took to transcribe and score it.
    pub audio: Seconds,
    pub wall: Seconds,
}

impl Evaluation {
    pub fn new(settings: Settings) -> Self {
        Evaluation {
            settings,
            calls: 0,
            failed: Vec::new(),
            rules: RuleId::ALL.iter().map(|r| (*r, Tally::default())).collect(),
            disagreements: Vec::new(),
            audio: Seconds(0.0),
            wall: Seconds(0.0),
        }
    }

    /// Adds one scored call against what its script intends.
    pub fn add(
        &mut self,
        call_id: &str,
        source: &Path,
        expected: &BTreeMap<RuleId, Verdict>,
        given: &[RuleResult],
    ) {
        self.calls += 1;
        for result in given {
            let Some(&want) = expected.get(&result.rule) else {
                continue;
            };
            self.rules
                .entry(result.rule)
                .or_default()
                .add(want, result.verdict);
            if want != result.verdict {
                self.disagreements.push(Disagreement {
                    call_id: call_id.to_owned(),
                    source: source.to_path_buf(),
                    rule: result.rule,
                    expected: want,
                    given: result.verdict,
                    note: result.note.clone(),
                    findings: result.findings.clone(),
                });
            }
        }
        // Calls may be added in any order (a batch finishes them as they come): list the
        // disagreements by call, then rule, so two runs print the same.
        self.disagreements
            .sort_by(|a, b| (&a.call_id, a.rule).cmp(&(&b.call_id, b.rule)));
    }

    /// All rules together.
    pub fn total(&self) -> Tally {
        let mut total = Tally::default();
        for t in self.rules.values() {
            total.true_positive += t.true_positive;
            total.false_positive += t.false_positive;
            total.false_negative += t.false_negative;
            total.true_negative += t.true_negative;
            for i in 0..3 {
                for j in 0..3 {
                    total.confusion[i][j] += t.confusion[i][j];
                }
            }
        }
        total
    }

    /// The readable report: the table, the confusion summary, every disagreement.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.settings;
        writeln!(
            out,
            "zhijian eval — {} labelled call(s), {:.1} min of audio",
            self.calls,
            self.audio.0 / 60.0
        )?;
        writeln!(
            out,
            "model {} · decoding {} · phrase matching by sound {} · rules {}",
            s.model,
            s.decoding,
            if s.by_sound { "on" } else { "off" },
            s.rules
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "{:<15} {:>4} {:>4} {:>4} {:>4}  {:>9} {:>7}  {:>9}",
            "rule", "TP", "FP", "FN", "TN", "precision", "recall", "agreement"
        )?;
        let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
        for (rule, t) in &self.rules {
            writeln!(
                out,
                "{:<15} {:>4} {:>4} {:>4} {:>4}  {:>9} {:>7}  {:>9.3}",
                rule.as_str(),
                t.true_positive,
                t.false_positive,
                t.false_negative,
                t.true_negative,
                pct(t.precision()),
                pct(t.recall()),
                t.agreement()
            )?;
        }
        let t = self.total();
        writeln!(
            out,
            "{:<15} {:>4} {:>4} {:>4} {:>4}  {:>9} {:>7}  {:>9.3}",
            "all rules",
            t.true_positive,
            t.false_positive,
            t.false_negative,
            t.true_negative,
            pct(t.precision()),
            pct(t.recall()),
            t.agreement()
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "confusion, all rules (rows: intended, columns: given):"
        )?;
        writeln!(out, "{:<16} {:>6} {:>6} {:>6}", "", "pass", "fail", "n/a")?;
        for (i, v) in VERDICTS.iter().enumerate() {
            let name = if *v == Verdict::NotApplicable {
                "n/a"
            } else {
                v.as_str()
            };
            writeln!(
                out,
                "{:<16} {:>6} {:>6} {:>6}",
                name, t.confusion[i][0], t.confusion[i][1], t.confusion[i][2]
            )?;
        }
        if !self.disagreements.is_empty() {
            writeln!(out)?;
            writeln!(out, "disagreements ({}):", self.disagreements.len())?;
            for d in &self.disagreements {
                writeln!(
                    out,
                    "  {} · {}: intended {}, given {} — {}",
                    d.call_id, d.rule, d.expected, d.given, d.note
                )?;
                for f in d.findings.iter().filter(|f| f.violation) {
                    let words = if f.text.is_empty() {
                        String::new()
                    } else {
                        format!(" 「{}」", f.text)
                    };
                    writeln!(
                        out,
                        "      [{:.1}–{:.1} s] {}{words}: {}",
                        f.start.0, f.end.0, f.party, f.message
                    )?;
                }
            }
        }
        for (path, why) in &self.failed {
            writeln!(out, "  not scored: {}: {why}", path.display())?;
        }
        if self.wall.0 > 0.0 {
            writeln!(out)?;
            writeln!(
                out,
                "transcribed and scored in {:.0} s (real-time factor {:.2})",
                self.wall.0,
                self.wall.0 / self.audio.0.max(1e-9)
            )?;
        }
        Ok(())
    }
}

/// The accuracy CI insists on: per rule, the lowest precision and recall allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    pub path: PathBuf,
    pub rules: BTreeMap<RuleId, (f64, f64)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FloorFile {
    rule: BTreeMap<String, Spanned<FloorEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FloorEntry {
    precision: f64,
    recall: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    #[error("{}: cannot read the accuracy floor: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl Floor {
    /// Reads a floor file: `[rule.<id>]` tables with `precision` and `recall` (0–1).
    pub fn load(path: &Path) -> Result<Floor, FloorError> {
        let text = std::fs::read_to_string(path).map_err(|source| FloorError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let invalid = |offset: usize, message: String| FloorError::Invalid {
            path: path.to_path_buf(),
            line: line_of(offset),
            message,
        };
        let file: FloorFile = toml::from_str(&text).map_err(|e| {
            invalid(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
            )
        })?;
        let mut rules = BTreeMap::new();
        for (name, entry) in file.rule {
            let id: RuleId = name
                .parse()
                .map_err(|e: String| invalid(entry.span().start, e))?;
            let FloorEntry { precision, recall } = entry.get_ref();
            for (what, v) in [("precision", precision), ("recall", recall)] {
                if !(0.0..=1.0).contains(v) {
                    return Err(invalid(
                        entry.span().start,
                        format!("{name}: {what} = {v} must be between 0 and 1"),
                    ));
                }
            }
            rules.insert(id, (*precision, *recall));
        }
        Ok(Floor {
            path: path.to_path_buf(),
            rules,
        })
    }

    /// Every rule whose precision or recall is below its floor. A rule the corpus gives no
    /// fault to find (recall undefined) or that found none (precision undefined) is held to
    /// what can be measured.
    pub fn check(&self, evaluation: &Evaluation) -> Vec<String> {
        let mut below = Vec::new();
        for (rule, (min_p, min_r)) in &self.rules {
            let Some(t) = evaluation.rules.get(rule) else {
                continue;
            };
            if let Some(p) = t.precision().filter(|p| p < min_p) {
                below.push(format!(
                    "{rule}: precision {p:.3} is below the floor {min_p:.3}"
                ));
            }
            if let Some(r) = t.recall().filter(|r| r < min_r) {
                below.push(format!(
                    "{rule}: recall {r:.3} is below the floor {min_r:.3}"
                ));
            }
        }
        below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rule: RuleId, verdict: Verdict) -> RuleResult {
        RuleResult {
            rule,
            name: String::new(),
            verdict,
            deduction: 0,
            critical: false,
            findings: vec![],
            note: "n".into(),
        }
    }

    #[test]
    fn precision_and_recall_count_fail_as_the_positive() {
        let mut t = Tally::default();
        for (e, g) in [
            (Verdict::Fail, Verdict::Fail),
            (Verdict::Fail, Verdict::Fail),
            (Verdict::Fail, Verdict::Pass),
            (Verdict::Pass, Verdict::Fail),
            (Verdict::Pass, Verdict::Pass),
            (Verdict::NotApplicable, Verdict::Pass),
        ] {
            t.add(e, g);
        }
        assert_eq!(
            (
                t.true_positive,
                t.false_positive,
                t.false_negative,
                t.true_negative
            ),
            (2, 1, 1, 2)
        );
        assert_eq!(t.precision(), Some(2.0 / 3.0));
        assert_eq!(t.recall(), Some(2.0 / 3.0));
        assert_eq!(
            t.confusion[2][0], 1,
            "n/a given as pass is kept apart in the confusion table"
        );
        assert!((t.agreement() - 3.0 / 6.0).abs() < 1e-12);
        assert_eq!(Tally::default().precision(), None);
    }

    #[test]
    fn disagreements_are_listed_with_the_rule_note() {
        let mut e = Evaluation::new(Settings {
            model: "m".into(),
            decoding: "d".into(),
            by_sound: true,
            rules: "r".into(),
        });
        let expected: BTreeMap<RuleId, Verdict> = [
            (RuleId::Greeting, Verdict::Pass),
            (RuleId::Closing, Verdict::Fail),
        ]
        .into();
        e.add(
            "c1",
            Path::new("c1.wav"),
            &expected,
            &[
                result(RuleId::Greeting, Verdict::Fail),
                result(RuleId::Closing, Verdict::Fail),
            ],
        );
        assert_eq!(e.disagreements.len(), 1);
        assert_eq!(e.disagreements[0].rule, RuleId::Greeting);
        assert_eq!(e.rules[&RuleId::Closing].true_positive, 1);
        let mut out = Vec::new();
        e.write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("c1 · greeting: intended pass, given fail — n"),
            "{text}"
        );
    }

    #[test]
    fn a_floor_flags_rules_below_it_and_reports_bad_files_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("floor.toml");
        std::fs::write(&path, "[rule.greeting]\nprecision = 0.95\nrecall = 0.9\n").unwrap();
        let floor = Floor::load(&path).unwrap();
        let mut e = Evaluation::new(Settings {
            model: "m".into(),
            decoding: "d".into(),
            by_sound: true,
            rules: "r".into(),
        });
        let expected: BTreeMap<RuleId, Verdict> = [(RuleId::Greeting, Verdict::Fail)].into();
        e.add(
            "c1",
            Path::new("c1.wav"),
            &expected,
            &[result(RuleId::Greeting, Verdict::Pass)],
        );
        assert_eq!(
            floor.check(&e),
            vec!["greeting: recall 0.000 is below the floor 0.900".to_string()]
        );
        std::fs::write(&path, "[rule.greeting]\nprecision = 0.95\nrecall = 0.9\n[rule.greetings]\nprecision = 1.0\nrecall = 1.0\n").unwrap();
        let err = Floor::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("floor.toml:4:") && err.contains("greetings"),
            "{err}"
        );
    }
}
