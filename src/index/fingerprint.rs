//! Multiset fingerprints: whether two sequences hold the same tuples, in any order, from one
//! sequential pass over each.
//!
//! `verify` must check that a table of positions holds exactly the pairs (bucket, position)
//! that the values imply. Checking each stored position against its value is a random read
//! per entry (a cache miss each: 3 s for a 1 GB index); the fingerprint reads both sides in
//! order instead. A tuple `(a, b, c)` of numbers below `P` (the Mersenne prime `2^61 - 1`)
//! becomes the linear form `x - a - y·b - z·c`, and a sequence the product of its tuples'
//! forms, evaluated at a point `(x, y, z)` drawn at random for each check ([`Challenge`]).
//! Two sequences holding the same tuples give equal products at every point. Two that do
//! not are products of different sets of linear forms, so they are different polynomials
//! of degree `n`, and by the Schwartz–Zippel lemma they agree on at most a fraction `n / P`
//! of the points: 4.3e-11 for 100M tuples. The point is drawn from the operating system's
//! randomness when the check runs, so whoever wrote the file cannot aim at it.

use std::hash::BuildHasher;

/// The field's modulus, `2^61 - 1`.
pub(crate) const P: u64 = (1 << 61) - 1;

/// `a * b mod P` for `a, b < P`.
#[inline]
pub(crate) fn mul(a: u64, b: u64) -> u64 {
    let z = u128::from(a) * u128::from(b);
    let s = (z as u64 & P) + (z >> 61) as u64;
    if s >= P {
        s - P
    } else {
        s
    }
}

/// `a + b mod P` for `a, b < P`.
#[inline]
fn add(a: u64, b: u64) -> u64 {
    let s = a + b;
    if s >= P {
        s - P
    } else {
        s
    }
}

/// The random point a fingerprint is evaluated at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Challenge {
    x: u64,
    y: u64,
    z: u64,
}

impl Challenge {
    /// A point drawn from the operating system's randomness (the keys of std's
    /// `RandomState`, fresh for each call).
    pub fn random() -> Challenge {
        let draw = |i: u64| std::collections::hash_map::RandomState::new().hash_one(i) % P;
        Challenge { x: draw(1), y: draw(2), z: draw(3) }
    }

    /// The point `(x, y, z)` (each reduced below `P`), for tests.
    #[cfg(test)]
    pub fn at(x: u64, y: u64, z: u64) -> Challenge {
        Challenge { x: x % P, y: y % P, z: z % P }
    }

    /// `y · b`, to be shared by [`Challenge::factor`] calls with the same `b`.
    #[inline]
    pub fn scaled_b(&self, b: u32) -> u64 {
        mul(self.y, u64::from(b))
    }

    /// The linear form of the tuple `(a, b, c)` at the point, given `yb` =
    /// [`Challenge::scaled_b`]`(b)`.
    #[inline]
    pub fn factor(&self, a: u32, yb: u64, c: u32) -> u64 {
        let lin = add(add(u64::from(a), yb), mul(self.z, u64::from(c)));
        add(self.x, P - lin)
    }
}

/// A running product of tuples' linear forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Fingerprint {
        Fingerprint(1)
    }
}

impl Fingerprint {
    /// Adds a tuple, as the factor [`Challenge::factor`] gave.
    #[inline]
    pub fn push(&mut self, factor: u64) {
        self.0 = mul(self.0, factor);
    }

    /// The fingerprint of both sequences together.
    pub fn combine(self, other: Fingerprint) -> Fingerprint {
        Fingerprint(mul(self.0, other.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(c: &Challenge, tuples: &[(u32, u32, u32)]) -> Fingerprint {
        let mut f = Fingerprint::default();
        for &(a, b, cc) in tuples {
            f.push(c.factor(a, c.scaled_b(b), cc));
        }
        f
    }

    #[test]
    fn mul_is_multiplication_mod_p() {
        for (a, b) in [(0, 5), (1, P - 1), (P - 1, P - 1), (1 << 60, 3), (123_456_789, 987_654_321)] {
            let want = (u128::from(a) * u128::from(b) % u128::from(P)) as u64;
            assert_eq!(mul(a, b), want, "{a} * {b}");
        }
    }

    #[test]
    fn order_does_not_matter_and_any_change_shows() {
        let tuples = [(3, 0, 7), (1, 1, 0), (3, 2, 9), (0, 3, 1)];
        let mut shuffled = tuples;
        shuffled.reverse();
        for seed in 0..50u64 {
            let c = Challenge::at(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), seed ^ 0xdead_beef, seed + 17);
            assert_eq!(of(&c, &tuples), of(&c, &shuffled));
            // A position moved to another bucket, a position twice, a changed third field,
            // two buckets' positions swapped: all differ.
            for bad in [
                [(3, 0, 7), (1, 1, 0), (4, 2, 9), (0, 3, 1)],
                [(3, 0, 7), (1, 1, 0), (3, 2, 9), (3, 2, 9)],
                [(3, 0, 7), (1, 1, 0), (3, 2, 8), (0, 3, 1)],
                [(1, 0, 7), (3, 1, 0), (3, 2, 9), (0, 3, 1)],
            ] {
                assert_ne!(of(&c, &tuples), of(&c, &bad), "seed {seed}: {bad:?}");
            }
        }
        let (a, b) = (Challenge::random(), Challenge::random());
        assert!((a.x, a.y, a.z) != (b.x, b.y, b.z), "each check draws its own point");
    }
}
