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
    /// pass over its items section (about a second per 10M entries); otherwise over the
    /// live entries of every segment, grouped by id.
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
        // (pHash entries, PDQ entries) per id; an item's kinds may be in different segments.
        let mut per_id: HashMap<&str, (u64, u64)> = HashMap::new();
        for p in &self.parts {
            for kind in [Kind::Phash, Kind::Pdq] {
                let Some(range) = p.segment.kind_range(kind) else { continue };
                for local in range.filter(|&l| !p.is_dead(l)) {
                    let id = p.segment.entry(local)?.id;
                    if !id.is_empty() {
                        let slot = per_id.entry(id).or_default();
                        *if kind == Kind::Phash { &mut slot.0 } else { &mut slot.1 } += 1;
                    }
                }
            }
        }
        Ok(per_id.values().map(|&(h, q)| h * q).sum())
    }
}
