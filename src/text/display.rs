//! Display form: what was heard, in simplified characters and half-width punctuation.
//!
//! Whisper mixes full-width and half-width forms (，and , ；１ and 1) and sprinkles spaces. The
//! display form settles on one of each so transcripts read and diff cleanly, and otherwise keeps
//! what was heard: numerals stay as Whisper wrote them, words are not touched.

use super::simplify::to_simplified;

/// Simplified characters, half-width punctuation, letters and digits, single spaces, trimmed.
pub(crate) fn display_form(heard: &str) -> String {
    let simplified = to_simplified(heard);
    let mut out = String::with_capacity(simplified.len());
    // A space is only written once the next visible character arrives, which collapses runs and
    // trims both ends without a second pass.
    let mut pending_space = false;
    for c in simplified.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        push_half_width(c, &mut out);
    }
    out
}

/// Zero-width and control characters: they carry nothing a reader or a rule could use.
fn is_invisible(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

fn push_half_width(c: char, out: &mut String) {
    let mapped = match c {
        // The full-width block mirrors printable ASCII one to one: ，？！：；（）０-９Ａ-Ｚ and so on.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '。' | '｡' => '.',
        // The enumeration comma has no ASCII twin; a comma is what it does.
        '、' | '､' => ',',
        '“' | '”' | '「' | '」' | '『' | '』' => '"',
        '‘' | '’' => '\'',
        '【' | '〔' => '[',
        '】' | '〕' => ']',
        '—' | '–' => '-',
        '…' => {
            out.push_str("...");
            return;
        }
        _ => c,
    };
    out.push(mapped);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_punctuation_becomes_half_width() {
        assert_eq!(
            display_form("您好，请问？好的！注意：一；二（三）"),
            "您好,请问?好的!注意:一;二(三)"
        );
        assert_eq!(display_form("好的。谢谢、再见"), "好的.谢谢,再见");
        assert_eq!(display_form("「您好」…"), "\"您好\"...");
    }

    #[test]
    fn full_width_letters_and_digits_become_ascii() {
        assert_eq!(display_form("ＶＩＰ会员１０８６号"), "VIP会员1086号");
    }

    #[test]
    fn numerals_are_kept_as_heard() {
        assert_eq!(
            display_form("工号幺零八六,二十四小时"),
            "工号幺零八六,二十四小时"
        );
    }

    #[test]
    fn whitespace_is_collapsed_and_trimmed() {
        assert_eq!(
            display_form("  您好 \t\n 请问\u{3000}\u{3000}有什么 "),
            "您好 请问 有什么"
        );
        assert_eq!(display_form(" \u{3000}\n"), "");
    }

    #[test]
    fn invisible_characters_are_dropped() {
        assert_eq!(display_form("您\u{200B}好\u{FEFF}\u{7}"), "您好");
    }

    #[test]
    fn traditional_is_simplified_first() {
        assert_eq!(display_form("謝謝您的來電！"), "谢谢您的来电!");
    }
}
