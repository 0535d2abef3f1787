//! Traditional → mainland simplified characters, without changing what was said.
//!
//! Whisper writes a share of Mandarin speech in traditional characters (see ASR_NOTES), so every
//! transcript passes through [`to_simplified`]. zhconv offers two simplified targets and neither
//! fits on its own:
//!
//! - `zh-Hans` converts the script only, but keeps non-mainland character forms: 餘額 → 馀额,
//!   帳號 → 帐号, 諮詢 → 谘询, 著急 → 著急. Rule phrases are written 余额, 账号, 咨询, 着急.
//! - `zh-CN` fixes those, but also swaps Taiwan vocabulary for mainland words: 軟體 → 软件,
//!   列印 → 打印, 滑鼠 → 鼠标. Those change the syllables, so the text no longer says what the
//!   speaker said (and homophone matching on pinyin would be comparing words nobody spoke).
//!
//! So the converter is `zh-Hans` plus those `zh-CN` entries that read the same: an entry is kept
//! when, after `zh-Hans` conversion of its source, every character pair shares a toneless pinyin
//! reading (any reading, since both sides are often polyphones). That keeps 余额, 账号, 咨询, 着急,
//! 什么 (from 甚麼) and drops about 480 vocabulary swaps, place names and transliterations.
//!
//! The converter is built once per process (about 40 ms) on first use; it is read-only
//! afterwards and shared by all threads.

use std::sync::LazyLock;

use pinyin::ToPinyinMulti;
use zhconv::tables::{expand_table, ZH_CN_TABLE, ZH_HANS_TABLE};
use zhconv::{get_builtin_converter, Variant, ZhConverter, ZhConverterBuilder};

static SIMPLIFIER: LazyLock<ZhConverter> = LazyLock::new(build_simplifier);

/// Converts traditional characters to mainland simplified ones, keeping the words as spoken.
///
/// Text that is already simplified, and anything that is not Chinese, passes through unchanged.
///
/// ```
/// use zhijian::text::to_simplified;
/// assert_eq!(to_simplified("請問有什麼可以幫您"), "请问有什么可以帮您");
/// assert_eq!(to_simplified("您的餘額不足"), "您的余额不足");
/// ```
pub fn to_simplified(s: &str) -> String {
    SIMPLIFIER.convert(s)
}

/// Builds the converter now rather than on the first call (so the first utterance of a live call
/// does not pay for it).
pub(crate) fn warm_up() {
    LazyLock::force(&SIMPLIFIER);
}

fn build_simplifier() -> ZhConverter {
    let script_only = get_builtin_converter(Variant::ZhHans);
    let vocabulary_swaps: Vec<(String, String)> = expand_table(ZH_CN_TABLE)
        .filter(|(from, to)| !reads_the_same(&script_only.convert(from), to))
        .collect();
    ZhConverterBuilder::new()
        .tables(&[ZH_HANS_TABLE, ZH_CN_TABLE])
        .unconv_pairs(vocabulary_swaps)
        .build()
}

/// True when `a` and `b` have the same length and each pair of characters is identical or shares
/// a toneless reading.
fn reads_the_same(a: &str, b: &str) -> bool {
    a.chars().count() == b.chars().count()
        && a.chars()
            .zip(b.chars())
            .all(|(x, y)| x == y || share_a_reading(x, y))
}

fn share_a_reading(x: char, y: char) -> bool {
    let (Some(xs), Some(ys)) = (x.to_pinyin_multi(), y.to_pinyin_multi()) else {
        return false;
    };
    xs.into_iter()
        .any(|p| ys.into_iter().any(|q| p.plain() == q.plain()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_from_the_brief() {
        assert_eq!(to_simplified("請問有什麼可以幫您"), "请问有什么可以帮您");
        assert_eq!(to_simplified("謝謝您的來電"), "谢谢您的来电");
    }

    #[test]
    fn mainland_character_forms_not_the_script_only_ones() {
        assert_eq!(to_simplified("餘額"), "余额");
        assert_eq!(to_simplified("帳號"), "账号");
        assert_eq!(to_simplified("諮詢"), "咨询");
        assert_eq!(to_simplified("著急"), "着急");
        assert_eq!(to_simplified("甚麼"), "什么");
        assert_eq!(to_simplified("請您稍等"), "请您稍等");
    }

    #[test]
    fn vocabulary_swaps_that_change_the_sound_are_not_made() {
        assert_eq!(to_simplified("軟體"), "软体");
        assert_eq!(to_simplified("列印"), "列印");
        assert_eq!(to_simplified("滑鼠"), "滑鼠");
    }

    #[test]
    fn simplified_and_non_chinese_text_passes_through() {
        for s in [
            "请问有什么可以帮您",
            "软体",
            "余额",
            "VIP 1086, ok?",
            "",
            "🙂",
        ] {
            assert_eq!(to_simplified(s), s);
        }
    }
}
