//! Large plain inputs read through memory maps, a window of whole lines at a time.
//!
//! `read(2)` copies every byte from the page cache into the process: for a k6 file of a
//! gigabyte that copy was the largest single cost of the import (19% of its CPU time, more
//! than BLAKE3). A window maps its part of the file instead, is parsed where the page cache
//! holds it, and is unmapped when dropped, so the resident memory is the windows in flight, as
//! with read buffers. Windows are cut at line ends; they can be digested (BLAKE3) in file order
//! as they are made, which gives the file's digest as one pass over it.
//!
//! A mapping sees later changes to the file, and a part of it that is truncated away while
//! mapped faults (SIGBUS). Tool outputs are imported once finished; a file whose size or
//! modification time changed while it was read is refused (see [`Windows::finish`]), as the
//! Locust feed does for its second pass.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::SourceFile;

/// Whole lines of a file: the first `len` bytes of a mapping.
pub struct Window {
    map: memmap2::Mmap,
    len: usize,
}

impl Window {
    pub fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

/// Size and modification time: the file read to its end must be the one opened.
#[derive(Clone, PartialEq, Eq)]
pub struct Stamp(u64, Option<std::time::SystemTime>);

impl Stamp {
    pub fn of(path: &Path) -> Result<Self> {
        let m = std::fs::metadata(path).map_err(|e| cannot_read(path, &e))?;
        Ok(Stamp(m.len(), m.modified().ok()))
    }
}

fn too_long(max_line: usize) -> std::io::Error {
    std::io::Error::other(format!("a line is longer than {} MB", max_line >> 20))
}

fn cannot_read(path: &Path, e: &std::io::Error) -> Error {
    Error::input(path, None, format!("cannot read: {e}"))
}

/// A file from `start` to its end, window by window: see the module docs.
pub struct Windows {
    path: PathBuf,
    file: std::fs::File,
    stamp: Stamp,
    pos: u64,
    end: u64,
    block: usize,
    max_line: usize,
    hasher: Option<blake3::Hasher>,
}

impl Windows {
    /// Windows of about `block` bytes (longer for a longer line, up to `max_line`) from byte
    /// `start`; with `digest`, the whole file is digested, the bytes before `start` read now.
    pub fn open(
        path: &Path,
        start: u64,
        block: usize,
        max_line: usize,
        digest: bool,
    ) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| cannot_read(path, &e))?;
        let stamp = Stamp::of(path)?;
        let end = stamp.0;
        let hasher = if digest {
            let mut h = blake3::Hasher::new();
            let mut head = Vec::new();
            (&mut file)
                .take(start.min(end))
                .read_to_end(&mut head)
                .map_err(|e| cannot_read(path, &e))?;
            h.update(&head);
            crate::progress::bytes(head.len() as u64);
            Some(h)
        } else {
            None
        };
        Ok(Windows {
            path: path.to_path_buf(),
            file,
            stamp,
            pos: start.min(end),
            end,
            block: block.max(1),
            max_line,
            hasher,
        })
    }

    /// Whether the file starts with gzip's magic bytes (it is then read, not mapped).
    pub fn is_gzip(path: &Path) -> Result<bool> {
        let mut head = [0u8; 2];
        let mut f = std::fs::File::open(path).map_err(|e| cannot_read(path, &e))?;
        let n = super::read_up_to(&mut f, &mut head).map_err(|e| cannot_read(path, &e))?;
        Ok(n == 2 && head == [0x1f, 0x8b])
    }

    /// The next window of whole lines (the last one ends where the file does); None at the end.
    pub fn next_window(&mut self) -> std::io::Result<Option<Window>> {
        let left = self.end - self.pos;
        if left == 0 {
            return Ok(None);
        }
        let mut want = (self.block as u64).min(left) as usize;
        let window = loop {
            let map = self.map(want)?;
            if want as u64 == left {
                break Window { map, len: want };
            }
            if let Some(i) = memchr::memrchr(b'\n', &map) {
                break Window { map, len: i + 1 };
            }
            if want >= self.max_line {
                return Err(too_long(self.max_line));
            }
            want = (want * 2).min(left as usize);
        };
        if let Some(h) = self.hasher.as_mut() {
            h.update(window.bytes());
        }
        crate::progress::bytes(window.len as u64);
        self.pos += window.len as u64;
        Ok(Some(window))
    }

    #[expect(
        unsafe_code,
        reason = "mapping a file is unsafe because another process may change it: see the module docs"
    )]
    fn map(&self, len: usize) -> std::io::Result<memmap2::Mmap> {
        // SAFETY: the mapping is read-only and never outlives this import; the file is a
        // finished tool output, checked unchanged (size and modification time) by `finish`.
        unsafe {
            memmap2::MmapOptions::new()
                .offset(self.pos)
                .len(len)
                .map(&self.file)
        }
    }

    /// The file's source record once every window was read: refused when the file changed
    /// meanwhile. None unless opened with `digest`.
    pub fn finish(self, role: &'static str) -> Result<Option<SourceFile>> {
        if Stamp::of(&self.path)? != self.stamp {
            return Err(Error::input(
                &self.path,
                None,
                "the file changed while it was being imported: import it again",
            ));
        }
        Ok(self.hasher.map(|h| SourceFile {
            path: self.path.display().to_string(),
            role,
            blake3: h.finalize().to_hex().to_string(),
            bytes: self.end,
        }))
    }
}

