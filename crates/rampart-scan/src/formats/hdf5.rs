//! HDF5, far enough to read the root group's attributes: that is where legacy Keras `.h5` files
//! keep `model_config` (a JSON string). Superblock versions 0–3, object header versions 1 and 2
//! with continuation blocks, attribute message versions 1–3, fixed-length and variable-length
//! string values (global heap). Dense attribute storage (fractal heaps) is reported as not
//! examined rather than guessed at.
//!
//! Written here because the HDF5 crates bind the C library, which is neither memory-safe on
//! hostile input nor free of `unsafe`.

use super::keras;
use crate::rules;
use crate::scan::Ctx;
use crate::source::{self, Source};
use rampart_core::Location;

/// Most header messages read (across continuation blocks).
const MAX_MESSAGES: usize = 4096;
/// Most continuation blocks followed.
const MAX_CONTINUATIONS: usize = 64;

struct H5<'a> {
    src: &'a dyn Source,
    base: u64,
    off_size: usize,
    len_size: usize,
    max_read: u64,
}

/// An attribute of the root group.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Name.
    pub name: String,
    /// Value, when it is a string (fixed or variable length).
    pub text: Option<Vec<u8>>,
}

fn uint(b: &[u8], at: usize, n: usize) -> Result<u64, String> {
    let end = at.checked_add(n).ok_or("structure truncated")?;
    let s = b.get(at..end).ok_or("structure truncated")?;
    let mut v = 0u64;
    for (i, x) in s.iter().enumerate().take(8) {
        v |= u64::from(*x) << (8 * i);
    }
    Ok(v)
}

