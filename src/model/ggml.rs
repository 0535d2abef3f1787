//! Writer for whisper.cpp's ggml model file, fed from a CTranslate2 Whisper model.
//!
//! In: a parsed [`Ct2Model`], the regular tokens, a [`Quant`]. Out: the ggml byte stream, written
//! tensor by tensor to any `Write` (nothing but a small scratch buffer is held besides the input).
//!
//! whisper.cpp 1.8.3's loader (`whisper_model_load`) checks every tensor's byte size against the
//! type *it* expects and never converts, so the types below mirror that loader exactly:
//! positional embeddings, biases and LayerNorm parameters are `f32`; conv weights are `f16`; the
//! 2-D weight matrices (and the token embedding) are the file's weight type, `f16` or `q8_0`.
//! That is also the set whisper.cpp's own `quantize` tool quantises: every 2-D tensor except the
//! conv biases and positional embeddings.

use std::io::Write;

use super::ct2::{Ct2Model, DType, Variable};
use super::mel::slaney_mel_filters;
use super::quant::{f16_to_f32, f32_to_f16, quantize_block_q8_0, Q8_0_BLOCK};
use super::{ModelError, Quant};

/// `"ggml"` read as a little-endian `u32`.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;
/// `GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR`: quantised files carry the quantisation format
/// version in the thousands of `ftype`; the loader takes `ftype % 1000`.
const QNT_VERSION_OFFSET: i32 = 2 * 1000;
/// whisper.cpp's audio front end: 16 kHz, 400-point FFT, so 201 frequency bins.
const SAMPLE_RATE: u32 = 16_000;
const N_FFT: usize = 400;

/// ggml tensor types used here (`enum ggml_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}

impl Quant {
    /// `hparams.ftype` as whisper.cpp's converter and quantize tool write it.
    fn ftype(self) -> i32 {
        match self {
            Quant::F16 => 1,                       // GGML_FTYPE_MOSTLY_F16
            Quant::Q8_0 => QNT_VERSION_OFFSET + 7, // GGML_FTYPE_MOSTLY_Q8_0
        }
    }

    fn weight_type(self) -> GgmlType {
        match self {
            Quant::F16 => GgmlType::F16,
            Quant::Q8_0 => GgmlType::Q8_0,
        }
    }
}

/// The model dimensions whisper.cpp reads from the header, derived from tensor shapes (the
/// CTranslate2 `config.json` does not carry them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

fn unsupported(detail: impl Into<String>) -> ModelError {
    ModelError::UnsupportedModel {
        detail: detail.into(),
    }
}

fn var<'m, 'a>(m: &'m Ct2Model<'a>, name: &str) -> Result<&'m Variable<'a>, ModelError> {
    m.get(name)
        .ok_or_else(|| unsupported(format!("variable {name} is missing")))
}

fn dim(m: &Ct2Model, name: &str, axis: usize) -> Result<usize, ModelError> {
    let v = var(m, name)?;
    v.dims.get(axis).copied().ok_or_else(|| {
        unsupported(format!(
            "{name} has shape {:?}, expected at least {} axes",
            v.dims,
            axis + 1
        ))
    })
}

/// Number of `{side}/layer_N/` blocks. Matching digits matters: `encoder/layer_norm` shares the
/// `encoder/layer_` prefix.
fn count_layers(m: &Ct2Model, side: &str) -> Result<usize, ModelError> {
    let prefix = format!("{side}/layer_");
    let mut indices: Vec<usize> = m
        .variables
        .keys()
        .filter_map(|k| {
            let rest = k.strip_prefix(&prefix)?;
            let digits = &rest[..rest.find('/')?];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        })
        .collect();
    indices.sort_unstable();
    indices.dedup();
    if indices.iter().enumerate().any(|(i, &n)| i != n) {
        return Err(unsupported(format!(
            "{side} layers are not numbered 0..n: {indices:?}"
        )));
    }
    Ok(indices.len())
}

fn heads(m: &Ct2Model, side: &str) -> Result<usize, ModelError> {
    let name = format!("{side}/num_heads");
    var(m, &name)?
        .scalar_int()
        .and_then(|h| usize::try_from(h).ok())
        .filter(|&h| h > 0)
        .ok_or_else(|| unsupported(format!("{name} is not a positive integer scalar")))
}

