//! Matching form: the display form reduced to what rules and CER compare.
//!
//! Lowercase, no whitespace, no punctuation, numbers as Arabic digits (see [`super::numerals`]).
//! Three marks survive because they change a number's meaning: `.` between digits (3.5 is not 35),
//! `%` after digits (百分之五十 and 50% both become 50%), and `:` between digits, which becomes 点
//! so that 10:30 and 十点三十 both read 10点30.

use jieba_rs::Jieba;

use super::numerals::arabize;

/// The matching form of an already display-normalised text.
pub(crate) fn matching_form(jieba: &Jieba, display: &str) -> String {
    let spoken = clock_colons_as_dian(
        display
            .chars()
            .flat_map(char::to_lowercase)
            .filter(|c| !c.is_whitespace()),
    );
    let arabic: Vec<char> = arabize(jieba, &spoken).chars().collect();

    let mut out = String::with_capacity(arabic.len() * 3);
    for (i, &c) in arabic.iter().enumerate() {
        let digit_before = i > 0 && arabic[i - 1].is_ascii_digit();
        let digit_after = arabic.get(i + 1).is_some_and(char::is_ascii_digit);
        let keep = c.is_alphanumeric()
            || (c == '.' && digit_before && digit_after)
            || (c == '%' && digit_before);
        if keep {
            out.push(c);
        }
    }
    out
}

fn clock_colons_as_dian(chars: impl Iterator<Item = char>) -> String {
    let chars: Vec<char> = chars.collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let between_digits = i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c == ':' && between_digits {
                '点'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::LazyLock;

    static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

    fn m(s: &str) -> String {
        matching_form(&JIEBA, s)
    }

    #[test]
    fn punctuation_and_whitespace_go() {
        assert_eq!(m("您好, 请问有什么可以帮您?"), "您好请问有什么可以帮您");
        assert_eq!(m("!?.,;:()\"'-...🙂"), "");
    }

    #[test]
    fn latin_is_lowercased() {
        assert_eq!(m("VIP 会员 Ok"), "vip会员ok");
    }

    #[test]
    fn marks_that_carry_a_number_stay() {
        assert_eq!(m("3.5元"), "3.5元");
        assert_eq!(m("好的. 5"), "好的5");
        assert_eq!(m("50%的用户"), "50%的用户");
        assert_eq!(m("百分之五十"), "50%");
        assert_eq!(m("10:30"), "10点30");
        assert_eq!(m("十点三十"), "10点30");
        assert_eq!(m("1,000元"), "1000元");
        assert_eq!(m("一千元"), "1000元");
    }

    #[test]
    fn spaces_inside_a_number_do_not_split_it() {
        assert_eq!(m("二十 四"), "24");
        assert_eq!(m("幺零 八六"), "1086");
    }
}
