//! RSA key generation for `genPrivateKey`, `genCA`, `genSelfSignedCert` and
//! `genSignedCert`.
//!
//! Why not `rsa::RsaPrivateKey::new`: its prime search (num-bigint-dig's
//! `gen_prime`) screens candidates only by the odd primes up to 53 and then
//! proves the prime it keeps with 21 Miller-Rabin rounds and a Lucas test.
//! About a hundred 1024-bit modular exponentiations per prime made a 2048-bit
//! key three times slower than Go's, and charts that call `genCA` on every
//! render were slower than Helm. Here:
//!
//! - candidates are screened by a sieve over a window of consecutive odd
//!   numbers with every odd prime below 2^17, which leaves about 9.5% of
//!   odd numbers (instead of 28%) for an exponentiation;
//! - the sieve also drops candidates `p` with `p ≡ 1 (mod 65537)`, for which
//!   the public exponent would not be invertible;
//! - a survivor must pass one Miller-Rabin round with base 2 before anything
//!   else (almost every composite fails it), and the prime that is kept has
//!   passed as many further rounds with random bases as Go's `crypto/rsa`
//!   runs for a prime of its size (FIPS 186-5 table B.1: five for 1024 bits,
//!   four for 2048), all on the fixed-width Montgomery arithmetic of
//!   `montgomery.rs` with a dedicated squaring and, for base 2, doublings in
//!   place of multiplications;
//! - the two primes of a key are searched on two threads.
//!
//! The randomness is the operating system's (`OsRng`), as before: keys stay
//! random on every render.

use std::sync::OnceLock;

use num_bigint_dig::prime::{probably_prime_lucas, probably_prime_miller_rabin};
use rand_core::{OsRng, RngCore as _};
use rsa::{BigUint, RsaPrivateKey};

use super::montgomery::{self, Modulus};

/// The public exponent Go (and every common tool) uses.
const PUBLIC_EXPONENT: u32 = 65_537;

/// Odd candidates examined per random starting point. Primes of 1024 bits
/// are on average 710 apart, so a window of 8192 numbers almost always holds
/// one; when it does not, the search starts over from a new random point.
const WINDOW: usize = 4096;

/// Sieving primes below this bound: past it, each extra prime removes fewer
/// candidates than its sieving costs (a residue per window against the
/// share of a Miller-Rabin round it saves).
const SIEVE_BOUND: usize = 1 << 17;

/// The odd primes below [`SIEVE_BOUND`], computed once.
fn small_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| {
        let mut composite = vec![false; SIEVE_BOUND];
        let mut primes = Vec::new();
        for n in 3..SIEVE_BOUND {
            if composite[n] {
                continue;
            }
            if n % 2 == 1 {
                // `n < SIEVE_BOUND = 2^17` always fits.
                primes.push(n as u32);
            }
            for m in (n * n..SIEVE_BOUND).step_by(n) {
                composite[m] = true;
            }
        }
        primes
    })
}

/// `n mod m` for a small modulus `m` (below 2^32), with `n` given as
/// big-endian bytes: one pass over 64-bit chunks, where `BigUint`'s `%`
/// would allocate a result for each of the 1900 sieving primes.
fn mod_small(be_bytes: &[u8], m: u32) -> u64 {
    let m = u64::from(m);
    // 2^64 mod m, so that `acc * 2^64 + chunk` stays within 64 bits.
    let shift = (u64::MAX % m + 1) % m;
    let head = be_bytes.len() % 8;
    let first = be_bytes[..head]
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        % m;
    be_bytes[head..].chunks_exact(8).fold(first, |acc, chunk| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        (acc * shift + u64::from_be_bytes(word) % m) % m
    })
}

/// The index `j` (mod `p`) at which `start + 2j ≡ target (mod p)`, for an odd
/// prime `p` and `start mod p = r`.
fn first_hit(r: u64, target: u64, p: u64) -> u64 {
    // 2 is invertible mod an odd p: its inverse is (p + 1) / 2.
    let half = p.div_ceil(2);
    ((target + p - r) % p) * half % p
}

