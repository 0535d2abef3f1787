//! Chinese numerals → Arabic digits, for the matching form only.
//!
//! Whisper writes numbers either way (二十四 or 24, 幺零八六 or 1086), and reference texts and rule
//! phrases do too. Both sides go through this one function, so what matters most is that it is
//! predictable; what it must never do is turn a word that merely contains a numeral character
//! (一下, 统一, 十分感谢, 万一) into a number.
//!
//! # How a numeral is recognised
//! A jieba word (dictionary only, no HMM guessing, so the split does not depend on neighbouring
//! unknown words) is numeric when it is, in full:
//! - numeral characters only: 二十四, 一二三四, 幺, 零八六, 2;
//! - numeral characters and then a measure word from [`MEASURES`], maybe after 多: 三声, 十点,
//!   两千块, 一个, 三十多个;
//! - either of those after 第 or 百分之: 第一, 第一次, 百分之五十;
//!
//! and it is not one of the lexicalised words in [`LEXICALISED`] (十分, 万一, 千万, 一点, 四周 …),
//! unless a number follows it (一块五, 一点五) or it follows a clock hour (三点十分).
//! Everything else is left alone: 一下, 一样, 一些, 一起, 一直 (下, 样, 些, 起, 直 are not measure
//! words here), 统一, 唯一, 星期一, 一模一样, 看一看.
//!
//! Two refinements keep single characters honest:
//! - a word that starts with a bare 百, 千, 万 or 亿 (万元, 千克, 百度, 百万) is numeric only when it
//!   directly continues a number (2万元, 五千克): 百度 stays 百度;
//! - 一 on its own (我一打开就…) is numeric only next to another numeral (一 零八六) or after a
//!   keypad verb (请按一).
//!
//! The numeric characters then form runs, and a run is converted as a whole, across word borders
//! (jieba splits 二零二四年 as 二 | 零 | 二 | 四年):
//! - with a unit (十百千万亿) it is read as a quantity: 二十四 → 24, 一百零五 → 105, 两千 → 2000,
//!   两万五 → 25000, 2万 → 20000; a run that is not a well-formed quantity (二三十, 十二三, the
//!   ranges people say) is left as it is;
//! - without a unit it is read digit by digit: 一二三四 → 1234, 幺零八六 → 1086, 二〇二四 → 2024;
//!   except two neighbouring digits, which are a range (三四个, 七八个, 两三天) and are left alone;
//! - a single digit is that digit: 三声 → 3声, 第一 → 第1 (ordinals keep their 第, so 第一 and
//!   第1 match and neither matches a bare 1).
//!
//! Finally 百分之N becomes N%, as Whisper writes it.
//!
//! Not done: decimals (三点五 → 3点5 and 一块五 → 1块5, where Whisper may write 3.5 or 1.5元; 点
//! is also the hour, 十点三十 → 10点30), 一个多月 (a count inside a longer word), and financial
//! numerals (壹贰叁).

use jieba_rs::Jieba;

/// Words that, after numeral characters, make the whole word a number. Whole suffixes, compared
/// exactly, so 十分钟 counts (分钟) and 三分之一 does not.
#[rustfmt::skip]
const MEASURES: &[&str] = &[
    // counts and times
    "个", "位", "名", "次", "遍", "回", "趟", "人", "家", "声", "句", "段", "页", "种", "项",
    "笔", "件", "份", "套", "本", "张", "条", "台", "部", "辆", "只", "支", "根", "瓶", "盒",
    "包", "箱", "袋", "杯", "碗", "顿", "倍", "成", "折", "期", "届", "个人",
    // money
    "元", "块", "角", "毛", "分", "块钱", "毛钱", "分钱", "百分点",
    // dates and clock
    "岁", "年", "月", "日", "号", "天", "周", "星期", "个月", "周年", "季度", "小时", "钟头",
    "分钟", "秒", "秒钟", "点", "点钟", "点半", "刻",
    // places
    "层", "楼", "栋", "幢", "单元", "室", "户", "号线", "号楼",
    // quantities
    "米", "公里", "千米", "厘米", "毫米", "公斤", "斤", "两", "克", "千克", "吨", "升", "度", "兆",
];

