//! Reading the service standard from `rules/*.toml`, strictly.
//!
//! **In:** a directory with `standard.toml` and one `<rule id>.toml` per rule (or the copy of the
//! project's `rules/` built into the binary). **Out:** a [`RuleSet`]: every rule's parameters
//! checked and its phrases compiled, ready for any number of [`super::Engine`]s.
//!
//! Nothing is guessed: an unknown key, a missing key, a value of the wrong type or out of range,
//! a phrase that cannot match, a missing rule file — each is an error located as
//! `file:line:column` with what was expected, and every error of every file is reported at once.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::Spanned;

use crate::call::CallEvent;
use crate::party::Party;
use crate::text::TextAnalyzer;

use super::phrase::{Phrase, PhraseContext, PhraseSet};
use super::{
    answer_time, banned_phrase, closing, courtesy, dead_air, greeting, hangup_order,
    hold_etiquette, interruption, silent_call, speech_rate, RuleId, Verdict,
};

/// The project's `rules/`, built into the binary: the default standard when no directory is
/// given and none is found.
const BUILT_IN: &[(&str, &str)] = &[
    ("standard.toml", include_str!("../../rules/standard.toml")),
    (
        "answer_time.toml",
        include_str!("../../rules/answer_time.toml"),
    ),
    ("greeting.toml", include_str!("../../rules/greeting.toml")),
    (
        "banned_phrase.toml",
        include_str!("../../rules/banned_phrase.toml"),
    ),
    (
        "hangup_order.toml",
        include_str!("../../rules/hangup_order.toml"),
    ),
    ("closing.toml", include_str!("../../rules/closing.toml")),
    (
        "hold_etiquette.toml",
        include_str!("../../rules/hold_etiquette.toml"),
    ),
    ("dead_air.toml", include_str!("../../rules/dead_air.toml")),
    (
        "interruption.toml",
        include_str!("../../rules/interruption.toml"),
    ),
    (
        "speech_rate.toml",
        include_str!("../../rules/speech_rate.toml"),
    ),
    (
        "silent_call.toml",
        include_str!("../../rules/silent_call.toml"),
    ),
    ("courtesy.toml", include_str!("../../rules/courtesy.toml")),
];

/// Where the built-in rules say they come from in error messages and scorecards.
pub const BUILT_IN_DIR: &str = "<built-in>/rules";

/// One problem in a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{}: cannot read the rules: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Located>),
}

fn render(errors: &[Located]) -> String {
    let lines: Vec<String> = errors.iter().map(Located::to_string).collect();
    format!(
        "{}\n({} problem(s) in the rules; see rules/README.md for the format)",
        lines.join("\n"),
        errors.len()
    )
}

/// The rule's identity and scoring, the `[rule]` table of every rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    pub id: Spanned<String>,
    /// The rule's name in the standard (标准开头语).
    pub name: String,
    /// What the rule checks, for people.
    pub description: String,
    /// Where in the seeds the rule comes from.
    pub source: String,
    /// Points deducted when the rule fails.
    pub weight: u32,
    /// A failure sets the score to 0 (一票否决).
    pub critical: bool,
    /// A disabled rule says `not_applicable` on every call.
    pub enabled: bool,
    /// What to say instead, shown with the rule's findings.
    #[serde(default)]
    pub suggestion: Option<String>,
}

/// The standard as a whole: `standard.toml`.
#[derive(Debug, Clone)]
pub struct Standard {
    pub name: String,
    pub version: String,
    pub full_score: u32,
    pub org_names: Vec<String>,
    pub by_sound: bool,
    pub max_gap: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StandardFile {
    name: String,
    version: String,
    full_score: Spanned<u32>,
    org_names: Vec<Spanned<String>>,
    matching: MatchingFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchingFile {
    by_sound: bool,
    max_gap: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile<P> {
    rule: RuleMeta,
    params: P,
    #[serde(default)]
    case: Vec<Case>,
}

/// A list of phrases as a rules file writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhraseList {
    pub phrases: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub except: Vec<Spanned<String>>,
}

/// A named list of phrases (a part of the greeting, a kind of polite word…).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedList {
    pub name: String,
    pub phrases: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub except: Vec<Spanned<String>>,
}

/// A named phrase set, compiled.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub set: PhraseSet,
}