impl Hparams {
    pub fn from_ct2(m: &Ct2Model) -> Result<Hparams, ModelError> {
        if m.spec != "WhisperSpec" {
            return Err(unsupported(format!(
                "model spec is {:?}, not WhisperSpec",
                m.spec
            )));
        }
        let hp = Hparams {
            n_vocab: dim(m, "decoder/embeddings/weight", 0)?,
            n_audio_ctx: dim(m, "encoder/position_encodings/encodings", 0)?,
            n_audio_state: dim(m, "encoder/position_encodings/encodings", 1)?,
            n_audio_head: heads(m, "encoder")?,
            n_audio_layer: count_layers(m, "encoder")?,
            n_text_ctx: dim(m, "decoder/position_encodings/encodings", 0)?,
            n_text_state: dim(m, "decoder/embeddings/weight", 1)?,
            n_text_head: heads(m, "decoder")?,
            n_text_layer: count_layers(m, "decoder")?,
            n_mels: dim(m, "encoder/conv1/weight", 1)?,
        };
        if hp.n_audio_state != hp.n_text_state {
            return Err(unsupported(format!(
                "audio width {} differs from text width {}; whisper.cpp needs them equal",
                hp.n_audio_state, hp.n_text_state
            )));
        }
        Ok(hp)
    }
}

/// How a tensor is stored in the ggml file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// Always `f32` (biases, LayerNorm, positional embeddings).
    F32,
    /// Always `f16` (conv weights: whisper.cpp never quantises them).
    F16,
    /// The file's weight type: `f16`, or `q8_0` when quantising.
    Weight,
}

/// One output tensor: where its data comes from and how it is stored.
struct Planned<'m, 'a> {
    name: String,
    source: &'m Variable<'a>,
    /// Rows `start..start + count` of the source's first axis (fused projections are split).
    rows: Option<(usize, usize)>,
    /// Shape in numpy order (outermost first); the file stores it reversed.
    shape: Vec<usize>,
    storage: Storage,
}

struct Planner<'m, 'a> {
    model: &'m Ct2Model<'a>,
    out: Vec<Planned<'m, 'a>>,
}

impl<'m, 'a> Planner<'m, 'a> {
    /// Adds `name` from CTranslate2 variable `src`, which must have shape `src_shape`.
    /// `rows` selects part of a fused projection; `shape` overrides the output shape.
    fn add(
        &mut self,
        name: String,
        src: &str,
        src_shape: &[usize],
        rows: Option<(usize, usize)>,
        storage: Storage,
    ) -> Result<(), ModelError> {
        let v = var(self.model, src)?;
        if v.dims != src_shape {
            return Err(unsupported(format!(
                "{src} has shape {:?}, expected {src_shape:?}",
                v.dims
            )));
        }
        let mut shape = v.dims.clone();
        if let Some((_, count)) = rows {
            shape[0] = count;
        }
        self.out.push(Planned {
            name,
            source: v,
            rows,
            shape,
            storage,
        });
        Ok(())
    }

    fn ln(&mut self, name: &str, src: &str, s: usize) -> Result<(), ModelError> {
        self.add(
            format!("{name}.weight"),
            &format!("{src}/gamma"),
            &[s],
            None,
            Storage::F32,
        )?;
        self.add(
            format!("{name}.bias"),
            &format!("{src}/beta"),
            &[s],
            None,
            Storage::F32,
        )
    }

    /// A linear layer, or the `part`-th of `parts` equal row blocks of a fused one.
    fn linear(
        &mut self,
        name: &str,
        src: &str,
        (n_out, n_in): (usize, usize),
        part: Option<(usize, usize)>,
        with_bias: bool,
    ) -> Result<(), ModelError> {
        let (rows, total) = match part {
            Some((i, parts)) => (Some((i * n_out, n_out)), n_out * parts),
            None => (None, n_out),
        };
        self.add(
            format!("{name}.weight"),
            &format!("{src}/weight"),
            &[total, n_in],
            rows,
            Storage::Weight,
        )?;
        if with_bias {
            self.add(
                format!("{name}.bias"),
                &format!("{src}/bias"),
                &[total],
                rows,
                Storage::F32,
            )?;
        }
        Ok(())
    }

