//! Cryptography: private keys, X.509 certificates, bcrypt, Master Password
//! derivation and AES (`genPrivateKey`, `genCA`, `genSignedCert`,
//! `htpasswd`, `derivePassword`, `encryptAES`...).
//!
//! Outputs follow Sprig v3 as Helm ships it: PEM blocks as Go's
//! `encoding/pem` writes them, keys in the formats Go's `crypto/x509` uses
//! (PKCS#1 for RSA, SEC 1 for ECDSA, PKCS#8 for Ed25519, Sprig's own
//! `DSA PRIVATE KEY`), and certificates with the fields and extensions
//! Go's `x509.CreateCertificate` writes for Sprig's templates (including
//! the RFC 7093 key identifier of current Go). Several functions report
//! failures in their output text rather than as errors, as Sprig does.
//!
//! # Deviations
//!
//! - Elliptic-curve keys passed to the `...WithKey` functions may be P-256
//!   or P-384 (Go also reads P-224 and P-521).
//! - Parse errors of malformed keys and certificates name the same step as
//!   Go but word the ASN.1 cause differently.
//! - `derivePassword`'s counter is Go's `uint32`: a negative constant fails
//!   with Go's text but may name another node as the location, an `int`
//!   variable is accepted (Go rejects it), and other types are reported as
//!   `expected int` where Go says `expected uint32`. A constant of the wrong type
//!   where a `certificate` is expected fails with Go's text for values
//!   (`wrong type for value; expected sprig.certificate; got string`)
//!   rather than `can't handle "x" for arg of type sprig.certificate`.
//! - A validity ending after the year 9999 fails (Go's duration arithmetic
//!   overflows instead).
//! - `decryptAES` output that is not UTF-8 is converted lossily (Go keeps
//!   the raw bytes in its string).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::Mac as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use rand_core::{OsRng, RngCore as _};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::EncodePublicKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use sha2::Digest as _;
use x509_cert::der::asn1::{BitString, GeneralizedTime, OctetString, UtcTime};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Any, DateTime, Decode as _, Encode as _};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

use super::{i, s, sig};
use crate::funcs::{FuncError, FuncMap, Ty};
use crate::value::{Object, Value};

// ---------------------------------------------------------------- PEM and DER

/// Go's `pem.EncodeToMemory`: 64-column base64 lines, each ending in `\n`.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The first well-formed PEM block of `text`: its label and bytes. Like
/// Go's `pem.Decode`, blocks with bad base64 are skipped and header lines
/// (`Proc-Type: ...`) are ignored.
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let mut rest = text;
    while let Some(pos) = rest.find("-----BEGIN ") {
        let at_line_start = pos == 0 || rest[..pos].ends_with('\n');
        let after = &rest[pos + "-----BEGIN ".len()..];
        rest = after;
        if !at_line_start {
            continue;
        }
        let Some(line_end) = after.find('\n') else {
            continue;
        };
        let Some(label) = after[..line_end]
            .trim_end_matches('\r')
            .strip_suffix("-----")
        else {
            continue;
        };
        let body = &after[line_end + 1..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body.find(&end_marker) else {
            continue;
        };
        let b64: String = body[..end]
            .lines()
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
            .collect();
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) {
            return Some((label.to_string(), bytes));
        }
    }
    None
}

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len = n.to_be_bytes();
        let skip = len.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (len.len() - skip) as u8);
        out.extend_from_slice(&len[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER from an unsigned big-endian magnitude.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let mut v = bytes[skip..].to_vec();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    tlv(0x02, &v)
}

/// Reads one TLV from `input`: (tag, content, rest).
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

// ---------------------------------------------------------------- keys

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// A private key of a kind Sprig generates or reads.
enum PrivKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// Sprig reads DSA keys, but Go cannot sign with them nor put them in
    /// certificates, so their numbers are never needed.
    Dsa,
}

fn gen_rsa(bits: usize) -> Result<PrivKey, String> {
    super::rsagen::generate(bits).map(|k| PrivKey::Rsa(Box::new(k)))
}