/// Words shaped like numbers (numerals, or numerals and a measure word) whose usual sense is not a
/// number. Found by listing every such word in jieba's dictionary and reading the list; words for
/// money (三角, 四角: also triangle, corners) stay numbers because that is what they mean on a service call.
#[rustfmt::skip]
const LEXICALISED: &[&str] = &[
    // adverbs and set phrases: very, a little, together, once, in case, by all means, one by one
    "十分", "万分", "一点", "一点儿", "一块", "一块儿", "一度", "一刻", "万一", "千万", "万万", "一一",
    "一五一十", "三三两两", "千千万万", "万岁", "八成", "四周", "四季", "零件", "万家", "千张",
    // named days and plans
    "五一", "五四", "八一", "九五", "三九", "十一五", "十二五",
];

/// Verbs after which a lone 一 is a key or option number: 请按一, 拨一.
const KEYPAD_VERBS: &[&str] = &["按", "拨", "选", "输入", "回复", "请按", "再按"];

/// Prefixes that keep a numeral numeric whatever follows them in the word.
const NUMERAL_MARKERS: &[&str] = &["第", "百分之"];

fn digit_value(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '幺' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn unit_value(c: char) -> Option<u64> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1_000,
        '万' => 10_000,
        '亿' => 100_000_000,
        _ => return None,
    })
}

fn is_chinese_numeral(c: char) -> bool {
    digit_value(c).is_some() || unit_value(c).is_some()
}

fn is_numeral(c: char) -> bool {
    c.is_ascii_digit() || is_chinese_numeral(c)
}

/// How a word's numeral characters may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Not a number.
    Not,
    /// A number.
    Number,
    /// A number only if the character before it is one (万元 in 2万元).
    AfterNumber,
    /// A number only if a neighbouring character is one (a lone 一).
    NextToNumber,
    /// A lexicalised word (十分, 一块), in the char range `word`: a number only when a number follows
    /// it directly (一块五, 一点五) or it follows a clock hour (三点十分).
    Idiom { word: (usize, usize) },
}

/// Reads `word` as a whole: which of its characters (as a char range) are a numeral, and how.
fn classify(word: &str, previous: Option<&str>) -> (Reading, std::ops::Range<usize>) {
    let not = (Reading::Not, 0..0);
    let (marker, rest) = NUMERAL_MARKERS
        .iter()
        .find_map(|m| word.strip_prefix(m).map(|rest| (m.chars().count(), rest)))
        .unwrap_or((0, word));
    let numeral_len = rest.chars().take_while(|&c| is_numeral(c)).count();
    let Some(first) = rest.chars().next() else {
        return not;
    };
    if numeral_len == 0 {
        return not;
    }
    let suffix: String = rest.chars().skip(numeral_len).collect();
    if !is_measure(&suffix) {
        return not;
    }
    let reading = if marker > 0 {
        Reading::Number
    } else if matches!(first, '百' | '千' | '万' | '亿') {
        Reading::AfterNumber
    } else if word == "一" {
        if previous.is_some_and(|p| KEYPAD_VERBS.contains(&p)) {
            Reading::Number
        } else {
            Reading::NextToNumber
        }
    } else {
        Reading::Number
    };
    (reading, marker..marker + numeral_len)
}

/// Nothing, a measure word, or 多 ("and more") with or without one: 三十, 三十个, 三十多, 三十多个.
fn is_measure(suffix: &str) -> bool {
    let after_duo = suffix.strip_prefix('多').unwrap_or(suffix);
    after_duo.is_empty() || MEASURES.contains(&after_duo)
}

/// Rewrites the numbers in `text` as Arabic digits (see the module docs for what counts).
///
/// `text` should already be lowercased and free of whitespace; punctuation is welcome and ends a
/// number (十,二十 is two numbers).
pub(crate) fn arabize(jieba: &Jieba, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let numeric = numeric_chars(jieba, text, &chars);

    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if !numeric[i] {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let end = (i..chars.len())
            .find(|&k| !numeric[k])
            .unwrap_or(chars.len());
        let run = &chars[i..end];
        // A run glued to a decimal point or to other digits is part of something this module
        // does not read (3.5万): leave it.
        let glued = run[0].is_ascii_digit() && i > 0 && matches!(chars[i - 1], '.' | '0'..='9');
        match convert_run(run).filter(|_| !glued) {
            Some(digits) => out.extend(digits.chars()),
            None => out.extend_from_slice(run),
        }
        i = end;
    }
    percent_after_digits(&out)
}