    /// Self-attention: CTranslate2 fuses `[q; k; v]` into `linear_0`. Whisper's key projection
    /// has no bias (the key third of the fused bias is zero, and a key bias would not change the
    /// softmax anyway), and whisper.cpp has no slot for one, so it is dropped.
    fn self_attention(&mut self, name: &str, src: &str, s: usize) -> Result<(), ModelError> {
        self.linear(
            &format!("{name}.query"),
            &format!("{src}/linear_0"),
            (s, s),
            Some((0, 3)),
            true,
        )?;
        self.linear(
            &format!("{name}.key"),
            &format!("{src}/linear_0"),
            (s, s),
            Some((1, 3)),
            false,
        )?;
        self.linear(
            &format!("{name}.value"),
            &format!("{src}/linear_0"),
            (s, s),
            Some((2, 3)),
            true,
        )?;
        self.linear(
            &format!("{name}.out"),
            &format!("{src}/linear_1"),
            (s, s),
            None,
            true,
        )
    }

    /// Cross-attention: query alone in `linear_0`, `[k; v]` fused in `linear_1`.
    fn cross_attention(&mut self, name: &str, src: &str, s: usize) -> Result<(), ModelError> {
        self.linear(
            &format!("{name}.query"),
            &format!("{src}/linear_0"),
            (s, s),
            None,
            true,
        )?;
        self.linear(
            &format!("{name}.key"),
            &format!("{src}/linear_1"),
            (s, s),
            Some((0, 2)),
            false,
        )?;
        self.linear(
            &format!("{name}.value"),
            &format!("{src}/linear_1"),
            (s, s),
            Some((1, 2)),
            true,
        )?;
        self.linear(
            &format!("{name}.out"),
            &format!("{src}/linear_2"),
            (s, s),
            None,
            true,
        )
    }

    fn mlp(&mut self, block: &str, src: &str, s: usize) -> Result<(), ModelError> {
        self.linear(
            &format!("{block}.mlp.0"),
            &format!("{src}/ffn/linear_0"),
            (4 * s, s),
            None,
            true,
        )?;
        self.linear(
            &format!("{block}.mlp.2"),
            &format!("{src}/ffn/linear_1"),
            (s, 4 * s),
            None,
            true,
        )?;
        self.ln(
            &format!("{block}.mlp_ln"),
            &format!("{src}/ffn/layer_norm"),
            s,
        )
    }
}

/// Every tensor whisper.cpp loads, in the order of OpenAI's `state_dict` (the order of the
/// official converter's output), with its source and storage.
fn plan<'m, 'a>(m: &'m Ct2Model<'a>, hp: &Hparams) -> Result<Vec<Planned<'m, 'a>>, ModelError> {
    let s = hp.n_audio_state;
    let mut p = Planner {
        model: m,
        out: Vec::new(),
    };

    let enc_pe = "encoder/position_encodings/encodings";
    p.add(
        "encoder.positional_embedding".into(),
        enc_pe,
        &[hp.n_audio_ctx, s],
        None,
        Storage::F32,
    )?;
    for (conv, n_in) in [("conv1", hp.n_mels), ("conv2", s)] {
        p.add(
            format!("encoder.{conv}.weight"),
            &format!("encoder/{conv}/weight"),
            &[s, n_in, 3],
            None,
            Storage::F16,
        )?;
        // whisper.cpp adds the conv bias as a (n_state, 1) tensor broadcast over time.
        p.add(
            format!("encoder.{conv}.bias"),
            &format!("encoder/{conv}/bias"),
            &[s],
            None,
            Storage::F32,
        )?;
        if let Some(t) = p.out.last_mut() {
            t.shape = vec![s, 1];
        }
    }
    for i in 0..hp.n_audio_layer {
        let (b, src) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        p.self_attention(&format!("{b}.attn"), &format!("{src}/self_attention"), s)?;
        p.ln(
            &format!("{b}.attn_ln"),
            &format!("{src}/self_attention/layer_norm"),
            s,
        )?;
        p.mlp(&b, &src, s)?;
    }
    p.ln("encoder.ln_post", "encoder/layer_norm", s)?;

    let dec_pe = "decoder/position_encodings/encodings";
    p.add(
        "decoder.positional_embedding".into(),
        dec_pe,
        &[hp.n_text_ctx, s],
        None,
        Storage::F32,
    )?;
    let emb = "decoder/embeddings/weight";
    p.add(
        "decoder.token_embedding.weight".into(),
        emb,
        &[hp.n_vocab, s],
        None,
        Storage::Weight,
    )?;
    for i in 0..hp.n_text_layer {
        let (b, src) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        p.self_attention(&format!("{b}.attn"), &format!("{src}/self_attention"), s)?;
        p.ln(
            &format!("{b}.attn_ln"),
            &format!("{src}/self_attention/layer_norm"),
            s,
        )?;
        p.cross_attention(&format!("{b}.cross_attn"), &format!("{src}/attention"), s)?;
        p.ln(
            &format!("{b}.cross_attn_ln"),
            &format!("{src}/attention/layer_norm"),
            s,
        )?;
        p.mlp(&b, &src, s)?;
    }
    p.ln("decoder.ln", "decoder/layer_norm", s)?;

    // A weight we did not place means an architecture this converter does not know; scalars
    // are CTranslate2 options (activation, alibi, num_heads …) and carry no weights.
    for (name, v) in &m.variables {
        let used = p.out.iter().any(|t| std::ptr::eq(t.source, v));
        if !v.dims.is_empty() && !used {
            return Err(unsupported(format!(
                "variable {name} {:?} has no place in a whisper.cpp model",
                v.dims
            )));
        }
    }
    Ok(p.out)
}