/// Sprig's `DSA PRIVATE KEY`: SEQUENCE { version 0, P, Q, G, Y, X }.
fn gen_dsa_pem() -> String {
    let components = dsa::Components::generate(&mut OsRng, dsa::KeySize::DSA_2048_256);
    let key = dsa::SigningKey::generate(&mut OsRng, components);
    let vk = key.verifying_key();
    let c = vk.components();
    let mut body = der_uint(&[0]);
    for n in [c.p(), c.q(), c.g(), vk.y(), key.x()] {
        body.extend(der_uint(&n.to_bytes_be()));
    }
    pem_encode("DSA PRIVATE KEY", &tlv(0x30, &body))
}

/// PKCS#8 of an Ed25519 seed, as Go writes it (version 0, no public key).
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut alg = Vec::new();
    alg.extend(tlv(0x06, OID_ED25519.as_bytes()));
    let mut body = der_uint(&[0]);
    body.extend(tlv(0x30, &alg));
    body.extend(tlv(0x04, &tlv(0x04, seed)));
    tlv(0x30, &body)
}

/// SEC 1 `ECPrivateKey` as Go writes it: version 1, the scalar padded to
/// the field size, the named curve and the uncompressed public point.
fn ec_sec1(scalar: &[u8], curve: ObjectIdentifier, point: &[u8]) -> Vec<u8> {
    let mut body = der_uint(&[1]);
    body.extend(tlv(0x04, scalar));
    body.extend(tlv(0xa0, &tlv(0x06, curve.as_bytes())));
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    body.extend(tlv(0xa1, &tlv(0x03, &bits)));
    tlv(0x30, &body)
}

/// Go's `pemBlockForKey` in Sprig: the PEM text of a key.
fn key_pem(key: &PrivKey) -> Result<String, String> {
    Ok(match key {
        PrivKey::Rsa(k) => pem_encode(
            "RSA PRIVATE KEY",
            k.to_pkcs1_der().map_err(|e| e.to_string())?.as_bytes(),
        ),
        PrivKey::P256(k) => pem_encode(
            "EC PRIVATE KEY",
            &ec_sec1(
                &k.to_bytes(),
                OID_P256,
                k.public_key().to_encoded_point(false).as_bytes(),
            ),
        ),
        PrivKey::P384(k) => pem_encode(
            "EC PRIVATE KEY",
            &ec_sec1(
                &k.to_bytes(),
                OID_P384,
                k.public_key().to_encoded_point(false).as_bytes(),
            ),
        ),
        PrivKey::Ed25519(k) => pem_encode("PRIVATE KEY", &ed25519_pkcs8(&k.to_bytes())),
        PrivKey::Dsa => return Err("x509: unknown key type while marshaling PKCS#8".into()),
    })
}

fn parse_ec(der: &[u8]) -> Result<PrivKey, String> {
    if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
        return Ok(PrivKey::P256(k));
    }
    p384::SecretKey::from_sec1_der(der)
        .map(PrivKey::P384)
        .map_err(|e| format!("x509: failed to parse EC private key: {e}"))
}

fn parse_pkcs8(der: &[u8]) -> Result<PrivKey, String> {
    let info = rsa::pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| e.to_string())?;
    let oid = info.algorithm.oid;
    if oid == OID_RSA {
        rsa::RsaPrivateKey::from_pkcs1_der(info.private_key)
            .map(|k| PrivKey::Rsa(Box::new(k)))
            .map_err(|e| format!("x509: failed to parse RSA private key embedded in PKCS#8: {e}"))
    } else if oid == OID_EC {
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|e| format!("x509: failed to parse EC private key embedded in PKCS#8: {e}"))?;
        let inner = info.private_key;
        if curve == OID_P256 {
            p256::SecretKey::from_sec1_der(inner).map(PrivKey::P256)
        } else if curve == OID_P384 {
            p384::SecretKey::from_sec1_der(inner).map(PrivKey::P384)
        } else {
            return Err("x509: unknown elliptic curve".into());
        }
        .map_err(|e| format!("x509: failed to parse EC private key embedded in PKCS#8: {e}"))
    } else if oid == OID_ED25519 {
        match read_tlv(info.private_key) {
            Some((0x04, seed, [])) if seed.len() == 32 => {
                let mut b = [0u8; 32];
                b.copy_from_slice(seed);
                Ok(PrivKey::Ed25519(Box::new(
                    ed25519_dalek::SigningKey::from_bytes(&b),
                )))
            }
            Some((0x04, seed, [])) => Err(format!(
                "x509: invalid Ed25519 private key length: {}",
                seed.len()
            )),
            _ => Err("x509: invalid Ed25519 private key parameters".into()),
        }
    } else {
        Err(format!(
            "x509: PKCS#8 wrapping contained private key with unknown algorithm: {oid}"
        ))
    }
}

