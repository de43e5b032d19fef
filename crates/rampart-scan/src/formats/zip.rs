//! Zip archives, read the way their loaders read them: the central directory decides (Python's
//! `zipfile`, PyTorch's miniz reader), and every local header is checked against it.
//!
//! Hand-written rather than the `zip` crate because the differentials matter here: the crate
//! hides local-header names, flags and CRC disagreements that scanner bypasses rely on, and it
//! rejects archives that loaders still open.

use super::compress;
use super::pickle::{self, PickleContext};
use super::torch;
use crate::rules;
use crate::scan::{self, Ctx};
use crate::source::{self, Source};
use rampart_core::Location;
use std::collections::{HashMap, HashSet};

/// A view of part of another source.
pub(crate) struct SubSource<'a> {
    pub parent: &'a dyn Source,
    pub off: u64,
    pub len: u64,
}

impl Source for SubSource<'_> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if off
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.len)
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "read past member end",
            ));
        }
        self.parent.read_exact_at(self.off + off, buf)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        let s = self.parent.as_slice()?;
        let a = usize::try_from(self.off).ok()?;
        let b = usize::try_from(self.off + self.len).ok()?;
        s.get(a..b)
    }
}

/// One central-directory entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    pub raw_name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub csize: u64,
    pub usize: u64,
    pub local_offset: u64,
    pub made_by_unix: bool,
    pub external_attr: u32,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }
    pub fn is_symlink(&self) -> bool {
        self.made_by_unix && (self.external_attr >> 16) & 0o170000 == 0o120000
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}
fn le32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}
fn le64(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8) {
        Some(s) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        }
        None => 0,
    }
}

/// CP437 as Python's zipfile decodes names without the UTF-8 flag; only printable ASCII is
/// mapped exactly, the rest becomes U+FFFD (enough for path checks and display).
fn decode_name(raw: &[u8], utf8: bool) -> String {
    if utf8 {
        return String::from_utf8_lossy(raw).into_owned();
    }
    raw.iter()
        .map(|&b| if b < 0x80 { char::from(b) } else { '\u{FFFD}' })
        .collect()
}

/// The archive's directory, or why it could not be read.
pub(crate) struct Directory {
    pub entries: Vec<Entry>,
    /// Bytes of data in front of the archive (self-extractor or polyglot prefix).
    pub prefix: u64,
}

