//! Capture containers -> frames.
//!
//! Opens a capture (file, gzip-compressed file, or stdin), sniffs the container, and hands out batches of
//! frames in file order. Files are read with plain reads into one buffer per batch: measured against a
//! memory map with populate/drop advice, this was about 15 % faster on one thread (no page-table work, and
//! the bytes land in cache just before they are framed) and keeps the file's pages out of resident memory.
//! Frame numbers are 1-based and continue across the files of one run, as
//! `mergecap -a` would number them, so a single file gets exactly Wireshark's numbers.

pub mod format;

use std::fs::File;
use std::io::Read;

use crate::problems::Problems;
use format::{Framer, Step};

/// One frame's metadata; its bytes live in the batch.
#[derive(Clone, Copy, Debug)]
pub struct FrameMeta {
    pub number: u64,
    pub time_ns: i64,
    pub link_type: u32,
    pub interface: u32,
    pub orig_len: u32,
    start: usize,
    len: u32,
}

/// A run of consecutive frames and the bytes they point into.
pub struct Batch {
    data: Vec<u8>,
    pub frames: Vec<FrameMeta>,
}

impl Batch {
    pub fn bytes(&self, f: &FrameMeta) -> &[u8] {
        self.data
            .get(f.start..f.start + f.len as usize)
            .unwrap_or(&[])
    }
}

/// The input being read.
struct Source {
    reader: Box<dyn Read + Send>,
    /// Bytes read but not yet framed (a record cut by the previous read).
    carry: Vec<u8>,
    eof: bool,
    /// Absolute offset (in the decompressed stream) of `carry[0]`.
    base: u64,
    /// Buffers of batches handed back (`CaptureReader::recycle`), reused for the next batches.
    spare: Vec<(Vec<u8>, Vec<FrameMeta>)>,
}

/// What the reader learned about one input file.
#[derive(Clone, Debug, Default)]
pub struct FileFacts {
    pub path: String,
    pub format: String,
    pub gzip: bool,
    pub size_bytes: u64,
    pub sections: u32,
    /// (link type, snaplen) per interface, in file order.
    pub interfaces: Vec<(u32, u32)>,
    /// Fatal error that stopped reading (the partial result before it is kept).
    pub error: Option<String>,
}

pub struct CaptureReader {
    source: Source,
    framer: Option<Framer>,
    next_number: u64,
    pub facts: FileFacts,
    done: bool,
}

/// Batch buffers kept for reuse (a window is two batches per thread, and one window is read while the
/// previous one is classified).
const MAX_SPARE_BATCHES: usize = 16;

/// How many bytes a batch should cover: large enough to amortise scheduling, small enough to bound memory.
pub const BATCH_BYTES: usize = 256 * 1024;

impl CaptureReader {
    /// Opens `path` (`-` for stdin). Frame numbers start at `first_number`.
    pub fn open(path: &str, first_number: u64) -> Result<CaptureReader, String> {
        let mut facts = FileFacts {
            path: path.to_string(),
            ..FileFacts::default()
        };
        let source = if path == "-" {
            let mut stdin = std::io::stdin();
            let head = read_head(&mut stdin).map_err(|e| format!("cannot read stdin: {e}"))?;
            stream_source(head, Box::new(stdin), &mut facts)
        } else {
            let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
            let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
            if meta.is_dir() {
                return Err("is a directory, not a capture file".to_string());
            }
            facts.size_bytes = meta.len();
            let head = read_head(&mut file).map_err(|e| format!("cannot read: {e}"))?;
            stream_source(head, Box::new(file), &mut facts)
        };
        Ok(CaptureReader {
            source,
            framer: None,
            next_number: first_number,
            facts,
            done: false,
        })
    }

    /// Reads a capture held in memory (tests, fuzzing, captures handed over by a library user).
    pub fn from_bytes(name: &str, data: Vec<u8>, first_number: u64) -> CaptureReader {
        let mut facts = FileFacts {
            path: name.to_string(),
            size_bytes: data.len() as u64,
            ..FileFacts::default()
        };
        let mut head = data;
        let rest = head.split_off(head.len().min(2));
        let source = stream_source(head, Box::new(std::io::Cursor::new(rest)), &mut facts);
        CaptureReader {
            source,
            framer: None,
            next_number: first_number,
            facts,
            done: false,
        }
    }