/// A rule file's own test: utterances and events in, the expected verdict out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub expect: Verdict,
    #[serde(default)]
    pub layout: Option<CaseLayout>,
    #[serde(default)]
    pub utterances: Vec<CaseUtterance>,
    #[serde(default)]
    pub events: Vec<CallEvent>,
    /// The recording's length (default: the last speech or event, plus 1 s).
    #[serde(default)]
    pub duration: Option<f64>,
    /// How many findings the rule must report.
    #[serde(default)]
    pub findings: Option<usize>,
    /// Text every finding's message (or, with no findings, the note) must contain.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseLayout {
    Stereo,
    Mono,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseUtterance {
    pub party: Party,
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// One rule, loaded.
#[derive(Debug)]
pub struct LoadedRule {
    pub id: RuleId,
    pub meta: RuleMeta,
    pub path: PathBuf,
    pub spec: Spec,
    pub cases: Vec<Case>,
}

/// A rule's compiled parameters.
#[derive(Debug)]
pub enum Spec {
    AnswerTime(answer_time::Spec),
    Greeting(greeting::Spec),
    BannedPhrase(banned_phrase::Spec),
    HangupOrder(hangup_order::Spec),
    Closing(closing::Spec),
    HoldEtiquette(hold_etiquette::Spec),
    DeadAir(dead_air::Spec),
    Interruption(interruption::Spec),
    SpeechRate(speech_rate::Spec),
    SilentCall(silent_call::Spec),
    Courtesy(courtesy::Spec),
}

/// The whole standard, loaded and checked.
#[derive(Debug)]
pub struct RuleSet {
    /// Where it was read from ([`BUILT_IN_DIR`] for the built-in copy).
    pub dir: PathBuf,
    pub standard: Standard,
    /// In [`RuleId::ALL`] order, one per rule.
    pub rules: Vec<LoadedRule>,
    /// The files as read, by name.
    files: BTreeMap<String, String>,
    /// See [`RuleSet::fingerprint`].
    fingerprint: String,
}

/// Settings that override `standard.toml` for one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Match phrases by sound (toneless pinyin) or not.
    pub by_sound: Option<bool>,
}

/// Compiles values of one file, collecting every problem with its location.
pub struct Compiler<'a> {
    pub path: &'a Path,
    text: &'a str,
    pub errors: Vec<Located>,
    analyzer: &'a TextAnalyzer,
    org_names: &'a [String],
    by_sound: bool,
    max_gap: usize,
}

