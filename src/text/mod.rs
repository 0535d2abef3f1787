//! Text: from what Whisper heard to what rules match.
//!
//! **In:** raw transcript text of one utterance (any UTF-8: traditional or simplified Chinese,
//! full-width punctuation, Latin, digits, emoji, nothing at all).
//!
//! **Out:** a [`Text`] with three views of it:
//! - `display`: what was heard, in mainland simplified characters ([`to_simplified`]), half-width
//!   punctuation, letters and digits, single spaces, trimmed. Numbers stay as heard.
//! - `normalized`: the matching form. Lowercase, no whitespace or punctuation, and numbers as
//!   Arabic digits (二十四 → 24, 幺零八六 → 1086) without touching words that merely contain a
//!   numeral (一下, 统一, 十分感谢). Rules, phrase lists and [`cer`] all compare this form; the
//!   same function runs on both sides of every comparison, so like is compared with like.
//! - `words`: jieba words of `normalized`, each with its char span in `normalized` and its
//!   toneless pinyin ([`pinyin_of`]), for matching through homophone errors (工号/公号).
//!
//! **Threads:** [`TextAnalyzer`] loads jieba's dictionary once (about 0.2 s) and is
//! then read-only: build one per process and share `&TextAnalyzer` across worker threads. The
//! simplification table is a process-wide lazy static, warmed by [`TextAnalyzer::new`]. Nothing
//! here blocks or does I/O; an utterance takes tens of microseconds, so it can run on any
//! worker thread (but, like all CPU work, not on an async runtime thread).
//!
//! Nothing here panics on any input.
//!
//! # Layout
//! - `simplify`: traditional → mainland simplified, keeping the words spoken.
//! - `display`: the display form.
//! - `matching`: the matching form; `numerals`: Chinese numerals → digits.
//! - `syllables`: toneless pinyin.
//! - `cer`: character error rate.

mod cer;
mod display;
mod matching;
mod numerals;
mod simplify;
mod syllables;

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

pub use self::cer::{cer, Cer};
pub use self::simplify::to_simplified;
pub use self::syllables::pinyin_of;

/// One utterance's text, three ways (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Text {
    /// Simplified, half-width, numerals as heard.
    pub display: String,
    /// Matching form: no punctuation or whitespace, lowercase, numerals as digits.
    pub normalized: String,
    /// The words of `normalized`, in order, covering it exactly.
    pub words: Vec<Word>,
}

/// One jieba word of a [`Text`]'s `normalized` form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    /// Char offset of the first character in `normalized`.
    pub start: usize,
    /// Char offset just past the last character (exclusive).
    pub end: usize,
    /// Toneless pinyin, syllables separated by single spaces ("gong hao"); digits and Latin keep
    /// their text ("1086").
    pub pinyin: String,
}

/// Normalises and segments text. Build once (it loads jieba's dictionary) and share by reference.
pub struct TextAnalyzer {
    jieba: Jieba,
}

impl std::fmt::Debug for TextAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextAnalyzer").finish_non_exhaustive()
    }
}

impl Default for TextAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl TextAnalyzer {
    /// Loads jieba's built-in dictionary and the simplification table.
    pub fn new() -> Self {
        simplify::warm_up();
        TextAnalyzer {
            jieba: Jieba::new(),
        }
    }

    /// All three views of what was heard.
    pub fn analyze(&self, heard: &str) -> Text {
        let display = display::display_form(heard);
        let normalized = matching::matching_form(&self.jieba, &display);
        let words = self.words(&normalized);
        Text {
            display,
            normalized,
            words,
        }
    }

    /// The matching form of `s` (what [`Text::normalized`] holds), for reference texts and rule
    /// phrases.
    pub fn normalize(&self, s: &str) -> String {
        matching::matching_form(&self.jieba, &display::display_form(s))
    }

    /// Char offsets where the dictionary alone (no HMM) puts word boundaries in `normalized`,
    /// 0 and the length included. Phrase matching uses these: where Whisper misheard a
    /// character, jieba's HMM glues the wrong character to its neighbour (公号资), but the
    /// dictionary keeps real words whole and splits what it does not know.
    pub fn dictionary_boundaries(&self, normalized: &str) -> Vec<usize> {
        let mut out = vec![0];
        out.extend(self.jieba.cut(normalized, false).into_iter().map(|t| t.end));
        out.dedup();
        out
    }

