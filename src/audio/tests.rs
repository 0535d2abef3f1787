use std::path::PathBuf;

use super::*;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A 440 Hz test signal at 0.5 amplitude, `frames` long.
fn tone(frames: usize, rate: u32) -> Vec<f32> {
    (0..frames)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin())
        .collect()
}

fn write_hound(path: &PathBuf, spec: hound::WavSpec, left: &[f32], right: Option<&[f32]>) {
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..left.len() {
        let frame: Vec<f32> = std::iter::once(left[i])
            .chain(right.map(|r| r[i]))
            .collect();
        for s in frame {
            match spec.sample_format {
                hound::SampleFormat::Float => w.write_sample(s).unwrap(),
                hound::SampleFormat::Int => {
                    let max = ((1i64 << (spec.bits_per_sample - 1)) - 1) as f32;
                    let v = (s * max).round() as i32;
                    if spec.bits_per_sample == 8 {
                        w.write_sample(v as i8).unwrap()
                    } else {
                        w.write_sample(v).unwrap()
                    }
                }
            }
        }
    }
    w.finalize().unwrap();
}

/// Writes a G.711 WAV the way telephony recorders do: tag 6/7, 18-byte fmt, a `fact` chunk.
fn write_g711(path: &PathBuf, tag: u16, channels: u16, rate: u32, codes: &[u8]) {
    let mut b = Vec::new();
    let data_len = codes.len() as u32;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(4 + 26 + 12 + 8 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&18u32.to_le_bytes());
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(channels)).to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(b"fact");
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&(data_len / u32::from(channels)).to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.extend_from_slice(codes);
    std::fs::write(path, b).unwrap();
}

fn pcm_spec(channels: u16, rate: u32, bits: u16) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    }
}

#[test]
fn integer_pcm_of_every_width_decodes_to_the_same_signal() {
    let d = dir();
    let signal = tone(800, 8000);
    for bits in [8u16, 16, 24, 32] {
        let path = d.path().join(format!("pcm{bits}.wav"));
        write_hound(&path, pcm_spec(1, 8000, bits), &signal, None);
        let rec = read_wav(&path).unwrap();
        assert_eq!(rec.encoding, Encoding::Pcm { bits });
        assert_eq!(rec.sample_rate, 8000);
        assert_eq!(rec.channels.len(), 1);
        assert_eq!(rec.frames(), 800);
        // 8-bit PCM quantises to 1/128; the wider ones are near exact.
        let tolerance = if bits == 8 { 1.0 / 100.0 } else { 1e-4 };
        for (got, want) in rec.channels[0].iter().zip(&signal) {
            assert!(
                (got - want).abs() < tolerance,
                "{bits}-bit: {got} vs {want}"
            );
        }
    }
}

#[test]
fn float_stereo_keeps_channels_apart() {
    let d = dir();
    let path = d.path().join("float.wav");
    let left = tone(400, 16000);
    let right = vec![0.25f32; 400];
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 16000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    write_hound(&path, spec, &left, Some(&right));
    let rec = read_wav(&path).unwrap();
    assert_eq!(rec.encoding, Encoding::Float32);
    assert_eq!(rec.channels[0], left);
    assert_eq!(rec.channels[1], right);
}

#[test]
fn mulaw_and_alaw_decode_to_the_g711_reference_values() {
    let d = dir();
    // Stereo frames: (code for channel 0, code for channel 1).
    let codes = [0x00u8, 0x80, 0xFF, 0x70, 0x0F, 0x8F];
    let mu = d.path().join("mu.wav");
    write_g711(&mu, 7, 2, 8000, &codes);
    let rec = read_wav(&mu).unwrap();
    assert_eq!(rec.encoding, Encoding::MuLaw);
    assert_eq!(
        rec.channels[0],
        vec![-32124.0 / 32768.0, 0.0, -16764.0 / 32768.0]
    );
    assert_eq!(
        rec.channels[1],
        vec![32124.0 / 32768.0, -120.0 / 32768.0, 16764.0 / 32768.0]
    );

    let a = d.path().join("a.wav");
    write_g711(&a, 6, 1, 8000, &[0xD5, 0x55, 0xAA, 0x2A]);
    let rec = read_wav(&a).unwrap();
    assert_eq!(rec.encoding, Encoding::ALaw);
    assert_eq!(
        rec.channels[0],
        vec![
            8.0 / 32768.0,
            -8.0 / 32768.0,
            32256.0 / 32768.0,
            -32256.0 / 32768.0
        ]
    );
}

#[test]
fn mulaw_inside_wave_format_extensible_is_read() {
    let d = dir();
    let path = d.path().join("ext.wav");
    let mut b = Vec::new();
    let data = [0x80u8, 0x00];
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(4 + 48 + 8 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&0xFFFEu16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&22u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&4u32.to_le_bytes());
    // KSDATAFORMAT_SUBTYPE_MULAW: 00000007-0000-0010-8000-00aa00389b71
    b.extend_from_slice(&[
        7, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
    ]);
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&data);
    std::fs::write(&path, b).unwrap();
    let rec = read_wav(&path).unwrap();
    assert_eq!(rec.encoding, Encoding::MuLaw);
    assert_eq!(rec.channels[0], vec![32124.0 / 32768.0, -32124.0 / 32768.0]);
}

