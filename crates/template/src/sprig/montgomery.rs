//! Fixed-width Montgomery arithmetic for the Miller-Rabin rounds of RSA prime
//! search (see `rsagen.rs`).
//!
//! Why hand-written: a prime search spends nearly all its time in modular
//! squarings of one odd modulus of 1024 (or 2048) bits. Generic big-integer
//! crates either allocate per operation (num-bigint-dig) or are constant time
//! (crypto-bigint: full-table lookups, no dedicated squaring), which this does
//! not need: the candidates are random and thrown away when composite, like
//! Go's `isPrime`, which is not constant time either. Here numbers are
//! `[u64; N]` little-endian limbs on the stack, products use `u128`, squaring
//! computes each cross product once, and a base-2 exponentiation replaces its
//! multiplications by modular doublings.

/// An odd modulus `n` of at most `64 * N` bits with what Montgomery
/// multiplication by `R = 2^(64N)` needs.
pub(super) struct Modulus<const N: usize> {
    n: [u64; N],
    /// `-n^-1 mod 2^64`.
    n0_inv: u64,
    /// `R mod n`: one, in Montgomery form.
    one: [u64; N],
}

/// `a + b * c + carry` as (low, high) words.
#[inline(always)]
fn mac(a: u64, b: u64, c: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(a) + u128::from(b) * u128::from(c) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// `a + b + carry` as (sum, carry out).
#[inline(always)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(a) + u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// `a >= b` for equal-width little-endian numbers.
#[inline(always)]
fn geq<const N: usize>(a: &[u64; N], b: &[u64; N]) -> bool {
    for i in (0..N).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

/// `a -= b`, returning the borrow.
#[inline(always)]
fn sub_assign<const N: usize>(a: &mut [u64; N], b: &[u64; N]) -> bool {
    let mut borrow = false;
    for i in 0..N {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        a[i] = d;
        borrow = b1 | b2;
    }
    borrow
}

impl<const N: usize> Modulus<N> {
    /// The modulus `n`, given as little-endian limbs; `None` unless `n` is odd
    /// and greater than one.
    pub(super) fn new(n: [u64; N]) -> Option<Self> {
        if N == 0 || n[0] & 1 == 0 || (n[0] == 1 && n[1..].iter().all(|&l| l == 0)) {
            return None;
        }
        // Newton's iteration for the inverse mod 2^64: each step doubles the
        // number of correct low bits (n0 is its own inverse mod 8).
        let mut inv = n[0];
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inv)));
        }
        let mut m = Self {
            n,
            n0_inv: inv.wrapping_neg(),
            one: [0; N],
        };
        // R mod n by doubling 1, 64N times.
        let mut one = [0u64; N];
        one[0] = 1;
        for _ in 0..64 * N {
            m.double(&mut one);
        }
        m.one = one;
        Some(m)
    }

    /// `a = 2a mod n`, for `a < n`.
    #[inline]
    pub(super) fn double(&self, a: &mut [u64; N]) {
        let mut carry = 0;
        for limb in a.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry == 1 || geq(a, &self.n) {
            sub_assign(a, &self.n);
        }
    }

    /// One, in Montgomery form.
    pub(super) fn one(&self) -> [u64; N] {
        self.one
    }

    /// `n - 1` (minus one) in Montgomery form: `n - (R mod n)`.
    pub(super) fn minus_one(&self) -> [u64; N] {
        let mut m = self.n;
        sub_assign(&mut m, &self.one);
        m
    }

    /// `x` (below `n`) in Montgomery form: `x * R mod n`, by doubling.
    pub(super) fn to_montgomery(&self, x: &[u64; N]) -> [u64; N] {
        let mut a = *x;
        for _ in 0..64 * N {
            self.double(&mut a);
        }
        a
    }

    /// The final step of a Montgomery product: `t - n` if `t >= n`, where
    /// `t` is `N` limbs plus a top carry word.
    #[inline(always)]
    fn finish(&self, mut t: [u64; N], top: u64) -> [u64; N] {
        if top != 0 || geq(&t, &self.n) {
            sub_assign(&mut t, &self.n);
        }
        t
    }

    /// `a * b / R mod n` (coarsely integrated operand scanning).
    pub(super) fn mul(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let mut t = [0u64; N];
        let mut top = 0u64;
        for &bi in b {
            let mut carry = 0;
            for j in 0..N {
                (t[j], carry) = mac(t[j], a[j], bi, carry);
            }
            let (hi, top2) = adc(top, carry, 0);
            let m = t[0].wrapping_mul(self.n0_inv);
            let (_, mut carry) = mac(t[0], m, self.n[0], 0);
            for j in 1..N {
                (t[j - 1], carry) = mac(t[j], m, self.n[j], carry);
            }
            let (low, c) = adc(hi, carry, 0);
            t[N - 1] = low;
            top = top2 + c;
        }
        self.finish(t, top)
    }

    /// `a^2 / R mod n`: the double-width square with each cross product
    /// computed once, then a Montgomery reduction (whose fixed-length inner
    /// loop the compiler unrolls).
    pub(super) fn square(&self, a: &[u64; N]) -> [u64; N] {
        // N is at most 32 here (primes of 2048-bit keys); larger widths fall
        // back to multiplication.
        const MAX: usize = 64;
        if 2 * N > MAX {
            return self.mul(a, a);
        }
        let mut w = [0u64; MAX];
        // Cross products a[i] * a[j], i < j.
        for i in 0..N {
            let mut carry = 0;
            for j in i + 1..N {
                (w[i + j], carry) = mac(w[i + j], a[i], a[j], carry);
            }
            w[i + N] = carry;
        }
        // Doubled, plus the squares on the diagonal.
        let mut shifted = 0;
        for limb in w[..2 * N].iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | shifted;
            shifted = next;
        }
        let mut carry = 0;
        for i in 0..N {
            let sq = u128::from(a[i]) * u128::from(a[i]);
            let (lo, c1) = adc(w[2 * i], sq as u64, carry);
            let (hi, c2) = adc(w[2 * i + 1], (sq >> 64) as u64, c1);
            w[2 * i] = lo;
            w[2 * i + 1] = hi;
            carry = c2;
        }
        // Reduction: clear one low word per step.
        let mut top = 0u64;
        for i in 0..N {
            let m = w[i].wrapping_mul(self.n0_inv);
            let mut carry = 0;
            for j in 0..N {
                (w[i + j], carry) = mac(w[i + j], m, self.n[j], carry);
            }
            let (s, c) = adc(w[i + N], carry, top);
            w[i + N] = s;
            top = c;
        }
        let mut t = [0u64; N];
        t.copy_from_slice(&w[N..2 * N]);
        self.finish(t, top)
    }

    /// `2^e` in Montgomery form, for the exponent `e` given as little-endian
    /// limbs: left to right, a squaring per bit and a doubling per set bit.
    pub(super) fn pow2(&self, e: &[u64; N]) -> [u64; N] {
        let mut y = self.one;
        let mut started = false;
        for i in (0..64 * N).rev() {
            let bit = (e[i / 64] >> (i % 64)) & 1 == 1;
            if started {
                y = self.square(&y);
            }
            if bit {
                self.double(&mut y);
                started = true;
            }
        }
        y
    }

    /// `b^e` in Montgomery form for `b` in Montgomery form, by a sliding
    /// window of up to five bits over the exponent.
    pub(super) fn pow(&self, b: &[u64; N], e: &[u64; N]) -> [u64; N] {
        const WINDOW: usize = 5;
        // Odd powers b, b^3, ..., b^31.
        let b2 = self.square(b);
        let mut table = [[0u64; N]; 1 << (WINDOW - 1)];
        table[0] = *b;
        for k in 1..table.len() {
            table[k] = self.mul(&table[k - 1], &b2);
        }
        let bit = |i: usize| (e[i / 64] >> (i % 64)) & 1;
        let mut y = self.one;
        let mut started = false;
        let mut i = 64 * N;
        while i > 0 {
            if bit(i - 1) == 0 {
                if started {
                    y = self.square(&y);
                }
                i -= 1;
                continue;
            }
            // The longest window of at most WINDOW bits ending in a set bit.
            let high = i - 1;
            let mut low = high.saturating_sub(WINDOW - 1);
            while bit(low) == 0 {
                low += 1;
            }
            let mut value = 0usize;
            for k in (low..=high).rev() {
                value = (value << 1) | bit(k) as usize;
                if started {
                    y = self.square(&y);
                }
            }
            y = if started {
                self.mul(&y, &table[value >> 1])
            } else {
                table[value >> 1]
            };
            started = true;
            i = low;
        }
        y
    }
}