/// For each character of `text`: is it part of a number?
fn numeric_chars(jieba: &Jieba, text: &str, chars: &[char]) -> Vec<bool> {
    let mut reading = vec![Reading::Not; chars.len()];
    let mut previous: Option<&str> = None;
    for token in jieba.cut(text, false) {
        let (mut how, numeral) = classify(token.word, previous);
        if how != Reading::Not && LEXICALISED.contains(&token.word) {
            how = Reading::Idiom {
                word: (token.start, token.end),
            };
        }
        for k in numeral {
            if let Some(r) = reading.get_mut(token.start + k) {
                *r = how;
            }
        }
        previous = Some(token.word);
    }

    let mut numeric = vec![false; chars.len()];
    for k in 0..chars.len() {
        numeric[k] = match reading[k] {
            Reading::Number => true,
            Reading::AfterNumber => k > 0 && numeric[k - 1],
            Reading::Not | Reading::NextToNumber | Reading::Idiom { .. } => false,
        };
    }
    // Right to left, so that in a chain of them each sees what follows it already resolved.
    for k in (0..chars.len()).rev() {
        if let Reading::Idiom { word: (start, end) } = reading[k] {
            let number_follows = numeric.get(end).copied().unwrap_or(false);
            let after_clock_hour = start >= 2
                && chars.get(start - 1) == Some(&'点')
                && numeric.get(start - 2).copied().unwrap_or(false);
            numeric[k] = number_follows || after_clock_hour;
        }
    }
    for k in 0..chars.len() {
        if reading[k] == Reading::NextToNumber {
            numeric[k] = (k > 0 && numeric[k - 1]) || numeric.get(k + 1).copied().unwrap_or(false);
        }
    }
    numeric
}

/// Digits for one run of numeral characters, or `None` to leave it as written.
fn convert_run(run: &[char]) -> Option<String> {
    if !run.iter().any(|&c| is_chinese_numeral(c)) {
        return None;
    }
    if run.iter().any(|&c| unit_value(c).is_some()) {
        return quantity(run).map(|n| n.to_string());
    }
    if is_range(run) {
        return None;
    }
    run.iter()
        .map(|&c| match digit_value(c) {
            Some(d) => char::from_digit(d as u32, 10),
            None => c.is_ascii_digit().then_some(c),
        })
        .collect()
}

/// Two neighbouring digits said together are a range: 三四个 is "three or four", not 34.
fn is_range(run: &[char]) -> bool {
    let [a, b] = run else {
        return false;
    };
    if matches!(a, '零' | '〇' | '幺') || a.is_ascii_digit() || b.is_ascii_digit() {
        return false;
    }
    match (digit_value(*a), digit_value(*b)) {
        (Some(x), Some(y)) => y == x + 1 || (x, y) == (3, 5),
        _ => false,
    }
}

