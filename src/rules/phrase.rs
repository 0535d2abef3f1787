//! Phrases as the standard writes them, found in what was heard.
//!
//! **In:** phrase strings from `rules/*.toml` (compiled once, when the rules load) and each
//! utterance's matching form with its jieba words ([`Heard`], built once per utterance).
//! **Out:** where a phrase occurs ([`PhraseMatch`]), in character offsets of the utterance's
//! matching form.
//!
//! A phrase occurs where its characters do, and:
//! - it starts and ends on jieba word boundaries: 喂 is not in 喂养, 我不懂 is not in 我不懂事;
//! - or, for phrases of two or more Chinese characters, where the same toneless pinyin does, so
//!   Whisper's homophone errors (公号 for 工号) still match. One-character phrases never match by
//!   sound: 喂 (wei) would otherwise be found in 为您服务;
//! - 您 and 你 are the same character here: Whisper base writes 你 for 您 most of the time;
//! - `…` (or `...`) stands for up to `max_gap` characters, `{digits}` for a number, `{org}` for
//!   one of the standard's organisation names.
//!
//! A [`PhraseSet`] is a list of phrases plus `except` phrases: an occurrence covered by an
//! occurrence of an except phrase does not count (如果您不知道 is not the agent's 不知道).
//!
//! Near misses stay misses because matching is on whole phrases, never on single words or edit
//! distance: 我清楚了 does not contain 我不清楚, 您知道吗 does not contain 不知道.

use rustc_hash::FxHashMap as HashMap;

use crate::text::{pinyin_of, TextAnalyzer, Word};

/// Characters treated as one for matching.
fn fold(c: char) -> char {
    match c {
        '您' => '你',
        other => other,
    }
}

/// A toneless pinyin syllable packed into an integer (syllables are at most six ASCII letters),
/// so comparing two is one instruction; 0 is "no syllable".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Syllable(u64);

impl Syllable {
    fn of(s: &str) -> Syllable {
        let s = match s {
            "nin" => "ni",
            other => other,
        };
        if s.is_empty() || s.len() > 8 {
            return Syllable(0);
        }
        Syllable(s.bytes().fold(0u64, |acc, b| (acc << 8) | u64::from(b)))
    }

    fn is_some(self) -> bool {
        self.0 != 0
    }

    /// The initial consonant (zh, ch, sh, or one letter; y and w count), or `None` for a
    /// syllable that starts with a vowel.
    fn initial(self) -> Option<u16> {
        let bytes = self.0.to_be_bytes();
        let letters = &bytes[bytes.iter().position(|&b| b != 0)?..];
        match letters {
            [a @ (b'z' | b'c' | b's'), b'h', ..] => Some(u16::from_be_bytes([*a, b'h'])),
            [a, ..] if !matches!(a, b'a' | b'e' | b'i' | b'o' | b'u' | b'v') => Some(u16::from(*a)),
            _ => None,
        }
    }

    /// Same initial consonant, another final: 后 hou for 号 hao, 国 guo for 工 gong.
    fn shares_initial(self, other: Syllable) -> bool {
        self.is_some()
            && other.is_some()
            && self.initial().is_some_and(|i| other.initial() == Some(i))
    }
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// One utterance, prepared for matching.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heard {
    chars: Vec<char>,
    /// Toneless pinyin of each character, where it has one of its own (Chinese characters).
    syllables: Vec<Syllable>,
    /// `boundary[i]`: a word starts (or the text ends) at char `i`.
    boundary: Vec<bool>,
}