/// Little-endian limbs from big-endian bytes (at most `8 * N` of them).
pub(super) fn limbs_from_be<const N: usize>(bytes: &[u8]) -> [u64; N] {
    let mut limbs = [0u64; N];
    for (k, chunk) in bytes.rchunks(8).enumerate().take(N) {
        let mut word = [0u8; 8];
        word[8 - chunk.len()..].copy_from_slice(chunk);
        limbs[k] = u64::from_be_bytes(word);
    }
    limbs
}

#[cfg(test)]
mod tests {
    use num_bigint_dig::BigUint;

    use super::*;

    fn big<const N: usize>(limbs: &[u64; N]) -> BigUint {
        let bytes: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        BigUint::from_bytes_be(&bytes)
    }

    fn check<const N: usize>(seed: u64) {
        // A deterministic pseudo-random odd modulus with the top bit set.
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state
        };
        let mut n = [0u64; N];
        n.iter_mut().for_each(|l| *l = next());
        n[0] |= 1;
        n[N - 1] |= 1 << 63;
        let m = Modulus::new(n).unwrap();
        let nb = big(&n);
        let r = BigUint::from(1u8) << (64 * N);
        let mut a = [0u64; N];
        let mut e = [0u64; N];
        a.iter_mut().for_each(|l| *l = next());
        e.iter_mut().for_each(|l| *l = next());
        a[N - 1] >>= 1;
        let (ab, eb) = (big(&a), big(&e));
        // Montgomery form round trip through mul by plain one.
        let am = m.to_montgomery(&a);
        assert_eq!(big(&am), (&ab * &r) % &nb);
        let mut plain_one = [0u64; N];
        plain_one[0] = 1;
        assert_eq!(m.mul(&am, &plain_one), a);
        assert_eq!(m.square(&am), m.mul(&am, &am));
        assert_eq!(big(&m.mul(&m.square(&am), &plain_one)), (&ab * &ab) % &nb);
        let expected = ab.modpow(&eb, &nb);
        assert_eq!(big(&m.mul(&m.pow(&am, &e), &plain_one)), expected);
        let two = BigUint::from(2u8);
        assert_eq!(big(&m.mul(&m.pow2(&e), &plain_one)), two.modpow(&eb, &nb));
        assert_eq!(big(&m.minus_one()), (&nb - 1u8) * &r % &nb);
    }

    #[test]
    fn agrees_with_num_bigint_dig() {
        for seed in 0..20 {
            check::<1>(seed);
            check::<2>(seed);
            check::<16>(seed);
            check::<32>(seed);
        }
    }

    #[test]
    fn rejects_even_and_one() {
        assert!(Modulus::new([4u64, 1]).is_none());
        assert!(Modulus::new([1u64, 0]).is_none());
        assert!(Modulus::new([3u64]).is_some());
    }
}
