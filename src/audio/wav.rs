//! The WAV container: finds the `fmt ` and `data` chunks, tells the encoding, and decodes the
//! samples into one `f32` buffer per channel.
//!
//! PCM and float data are decoded by hound; G.711 (format tags 6 and 7, or the same inside
//! `WAVE_FORMAT_EXTENSIBLE`) by [`super::g711`]. The header is walked here first for every file so
//! that every kind of damage gets the same precise message, whichever decoder runs.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::{g711, AudioError, Encoding, Problem, Recording};

const TAG_PCM: u16 = 1;
const TAG_FLOAT: u16 = 3;
const TAG_ALAW: u16 = 6;
const TAG_ULAW: u16 = 7;
const TAG_EXTENSIBLE: u16 = 0xFFFE;

/// What the `fmt ` and `data` chunks say.
#[derive(Debug, Clone)]
struct Header {
    encoding: Encoding,
    channels: u16,
    sample_rate: u32,
    block_align: u16,
    data_offset: u64,
    data_len: u64,
}

/// Reads a whole WAV file into memory, one buffer per channel.
pub fn read(path: &Path) -> Result<Recording, AudioError> {
    let fail = |problem| AudioError::new(path, problem);
    let file = File::open(path).map_err(|e| fail(Problem::Open(e)))?;
    let file_len = file.metadata().map_err(|e| fail(Problem::Open(e)))?.len();
    let mut reader = BufReader::new(file);
    let header = read_header(&mut reader, file_len).map_err(fail)?;

    let channels = match header.encoding {
        Encoding::MuLaw | Encoding::ALaw => decode_g711(&mut reader, &header).map_err(fail)?,
        Encoding::Pcm { .. } | Encoding::Float32 => {
            reader.rewind().map_err(|e| fail(Problem::Open(e)))?;
            decode_with_hound(reader, &header).map_err(fail)?
        }
    };
    if channels.first().is_none_or(|c| c.is_empty()) {
        return Err(fail(Problem::Empty));
    }
    Ok(Recording {
        sample_rate: header.sample_rate,
        encoding: header.encoding,
        channels,
    })
}

fn read_header<R: Read + Seek>(reader: &mut R, file_len: u64) -> Result<Header, Problem> {
    let mut riff = [0u8; 12];
    reader.read_exact(&mut riff).map_err(|_| {
        if file_len == 0 {
            Problem::Empty
        } else {
            Problem::NotWav(format!(
                "only {file_len} bytes, too short for a RIFF header"
            ))
        }
    })?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        let what = if &riff[0..4] == b"RIFX" {
            "big-endian RIFX is not supported".to_string()
        } else {
            format!(
                "starts with {:?}, not RIFF/WAVE",
                String::from_utf8_lossy(&riff[0..4])
            )
        };
        return Err(Problem::NotWav(what));
    }

    let mut format: Option<(u16, u16, u32, u16, u16)> = None;
    let mut pos = 12u64;
    loop {
        let mut chunk = [0u8; 8];
        if reader.read_exact(&mut chunk).is_err() {
            return Err(match format {
                None => Problem::Corrupt("no `fmt ` chunk before the end of the file".into()),
                Some(_) => Problem::Corrupt("no `data` chunk before the end of the file".into()),
            });
        }
        pos += 8;
        let id = [chunk[0], chunk[1], chunk[2], chunk[3]];
        let size = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
        match &id {
            b"fmt " => {
                if size < 16 {
                    return Err(Problem::Corrupt(format!(
                        "`fmt ` chunk of {size} bytes (needs 16)"
                    )));
                }
                let mut body = vec![0u8; size as usize];
                reader
                    .read_exact(&mut body)
                    .map_err(|_| Problem::Truncated("inside the `fmt ` chunk".into()))?;
                let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                let mut tag = u16_at(0);
                let channels = u16_at(2);
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let block_align = u16_at(12);
                let bits = u16_at(14);
                if tag == TAG_EXTENSIBLE {
                    if size < 40 {
                        return Err(Problem::Corrupt(
                            "WAVE_FORMAT_EXTENSIBLE header too short".into(),
                        ));
                    }
                    // The sub-format GUID starts with the ordinary format tag.
                    tag = u16_at(24);
                }
                format = Some((tag, channels, rate, block_align, bits));
                pos += size;
            }
            b"data" => {
                let (tag, channels, sample_rate, block_align, bits) = format.ok_or_else(|| {
                    Problem::Corrupt("`data` chunk comes before the `fmt ` chunk".into())
                })?;
                let encoding = encoding_of(tag, bits)?;
                if channels == 0 {
                    return Err(Problem::Corrupt("header says 0 channels".into()));
                }
                if channels > 2 {
                    return Err(Problem::Channels(channels));
                }
                if sample_rate == 0 {
                    return Err(Problem::Corrupt("header says a sample rate of 0 Hz".into()));
                }
                let frame =
                    u16::try_from(u32::from(channels) * u32::from(encoding.bytes_per_sample()))
                        .unwrap_or(u16::MAX);
                if block_align != frame {
                    return Err(Problem::Corrupt(format!(
                        "block align {block_align} does not match {channels} channel(s) of {} bytes",
                        encoding.bytes_per_sample()
                    )));
                }
                let available = file_len.saturating_sub(pos);
                // Recorders that never finalised the header leave 0 or 0xFFFFFFFF here.
                let unfinalised = size == 0 || size == u64::from(u32::MAX);
                if unfinalised && available > 0 {
                    return Err(Problem::Truncated(format!(
                        "the `data` chunk length was never written ({size:#x}); the recording was not \
                         finalised — repair the header (e.g. `sox --ignore-length IN.wav OUT.wav`)"
                    )));
                }
                if size > available {
                    return Err(Problem::Truncated(format!(
                        "the `data` chunk declares {size} bytes but only {available} follow \
                         (the file was cut short)"
                    )));
                }
                if size % u64::from(block_align) != 0 {
                    return Err(Problem::Truncated(format!(
                        "the `data` chunk holds {size} bytes, not a whole number of {block_align}-byte frames"
                    )));
                }
                return Ok(Header {
                    encoding,
                    channels,
                    sample_rate,
                    block_align,
                    data_offset: pos,
                    data_len: size,
                });
            }
            _ => {
                // Chunks are padded to an even length.
                let skip = size + (size & 1);
                pos += skip;
                if pos > file_len {
                    return Err(Problem::Truncated(format!(
                        "chunk {:?} runs past the end of the file",
                        String::from_utf8_lossy(&id)
                    )));
                }
                reader
                    .seek(SeekFrom::Start(pos))
                    .map_err(|e| Problem::Corrupt(e.to_string()))?;
                continue;
            }
        }
        if size & 1 == 1 {
            pos += 1;
            reader
                .seek(SeekFrom::Start(pos))
                .map_err(|e| Problem::Corrupt(e.to_string()))?;
        }
    }
}