impl Heard {
    /// From an utterance's matching form and its jieba words (which tile it, and give the
    /// pinyin); word boundaries come from the dictionary ([`TextAnalyzer::dictionary_boundaries`]).
    pub fn new(analyzer: &TextAnalyzer, normalized: &str, words: &[Word]) -> Heard {
        let chars: Vec<char> = normalized.chars().map(fold).collect();
        let n = chars.len();
        let mut syllables = vec![Syllable::default(); n];
        let mut boundary = vec![false; n + 1];
        boundary[0] = true;
        boundary[n] = true;
        let cuts = analyzer.dictionary_boundaries(normalized);
        for pair in cuts.windows(2) {
            let (start, end) = (pair[0].min(n), pair[1].min(n));
            boundary[start] = true;
            boundary[end] = true;
            // The dictionary fuses some verbs with the pronoun after them (感谢您, 谢谢您, 祝您):
            // the pronoun is a word of its own for matching, so 谢谢 is found in 谢谢您.
            if end > start + 1 && chars[end - 1] == '你' {
                boundary[end - 1] = true;
            }
        }
        for w in words.iter().filter(|w| w.start < w.end && w.end <= n) {
            let sylls: Vec<&str> = w.pinyin.split(' ').filter(|s| !s.is_empty()).collect();
            let han = chars[w.start..w.end].iter().all(|&c| is_han(c));
            if han && sylls.len() == w.end - w.start {
                for (slot, s) in syllables[w.start..w.end].iter_mut().zip(sylls) {
                    *slot = Syllable::of(s);
                }
            }
        }
        Heard {
            chars,
            syllables,
            boundary,
        }
    }

    /// Analyses `text` (for tests and rule test cases).
    pub fn of(analyzer: &TextAnalyzer, text: &str) -> Heard {
        let t = analyzer.analyze(text);
        Heard::new(analyzer, &t.normalized, &t.words)
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }
}

/// One character of a phrase.
#[derive(Debug, Clone, PartialEq)]
struct Unit {
    ch: char,
    syllable: Syllable,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(Vec<Unit>),
    Digits,
    Gap(usize),
    OneOf(Vec<Vec<Unit>>),
}

/// Where a phrase was found, in chars of the utterance's matching form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhraseMatch {
    pub start: usize,
    pub end: usize,
    /// Some character matched by sound only (a homophone of what the phrase says).
    pub by_sound: bool,
}

/// A compiled phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    /// As written in the rules file.
    pub text: String,
    tokens: Vec<Token>,
    by_sound: bool,
    /// Written with a leading `~`: when matching by sound, one Chinese character may be heard
    /// with the right initial but another final (公后 or 国号 for 工号).
    tolerant: bool,
}

/// What compiling a phrase needs.
pub struct PhraseContext<'a> {
    pub analyzer: &'a TextAnalyzer,
    pub org_names: &'a [String],
    pub max_gap: usize,
    /// Allow matching by toneless pinyin (the standard's `matching.pinyin`).
    pub by_sound: bool,
}

impl Phrase {
    /// Compiles `text`; the error says what is wrong with it.
    pub fn compile(text: &str, cx: &PhraseContext<'_>) -> Result<Phrase, String> {
        let mut tokens = Vec::new();
        let (tolerant, mut rest) = match text.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut han = 0;
        while !rest.is_empty() {
            if rest.contains('~') {
                return Err(format!(
                    "phrase {text:?}: `~` (one sound may be off) may only start a phrase"
                ));
            }
            let next = ["{digits}", "{org}", "…", "..."]
                .iter()
                .filter_map(|m| rest.find(m).map(|i| (i, *m)))
                .min();
            let (literal, marker) = match next {
                Some((i, m)) => (&rest[..i], Some(m)),
                None => (rest, None),
            };
            if literal.contains(['{', '}']) {
                return Err(format!("phrase {text:?}: unknown placeholder in {literal:?} (use {{digits}} or {{org}})"));
            }
            if let Some(units) = units_of(literal, cx.analyzer) {
                han += units.iter().filter(|u| is_han(u.ch)).count();
                tokens.push(Token::Literal(units));
            }
            match marker {
                Some("{digits}") => tokens.push(Token::Digits),
                Some("{org}") => {
                    let names: Vec<Vec<Unit>> = cx
                        .org_names
                        .iter()
                        .filter_map(|name| units_of(name, cx.analyzer))
                        .collect();
                    if names.is_empty() {
                        return Err(format!(
                            "phrase {text:?} uses {{org}} but the standard lists no org_names"
                        ));
                    }
                    han += 2;
                    tokens.push(Token::OneOf(names));
                }
                Some(_) => {
                    if matches!(tokens.last(), None | Some(Token::Gap(_))) {
                        return Err(format!(
                            "phrase {text:?}: `…` must stand between two parts of the phrase"
                        ));
                    }
                    tokens.push(Token::Gap(cx.max_gap));
                }
                None => {}
            }
            rest = match marker {
                Some(m) => &rest[literal.len() + m.len()..],
                None => "",
            };
        }
        if matches!(tokens.last(), Some(Token::Gap(_))) {
            return Err(format!(
                "phrase {text:?}: `…` must stand between two parts of the phrase"
            ));
        }
        if tokens.is_empty() {
            return Err(format!("phrase {text:?} has no characters to match"));
        }
        if tolerant && han < 2 {
            return Err(format!(
                "phrase {text:?}: `~` needs at least two Chinese characters to be sure of"
            ));
        }
        let by_sound = cx.by_sound && han >= 2;
        Ok(Phrase {
            text: text.to_owned(),
            tokens,
            by_sound,
            tolerant: tolerant && by_sound,
        })
    }