/// Writes a complete ggml file for `model` to `out`.
pub fn write_ggml(
    model: &Ct2Model,
    tokens: &[Vec<u8>],
    quant: Quant,
    out: &mut dyn Write,
) -> Result<(), ModelError> {
    let hp = Hparams::from_ct2(model)?;
    let tensors = plan(model, &hp)?;
    let io = |e: std::io::Error| ModelError::io("writing the ggml model", e);

    let mut header = Vec::with_capacity(64);
    header.extend_from_slice(&GGML_MAGIC.to_le_bytes());
    for v in [
        hp.n_vocab,
        hp.n_audio_ctx,
        hp.n_audio_state,
        hp.n_audio_head,
        hp.n_audio_layer,
        hp.n_text_ctx,
        hp.n_text_state,
        hp.n_text_head,
        hp.n_text_layer,
        hp.n_mels,
    ] {
        header.extend_from_slice(&i32_of(v)?.to_le_bytes());
    }
    header.extend_from_slice(&quant.ftype().to_le_bytes());
    out.write_all(&header).map_err(io)?;

    let filters = slaney_mel_filters(SAMPLE_RATE, N_FFT, hp.n_mels);
    let mut buf = Vec::with_capacity(8 + filters.len() * 4);
    buf.extend_from_slice(&i32_of(hp.n_mels)?.to_le_bytes());
    buf.extend_from_slice(&i32_of(N_FFT / 2 + 1)?.to_le_bytes());
    for f in filters {
        buf.extend_from_slice(&(f as f32).to_le_bytes());
    }
    out.write_all(&buf).map_err(io)?;

    buf.clear();
    buf.extend_from_slice(&i32_of(tokens.len())?.to_le_bytes());
    for t in tokens {
        buf.extend_from_slice(&i32_of(t.len())?.to_le_bytes());
        buf.extend_from_slice(t);
    }
    out.write_all(&buf).map_err(io)?;

    let mut scratch = Vec::with_capacity(SCRATCH_BYTES + 64);
    for t in &tensors {
        let ty = match t.storage {
            Storage::F32 => GgmlType::F32,
            Storage::F16 => GgmlType::F16,
            Storage::Weight => quant.weight_type(),
        };
        buf.clear();
        buf.extend_from_slice(&i32_of(t.shape.len())?.to_le_bytes());
        buf.extend_from_slice(&i32_of(t.name.len())?.to_le_bytes());
        buf.extend_from_slice(&(ty as i32).to_le_bytes());
        for &d in t.shape.iter().rev() {
            buf.extend_from_slice(&i32_of(d)?.to_le_bytes());
        }
        buf.extend_from_slice(t.name.as_bytes());
        out.write_all(&buf).map_err(io)?;
        write_data(t, ty, out, &mut scratch)?;
    }
    out.flush().map_err(io)
}

fn i32_of(v: usize) -> Result<i32, ModelError> {
    i32::try_from(v).map_err(|_| unsupported(format!("dimension {v} does not fit the ggml header")))
}

const SCRATCH_BYTES: usize = 1 << 16;

