//! Guards against what Whisper gets wrong on Mandarin, applied to each decoded clip.
//!
//! - whisper.cpp may split one Chinese character's UTF-8 bytes across two segments: segment
//!   bytes are re-joined at character boundaries before any text is made ([`join_segments`]).
//! - On noise, Whisper base invents subtitle credits learnt from video captions (字幕由…提供,
//!   请不吝点赞订阅转发打赏, 谢谢观看): such segments are dropped ([`is_hallucinated_credit`]).
//! - On non-speech it may loop on one token (嗯嗯嗯嗯…, 我我我我…): a segment that is mostly one
//!   repeated unit is dropped, and shorter loops are cut to one repetition ([`collapse_loops`]).

/// Phrases that only occur in video captions; a segment containing one is not call speech.
const CREDIT_MARKERS: &[&str] = &[
    "字幕由",
    "字幕提供",
    "字幕製作",
    "字幕制作",
    "字幕志愿者",
    "中文字幕",
    "请不吝点赞",
    "点赞订阅",
    "订阅转发",
    "转发打赏",
    "明镜与点点",
    "点点栏目",
    "谢谢观看",
    "感谢观看",
    "多谢收看",
    "谢谢收看",
    "欢迎订阅",
    "请订阅",
    "优优独播剧场",
    "YoYo Television",
    "Amara.org",
    "本期视频",
    "下期再见",
    "字幕组",
];

/// Joins per-segment byte strings into per-segment texts, moving the bytes of a character that
/// was split across a segment boundary into the segment where the character starts.
pub fn join_segments(mut segments: Vec<Vec<u8>>) -> Vec<String> {
    for i in 0..segments.len().saturating_sub(1) {
        let incomplete = incomplete_tail(&segments[i]);
        if incomplete > 0 {
            let at = segments[i].len() - incomplete;
            let tail: Vec<u8> = segments[i].drain(at..).collect();
            let next = &mut segments[i + 1];
            next.splice(0..0, tail);
        }
    }
    segments
        .into_iter()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

/// How many bytes at the end of `bytes` start a UTF-8 character that is not finished.
fn incomplete_tail(bytes: &[u8]) -> usize {
    // A character is at most 4 bytes: look back at most 3 for its lead byte.
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte
        }
        let needed = match b {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        return if needed > back { back } else { 0 };
    }
    0
}

/// True when `text` (simplified) is a caption credit Whisper learnt from videos.
pub fn is_hallucinated_credit(text: &str) -> bool {
    let squashed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    CREDIT_MARKERS.iter().any(|m| squashed.contains(m))
}

/// Finds runs where a unit of 1–8 characters repeats; a unit repeated `min_repeats` or more times
/// is cut to one occurrence. Returns the collapsed text and how many characters were removed.
pub fn collapse_loops(text: &str, min_repeats: usize) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut removed = 0;
    let mut i = 0;
    'outer: while i < chars.len() {
        for unit in 1..=8usize {
            if i + unit * min_repeats > chars.len() {
                break;
            }
            let pattern = &chars[i..i + unit];
            if pattern
                .iter()
                .all(|c| c.is_ascii_punctuation() || c.is_whitespace())
            {
                continue;
            }
            let mut repeats = 1;
            while i + (repeats + 1) * unit <= chars.len()
                && &chars[i + repeats * unit..i + (repeats + 1) * unit] == pattern
            {
                repeats += 1;
            }
            if repeats >= min_repeats {
                out.extend_from_slice(pattern);
                removed += (repeats - 1) * unit;
                i += repeats * unit;
                continue 'outer;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    (out.into_iter().collect(), removed)
}

/// What the guards did to one clip's text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guarded {
    pub text: String,
    /// Segments dropped as caption credits or loops.
    pub dropped: Vec<String>,
}

/// Applies every guard to the (already simplified) texts of one clip's segments.
pub fn clean(segments: Vec<String>) -> Guarded {
    let mut result = Guarded::default();
    for segment in segments {
        let trimmed = segment.trim();
        if trimmed.is_empty() {
            continue;
        }
        if is_hallucinated_credit(trimmed) {
            result.dropped.push(trimmed.to_string());
            continue;
        }
        let (collapsed, removed) = collapse_loops(trimmed, 4);
        let total = trimmed.chars().count();
        // Mostly one looping token, with next to nothing besides: nothing trustworthy was heard.
        let left = collapsed.chars().filter(|c| c.is_alphanumeric()).count();
        if removed * 2 > total && left <= 3 {
            result.dropped.push(trimmed.to_string());
            continue;
        }
        result.text.push_str(&collapsed);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_segments_is_rejoined() {
        let text = "您好请问".as_bytes();
        // 您 is 3 bytes: cut after its first byte, and 好 after two.
        let segments = vec![text[..1].to_vec(), text[1..5].to_vec(), text[5..].to_vec()];
        let joined = join_segments(segments);
        assert_eq!(joined.concat(), "您好请问");
        assert_eq!(joined, vec!["", "您", "好请问"]);
    }

    #[test]
    fn whole_segments_are_left_alone() {
        let joined = join_segments(vec![
            "你好，".as_bytes().to_vec(),
            b"ok".to_vec(),
            "再见".as_bytes().to_vec(),
        ]);
        assert_eq!(joined, vec!["你好，", "ok", "再见"]);
    }

    #[test]
    fn caption_credits_are_recognised_and_call_speech_is_not() {
        for credit in [
            "字幕由Amara.org社区提供",
            "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
            "谢谢观看!",
            "中文字幕志愿者 李宗盛",
        ] {
            assert!(is_hallucinated_credit(credit), "{credit}");
        }
        for speech in [
            "谢谢您的来电",
            "我想订阅一个流量包",
            "请问还有什么可以帮您",
            "感谢您的耐心等待",
        ] {
            assert!(!is_hallucinated_credit(speech), "{speech}");
        }
    }

    #[test]
    fn loops_are_collapsed_and_normal_repetition_survives() {
        assert_eq!(
            collapse_loops("好的好的好的好的好的我知道了", 4),
            ("好的我知道了".to_string(), 8)
        );
        assert_eq!(collapse_loops("喂喂喂您好", 4).0, "喂喂喂您好");
        assert_eq!(collapse_loops("嗯嗯嗯嗯嗯嗯嗯嗯嗯嗯", 4).0, "嗯");
        assert_eq!(collapse_loops("一二三四", 4).0, "一二三四");
    }

    #[test]
    fn clean_drops_credits_and_loops_and_keeps_speech() {
        let cleaned = clean(vec![
            "您好,请问有什么可以帮您?".into(),
            "字幕由Amara.org社区提供".into(),
            "我我我我我我我我我我我我".into(),
            "好的好的好的好的,谢谢".into(),
        ]);
        assert_eq!(cleaned.text, "您好,请问有什么可以帮您?好的,谢谢");
        assert_eq!(cleaned.dropped.len(), 2);
    }
}
