//! Counting items: how many chances an index gives corroboration.

use std::collections::HashMap;

use super::{Index, IndexError, Segment};
use crate::hash::Kind;

impl<D: AsRef<[u8]>> Segment<D> {
    /// [`Index::item_pairs`] of this segment alone, all its entries live.
    pub fn item_pairs(&self) -> Result<u64, IndexError> {
        if let Some(&n) = self.item_pairs.get() {
            return Ok(n);
        }
        let n = self.count_item_pairs()?;
        Ok(*self.item_pairs.get_or_init(|| n))
    }

    fn count_item_pairs(&self) -> Result<u64, IndexError> {
        let (Some(phash), Some(pdq)) = (self.kind_range(Kind::Phash), self.kind_range(Kind::Pdq)) else {
            return Ok(0);
        };
        let mut total = 0u64;
        let (mut current, mut h, mut q) = (None, 0u64, 0u64);
        for pos in 0..self.len() as usize {
            let (id, entry) = self.item(pos)?;
            if id.len == 0 {
                continue;
            }
            if current != Some(id) {
                total += h * q;
                (current, h, q) = (Some(id), 0, 0);
            }
            h += u64::from(phash.contains(&entry));
            q += u64::from(pdq.contains(&entry));
        }
        Ok(total + h * q)
    }
}

impl<D: AsRef<[u8]>> Index<D> {
    /// The number of pairs of one pHash entry and one PDQ entry sharing a non-empty id
    /// (an item's pHash entries times its PDQ entries, summed over items): what the
    /// E-value of a corroborated match multiplies ([`crate::significance`]). Entries of
    /// one id on different lists are counted together, which can only overstate it.
    ///
    /// Counted on first use, then remembered: for one segment without tombstones by one
    /// pass over its items section (about a second per 10M entries); otherwise by the same
    /// pass over the largest segment's live entries, joined by id with a map of the other
    /// (smaller) segments' entries (`benches/item_pairs.sh`: 1.3 s on 10M entries in two
    /// segments with tombstones, 1.0 s compacted; a map of every entry took 7.4 s).
    pub fn item_pairs(&self) -> Result<u64, IndexError> {
        if let Some(&n) = self.item_pairs.get() {
            return Ok(n);
        }
        let n = match self.parts.as_slice() {
            [only] if only.dead.is_empty() => only.segment.item_pairs()?,
            _ => self.count_item_pairs()?,
        };
        Ok(*self.item_pairs.get_or_init(|| n))
    }

    fn count_item_pairs(&self) -> Result<u64, IndexError> {
        // The largest segment (the base, usually) is walked in its items order, grouped by
        // id ref as for one segment; only the other segments' ids go into a map of (pHash
        // entries, PDQ entries) per id, and a group of the large segment reads its id's
        // text only when that map is not empty (an item's kinds may be in several segments).
        let Some(big) = (0..self.parts.len()).max_by_key(|&i| self.parts[i].segment.len()) else {
            return Ok(0);
        };
        let mut others: HashMap<&str, (u64, u64)> = HashMap::new();
        for (i, p) in self.parts.iter().enumerate() {
            if i == big {
                continue;
            }
            for kind in [Kind::Phash, Kind::Pdq] {
                let Some(range) = p.segment.kind_range(kind) else { continue };
                for local in range.filter(|&l| !p.is_dead(l)) {
                    let id = p.segment.entry(local)?.id;
                    if !id.is_empty() {
                        let slot = others.entry(id).or_default();
                        *if kind == Kind::Phash { &mut slot.0 } else { &mut slot.1 } += 1;
                    }
                }
            }
        }
        let p = &self.parts[big];
        let (phash, pdq) = (p.segment.kind_range(Kind::Phash), p.segment.kind_range(Kind::Pdq));
        let mut total = 0u64;
        let mut group = |id: Option<super::format::StringRef>, h: u64, q: u64| -> Result<(), IndexError> {
            let Some(id) = id else { return Ok(()) };
            let (mut h, mut q) = (h, q);
            if !others.is_empty() {
                if let Some((oh, oq)) = others.remove(p.segment.string(id, "entry id")?) {
                    (h, q) = (h + oh, q + oq);
                }
            }
            total += h * q;
            Ok(())
        };
        let (mut current, mut h, mut q) = (None, 0u64, 0u64);
        if phash.is_some() || pdq.is_some() {
            for pos in 0..p.segment.len() as usize {
                let (id, local) = p.segment.item(pos)?;
                if id.len == 0 {
                    continue;
                }
                if current != Some(id) {
                    group(current, h, q)?;
                    (current, h, q) = (Some(id), 0, 0);
                }
                if !p.is_dead(local) {
                    h += u64::from(phash.as_ref().is_some_and(|r| r.contains(&local)));
                    q += u64::from(pdq.as_ref().is_some_and(|r| r.contains(&local)));
                }
            }
        }
        group(current, h, q)?;
        Ok(total + others.values().map(|&(h, q)| h * q).sum::<u64>())
    }
}
