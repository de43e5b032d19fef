//! Tar archives (including PyTorch's legacy tar checkpoints): every member is examined with the
//! same limits as zip members; link entries and escaping names are reported.

use crate::rules;
use crate::scan::{self, Ctx};
use crate::source::Source;
use rampart_core::Location;
use std::io::{self, Read, Seek, SeekFrom};

/// `Read + Seek` over a [`Source`], so that members are skipped, not read.
pub(crate) struct SourceReader<'a> {
    pub src: &'a dyn Source,
    pub pos: u64,
}

impl Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.src.len().saturating_sub(self.pos);
        let n = (buf.len() as u64).min(left) as usize;
        if n == 0 {
            return Ok(0);
        }
        let dst = buf
            .get_mut(..n)
            .ok_or_else(|| io::Error::other("bad buffer"))?;
        self.src.read_exact_at(self.pos, dst)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SourceReader<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.src.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad seek"))?;
        Ok(self.pos)
    }
}

/// Scan a tar archive.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location, depth: u32) {
    let limits = ctx.opts.limits.clone();
    let mut archive = tar::Archive::new(SourceReader { src, pos: 0 });
    let entries = match archive.entries_with_seek() {
        Ok(e) => e,
        Err(e) => {
            ctx.report(
                &rules::ARCHIVE_UNREADABLE,
                loc.clone(),
                "tar",
                format!("cannot read tar: {e}"),
            );
            return;
        }
    };
    let mut count = 0u64;
    let mut names = Vec::new();
    for entry in entries {
        if ctx.out_of_time(loc) {
            return;
        }
        count += 1;
        if count > limits.max_entries {
            ctx.report(
                &rules::ARCHIVE_BOMB,
                loc.clone(),
                "tar",
                format!(
                    "more than {} entries (--max-entries); the rest was not examined",
                    limits.max_entries
                ),
            );
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                ctx.report(
                    &rules::ARCHIVE_UNREADABLE,
                    loc.clone(),
                    "tar",
                    format!("corrupt tar entry: {e}"),
                );
                return;
            }
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        names.push(name.clone());
        let mloc = loc.child(name.clone());
        if super::zip::escapes_root(&name) {
            ctx.report(
                &rules::ARCHIVE_TRAVERSAL,
                mloc.clone(),
                "tar",
                format!("member name {name:?} escapes the extraction directory"),
            );
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let sev_escape = target.starts_with('/') || target.split('/').any(|c| c == "..");
            let mut f = ctx.finding(
                &rules::ARCHIVE_LINK,
                mloc.clone(),
                "tar",
                format!(
                    "{} link to {target:?}{}",
                    if kind.is_symlink() {
                        "symbolic"
                    } else {
                        "hard"
                    },
                    if sev_escape {
                        " (outside the archive root)"
                    } else {
                        ""
                    }
                ),
            );
            if sev_escape {
                f.severity = rampart_core::Severity::High;
            }
            ctx.push(f);
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        ctx.members += 1;
        let size = entry.size();
        if size == 0 {
            continue;
        }
        if depth + 1 > limits.max_depth {
            ctx.report(
                &rules::ARCHIVE_BOMB,
                mloc,
                "tar",
                "archives nested too deep (--max-depth)",
            );
            continue;
        }
        if size > limits.max_member_bytes {
            ctx.report(
                &rules::SCAN_INCOMPLETE,
                mloc,
                "tar",
                format!("member of {size} bytes exceeds the member limit (--max-member-bytes); not examined"),
            );
            continue;
        }
        // Members are scanned in place through positional reads; nothing is copied.
        let off = entry.raw_file_position();
        let sub = super::zip::SubSource {
            parent: src,
            off,
            len: size,
        };
        let leaf = name.rsplit('/').next().unwrap_or(&name).to_string();
        // PyTorch's legacy tar checkpoints: the pickles resolve persistent ids to storages.
        let torch_tar = names.iter().any(|n| n == "sys_info");
        if torch_tar && matches!(name.as_str(), "pickle" | "tensors" | "storages") {
            ctx.add_format("pickle");
            super::pickle::scan_source(ctx, &sub, &mloc, super::pickle::PickleContext::TorchZip);
            continue;
        }
        scan::scan_source(ctx, &sub, &mloc, &leaf, depth + 1);
    }
    if names.iter().any(|n| n == "pickle") && names.iter().any(|n| n == "storages") {
        ctx.add_format("pytorch-tar");
    }
}