    /// The first occurrence in `heard`, if any.
    pub fn find(&self, heard: &Heard) -> Option<PhraseMatch> {
        self.find_from(heard, 0)
    }

    /// Every occurrence, left to right, not overlapping.
    pub fn find_all(&self, heard: &Heard) -> Vec<PhraseMatch> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(m) = self.find_from(heard, from) {
            from = m.end.max(m.start + 1);
            out.push(m);
        }
        out
    }

    /// The occurrence that starts at char `start` (a word boundary where the phrase's first
    /// character could be), if any.
    fn match_at(&self, heard: &Heard, start: usize) -> Option<PhraseMatch> {
        let mut by_sound = false;
        self.match_tokens(heard, 0, start, self.tolerant, &mut by_sound)
            .map(|end| PhraseMatch {
                start,
                end,
                by_sound,
            })
    }

    fn find_from(&self, heard: &Heard, from: usize) -> Option<PhraseMatch> {
        (from..heard.len())
            .filter(|&s| heard.boundary[s] && self.could_start_at(heard, s))
            .find_map(|start| self.match_at(heard, start))
    }

    /// A cheap first look: can the phrase's first character be the one at `at`?
    fn could_start_at(&self, heard: &Heard, at: usize) -> bool {
        let unit_fits = |u: &Unit| {
            heard.chars[at] == u.ch
                || (self.by_sound && u.syllable.is_some() && heard.syllables[at] == u.syllable)
                || (self.tolerant && heard.syllables[at].shares_initial(u.syllable))
        };
        match self.tokens.first() {
            Some(Token::Literal(units)) => units.first().is_some_and(unit_fits),
            Some(Token::OneOf(options)) => options.iter().any(|o| o.first().is_some_and(unit_fits)),
            Some(Token::Digits) => heard.chars[at].is_ascii_digit(),
            Some(Token::Gap(_)) | None => true,
        }
    }

    /// Matches tokens `t..` at char `at`; returns the end of a match that ends on a boundary.
    /// `slack`: one character may still be heard with only its initial right.
    fn match_tokens(
        &self,
        heard: &Heard,
        t: usize,
        at: usize,
        slack: bool,
        by_sound: &mut bool,
    ) -> Option<usize> {
        let Some(token) = self.tokens.get(t) else {
            return heard.boundary[at].then_some(at);
        };
        match token {
            Token::Literal(units) => {
                let mut sound = false;
                let (end, slack) = self.match_units(heard, units, at, slack, &mut sound)?;
                let found = self.match_tokens(heard, t + 1, end, slack, by_sound)?;
                *by_sound |= sound;
                Some(found)
            }
            Token::Digits => {
                let digits = heard.chars[at..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                if digits == 0 {
                    return None;
                }
                self.match_tokens(heard, t + 1, at + digits, slack, by_sound)
            }
            Token::Gap(max) => (0..=*max)
                .take_while(|k| at + k <= heard.len())
                .find_map(|k| self.match_tokens(heard, t + 1, at + k, slack, by_sound)),
            Token::OneOf(options) => options.iter().find_map(|units| {
                let mut sound = false;
                let (end, slack) = self.match_units(heard, units, at, slack, &mut sound)?;
                let found = self.match_tokens(heard, t + 1, end, slack, by_sound)?;
                *by_sound |= sound;
                Some(found)
            }),
        }
    }

    /// Matches `units` at char `at`; returns where they end and whether the slack is left.
    fn match_units(
        &self,
        heard: &Heard,
        units: &[Unit],
        at: usize,
        mut slack: bool,
        by_sound: &mut bool,
    ) -> Option<(usize, bool)> {
        if at + units.len() > heard.len() {
            return None;
        }
        for (i, unit) in units.iter().enumerate() {
            let (c, s) = (heard.chars[at + i], heard.syllables[at + i]);
            if c == unit.ch {
                continue;
            }
            let sounds_alike = self.by_sound && s.is_some() && s == unit.syllable;
            if !sounds_alike {
                if !(slack && s.shares_initial(unit.syllable)) {
                    return None;
                }
                slack = false;
            }
            *by_sound = true;
        }
        Some((at + units.len(), slack))
    }
}

