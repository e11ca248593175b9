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
pub const SEGMENT_CALLS: usize = 250;

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

/// Where each segment's calls and streams are kept (offset, length), and how many of each.
#[derive(Clone, Copy)]
struct Entry {
    calls: (u64, u64),
    streams: (u64, u64),
    n_calls: usize,
    n_streams: usize,
}

/// The segments set aside, plus what the rules need about their calls' parties without reading them
/// back (see `Archive::parties`).
#[derive(Clone, Default)]
pub struct Archive {
    storage: Option<Arc<Mutex<Storage>>>,
    index: Vec<Entry>,
    parties: std::collections::BTreeSet<(String, String)>,
    parties_dropped: u64,
}

/// Distinct (address, User-Agent) pairs kept for the rules' PBX and device heuristics.
const MAX_PARTIES: usize = 100_000;

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
        self.index.iter().map(|e| e.n_calls).sum()
    }

    /// Streams in all segments set aside.
    pub fn streams(&self) -> usize {
        self.index.iter().map(|e| e.n_streams).sum()
    }

    /// Every (address, User-Agent) of a caller or callee of the archived calls (at most `MAX_PARTIES`
    /// distinct pairs): who is the PBX and who is a phone is worked out from these and the calls held.
    pub fn parties(&self) -> &std::collections::BTreeSet<(String, String)> {
        &self.parties
    }

    /// (address, User-Agent) pairs not kept beyond `MAX_PARTIES`.
    pub fn parties_dropped(&self) -> u64 {
        self.parties_dropped
    }

    /// Sets a segment aside (encoded straight into the file, without a copy in memory).
    pub fn push(&mut self, seg: &Segment) -> Result<(), String> {
        for c in &seg.calls {
            for (addr, ua) in [
                (&c.caller_addr, &c.user_agents.caller),
                (&c.callee_addr, &c.user_agents.callee),
            ] {
                if let Some(ua) = ua {
                    let key = (addr.clone(), ua.clone());
                    if self.parties.len() < MAX_PARTIES || self.parties.contains(&key) {
                        self.parties.insert(key);
                    } else {
                        self.parties_dropped += 1;
                    }
                }
            }
        }
        let calls = self.put(&seg.calls)?;
        let streams = self.put(&seg.streams)?;
        self.index.push(Entry {
            calls,
            streams,
            n_calls: seg.calls.len(),
            n_streams: seg.streams.len(),
        });
        Ok(())
    }

    /// Encodes `value` at the end of the store: (offset, length).
    fn put<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(u64, u64), String> {
        let storage = self.storage.get_or_insert_with(|| {
            Arc::new(Mutex::new(match temp_file() {
                Some(file) => Storage::File { file, len: 0 },
                None => Storage::Memory(Vec::new()),
            }))
        });
        let mut st = storage
            .lock()
            .map_err(|_| "segment store poisoned".to_string())?;
        match &mut *st {
            Storage::File { file, len } => {
                let mut w = Counting {
                    inner: std::io::BufWriter::with_capacity(256 * 1024, &*file),
                    n: 0,
                };
                let encoded = postcard::to_io(value, &mut w).map(|_| ());
                let flushed = w.flush();
                // What was written stays in the file even on an error: later segments go after it.
                let at = *len;
                *len += w.n;
                encoded
                    .map_err(|e| format!("cannot write a segment to the temporary file: {e}"))?;
                flushed.map_err(|e| format!("cannot write to the temporary segment file: {e}"))?;
                Ok((at, w.n))
            }
            Storage::Memory(v) => {
                let at = v.len() as u64;
                let bytes = postcard::to_stdvec(value)
                    .map_err(|e| format!("cannot encode a segment: {e}"))?;
                v.extend_from_slice(&bytes);
                Ok((at, bytes.len() as u64))
            }
        }
    }

    fn get<T: serde::de::DeserializeOwned>(&self, (offset, len): (u64, u64)) -> Result<T, String> {
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
        drop(st);
        postcard::from_bytes(&bytes).map_err(|e| format!("cannot decode a segment: {e}"))
    }

    /// Reads segment `i` back.
    pub fn load(&self, i: usize) -> Result<Segment, String> {
        let e = *self.index.get(i).ok_or("no such segment")?;
        Ok(Segment {
            calls: self.get(e.calls)?,
            streams: self.get(e.streams)?,
        })
    }

    /// Reads only the calls of segment `i` back.
    pub fn load_calls(&self, i: usize) -> Result<Vec<Call>, String> {
        let e = self.index.get(i).ok_or("no such segment")?;
        self.get(e.calls)
    }

    /// Reads only the streams of segment `i` back.
    pub fn load_streams(&self, i: usize) -> Result<Vec<Stream>, String> {
        let e = self.index.get(i).ok_or("no such segment")?;
        self.get(e.streams)
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