/// Streams one tensor's data, converted to `ty`, through a small scratch buffer.
fn write_data(
    t: &Planned,
    ty: GgmlType,
    out: &mut dyn Write,
    scratch: &mut Vec<u8>,
) -> Result<(), ModelError> {
    let io = |e: std::io::Error| ModelError::io("writing the ggml model", e);
    let v = t.source;
    let esize = v.dtype.size();
    let data = match t.rows {
        Some((start, count)) => {
            let row = esize * v.dims[1..].iter().product::<usize>();
            &v.data[start * row..(start + count) * row]
        }
        None => v.data,
    };
    let decode: fn(&[u8]) -> f32 = match v.dtype {
        DType::F16 => |b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])),
        DType::BF16 => |b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16),
        DType::F32 => |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        DType::I8 | DType::I16 | DType::I32 => {
            return Err(unsupported(format!(
                "{} is stored as {:?}: integer-quantised CTranslate2 models are not supported, \
                 convert from a float16 or float32 one",
                t.name, v.dtype
            )))
        }
    };

    if ty == GgmlType::F16 && v.dtype == DType::F16 {
        return out.write_all(data).map_err(io);
    }

    scratch.clear();
    match ty {
        GgmlType::F32 | GgmlType::F16 => {
            for e in data.chunks_exact(esize) {
                let x = decode(e);
                match ty {
                    GgmlType::F32 => scratch.extend_from_slice(&x.to_le_bytes()),
                    _ => scratch.extend_from_slice(&f32_to_f16(x).to_le_bytes()),
                }
                if scratch.len() >= SCRATCH_BYTES {
                    out.write_all(scratch).map_err(io)?;
                    scratch.clear();
                }
            }
        }
        GgmlType::Q8_0 => {
            let row_len = t.shape.last().copied().unwrap_or(0);
            if row_len % Q8_0_BLOCK != 0 {
                return Err(unsupported(format!(
                    "{} has rows of {row_len} values; q8_0 needs a multiple of {Q8_0_BLOCK}",
                    t.name
                )));
            }
            // Rows are a whole number of blocks, so blocks never straddle rows and the data can
            // be cut into blocks in one sweep, as ggml_quantize_chunk does.
            let mut block = [0.0f32; Q8_0_BLOCK];
            for chunk in data.chunks_exact(esize * Q8_0_BLOCK) {
                for (x, e) in block.iter_mut().zip(chunk.chunks_exact(esize)) {
                    *x = decode(e);
                }
                scratch.extend_from_slice(&quantize_block_q8_0(&block));
                if scratch.len() >= SCRATCH_BYTES {
                    out.write_all(scratch).map_err(io)?;
                    scratch.clear();
                }
            }
        }
    }
    out.write_all(scratch).map_err(io)
}

/// A parsed ggml file, for checking what the writer produced.
#[cfg(test)]
pub mod read {
    use super::*;

    #[derive(Debug)]
    pub struct Tensor {
        pub name: String,
        pub ty: i32,
        /// As stored (innermost first).
        pub ne: Vec<usize>,
        pub data: std::ops::Range<usize>,
    }

    #[derive(Debug)]
    pub struct GgmlFile {
        pub hparams: [i32; 11],
        pub n_mel: i32,
        pub n_fft: i32,
        pub filters: Vec<f32>,
        pub tokens: Vec<Vec<u8>>,
        pub tensors: Vec<Tensor>,
    }

