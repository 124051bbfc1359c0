//! External sorting with bounded memory: records are collected up to a byte budget,
//! sorted and written as a *run* to a temporary file beside the output ([`TempFile`]),
//! and the runs are read back through a k-way merge ([`Sorter::finish`]). When everything
//! fits in one budget nothing touches the disk. A merge reads at most [`FAN_IN`] runs at
//! once; more runs are first merged in groups into longer runs.
//!
//! [`kway`] is the merge itself, also used on inputs that are sorted already (the
//! segments of an index being merged).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::index::temp::{io_error, TempFile};
use crate::index::IndexError;

/// The most runs one merge reads at once (each holds a file and a read buffer).
pub(crate) const FAN_IN: usize = 64;

/// Read and write buffer of one run.
const RUN_BUFFER: usize = 1 << 16;

/// A record that can be sorted externally: totally ordered, written to and read back from
/// a run, and with an estimate of the memory it holds.
pub(crate) trait Record: Ord + Send + Sized {
    /// Bytes of memory the record holds while in a run being collected.
    fn memory(&self) -> usize;
    /// Appends the record to a run.
    fn write(&self, w: &mut impl Write) -> std::io::Result<()>;
    /// The next record of a run, `None` at its end.
    fn read(r: &mut impl BufRead) -> std::io::Result<Option<Self>>;
}

/// Collects records and hands them back sorted, spilling sorted runs to disk beyond the
/// budget.
pub(crate) struct Sorter<T> {
    beside: PathBuf,
    budget: usize,
    buffer: Vec<T>,
    used: usize,
    runs: Vec<TempFile>,
}

impl<T: Record> Sorter<T> {
    /// A sorter holding at most about `budget` bytes of records, writing its runs beside
    /// the file `beside`.
    pub fn new(beside: &Path, budget: usize) -> Sorter<T> {
        Sorter {
            beside: beside.to_path_buf(),
            budget: budget.max(1),
            buffer: Vec::new(),
            used: 0,
            runs: Vec::new(),
        }
    }

    /// Adds a record.
    pub fn push(&mut self, record: T) -> Result<(), IndexError> {
        self.used += record.memory();
        self.buffer.push(record);
        if self.used >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// The number of runs written so far.
    #[cfg(test)]
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Sorts the buffer and writes it as a run.
    fn spill(&mut self) -> Result<(), IndexError> {
        let mut buffer = std::mem::take(&mut self.buffer);
        self.used = 0;
        buffer.par_sort_unstable();
        let run = write_run(&self.beside, buffer.into_iter().map(Ok))?;
        self.runs.push(run);
        Ok(())
    }

    /// Every record pushed, in order.
    pub fn finish(mut self) -> Result<Sorted<T>, IndexError> {
        if self.runs.is_empty() {
            self.buffer.par_sort_unstable();
            return Ok(Sorted { inner: Inner::Memory(std::mem::take(&mut self.buffer).into_iter()) });
        }
        if !self.buffer.is_empty() {
            self.spill()?;
        }
        let mut runs = std::mem::take(&mut self.runs);
        while runs.len() > FAN_IN {
            let group: Vec<TempFile> = runs.drain(..FAN_IN).collect();
            let merged = write_run(&self.beside, kway(readers::<T>(&group)?))?;
            drop(group);
            runs.push(merged);
        }
        let merge = kway(readers(&runs)?);
        Ok(Sorted { inner: Inner::Runs { merge, _runs: runs } })
    }
}

/// Writes `records` (sorted) as a run beside `beside`.
fn write_run<T: Record>(
    beside: &Path,
    records: impl Iterator<Item = Result<T, IndexError>>,
) -> Result<TempFile, IndexError> {
    let run = TempFile::beside(beside)?;
    let mut w = BufWriter::with_capacity(RUN_BUFFER, run.file());
    for r in records {
        r?.write(&mut w).map_err(|e| io_error(run.path(), "writing the sorted run", e))?;
    }
    w.flush().map_err(|e| io_error(run.path(), "writing the sorted run", e))?;
    drop(w);
    Ok(run)
}

/// A run read back from the start.
struct RunReader<T> {
    reader: BufReader<std::fs::File>,
    path: PathBuf,
    _record: std::marker::PhantomData<T>,
}

impl<T: Record> Iterator for RunReader<T> {
    type Item = Result<T, IndexError>;
    fn next(&mut self) -> Option<Self::Item> {
        T::read(&mut self.reader).map_err(|e| io_error(&self.path, "reading the sorted run", e)).transpose()
    }
}

fn readers<T: Record>(runs: &[TempFile]) -> Result<Vec<RunReader<T>>, IndexError> {
    runs.iter()
        .map(|r| {
            Ok(RunReader {
                reader: BufReader::with_capacity(RUN_BUFFER, r.reopen()?),
                path: r.path().to_path_buf(),
                _record: std::marker::PhantomData,
            })
        })
        .collect()
}

/// The records of a [`Sorter`], in order.
pub(crate) struct Sorted<T: Record> {
    inner: Inner<T>,
}

enum Inner<T: Record> {
    Memory(std::vec::IntoIter<T>),
    Runs { merge: KWay<T, RunReader<T>>, _runs: Vec<TempFile> },
}

impl<T: Record> Iterator for Sorted<T> {
    type Item = Result<T, IndexError>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Memory(records) => records.next().map(Ok),
            Inner::Runs { merge, .. } => merge.next(),
        }
    }
}

