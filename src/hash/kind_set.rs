//! A set of hash kinds: which kinds to compute, which a policy requires.

use super::Kind;

/// A set of hash kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct KindSet(u8);

impl KindSet {
    /// No kinds.
    pub const NONE: KindSet = KindSet(0);

    /// Every kind.
    pub fn all() -> KindSet {
        Kind::ALL.into_iter().collect()
    }

    /// Whether `kind` is in the set.
    pub fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << kind.code()) != 0
    }

    /// Adds `kind`.
    pub fn insert(&mut self, kind: Kind) {
        self.0 |= 1 << kind.code();
    }

    /// The set with `kind` added.
    pub fn with(mut self, kind: Kind) -> KindSet {
        self.insert(kind);
        self
    }

    /// Whether the set holds pHash, PDQ, vPDQ or TMK (and so needs decoding).
    pub fn needs_pixels(self) -> bool {
        [Kind::Pdq, Kind::Phash, Kind::Vpdq, Kind::Tmk].into_iter().any(|k| self.contains(k))
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}

impl FromIterator<Kind> for KindSet {
    fn from_iter<I: IntoIterator<Item = Kind>>(iter: I) -> KindSet {
        let mut set = KindSet::NONE;
        for k in iter {
            set.insert(k);
        }
        set
    }
}