pub(crate) fn read_directory(
    src: &dyn Source,
    max_entries: u64,
    max_cd: u64,
) -> Result<Directory, String> {
    let (tail_off, tail) =
        source::tail(src, 65_535 + 22).map_err(|e| format!("cannot read end of archive: {e}"))?;
    // zipfile looks at the last record first, then searches backwards (rfind).
    let pos = tail
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .ok_or("no end-of-central-directory record")?;
    let eocd = tail.get(pos..).unwrap_or(&[]);
    if eocd.len() < 22 {
        return Err("truncated end-of-central-directory record".into());
    }
    let eocd_off = tail_off + pos as u64;
    let mut n_entries = u64::from(le16(eocd, 10));
    let mut cd_size = u64::from(le32(eocd, 12));
    let mut cd_off = u64::from(le32(eocd, 16));
    let mut zip64_len = 0u64;
    if eocd_off >= 20 {
        let loc = source::read_range(src, eocd_off - 20, 20).map_err(|e| e.to_string())?;
        if loc.starts_with(b"PK\x06\x07") {
            let z64 = le64(&loc, 8);
            let rec = source::read_range(src, z64, 56).map_err(|_| "zip64 record out of bounds")?;
            if !rec.starts_with(b"PK\x06\x06") {
                return Err("zip64 locator points at no zip64 record".into());
            }
            n_entries = le64(&rec, 32);
            cd_size = le64(&rec, 40);
            cd_off = le64(&rec, 48);
            zip64_len = 56 + 20;
        }
    }
    if n_entries > max_entries {
        return Err(format!(
            "archive declares {n_entries} entries, more than the limit of {max_entries} (--max-entries)"
        ));
    }
    if cd_size > src.len() {
        return Err(format!(
            "central directory of {cd_size} bytes is larger than the file"
        ));
    }
    if cd_size > max_cd {
        return Err(format!(
            "central directory of {cd_size} bytes exceeds the metadata limit"
        ));
    }
    // Like zipfile: data prepended to the archive shifts every offset by `concat`.
    let cd_end = eocd_off.checked_sub(zip64_len).ok_or("bad zip64 layout")?;
    let prefix = cd_end
        .checked_sub(cd_size)
        .and_then(|x| x.checked_sub(cd_off))
        .ok_or("central directory offset points past the end record")?;
    let cd_start = cd_off + prefix;
    let cd = source::read_range(src, cd_start, cd_size)
        .map_err(|_| "central directory out of bounds".to_string())?;
    let mut entries = Vec::new();
    let mut p = 0usize;
    while entries.len() < n_entries as usize {
        let h = cd.get(p..p + 46).ok_or("central directory truncated")?;
        if !h.starts_with(b"PK\x01\x02") {
            return Err(format!(
                "bad central directory signature at entry {}",
                entries.len()
            ));
        }
        let made_by = le16(h, 4);
        let flags = le16(h, 8);
        let method = le16(h, 10);
        let crc = le32(h, 16);
        let mut csize = u64::from(le32(h, 20));
        let mut usize_ = u64::from(le32(h, 24));
        let nlen = usize::from(le16(h, 28));
        let xlen = usize::from(le16(h, 30));
        let clen = usize::from(le16(h, 32));
        let ext = le32(h, 38);
        let mut local = u64::from(le32(h, 42));
        let raw_name = cd
            .get(p + 46..p + 46 + nlen)
            .ok_or("entry name truncated")?
            .to_vec();
        let extra = cd
            .get(p + 46 + nlen..p + 46 + nlen + xlen)
            .ok_or("entry extra field truncated")?;
        // ZIP64 extended information: only the fields that were saturated are present.
        let mut x = 0usize;
        while x + 4 <= extra.len() {
            let id = le16(extra, x);
            let sz = usize::from(le16(extra, x + 2));
            let body = extra.get(x + 4..x + 4 + sz).unwrap_or(&[]);
            if id == 1 {
                let mut q = 0;
                if usize_ == 0xFFFF_FFFF {
                    usize_ = le64(body, q);
                    q += 8;
                }
                if csize == 0xFFFF_FFFF {
                    csize = le64(body, q);
                    q += 8;
                }
                if local == 0xFFFF_FFFF {
                    local = le64(body, q);
                }
            }
            x += 4 + sz;
        }
        entries.push(Entry {
            name: decode_name(&raw_name, flags & 0x800 != 0),
            raw_name,
            flags,
            method,
            crc,
            csize,
            usize: usize_,
            local_offset: local + prefix,
            made_by_unix: made_by >> 8 == 3,
            external_attr: ext,
        });
        p += 46 + nlen + xlen + clen;
    }
    Ok(Directory { entries, prefix })
}

/// Whether an archive member name would be written outside the extraction root.
pub(crate) fn escapes_root(name: &str) -> bool {
    let n = name.replace('\\', "/");
    n.starts_with('/')
        || n.as_bytes().get(1) == Some(&b':')
        || n.split('/').any(|c| c == "..")
        || name.contains('\\')
        || name.contains('\0')
}

/// Where an entry's data starts, after checking its local header against the central one.
fn data_offset(ctx: &mut Ctx<'_>, src: &dyn Source, e: &Entry, loc: &Location) -> Option<u64> {
    let h = match source::read_range(src, e.local_offset, 30) {
        Ok(h) => h,
        Err(_) => {
            ctx.report(
                &rules::ZIP_INCONSISTENT,
                loc.clone(),
                "zip",
                format!("local header of {:?} lies outside the file", e.name),
            );
            return None;
        }
    };
    if !h.starts_with(b"PK\x03\x04") {
        ctx.report(
            &rules::ZIP_INCONSISTENT,
            loc.clone().at(e.local_offset),
            "zip",
            format!(
                "no local header where the central directory places {:?}",
                e.name
            ),
        );
        return None;
    }
    let lflags = le16(&h, 6);
    let lmethod = le16(&h, 8);
    let nlen = u64::from(le16(&h, 26));
    let xlen = u64::from(le16(&h, 28));
    let lname = source::read_range(src, e.local_offset + 30, nlen).ok()?;
    if lname.as_ref() != e.raw_name.as_slice() {
        let mut f = ctx.finding(
            &rules::ZIP_INCONSISTENT,
            loc.clone().at(e.local_offset),
            "zip",
            format!(
                "local header names {:?} but the central directory names {:?}",
                String::from_utf8_lossy(&lname),
                e.name
            ),
        );
        f.impact = "streaming readers see one name, zipfile and torch.load another".into();
        ctx.push(f);
    }
    if lmethod != e.method {
        ctx.report(
            &rules::ZIP_INCONSISTENT,
            loc.clone().at(e.local_offset),
            "zip",
            format!(
                "{:?}: compression method {} in local header, {} in central directory",
                e.name, lmethod, e.method
            ),
        );
    }
    // Bit 3 (data descriptor) and bit 11 (UTF-8) legitimately differ between writers.
    if (lflags ^ e.flags) & !0x0808 != 0 {
        ctx.report(
            &rules::ZIP_INCONSISTENT,
            loc.clone().at(e.local_offset),
            "zip",
            format!(
                "{:?}: flags {:#06x} in local header, {:#06x} in central directory",
                e.name, lflags, e.flags
            ),
        );
    }
    let off = e.local_offset + 30 + nlen + xlen;
    if off.checked_add(e.csize).is_none_or(|end| end > src.len()) {
        ctx.report(
            &rules::ZIP_INCONSISTENT,
            loc.clone().at(e.local_offset),
            "zip",
            format!(
                "{:?}: compressed data runs past the end of the file",
                e.name
            ),
        );
        return None;
    }
    Some(off)
}