    /// Bytes of the input consumed so far (of the decompressed stream for gzip), for progress display.
    pub fn position(&self) -> u64 {
        self.source.base
    }

    /// Number the next frame would get (so the next file of the run continues from it).
    pub fn next_number(&self) -> u64 {
        self.next_number
    }

    /// Takes back a batch that is no longer needed: its buffers serve the next batches, instead of being
    /// freed and faulted in again (each batch's 256 KiB were fresh pages from the kernel: page faults
    /// were about 7 % of the CPU samples on a 1 GB capture).
    pub fn recycle(&mut self, batch: Batch) {
        // A batch grown for one huge record is let go.
        if self.source.spare.len() < MAX_SPARE_BATCHES && batch.data.capacity() <= 4 * BATCH_BYTES {
            // The data keeps its length: its bytes are initialised, so the next fill need not zero them.
            let Batch { data, mut frames } = batch;
            frames.clear();
            self.source.spare.push((data, frames));
        }
    }

    /// Reads the next batch of about `target` bytes; `None` at the end or after a fatal error
    /// (then `facts.error` says what happened). Problems met while framing go to `problems`.
    pub fn next_batch(&mut self, target: usize, problems: &mut Problems) -> Option<Batch> {
        if self.done {
            return None;
        }
        loop {
            let Source {
                reader,
                carry,
                eof,
                base,
                spare,
            } = &mut self.source;
            // A recycled buffer keeps its length (bytes already initialised, overwritten below).
            let (mut buf, frames) = spare.pop().unwrap_or_default();
            let kept = carry.len();
            if buf.len() < kept {
                buf.resize(kept, 0);
            }
            buf[..kept].copy_from_slice(carry);
            carry.clear();
            if *eof {
                buf.truncate(kept);
            } else {
                // A record longer than the batch doubles the buffer until it fits (bounded by MAX_RECORD).
                let want = target.max(kept.saturating_mul(2)).max(64 * 1024);
                if let Err(e) = fill(reader.as_mut(), &mut buf, kept, want) {
                    self.facts.error.get_or_insert(format!("read error: {e}"));
                }
                // A short fill means the input ended (or failed).
                *eof = buf.len() < want;
            }
            let at_eof = *eof;
            let buf_base = *base;
            let (frames, end) = self.frame_buffer(&buf, buf_base, at_eof, frames, problems);
            let Source { carry, base, .. } = &mut self.source;
            *base = buf_base + end as u64;
            if !frames.is_empty() {
                carry.extend_from_slice(buf.get(end..).unwrap_or_default());
                return Some(Batch { data: buf, frames });
            }
            buf.drain(..end.min(buf.len()));
            *carry = buf;
            if at_eof || self.done {
                self.done = true;
                return None;
            }
            if carry.len() > format::MAX_RECORD + 64 * 1024 {
                self.facts.error = Some("record larger than the 16 MiB limit".into());
                self.done = true;
                return None;
            }
        }
    }

    /// Frames the records in `buf` into `frames` (emptied first); returns them and where framing stopped.
    /// `complete` says the buffer holds the rest of the file, so a record cut at its end is a truncated
    /// capture, not a short read. `base` is the offset of `buf[0]` in the file (messages give file
    /// offsets).
    fn frame_buffer(
        &mut self,
        buf: &[u8],
        base: u64,
        complete: bool,
        mut frames: Vec<FrameMeta>,
        problems: &mut Problems,
    ) -> (Vec<FrameMeta>, usize) {
        frames.clear();
        let mut pos = 0;
        if self.framer.is_none() {
            if !complete && buf.len() < 64 {
                return (frames, pos);
            }
            match format::sniff(buf) {
                Ok((framer, header_len)) => {
                    self.facts.format = framer.format.name().to_string();
                    self.framer = Some(framer);
                    pos = header_len;
                }
                Err(msg) => {
                    self.facts.error = Some(msg);
                    self.done = true;
                    return (frames, pos);
                }
            }
        }
        let Some(framer) = self.framer.as_mut() else {
            return (frames, pos);
        };
        framer.buf_base = base;
        loop {
            if pos >= buf.len() {
                if complete {
                    self.done = true;
                }
                break;
            }
            prefetch(buf, pos + 4096);
            match framer.next(buf, pos) {
                Step::Record(rec, next) => {
                    let link_type = framer
                        .all_interfaces
                        .get(rec.interface as usize)
                        .map_or(u32::MAX, |i| i.link_type);
                    frames.push(FrameMeta {
                        number: self.next_number,
                        time_ns: rec.time_ns,
                        link_type,
                        interface: rec.interface,
                        orig_len: rec.orig_len,
                        start: rec.start,
                        len: rec.len as u32,
                    });
                    self.next_number += 1;
                    pos = next;
                }
                Step::Skip(next) => pos = next,
                Step::Problem(msg, next) => {
                    problems.add_msg("capture", msg, self.next_number);
                    pos = next;
                }
                Step::NeedMore => {
                    if complete {
                        let have = buf.len() - pos;
                        let at = framer.at(pos);
                        self.facts.error = Some(format!(
                            "capture cut short: the record at byte {at} is incomplete ({have} bytes left in the file); \
                             everything before it was read"
                        ));
                        self.done = true;
                    }
                    break;
                }
                Step::Corrupt(msg) => {
                    self.facts.error = Some(msg);
                    self.done = true;
                    break;
                }
            }
        }
        self.facts.sections = framer.sections.max(1);
        self.facts.interfaces = framer
            .all_interfaces
            .iter()
            .map(|i| (i.link_type, i.snaplen))
            .collect();
        (frames, pos)
    }
}

