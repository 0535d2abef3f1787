//! Character error rate between a reference text and what was heard.
//!
//! Both texts are put in matching form first ([`TextAnalyzer::normalize`]), so script
//! (請/请), punctuation, width and the way numbers are written (二十四/24) are not errors.
//! Errors are the Levenshtein distance over characters (substitutions + deletions + insertions);
//! the rate divides by the reference length. [`Cer`] keeps the two counts rather than the ratio so
//! that a corpus rate is total errors over total length ([`Sum`](std::iter::Sum)), not a mean of
//! per-utterance rates.

use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use super::TextAnalyzer;

/// Character errors and the reference length they are counted against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cer {
    /// Substitutions + deletions + insertions, in characters.
    pub errors: usize,
    /// Characters in the normalised reference.
    pub reference_len: usize,
}

impl Cer {
    /// `errors / reference_len`. With an empty reference: 0.0 when nothing was heard either,
    /// `f64::INFINITY` when something was (every character heard is an insertion against nothing).
    pub fn rate(&self) -> f64 {
        match (self.errors, self.reference_len) {
            (0, 0) => 0.0,
            (_, 0) => f64::INFINITY,
            (errors, len) => errors as f64 / len as f64,
        }
    }
}

impl Add for Cer {
    type Output = Cer;

    fn add(self, other: Cer) -> Cer {
        Cer {
            errors: self.errors + other.errors,
            reference_len: self.reference_len + other.reference_len,
        }
    }
}

impl AddAssign for Cer {
    fn add_assign(&mut self, other: Cer) {
        *self = *self + other;
    }
}

impl Sum for Cer {
    fn sum<I: Iterator<Item = Cer>>(iter: I) -> Cer {
        iter.fold(Cer::default(), Add::add)
    }
}

impl<'a> Sum<&'a Cer> for Cer {
    fn sum<I: Iterator<Item = &'a Cer>>(iter: I) -> Cer {
        iter.copied().sum()
    }
}

/// Character error rate of `hypothesis` against `reference`, both in matching form.
pub fn cer(analyzer: &TextAnalyzer, reference: &str, hypothesis: &str) -> Cer {
    let reference: Vec<char> = analyzer.normalize(reference).chars().collect();
    let hypothesis: Vec<char> = analyzer.normalize(hypothesis).chars().collect();
    Cer {
        errors: levenshtein(&reference, &hypothesis),
        reference_len: reference.len(),
    }
}

/// Edit distance with unit costs, one row at a time (memory linear in `b`).
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::analyzer;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein(&chars(""), &chars("")), 0);
        assert_eq!(levenshtein(&chars("abc"), &chars("")), 3);
        assert_eq!(levenshtein(&chars(""), &chars("abc")), 3);
        assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(levenshtein(&chars("工号是多少"), &chars("公号是多少")), 1);
        assert_eq!(levenshtein(&chars("请您稍等"), &chars("请稍等一下")), 3);
    }

    #[test]
    fn identical_text_has_no_errors() {
        let c = cer(
            analyzer(),
            "您好,请问有什么可以帮您?",
            "您好,请问有什么可以帮您?",
        );
        assert_eq!(
            c,
            Cer {
                errors: 0,
                reference_len: 11
            }
        );
        assert_eq!(c.rate(), 0.0);
    }

    #[test]
    fn one_substitution_in_ten_characters() {
        let c = cer(analyzer(), "谢谢您的来电再见再见", "谢谢你的来电再见再见");
        assert_eq!(
            c,
            Cer {
                errors: 1,
                reference_len: 10
            }
        );
        assert!((c.rate() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn numbers_written_either_way_are_not_errors() {
        assert_eq!(cer(analyzer(), "二十四小时", "24小时").errors, 0);
        assert_eq!(cer(analyzer(), "工号幺零八六", "工号1086").errors, 0);
    }

    #[test]
    fn punctuation_width_and_script_are_not_errors() {
        assert_eq!(cer(analyzer(), "您好，请问。", "您好 请问").errors, 0);
        assert_eq!(cer(analyzer(), "謝謝您的來電！", "谢谢您的来电").errors, 0);
    }

    #[test]
    fn empty_reference() {
        let nothing = cer(analyzer(), "", "");
        assert_eq!(
            nothing,
            Cer {
                errors: 0,
                reference_len: 0
            }
        );
        assert_eq!(nothing.rate(), 0.0);
        let hallucinated = cer(analyzer(), "", "谢谢观看");
        assert_eq!(
            hallucinated,
            Cer {
                errors: 4,
                reference_len: 0
            }
        );
        assert_eq!(hallucinated.rate(), f64::INFINITY);
        assert_eq!(cer(analyzer(), "。。", "").rate(), 0.0);
    }

    #[test]
    fn corpus_rate_is_total_errors_over_total_length() {
        let parts = [
            Cer {
                errors: 1,
                reference_len: 10,
            },
            Cer {
                errors: 3,
                reference_len: 30,
            },
            Cer {
                errors: 0,
                reference_len: 60,
            },
        ];
        let total: Cer = parts.iter().sum();
        assert_eq!(
            total,
            Cer {
                errors: 4,
                reference_len: 100
            }
        );
        assert_eq!(parts.into_iter().sum::<Cer>(), total);
        assert!((total.rate() - 0.04).abs() < 1e-12);
        let mut acc = Cer::default();
        acc += parts[0];
        assert_eq!(
            acc + parts[1],
            Cer {
                errors: 4,
                reference_len: 40
            }
        );
    }
}