#[test]
fn stereo_maps_channels_to_parties_and_mono_stays_mixed() {
    let rec = Recording {
        sample_rate: 8000,
        encoding: Encoding::Pcm { bits: 16 },
        channels: vec![vec![0.1], vec![0.2]],
    };
    let parties = rec.clone().into_parties(ChannelMap::default()).unwrap();
    assert_eq!(
        (parties[0].party, parties[0].samples[0]),
        (Party::Agent, 0.1)
    );
    assert_eq!(
        (parties[1].party, parties[1].samples[0]),
        (Party::Customer, 0.2)
    );

    let swapped = rec.clone().into_parties(ChannelMap::agent_on(1)).unwrap();
    assert_eq!(
        (swapped[0].party, swapped[0].samples[0]),
        (Party::Agent, 0.2)
    );

    let err = rec
        .into_parties(ChannelMap {
            agent: 0,
            customer: 0,
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("both mapped to channel 0"),
        "{err}"
    );

    let mono = Recording {
        sample_rate: 8000,
        encoding: Encoding::Pcm { bits: 16 },
        channels: vec![vec![0.3]],
    };
    let parties = mono.into_parties(ChannelMap::default()).unwrap();
    assert_eq!(parties.len(), 1);
    assert_eq!(parties[0].party, Party::Mixed);
}

/// Reads `bytes` as a WAV and returns the error text; panics if it was accepted.
fn error_for(name: &str, bytes: &[u8]) -> String {
    let d = dir();
    let path = d.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let err = read_wav(&path).expect_err("bad file must be rejected");
    let text = err.to_string();
    assert!(text.contains(name), "error must name the file: {text}");
    text
}

fn valid_pcm16(frames: usize) -> Vec<u8> {
    let d = dir();
    let path = d.path().join("ok.wav");
    write_hound(&path, pcm_spec(1, 8000, 16), &tone(frames, 8000), None);
    std::fs::read(path).unwrap()
}

#[test]
fn empty_file_is_reported_as_empty() {
    assert!(error_for("empty.wav", b"").contains("empty"));
}

#[test]
fn a_header_with_no_samples_is_reported_as_empty() {
    let text = error_for("nosamples.wav", &valid_pcm16(0));
    assert!(text.contains("empty"), "{text}");
}

#[test]
fn non_wav_bytes_are_reported_as_not_wav() {
    let text = error_for(
        "mp3.wav",
        b"ID3\x04\x00\x00\x00\x00\x00\x00 some mp3 bytes here",
    );
    assert!(text.contains("not a WAV file"), "{text}");
}

#[test]
fn cut_off_data_is_reported_as_truncated() {
    let mut bytes = valid_pcm16(1000);
    bytes.truncate(bytes.len() - 501);
    let text = error_for("cut.wav", &bytes);
    assert!(
        text.contains("truncated") && text.contains("cut short"),
        "{text}"
    );
}

#[test]
fn a_header_cut_inside_fmt_is_reported_as_truncated() {
    let bytes = valid_pcm16(10);
    let text = error_for("hdr.wav", &bytes[..30]);
    assert!(text.contains("truncated"), "{text}");
}

#[test]
fn an_unfinalised_data_length_is_reported_with_a_fix() {
    let mut bytes = valid_pcm16(100);
    let data_at = bytes.windows(4).position(|w| w == b"data").unwrap();
    bytes[data_at + 4..data_at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let text = error_for("unfinished.wav", &bytes);
    assert!(
        text.contains("never written") && text.contains("sox --ignore-length"),
        "{text}"
    );
}

#[test]
fn adpcm_is_reported_as_unsupported_with_a_conversion_hint() {
    let mut bytes = valid_pcm16(100);
    bytes[20..22].copy_from_slice(&0x0011u16.to_le_bytes());
    let text = error_for("adpcm.wav", &bytes);
    assert!(
        text.contains("unsupported encoding: IMA ADPCM") && text.contains("sox"),
        "{text}"
    );
}

#[test]
fn twelve_bit_pcm_is_unsupported() {
    let mut bytes = valid_pcm16(100);
    bytes[34..36].copy_from_slice(&12u16.to_le_bytes());
    assert!(error_for("pcm12.wav", &bytes).contains("12-bit integer PCM"));
}

#[test]
fn more_than_two_channels_is_refused() {
    let d = dir();
    let path = d.path().join("three.wav");
    let mut w = hound::WavWriter::create(&path, pcm_spec(3, 8000, 16)).unwrap();
    for _ in 0..30 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let text = read_wav(&path).unwrap_err().to_string();
    assert!(text.contains("3 channels"), "{text}");
}

#[test]
fn a_missing_data_chunk_is_reported() {
    let bytes = valid_pcm16(10);
    let data_at = bytes.windows(4).position(|w| w == b"data").unwrap();
    let text = error_for("nodata.wav", &bytes[..data_at]);
    assert!(text.contains("no `data` chunk"), "{text}");
}

#[test]
fn a_missing_file_names_the_path() {
    let err = read_wav(std::path::Path::new("/nonexistent/call.wav")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/call.wav: cannot open"),
        "{err}"
    );
}

#[test]
fn random_bytes_never_panic() {
    // A cheap fuzz: every prefix of a valid file, and a valid file with bytes flipped.
    let good = valid_pcm16(64);
    let d = dir();
    let path = d.path().join("fuzz.wav");
    for len in 0..good.len() {
        std::fs::write(&path, &good[..len]).unwrap();
        let _ = read_wav(&path);
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state as usize) % 48;
            bytes[i] = (state >> 32) as u8;
        }
        std::fs::write(&path, &bytes).unwrap();
        let _ = read_wav(&path);
    }
}
