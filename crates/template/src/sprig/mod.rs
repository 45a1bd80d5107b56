//! Sprig's function library (Masterminds/sprig v3, as Helm ships it).
//!
//! Each function declares its Go signature so that argument errors read as in
//! Helm. Functions whose Go version panics on bad input (`first` on a string,
//! `div` by zero) fail with the panic's text, as Go's template engine reports
//! a recovered panic: `error calling div: runtime error: integer divide by zero`.
//!
//! # Deviations
//!
//! - `keys` and `values` return entries in key order; Sprig returns Go's
//!   random map order (charts sort them anyway: `keys . | sortAlpha`).
//! - `typeOf` of a list Sprig builds as `[]string` (`splitList`, `keys`,
//!   `toStrings`, `sortAlpha`) reports `[]interface {}`.
//! - Dates are computed in UTC (see the `dates` module).
//! - Not provided yet: `semver` objects, network (`getHostByName`), `env`/`expandenv`.

mod convert;
mod crypto;
mod dates;
mod dicts;
mod encoding;
mod lists;
mod montgomery;
mod numbers;
mod random;
mod re2;
mod regexes;
mod rsagen;
mod semver;
mod strings;
mod urls;

use crate::funcs::{FuncError, FuncMap, Sig, Ty};
use crate::value::Value;

pub(crate) use convert::from_json_value;
pub use convert::{is_empty, strval, to_float64, to_int64};

/// Sprig's functions, ready to add to a [`Templates`](crate::Templates).
pub fn funcs() -> FuncMap {
    let mut m = FuncMap::new();
    strings::register(&mut m);
    convert::register(&mut m);
    dates::register(&mut m);
    numbers::register(&mut m);
    random::register(&mut m);
    lists::register(&mut m);
    dicts::register(&mut m);
    encoding::register(&mut m);
    regexes::register(&mut m);
    semver::register(&mut m);
    urls::register(&mut m);
    crypto::register(&mut m);
    m
}

/// Bound on what one function call may build (bytes of a string, elements
/// of a list), so a hostile template cannot exhaust memory in one call.
pub(crate) const MAX_BUILD: usize = 64 << 20;

/// Shorthands for signatures.
pub(crate) fn sig(params: &[Ty]) -> Sig {
    Sig::fixed(params)
}

pub(crate) fn sig_var(params: &[Ty], rest: Ty) -> Sig {
    Sig::variadic(params, rest)
}

/// The string of an argument declared `string` (validated by the executor).
pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The integer of an argument declared `int`.
pub(crate) fn i(v: &Value) -> i64 {
    v.as_int().unwrap_or_default()
}

/// A list of strings.
pub(crate) fn strs(v: impl IntoIterator<Item = String>) -> Value {
    Value::list(v.into_iter().map(Value::from).collect())
}

/// An error reported as Go reports a recovered panic.
pub(crate) fn panic_err(msg: impl Into<String>) -> FuncError {
    FuncError::Call(msg.into())
}

#[cfg(test)]
mod tests {
    /// Every function of Sprig v3's map, and which ones are not provided.
    const SPRIG: &str = "hello ago date date_in_zone date_modify dateInZone dateModify duration durationRound \
        htmlDate htmlDateInZone must_date_modify mustDateModify mustToDate now toDate unixEpoch abbrev abbrevboth \
        trunc trim upper lower title untitle substr repeat trimall trimAll trimSuffix trimPrefix nospace initials \
        randAlphaNum randAlpha randAscii randNumeric randSeededNumeric swapcase shuffle snakecase camelcase kebabcase \
        wrap wrapWith contains hasPrefix hasSuffix quote squote cat indent nindent replace plural sha1sum sha256sum \
        adler32sum toString atoi int64 int float64 seq toDecimal split splitList splitn toStrings until untilStep \
        add1 add sub div mod mul randInt add1f addf subf divf mulf biggest max min maxf minf ceil floor round join \
        sortAlpha default empty coalesce all any compact mustCompact fromJson toJson toPrettyJson toRawJson \
        mustFromJson mustToJson mustToPrettyJson mustToRawJson ternary deepCopy mustDeepCopy typeOf typeIs \
        typeIsLike kindOf kindIs deepEqual env expandenv getHostByName base dir clean ext isAbs osBase osClean \
        osDir osExt osIsAbs b64enc b64dec b32enc b32dec tuple list dict get set unset hasKey pluck keys pick omit \
        merge mergeOverwrite mustMerge mustMergeOverwrite values append push mustAppend mustPush prepend \
        mustPrepend first mustFirst rest mustRest last mustLast initial mustInitial reverse mustReverse uniq \
        mustUniq without mustWithout has mustHas slice mustSlice concat dig chunk mustChunk bcrypt htpasswd \
        genPrivateKey derivePassword buildCustomCert genCA genCAWithKey genSelfSignedCert genSelfSignedCertWithKey \
        genSignedCert genSignedCertWithKey encryptAES decryptAES randBytes uuidv4 semver semverCompare fail \
        regexMatch mustRegexMatch regexFindAll mustRegexFindAll regexFind mustRegexFind regexReplaceAll \
        mustRegexReplaceAll regexReplaceAllLiteral mustRegexReplaceAllLiteral regexSplit mustRegexSplit \
        regexQuoteMeta urlParse urlJoin";

    /// Not provided: environment and network access (Helm removes `env` and
    /// `expandenv` anyway) and seeded randomness.
    const MISSING: &str = "env expandenv getHostByName randSeededNumeric";

    #[test]
    fn provides_sprig_except_the_listed_gaps() {
        let f = super::funcs();
        let missing: Vec<&str> = MISSING.split_whitespace().collect();
        for name in SPRIG.split_whitespace() {
            assert_eq!(f.contains(name), !missing.contains(&name), "{name}");
        }
    }
}
