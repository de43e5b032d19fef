//! NumPy `.npy`: the header is a Python dict literal; object arrays carry a pickle.

use super::pickle::{self, PickleContext, machine::numpy_itemsize};
use crate::rules;
use crate::scan::Ctx;
use crate::source::{self, Source};
use rampart_core::{Location, Severity};

/// NumPy's own default cap on header size (`max_header_size`, NumPy ≥ 1.24).
const MAX_HEADER: u64 = 10_000;

/// The parsed header.
#[derive(Debug, PartialEq)]
pub struct NpyHeader {
    /// `descr`: a type string, or `None` for structured dtypes.
    pub descr: Option<String>,
    /// Whether a structured descr mentions an object field.
    pub has_object: bool,
    /// Item size in bytes, when known.
    pub itemsize: Option<u64>,
    /// Shape.
    pub shape: Vec<u64>,
    /// Offset of the array data.
    pub data_offset: u64,
}

/// Parse an `.npy` header from the first bytes of the file.
pub fn parse_header(b: &[u8]) -> Result<NpyHeader, String> {
    if !b.starts_with(b"\x93NUMPY") {
        return Err("missing \\x93NUMPY magic".into());
    }
    let major = *b.get(6).ok_or("truncated header")?;
    let (hlen, start) = match major {
        1 => (
            u64::from(u16::from_le_bytes([
                *b.get(8).ok_or("truncated")?,
                *b.get(9).ok_or("truncated")?,
            ])),
            10u64,
        ),
        2 | 3 => {
            let s = b.get(8..12).ok_or("truncated header")?;
            (
                u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
                12u64,
            )
        }
        v => return Err(format!("unsupported format version {v}")),
    };
    if hlen > MAX_HEADER {
        return Err(format!(
            "header of {hlen} bytes exceeds NumPy's {MAX_HEADER}-byte limit"
        ));
    }
    let text = b
        .get(start as usize..(start + hlen) as usize)
        .ok_or("header runs past the end of the file")?;
    let text = std::str::from_utf8(text).map_err(|_| "header is not text")?;
    let descr_pos = text.find("'descr'").ok_or("header has no 'descr'")?;
    let after = text
        .get(descr_pos + 7..)
        .unwrap_or("")
        .trim_start()
        .strip_prefix(':')
        .ok_or("bad descr")?
        .trim_start();
    let (descr, has_object) = if let Some(rest) = after.strip_prefix('\'') {
        let end = rest.find('\'').ok_or("unterminated descr")?;
        let d = rest.get(..end).unwrap_or("").to_string();
        let obj = d.trim_start_matches(['<', '>', '|', '=']).starts_with('O');
        (Some(d), obj)
    } else if after.starts_with('[') {
        // Structured dtype: object fields appear as 'O' type strings.
        let end = after.find("]").unwrap_or(after.len());
        let body = after.get(..end).unwrap_or("");
        (None, body.contains("'O") || body.contains("'|O"))
    } else {
        return Err("descr is neither a string nor a list".into());
    };
    let shape_pos = text.find("'shape'").ok_or("header has no 'shape'")?;
    let sh = text.get(shape_pos + 7..).unwrap_or("");
    let open = sh.find('(').ok_or("bad shape")?;
    let close = sh.find(')').ok_or("bad shape")?;
    let dims = sh.get(open + 1..close).ok_or("bad shape")?;
    let mut shape = Vec::new();
    for d in dims.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        shape.push(
            d.trim_end_matches('L')
                .parse::<u64>()
                .map_err(|_| format!("bad dimension {d:?}"))?,
        );
    }
    let itemsize = descr
        .as_deref()
        .and_then(|d| numpy_itemsize(d, None))
        .map(|(s, _)| s);
    if !text.contains("'fortran_order'") {
        return Err("header has no 'fortran_order'".into());
    }
    Ok(NpyHeader {
        descr,
        has_object,
        itemsize,
        shape,
        data_offset: start + hlen,
    })
}

/// Scan an `.npy` file.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location) {
    let head = match source::head(src, MAX_HEADER + 16) {
        Ok(h) => h.into_owned(),
        Err(_) => return,
    };
    let h = match parse_header(&head) {
        Ok(h) => h,
        Err(msg) => {
            ctx.report(
                &rules::NUMPY_MALFORMED,
                loc.clone(),
                "npy",
                format!("malformed .npy header: {msg}"),
            );
            return;
        }
    };
    let data_len = src.len().saturating_sub(h.data_offset);
    if h.has_object {
        let mut f = ctx.finding(
            &rules::NUMPY_OBJECT,
            loc.clone().at(h.data_offset),
            "npy",
            format!(
                "object array (descr {}) stored as a pickle",
                h.descr.as_deref().unwrap_or("structured")
            ),
        );
        f.impact = "numpy.load(allow_pickle=True) unpickles it".into();
        ctx.push(f);
        let sub = super::zip::SubSource {
            parent: src,
            off: h.data_offset,
            len: data_len,
        };
        ctx.add_format("pickle");
        pickle::scan_source(ctx, &sub, loc, PickleContext::NumpyObject);
        return;
    }
    let (Some(itemsize), false) = (h.itemsize, h.descr.is_none()) else {
        return;
    };
    let expected = h
        .shape
        .iter()
        .try_fold(itemsize, |acc, d| acc.checked_mul(*d));
    match expected {
        None => ctx.report(
            &rules::NUMPY_MALFORMED,
            loc.clone(),
            "npy",
            "shape × itemsize overflows",
        ),
        Some(n) if n > data_len => ctx.report(
            &rules::NUMPY_MALFORMED,
            loc.clone(),
            "npy",
            format!("header declares {n} bytes of data but only {data_len} follow"),
        ),
        Some(n) if n < data_len => {
            let mut f = ctx.finding(
                &rules::NUMPY_MALFORMED,
                loc.clone().at(h.data_offset + n),
                "npy",
                format!("{} bytes after the array data", data_len - n),
            );
            f.severity = Severity::Low;
            f.impact =
                "numpy.load ignores them; they may carry a payload for another loader".into();
            ctx.push(f);
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn header() {
        let v = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
            &[0; 48],
        );
        let h = parse_header(&v).unwrap();
        assert_eq!(h.shape, vec![2, 3]);
        assert_eq!(h.itemsize, Some(8));
        assert!(!h.has_object);
        let v = npy(
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
            b"",
        );
        assert!(parse_header(&v).unwrap().has_object);
        assert!(parse_header(b"\x93NUMPY\x01\x00\xff\xff").is_err());
    }
}