    pub fn parse(b: &[u8]) -> GgmlFile {
        let mut pos = 0usize;
        let i32_at = |pos: &mut usize| {
            let v = i32::from_le_bytes(b[*pos..*pos + 4].try_into().unwrap());
            *pos += 4;
            v
        };
        assert_eq!(i32_at(&mut pos) as u32, GGML_MAGIC);
        let mut hparams = [0; 11];
        for h in &mut hparams {
            *h = i32_at(&mut pos);
        }
        let n_mel = i32_at(&mut pos);
        let n_fft = i32_at(&mut pos);
        let filters = (0..(n_mel * n_fft) as usize)
            .map(|_| f32::from_bits(i32_at(&mut pos) as u32))
            .collect();
        let n_tokens = i32_at(&mut pos);
        let tokens = (0..n_tokens)
            .map(|_| {
                let len = i32_at(&mut pos) as usize;
                pos += len;
                b[pos - len..pos].to_vec()
            })
            .collect();
        let mut tensors = Vec::new();
        while pos < b.len() {
            let n_dims = i32_at(&mut pos) as usize;
            let name_len = i32_at(&mut pos) as usize;
            let ty = i32_at(&mut pos);
            let ne: Vec<usize> = (0..n_dims).map(|_| i32_at(&mut pos) as usize).collect();
            let name = String::from_utf8(b[pos..pos + name_len].to_vec()).unwrap();
            pos += name_len;
            let n: usize = ne.iter().product();
            let bytes = match ty {
                0 => n * 4,
                1 => n * 2,
                8 => n / 32 * 34,
                other => panic!("type {other}"),
            };
            tensors.push(Tensor {
                name,
                ty,
                ne,
                data: pos..pos + bytes,
            });
            pos += bytes;
        }
        assert_eq!(pos, b.len());
        GgmlFile {
            hparams,
            n_mel,
            n_fft,
            filters,
            tokens,
            tensors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read::parse;
    use super::*;
    use crate::model::ct2::write_model_bin;
    use crate::model::quant::{dequantize_block_q8_0, Q8_0_BLOCK_BYTES};

    const S: usize = 32; // width: one q8_0 block per row
    const N_VOCAB: usize = 7;
    const N_MELS: usize = 4;
    const AUDIO_CTX: usize = 6;
    const TEXT_CTX: usize = 5;

    /// Distinct, exactly representable f16 values, so every element can be traced back to its
    /// source: value = tag + index / 4096.
    fn f16_data(tag: usize, n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| f32_to_f16(tag as f32 + (i % 1024) as f32 / 4096.0).to_le_bytes())
            .collect()
    }

    /// A Whisper-shaped CTranslate2 model with 2 encoder and 1 decoder layers.
    fn tiny_model(extra: &[(&str, Vec<usize>)]) -> Vec<u8> {
        let mut shapes: Vec<(String, Vec<usize>)> = vec![
            (
                "encoder/position_encodings/encodings".into(),
                vec![AUDIO_CTX, S],
            ),
            ("encoder/conv1/weight".into(), vec![S, N_MELS, 3]),
            ("encoder/conv1/bias".into(), vec![S]),
            ("encoder/conv2/weight".into(), vec![S, S, 3]),
            ("encoder/conv2/bias".into(), vec![S]),
            ("encoder/layer_norm/gamma".into(), vec![S]),
            ("encoder/layer_norm/beta".into(), vec![S]),
            (
                "decoder/position_encodings/encodings".into(),
                vec![TEXT_CTX, S],
            ),
            ("decoder/embeddings/weight".into(), vec![N_VOCAB, S]),
            ("decoder/layer_norm/gamma".into(), vec![S]),
            ("decoder/layer_norm/beta".into(), vec![S]),
        ];
        let block = |shapes: &mut Vec<(String, Vec<usize>)>, p: &str, cross: bool| {
            let mut add = |n: String, d: Vec<usize>| shapes.push((n, d));
            for ln in ["self_attention/layer_norm", "ffn/layer_norm"] {
                add(format!("{p}/{ln}/gamma"), vec![S]);
                add(format!("{p}/{ln}/beta"), vec![S]);
            }
            add(
                format!("{p}/self_attention/linear_0/weight"),
                vec![3 * S, S],
            );
            add(format!("{p}/self_attention/linear_0/bias"), vec![3 * S]);
            add(format!("{p}/self_attention/linear_1/weight"), vec![S, S]);
            add(format!("{p}/self_attention/linear_1/bias"), vec![S]);
            add(format!("{p}/ffn/linear_0/weight"), vec![4 * S, S]);
            add(format!("{p}/ffn/linear_0/bias"), vec![4 * S]);
            add(format!("{p}/ffn/linear_1/weight"), vec![S, 4 * S]);
            add(format!("{p}/ffn/linear_1/bias"), vec![S]);
            if cross {
                add(format!("{p}/attention/layer_norm/gamma"), vec![S]);
                add(format!("{p}/attention/layer_norm/beta"), vec![S]);
                add(format!("{p}/attention/linear_0/weight"), vec![S, S]);
                add(format!("{p}/attention/linear_0/bias"), vec![S]);
                add(format!("{p}/attention/linear_1/weight"), vec![2 * S, S]);
                add(format!("{p}/attention/linear_1/bias"), vec![2 * S]);
                add(format!("{p}/attention/linear_2/weight"), vec![S, S]);
                add(format!("{p}/attention/linear_2/bias"), vec![S]);
            }
        };
        block(&mut shapes, "encoder/layer_0", false);
        block(&mut shapes, "encoder/layer_1", false);
        block(&mut shapes, "decoder/layer_0", true);
        shapes.extend(extra.iter().map(|(n, d)| (n.to_string(), d.clone())));

        let mut vars: Vec<(&str, Vec<usize>, DType, Vec<u8>)> = shapes
            .iter()
            .enumerate()
            .map(|(tag, (n, d))| {
                (
                    n.as_str(),
                    d.clone(),
                    DType::F16,
                    f16_data(tag, d.iter().product()),
                )
            })
            .collect();
        vars.push((
            "encoder/num_heads",
            vec![],
            DType::I16,
            2i16.to_le_bytes().to_vec(),
        ));
        vars.push((
            "decoder/num_heads",
            vec![],
            DType::I16,
            4i16.to_le_bytes().to_vec(),
        ));
        vars.push(("decoder/scale_alibi", vec![], DType::I8, vec![0]));
        write_model_bin(
            "WhisperSpec",
            &vars,
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
        )
    }

    fn tokens() -> Vec<Vec<u8>> {
        vec![b"a".to_vec(), "你".as_bytes().to_vec(), Vec::new()]
    }

    fn convert(bytes: &[u8], quant: Quant) -> Vec<u8> {
        let m = Ct2Model::parse(bytes).unwrap();
        let mut out = Vec::new();
        write_ggml(&m, &tokens(), quant, &mut out).unwrap();
        out
    }

    fn f16s(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect()
    }

    fn f32s(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn hparams_come_from_shapes() {
        let bytes = tiny_model(&[]);
        let hp = Hparams::from_ct2(&Ct2Model::parse(&bytes).unwrap()).unwrap();
        assert_eq!(
            hp,
            Hparams {
                n_vocab: N_VOCAB,
                n_audio_ctx: AUDIO_CTX,
                n_audio_state: S,
                n_audio_head: 2,
                n_audio_layer: 2, // not 3: encoder/layer_norm is not a layer
                n_text_ctx: TEXT_CTX,
                n_text_state: S,
                n_text_head: 4,
                n_text_layer: 1,
                n_mels: N_MELS,
            }
        );
    }

    #[test]
    fn f16_file_has_whisper_cpp_layout_and_every_tensor() {
        let bytes = tiny_model(&[]);
        let g = convert(&bytes, Quant::F16);
        let f = parse(&g);
        assert_eq!(f.hparams, [7, 6, 32, 2, 2, 5, 32, 4, 1, 4, 1]);
        assert_eq!((f.n_mel, f.n_fft), (4, 201));
        assert_eq!(f.filters.len(), 4 * 201);
        assert_eq!(f.tokens, tokens());
        // whisper.cpp's count: 7 + 15 per encoder layer + 4 + 24 per decoder layer.
        assert_eq!(f.tensors.len(), 7 + 15 * 2 + 4 + 24);
        let names: std::collections::HashSet<_> =
            f.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), f.tensors.len(), "duplicate tensor names");
        assert!(!names.iter().any(|n| n.contains(".key.bias")));

        for t in &f.tensors {
            let n = t.name.as_str();
            let expected_ty =
                if n.ends_with(".bias") || n.contains("ln") || n.contains("positional") {
                    0
                } else {
                    1
                };
            assert_eq!(t.ty, expected_ty, "{n}");
        }
        let get = |n: &str| f.tensors.iter().find(|t| t.name == n).unwrap();
        assert_eq!(get("encoder.conv1.weight").ne, vec![3, N_MELS, S]);
        assert_eq!(get("encoder.conv1.bias").ne, vec![1, S]);
        assert_eq!(get("encoder.positional_embedding").ne, vec![S, AUDIO_CTX]);
        assert_eq!(get("decoder.token_embedding.weight").ne, vec![S, N_VOCAB]);
        assert_eq!(get("encoder.blocks.1.mlp.0.weight").ne, vec![S, 4 * S]);
        assert_eq!(get("decoder.blocks.0.cross_attn.value.bias").ne, vec![S]);
    }

