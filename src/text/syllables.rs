//! Toneless pinyin, for matching through Whisper's homophone errors (工号 → 公号 are both
//! "gong hao").
//!
//! Each Han character gives one syllable: lowercase, no tone, `ü` written `v` (绿 → "lv", 女 → "nv")
//! so the text stays ASCII and can be typed the way pinyin keyboards take it; syllables are
//! separated by single spaces. Anything else that is a letter or digit keeps its text, a run of
//! such characters counting as one item (1086 → "1086", VIP → "vip"); whitespace, punctuation and
//! symbols give nothing.
//!
//! Polyphones take the pinyin crate's first reading, except in a short list of words common on
//! service calls whose usual reading differs ([`WORD_READINGS`]: 银行 "yin hang", 还款 "huan kuan",
//! 重新 "chong xin"…). The same function serves utterances and rule phrases, so whatever reading
//! is chosen, both sides get the same one.

use pinyin::ToPinyin;

/// Words whose reading is not their characters' first readings. Longest match wins.
const WORD_READINGS: &[(&str, &str)] = &[
    ("银行", "yin hang"),
    ("行业", "hang ye"),
    ("还款", "huan kuan"),
    ("还钱", "huan qian"),
    ("还清", "huan qing"),
    ("归还", "gui huan"),
    ("退还", "tui huan"),
    ("偿还", "chang huan"),
    ("重新", "chong xin"),
    ("重复", "chong fu"),
    ("重置", "chong zhi"),
    ("重启", "chong qi"),
    ("重拨", "chong bo"),
    ("了解", "liao jie"),
    ("长期", "chang qi"),
    ("长时间", "chang shi jian"),
    ("时长", "shi chang"),
    ("延长", "yan chang"),
    ("调整", "tiao zheng"),
    ("空调", "kong tiao"),
    ("音乐", "yin yue"),
    ("着急", "zhao ji"),
    ("便宜", "pian yi"),
    ("会计", "kuai ji"),
    ("出差", "chu chai"),
];

/// Toneless pinyin of `s`: syllables (and runs of letters or digits) joined by single spaces.
///
/// ```
/// use zhijian::text::pinyin_of;
/// assert_eq!(pinyin_of("工号"), "gong hao");
/// assert_eq!(pinyin_of("工号1086"), "gong hao 1086");
/// ```
pub fn pinyin_of(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut items: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((len, reading)) = word_reading_at(&chars[i..]) {
            items.push(reading.to_owned());
            i += len;
            continue;
        }
        let c = chars[i];
        if let Some(p) = c.to_pinyin() {
            items.push(p.plain().replace('ü', "v"));
            i += 1;
            continue;
        }
        // A run of characters without pinyin: keep it if it says something (letters, digits).
        let end = (i..chars.len())
            .find(|&k| chars[k].is_whitespace() || chars[k].to_pinyin().is_some())
            .unwrap_or(chars.len());
        let end = end.max(i + 1);
        let run: String = chars[i..end]
            .iter()
            .flat_map(|c| c.to_lowercase())
            .collect();
        if run.chars().any(char::is_alphanumeric) {
            items.push(run);
        }
        i = end;
    }
    items.join(" ")
}

fn word_reading_at(chars: &[char]) -> Option<(usize, &'static str)> {
    WORD_READINGS
        .iter()
        .filter(|(word, _)| {
            word.chars().count() <= chars.len() && word.chars().zip(chars).all(|(a, &b)| a == b)
        })
        .map(|(word, reading)| (word.chars().count(), *reading))
        .max_by_key(|&(len, _)| len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toneless_lowercase_syllables_separated_by_spaces() {
        assert_eq!(pinyin_of("工号"), "gong hao");
        assert_eq!(pinyin_of("您"), "nin");
        assert_eq!(pinyin_of("请您稍等"), "qing nin shao deng");
    }

    #[test]
    fn whisper_homophones_read_the_same() {
        assert_eq!(pinyin_of("工号"), pinyin_of("公号"));
        assert_eq!(pinyin_of("联通"), pinyin_of("连通"));
        assert_ne!(pinyin_of("稍等"), pinyin_of("收等"));
        assert_ne!(pinyin_of("你"), pinyin_of("您"));
    }

    #[test]
    fn u_umlaut_is_written_v() {
        assert_eq!(pinyin_of("绿"), "lv");
        assert_eq!(pinyin_of("女"), "nv");
        assert_eq!(pinyin_of("略"), "lve");
        assert_eq!(pinyin_of("去"), "qu");
    }

    #[test]
    fn letters_and_digits_keep_their_text() {
        assert_eq!(pinyin_of("工号1086"), "gong hao 1086");
        assert_eq!(pinyin_of("VIP会员"), "vip hui yuan");
        assert_eq!(pinyin_of("50%"), "50%");
        assert_eq!(pinyin_of("3.5元"), "3.5 yuan");
    }

    #[test]
    fn punctuation_whitespace_and_symbols_give_nothing() {
        assert_eq!(pinyin_of("您好, 请问?🙂"), "nin hao qing wen");
        assert_eq!(pinyin_of(""), "");
        assert_eq!(pinyin_of(" ,.!"), "");
    }

    #[test]
    fn common_polyphone_words_take_their_usual_reading() {
        assert_eq!(pinyin_of("银行"), "yin hang");
        assert_eq!(pinyin_of("还款"), "huan kuan");
        assert_eq!(pinyin_of("还款"), pinyin_of("环款"));
        assert_eq!(pinyin_of("请重新拨打"), "qing chong xin bo da");
        // Outside those words the first reading stays.
        assert_eq!(pinyin_of("还有"), "hai you");
    }
}