/// Reads a run with units (十百千万亿) as a quantity; `None` when it is not well formed.
fn quantity(run: &[char]) -> Option<u64> {
    // Completed 亿 sections, the 万 section being built, and the part below 万.
    let mut yi_part: u64 = 0;
    let mut wan_part: u64 = 0;
    let mut group: u64 = 0;
    // A digit waiting for its unit; `None` once consumed.
    let mut pending: Option<u64> = None;
    // Within a group the units must fall: 千 then 百 then 十.
    let mut smallest_unit_in_group: u64 = u64::MAX;
    let mut last_unit: u64 = 0;
    let mut zero_since_unit = false;
    let mut wan_seen = false;
    let mut yi_seen = false;

    let mut i = 0;
    while i < run.len() {
        let c = run[i];
        if c.is_ascii_digit() {
            let end = (i..run.len())
                .find(|&k| !run[k].is_ascii_digit())
                .unwrap_or(run.len());
            let text: String = run[i..end].iter().collect();
            if pending.is_some() {
                return None;
            }
            pending = Some(text.parse().ok()?);
            i = end;
            continue;
        }
        i += 1;
        if let Some(d) = digit_value(c) {
            // 幺 is only ever read digit by digit; two digits in a row are a range (二三十).
            if c == '幺' || pending.is_some() {
                return None;
            }
            if d == 0 {
                zero_since_unit = true;
            } else {
                pending = Some(d);
            }
            continue;
        }
        let unit = unit_value(c)?;
        match unit {
            10 | 100 | 1_000 => {
                if unit >= smallest_unit_in_group {
                    return None;
                }
                let coefficient = match pending.take() {
                    Some(n) => n,
                    // 十五, 一百十: a bare 十 means one ten; a bare 百 or 千 is not a number.
                    None if unit == 10 => 1,
                    None => return None,
                };
                group = group.checked_add(coefficient.checked_mul(unit)?)?;
                smallest_unit_in_group = unit;
            }
            10_000 => {
                let section = group.checked_add(pending.take().unwrap_or(0))?;
                if section == 0 || wan_seen {
                    return None;
                }
                wan_part = section.checked_mul(10_000)?;
                group = 0;
                wan_seen = true;
                smallest_unit_in_group = u64::MAX;
            }
            _ => {
                let section = wan_part
                    .checked_add(group)?
                    .checked_add(pending.take().unwrap_or(0))?;
                if section == 0 || yi_seen {
                    return None;
                }
                yi_part = section.checked_mul(100_000_000)?;
                wan_part = 0;
                group = 0;
                wan_seen = false;
                yi_seen = true;
                smallest_unit_in_group = u64::MAX;
            }
        }
        last_unit = unit;
        zero_since_unit = false;
    }

    if let Some(d) = pending {
        // 一百五 is 150 and 两万五 is 25000: a last digit straight after a unit counts in the next
        // place down. After 零 (一百零五) or with no unit before it, it is just units.
        let place = if zero_since_unit || last_unit == 0 {
            1
        } else {
            last_unit / 10
        };
        if place > 1 && d > 9 {
            return None;
        }
        group = group.checked_add(d.checked_mul(place)?)?;
    }
    yi_part.checked_add(wan_part)?.checked_add(group)
}