/// A random prime of exactly `bits` bits (`bits` ≥ 16) whose two top bits
/// are set, so that the product of two of them has exactly `2 * bits` bits,
/// and with `p - 1` prime to [`PUBLIC_EXPONENT`].
fn random_prime(bits: usize) -> BigUint {
    let primes = small_primes();
    let len = bits.div_ceil(8);
    let top = bits - (len - 1) * 8; // bits used in the first byte, 1..=8
    let mut bytes = vec![0u8; len];
    let mut composite = vec![false; WINDOW];
    loop {
        OsRng.fill_bytes(&mut bytes);
        bytes[0] &= ((1u16 << top) - 1) as u8;
        if top >= 2 {
            bytes[0] |= 3 << (top - 2);
        } else {
            bytes[0] |= 1;
            bytes[1] |= 0x80;
        }
        bytes[len - 1] |= 1;
        let start = BigUint::from_bytes_be(&bytes);

        composite.fill(false);
        let e = u64::from(PUBLIC_EXPONENT);
        for &p in primes.iter().chain(std::iter::once(&PUBLIC_EXPONENT)) {
            let p64 = u64::from(p);
            let r = mod_small(&bytes, p);
            // A small prime divides the candidate; for the exponent, the
            // candidate minus one.
            let target = if p64 == e { 1 } else { 0 };
            let mut j = first_hit(r, target, p64) as usize;
            while j < WINDOW {
                composite[j] = true;
                j += p as usize;
            }
        }

        for (j, _) in composite.iter().enumerate().filter(|(_, c)| !**c) {
            let candidate = &start + BigUint::from(2 * j as u64);
            if candidate.bits() != bits {
                break;
            }
            if probably_prime(&candidate, bits) {
                return candidate;
            }
        }
    }
}

/// Whether a sieve survivor `n` of `bits` bits is (with overwhelming
/// probability) prime. For the prime sizes of 2048- and 4096-bit keys:
/// Miller-Rabin with base 2, which rejects almost every composite, then the
/// rounds with random bases that Go's `crypto/rsa` runs for a prime of that
/// size, on the fixed-width arithmetic of `montgomery.rs`. Other sizes use
/// num-bigint-dig: Baillie-PSW plus four random-base rounds.
fn probably_prime(n: &BigUint, bits: usize) -> bool {
    match bits {
        1024 => miller_rabin_fixed::<16>(&n.to_bytes_be(), random_rounds(bits)),
        2048 => miller_rabin_fixed::<32>(&n.to_bytes_be(), random_rounds(bits)),
        _ => {
            probably_prime_miller_rabin(n, 1, true)
                && probably_prime_lucas(n)
                && probably_prime_miller_rabin(n, 4, false)
        }
    }
}

/// Miller-Rabin rounds with random bases after the base-2 round for a
/// random candidate of `bits` bits: Go's counts (after FIPS 186-5 table B.1
/// and BoringSSL), for an error probability below 2^-100 at these sizes.
fn random_rounds(bits: usize) -> usize {
    match bits {
        3747.. => 3,
        1345.. => 4,
        _ => 5,
    }
}

/// Miller-Rabin for an odd `n` > 3 of at most `64 * N` bits (given
/// big-endian): base 2 first, then `rounds` random bases in `[2, n - 2]`.
fn miller_rabin_fixed<const N: usize>(n_be: &[u8], rounds: usize) -> bool {
    let n = montgomery::limbs_from_be::<N>(n_be);
    let Some(m) = Modulus::new(n) else {
        return false;
    };
    let mut n_minus_1 = n;
    n_minus_1[0] -= 1; // n is odd: no borrow
    // n - 1 = d * 2^s with d odd.
    let s = trailing_zeros(&n_minus_1);
    let d = shift_right(&n_minus_1, s);
    let one = m.one();
    let minus_one = m.minus_one();
    let passes = |mut y: [u64; N]| {
        if y == one || y == minus_one {
            return true;
        }
        for _ in 1..s {
            y = m.square(&y);
            if y == minus_one {
                return true;
            }
            if y == one {
                return false;
            }
        }
        false
    };
    if !passes(m.pow2(&d)) {
        return false;
    }
    // The highest non-zero limb of n and its bit length.
    let top = n.iter().rposition(|&l| l != 0).unwrap_or(0);
    let top_bits = 64 - n[top].leading_zeros();
    let mut base: [u64; N];
    let mut bytes = vec![0u8; 8 * N];
    for _ in 0..rounds {
        // A uniform base in [2, n - 2], by rejection.
        loop {
            OsRng.fill_bytes(&mut bytes);
            base = montgomery::limbs_from_be(&bytes);
            base[top] &= u64::MAX >> (64 - top_bits);
            base[top + 1..].fill(0);
            let small = base[0] < 2 && base[1..].iter().all(|&l| l == 0);
            if !small && less_than(&base, &n_minus_1) {
                break;
            }
        }
        if !passes(m.pow(&m.to_montgomery(&base), &d)) {
            return false;
        }
    }
    true
}

/// The number of trailing zero bits of a non-zero little-endian number.
fn trailing_zeros<const N: usize>(x: &[u64; N]) -> usize {
    let mut count = 0;
    for &limb in x {
        if limb != 0 {
            return count + limb.trailing_zeros() as usize;
        }
        count += 64;
    }
    count
}