/// What kind of archive the member names say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// PyTorch zip checkpoint with this record prefix (`archive/`, `model/`, anything).
    Torch {
        prefix: String,
        torchscript: bool,
    },
    Keras,
    Npz,
    Generic,
}

pub(crate) fn flavor(entries: &[Entry]) -> Flavor {
    let names: HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for e in entries {
        if let Some(prefix) = e.name.strip_suffix("data.pkl") {
            let has_marker = ["version", ".data/version", "byteorder", ".format_version"]
                .iter()
                .any(|m| names.contains(format!("{prefix}{m}").as_str()));
            if has_marker || prefix.ends_with('/') || prefix.is_empty() {
                let torchscript = entries
                    .iter()
                    .any(|x| x.name.starts_with(&format!("{prefix}code/")));
                return Flavor::Torch {
                    prefix: prefix.to_string(),
                    torchscript,
                };
            }
        }
    }
    if names.contains("config.json")
        && (names.contains("metadata.json") || names.contains("model.weights.h5"))
    {
        return Flavor::Keras;
    }
    if !entries.is_empty()
        && entries
            .iter()
            .all(|e| e.name.ends_with(".npy") || e.is_dir())
    {
        return Flavor::Npz;
    }
    Flavor::Generic
}

/// The "encrypted" flag on a member that is not: Python's zipfile refuses it, PyTorch's reader
/// ignores the flag and loads it (CVE-2025-1945). Report the differential; the content is
/// scanned anyway. Real ZipCrypto data fails to decode and is reported as unreadable.
fn flag_check(ctx: &mut Ctx<'_>, e: &Entry, loc: &Location) {
    if e.flags & 1 != 0 {
        let mut f = ctx.finding(
            &rules::ZIP_INCONSISTENT,
            loc.clone(),
            "zip",
            format!(
                "member has the encryption flag set (flags {:#06x})",
                e.flags
            ),
        );
        f.impact = "zipfile refuses it while PyTorch ignores the flag and loads it".into();
        ctx.push(f);
    }
}

/// Read a member's (decompressed) bytes, bounded by the limits.
pub(crate) fn member_bytes(
    ctx: &mut Ctx<'_>,
    src: &dyn Source,
    e: &Entry,
    data_off: u64,
    loc: &Location,
) -> Option<Vec<u8>> {
    let limits = &ctx.opts.limits;
    if e.method == 99 {
        ctx.report(
            &rules::ARCHIVE_UNREADABLE,
            loc.clone(),
            "zip",
            "member is AES-encrypted; its content was not examined",
        );
        return None;
    }
    flag_check(ctx, e, loc);
    if e.usize > limits.max_member_bytes || e.csize > limits.max_member_bytes {
        ctx.report(
            &rules::SCAN_INCOMPLETE,
            loc.clone(),
            "zip",
            format!(
                "member of {} bytes exceeds the {}-byte member limit (--max-member-bytes); not examined",
                e.usize.max(e.csize),
                limits.max_member_bytes
            ),
        );
        return None;
    }
    if e.usize > (1 << 20) && e.usize / e.csize.max(1) > limits.max_ratio {
        ctx.report(
            &rules::ARCHIVE_BOMB,
            loc.clone(),
            "zip",
            format!(
                "member expands {}:1 ({} → {} bytes), above the ratio limit of {}:1",
                e.usize / e.csize.max(1),
                e.csize,
                e.usize,
                limits.max_ratio
            ),
        );
        return None;
    }
    let max_member = limits.max_member_bytes;
    let raw = source::read_range(src, data_off, e.csize).ok()?;
    let out = match compress::zip_method(e.method, &raw, max_member) {
        Ok(v) => v,
        Err(msg) => {
            ctx.report(&rules::ARCHIVE_UNREADABLE, loc.clone(), "zip", msg);
            return None;
        }
    };
    if !ctx.take_decompressed(out.len() as u64, loc) {
        return None;
    }
    if out.len() as u64 != e.usize {
        ctx.report(
            &rules::ZIP_INCONSISTENT,
            loc.clone(),
            "zip",
            format!(
                "member decompresses to {} bytes but the directory declares {}",
                out.len(),
                e.usize
            ),
        );
    }
    if crc32fast::hash(&out) != e.crc {
        let mut f = ctx.finding(
            &rules::ZIP_INCONSISTENT,
            loc.clone(),
            "zip",
            "member's CRC-32 does not match the directory",
        );
        f.impact = "zipfile raises on read; other readers skip the check and load it".into();
        ctx.push(f);
    }
    Some(out)
}

