//! Number formats of ggml weights: IEEE half floats and `q8_0` blocks.
//!
//! In: `f32` (or `f16` bit patterns). Out: `f16` bit patterns, or 34-byte `q8_0` blocks.
//! Pure functions, run on the converting thread.
//!
//! Both conversions are ports of ggml's reference code (`ggml_compute_fp32_to_fp16` and
//! `quantize_row_q8_0_ref` in whisper.cpp 1.8.3), not merely "correct" roundings: the recorded
//! sha256 of our `q8_0` file is only reproducible if every scale is rounded exactly as ggml
//! rounds it.

/// Elements per `q8_0` block (`QK8_0`).
pub const Q8_0_BLOCK: usize = 32;
/// Bytes per `q8_0` block: an `f16` scale then 32 signed bytes (`sizeof(block_q8_0)`).
pub const Q8_0_BLOCK_BYTES: usize = 2 + Q8_0_BLOCK;

/// Half float (as bits) to `f32`; exact for every input.
pub fn f16_to_f32(h: u16) -> f32 {
    // Maratyszcza's FP16 trick as in ggml: scale the exponent with one float multiply, and
    // build subnormals by subtracting a magic bias.
    let w = u32::from(h) << 16;
    let sign = w & 0x8000_0000;
    let two_w = w.wrapping_add(w);

    let exp_offset = 0xE0u32 << 23;
    let exp_scale = f32::from_bits(0x0780_0000); // 2^-112
    let normalized = f32::from_bits((two_w >> 4) + exp_offset) * exp_scale;

    let magic_mask = 126u32 << 23;
    let denormalized = f32::from_bits((two_w >> 17) | magic_mask) - 0.5;

    let denormalized_cutoff = 1u32 << 27;
    let bits = if two_w < denormalized_cutoff {
        denormalized.to_bits()
    } else {
        normalized.to_bits()
    };
    f32::from_bits(sign | bits)
}

/// `f32` to half float bits, rounding to nearest even; overflow gives infinity, NaN gives
/// ggml's canonical quiet NaN `0x7e00`.
pub fn f32_to_f16(f: f32) -> u16 {
    let scale_to_inf = f32::from_bits(0x7780_0000); // 2^112
    let scale_to_zero = f32::from_bits(0x0880_0000); // 2^-110
    let mut base = (f.abs() * scale_to_inf) * scale_to_zero;

    let w = f.to_bits();
    let shl1_w = w.wrapping_add(w);
    let sign = w & 0x8000_0000;
    let bias = (shl1_w & 0xFF00_0000).max(0x7100_0000);

    // Adding a power of two aligned to the target exponent makes the FPU do the rounding.
    base += f32::from_bits((bias >> 1) + 0x0780_0000);
    let bits = base.to_bits();
    let exp_bits = (bits >> 13) & 0x0000_7C00;
    let mantissa_bits = bits & 0x0000_0FFF;
    let nonsign = exp_bits + mantissa_bits;
    let out = (sign >> 16)
        | if shl1_w > 0xFF00_0000 {
            0x7E00
        } else {
            nonsign
        };
    out as u16
}

/// Quantises one block of 32 values to `q8_0`: scale `d = max|x| / 127` stored as `f16`, then
/// `round(x / d)` as `i8` (rounding half away from zero, like C's `roundf`).
pub fn quantize_block_q8_0(x: &[f32; Q8_0_BLOCK]) -> [u8; Q8_0_BLOCK_BYTES] {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };

    let mut out = [0u8; Q8_0_BLOCK_BYTES];
    out[..2].copy_from_slice(&f32_to_f16(d).to_le_bytes());
    for (q, &v) in out[2..].iter_mut().zip(x) {
        // |v * id| <= 127 (up to rounding of id), so the cast cannot saturate in practice; if
        // it ever did, `as` saturates exactly like the C conversion of an in-range value.
        *q = ((v * id).round() as i8) as u8;
    }
    out
}

