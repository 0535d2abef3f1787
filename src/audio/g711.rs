//! G.711 companding (ITU-T G.711): μ-law and A-law bytes to linear 16-bit PCM.
//!
//! Telephony recorders write these as WAV format tags 7 (μ-law) and 6 (A-law); hound does not
//! decode them. The expansion is the reference one (as in the ITU-T G.711 tables and the
//! classic Sun `g711.c`): μ-law spans ±32124, A-law ±32256.

/// Expands one μ-law byte to linear PCM.
pub fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    let value = if u & 0x80 != 0 { -magnitude } else { magnitude };
    value as i16
}

/// Expands one A-law byte to linear PCM.
pub fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let exponent = (a >> 4) & 0x07;
    let mantissa = i32::from(a & 0x0F);
    let mut magnitude = (mantissa << 4) + 8;
    if exponent != 0 {
        magnitude = (magnitude + 0x100) << (exponent - 1);
    }
    let value = if a & 0x80 != 0 { magnitude } else { -magnitude };
    value as i16
}

/// A 256-entry table from each code byte to a sample in [-1, 1).
pub fn table(expand: fn(u8) -> i16) -> [f32; 256] {
    let mut out = [0.0; 256];
    for (byte, slot) in out.iter_mut().enumerate() {
        *slot = f32::from(expand(byte as u8)) / 32768.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from ITU-T G.711 (Tables 2a/2b) as reproduced by Sun's g711.c.
    #[test]
    fn ulaw_matches_the_g711_reference_values() {
        let cases: [(u8, i16); 8] = [
            (0x00, -32124),
            (0x80, 32124),
            (0x7F, 0),
            (0xFF, 0),
            (0x0F, -16764),
            (0x8F, 16764),
            (0x70, -120),
            (0xF0, 120),
        ];
        for (code, expected) in cases {
            assert_eq!(ulaw_to_linear(code), expected, "μ-law code {code:#04x}");
        }
    }

    #[test]
    fn alaw_matches_the_g711_reference_values() {
        let cases: [(u8, i16); 8] = [
            (0xD5, 8),
            (0x55, -8),
            (0xAA, 32256),
            (0x2A, -32256),
            (0x80, 5504),
            (0x00, -5504),
            (0xD4, 24),
            (0xC5, 264),
        ];
        for (code, expected) in cases {
            assert_eq!(alaw_to_linear(code), expected, "A-law code {code:#04x}");
        }
    }

    #[test]
    fn both_laws_are_odd_symmetric_and_monotonic() {
        // μ-law: codes 0x80..=0xFF are the positive half, decreasing in magnitude.
        for code in 0x80u8..0xFF {
            assert!(ulaw_to_linear(code) >= ulaw_to_linear(code + 1));
            assert_eq!(ulaw_to_linear(code), -ulaw_to_linear(code & 0x7F));
        }
        for code in 0u8..=255 {
            assert_eq!(alaw_to_linear(code), -alaw_to_linear(code ^ 0x80));
        }
    }
}
