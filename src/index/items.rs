//! Counting items: how many chances an index gives corroboration.

use super::{Index, IndexError};
use crate::hash::Kind;

impl<D: AsRef<[u8]>> Index<D> {
    /// The number of pairs of one pHash entry and one PDQ entry sharing a non-empty id
    /// (an item's pHash entries times its PDQ entries, summed over items): what the
    /// E-value of a corroborated match multiplies ([`crate::significance`]). Entries of
    /// one id on different lists are counted together, which can only overstate it.
    ///
    /// Counted by one pass over the items section on first use (about a second per 10M
    /// entries), then remembered.
    pub fn item_pairs(&self) -> Result<u64, IndexError> {
        if let Some(&n) = self.item_pairs.get() {
            return Ok(n);
        }
        let n = self.count_item_pairs()?;
        Ok(*self.item_pairs.get_or_init(|| n))
    }

    fn count_item_pairs(&self) -> Result<u64, IndexError> {
        let range = |kind| self.section(kind).map(|s| s.first..s.first + s.n);
        let (Some(phash), Some(pdq)) = (range(Kind::Phash), range(Kind::Pdq)) else { return Ok(0) };
        let mut total = 0u64;
        let (mut current, mut h, mut q) = (None, 0u64, 0u64);
        for pos in 0..self.layout.n_entries as usize {
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