/// Checks Sprig's DSA key layout: a SEQUENCE of six INTEGERs.
fn parse_dsa(der: &[u8]) -> Result<PrivKey, String> {
    let Some((0x30, mut body, _)) = read_tlv(der) else {
        return Err("asn1: structure error: expected a SEQUENCE".into());
    };
    for _ in 0..6 {
        match read_tlv(body) {
            Some((0x02, _, rest)) => body = rest,
            _ => return Err("asn1: structure error: expected an INTEGER".into()),
        }
    }
    Ok(PrivKey::Dsa)
}

/// Sprig's `parsePrivateKeyPEM`.
fn parse_key_pem(text: &str) -> Result<PrivKey, String> {
    let (label, der) = pem_decode(text).ok_or("no PEM data in input")?;
    if label == "PRIVATE KEY" {
        return parse_pkcs8(&der).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
    }
    let Some(kind) = label.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {label}"));
    };
    match kind {
        "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map(|k| PrivKey::Rsa(Box::new(k)))
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        "EC" => parse_ec(&der).map_err(|e| format!("parsing EC private key from PEM: {e}")),
        "DSA" => parse_dsa(&der).map_err(|e| format!("parsing DSA private key from PEM: {e}")),
        _ => Err(format!("invalid private key type {label}")),
    }
}

/// The key's SubjectPublicKeyInfo (Go's `marshalPublicKey`).
fn public_key_info(key: &PrivKey) -> Result<SubjectPublicKeyInfoOwned, String> {
    let der = match key {
        PrivKey::Rsa(k) => k.to_public_key().to_public_key_der(),
        PrivKey::P256(k) => k.public_key().to_public_key_der(),
        PrivKey::P384(k) => k.public_key().to_public_key_der(),
        PrivKey::Ed25519(k) => {
            return Ok(SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: OID_ED25519,
                    parameters: None,
                },
                subject_public_key: BitString::from_bytes(k.verifying_key().as_bytes())
                    .map_err(|e| e.to_string())?,
            });
        }
        PrivKey::Dsa => return Err("x509: unsupported public key type: *dsa.PublicKey".into()),
    }
    .map_err(|e| e.to_string())?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(|e| e.to_string())
}

const NOT_A_SIGNER: &str = "x509: certificate private key does not implement crypto.Signer";

/// The signature algorithm Go picks for a signing key.
fn signature_algorithm(key: &PrivKey) -> Result<AlgorithmIdentifierOwned, String> {
    let (oid, parameters) = match key {
        PrivKey::Rsa(_) => (OID_SHA256_RSA, Some(Any::null())),
        PrivKey::P256(_) => (OID_ECDSA_SHA256, None),
        PrivKey::P384(_) => (OID_ECDSA_SHA384, None),
        PrivKey::Ed25519(_) => (OID_ED25519, None),
        PrivKey::Dsa => return Err(NOT_A_SIGNER.into()),
    };
    Ok(AlgorithmIdentifierOwned { oid, parameters })
}