/// Decodes a `q8_0` block back to floats (used by tests and sanity checks).
pub fn dequantize_block_q8_0(block: &[u8; Q8_0_BLOCK_BYTES]) -> [f32; Q8_0_BLOCK] {
    let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
    let mut out = [0.0f32; Q8_0_BLOCK];
    for (o, &q) in out.iter_mut().zip(&block[2..]) {
        *o = f32::from(q as i8) * d;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_to_f16_known_values() {
        let cases: &[(f32, u16)] = &[
            (0.0, 0x0000),
            (-0.0, 0x8000),
            (1.0, 0x3C00),
            (-2.0, 0xC000),
            (0.5, 0x3800),
            (0.1, 0x2E66),
            (65504.0, 0x7BFF), // largest finite half
            (65520.0, 0x7C00), // rounds up to infinity
            (f32::INFINITY, 0x7C00),
            (2f32.powi(-24), 0x0001),                  // smallest subnormal
            (2f32.powi(-14) - 2f32.powi(-24), 0x03FF), // largest subnormal
            (1.0 + 1.0 / 2048.0, 0x3C00),              // tie: rounds to even (down)
            (1.0 + 3.0 / 2048.0, 0x3C02),              // tie: rounds to even (up)
            (16.0 / 127.0, 0x3008),
        ];
        for &(f, h) in cases {
            assert_eq!(f32_to_f16(f), h, "f32_to_f16({f:e})");
        }
        assert_eq!(f32_to_f16(f32::NAN) & 0x7FFF, 0x7E00);
    }

    #[test]
    fn f16_to_f32_known_values() {
        assert_eq!(f16_to_f32(0x3C00), 1.0);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2.0f32.powi(-24));
        assert_eq!(f16_to_f32(0x7BFF), 65504.0);
        assert_eq!(f16_to_f32(0x7C00), f32::INFINITY);
        assert!(f16_to_f32(0x7E00).is_nan());
    }

    #[test]
    fn every_finite_half_survives_a_round_trip_through_f32() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                continue;
            }
            assert_eq!(f32_to_f16(f), h, "half {h:#06x} -> {f:e}");
        }
    }

    #[test]
    fn q8_0_block_matches_ggml_reference() {
        // x = -16..=15: amax 16, d = 16/127 (f16 0x3008), 1/d = 7.9375.
        let x: [f32; 32] = std::array::from_fn(|i| i as f32 - 16.0);
        let b = quantize_block_q8_0(&x);
        assert_eq!(&b[..2], &0x3008u16.to_le_bytes());
        let q: Vec<i8> = b[2..].iter().map(|&v| v as i8).collect();
        assert_eq!(q[0], -127); // -16
        assert_eq!(q[16], 0); // 0
        assert_eq!(q[17], 8); // 1 * 7.9375 = 7.94
        assert_eq!(q[31], 119); // 15 * 7.9375 = 119.06
        assert_eq!(q[8], -64); // -8 * 7.9375 = -63.5: half away from zero
    }

    #[test]
    fn q8_0_rounds_half_away_from_zero_and_handles_zero_blocks() {
        let mut x = [0.0f32; 32];
        x[0] = 127.0; // d = 1 exactly
        x[1] = 2.5;
        x[2] = -2.5;
        x[3] = 0.5;
        let b = quantize_block_q8_0(&x);
        assert_eq!(&b[..2], &0x3C00u16.to_le_bytes());
        assert_eq!(
            [b[2] as i8, b[3] as i8, b[4] as i8, b[5] as i8],
            [127, 3, -3, 1]
        );

        let z = quantize_block_q8_0(&[0.0; 32]);
        assert_eq!(z, [0u8; 34]);
    }

    #[test]
    fn q8_0_dequantises_within_half_a_step() {
        let x: [f32; 32] = std::array::from_fn(|i| ((i as f32) * 0.37).sin() * 0.05);
        let b = quantize_block_q8_0(&x);
        let d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
        let y = dequantize_block_q8_0(&b);
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() <= d * 0.5 + 1e-6, "{a} vs {b} (step {d})");
        }
    }
}
