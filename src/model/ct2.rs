//! Reader for CTranslate2's `model.bin`.
//!
//! In: the whole file as bytes. Out: [`Ct2Model`], named variables whose data borrow those
//! bytes (no copy: the base model is 145 MB). Layout, little endian, no padding:
//!
//! ```text
//! u32 version (6) · str spec name · u32 spec revision · u32 n_vars
//! n_vars × { str name · u8 rank · u32 dims[rank] · u8 dtype · u32 n_bytes · data }
//! u32 n_aliases · n_aliases × { str alias · str target }
//! str = u16 length (including a trailing NUL) · bytes
//! ```

use std::collections::BTreeMap;

use super::ModelError;

/// The only `model.bin` version this reader has been checked against (CTranslate2 3.x–4.x).
pub const SUPPORTED_VERSION: u32 = 6;

/// Element type of a variable, with CTranslate2's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_code(code: u8) -> Option<DType> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    pub fn code(self) -> u8 {
        match self {
            DType::F32 => 0,
            DType::I8 => 1,
            DType::I16 => 2,
            DType::I32 => 3,
            DType::F16 => 4,
            DType::BF16 => 5,
        }
    }

    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One named variable; `data` borrows the file's bytes.
#[derive(Debug, Clone)]
pub struct Variable<'a> {
    pub dims: Vec<usize>,
    pub dtype: DType,
    pub data: &'a [u8],
}

impl Variable<'_> {
    pub fn n_elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// The value of a scalar integer variable (e.g. `encoder/num_heads`).
    pub fn scalar_int(&self) -> Option<i64> {
        if !self.dims.is_empty() {
            return None;
        }
        let d = self.data;
        match self.dtype {
            DType::I8 => d.first().map(|&b| i64::from(b as i8)),
            DType::I16 => d
                .get(..2)
                .map(|b| i64::from(i16::from_le_bytes([b[0], b[1]]))),
            DType::I32 => d
                .get(..4)
                .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            _ => None,
        }
    }
}

/// A parsed `model.bin`.
#[derive(Debug)]
pub struct Ct2Model<'a> {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    pub variables: BTreeMap<String, Variable<'a>>,
    /// `alias → target`, e.g. `decoder/projection/weight → decoder/embeddings/weight`.
    pub aliases: BTreeMap<String, String>,
}

impl<'a> Ct2Model<'a> {
    /// Parses a whole `model.bin`. Every size is checked against the bytes actually present,
    /// so a truncated or garbage file gives an error naming where it went wrong, never a panic.
    pub fn parse(bytes: &'a [u8]) -> Result<Ct2Model<'a>, ModelError> {
        let mut r = Reader { bytes, pos: 0 };

        let version = r.u32("the format version")?;
        if version != SUPPORTED_VERSION {
            return Err(r.error(format!(
                "format version {version}, but only version {SUPPORTED_VERSION} is supported \
                 (is this a CTranslate2 model.bin at all?)"
            )));
        }
        let spec = r.string("the model spec name")?;
        let revision = r.u32("the spec revision")?;
        let n_vars = r.u32("the variable count")?;

        let mut variables = BTreeMap::new();
        for i in 0..n_vars {
            let what = |field: &str| format!("the {field} of variable {} of {n_vars}", i + 1);
            let name = r.string(&what("name"))?;
            let rank = r.u8(&what("rank"))?;
            let dims = (0..rank)
                .map(|_| r.u32(&what("shape")).map(|d| d as usize))
                .collect::<Result<Vec<_>, _>>()?;
            let code = r.u8(&what("dtype"))?;
            let dtype = DType::from_code(code).ok_or_else(|| {
                r.error(format!("variable {name:?} has unknown dtype code {code}"))
            })?;
            let n_bytes = r.u32(&what("byte count"))? as usize;
            let expected = dims
                .iter()
                .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| {
                    r.error(format!("variable {name:?} has an absurd shape {dims:?}"))
                })?;
            if n_bytes != expected {
                return Err(r.error(format!(
                    "variable {name:?} of shape {dims:?} and dtype {dtype:?} says it holds {n_bytes} bytes, \
                     expected {expected}"
                )));
            }
            let data = r.take(n_bytes, &format!("the data of variable {name:?}"))?;
            if variables
                .insert(name.clone(), Variable { dims, dtype, data })
                .is_some()
            {
                return Err(r.error(format!("variable {name:?} appears twice")));
            }
        }

        let n_aliases = r.u32("the alias count")?;
        let mut aliases = BTreeMap::new();
        for i in 0..n_aliases {
            let alias = r.string(&format!("alias {} of {n_aliases}", i + 1))?;
            let target = r.string(&format!("the target of alias {alias:?}"))?;
            aliases.insert(alias, target);
        }

        if r.pos != bytes.len() {
            return Err(r.error(format!(
                "{} unexpected bytes after the last alias (were the parts concatenated twice?)",
                bytes.len() - r.pos
            )));
        }
        Ok(Ct2Model {
            version,
            spec,
            revision,
            variables,
            aliases,
        })
    }