/// A literal part of a phrase, normalised as utterances are: characters with their pinyin.
fn units_of(literal: &str, analyzer: &TextAnalyzer) -> Option<Vec<Unit>> {
    let heard = Heard::of(analyzer, literal);
    if heard.is_empty() {
        return None;
    }
    let units = heard
        .chars
        .iter()
        .zip(&heard.syllables)
        .map(|(&ch, s)| Unit {
            ch,
            syllable: if s.is_some() || !is_han(ch) {
                *s
            } else {
                Syllable::of(&pinyin_of(&ch.to_string()))
            },
        })
        .collect();
    Some(units)
}

/// Which phrases can start at a character: by the character, by its sound, or anywhere.
#[derive(Debug, Clone, Default, PartialEq)]
struct Index {
    by_char: HashMap<char, Vec<usize>>,
    by_sound: HashMap<Syllable, Vec<usize>>,
    /// Tolerant phrases, whose first character may be heard as another sound: tried at every
    /// boundary.
    anywhere: Vec<usize>,
}

impl Index {
    fn new(phrases: &[Phrase]) -> Index {
        let mut index = Index::default();
        for (i, p) in phrases.iter().enumerate() {
            if p.tolerant {
                index.anywhere.push(i);
                continue;
            }
            let firsts: Vec<&Unit> = match p.tokens.first() {
                Some(Token::Literal(units)) => units.first().into_iter().collect(),
                Some(Token::OneOf(options)) => options.iter().filter_map(|o| o.first()).collect(),
                Some(Token::Digits) => {
                    for d in '0'..='9' {
                        index.by_char.entry(d).or_default().push(i);
                    }
                    Vec::new()
                }
                Some(Token::Gap(_)) | None => Vec::new(),
            };
            for u in firsts {
                index.by_char.entry(u.ch).or_default().push(i);
                if p.by_sound && u.syllable.is_some() {
                    index.by_sound.entry(u.syllable).or_default().push(i);
                }
            }
        }
        for list in index
            .by_char
            .values_mut()
            .chain(index.by_sound.values_mut())
        {
            list.sort_unstable();
            list.dedup();
        }
        index
    }

    /// Every occurrence of every phrase, each with its phrase's index, in text order.
    fn find_all(&self, phrases: &[Phrase], heard: &Heard) -> Vec<(usize, PhraseMatch)> {
        let mut found = Vec::new();
        for start in (0..heard.len()).filter(|&s| heard.boundary[s]) {
            let c = heard.chars[start];
            let by_char = self.by_char.get(&c).into_iter().flatten();
            let by_sound = heard.syllables[start]
                .is_some()
                .then(|| self.by_sound.get(&heard.syllables[start]))
                .flatten()
                .into_iter()
                .flatten()
                // A phrase listed under this character too was tried already.
                .filter(|&&i| {
                    !self
                        .by_char
                        .get(&c)
                        .is_some_and(|l| l.binary_search(&i).is_ok())
                });
            for &i in by_char.chain(by_sound).chain(&self.anywhere) {
                if let Some(m) = phrases[i].match_at(heard, start) {
                    found.push((i, m));
                }
            }
        }
        found
    }
}

/// Phrases that count, and phrases that cancel an occurrence they cover.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhraseSet {
    pub phrases: Vec<Phrase>,
    pub except: Vec<Phrase>,
    index: Index,
    except_index: Index,
}

impl PhraseSet {
    pub fn new(phrases: Vec<Phrase>, except: Vec<Phrase>) -> PhraseSet {
        PhraseSet {
            index: Index::new(&phrases),
            except_index: Index::new(&except),
            phrases,
            except,
        }
    }