/// Signs `tbs` with the algorithm of [`signature_algorithm`].
fn sign(key: &PrivKey, tbs: &[u8]) -> Result<Vec<u8>, String> {
    let err = |e: rsa::signature::Error| e.to_string();
    Ok(match key {
        PrivKey::Rsa(k) => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone())
            .try_sign(tbs)
            .map_err(err)?
            .to_vec(),
        PrivKey::P256(k) => {
            let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k)
                .try_sign(tbs)
                .map_err(err)?;
            sig.to_der().as_bytes().to_vec()
        }
        PrivKey::P384(k) => {
            let sig: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k)
                .try_sign(tbs)
                .map_err(err)?;
            sig.to_der().as_bytes().to_vec()
        }
        PrivKey::Ed25519(k) => k.try_sign(tbs).map_err(err)?.to_vec(),
        PrivKey::Dsa => return Err(NOT_A_SIGNER.into()),
    })
}

// ---------------------------------------------------------------- certificates

/// Sprig's `certificate`: a struct with `Cert` and `Key` PEM strings.
struct CertPair {
    cert: Arc<str>,
    key: Arc<str>,
}

const CERT_TYPE: &str = "sprig.certificate";

impl Object for CertPair {
    fn type_name(&self) -> &str {
        CERT_TYPE
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::Str(self.cert.clone())),
            "Key" => Some(Value::Str(self.key.clone())),
            _ => None,
        }
    }
    fn format(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
}

fn cert_value(cert: String, key: String) -> Value {
    Value::object(CertPair {
        cert: cert.into(),
        key: key.into(),
    })
}

/// The `Cert` and `Key` of a `certificate` argument.
fn cert_arg(v: &Value) -> Result<(String, String), FuncError> {
    if let Value::Object(o) = v
        && o.type_name() == CERT_TYPE
    {
        let get = |f| o.field(f).and_then(|v| v.as_str().map(str::to_string));
        return Ok((
            get("Cert").unwrap_or_default(),
            get("Key").unwrap_or_default(),
        ));
    }
    Err(FuncError::Exec(format!(
        "wrong type for value; expected {CERT_TYPE}; got {}",
        v.type_name()
    )))
}

/// What Sprig's `getBaseCertTemplate` fills in.
struct CertTemplate {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

impl CertTemplate {
    fn new(cn: &str, ips: &Value, dns: &Value, days: i64) -> Result<CertTemplate, String> {
        let items = |v: &Value| match v {
            Value::List(l) => l.as_ref().clone(),
            _ => Vec::new(),
        };
        let mut ip_bytes = Vec::new();
        for ip in items(ips) {
            let Value::Str(text) = &ip else {
                return Err(format!("error parsing ip: {ip} is not a string"));
            };
            let addr: std::net::IpAddr = text
                .parse()
                .map_err(|_| format!("error parsing ip: {text}"))?;
            // Go writes IPv4 (and IPv4-mapped IPv6) addresses in 4 bytes.
            ip_bytes.push(match addr {
                std::net::IpAddr::V4(a) => a.octets().to_vec(),
                std::net::IpAddr::V6(a) => match a.to_ipv4_mapped() {
                    Some(v4) => v4.octets().to_vec(),
                    None => a.octets().to_vec(),
                },
            });
        }
        let mut names = Vec::new();
        for d in items(dns) {
            let Value::Str(text) = &d else {
                return Err(format!(
                    "error processing alternate dns name: {d} is not a string"
                ));
            };
            names.push(text.to_string());
        }
        Ok(CertTemplate {
            cn: cn.to_string(),
            ips: ip_bytes,
            dns: names,
            days,
            is_ca: false,
        })
    }
}

/// A Name holding only a common name, encoded as Go's `pkix.Name` does
/// (PrintableString when possible, UTF8String otherwise; empty CN omitted).
fn cn_name(cn: &str) -> Result<Name, String> {
    let mut rdns = Vec::new();
    if !cn.is_empty() {
        let printable = cn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?*".contains(&b));
        let mut atv = tlv(0x06, &[0x55, 0x04, 0x03]);
        atv.extend(tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes()));
        rdns = tlv(0x31, &tlv(0x30, &atv));
    }
    Name::from_der(&tlv(0x30, &rdns)).map_err(|e| e.to_string())
}

