//! Whisper's vocabulary as whisper.cpp stores it: raw bytes per token id.
//!
//! In: a Hugging Face `tokenizer.json` (byte-level BPE). Out: the regular tokens (ids below
//! `<|endoftext|>`) as byte strings. Byte-level BPE writes every byte as a printable Unicode
//! character (GPT-2's byte↔unicode table) so that token strings are valid JSON; ggml files hold
//! the original bytes, so the table is inverted here. whisper.cpp adds the special tokens itself.

use std::collections::HashMap;

use serde::Deserialize;

use super::ModelError;

/// GPT-2's `bytes_to_unicode()`: byte `b` is written as the character at index `b`.
///
/// Printable Latin-1 bytes stand for themselves; the other 68 bytes are moved, in order, to
/// U+0100 and up.
pub fn byte_to_unicode() -> [char; 256] {
    let printable = |b: u32| {
        (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
    };
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        let c = if printable(b) {
            b
        } else {
            next += 1;
            next - 1
        };
        // Every code point here is below U+0144, so `from_u32` cannot fail.
        table[b as usize] = char::from_u32(c).unwrap_or('\u{FFFD}');
    }
    table
}

/// Inverse of [`byte_to_unicode`].
pub fn unicode_to_byte() -> HashMap<char, u8> {
    byte_to_unicode()
        .iter()
        .enumerate()
        .map(|(b, &c)| (c, b as u8))
        .collect()
}

/// Decodes one byte-level BPE token string to the bytes it stands for.
pub fn token_bytes(token: &str, table: &HashMap<char, u8>) -> Option<Vec<u8>> {
    token.chars().map(|c| table.get(&c).copied()).collect()
}

#[derive(Deserialize)]
struct TokenizerJson {
    model: BpeModel,
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
}

#[derive(Deserialize)]
struct BpeModel {
    vocab: HashMap<String, u32>,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
}

/// The regular tokens of a Whisper `tokenizer.json`: ids `0..id(<|endoftext|>)`, as raw bytes.
///
/// For multilingual Whisper that is 50,257 tokens; id 50256 is an empty string, which
/// whisper.cpp expects.
pub fn regular_tokens(tokenizer_json: &[u8]) -> Result<Vec<Vec<u8>>, ModelError> {
    let bad = |detail: String| ModelError::Tokenizer { detail };
    let tok: TokenizerJson = serde_json::from_slice(tokenizer_json)
        .map_err(|e| bad(format!("not a Hugging Face tokenizer.json: {e}")))?;

    let eot = tok
        .added_tokens
        .iter()
        .find(|t| t.content == "<|endoftext|>")
        .map(|t| t.id)
        .or_else(|| tok.model.vocab.get("<|endoftext|>").copied())
        .ok_or_else(|| {
            bad("no <|endoftext|> token, so the regular vocabulary has no end".into())
        })?;

    let mut by_id: Vec<Option<&str>> = vec![None; eot as usize];
    for (text, &id) in &tok.model.vocab {
        if let Some(slot) = by_id.get_mut(id as usize) {
            *slot = Some(text.as_str());
        }
    }

    let table = unicode_to_byte();
    by_id
        .iter()
        .enumerate()
        .map(|(id, text)| {
            let text =
                text.ok_or_else(|| bad(format!("token id {id} is missing from model.vocab")))?;
            token_bytes(text, &table)
                .ok_or_else(|| bad(format!("token {id} ({text:?}) is not byte-level BPE")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_table_is_a_bijection_on_bytes() {
        let fwd = byte_to_unicode();
        let back = unicode_to_byte();
        assert_eq!(back.len(), 256, "two bytes share a character");
        for b in 0..=255u8 {
            assert_eq!(back[&fwd[b as usize]], b);
        }
    }

    #[test]
    fn gpt2_table_known_entries() {
        let t = byte_to_unicode();
        assert_eq!(t[b'!' as usize], '!');
        assert_eq!(t[b'~' as usize], '~');
        assert_eq!(t[0x00], '\u{0100}'); // Ā
        assert_eq!(t[b' ' as usize], '\u{0120}'); // Ġ: the space before a word
        assert_eq!(t[b'\n' as usize], '\u{010A}'); // Ċ
        assert_eq!(t[0x7F], '\u{0121}');
        assert_eq!(t[0xAD], '\u{0143}'); // the last moved byte (soft hyphen)
        assert_eq!(t[0xFF], 'ÿ');
    }

    #[test]
    fn chinese_token_decodes_to_utf8() {
        // "你" is E4 BD A0, written by byte-level BPE as "ä½ł".
        let table = unicode_to_byte();
        assert_eq!(token_bytes("ä½ł", &table).unwrap(), "你".as_bytes());
        assert_eq!(token_bytes("Ġhello", &table).unwrap(), b" hello");
        assert_eq!(token_bytes("中", &table), None);
    }

    #[test]
    fn regular_tokens_stop_before_endoftext() {
        let json = br#"{"added_tokens":[{"id":3,"content":"<|endoftext|>","special":true}],
            "model":{"type":"BPE","vocab":{"a":0,"\u0120b":1,"":2,"<|endoftext|>":3,"zz":4},"merges":[]}}"#;
        let toks = regular_tokens(json).unwrap();
        assert_eq!(toks, vec![b"a".to_vec(), b" b".to_vec(), Vec::new()]);
    }

    #[test]
    fn missing_ids_and_garbage_are_errors() {
        let gap = br#"{"added_tokens":[{"id":3,"content":"<|endoftext|>"}],"model":{"vocab":{"a":0,"b":2}}}"#;
        let e = regular_tokens(gap).unwrap_err().to_string();
        assert!(e.contains("token id 1"), "{e}");
        assert!(regular_tokens(b"not json").is_err());
        let no_eot = br#"{"model":{"vocab":{"a":0}}}"#;
        assert!(regular_tokens(no_eot)
            .unwrap_err()
            .to_string()
            .contains("endoftext"));
    }
}