/// 百分之五十 was said; Whisper writes 50%. Turns `百分之` + digits into digits + `%`.
fn percent_after_digits(chars: &[char]) -> String {
    const PREFIX: [char; 3] = ['百', '分', '之'];
    let mut out = String::with_capacity(chars.len() * 3);
    let mut i = 0;
    while i < chars.len() {
        if chars[i..].starts_with(&PREFIX) && chars.get(i + 3).is_some_and(|c| c.is_ascii_digit()) {
            let end = (i + 3..chars.len())
                .find(|&k| !chars[k].is_ascii_digit())
                .unwrap_or(chars.len());
            out.extend(&chars[i + 3..end]);
            out.push('%');
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::LazyLock;

    static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

    fn arabic(s: &str) -> String {
        arabize(&JIEBA, s)
    }

    fn q(s: &str) -> Option<u64> {
        quantity(&s.chars().collect::<Vec<_>>())
    }

    #[test]
    fn quantities() {
        assert_eq!(q("二十四"), Some(24));
        assert_eq!(q("十"), Some(10));
        assert_eq!(q("十五"), Some(15));
        assert_eq!(q("一百零五"), Some(105));
        assert_eq!(q("一百一十"), Some(110));
        assert_eq!(q("两千"), Some(2000));
        assert_eq!(q("一千零五十"), Some(1050));
        assert_eq!(q("一万零五百"), Some(10_500));
        assert_eq!(q("十万"), Some(100_000));
        assert_eq!(q("一千万"), Some(10_000_000));
        assert_eq!(q("三亿五千万"), Some(350_000_000));
        assert_eq!(q("2万"), Some(20_000));
        assert_eq!(q("1万2千"), Some(12_000));
        assert_eq!(q("一万亿"), Some(1_000_000_000_000));
    }

    #[test]
    fn spoken_abbreviations_count_in_the_next_place_down() {
        assert_eq!(q("一百五"), Some(150));
        assert_eq!(q("两万五"), Some(25_000));
        assert_eq!(q("三千零五"), Some(3005));
    }

    #[test]
    fn malformed_quantities_are_not_read() {
        for s in [
            "二三十",
            "十二三",
            "十十",
            "百千",
            "百",
            "千五",
            "万万",
            "幺百",
            "1万25",
        ] {
            assert_eq!(q(s), None, "{s}");
        }
        assert_eq!(q("一亿一亿"), None, "亿 twice");
        assert_eq!(q("99999999999999999999万"), None, "overflow");
    }

    #[test]
    fn numbers_become_digits() {
        assert_eq!(arabic("二十四小时"), "24小时");
        assert_eq!(arabic("服务热线一二三四"), "服务热线1234");
        assert_eq!(arabic("幺二三四"), "1234");
        assert_eq!(arabic("工号幺零八六"), "工号1086");
        assert_eq!(arabic("请记一下我的工号一零八六"), "请记一下我的工号1086");
        assert_eq!(arabic("一百零五元"), "105元");
        assert_eq!(arabic("两千块钱"), "2000块钱");
        assert_eq!(arabic("二零二四年三月十五日"), "2024年3月15日");
        assert_eq!(arabic("二〇二四年"), "2024年");
        assert_eq!(arabic("十点三十"), "10点30");
        assert_eq!(arabic("两万元"), "20000元");
        assert_eq!(arabic("2万元"), "20000元");
        assert_eq!(arabic("五千克"), "5000克");
        assert_eq!(arabic("三十多个"), "30多个");
        assert_eq!(arabic("一百多"), "100多");
    }

    #[test]
    fn arabic_digits_stay_as_they_are() {
        for s in ["24小时", "工号1086", "3.5万", "iphone12", "10086", "5g网络"] {
            assert_eq!(arabic(s), s);
        }
    }

    #[test]
    fn words_that_only_contain_numerals_stay() {
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
            "千万不要挂机",
            "看一看",
            "等一等",
            "我一打开就闪退",
            "一模一样",
            "星期一",
            "百度",
            "零件",
            "四周",
            "一五一十",
            "乱七八糟",
            "十几个",
            "三分之一",
        ] {
            assert_eq!(arabic(s), s);
        }
    }

    #[test]
    fn ranges_stay() {
        for s in [
            "三四个",
            "七八个",
            "两三天",
            "一两个",
            "二三十个",
            "十二三个",
        ] {
            assert_eq!(arabic(s), s);
        }
    }

    #[test]
    fn ordinals_and_counted_things() {
        assert_eq!(arabic("第一"), "第1");
        assert_eq!(arabic("第一次"), "第1次");
        assert_eq!(arabic("电话铃响三声内接听"), "电话铃响3声内接听");
        assert_eq!(arabic("一个问题"), "1个问题");
    }

    #[test]
    fn lexicalised_words_are_numbers_when_numbers_surround_them() {
        assert_eq!(arabic("一块五"), "1块5");
        assert_eq!(arabic("一点五"), "1点5");
        assert_eq!(arabic("三点十分"), "3点10分");
        assert_eq!(arabic("十分钟"), "10分钟");
        assert_eq!(arabic("十分感谢"), "十分感谢");
        assert_eq!(arabic("我们一块去"), "我们一块去");
    }

    #[test]
    fn a_lone_yi_is_a_number_only_on_a_keypad_or_among_digits() {
        assert_eq!(arabic("请按一"), "请按1");
        assert_eq!(arabic("我一打开就闪退"), "我一打开就闪退");
    }

    #[test]
    fn punctuation_ends_a_number() {
        assert_eq!(arabic("十,二十"), "10,20");
    }

    #[test]
    fn percentages_are_written_as_whisper_writes_them() {
        assert_eq!(arabic("百分之五十"), "50%");
        assert_eq!(arabic("百分之50"), "50%");
        assert_eq!(arabic("百分之百"), "百分之百");
    }
}
