//! Finished calls and their streams, set aside in segments so that memory follows the calls still going.
//!
//! The analysis retires a call once it is over (see `analysis::Analyzer::sweep`); retired calls are
//! correlated with their streams in groups of `SEGMENT_CALLS` and each group (a [`Segment`]) is encoded
//! (postcard) into an unlinked temporary file. The rules and the printers read the segments back one at a
//! time, then the calls still held in `Analysis::calls` (the last segment). A capture whose calls fit in
//! one segment never touches the disk. When no temporary file can be made, the encoded segments stay in
//! memory (still about a fifth of the decoded size).

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::model::{Call, Stream};

/// Calls per segment.
pub const SEGMENT_CALLS: usize = 2000;

/// Calls and the streams tied to them (plus streams of no call that ended meanwhile).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Segment {
    pub calls: Vec<Call>,
    pub streams: Vec<Stream>,
}

/// A writer that counts the bytes it passes on.
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

enum Storage {
    File { file: File, len: u64 },
    Memory(Vec<u8>),
}

/// Where the segments are kept: (offset, length, calls, streams) of each.
#[derive(Clone, Default)]
pub struct Archive {
    storage: Option<Arc<Mutex<Storage>>>,
    index: Vec<(u64, u64, usize, usize)>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Archive({} segments)", self.index.len())
    }
}

/// An unlinked temporary file (removed as soon as it is made: nothing is left behind, even on a crash).
fn temp_file() -> Option<File> {
    let dir = std::env::temp_dir();
    for n in 0..100u32 {
        let path = dir.join(format!("voipdx-{}-{n}.segments", std::process::id()));
        if let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            let _ = std::fs::remove_file(&path);
            return Some(f);
        }
    }
    None
}

impl Archive {
    /// Segments set aside.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Calls in all segments set aside.
    pub fn calls(&self) -> usize {
        self.index.iter().map(|e| e.2).sum()
    }

    /// Streams in all segments set aside.
    pub fn streams(&self) -> usize {
        self.index.iter().map(|e| e.3).sum()
    }

    /// Sets a segment aside (encoded straight into the file, without a copy in memory).
    pub fn push(&mut self, seg: &Segment) -> Result<(), String> {
        let storage = self.storage.get_or_insert_with(|| {
            Arc::new(Mutex::new(match temp_file() {
                Some(file) => Storage::File { file, len: 0 },
                None => Storage::Memory(Vec::new()),
            }))
        });
        let mut st = storage
            .lock()
            .map_err(|_| "segment store poisoned".to_string())?;
        let (offset, written) = match &mut *st {
            Storage::File { file, len } => {
                let mut w = Counting {
                    inner: std::io::BufWriter::with_capacity(256 * 1024, &*file),
                    n: 0,
                };
                let encoded = postcard::to_io(seg, &mut w).map(|_| ());
                let flushed = w.flush();
                // What was written stays in the file even on an error: later segments go after it.
                let at = *len;
                *len += w.n;
                encoded
                    .map_err(|e| format!("cannot write a segment to the temporary file: {e}"))?;
                flushed.map_err(|e| format!("cannot write to the temporary segment file: {e}"))?;
                (at, w.n)
            }
            Storage::Memory(v) => {
                let at = v.len() as u64;
                let bytes = postcard::to_stdvec(seg)
                    .map_err(|e| format!("cannot encode a segment: {e}"))?;
                v.extend_from_slice(&bytes);
                (at, bytes.len() as u64)
            }
        };
        self.index
            .push((offset, written, seg.calls.len(), seg.streams.len()));
        Ok(())
    }

    /// Reads segment `i` back.
    pub fn load(&self, i: usize) -> Result<Segment, String> {
        let &(offset, len, _, _) = self.index.get(i).ok_or("no such segment")?;
        let storage = self.storage.as_ref().ok_or("no segment store")?;
        let st = storage
            .lock()
            .map_err(|_| "segment store poisoned".to_string())?;
        let bytes = match &*st {
            Storage::File { file, .. } => {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; len as usize];
                file.read_exact_at(&mut buf, offset)
                    .map_err(|e| format!("cannot read the temporary segment file: {e}"))?;
                buf
            }
            Storage::Memory(v) => v
                .get(offset as usize..(offset + len) as usize)
                .ok_or("segment out of range")?
                .to_vec(),
        };
        postcard::from_bytes(&bytes).map_err(|e| format!("cannot decode a segment: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn segments_round_trip() {
        let a = sample::analysis();
        let mut ar = Archive::default();
        let s1 = Segment {
            calls: a.calls.clone(),
            streams: a.streams.clone(),
        };
        let s2 = Segment {
            calls: a.calls[..1].to_vec(),
            streams: vec![],
        };
        ar.push(&s1).unwrap();
        ar.push(&s2).unwrap();
        assert_eq!(ar.len(), 2);
        assert_eq!(ar.calls(), a.calls.len() + 1);
        let back = ar.load(0).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&s1).unwrap()
        );
        let back2 = ar.load(1).unwrap();
        assert_eq!(back2.calls[0].call_id, a.calls[0].call_id);
        assert!(ar.load(2).is_err());
    }
}
