//! Integer and float math with Sprig's conversions: integer functions go
//! through `int64` (`add "2" 1.9` is 3), float functions through exact decimal
//! arithmetic as Sprig's `shopspring/decimal` does (`addf 0.1 0.2` is 0.3).

use super::convert::{to_float64, to_int64};
use super::{i, panic_err, sig, sig_var};
use crate::funcs::{FuncMap, Ty};
use crate::value::Value;

/// A decimal `mant × 10^exp`, built from a float's shortest representation.
#[derive(Clone, Copy)]
struct Dec {
    mant: i128,
    exp: i32,
}

impl Dec {
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let neg = m.starts_with('-');
        let m = m.trim_start_matches('-');
        let (int, frac) = m.split_once('.').unwrap_or((m, ""));
        let digits = format!("{int}{frac}");
        let mant: i128 = digits.parse().ok()?;
        Some(Dec {
            mant: if neg { -mant } else { mant },
            exp: e - frac.len() as i32,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mant, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }

    fn rescale(self, exp: i32) -> Option<i128> {
        // Only ever scales up (exp <= self.exp).
        let shift = u32::try_from(self.exp - exp).ok()?;
        self.mant.checked_mul(10i128.checked_pow(shift)?)
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let exp = self.exp.min(o.exp);
        Some(Dec {
            mant: self.rescale(exp)?.checked_add(o.rescale(exp)?)?,
            exp,
        })
    }

    fn neg(self) -> Dec {
        Dec {
            mant: -self.mant,
            exp: self.exp,
        }
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            mant: self.mant.checked_mul(o.mant)?,
            exp: self.exp + o.exp,
        })
    }

    /// Division rounded half away from zero to 16 decimal places.
    fn div(self, o: Dec) -> Option<Dec> {
        if o.mant == 0 {
            return None;
        }
        // self/o = (a / b) × 10^(ea - eb); want q × 10^-16 with one guard digit.
        let shift = self.exp - o.exp + 17;
        let (num, den) = if shift >= 0 {
            (
                self.mant.checked_mul(10i128.checked_pow(shift as u32)?)?,
                o.mant,
            )
        } else {
            (
                self.mant,
                o.mant.checked_mul(10i128.checked_pow((-shift) as u32)?)?,
            )
        };
        let q = num / den;
        let r = if q >= 0 { (q + 5) / 10 } else { (q - 5) / 10 };
        Some(Dec { mant: r, exp: -16 })
    }
}

fn decimal_op(
    a: &Value,
    rest: &[Value],
    op: fn(Dec, Dec) -> Option<Dec>,
    fallback: fn(f64, f64) -> f64,
) -> f64 {
    let mut acc_f = to_float64(a);
    let mut acc = Dec::from_f64(acc_f);
    for x in rest {
        let xf = to_float64(x);
        acc = match (acc, Dec::from_f64(xf)) {
            (Some(p), Some(d)) => op(p, d),
            _ => None,
        };
        acc_f = match acc {
            Some(d) => d.to_f64(),
            None => fallback(acc_f, xf),
        };
    }
    acc.map(Dec::to_f64).unwrap_or(acc_f)
}

/// Most elements `until`/`untilStep`/`seq` build.
const MAX_SEQ: usize = super::MAX_BUILD / 64;

/// Sprig's `untilStep` (bounded to `MAX_SEQ` elements).
fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    let mut v = Vec::new();
    if stop < start {
        if step >= 0 {
            return v;
        }
        let mut k = start;
        while k > stop && v.len() < MAX_SEQ {
            v.push(k);
            k += step;
        }
        return v;
    }
    if step <= 0 {
        return v;
    }
    let mut k = start;
    while k < stop && v.len() < MAX_SEQ {
        v.push(k);
        k += step;
    }
    v
}

fn seq(p: &[i64]) -> String {
    let v = match *p {
        [end] => {
            let inc = if end < 1 { -1 } else { 1 };
            until_step(1, end + inc, inc)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(start, end + step, step)
        }
        [start, step, end] => {
            let inc = if end < start { -1 } else { 1 };
            if end < start && step > 0 {
                return String::new();
            }
            until_step(start, end + inc, step)
        }
        _ => return String::new(),
    };
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")
}