impl Compiler<'_> {
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = line_column(self.text, span.start);
        self.errors.push(Located {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        });
    }

    /// Compiles a phrase list; bad phrases are reported and left out.
    pub fn phrases(&mut self, list: &PhraseList, what: &str) -> PhraseSet {
        if list.phrases.get_ref().is_empty() {
            self.error(
                list.phrases.span(),
                format!("{what}: the phrase list is empty"),
            );
        }
        PhraseSet::new(
            self.compile_all(list.phrases.get_ref()),
            self.compile_all(&list.except),
        )
    }

    /// Compiles named lists; a list of them must not be empty either.
    pub fn parts(&mut self, lists: &Spanned<Vec<NamedList>>, what: &str) -> Vec<Part> {
        if lists.get_ref().is_empty() {
            self.error(lists.span(), format!("{what}: at least one is needed"));
        }
        lists
            .get_ref()
            .iter()
            .map(|l| Part {
                name: l.name.clone(),
                set: self.phrases(
                    &PhraseList {
                        phrases: l.phrases.clone(),
                        except: l.except.clone(),
                    },
                    &l.name,
                ),
            })
            .collect()
    }

    pub fn compile_all(&mut self, texts: &[Spanned<String>]) -> Vec<Phrase> {
        texts.iter().filter_map(|t| self.phrase(t)).collect()
    }

    pub fn phrase(&mut self, text: &Spanned<String>) -> Option<Phrase> {
        let cx = PhraseContext {
            analyzer: self.analyzer,
            org_names: self.org_names,
            max_gap: self.max_gap,
            by_sound: self.by_sound,
        };
        match Phrase::compile(text.get_ref(), &cx) {
            Ok(p) => Some(p),
            Err(message) => {
                self.error(text.span(), message);
                None
            }
        }
    }

    /// A number of seconds (or any quantity) that must lie in `range`.
    pub fn within(&mut self, value: &Spanned<f64>, name: &str, range: Range<f64>) -> f64 {
        let v = *value.get_ref();
        if !(range.start..=range.end).contains(&v) || !v.is_finite() {
            self.error(
                value.span(),
                format!(
                    "{name} = {v} is out of range: expected {} to {}",
                    range.start, range.end
                ),
            );
        }
        v
    }

    /// A whole number that must lie in `range`.
    pub fn count(&mut self, value: &Spanned<u32>, name: &str, range: Range<u32>) -> u32 {
        let v = *value.get_ref();
        if !(range.start..=range.end).contains(&v) {
            self.error(
                value.span(),
                format!(
                    "{name} = {v} is out of range: expected {} to {}",
                    range.start, range.end
                ),
            );
        }
        v
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Located {
    let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
    Located {
        path: path.to_path_buf(),
        line,
        column,
        message: e.message().trim().to_string(),
    }
}

fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Located> {
    toml::from_str(text).map_err(|e| toml_error(path, text, &e))
}

impl RuleSet {
    /// The standard built into the binary (the project's `rules/`).
    pub fn built_in(analyzer: &TextAnalyzer) -> Result<RuleSet, RulesError> {
        let files = BUILT_IN
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect();
        RuleSet::from_files(
            Path::new(BUILT_IN_DIR),
            files,
            analyzer,
            Overrides::default(),
        )
    }

    /// Reads a rules directory.
    pub fn load(dir: &Path, analyzer: &TextAnalyzer) -> Result<RuleSet, RulesError> {
        let entries = std::fs::read_dir(dir).map_err(|source| RulesError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut files = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|source| RulesError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).map_err(|source| RulesError::Read {
                    path: path.clone(),
                    source,
                })?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                files.insert(name, text);
            }
        }
        RuleSet::from_files(dir, files, analyzer, Overrides::default())
    }

    /// The same rules compiled again with some of `standard.toml`'s settings overridden (to
    /// measure what a setting is worth: `zhijian eval --by-sound off`).
    pub fn with_overrides(
        &self,
        analyzer: &TextAnalyzer,
        overrides: Overrides,
    ) -> Result<RuleSet, RulesError> {
        RuleSet::from_files(&self.dir, self.files.clone(), analyzer, overrides)
    }

    fn from_files(
        dir: &Path,
        files: BTreeMap<String, String>,
        analyzer: &TextAnalyzer,
        overrides: Overrides,
    ) -> Result<RuleSet, RulesError> {
        let mut errors = Vec::new();
        let missing = |name: &str| {
            Located {
            path: dir.join(name),
            line: 1,
            column: 1,
            message: "missing: every rule of the standard needs its file (set `enabled = false` in it to switch \
                      the rule off)"
                .into(),
        }
        };
        for name in files.keys() {
            let stem = name.trim_end_matches(".toml");
            if stem != "standard" && stem.parse::<RuleId>().is_err() {
                errors.push(Located {
                    path: dir.join(name),
                    line: 1,
                    column: 1,
                    message: format!(
                        "not a rule of the standard: {}",
                        stem.parse::<RuleId>().unwrap_err()
                    ),
                });
            }
        }
        let Some(text) = files.get("standard.toml") else {
            errors.push(missing("standard.toml"));
            return Err(RulesError::Invalid(errors));
        };
        let standard_path = dir.join("standard.toml");
        let standard = match load_standard(&standard_path, text) {
            Ok(s) => Standard {
                by_sound: overrides.by_sound.unwrap_or(s.by_sound),
                ..s
            },
            Err(mut e) => {
                errors.append(&mut e);
                return Err(RulesError::Invalid(errors));
            }
        };
        let mut rules = Vec::new();
        for id in RuleId::ALL {
            let name = format!("{id}.toml");
            let Some(text) = files.get(&name) else {
                errors.push(missing(&name));
                continue;
            };
            let path = dir.join(&name);
            let mut cx = Compiler {
                path: &path,
                text,
                errors: Vec::new(),
                analyzer,
                org_names: &standard.org_names,
                by_sound: standard.by_sound,
                max_gap: standard.max_gap,
            };
            let loaded = load_rule(id, &mut cx);
            errors.append(&mut cx.errors);
            if let Some((meta, spec, cases)) = loaded {
                rules.push(LoadedRule {
                    id,
                    meta,
                    path,
                    spec,
                    cases,
                });
            }
        }
        if errors.is_empty() {
            let fingerprint = fingerprint_of(&files, overrides);
            Ok(RuleSet {
                dir: dir.to_path_buf(),
                standard,
                rules,
                files,
                fingerprint,
            })
        } else {
            Err(RulesError::Invalid(errors))
        }
    }

    pub fn rule(&self, id: RuleId) -> &LoadedRule {
        // A RuleSet holds every rule by construction.
        self.rules
            .iter()
            .find(|r| r.id == id)
            .expect("every rule is loaded")
    }

    /// The rule set's version as content: a SHA-256 (hex) of every file it was read from, names
    /// included. It changes whenever any rules file does (a weight, a phrase, a test case), so a
    /// store can tell which calls were scored under other rules; the same files give the same
    /// fingerprint wherever they are (the built-in copy and `rules/` on disk agree). Overrides
    /// given for the run (matching by sound on or off) are part of it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