impl H5<'_> {
    fn read(&self, addr: u64, len: u64) -> Result<Vec<u8>, String> {
        if len > self.max_read {
            return Err(format!(
                "structure of {len} bytes exceeds the metadata limit"
            ));
        }
        let abs = self.base.checked_add(addr).ok_or("address overflow")?;
        source::read_range(self.src, abs, len)
            .map(|c| c.into_owned())
            .map_err(|_| format!("address {addr:#x}+{len} lies outside the file"))
    }

    /// Messages of the object header at `addr`: (type, body).
    fn messages(&self, addr: u64) -> Result<Vec<(u16, Vec<u8>)>, String> {
        let first = self.read(
            addr,
            16.min(self.src.len().saturating_sub(self.base + addr)),
        )?;
        let mut out = Vec::new();
        let mut blocks: Vec<(u64, u64, bool)> = Vec::new();
        if first.starts_with(b"OHDR") {
            let version = *first.get(4).ok_or("truncated")?;
            if version != 2 {
                return Err(format!("object header version {version} is not supported"));
            }
            let flags = *first.get(5).ok_or("truncated")?;
            let mut p = 6usize;
            if flags & 0x20 != 0 {
                p += 16;
            }
            if flags & 0x10 != 0 {
                p += 4;
            }
            let width = 1usize << (flags & 3);
            let hdr = self.read(addr, (p + width) as u64)?;
            let size = uint(&hdr, p, width)?;
            blocks.push((addr + (p + width) as u64, size, true));
            let creation_order = flags & 0x04 != 0;
            self.walk_v2(&mut blocks, &mut out, creation_order)?;
        } else {
            let version = *first.first().ok_or("truncated")?;
            if version != 1 {
                return Err(format!("object header version {version} is not supported"));
            }
            let size = uint(&first, 8, 4)?;
            blocks.push((addr + 16, size, false));
            self.walk_v1(&mut blocks, &mut out)?;
        }
        Ok(out)
    }

    fn continuation(&self, body: &[u8]) -> Result<(u64, u64), String> {
        Ok((
            uint(body, 0, self.off_size)?,
            uint(body, self.off_size, self.len_size)?,
        ))
    }

    /// Keep a header message; a continuation message queues another block to read.
    fn record(
        &self,
        ty: u16,
        body: Vec<u8>,
        blocks: &mut Vec<(u64, u64, bool)>,
        out: &mut Vec<(u16, Vec<u8>)>,
    ) -> Result<(), String> {
        if ty == 0x10 {
            let (a, l) = self.continuation(&body)?;
            blocks.push((a, l, false));
        }
        out.push((ty, body));
        if out.len() > MAX_MESSAGES {
            return Err("too many header messages".into());
        }
        Ok(())
    }

    fn walk_v1(
        &self,
        blocks: &mut Vec<(u64, u64, bool)>,
        out: &mut Vec<(u16, Vec<u8>)>,
    ) -> Result<(), String> {
        let mut i = 0;
        while let Some(&(addr, size, _)) = blocks.get(i) {
            i += 1;
            if i > MAX_CONTINUATIONS {
                return Err("too many header continuation blocks".into());
            }
            let b = self.read(addr, size)?;
            let mut p = 0usize;
            while p + 8 <= b.len() {
                let ty = uint(&b, p, 2)? as u16;
                let sz = uint(&b, p + 2, 2)? as usize;
                let body = b
                    .get(p + 8..p + 8 + sz)
                    .ok_or("header message runs past its block")?
                    .to_vec();
                self.record(ty, body, blocks, out)?;
                p = p.saturating_add(8 + sz.div_ceil(8) * 8);
            }
        }
        Ok(())
    }

    fn walk_v2(
        &self,
        blocks: &mut Vec<(u64, u64, bool)>,
        out: &mut Vec<(u16, Vec<u8>)>,
        co: bool,
    ) -> Result<(), String> {
        let mut i = 0;
        while let Some(&(addr, size, first)) = blocks.get(i) {
            i += 1;
            if i > MAX_CONTINUATIONS {
                return Err("too many header continuation blocks".into());
            }
            let b = self.read(addr, size)?;
            // Continuation blocks start with "OCHK"; every block ends with a 4-byte checksum.
            let mut p = if first { 0 } else { 4 };
            let end = b.len().saturating_sub(4);
            let hdr = if co { 6 } else { 4 };
            while p + hdr <= end {
                let ty = u16::from(*b.get(p).ok_or("truncated")?);
                let sz = uint(&b, p + 1, 2)? as usize;
                let body = b
                    .get(p + hdr..p + hdr + sz)
                    .ok_or("header message runs past its block")?
                    .to_vec();
                self.record(ty, body, blocks, out)?;
                p += hdr + sz;
            }
        }
        Ok(())
    }

    fn attribute(&self, body: &[u8]) -> Result<Attribute, String> {
        let version = *body.first().ok_or("truncated attribute")?;
        let name_len = uint(body, 2, 2)? as usize;
        let dt_len = uint(body, 4, 2)? as usize;
        let ds_len = uint(body, 6, 2)? as usize;
        let (mut p, pad) = match version {
            1 => (8usize, true),
            2 => (8, false),
            3 => (9, false),
            v => return Err(format!("attribute message version {v} is not supported")),
        };
        let align = |n: usize| if pad { n.div_ceil(8) * 8 } else { n };
        let name = body
            .get(p..p + name_len)
            .ok_or("attribute name truncated")?;
        let name = String::from_utf8_lossy(name.strip_suffix(b"\0").unwrap_or(name)).into_owned();
        p += align(name_len);
        let dt = body
            .get(p..p + dt_len)
            .ok_or("attribute datatype truncated")?;
        p += align(dt_len);
        let ds = body
            .get(p..p + ds_len)
            .ok_or("attribute dataspace truncated")?;
        p += align(ds_len);
        let data = body.get(p..).unwrap_or(&[]);
        let class = dt.first().ok_or("empty datatype")? & 0x0f;
        let elem_size = uint(dt, 4, 4)? as usize;
        // Only scalar or single-element string attributes carry configurations.
        let _ = ds;
        let text = match class {
            3 => data.get(..elem_size.min(data.len())).map(|s| {
                let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                s.get(..end).unwrap_or(&[]).to_vec()
            }),
            9 => {
                // Variable-length string: length (4), global heap collection address, index (4).
                let is_string = dt.get(1).is_some_and(|b| b & 0x0f == 1);
                if !is_string {
                    None
                } else {
                    let len = uint(data, 0, 4)?;
                    let coll = uint(data, 4, self.off_size)?;
                    let idx = uint(data, 4 + self.off_size, 4)?;
                    Some(self.global_heap(coll, idx, len)?)
                }
            }
            _ => None,
        };
        Ok(Attribute { name, text })
    }

    fn global_heap(&self, addr: u64, index: u64, len: u64) -> Result<Vec<u8>, String> {
        let hdr = self.read(addr, 8 + self.len_size as u64)?;
        if !hdr.starts_with(b"GCOL") {
            return Err("variable-length string points at no global heap".into());
        }
        let size = uint(&hdr, 8, self.len_size)?;
        let coll = self.read(addr, size)?;
        let mut p = 8 + self.len_size;
        while p + 8 + self.len_size <= coll.len() {
            let idx = uint(&coll, p, 2)?;
            let osize = uint(&coll, p + 8, self.len_size)? as usize;
            let start = p + 8 + self.len_size;
            if idx == 0 {
                break;
            }
            if idx == index {
                let take = osize.min(len as usize);
                return coll
                    .get(start..start.saturating_add(take))
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| "heap object truncated".into());
            }
            // Checked: a hostile size must neither wrap around nor stand still.
            match osize
                .div_ceil(8)
                .checked_mul(8)
                .and_then(|n| start.checked_add(n))
            {
                Some(next) if next > p => p = next,
                _ => break,
            }
        }
        Err(format!("global heap object {index} not found"))
    }
}