    #[test]
    fn fused_projections_are_split_by_rows() {
        let bytes = tiny_model(&[]);
        let m = Ct2Model::parse(&bytes).unwrap();
        let g = convert(&bytes, Quant::F16);
        let f = parse(&g);
        let data = |n: &str| &g[f.tensors.iter().find(|t| t.name == n).unwrap().data.clone()];

        let qkv = m
            .get("encoder/layer_1/self_attention/linear_0/weight")
            .unwrap()
            .data;
        let third = S * S * 2;
        assert_eq!(data("encoder.blocks.1.attn.query.weight"), &qkv[..third]);
        assert_eq!(
            data("encoder.blocks.1.attn.key.weight"),
            &qkv[third..2 * third]
        );
        assert_eq!(
            data("encoder.blocks.1.attn.value.weight"),
            &qkv[2 * third..]
        );

        let qkv_b = f16s(
            m.get("encoder/layer_1/self_attention/linear_0/bias")
                .unwrap()
                .data,
        );
        assert_eq!(f32s(data("encoder.blocks.1.attn.query.bias")), &qkv_b[..S]);
        assert_eq!(
            f32s(data("encoder.blocks.1.attn.value.bias")),
            &qkv_b[2 * S..]
        );

        let kv = m
            .get("decoder/layer_0/attention/linear_1/weight")
            .unwrap()
            .data;
        assert_eq!(
            data("decoder.blocks.0.cross_attn.key.weight"),
            &kv[..S * S * 2]
        );
        assert_eq!(
            data("decoder.blocks.0.cross_attn.value.weight"),
            &kv[S * S * 2..]
        );
        let kv_b = f16s(
            m.get("decoder/layer_0/attention/linear_1/bias")
                .unwrap()
                .data,
        );
        assert_eq!(
            f32s(data("decoder.blocks.0.cross_attn.value.bias")),
            &kv_b[S..]
        );

        let pe = f16s(m.get("decoder/position_encodings/encodings").unwrap().data);
        assert_eq!(f32s(data("decoder.positional_embedding")), pe);
        let ln = f16s(
            m.get("decoder/layer_0/attention/layer_norm/gamma")
                .unwrap()
                .data,
        );
        assert_eq!(f32s(data("decoder.blocks.0.cross_attn_ln.weight")), ln);
    }