/// Go encodes years 1950-2049 as UTCTime, others as GeneralizedTime.
fn x509_time(secs: i64) -> Result<Time, String> {
    let secs = u64::try_from(secs).map_err(|_| "x509: certificate time before 1970".to_string())?;
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(|e| e.to_string())?;
    Ok(if dt.year() < 2050 {
        Time::UtcTime(UtcTime::from_date_time(dt).map_err(|e| e.to_string())?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_date_time(dt))
    })
}

fn ext(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Result<Extension, String> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(|e| e.to_string())?,
    })
}

/// The key identifier Go derives from a public key (RFC 7093 method 1:
/// the leftmost 160 bits of the SHA-256 of the key's bits).
fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    sha2::Sha256::digest(spki.subject_public_key.raw_bytes())[..20].to_vec()
}

/// Sprig's `getCertAndKey`: creates the certificate for `signee`, signed by
/// `parent` (its certificate and key) or self-signed, and PEM-encodes both.
fn cert_and_key(
    t: &CertTemplate,
    signee: &PrivKey,
    parent: Option<(&Certificate, &PrivKey)>,
) -> Result<(String, String), String> {
    let signer = parent.map_or(signee, |(_, k)| k);
    if matches!(signer, PrivKey::Dsa) {
        return Err(NOT_A_SIGNER.into());
    }
    let spki = public_key_info(signee)?;
    let subject = cn_name(&t.cn)?;
    let issuer = match parent {
        Some((c, _)) => c.tbs_certificate.subject.clone(),
        None => subject.clone(),
    };
    if let Some((c, k)) = parent {
        let want = public_key_info(k)?.to_der().map_err(|e| e.to_string())?;
        let have = c
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?;
        if want != have {
            return Err("x509: provided PrivateKey doesn't match parent's PublicKey".into());
        }
    }

    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let not_after = t
        .days
        .checked_mul(86_400)
        .and_then(|d| d.checked_add(now))
        .ok_or("x509: certificate validity out of range")?;

    let mut exts = Vec::new();
    // Key usage: digitalSignature | keyEncipherment (| keyCertSign for CAs),
    // as a BIT STRING without trailing zero bits.
    let ku = if t.is_ca {
        [0x03, 0x02, 0x02, 0xa4]
    } else {
        [0x03, 0x02, 0x05, 0xa0]
    };
    exts.push(ext(OID_KEY_USAGE, true, ku.to_vec())?);
    let mut eku = tlv(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]);
    eku.extend(tlv(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]));
    exts.push(ext(OID_EXT_KEY_USAGE, false, tlv(0x30, &eku))?);
    let bc = if t.is_ca {
        tlv(0x30, &[0x01, 0x01, 0xff])
    } else {
        tlv(0x30, &[])
    };
    exts.push(ext(OID_BASIC_CONSTRAINTS, true, bc)?);
    if t.is_ca {
        exts.push(ext(OID_SUBJECT_KEY_ID, false, tlv(0x04, &key_id(&spki)))?);
    }
    if let Some((c, _)) = parent {
        let parent_skid = c
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == OID_SUBJECT_KEY_ID)
            .and_then(|e| match read_tlv(e.extn_value.as_bytes()) {
                Some((0x04, id, _)) => Some(id.to_vec()),
                _ => None,
            })
            .unwrap_or_default();
        let differs = issuer.to_der().map_err(|e| e.to_string())?
            != subject.to_der().map_err(|e| e.to_string())?;
        if differs && !parent_skid.is_empty() {
            exts.push(ext(
                OID_AUTHORITY_KEY_ID,
                false,
                tlv(0x30, &tlv(0x80, &parent_skid)),
            )?);
        }
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut san = Vec::new();
        for d in &t.dns {
            san.extend(tlv(0x82, d.as_bytes()));
        }
        for ip in &t.ips {
            san.extend(tlv(0x87, ip));
        }
        exts.push(ext(OID_SUBJECT_ALT_NAME, false, tlv(0x30, &san))?);
    }

    let alg = signature_algorithm(signer)?;
    let tbs = TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(|e| e.to_string())?,
        signature: alg.clone(),
        issuer,
        validity: Validity {
            not_before: x509_time(now)?,
            not_after: x509_time(not_after)?,
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    };
    let tbs_der = tbs.to_der().map_err(|e| e.to_string())?;
    let signature = sign(signer, &tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&signature).map_err(|e| e.to_string())?,
    };
    let der = cert.to_der().map_err(|e| e.to_string())?;
    Ok((pem_encode("CERTIFICATE", &der), key_pem(signee)?))
}