    /// A variable by name, following aliases.
    pub fn get(&self, name: &str) -> Option<&Variable<'a>> {
        self.variables
            .get(name)
            .or_else(|| self.aliases.get(name).and_then(|t| self.variables.get(t)))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, detail: String) -> ModelError {
        ModelError::Ct2Format {
            offset: self.pos as u64,
            detail,
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.error(format!(
                "file ends while reading {what} ({n} bytes needed, {} left): truncated",
                self.bytes.len() - self.pos
            ))),
        }
    }

    fn u8(&mut self, what: &str) -> Result<u8, ModelError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, ModelError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, ModelError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self, what: &str) -> Result<String, ModelError> {
        let len = self.u16(what)? as usize;
        let start = self.pos;
        let raw = self.take(len, what)?;
        let text = match raw.split_last() {
            Some((0, text)) => text,
            _ => {
                self.pos = start;
                return Err(self.error(format!("{what} is not a NUL-terminated string")));
            }
        };
        std::str::from_utf8(text).map(str::to_owned).map_err(|_| {
            self.pos = start;
            self.error(format!("{what} is not UTF-8"))
        })
    }
}

/// Writes a `model.bin` (tests build synthetic models with it).
#[cfg(test)]
pub fn write_model_bin(
    spec: &str,
    vars: &[(&str, Vec<usize>, DType, Vec<u8>)],
    aliases: &[(&str, &str)],
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&SUPPORTED_VERSION.to_le_bytes());
    string(&mut out, spec);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, dims, dtype, data) in vars {
        string(&mut out, name);
        out.push(dims.len() as u8);
        for &d in dims {
            out.extend_from_slice(&(d as u32).to_le_bytes());
        }
        out.push(dtype.code());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        string(&mut out, a);
        string(&mut out, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        write_model_bin(
            "WhisperSpec",
            &[
                ("a/weight", vec![2, 3], DType::F16, (0..12).collect()),
                (
                    "a/num_heads",
                    vec![],
                    DType::I16,
                    8i16.to_le_bytes().to_vec(),
                ),
            ],
            &[("b/weight", "a/weight")],
        )
    }

    #[test]
    fn parses_variables_and_aliases() {
        let bytes = sample();
        let m = Ct2Model::parse(&bytes).unwrap();
        assert_eq!(
            (m.version, m.spec.as_str(), m.revision),
            (6, "WhisperSpec", 3)
        );
        let w = m.get("a/weight").unwrap();
        assert_eq!(
            (w.dims.clone(), w.dtype, w.n_elements()),
            (vec![2, 3], DType::F16, 6)
        );
        assert_eq!(w.data, &(0..12).collect::<Vec<u8>>()[..]);
        assert_eq!(m.get("b/weight").unwrap().data, w.data);
        assert_eq!(m.get("a/num_heads").unwrap().scalar_int(), Some(8));
        assert!(m.get("missing").is_none());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = sample();
        for len in 0..bytes.len() {
            match Ct2Model::parse(&bytes[..len]) {
                Err(ModelError::Ct2Format { .. }) => {}
                other => panic!("truncated to {len} bytes: {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_file_says_truncated() {
        let bytes = sample();
        let e = Ct2Model::parse(&bytes[..bytes.len() - 20])
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn garbage_and_trailing_bytes_are_rejected() {
        let e = Ct2Model::parse(b"PK\x03\x04 this is a zip, not a model")
            .unwrap_err()
            .to_string();
        assert!(e.contains("version"), "{e}");

        let mut doubled = sample();
        doubled.extend_from_slice(&sample());
        let e = Ct2Model::parse(&doubled).unwrap_err().to_string();
        assert!(e.contains("unexpected bytes"), "{e}");
    }

    #[test]
    fn byte_count_must_match_shape() {
        let bytes = write_model_bin(
            "WhisperSpec",
            &[("x", vec![4], DType::F32, vec![0; 15])],
            &[],
        );
        let e = Ct2Model::parse(&bytes).unwrap_err().to_string();
        assert!(e.contains("expected 16"), "{e}");
    }
}