    fn words(&self, normalized: &str) -> Vec<Word> {
        // HMM on: it joins characters the dictionary lacks (闪退, names) into words, as jieba does
        // by default. (Numeral recognition uses the dictionary alone; see `numerals`.)
        self.jieba
            .cut(normalized, true)
            .into_iter()
            .map(|token| Word {
                text: token.word.to_owned(),
                start: token.start,
                end: token.end,
                pinyin: pinyin_of(token.word),
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::LazyLock;

    /// One analyzer for all tests: building one loads jieba's dictionary.
    pub(crate) fn analyzer() -> &'static TextAnalyzer {
        static ANALYZER: LazyLock<TextAnalyzer> = LazyLock::new(TextAnalyzer::new);
        &ANALYZER
    }

    fn words(s: &str) -> Vec<String> {
        analyzer()
            .analyze(s)
            .words
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    /// Slicing `normalized` by each word's span gives the word, and the spans tile it in order.
    fn assert_spans_tile(text: &Text) {
        let chars: Vec<char> = text.normalized.chars().collect();
        let mut at = 0;
        for w in &text.words {
            assert_eq!(w.start, at, "gap or overlap before {w:?} in {text:?}");
            assert!(w.end > w.start && w.end <= chars.len(), "{w:?} in {text:?}");
            assert_eq!(chars[w.start..w.end].iter().collect::<String>(), w.text);
            at = w.end;
        }
        assert_eq!(at, chars.len(), "words stop short in {text:?}");
    }

    #[test]
    fn analyzer_is_shareable_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<TextAnalyzer>();
        let a = analyzer();
        let results: Vec<Text> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| a.analyze("請問您的工號是多少？")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("analysis thread panicked"))
                .collect()
        });
        assert!(results.iter().all(|t| t == &results[0]));
    }

    #[test]
    fn the_three_views() {
        let t = analyzer().analyze("請問您的工號是幺零八六嗎？");
        assert_eq!(t.display, "请问您的工号是幺零八六吗?");
        assert_eq!(t.normalized, "请问您的工号是1086吗");
        let gonghao = t
            .words
            .iter()
            .find(|w| w.text == "工号")
            .expect("工号 is a word");
        assert_eq!(gonghao.pinyin, "gong hao");
        let number = t
            .words
            .iter()
            .find(|w| w.text == "1086")
            .expect("1086 is a word");
        assert_eq!(number.pinyin, "1086");
        assert_spans_tile(&t);
    }

    #[test]
    fn normalize_is_the_normalized_view() {
        for s in [
            "請問有什麼可以幫您",
            "二十四小时,服务热线一二三四!",
            "VIP  会员",
            "",
        ] {
            assert_eq!(analyzer().normalize(s), analyzer().analyze(s).normalized);
        }
    }

    #[test]
    fn numerals_match_across_ways_of_writing() {
        let n = |s| analyzer().normalize(s);
        assert_eq!(n("二十四小时"), n("24小时"));
        assert_eq!(n("一二三四"), n("1234"));
        assert_eq!(n("幺二三四"), "1234");
        assert_eq!(n("工号幺零八六"), "工号1086");
        assert_eq!(n("一百零五"), "105");
        assert_eq!(n("两千"), "2000");
        assert_eq!(n("铃响三声"), n("铃响3声"));
        assert_eq!(n("第一"), "第1");
    }

    #[test]
    fn words_with_numeral_characters_that_are_not_numbers_stay() {
        for s in [
            "一下",
            "一样",
            "一些",
            "一点",
            "统一",
            "万一",
            "一起",
            "十分感谢",
            "一直",
            "唯一",
        ] {
            assert_eq!(analyzer().normalize(s), s);
        }
        assert_eq!(
            analyzer().normalize("请您稍等一下,我帮您统一处理"),
            "请您稍等一下我帮您统一处理"
        );
    }

    #[test]
    fn word_spans_tile_the_normalized_text() {
        for s in [
            "您好，中国联通客服中心，工号幺零八六，请问有什么可以帮您？",
            "好的, 请您稍等... 感谢您的耐心等待, VIP会员24小时服务!",
            "🙂 ok 百分之五十 3.5元 10:30",
            "",
            "，。！",
        ] {
            assert_spans_tile(&analyzer().analyze(s));
        }
    }

    #[test]
    fn homophone_errors_share_pinyin_and_near_misses_do_not() {
        assert_eq!(pinyin_of("工号"), "gong hao");
        assert_eq!(pinyin_of("工号"), pinyin_of("公号"));
        assert_ne!(pinyin_of("稍等"), pinyin_of("收等"));
    }

    #[test]
    fn near_miss_phrases_segment_apart() {
        assert_eq!(words("我不清楚"), ["我", "不", "清楚"]);
        assert_eq!(words("我清楚了"), ["我", "清楚", "了"]);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let long: String = "您好，工号幺零八六，二十四小时🙂 ABC ".repeat(2_000);
        let numerals: String = "一二三四五六七八九十百千万亿".repeat(500);
        for s in [
            "",
            " ",
            "，。！？、；：",
            "🙂🎉👍🏽",
            "Hello, World! 123",
            "\u{0}\u{7}\u{200B}\u{FEFF}",
            "é\u{301}İ",
            "十十十百百千千万万亿亿",
            "九九九九九九九九九九九九九九九九九九九九九九亿亿",
            "99999999999999999999999999万",
            long.as_str(),
            numerals.as_str(),
        ] {
            let t = analyzer().analyze(s);
            assert_spans_tile(&t);
            let _ = cer(analyzer(), s, "您好");
        }
    }
}