fn creating(r: Result<(String, String), String>) -> Result<Value, FuncError> {
    r.map(|(c, k)| cert_value(c, k))
        .map_err(|e| FuncError::Call(format!("error creating certificate: {e}")))
}

fn gen_ca(cn: &str, days: i64, key: &PrivKey) -> Result<Value, FuncError> {
    let mut t = CertTemplate::new(cn, &Value::Nil, &Value::Nil, days).map_err(FuncError::Call)?;
    t.is_ca = true;
    creating(cert_and_key(&t, key, None))
}

fn gen_self_signed(t: &[Value], key: &PrivKey) -> Result<Value, FuncError> {
    let t = CertTemplate::new(s(&t[0]), &t[1], &t[2], i(&t[3])).map_err(FuncError::Call)?;
    creating(cert_and_key(&t, key, None))
}

fn gen_signed(a: &[Value], key: &PrivKey) -> Result<Value, FuncError> {
    let (ca_cert, ca_key) = cert_arg(&a[4])?;
    let (_, der) = pem_decode(&ca_cert).ok_or("unable to decode certificate")?;
    let parent = Certificate::from_der(&der).map_err(
        |_| "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate",
    )?;
    let signer = parse_key_pem(&ca_key).map_err(|e| format!("error parsing private key: {e}"))?;
    let t = CertTemplate::new(s(&a[0]), &a[1], &a[2], i(&a[3])).map_err(FuncError::Call)?;
    creating(cert_and_key(&t, key, Some((&parent, &signer))))
}

fn rsa_2048() -> Result<PrivKey, FuncError> {
    gen_rsa(2048).map_err(|e| FuncError::Call(format!("error generating rsa key: {e}")))
}

fn key_arg(v: &Value) -> Result<PrivKey, FuncError> {
    parse_key_pem(s(v)).map_err(|e| FuncError::Call(format!("parsing private key: {e}")))
}

fn build_custom_cert(cert64: &str, key64: &str) -> Result<Value, FuncError> {
    let cert = go_b64_decode(cert64).map_err(|_| "unable to decode base64 certificate")?;
    let key = go_b64_decode(key64).map_err(|_| "unable to decode base64 private key")?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let (_, der) = pem_decode(&cert).ok_or("unable to decode certificate")?;
    Certificate::from_der(&der)
        .map_err(|_| "error parsing certificate: decodedCert.Bytes: x509: malformed certificate")?;
    parse_key_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(cert_value(cert, key))
}

// ---------------------------------------------------------------- passwords

/// Go's `base64.StdEncoding.DecodeString`; the error is the offset Go's
/// `CorruptInputError` reports.
fn go_b64_decode(text: &str) -> Result<Vec<u8>, usize> {
    let src = text.as_bytes();
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let skip_nl = |mut si: usize| {
        while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
            si += 1;
        }
        si
    };
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    loop {
        let mut quad = [0u8; 4];
        let mut have = 4;
        let mut done = false;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = val(c) {
                quad[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                si = skip_nl(si);
                if si == src.len() {
                    return Err(src.len());
                }
                if src[si] != b'=' {
                    return Err(si - 1);
                }
                si += 1;
            }
            si = skip_nl(si);
            if si < src.len() {
                return Err(si);
            }
            have = j;
            done = true;
            break;
        }
        let v = quad.iter().fold(0u32, |acc, q| (acc << 6) | u32::from(*q));
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..have - 1]);
        if done {
            return Ok(out);
        }
    }
}