fn encoding_of(tag: u16, bits: u16) -> Result<Encoding, Problem> {
    match (tag, bits) {
        (TAG_PCM, 8 | 16 | 24 | 32) => Ok(Encoding::Pcm { bits }),
        (TAG_FLOAT, 32) => Ok(Encoding::Float32),
        (TAG_ULAW, 8) => Ok(Encoding::MuLaw),
        (TAG_ALAW, 8) => Ok(Encoding::ALaw),
        (TAG_PCM, _) => Err(Problem::Unsupported(format!("{bits}-bit integer PCM"))),
        (TAG_FLOAT, _) => Err(Problem::Unsupported(format!("{bits}-bit float"))),
        (TAG_ULAW | TAG_ALAW, _) => Err(Problem::Unsupported(format!(
            "G.711 with {bits} bits per sample"
        ))),
        (other, _) => Err(Problem::Unsupported(format!(
            "{} (format tag {other:#06x})",
            tag_name(other)
        ))),
    }
}

fn tag_name(tag: u16) -> &'static str {
    match tag {
        0x0002 => "Microsoft ADPCM",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x0064 | 0x0065 => "G.726 ADPCM",
        0x0003 => "float",
        _ => "an unknown encoding",
    }
}

fn decode_g711<R: Read + Seek>(reader: &mut R, header: &Header) -> Result<Vec<Vec<f32>>, Problem> {
    let table = match header.encoding {
        Encoding::MuLaw => g711::table(g711::ulaw_to_linear),
        _ => g711::table(g711::alaw_to_linear),
    };
    reader
        .seek(SeekFrom::Start(header.data_offset))
        .map_err(|e| Problem::Corrupt(e.to_string()))?;
    let n_channels = usize::from(header.channels);
    let frames = (header.data_len / u64::from(header.block_align)) as usize;
    let mut channels = vec![Vec::with_capacity(frames); n_channels];
    let mut buf = vec![0u8; 64 * 1024 - (64 * 1024) % n_channels];
    let mut left = header.data_len as usize;
    while left > 0 {
        let want = left.min(buf.len());
        reader
            .read_exact(&mut buf[..want])
            .map_err(|_| Problem::Truncated("the file ended inside the `data` chunk".into()))?;
        for frame in buf[..want].chunks_exact(n_channels) {
            for (channel, &code) in channels.iter_mut().zip(frame) {
                channel.push(table[usize::from(code)]);
            }
        }
        left -= want;
    }
    Ok(channels)
}

fn decode_with_hound<R: Read + Seek>(reader: R, header: &Header) -> Result<Vec<Vec<f32>>, Problem> {
    let wav = hound::WavReader::new(reader).map_err(hound_problem)?;
    let n_channels = usize::from(header.channels);
    let frames = wav.duration() as usize;
    let mut channels = vec![Vec::with_capacity(frames); n_channels];
    match header.encoding {
        Encoding::Float32 => {
            for (i, sample) in wav.into_samples::<f32>().enumerate() {
                channels[i % n_channels].push(sample.map_err(hound_problem)?);
            }
        }
        Encoding::Pcm { bits } => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            for (i, sample) in wav.into_samples::<i32>().enumerate() {
                channels[i % n_channels].push(sample.map_err(hound_problem)? as f32 * scale);
            }
        }
        Encoding::MuLaw | Encoding::ALaw => unreachable!("G.711 is decoded by decode_g711"),
    }
    Ok(channels)
}

fn hound_problem(err: hound::Error) -> Problem {
    match err {
        hound::Error::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            Problem::Truncated("the file ended inside the `data` chunk".into())
        }
        hound::Error::IoError(e) => Problem::Corrupt(e.to_string()),
        hound::Error::Unsupported => Problem::Unsupported("a WAV variant hound cannot read".into()),
        other => Problem::Corrupt(other.to_string()),
    }
}