/// The merge of sorted `sources` into one sorted sequence (the first error ends it).
pub(crate) fn kway<T: Ord, I: Iterator<Item = Result<T, IndexError>>>(sources: Vec<I>) -> KWay<T, I> {
    KWay { sources, heap: BinaryHeap::new(), started: false, failed: false }
}

/// The iterator of [`kway`].
pub(crate) struct KWay<T, I> {
    sources: Vec<I>,
    heap: BinaryHeap<Reverse<Head<T>>>,
    started: bool,
    failed: bool,
}

/// The next record of source `source`, ordered by record, then source (so equal records
/// come out in source order).
struct Head<T> {
    record: T,
    source: usize,
}

impl<T: Ord> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T: Ord> Eq for Head<T> {}
impl<T: Ord> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Ord> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.record.cmp(&other.record).then(self.source.cmp(&other.source))
    }
}

impl<T: Ord, I: Iterator<Item = Result<T, IndexError>>> KWay<T, I> {
    /// Puts the next record of `source` on the heap.
    fn refill(&mut self, source: usize) -> Result<(), IndexError> {
        if let Some(record) = self.sources[source].next().transpose()? {
            self.heap.push(Reverse(Head { record, source }));
        }
        Ok(())
    }
}

impl<T: Ord, I: Iterator<Item = Result<T, IndexError>>> Iterator for KWay<T, I> {
    type Item = Result<T, IndexError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if !self.started {
            self.started = true;
            for s in 0..self.sources.len() {
                if let Err(e) = self.refill(s) {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let Reverse(Head { record, source }) = self.heap.pop()?;
        if let Err(e) = self.refill(source) {
            self.failed = true;
            return Some(Err(e));
        }
        Some(Ok(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct N(u64);

    impl Record for N {
        fn memory(&self) -> usize {
            8
        }
        fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
            w.write_all(&self.0.to_le_bytes())
        }
        fn read(r: &mut impl BufRead) -> std::io::Result<Option<N>> {
            let mut b = [0u8; 8];
            if r.fill_buf()?.is_empty() {
                return Ok(None);
            }
            r.read_exact(&mut b)?;
            Ok(Some(N(u64::from_le_bytes(b))))
        }
    }

    fn files(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn many_small_runs_merge_into_the_sorted_sequence_and_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let beside = dir.path().join("out.mmi");
        for (n, budget) in [(0u64, 64), (10, 1 << 20), (5000, 80), (5000, 8)] {
            let mut s = Sorter::new(&beside, budget);
            let mut want = Vec::new();
            let mut x = 0x9e37_79b9_u64;
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(N(x % 1000)).unwrap();
                want.push(x % 1000);
            }
            let spilled = s.runs();
            assert!(budget > 64 * 8 || n == 0 || spilled > FAN_IN, "{n} {budget}: {spilled} runs");
            let got: Vec<u64> = s.finish().unwrap().map(|r| r.unwrap().0).collect();
            want.sort_unstable();
            assert_eq!(got, want);
            assert_eq!(files(dir.path()), 0, "runs removed");
        }
    }

    #[test]
    fn runs_are_removed_when_the_merge_is_dropped_early() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Sorter::new(&dir.path().join("out"), 16);
        (0..100).rev().for_each(|i| s.push(N(i)).unwrap());
        let mut sorted = s.finish().unwrap();
        assert_eq!(sorted.next().unwrap().unwrap(), N(0));
        assert!(files(dir.path()) > 0);
        drop(sorted);
        assert_eq!(files(dir.path()), 0);
    }
}