/// Sprig's `bcrypt`: cost 10, `$2a$`; failures are reported in the output.
fn bcrypt_hash(password: &str) -> String {
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    match bcrypt::hash_with_salt(password, 10, salt) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

const MP_SEED: &[u8] = b"com.lyndir.masterpassword";

/// Master Password templates per password type.
fn mp_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn mp_chars(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// The Master Password algorithm (v3 key derivation) as Sprig implements it.
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = mp_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MP_SEED.to_vec();
    salt.extend((user.len() as u32).to_be_bytes());
    salt.extend(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            scrypt::scrypt(password.as_bytes(), &salt, &p, &mut key).map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password: invalid key length".into();
    };
    mac.update(MP_SEED);
    mac.update(&(site.len() as u32).to_be_bytes());
    mac.update(site.as_bytes());
    mac.update(&counter.to_be_bytes());
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(k, class)| {
            let chars = mp_chars(class);
            chars[usize::from(seed[k + 1]) % chars.len()] as char
        })
        .collect()
}

// ---------------------------------------------------------------- AES

/// Sprig's key: the password's bytes, zero-padded or cut to 32 (AES-256).
fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    key
}

/// Sprig's `encryptAES`: AES-256-CBC, PKCS#7 padding, random IV first,
/// standard base64.
fn encrypt_aes(password: &str, plaintext: &str) -> String {
    use aes::cipher::{BlockEncryptMut as _, KeyIvInit as _, block_padding::NoPadding};
    if plaintext.is_empty() {
        return String::new();
    }
    let pad = 16 - plaintext.len() % 16;
    let mut buf = vec![0u8; 16 + plaintext.len() + pad];
    OsRng.fill_bytes(&mut buf[..16]);
    buf[16..16 + plaintext.len()].copy_from_slice(plaintext.as_bytes());
    buf[16 + plaintext.len()..].fill(pad as u8);
    let (iv, body) = buf.split_at_mut(16);
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), (&*iv).into());
    let n = body.len();
    // The body is a whole number of blocks, so this cannot fail.
    let _ = enc.encrypt_padded_mut::<NoPadding>(body, n);
    base64::engine::general_purpose::STANDARD.encode(&buf)
}

/// Sprig's `decryptAES`. Malformed input fails with the texts of the Go
/// runtime panics Sprig's code hits (it does not validate the padding).
fn decrypt_aes(password: &str, text: &str) -> Result<String, FuncError> {
    use aes::cipher::{BlockDecryptMut as _, KeyIvInit as _, block_padding::NoPadding};
    if text.is_empty() {
        return Ok(String::new());
    }
    let mut data = go_b64_decode(text)
        .map_err(|at| FuncError::Call(format!("illegal base64 data at input byte {at}")))?;
    if data.len() < 16 {
        // Go slices the decode buffer, whose capacity is the decoded size
        // the input's length allows.
        let capacity = text.len() / 4 * 3;
        return Err(FuncError::Call(if capacity < 16 {
            format!("runtime error: slice bounds out of range [:16] with capacity {capacity}")
        } else {
            format!(
                "runtime error: slice bounds out of range [16:{}]",
                data.len()
            )
        }));
    }
    let (iv, body) = data.split_at_mut(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let Some(&last) = body.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), (&*iv).into());
    let _ = dec.decrypt_padded_mut::<NoPadding>(body);
    let last = body.last().copied().unwrap_or(last);
    let keep = body.len() as i64 - i64::from(last);
    if keep < 0 {
        return Err(FuncError::Call(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        )));
    }
    Ok(String::from_utf8_lossy(&body[..keep as usize]).into_owned())
}

// ---------------------------------------------------------------- registration