/// A plain file cut into slots of a power-of-two size that threads take in any order: each
/// maps its slot, digests exactly the slot's bytes as a BLAKE3 subtree (the slots' chaining
/// values are merged into the file's digest at the end) and holds the lines that start in it.
/// No thread reads for another, so reading, digesting and parsing spread over every core, and
/// a slot's bytes are parsed right after they were digested, while still in cache.
pub struct Slots {
    path: PathBuf,
    file: std::fs::File,
    stamp: Stamp,
    slot: u64,
    max_line: usize,
}

/// One slot's mapping and the range of it that holds the lines starting in the slot. Its
/// own bytes are digested as the caller folds them ([`Slot::digest_through`]), so each piece
/// is hashed while it is still in the core's cache (hashing a whole slot first and folding
/// it after read every byte from memory twice).
pub struct Slot {
    map: Option<memmap2::Mmap>,
    lines: std::ops::Range<usize>,
    hasher: blake3::Hasher,
    /// The slot's own bytes in the mapping, and how far they are hashed.
    own: std::ops::Range<usize>,
    hashed: usize,
    root: bool,
}

/// A slot's part of the file digest: its subtree's chaining value, or the whole file's hash
/// when the file is a single slot.
#[derive(Clone, Copy)]
pub enum Digest {
    Subtree(blake3::hazmat::ChainingValue),
    Root(blake3::Hash),
}

impl Slot {
    pub fn bytes(&self) -> &[u8] {
        self.map.as_ref().map_or(&[], |m| &m[self.lines.clone()])
    }

    /// Hashes the slot's own bytes up to `end` of [`Slot::bytes`] (bytes past the slot's
    /// end are the next slot's to hash).
    pub fn digest_through(&mut self, end: usize) {
        let Some(map) = self.map.as_ref() else {
            return;
        };
        let to = (self.lines.start + end).min(self.own.end);
        if to > self.hashed {
            self.hasher.update(&map[self.hashed..to]);
            self.hashed = to;
        }
    }

    /// The slot's part of the file digest, its bytes not yet hashed hashed now.
    pub fn digest(mut self) -> Digest {
        if let Some(map) = self.map.as_ref() {
            self.hasher.update(&map[self.hashed..self.own.end]);
        }
        if self.root {
            Digest::Root(self.hasher.finalize())
        } else {
            Digest::Subtree(blake3::hazmat::HasherExt::finalize_non_root(&self.hasher))
        }
    }
}

