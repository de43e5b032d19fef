//! Random-access input. Large files are read by position (the tensor bytes of a multi-gigabyte
//! checkpoint are never touched); archive members and decompressed streams live in memory.

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes that can be read at any offset.
pub trait Source: Sync {
    /// Total length.
    fn len(&self) -> u64;
    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fill `buf` from `off`; errors if the range is not entirely inside the source.
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()>;
    /// The whole content, when it is already in memory.
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(off).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        let src = self.get(start..end).ok_or_else(eof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
}

/// A file read with positional reads (`pread`), shareable across threads.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    /// Wrap an open file.
    pub fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        if off
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.len)
        {
            return Err(eof());
        }
        self.file.read_exact_at(buf, off)
    }
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past the end of the input",
    )
}

/// Read `len` bytes at `off`, borrowing when the source is in memory. The caller bounds `len`.
pub fn read_range(src: &dyn Source, off: u64, len: u64) -> io::Result<Cow<'_, [u8]>> {
    if let Some(s) = src.as_slice() {
        let start = usize::try_from(off).map_err(|_| eof())?;
        let n = usize::try_from(len).map_err(|_| eof())?;
        let end = start.checked_add(n).ok_or_else(eof)?;
        return s.get(start..end).map(Cow::Borrowed).ok_or_else(eof);
    }
    if off.checked_add(len).is_none_or(|e| e > src.len()) {
        return Err(eof());
    }
    let n = usize::try_from(len).map_err(|_| eof())?;
    let mut v = vec![0u8; n];
    src.read_exact_at(off, &mut v)?;
    Ok(Cow::Owned(v))
}

/// Up to `max` bytes from the start.
pub fn head(src: &dyn Source, max: u64) -> io::Result<Cow<'_, [u8]>> {
    read_range(src, 0, src.len().min(max))
}

/// Up to `max` bytes at the end, and the offset where they start.
pub fn tail(src: &dyn Source, max: u64) -> io::Result<(u64, Cow<'_, [u8]>)> {
    let n = src.len().min(max);
    let off = src.len() - n;
    Ok((off, read_range(src, off, n)?))
}
