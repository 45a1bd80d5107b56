//! Random values (`randAlphaNum`, `uuidv4`, ...). Charts use these for
//! generated passwords, so the bytes come from the operating system's
//! cryptographic source, as Sprig's do.

use std::io::Read as _;

use super::{i, panic_err, s, sig};
use crate::funcs::{FuncError, FuncMap, Ty};
use crate::value::Value;

fn random_bytes(n: usize) -> Result<Vec<u8>, FuncError> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| panic_err(format!("reading random bytes: {e}")))?;
    Ok(buf)
}

/// A uniformly random index below `n` (rejection sampling, no modulo bias).
fn below(n: u64) -> Result<u64, FuncError> {
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let b = random_bytes(8)?;
        let v = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        if v < zone {
            return Ok(v % n);
        }
    }
}

fn random_from(alphabet: &[u8], count: i64) -> Result<Value, FuncError> {
    if count < 0 {
        return Err(panic_err(format!(
            "Requested random string length {count} is less than 0."
        )));
    }
    let mut out = String::with_capacity(count as usize);
    for _ in 0..count {
        out.push(alphabet[below(alphabet.len() as u64)? as usize] as char);
    }
    Ok(Value::from(out))
}

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NUM: &[u8] = b"0123456789";

pub(super) fn register(m: &mut FuncMap) {
    m.add("randAlphaNum", sig(&[Ty::Int]), |a| {
        random_from(&[ALPHA, NUM].concat(), i(&a[0]))
    });
    m.add("randAlpha", sig(&[Ty::Int]), |a| {
        random_from(ALPHA, i(&a[0]))
    });
    m.add("randNumeric", sig(&[Ty::Int]), |a| {
        random_from(NUM, i(&a[0]))
    });
    m.add("randAscii", sig(&[Ty::Int]), |a| {
        let printable: Vec<u8> = (32u8..127).collect();
        random_from(&printable, i(&a[0]))
    });
    m.add("randBytes", sig(&[Ty::Int]), |a| {
        use base64::Engine as _;
        let b = random_bytes(i(&a[0]).max(0) as usize)?;
        Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(b),
        ))
    });
    m.add("randInt", sig(&[Ty::Int, Ty::Int]), |a| {
        let (lo, hi) = (i(&a[0]), i(&a[1]));
        if hi <= lo {
            return Err(panic_err("invalid argument to Intn"));
        }
        Ok(Value::Int(lo + below((hi - lo) as u64)? as i64))
    });
    m.add("uuidv4", sig(&[]), |_| {
        let mut b = random_bytes(16)?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Ok(Value::from(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )))
    });
    m.add("shuffle", sig(&[Ty::Str]), |a| {
        let mut c: Vec<char> = s(&a[0]).chars().collect();
        for k in (1..c.len()).rev() {
            let j = below(k as u64 + 1)? as usize;
            c.swap(k, j);
        }
        Ok(Value::from(c.into_iter().collect::<String>()))
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let v = random_from(ALPHA, 12).unwrap();
        assert_eq!(v.as_str().unwrap().len(), 12);
        assert!(v.as_str().unwrap().bytes().all(|b| b.is_ascii_alphabetic()));
        for _ in 0..100 {
            assert!(below(3).unwrap() < 3);
        }
    }
}