impl Slots {
    /// `slot` is rounded up to a power of two of at least BLAKE3's chunk (1 KiB).
    pub fn open(path: &Path, slot: usize, max_line: usize) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| cannot_read(path, &e))?;
        Ok(Slots {
            path: path.to_path_buf(),
            file,
            stamp: Stamp::of(path)?,
            slot: (slot.max(blake3::CHUNK_LEN) as u64).next_power_of_two(),
            max_line,
        })
    }

    pub fn count(&self) -> u64 {
        self.stamp.0.div_ceil(self.slot).max(1)
    }

    /// Slot `k`, cut to the lines whose first byte lies in it (the last one read on past the
    /// slot to its end, at most `max_line` bytes); digested as it is folded.
    pub fn slot(&self, k: u64) -> std::io::Result<Slot> {
        let len = self.stamp.0;
        let (lo, hi) = (k * self.slot, ((k + 1) * self.slot).min(len));
        if lo >= hi {
            return Ok(Slot {
                map: None,
                lines: 0..0,
                hasher: blake3::Hasher::new(),
                own: 0..0,
                hashed: 0,
                root: true,
            });
        }
        // one byte before the slot (is a line starting at its first byte?) and some after it
        let from = lo.saturating_sub(1);
        let mut tail = (64u64 << 10).min(len - hi);
        let (map, end) = loop {
            let map = self.map(from, (hi + tail - from) as usize)?;
            let after = (hi - 1 - from) as usize;
            match memchr::memchr(b'\n', &map[after..]) {
                Some(i) if i > self.max_line => return Err(too_long(self.max_line)),
                Some(i) => break (map, after + i + 1),
                None if hi + tail == len => {
                    let n = map.len();
                    break (map, n);
                }
                None if tail as usize >= self.max_line => return Err(too_long(self.max_line)),
                None => tail = (tail * 2).max(1).min(len - hi),
            }
        };
        let own = (lo - from) as usize..(hi - from) as usize;
        let mut hasher = blake3::Hasher::new();
        blake3::hazmat::HasherExt::set_input_offset(&mut hasher, lo);
        crate::progress::bytes(hi - lo);
        let start = if lo == 0 {
            Some(0)
        } else {
            memchr::memchr(b'\n', &map[..own.end - 1]).map(|i| i + 1)
        };
        let lines = match start {
            Some(s) if s < own.end => s..end.max(s),
            _ => 0..0,
        };
        Ok(Slot {
            map: Some(map),
            lines,
            hasher,
            hashed: own.start,
            own,
            root: self.count() == 1,
        })
    }

    #[expect(
        unsafe_code,
        reason = "mapping a file is unsafe because another process may change it: see the module docs"
    )]
    fn map(&self, offset: u64, len: usize) -> std::io::Result<memmap2::Mmap> {
        // SAFETY: as in `Windows::map`.
        unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(&self.file)
        }
    }

    /// The file's source record from every slot's digest, in slot order: refused when the
    /// file changed while it was read.
    pub fn finish(self, digests: &[Digest], role: &'static str) -> Result<SourceFile> {
        if Stamp::of(&self.path)? != self.stamp {
            return Err(Error::input(
                &self.path,
                None,
                "the file changed while it was being imported: import it again",
            ));
        }
        let hash = match digests {
            [Digest::Root(h)] => *h,
            _ => {
                let cvs: Vec<_> = digests
                    .iter()
                    .map(|d| match d {
                        Digest::Subtree(cv) => Ok(*cv),
                        Digest::Root(_) => Err(Error::Internal("a root digest among slots".into())),
                    })
                    .collect::<Result<_>>()?;
                root_of(&cvs, self.slot, self.stamp.0)
            }
        };
        Ok(SourceFile {
            path: self.path.display().to_string(),
            role,
            blake3: hash.to_hex().to_string(),
            bytes: self.stamp.0,
        })
    }
}