pub(super) fn register(m: &mut FuncMap) {
    use Ty::{Any, Int, List, Str};
    m.add("bcrypt", sig(&[Str]), |a| {
        Ok(Value::from(bcrypt_hash(s(&a[0]))))
    });
    m.add("htpasswd", sig(&[Str, Str]), |a| {
        let user = s(&a[0]);
        Ok(Value::from(if user.contains(':') {
            format!("invalid username: {user}")
        } else {
            format!("{user}:{}", bcrypt_hash(s(&a[1])))
        }))
    });
    m.add("derivePassword", sig(&[Int, Str, Str, Str, Str]), |a| {
        let n = i(&a[0]);
        if n < 0 {
            return Err(FuncError::Exec(format!(
                "expected unsigned integer; found {n}"
            )));
        }
        // Go stores the constant into a uint32, dropping the high bits.
        let counter = n as u32;
        Ok(Value::from(derive_password(
            counter,
            s(&a[1]),
            s(&a[2]),
            s(&a[3]),
            s(&a[4]),
        )))
    });
    m.add("genPrivateKey", sig(&[Str]), |a| {
        let typ = s(&a[0]);
        let key = match typ {
            "" | "rsa" => gen_rsa(4096),
            "dsa" => return Ok(Value::from(gen_dsa_pem())),
            "ecdsa" => Ok(PrivKey::P256(p256::SecretKey::random(&mut OsRng))),
            "ed25519" => {
                let mut seed = [0u8; 32];
                OsRng.fill_bytes(&mut seed);
                Ok(PrivKey::Ed25519(Box::new(
                    ed25519_dalek::SigningKey::from_bytes(&seed),
                )))
            }
            _ => return Ok(Value::from(format!("Unknown type {typ}"))),
        };
        Ok(Value::from(match key.and_then(|k| key_pem(&k)) {
            Ok(pem) => pem,
            Err(e) => format!("failed to generate private key: {e}"),
        }))
    });
    m.add("buildCustomCert", sig(&[Str, Str]), |a| {
        build_custom_cert(s(&a[0]), s(&a[1]))
    });
    m.add("genCA", sig(&[Str, Int]), |a| {
        gen_ca(s(&a[0]), i(&a[1]), &rsa_2048()?)
    });
    m.add("genCAWithKey", sig(&[Str, Int, Str]), |a| {
        gen_ca(s(&a[0]), i(&a[1]), &key_arg(&a[2])?)
    });
    m.add("genSelfSignedCert", sig(&[Str, List, List, Int]), |a| {
        gen_self_signed(a, &rsa_2048()?)
    });
    m.add(
        "genSelfSignedCertWithKey",
        sig(&[Str, List, List, Int, Str]),
        |a| gen_self_signed(a, &key_arg(&a[4])?),
    );
    m.add("genSignedCert", sig(&[Str, List, List, Int, Any]), |a| {
        cert_arg(&a[4])?;
        gen_signed(a, &rsa_2048()?)
    });
    m.add(
        "genSignedCertWithKey",
        sig(&[Str, List, List, Int, Any, Str]),
        |a| {
            cert_arg(&a[4])?;
            gen_signed(a, &key_arg(&a[5])?)
        },
    );
    m.add("encryptAES", sig(&[Str, Str]), |a| {
        Ok(Value::from(encrypt_aes(s(&a[0]), s(&a[1]))))
    });
    m.add("decryptAES", sig(&[Str, Str]), |a| {
        decrypt_aes(s(&a[0]), s(&a[1])).map(Value::from)
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_errors_are_gos() {
        assert_eq!(go_b64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(go_b64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(go_b64_decode("YQ==\n").unwrap(), b"a");
        assert_eq!(go_b64_decode("YW\nJj").unwrap(), b"abc");
        assert_eq!(go_b64_decode("abc"), Err(0));
        assert_eq!(go_b64_decode("a"), Err(0));
        assert_eq!(go_b64_decode("ab=c"), Err(2));
        assert_eq!(go_b64_decode("YWJj===="), Err(4));
        assert_eq!(go_b64_decode("YW Jj"), Err(2));
    }

    #[test]
    fn aes_round_trips() {
        for text in ["x", "exactly sixteen!", "a longer secret spanning blocks"] {
            let c = encrypt_aes("pw", text);
            assert_eq!(decrypt_aes("pw", &c).unwrap(), text);
            assert_ne!(encrypt_aes("pw", text), c, "IV is random");
        }
        assert_eq!(encrypt_aes("pw", ""), "");
    }

    #[test]
    fn pem_reads_what_it_writes() {
        let pem = pem_encode("THING", &[7u8; 100]);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let (label, der) = pem_decode(&format!("junk\n{pem}")).unwrap();
        assert_eq!((label.as_str(), der), ("THING", vec![7u8; 100]));
        assert!(pem_decode("no pem").is_none());
    }
}