/// Scan a zip archive and its members.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location, depth: u32) {
    let limits = ctx.opts.limits.clone();
    let dir = match read_directory(src, limits.max_entries, limits.max_metadata_bytes) {
        Ok(d) => d,
        Err(msg) => {
            let rule = if msg.contains("limit") {
                &rules::ARCHIVE_BOMB
            } else {
                &rules::ZIP_INCONSISTENT
            };
            ctx.report(
                rule,
                loc.clone(),
                "zip",
                format!("cannot read zip directory: {msg}"),
            );
            return;
        }
    };
    if dir.prefix > 0 {
        let mut f = ctx.finding(
            &rules::POLYGLOT,
            loc.clone(),
            "zip",
            format!("{} bytes of other data precede the zip archive", dir.prefix),
        );
        f.impact = "zip readers skip the prefix; other readers (pickle.load) read it".into();
        ctx.push(f);
        // Whatever sits in front is scanned as a file of its own.
        let pre = SubSource {
            parent: src,
            off: 0,
            len: dir.prefix,
        };
        scan::scan_source(ctx, &pre, &loc.child("<data before zip>"), "", depth + 1);
    }
    let fl = flavor(&dir.entries);
    let format = match &fl {
        Flavor::Torch {
            torchscript: true, ..
        } => "torchscript",
        Flavor::Torch { .. } => "pytorch-zip",
        Flavor::Keras => "keras",
        Flavor::Npz => "npz",
        Flavor::Generic => "zip",
    };
    ctx.add_format(format);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
    let mut storages: HashMap<String, u64> = HashMap::new();
    let mut persistent = Vec::new();
    for (i, e) in dir.entries.iter().enumerate() {
        if ctx.out_of_time(loc) {
            return;
        }
        let mloc = loc.child(e.name.clone());
        if let Some(prev) = seen.insert(e.name.as_str(), i) {
            let mut f = ctx.finding(
                &rules::ZIP_INCONSISTENT,
                mloc.clone(),
                format,
                format!("duplicate member name (entries {prev} and {i})"),
            );
            f.impact = "readers disagree on which copy they return".into();
            ctx.push(f);
        }
        if escapes_root(&e.name) {
            let mut f = ctx.finding(
                &rules::ARCHIVE_TRAVERSAL,
                mloc.clone(),
                format,
                format!("member name {:?} escapes the extraction directory", e.name),
            );
            f.impact = "extracting writes outside the target folder".into();
            ctx.push(f);
        }
        if e.is_symlink() {
            ctx.report(
                &rules::ARCHIVE_LINK,
                mloc.clone(),
                format,
                "member is a symbolic link",
            );
        }
        if e.is_dir() {
            continue;
        }
        let Some(off) = data_offset(ctx, src, e, &mloc) else {
            continue;
        };
        // Overlapping members are the building block of non-recursive zip bombs.
        ranges.push((off, off + e.csize, i));
        ctx.members += 1;
        match &fl {
            Flavor::Torch { prefix, .. } => {
                let rel = e.name.strip_prefix(prefix.as_str()).unwrap_or(&e.name);
                if let Some(key) = rel.strip_prefix("data/") {
                    // Tensor bytes: never read, only measured.
                    storages.insert(key.to_string(), e.usize);
                    continue;
                }
                if rel.ends_with(".pkl") {
                    if e.method == 0 && e.csize == e.usize {
                        let sub = SubSource {
                            parent: src,
                            off,
                            len: e.csize,
                        };
                        check_stored_crc(ctx, &sub, e, &mloc);
                        flag_check(ctx, e, &mloc);
                        ctx.add_format("pickle");
                        let s = pickle::scan_source(ctx, &sub, &mloc, PickleContext::TorchZip);
                        persistent.extend(s.persistent_ids);
                    } else if let Some(bytes) = member_bytes(ctx, src, e, off, &mloc) {
                        ctx.add_format("pickle");
                        let s = pickle::analyse(ctx, &bytes, false, &mloc, PickleContext::TorchZip);
                        persistent.extend(s.persistent_ids);
                    }
                    continue;
                }
                if rel.starts_with("code/") && (rel.ends_with(".py") || rel.ends_with(".pkl")) {
                    if let Some(bytes) = member_bytes(ctx, src, e, off, &mloc) {
                        torch::scan_torchscript_code(ctx, &bytes, &mloc);
                    }
                    continue;
                }
                scan_member(ctx, src, e, off, &mloc, depth);
            }
            Flavor::Keras if e.name == "config.json" => {
                if let Some(bytes) = member_bytes(ctx, src, e, off, &mloc) {
                    super::keras::scan_config_bytes(ctx, &bytes, &mloc);
                }
            }
            _ => scan_member(ctx, src, e, off, &mloc, depth),
        }
    }
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if let [(_, end_a, a), (start_b, _, b)] = w
            && start_b < end_a
        {
            let name_b = dir.entries.get(*b).map_or("", |e| e.name.as_str());
            let name_a = dir.entries.get(*a).map_or("", |e| e.name.as_str());
            let mut f = ctx.finding(
                &rules::ARCHIVE_BOMB,
                loc.child(name_b),
                format,
                format!("member data overlaps member {name_a:?}"),
            );
            f.impact =
                "overlapping members multiply decompressed size (zip bomb) or hide data".into();
            ctx.push(f);
        }
    }
    if let Flavor::Torch { prefix, .. } = &fl {
        torch::check_storages(ctx, &persistent, &storages, loc, prefix);
    }
}