/// Asks the CPU to start loading bytes a few records ahead, so that reading record headers (a chain of
/// dependent loads) does not wait for memory at every record. A hint only: no effect on results.
#[inline(always)]
fn prefetch(buf: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = buf.get(at) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is a hint that never faults, and the pointer is in bounds of `buf`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((b as *const u8).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, at);
}

/// The first two bytes of an input (they tell a gzip stream from a capture).
fn read_head(r: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    fill(r, &mut head, 0, 2)?;
    Ok(head)
}

/// Reads into `buf[start..]` until `buf` holds `want` bytes or the input ends; `buf` is left holding
/// exactly the bytes read. Plain `read`s straight into the batch buffer: `read_to_end` on a `take` grew
/// the buffer in steps and probed with small reads, about 6 system calls per batch instead of 1. Only
/// the part of `buf` beyond its current length is zeroed first (once per recycled buffer).
fn fill(
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    start: usize,
    want: usize,
) -> std::io::Result<()> {
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut filled = start;
    let mut result = Ok(());
    while filled < want {
        match reader.read(&mut buf[filled..want]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    buf.truncate(filled);
    result
}

fn stream_source(head: Vec<u8>, rest: Box<dyn Read + Send>, facts: &mut FileFacts) -> Source {
    let gz = head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b;
    let chained: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(rest));
    let reader: Box<dyn Read + Send> = if gz {
        facts.gzip = true;
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            chained,
        )))
    } else {
        chained
    };
    Source {
        reader,
        carry: Vec::new(),
        eof: false,
        base: 0,
        spare: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out a few bytes per `read`, as a slow pipe does.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.step = self.step % 7 + 1;
            let n = self.step.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn frames(reader: &mut CaptureReader, target: usize) -> Vec<(u64, i64, Vec<u8>)> {
        let mut problems = Problems::default();
        let mut out = Vec::new();
        while let Some(b) = reader.next_batch(target, &mut problems) {
            out.extend(
                b.frames
                    .iter()
                    .map(|f| (f.number, f.time_ns, b.bytes(f).to_vec())),
            );
            reader.recycle(b);
        }
        out
    }

    /// Short reads, small batches and recycled buffers give the same frames as one large read.
    #[test]
    fn short_reads_and_recycled_buffers_give_the_same_frames() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo.pcapng");
        let data = std::fs::read(path).unwrap();
        let whole = frames(
            &mut CaptureReader::from_bytes("demo", data.clone(), 1),
            1 << 30,
        );
        assert!(whole.len() > 20, "{} frames", whole.len());
        let mut facts = FileFacts::default();
        let trickle = Trickle {
            data: data[2..].to_vec(),
            pos: 0,
            step: 0,
        };
        let source = stream_source(data[..2].to_vec(), Box::new(trickle), &mut facts);
        let mut reader = CaptureReader {
            source,
            framer: None,
            next_number: 1,
            facts,
            done: false,
        };
        let pieces = frames(&mut reader, 1000);
        assert_eq!(reader.facts.error, None);
        assert_eq!(pieces.len(), whole.len());
        assert!(pieces == whole);
    }
}