    /// Occurrences of the phrases that no except phrase covers.
    fn unexcepted(&self, heard: &Heard) -> Vec<(usize, PhraseMatch)> {
        let mut found = self.index.find_all(&self.phrases, heard);
        if !found.is_empty() && !self.except.is_empty() {
            let excepted = self.except_index.find_all(&self.except, heard);
            found.retain(|(_, m)| {
                !excepted
                    .iter()
                    .any(|(_, e)| e.start <= m.start && e.end >= m.end)
            });
        }
        found
    }

    /// Every occurrence of any phrase not covered by an except phrase, longest first where two
    /// overlap (我不知道 wins over 不知道), in text order. Each comes with its phrase's index.
    pub fn find_all(&self, heard: &Heard) -> Vec<(usize, PhraseMatch)> {
        let mut found = self.unexcepted(heard);
        found.sort_by_key(|(_, m)| (std::cmp::Reverse(m.end - m.start), m.start));
        let mut kept: Vec<(usize, PhraseMatch)> = Vec::with_capacity(found.len());
        for (i, m) in found {
            if kept
                .iter()
                .all(|(_, k)| m.end <= k.start || m.start >= k.end)
            {
                kept.push((i, m));
            }
        }
        kept.sort_by_key(|(_, m)| m.start);
        kept
    }