/// Read the superblock and the root group's attributes.
pub fn root_attributes(src: &dyn Source, max_read: u64) -> Result<Vec<Attribute>, String> {
    // The superblock may follow a user block at 0, 512, 1024, 2048, ...
    let mut sb_at = None;
    let mut at = 0u64;
    while at + 8 <= src.len() {
        let sig = source::read_range(src, at, 8).map_err(|e| e.to_string())?;
        if sig.as_ref() == b"\x89HDF\r\n\x1a\n" {
            sb_at = Some(at);
            break;
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    let sb_at = sb_at.ok_or("no HDF5 superblock")?;
    let sb =
        source::read_range(src, sb_at, 128.min(src.len() - sb_at)).map_err(|e| e.to_string())?;
    let version = *sb.get(8).ok_or("truncated superblock")?;
    let (off_size, len_size, root) = match version {
        0 | 1 => {
            let o = usize::from(*sb.get(13).ok_or("truncated superblock")?);
            let l = usize::from(*sb.get(14).ok_or("truncated superblock")?);
            let fixed = if version == 0 { 24 } else { 28 };
            // base, free-space, EOF, driver addresses, then the root symbol table entry:
            // link-name offset, then the object header address.
            let entry = fixed + 4 * o;
            (o, l, uint(&sb, entry + o, o)?)
        }
        2 | 3 => {
            let o = usize::from(*sb.get(9).ok_or("truncated superblock")?);
            let l = usize::from(*sb.get(10).ok_or("truncated superblock")?);
            (o, l, uint(&sb, 12 + 3 * o, o)?)
        }
        v => return Err(format!("superblock version {v} is not supported")),
    };
    if !matches!(off_size, 2 | 4 | 8) || !matches!(len_size, 2 | 4 | 8) {
        return Err(format!(
            "implausible offset/length sizes {off_size}/{len_size}"
        ));
    }
    let h = H5 {
        src,
        base: sb_at,
        off_size,
        len_size,
        max_read,
    };
    let mut attrs = Vec::new();
    for (ty, body) in h.messages(root)? {
        match ty {
            0x0C => attrs.push(h.attribute(&body)?),
            0x15 => {
                // Attribute info message: attributes live in a fractal heap when its address is set.
                let flags = *body.get(1).unwrap_or(&0);
                let p = 2 + if flags & 1 != 0 { 2 } else { 0 };
                let heap = uint(&body, p, off_size)?;
                if heap != u64::MAX >> (64 - 8 * off_size as u32) {
                    return Err("root attributes use dense storage (fractal heap), which Rampart does not read yet".into());
                }
            }
            _ => {}
        }
    }
    Ok(attrs)
}

/// Scan an HDF5 file: a Keras model configuration in the root attributes is checked like a
/// `.keras` config.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location) {
    match root_attributes(src, ctx.opts.limits.max_metadata_bytes) {
        Ok(attrs) => {
            for a in attrs {
                if a.name == "model_config" || a.name == "training_config" {
                    ctx.add_format("keras-h5");
                    if let Some(t) = &a.text {
                        keras::scan_config_bytes(ctx, t, &loc.child(format!("@{}", a.name)));
                    }
                }
            }
        }
        Err(msg) => {
            let mut f = ctx.finding(
                &rules::HDF5_MALFORMED,
                loc.clone(),
                "hdf5",
                format!("cannot read HDF5 root attributes: {msg}"),
            );
            f.impact = "a model configuration stored there could not be checked".into();
            ctx.push(f);
        }
    }
}