    #[test]
    fn q8_0_file_quantises_exactly_the_2d_weights() {
        let bytes = tiny_model(&[]);
        let m = Ct2Model::parse(&bytes).unwrap();
        let g16 = convert(&bytes, Quant::F16);
        let g8 = convert(&bytes, Quant::Q8_0);
        let (f16f, f8) = (parse(&g16), parse(&g8));
        assert_eq!(
            f8.hparams[10], 2007,
            "ftype carries the quantisation version"
        );
        assert_eq!(f16f.tensors.len(), f8.tensors.len());
        for (a, b) in f16f.tensors.iter().zip(&f8.tensors) {
            assert_eq!((&a.name, &a.ne), (&b.name, &b.ne));
            let quantised = a.ty == 1 && a.ne.len() == 2; // conv weights are 3-D
            assert_eq!(b.ty, if quantised { 8 } else { a.ty }, "{}", a.name);
            if !quantised {
                assert_eq!(g16[a.data.clone()], g8[b.data.clone()], "{}", a.name);
            }
        }
        // Dequantised values stay within half a step of the source.
        let t = f8
            .tensors
            .iter()
            .find(|t| t.name == "decoder.token_embedding.weight")
            .unwrap();
        let src = f16s(m.get("decoder/embeddings/weight").unwrap().data);
        let q = &g8[t.data.clone()];
        assert_eq!(q.len(), N_VOCAB * S / 32 * Q8_0_BLOCK_BYTES);
        for (i, blk) in q.chunks_exact(Q8_0_BLOCK_BYTES).enumerate() {
            let blk: &[u8; Q8_0_BLOCK_BYTES] = blk.try_into().unwrap();
            let d = f16_to_f32(u16::from_le_bytes([blk[0], blk[1]]));
            for (j, y) in dequantize_block_q8_0(blk).iter().enumerate() {
                let x = src[i * 32 + j];
                assert!(
                    (x - y).abs() <= d * 0.5 + 1e-6,
                    "block {i} [{j}]: {x} vs {y}"
                );
            }
        }
        assert_eq!(
            g16.len() - g8.len(),
            f16f.tensors
                .iter()
                .filter(|t| t.ty == 1 && t.ne.len() == 2)
                .map(|t| t.data.len() - t.data.len() / 64 * 34)
                .sum::<usize>()
        );
    }

    #[test]
    fn conversion_is_deterministic() {
        let bytes = tiny_model(&[]);
        assert_eq!(convert(&bytes, Quant::Q8_0), convert(&bytes, Quant::Q8_0));
    }

    #[test]
    fn missing_or_unknown_weights_are_refused() {
        let bytes = tiny_model(&[("encoder/layer_0/self_attention/rotary", vec![4])]);
        let m = Ct2Model::parse(&bytes).unwrap();
        let e = write_ggml(&m, &tokens(), Quant::F16, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("rotary"), "{e}");

        let full = tiny_model(&[]);
        let mut m = Ct2Model::parse(&full).unwrap();
        m.variables
            .remove("decoder/layer_0/attention/linear_2/bias");
        let e = write_ggml(&m, &tokens(), Quant::F16, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("linear_2/bias is missing"), "{e}");
    }
}