/// BLAKE3's tree over slots: the left subtree of `len` bytes is the largest power of two below
/// it (`left_subtree_len`), always a whole number of slots when `len` exceeds one.
fn root_of(cvs: &[blake3::hazmat::ChainingValue], slot: u64, len: u64) -> blake3::Hash {
    use blake3::hazmat::{left_subtree_len, merge_subtrees_non_root, merge_subtrees_root, Mode};
    fn sub(
        cvs: &[blake3::hazmat::ChainingValue],
        slot: u64,
        len: u64,
    ) -> blake3::hazmat::ChainingValue {
        if len <= slot {
            return cvs[0];
        }
        let left = left_subtree_len(len);
        let k = (left / slot) as usize;
        merge_subtrees_non_root(
            &sub(&cvs[..k], slot, left),
            &sub(&cvs[k..], slot, len - left),
            Mode::Hash,
        )
    }
    let left = left_subtree_len(len);
    let k = (left / slot) as usize;
    merge_subtrees_root(
        &sub(&cvs[..k], slot, left),
        &sub(&cvs[k..], slot, len - left),
        Mode::Hash,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows_of(text: &[u8], start: u64, block: usize) -> (Vec<Vec<u8>>, Option<SourceFile>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lines.txt");
        std::fs::write(&path, text).expect("write");
        let mut w = Windows::open(&path, start, block, 1 << 20, true).expect("open");
        let mut out = Vec::new();
        while let Some(win) = w.next_window().expect("window") {
            out.push(win.bytes().to_vec());
        }
        (out, w.finish("output").expect("finish"))
    }

    #[test]
    fn windows_are_whole_lines_that_cover_the_file_and_digest_it_all() {
        let text = b"header\nline one\nline two is longer\nthree\nno newline at the end";
        for block in [1, 3, 8, 17, 64, 1000] {
            let (wins, source) = windows_of(text, 7, block);
            assert_eq!(wins.concat(), &text[7..], "block {block}");
            for w in &wins[..wins.len() - 1] {
                assert_eq!(w.last(), Some(&b'\n'), "block {block}: {w:?}");
            }
            let source = source.expect("digested");
            assert_eq!(source.blake3, blake3::hash(text).to_hex().to_string());
            assert_eq!(source.bytes, text.len() as u64);
        }
    }

    #[test]
    fn an_empty_file_has_no_window() {
        let (wins, source) = windows_of(b"", 0, 16);
        assert!(wins.is_empty());
        assert_eq!(
            source.expect("digested").blake3,
            blake3::hash(b"").to_hex().to_string()
        );
    }

    #[test]
    fn a_line_longer_than_the_limit_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("long.txt");
        std::fs::write(&path, vec![b'x'; 5000]).expect("write");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"\nshort\n"))
            .expect("append");
        let mut w = Windows::open(&path, 0, 64, 1024, false).expect("open");
        let e = w.next_window().err().expect("too long");
        assert!(e.to_string().contains("longer than"), "{e}");
    }

    fn slots_of(text: &[u8], slot: usize, max_line: usize) -> (Vec<Vec<u8>>, SourceFile) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lines.txt");
        std::fs::write(&path, text).expect("write");
        let slots = Slots::open(&path, slot, max_line).expect("open");
        let (mut lines, mut digests) = (Vec::new(), Vec::new());
        for k in (0..slots.count()).rev() {
            let mut s = slots.slot(k).expect("slot");
            lines.push(s.bytes().to_vec());
            // hashed piece by piece as a fold does, some pieces past the lines' end
            for end in (0..=s.bytes().len() + 8).step_by(7) {
                s.digest_through(end);
            }
            digests.push(s.digest());
        }
        lines.reverse();
        digests.reverse();
        (lines, slots.finish(&digests, "output").expect("finish"))
    }

    #[test]
    fn slots_in_any_order_hold_every_line_once_and_digest_the_file() {
        let mut text = Vec::new();
        for i in 0..3000 {
            text.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 37)).as_bytes());
        }
        text.extend_from_slice(b"last line without a newline");
        for len in [
            0,
            1,
            1023,
            1024,
            1025,
            5000,
            65_536,
            text.len() - 1,
            text.len(),
        ] {
            let t = &text[..len];
            for slot in [1024, 2048, 8192, 1 << 20] {
                let (lines, source) = slots_of(t, slot, 1 << 20);
                assert_eq!(lines.concat(), t, "len {len} slot {slot}");
                let full: Vec<_> = lines.iter().filter(|l| !l.is_empty()).collect();
                for l in &full[..full.len().saturating_sub(1)] {
                    assert!(l.ends_with(b"\n"), "len {len} slot {slot}");
                }
                assert_eq!(
                    source.blake3,
                    blake3::hash(t).to_hex().to_string(),
                    "len {len} slot {slot}"
                );
                assert_eq!(source.bytes, len as u64);
            }
        }
    }

    #[test]
    fn a_line_longer_than_a_slot_belongs_to_the_slot_it_starts_in() {
        let mut text = b"short\n".to_vec();
        text.extend(std::iter::repeat_n(b'y', 5000));
        text.extend_from_slice(b"\nafter\n");
        let (lines, source) = slots_of(&text, 1024, 1 << 20);
        assert_eq!(lines[0], text[..text.len() - 6]);
        assert!(lines[1..lines.len() - 1].iter().all(Vec::is_empty));
        assert_eq!(lines.last().map(Vec::as_slice), Some(&b"after\n"[..]));
        assert_eq!(source.blake3, blake3::hash(&text).to_hex().to_string());
        let slots = {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("long.txt");
            std::fs::write(&path, &text).expect("write");
            let s = Slots::open(&path, 1024, 2048).expect("open");
            s.slot(0).err().map(|e| e.to_string())
        };
        assert!(slots.is_some_and(|e| e.contains("longer than")));
    }
}