fn ints(v: Vec<i64>) -> Value {
    Value::list(v.into_iter().map(Value::Int).collect())
}

pub(super) fn register(m: &mut FuncMap) {
    let any1 = || sig(&[Ty::Any]);
    let any2 = || sig(&[Ty::Any, Ty::Any]);
    let var0 = || sig_var(&[], Ty::Any);
    let var1 = || sig_var(&[Ty::Any], Ty::Any);
    m.add("add1", any1(), |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    m.add("add", var0(), |a| {
        Ok(Value::Int64(
            a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
        ))
    });
    m.add("sub", any2(), |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    m.add("mul", var1(), |a| {
        Ok(Value::Int64(
            a.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
        ))
    });
    m.add("div", any2(), |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(panic_err("runtime error: integer divide by zero"));
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    m.add("mod", any2(), |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(panic_err("runtime error: integer divide by zero"));
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    for name in ["max", "biggest"] {
        m.add(name, var1(), |a| {
            Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
        });
    }
    m.add("min", var1(), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    m.add("addf", var0(), |a| {
        Ok(Value::Float(decimal_op(
            &Value::Float(0.0),
            a,
            Dec::add,
            |x, y| x + y,
        )))
    });
    m.add("add1f", any1(), |a| {
        Ok(Value::Float(decimal_op(
            &a[0],
            &[Value::Float(1.0)],
            Dec::add,
            |x, y| x + y,
        )))
    });
    m.add("subf", var1(), |a| {
        Ok(Value::Float(decimal_op(
            &a[0],
            &a[1..],
            |x, y| x.add(y.neg()),
            |x, y| x - y,
        )))
    });
    m.add("mulf", var1(), |a| {
        Ok(Value::Float(decimal_op(
            &a[0],
            &a[1..],
            Dec::mul,
            |x, y| x * y,
        )))
    });
    m.add("divf", var1(), |a| {
        if a[1..].iter().any(|x| to_float64(x) == 0.0) {
            return Err(panic_err("decimal division by 0"));
        }
        Ok(Value::Float(decimal_op(
            &a[0],
            &a[1..],
            Dec::div,
            |x, y| x / y,
        )))
    });
    m.add("maxf", var1(), |a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    m.add("minf", var1(), |a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
        ))
    });
    m.add("floor", any1(), |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    m.add("ceil", any1(), |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    m.add("round", sig_var(&[Ty::Any, Ty::Int], Ty::Float), |a| {
        let round_on = a.get(2).map(to_float64).unwrap_or(0.5);
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(i(&a[1]) as f64);
        let digit = pow * val;
        let frac = digit.fract();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    m.add("until", sig(&[Ty::Int]), |a| {
        let n = i(&a[0]);
        Ok(ints(until_step(0, n, if n < 0 { -1 } else { 1 })))
    });
    m.add("untilStep", sig(&[Ty::Int, Ty::Int, Ty::Int]), |a| {
        Ok(ints(until_step(i(&a[0]), i(&a[1]), i(&a[2]))))
    });
    m.add("seq", sig_var(&[], Ty::Int), |a| {
        Ok(Value::from(seq(&a.iter().map(i).collect::<Vec<_>>())))
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_exact() {
        let f = decimal_op(
            &Value::Float(0.1),
            &[Value::Float(0.2)],
            Dec::add,
            |x, y| x + y,
        );
        assert_eq!(f, 0.3);
        let d = decimal_op(
            &Value::Float(1.0),
            &[Value::Float(3.0)],
            Dec::div,
            |x, y| x / y,
        );
        assert_eq!(d, 0.3333333333333333);
    }

    #[test]
    fn sequences() {
        assert_eq!(seq(&[3]), "1 2 3");
        assert_eq!(seq(&[2, 4]), "2 3 4");
        assert_eq!(seq(&[5, -2, 1]), "5 3 1");
        assert_eq!(until_step(0, 10, 3), vec![0, 3, 6, 9]);
    }
}