    /// Whether any phrase occurs.
    pub fn occurs_in(&self, heard: &Heard) -> bool {
        !self.unexcepted(heard).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::analyzer;

    fn orgs() -> Vec<String> {
        vec!["中国联通".into(), "客服中心".into()]
    }

    fn phrase(text: &str) -> Phrase {
        let orgs = orgs();
        let cx = PhraseContext {
            analyzer: analyzer(),
            org_names: &orgs,
            max_gap: 8,
            by_sound: true,
        };
        Phrase::compile(text, &cx).unwrap()
    }

    fn found(p: &str, heard: &str) -> bool {
        phrase(p).find(&Heard::of(analyzer(), heard)).is_some()
    }

    #[test]
    fn a_phrase_is_found_in_a_sentence_whatever_the_punctuation() {
        assert!(found("我不知道", "这个我不知道。"));
        assert!(found("你问我，我问谁", "你问我我问谁？"));
        assert!(found("请问有什么可以帮您", "您好,请问有什么可以帮你?"));
    }

    #[test]
    fn word_boundaries_keep_a_phrase_inside_a_longer_word_from_matching() {
        assert!(found("喂", "喂，什么事？"));
        assert!(!found("喂", "我们在喂养小猫"));
        assert!(!found("我不懂", "这孩子我不懂事"));
    }

    #[test]
    fn near_misses_are_misses() {
        assert!(!found("我不清楚", "好的，我清楚了。"));
        assert!(!found("不知道", "您知道吗？这个活动很划算。"));
        assert!(!found("我没办法", "这个办法您可以试一下。"));
        assert!(!found("没办法", "我们有办法解决。"));
    }

    #[test]
    fn homophones_match_by_sound_but_single_characters_never_do() {
        let heard = Heard::of(analyzer(), "我的公号是一零八六");
        let m = phrase("工号").find(&heard).expect("公号 sounds like 工号");
        assert!(m.by_sound);
        assert!(phrase("工号")
            .find(&Heard::of(analyzer(), "工号幺零八六"))
            .is_some_and(|m| !m.by_sound));
        assert!(!found("喂", "很高兴为您服务"), "为 (wei) is not 喂");
    }

    #[test]
    fn a_tolerant_phrase_takes_one_character_heard_with_its_initial_only() {
        // Whisper's mishearings of 工号 before a job number in the corpus calls.
        for heard in ["公后五八三零", "恭贺九二四六", "国号3618", "高号729"] {
            assert!(found("~工号{digits}", heard), "{heard}");
        }
        // One character off, not two; the initial must be right; the digits must follow.
        assert!(!found("~工号{digits}", "高后3618"));
        assert!(!found("~工号{digits}", "公司3618"));
        assert!(!found("~工号{digits}", "公后很高兴"));
        // Only tolerant phrases are tolerant, and only when matching by sound.
        assert!(!found("工号{digits}", "公后五八三零"));
        let orgs = orgs();
        let exact = PhraseContext {
            analyzer: analyzer(),
            org_names: &orgs,
            max_gap: 8,
            by_sound: false,
        };
        let heard = Heard::of(analyzer(), "公后五八三零");
        assert!(Phrase::compile("~工号{digits}", &exact)
            .unwrap()
            .find(&heard)
            .is_none());
        // Still on word boundaries: 航行用卡中心 is segmented 航行/用/卡/中心, and 行用卡中心
        // (xing for xin) does not start at one.
        assert!(!found("~信用卡中心", "您好，航行用卡中心"));
        // In a phrase set, a tolerant phrase is found wherever it starts.
        let set = PhraseSet::new(vec![phrase("~工号{digits}")], vec![]);
        assert_eq!(
            set.find_all(&Heard::of(analyzer(), "您好国号3618")).len(),
            1
        );
    }

    #[test]
    fn nin_and_ni_are_the_same_character() {
        assert!(found("您好", "你好，联通客服"));
        assert!(found("你好", "您好"));
    }

    #[test]
    fn a_misheard_character_does_not_hide_the_word_before_it() {
        // Whisper heard 工号四五零九 as 公号资五零九; jieba's HMM makes 公号资 one word.
        assert!(found(
            "工号",
            "您好，移动客服，公号资五零九，请问有什么可以帮您"
        ));
        assert!(found("稍等", "我看一下，请离稍等"));
        assert!(!found("你好", "你好像弄错了"));
    }

    #[test]
    fn a_pronoun_jieba_fused_to_its_verb_is_a_word_of_its_own() {
        assert!(found("感谢", "感谢您的来电"));
        assert!(found("谢谢", "好的，谢谢您"));
        assert!(found("谢谢您", "好的，谢谢您"));
        assert!(
            !found("谢", "谢谢您"),
            "the rest of the word still holds together"
        );
    }

    #[test]
    fn placeholders_match_numbers_org_names_and_gaps() {
        assert!(found("工号{digits}", "工号幺零八六为您服务"));
        assert!(!found("工号{digits}", "工号为您服务"));
        assert!(found("{org}", "您好，中国联通，很高兴为您服务"));
        assert!(found("{org}", "您好，联通客服中心"));
        assert!(!found("{org}", "您好，很高兴为您服务"));
        assert!(found(
            "请问还有什么…可以帮您",
            "请问还有什么其他问题可以帮您"
        ));
        assert!(found("请问还有什么…可以帮您", "请问还有什么可以帮您"));
        assert!(!found(
            "请问还有什么…可以帮您",
            "请问还有什么问题呢？我们这边的新套餐特别优惠，您看看是否有需要我可以帮您"
        ));
    }

    #[test]
    fn bad_phrases_are_refused_with_a_reason() {
        let orgs = orgs();
        let cx = PhraseContext {
            analyzer: analyzer(),
            org_names: &orgs,
            max_gap: 8,
            by_sound: true,
        };
        for (bad, why) in [
            ("工~号", "`~`"),
            ("~号", "`~`"),
            ("，。", "no characters"),
            ("…再见", "between"),
            ("再见…", "between"),
            ("工号{number}", "placeholder"),
        ] {
            let err = Phrase::compile(bad, &cx).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let none: Vec<String> = vec![];
        let cx = PhraseContext {
            analyzer: analyzer(),
            org_names: &none,
            max_gap: 8,
            by_sound: true,
        };
        assert!(Phrase::compile("{org}", &cx)
            .unwrap_err()
            .contains("org_names"));
    }

    #[test]
    fn except_phrases_cancel_what_they_cover_and_the_longest_phrase_wins() {
        let set = PhraseSet::new(
            vec![phrase("不知道"), phrase("我不知道")],
            vec![phrase("如果…不知道")],
        );
        let hits = set.find_all(&Heard::of(analyzer(), "如果您不知道密码，可以重置。"));
        assert!(hits.is_empty(), "{hits:?}");
        let hits = set.find_all(&Heard::of(analyzer(), "这个我不知道，我也不知道。"));
        let phrases: Vec<usize> = hits.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            phrases,
            [1, 0],
            "我不知道 first (not its 不知道), then the 不知道 of 我也不知道: {hits:?}"
        );
    }
}