fn fingerprint_of(files: &BTreeMap<String, String>, overrides: Overrides) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    // No overrides hash as nothing, so the files alone give the same fingerprint as before.
    if let Some(by_sound) = overrides.by_sound {
        hash.update(if by_sound {
            b"by_sound=on"
        } else {
            b"by_sound=of"
        });
    }
    // Lengths delimit names and contents, so no two different sets of files hash alike.
    for (name, text) in files {
        for part in [name, text] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
    }
    crate::model::hex(&hash.finalize())
}

fn load_standard(path: &Path, text: &str) -> Result<Standard, Vec<Located>> {
    let file: StandardFile = parse(path, text).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let mut located = |span: Range<usize>, message: String| {
        let (line, column) = line_column(text, span.start);
        errors.push(Located {
            path: path.to_path_buf(),
            line,
            column,
            message,
        });
    };
    if *file.full_score.get_ref() == 0 {
        located(
            file.full_score.span(),
            "full_score must be at least 1".into(),
        );
    }
    if *file.matching.max_gap.get_ref() > 30 {
        located(
            file.matching.max_gap.span(),
            "matching.max_gap must be 0 to 30 characters".into(),
        );
    }
    for org in &file.org_names {
        if org.get_ref().trim().chars().count() < 2 {
            located(
                org.span(),
                format!("org name {:?} is too short to recognise", org.get_ref()),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Standard {
        name: file.name,
        version: file.version,
        full_score: file.full_score.into_inner(),
        org_names: file
            .org_names
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        by_sound: file.matching.by_sound,
        max_gap: *file.matching.max_gap.get_ref() as usize,
    })
}

fn load_rule(id: RuleId, cx: &mut Compiler<'_>) -> Option<(RuleMeta, Spec, Vec<Case>)> {
    fn typed<P: DeserializeOwned>(
        cx: &mut Compiler<'_>,
        id: RuleId,
        compile: impl FnOnce(P, &mut Compiler<'_>) -> Spec,
    ) -> Option<(RuleMeta, Spec, Vec<Case>)> {
        let file: RuleFile<P> = match parse(cx.path, cx.text) {
            Ok(f) => f,
            Err(e) => {
                cx.errors.push(e);
                return None;
            }
        };
        if file.rule.id.get_ref() != id.as_str() {
            cx.error(
                file.rule.id.span(),
                format!(
                    "id = {:?} but this is the file of rule {id:?}; the file name names the rule",
                    file.rule.id.get_ref()
                ),
            );
        }
        let spec = compile(file.params, cx);
        Some((file.rule, spec, file.case))
    }
    match id {
        RuleId::AnswerTime => typed(cx, id, |p, cx| {
            Spec::AnswerTime(answer_time::compile(p, cx))
        }),
        RuleId::Greeting => typed(cx, id, |p, cx| Spec::Greeting(greeting::compile(p, cx))),
        RuleId::BannedPhrase => typed(cx, id, |p, cx| {
            Spec::BannedPhrase(banned_phrase::compile(p, cx))
        }),
        RuleId::HangupOrder => typed(cx, id, |p, cx| {
            Spec::HangupOrder(hangup_order::compile(p, cx))
        }),
        RuleId::Closing => typed(cx, id, |p, cx| Spec::Closing(closing::compile(p, cx))),
        RuleId::HoldEtiquette => typed(cx, id, |p, cx| {
            Spec::HoldEtiquette(hold_etiquette::compile(p, cx))
        }),
        RuleId::DeadAir => typed(cx, id, |p, cx| Spec::DeadAir(dead_air::compile(p, cx))),
        RuleId::Interruption => typed(cx, id, |p, cx| {
            Spec::Interruption(interruption::compile(p, cx))
        }),
        RuleId::SpeechRate => typed(cx, id, |p, cx| {
            Spec::SpeechRate(speech_rate::compile(p, cx))
        }),
        RuleId::SilentCall => typed(cx, id, |p, cx| {
            Spec::SilentCall(silent_call::compile(p, cx))
        }),
        RuleId::Courtesy => typed(cx, id, |p, cx| Spec::Courtesy(courtesy::compile(p, cx))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::analyzer;

    fn project_rules() -> BTreeMap<String, String> {
        BUILT_IN
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    fn load_with(edit: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<RuleSet, RulesError> {
        let mut files = project_rules();
        edit(&mut files);
        RuleSet::from_files(Path::new("rules"), files, analyzer(), Overrides::default())
    }

    fn errors_of(edit: impl FnOnce(&mut BTreeMap<String, String>)) -> Vec<Located> {
        match load_with(edit) {
            Err(RulesError::Invalid(e)) => e,
            other => panic!("expected errors, got {other:?}"),
        }
    }

    #[test]
    fn the_project_rules_load_with_every_rule() {
        let set = RuleSet::built_in(analyzer()).unwrap();
        let ids: Vec<RuleId> = set.rules.iter().map(|r| r.id).collect();
        assert_eq!(ids, RuleId::ALL);
        assert!(set.standard.org_names.iter().any(|o| o.contains("联通")));
    }

    #[test]
    fn the_fingerprint_follows_the_files_not_where_they_are() {
        let built_in = RuleSet::built_in(analyzer()).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let on_disk = RuleSet::load(&dir, analyzer()).unwrap();
        assert_eq!(built_in.fingerprint(), on_disk.fingerprint());
        assert_eq!(built_in.fingerprint().len(), 64);
        let heavier = load_with(|files| {
            let text = files.get_mut("greeting.toml").unwrap();
            *text = text.replacen("weight = 10", "weight = 12", 1);
        })
        .unwrap();
        assert_ne!(heavier.fingerprint(), built_in.fingerprint());
        let commented = load_with(|files| {
            files
                .get_mut("closing.toml")
                .unwrap()
                .push_str("\n# reviewed\n");
        })
        .unwrap();
        assert_ne!(commented.fingerprint(), built_in.fingerprint());
    }

    #[test]
    fn the_directory_on_disk_is_the_built_in_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let from_disk = RuleSet::load(&dir, analyzer()).unwrap();
        assert_eq!(from_disk.rules.len(), RuleId::ALL.len());
        for (name, text) in BUILT_IN {
            assert_eq!(&std::fs::read_to_string(dir.join(name)).unwrap(), text);
        }
    }

    #[test]
    fn an_unknown_key_is_reported_with_file_line_and_column() {
        let errors = errors_of(|f| {
            let t = f.get_mut("dead_air.toml").unwrap();
            *t = t.replace("max_silence =", "max_silense =");
        });
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(e.path, Path::new("rules/dead_air.toml"));
        let text = &project_rules()["dead_air.toml"];
        let line = text
            .lines()
            .position(|l| l.starts_with("max_silence"))
            .unwrap()
            + 1;
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains("max_silense"), "{e}");
    }

    #[test]
    fn a_value_out_of_range_names_the_key_and_the_range() {
        let errors = errors_of(|f| {
            let t = f.get_mut("interruption.toml").unwrap();
            *t = t.replace("min_overlap = 1.0", "min_overlap = -3.0");
        });
        assert!(
            errors[0].message.contains("min_overlap = -3")
                && errors[0].message.contains("out of range"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_wrong_type_is_reported() {
        let errors = errors_of(|f| {
            let t = f.get_mut("answer_time.toml").unwrap();
            *t = t.replace("max_rings = 3", "max_rings = \"three\"");
        });
        assert!(
            errors[0].to_string().starts_with("rules/answer_time.toml:"),
            "{errors:?}"
        );
    }

    #[test]
    fn every_problem_of_every_file_is_reported_at_once() {
        let errors = errors_of(|f| {
            f.remove("courtesy.toml");
            f.insert("greetings.toml".into(), String::new());
            let t = f.get_mut("closing.toml").unwrap();
            *t = t.replacen("\"再见\"", "\"…\"", 1);
        });
        let all: Vec<String> = errors.iter().map(Located::to_string).collect();
        let all = all.join("\n");
        assert!(all.contains("rules/courtesy.toml:1:1: missing"), "{all}");
        assert!(
            all.contains("rules/greetings.toml:1:1: not a rule"),
            "{all}"
        );
        assert!(
            all.contains("rules/closing.toml:") && all.contains("`…`"),
            "{all}"
        );
    }

    #[test]
    fn the_file_name_names_the_rule() {
        let errors = errors_of(|f| {
            let t = f.get_mut("closing.toml").unwrap();
            *t = t.replace("id = \"closing\"", "id = \"greeting\"");
        });
        assert!(
            errors[0].message.contains("file name names the rule"),
            "{errors:?}"
        );
    }

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        assert_eq!(line_column("a\n您好x", "a\n您好".len()), (2, 3));
        assert_eq!(line_column("", 10), (1, 1));
    }
}