/// `x >> shift` for a little-endian number.
fn shift_right<const N: usize>(x: &[u64; N], shift: usize) -> [u64; N] {
    let (words, bits) = (shift / 64, shift % 64);
    let mut out = [0u64; N];
    for i in 0..N.saturating_sub(words) {
        let lo = x[i + words] >> bits;
        let hi = match (bits, x.get(i + words + 1)) {
            (1.., Some(&next)) => next << (64 - bits),
            _ => 0,
        };
        out[i] = lo | hi;
    }
    out
}

/// `a < b` for little-endian numbers.
fn less_than<const N: usize>(a: &[u64; N], b: &[u64; N]) -> bool {
    a.iter().rev().lt(b.iter().rev())
}

/// A new RSA key of `bits` bits with public exponent 65537.
///
/// # Errors
///
/// The text of `rsa`'s error when the key cannot be assembled (a size too
/// small to hold two primes).
pub(super) fn generate(bits: usize) -> Result<RsaPrivateKey, String> {
    if bits < 64 {
        return Err(format!("crypto/rsa: {bits}-bit keys are too small"));
    }
    let q_bits = bits / 2;
    let p_bits = bits - q_bits;
    loop {
        let (p, q) = std::thread::scope(|scope| {
            let q = scope.spawn(|| random_prime(q_bits));
            let p = random_prime(p_bits);
            // The searching thread cannot panic short of memory exhaustion;
            // search again on this thread if it did.
            (p, q.join().unwrap_or_else(|_| random_prime(q_bits)))
        });
        if p == q {
            continue;
        }
        return RsaPrivateKey::from_primes(vec![p, q], BigUint::from(PUBLIC_EXPONENT))
            .map_err(|err| err.to_string());
    }
}

#[cfg(test)]
mod tests {
    use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};

    use super::*;

    #[test]
    fn keys_have_the_asked_size_and_valid_parts() {
        for bits in [512, 1024, 2048] {
            let key = generate(bits).unwrap();
            assert_eq!(key.n().bits(), bits);
            assert_eq!(key.e(), &BigUint::from(PUBLIC_EXPONENT));
            assert_eq!(key.primes().len(), 2);
            key.validate().unwrap();
        }
    }

    #[test]
    fn sieve_marks_exactly_the_multiples() {
        let n: u128 = 0x0123_4567_89ab_cdef_0011_2233_4455_6677;
        let short = n >> 24; // 13 significant bytes: a partial head chunk
        let start = 1_000_001u64;
        for p in [3u32, 5, 7, 13, 16_381, 65_537] {
            let p64 = u64::from(p);
            assert_eq!(mod_small(&n.to_be_bytes(), p), (n % u128::from(p)) as u64);
            let r = mod_small(&short.to_be_bytes()[3..], p);
            assert_eq!(r, (short % u128::from(p)) as u64);
            let r = mod_small(&start.to_be_bytes(), p);
            assert_eq!(r, start % p64);
            assert_eq!((start + 2 * first_hit(r, 0, p64)) % p64, 0);
            assert_eq!((start + 2 * first_hit(r, 1, p64)) % p64, 1);
        }
    }

    #[test]
    fn fixed_width_rounds_agree_with_num_bigint_dig() {
        let mut bytes = [0u8; 128];
        for _ in 0..200 {
            OsRng.fill_bytes(&mut bytes);
            bytes[0] |= 0x80;
            bytes[127] |= 1;
            let n = BigUint::from_bytes_be(&bytes);
            assert_eq!(
                miller_rabin_fixed::<16>(&bytes, 0),
                probably_prime_miller_rabin(&n, 1, true)
            );
        }
        let p = random_prime(1024);
        assert!(miller_rabin_fixed::<16>(&p.to_bytes_be(), 5));
        assert!(miller_rabin_fixed::<32>(&p.to_bytes_be(), 5));
        assert!(probably_prime(&p, 1024));
        // A strong pseudoprime to base 2 (2047 = 23 * 89) passes the base-2
        // round, as it must, and not random bases.
        assert!(miller_rabin_fixed::<1>(&2047u16.to_be_bytes(), 0));
        assert!(!miller_rabin_fixed::<1>(&2047u16.to_be_bytes(), 40));
        assert!(!miller_rabin_fixed::<1>(&2049u16.to_be_bytes(), 0));
        assert!(miller_rabin_fixed::<1>(&65_537u32.to_be_bytes(), 40));
        // A Carmichael number: 561 = 3 * 11 * 17.
        assert!(!miller_rabin_fixed::<1>(&561u16.to_be_bytes(), 40));
    }

    #[test]
    fn small_primes_are_the_odd_primes() {
        let primes = small_primes();
        assert_eq!(&primes[..6], &[3, 5, 7, 11, 13, 17]);
        assert_eq!(primes.last(), Some(&131_071));
    }
}
