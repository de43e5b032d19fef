//! Compressed streams (gzip, bzip2, xz, lzma, zstd, lz4, zlib, joblib's ZF files) and zip member
//! methods. Every decoder writes through a bound: nothing beyond the member limit is ever held.

use crate::rules;
use crate::scan::{self, Ctx, Format};
use crate::source::Source;
use rampart_core::Location;
use std::io::{self, Read, Write};

/// A writer that refuses to grow past `limit` bytes.
struct Bounded {
    out: Vec<u8>,
    limit: u64,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() as u64 + buf.len() as u64 > self.limit {
            return Err(io::Error::other(format!(
                "decompressed data exceeds the {}-byte limit",
                self.limit
            )));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn read_bounded(mut r: impl Read, limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let n = r
        .by_ref()
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt compressed data: {e}"))?;
    if n as u64 > limit {
        return Err(format!("decompressed data exceeds the {limit}-byte limit"));
    }
    Ok(out)
}

/// Decompress a whole stream of `format`, up to `limit` bytes.
pub(crate) fn decompress(format: Format, data: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    match format {
        Format::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(data), limit),
        Format::Zlib => read_bounded(flate2::read::ZlibDecoder::new(data), limit),
        Format::Bzip2 => read_bounded(bzip2::read::MultiBzDecoder::new(data), limit),
        Format::Zstd => {
            let dec = ruzstd::decoding::StreamingDecoder::new(data)
                .map_err(|e| format!("corrupt zstd stream: {e}"))?;
            read_bounded(dec, limit)
        }
        Format::Lz4 => read_bounded(lz4_flex::frame::FrameDecoder::new(data), limit),
        Format::Xz => {
            let mut w = Bounded {
                out: Vec::new(),
                limit,
            };
            lzma_rs::xz_decompress(&mut io::BufReader::new(data), &mut w)
                .map_err(|e| format!("corrupt xz stream: {e}"))?;
            Ok(w.out)
        }
        Format::LzmaAlone => {
            let mut w = Bounded {
                out: Vec::new(),
                limit,
            };
            lzma_rs::lzma_decompress(&mut io::BufReader::new(data), &mut w)
                .map_err(|e| format!("corrupt lzma stream: {e}"))?;
            Ok(w.out)
        }
        Format::JoblibZf => {
            // joblib < 0.10 "ZF" files: b"ZF", the length in hex padded to 19 bytes, then zlib.
            let body = data.get(21..).ok_or("truncated joblib ZF header")?;
            read_bounded(flate2::read::ZlibDecoder::new(body), limit)
        }
        _ => Err(format!("{} is not a compression format", format.name())),
    }
}

/// Decompress a zip member by method number.
pub(crate) fn zip_method(method: u16, data: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    match method {
        0 => {
            if data.len() as u64 > limit {
                return Err(format!("member exceeds the {limit}-byte limit"));
            }
            Ok(data.to_vec())
        }
        8 => read_bounded(flate2::read::DeflateDecoder::new(data), limit),
        12 => read_bounded(bzip2::read::BzDecoder::new(data), limit),
        14 => {
            // Zip's LZMA: 2-byte version, 2-byte properties size, properties, raw stream
            // without the 8-byte size of the .lzma header.
            let psize = usize::from(u16::from_le_bytes([
                *data.get(2).ok_or("truncated lzma header")?,
                *data.get(3).ok_or("truncated lzma header")?,
            ]));
            let props = data.get(4..4 + psize).ok_or("truncated lzma properties")?;
            let body = data.get(4 + psize..).ok_or("truncated lzma data")?;
            let mut hdr = props.to_vec();
            hdr.extend_from_slice(&[0xff; 8]);
            hdr.extend_from_slice(body);
            decompress(Format::LzmaAlone, &hdr, limit)
        }
        93 => decompress(Format::Zstd, data, limit),
        95 => decompress(Format::Xz, data, limit),
        other => Err(format!(
            "compression method {other} is not supported; the member was not examined"
        )),
    }
}

/// Scan a compressed stream: decompress (bounded) and scan what is inside.
pub(crate) fn scan(
    ctx: &mut Ctx<'_>,
    src: &dyn Source,
    loc: &Location,
    name: &str,
    format: Format,
    depth: u32,
) {
    let limits = ctx.opts.limits.clone();
    if depth + 1 > limits.max_depth {
        ctx.report(
            &rules::ARCHIVE_BOMB,
            loc.clone(),
            format.name(),
            format!(
                "compressed streams nested deeper than {} levels (--max-depth)",
                limits.max_depth
            ),
        );
        return;
    }
    let Some(data) = ctx.read_whole(
        src,
        loc,
        format.name(),
        limits.max_member_bytes,
        "--max-member-bytes",
    ) else {
        return;
    };
    let limit = limits.max_member_bytes.min(
        (data.len() as u64)
            .saturating_mul(limits.max_ratio)
            .max(1 << 20),
    );
    let inner = match decompress(format, &data, limit) {
        Ok(v) => v,
        Err(msg) => {
            let rule = if msg.contains("limit") {
                &rules::ARCHIVE_BOMB
            } else {
                &rules::ARCHIVE_UNREADABLE
            };
            ctx.report(rule, loc.clone(), format.name(), msg);
            return;
        }
    };
    if !ctx.take_decompressed(inner.len() as u64, loc) {
        return;
    }
    ctx.members += 1;
    let inner_name = strip_ext(name);
    let child = loc.child(format!("<{}>", format.name()));
    scan::scan_source(ctx, &inner.as_slice(), &child, &inner_name, depth + 1);
}

fn strip_ext(name: &str) -> String {
    for ext in [".gz", ".bz2", ".xz", ".lzma", ".zst", ".lz4", ".z", ".zlib"] {
        if let Some(s) = name.strip_suffix(ext) {
            return s.to_string();
        }
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_bomb_is_bounded() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 10 << 20]).unwrap();
        let gz = enc.finish().unwrap();
        let err = decompress(Format::Gzip, &gz, 1 << 20).unwrap_err();
        assert!(err.contains("limit"), "{err}");
        assert_eq!(
            decompress(Format::Gzip, &gz, 20 << 20).unwrap().len(),
            10 << 20
        );
    }
}
