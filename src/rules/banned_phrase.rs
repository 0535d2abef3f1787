//! `banned_phrase` (服务忌语): the agent never says a banned phrase.
//!
//! The phrase lists are the seeds' own (服务忌语, 绝对禁止说的话, 10个应避免的错误, 常见服务禁语),
//! by category, each category with its deduction, whether it is critical (一票否决: 有本事就投诉我
//! fails the whole call), what to say instead, and `except` phrases for innocent uses (如果您不知道
//! is not the agent's 不知道). Every occurrence in agent speech is a finding, reported as soon as
//! the utterance is heard; customer speech never counts.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::config::{Compiler, PhraseList};
use super::engine::{Check, Judgement};
use super::phrase::{PhraseMatch, PhraseSet};
use super::state::HeardUtterance;
use super::{CallState, Finding, Item, RuleId};
use crate::party::Party;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    category: Spanned<Vec<CategoryFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    name: String,
    deduction: Spanned<u32>,
    critical: bool,
    suggestion: String,
    phrases: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    except: Vec<Spanned<String>>,
    /// Per-phrase suggestions, where the category's is not the best answer.
    #[serde(default)]
    suggestions: Option<Spanned<BTreeMap<String, String>>>,
}

#[derive(Debug)]
pub struct Category {
    pub name: String,
    pub deduction: u32,
    pub critical: bool,
    pub suggestion: String,
    pub set: PhraseSet,
    /// Indexed like `set.phrases`.
    pub suggestions: Vec<Option<String>>,
}

#[derive(Debug)]
pub struct Spec {
    pub categories: Vec<Category>,
}

pub fn compile(p: Params, cx: &mut Compiler<'_>) -> Spec {
    if p.category.get_ref().is_empty() {
        cx.error(p.category.span(), "category: at least one is needed");
    }
    let categories = p
        .category
        .into_inner()
        .into_iter()
        .map(|c| {
            let deduction = cx.count(&c.deduction, "deduction", 0..1000);
            let list = PhraseList {
                phrases: c.phrases.clone(),
                except: c.except.clone(),
            };
            let set = cx.phrases(&list, &c.name);
            let by_phrase = c
                .suggestions
                .as_ref()
                .map(|s| s.get_ref().clone())
                .unwrap_or_default();
            if let Some(spanned) = &c.suggestions {
                for key in by_phrase.keys() {
                    if !c.phrases.get_ref().iter().any(|p| p.get_ref() == key) {
                        cx.error(
                            spanned.span(),
                            format!("suggestions: {key:?} is not one of the category's phrases"),
                        );
                    }
                }
            }
            let suggestions = set
                .phrases
                .iter()
                .map(|p| by_phrase.get(&p.text).cloned())
                .collect();
            Category {
                name: c.name,
                deduction,
                critical: c.critical,
                suggestion: c.suggestion,
                set,
                suggestions,
            }
        })
        .collect();
    Spec { categories }
}

pub struct Rule<'r> {
    id: RuleId,
    spec: &'r Spec,
    /// Categories (indices) found so far.
    found: Vec<usize>,
}

impl<'r> Rule<'r> {
    pub fn new(id: RuleId, spec: &'r Spec) -> Self {
        Rule {
            id,
            spec,
            found: Vec::new(),
        }
    }

    /// Every banned phrase in one utterance: (category, phrase index, where), overlaps resolved
    /// in favour of the longer phrase whatever its category.
    fn scan(&self, u: &HeardUtterance) -> Vec<(usize, usize, PhraseMatch)> {
        let mut hits: Vec<(usize, usize, PhraseMatch)> = self
            .spec
            .categories
            .iter()
            .enumerate()
            .flat_map(|(c, cat)| {
                cat.set
                    .find_all(&u.heard)
                    .into_iter()
                    .map(move |(p, m)| (c, p, m))
            })
            .collect();
        hits.sort_by_key(|(_, _, m)| (std::cmp::Reverse(m.end - m.start), m.start));
        let mut kept: Vec<(usize, usize, PhraseMatch)> = Vec::new();
        for hit in hits {
            if kept
                .iter()
                .all(|(_, _, k)| hit.2.end <= k.start || hit.2.start >= k.end)
            {
                kept.push(hit);
            }
        }
        kept.sort_by_key(|(_, _, m)| m.start);
        kept
    }
}

impl Check for Rule<'_> {
    fn observe(&mut self, item: &Item<'_>, call: &CallState, out: &mut Vec<Finding>) {
        let Item::Utterance(u) = item else { return };
        if u.party != Party::Agent || call.is_mono() {
            return;
        }
        let Some(heard) = call.utterances.last() else {
            return;
        };
        for (c, p, m) in self.scan(heard) {
            let cat = &self.spec.categories[c];
            let phrase = &cat.set.phrases[p];
            let sound = if m.by_sound {
                ", heard as a homophone"
            } else {
                ""
            };
            out.push(Finding {
                rule: self.id,
                start: u.start,
                end: u.end,
                party: Party::Agent,
                text: u.text.clone(),
                message: format!("服务忌语 [{}]: {}{sound}", cat.name, phrase.text),
                suggestion: Some(
                    cat.suggestions[p]
                        .clone()
                        .unwrap_or_else(|| cat.suggestion.clone()),
                ),
                violation: true,
            });
            self.found.push(c);
        }
    }

    fn finish(&mut self, call: &CallState) -> Judgement {
        if call.is_mono() {
            return Judgement::not_applicable(
                "mono recording: the agent's words cannot be told apart",
            );
        }
        if self.found.is_empty() {
            let n = call.utterances_of(Party::Agent).count();
            return Judgement::pass(format!("no banned phrase in {n} agent utterance(s)"));
        }
        let cats = || self.found.iter().map(|&c| &self.spec.categories[c]);
        let mut names: Vec<&str> = cats().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut j = Judgement::fail(format!(
            "{} banned phrase(s): {}",
            self.found.len(),
            names.join(", ")
        ));
        j.deduction = cats().map(|c| c.deduction).max();
        j.critical = Some(cats().any(|c| c.critical));
        j
    }
}