/// Stored members are checked for CRC only when small: hashing large tensors would make scan
/// time grow with tensor bytes.
fn check_stored_crc(ctx: &mut Ctx<'_>, sub: &SubSource<'_>, e: &Entry, mloc: &Location) {
    if e.csize <= 64 << 20
        && let Ok(bytes) = source::read_range(sub, 0, e.csize)
        && crc32fast::hash(&bytes) != e.crc
    {
        let mut f = ctx.finding(
            &rules::ZIP_INCONSISTENT,
            mloc.clone(),
            "zip",
            "member's CRC-32 does not match the directory",
        );
        f.impact = "zipfile raises on read; other readers skip the check and load it".into();
        ctx.push(f);
    }
}

/// Scan one member generically (detect its format and recurse).
fn scan_member(
    ctx: &mut Ctx<'_>,
    src: &dyn Source,
    e: &Entry,
    off: u64,
    mloc: &Location,
    depth: u32,
) {
    if depth + 1 > ctx.opts.limits.max_depth {
        ctx.report(
            &rules::ARCHIVE_BOMB,
            mloc.clone(),
            "zip",
            format!(
                "archives nested deeper than {} levels (--max-depth); not examined",
                ctx.opts.limits.max_depth
            ),
        );
        return;
    }
    if e.usize == 0 && e.csize == 0 {
        return;
    }
    let name = e.name.rsplit('/').next().unwrap_or(&e.name).to_string();
    if e.method == 0 {
        flag_check(ctx, e, mloc);
        if e.csize != e.usize {
            ctx.report(
                &rules::ZIP_INCONSISTENT,
                mloc.clone(),
                "zip",
                "stored member with different compressed and uncompressed sizes",
            );
        }
        let sub = SubSource {
            parent: src,
            off,
            len: e.csize,
        };
        check_stored_crc(ctx, &sub, e, mloc);
        scan::scan_source(ctx, &sub, mloc, &name, depth + 1);
        return;
    }
    if let Some(bytes) = member_bytes(ctx, src, e, off, mloc) {
        scan::scan_source(ctx, &bytes.as_slice(), mloc, &name, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_names() {
        for bad in ["../x", "/etc/passwd", "a/../../b", "C:/x", "a\\..\\b"] {
            assert!(escapes_root(bad), "{bad}");
        }
        for ok in ["a/b", "archive/data.pkl", "..a/b", "a..b"] {
            assert!(!escapes_root(ok), "{ok}");
        }
    }
}
