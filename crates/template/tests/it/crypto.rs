//! Sprig's crypto functions whose results are random (keys, certificates,
//! bcrypt salts, AES IVs): each case of `golden/crypto_shapes.txt` is run
//! here and its output described field by field, with every random part
//! checked (signatures verify along the chain, key identifiers derive from
//! the keys, keys match their certificates, hashes verify) and left out of
//! the description. The description must equal that of Helm's output for
//! the same template.

use std::fs;

use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _, EncodeRsaPrivateKey as _};
use rsa::signature::Verifier as _;
use sha2::Digest as _;
use trellis_template::{Map, Templates, Value, sprig};
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::time::Time;

use crate::golden::{dir, parse_cases};

const NAME: &str = "golden/templates/case.yaml";

fn render(template: &str) -> String {
    let mut t = Templates::new(NAME);
    t.funcs(&sprig::funcs());
    t.parse(NAME, template).unwrap();
    t.execute(NAME, &Value::map(Map::new())).unwrap()
}

fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label = &after[..after.find("-----").unwrap()];
        let body_start = after.find('\n').unwrap() + 1;
        let end = after.find(&format!("-----END {label}-----\n")).unwrap();
        let body: String = after[body_start..end].split_whitespace().collect();
        // Go's layout: 64-column lines.
        assert!(after[body_start..end].lines().all(|l| l.len() <= 64));
        out.push((
            label.to_string(),
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        ));
        rest = &after[end..];
        rest = &rest[rest.find('\n').unwrap() + 1..];
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Reads one DER TLV: (tag, content, rest).
fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, hdr) = if input[1] < 0x80 {
        (usize::from(input[1]), 2)
    } else {
        let n = usize::from(input[1] & 0x7f);
        let len = input[2..2 + n]
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, 2 + n)
    };
    (tag, &input[hdr..hdr + len], &input[hdr + len..])
}

fn skid(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id.to_string() == "2.5.29.14")
        .map(|e| tlv(e.extn_value.as_bytes()).1.to_vec())
}

/// Checks `cert`'s signature with the issuer's public key.
fn verify_signature(cert: &Certificate, issuer: &Certificate) {
    let tbs = cert.tbs_certificate.to_der().unwrap();
    let sig = cert.signature.raw_bytes();
    let spki = &issuer.tbs_certificate.subject_public_key_info;
    let key = spki.subject_public_key.raw_bytes();
    match cert.signature_algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.11" => {
            let pk = rsa::RsaPublicKey::from_pkcs1_der(key).unwrap();
            let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(pk);
            let sig = rsa::pkcs1v15::Signature::try_from(sig).unwrap();
            vk.verify(&tbs, &sig).unwrap();
        }
        "1.2.840.10045.4.3.2" => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key).unwrap();
            let sig = p256::ecdsa::Signature::from_der(sig).unwrap();
            vk.verify(&tbs, &sig).unwrap();
        }
        "1.2.840.10045.4.3.3" => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key).unwrap();
            let sig = p384::ecdsa::Signature::from_der(sig).unwrap();
            vk.verify(&tbs, &sig).unwrap();
        }
        "1.3.101.112" => {
            let vk = ed25519_dalek::VerifyingKey::try_from(key).unwrap();
            let sig = ed25519_dalek::Signature::from_slice(sig).unwrap();
            vk.verify(&tbs, &sig).unwrap();
        }
        other => panic!("unexpected signature algorithm {other}"),
    }
}

fn time_kind(t: &Time) -> &'static str {
    match t {
        Time::UtcTime(_) => "UTCTime",
        Time::GeneralTime(_) => "GeneralizedTime",
    }
}

/// A certificate's fields, random parts checked and left out.
fn describe_cert(cert: &Certificate, seen: &[Certificate]) -> Vec<String> {
    let tbs = &cert.tbs_certificate;
    let mut d = vec![format!("version {:?}", tbs.version)];
    let serial = tbs.serial_number.as_bytes();
    assert!(
        !serial.is_empty() && serial.len() <= 17,
        "serial of 128 bits"
    );
    assert_eq!(tbs.signature, cert.signature_algorithm);
    d.push(format!(
        "signature {} params {:?}",
        cert.signature_algorithm.oid,
        cert.signature_algorithm
            .parameters
            .as_ref()
            .map(|p| hex(&p.to_der().unwrap()))
    ));
    d.push(format!("issuer {}", hex(&tbs.issuer.to_der().unwrap())));
    d.push(format!("subject {}", hex(&tbs.subject.to_der().unwrap())));
    let v = &tbs.validity;
    d.push(format!(
        "validity {} {} {}s",
        time_kind(&v.not_before),
        time_kind(&v.not_after),
        v.not_after.to_unix_duration().as_secs() as i64
            - v.not_before.to_unix_duration().as_secs() as i64
    ));
    let spki = &tbs.subject_public_key_info;
    let key_bits = spki.subject_public_key.raw_bytes();
    let size = match spki.algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => {
            use rsa::traits::PublicKeyParts as _;
            rsa::RsaPublicKey::from_pkcs1_der(key_bits).unwrap().size() * 8
        }
        _ => key_bits.len(),
    };
    d.push(format!(
        "key {} params {:?} size {size}",
        spki.algorithm.oid,
        spki.algorithm
            .parameters
            .as_ref()
            .map(|p| hex(&p.to_der().unwrap()))
    ));
    // The issuer is an earlier certificate of the output, or the cert itself.
    let issuer = seen
        .iter()
        .find(|c| c.tbs_certificate.subject == tbs.issuer)
        .unwrap_or(cert);
    verify_signature(cert, issuer);
    for e in tbs.extensions.iter().flatten() {
        let oid = e.extn_id.to_string();
        let value = e.extn_value.as_bytes();
        let shown = match oid.as_str() {
            "2.5.29.14" => {
                let id = tlv(value).1;
                // RFC 7093: leftmost 160 bits of SHA-256 of the key bits.
                assert_eq!(id, &sha2::Sha256::digest(key_bits)[..20]);
                format!("keyid({})", id.len())
            }
            "2.5.29.35" => {
                let inner = tlv(tlv(value).1);
                assert_eq!(inner.0, 0x80);
                assert_eq!(
                    Some(inner.1.to_vec()),
                    skid(issuer),
                    "AKID is the issuer's SKID"
                );
                format!("issuer keyid({})", inner.1.len())
            }
            _ => hex(value),
        };
        d.push(format!("ext {oid} critical {} {shown}", e.critical));
    }
    d
}

/// The public key bits a private key has in a certificate, and a description.
fn describe_key(label: &str, der: &[u8]) -> (Option<Vec<u8>>, String) {
    match label {
        "RSA PRIVATE KEY" => {
            use rsa::traits::PublicKeyParts as _;
            let k = rsa::RsaPrivateKey::from_pkcs1_der(der).unwrap();
            k.validate().unwrap();
            // Go's PKCS#1 layout is the canonical one.
            assert_eq!(k.to_pkcs1_der().unwrap().as_bytes(), der);
            let public = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&k.to_public_key()).unwrap();
            (
                Some(public.as_bytes().to_vec()),
                format!("rsa {} e {:?}", k.size() * 8, k.e().to_bytes_be()),
            )
        }
        "EC PRIVATE KEY" => {
            use p256::elliptic_curve::sec1::ToEncodedPoint as _;
            let (_, body, _) = tlv(der);
            let (_, _version, rest) = tlv(body);
            let (_, scalar, rest) = tlv(rest);
            let (_, params, rest) = tlv(rest);
            let (_, public, _) = tlv(rest);
            let curve = hex(params);
            let point = if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
                k.public_key().to_encoded_point(false).as_bytes().to_vec()
            } else {
                let k = p384::SecretKey::from_sec1_der(der).unwrap();
                k.public_key().to_encoded_point(false).as_bytes().to_vec()
            };
            let bits = tlv(public).1;
            assert_eq!(&bits[1..], point, "public key matches the scalar");
            (
                Some(point),
                format!(
                    "ec curve {curve} scalar {} public {}",
                    scalar.len(),
                    bits.len()
                ),
            )
        }
        "PRIVATE KEY" => {
            assert_eq!(hex(&der[..16]), "302e020100300506032b657004220420");
            let seed: [u8; 32] = der[16..].try_into().unwrap();
            let k = ed25519_dalek::SigningKey::from_bytes(&seed);
            (
                Some(k.verifying_key().to_bytes().to_vec()),
                "ed25519 pkcs8 v1".into(),
            )
        }
        "DSA PRIVATE KEY" => {
            let (_, mut body, _) = tlv(der);
            let mut ints = Vec::new();
            while !body.is_empty() {
                let (tag, v, rest) = tlv(body);
                assert_eq!(tag, 0x02);
                ints.push(dsa::BigUint::from_bytes_be(v));
                body = rest;
            }
            let [version, p, q, g, y, x] = <[dsa::BigUint; 6]>::try_from(ints).unwrap();
            assert_eq!(g.modpow(&x, &p), y, "y = g^x mod p");
            let c = dsa::Components::from_components(p.clone(), q.clone(), g).unwrap();
            let vk = dsa::VerifyingKey::from_components(c, y).unwrap();
            let _ = dsa::SigningKey::from_components(vk, x).unwrap();
            (
                None,
                format!("dsa v{version} p {} q {}", p.bits(), q.bits()),
            )
        }
        other => panic!("unexpected PEM block {other}"),
    }
}

/// The description of an output made of PEM blocks.
fn describe_pem(out: &str) -> Vec<String> {
    let mut d = Vec::new();
    let mut seen: Vec<Certificate> = Vec::new();
    let mut last_cert_key: Option<Vec<u8>> = None;
    for (label, der) in pem_blocks(out) {
        d.push(format!("-- {label}"));
        if label == "CERTIFICATE" {
            let cert = Certificate::from_der(&der).unwrap();
            assert_eq!(cert.to_der().unwrap(), der, "DER round-trips");
            d.extend(describe_cert(&cert, &seen));
            last_cert_key = Some(
                cert.tbs_certificate
                    .subject_public_key_info
                    .subject_public_key
                    .raw_bytes()
                    .to_vec(),
            );
            seen.push(cert);
        } else {
            let (public, text) = describe_key(&label, &der);
            if let (Some(cert_key), Some(public)) = (last_cert_key.take(), public) {
                assert_eq!(cert_key, public, "the key is the certificate's");
            }
            d.push(text);
        }
    }
    assert!(!d.is_empty(), "no PEM in {out:?}");
    d
}

fn check_bcrypt_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(|line| {
            let (user, hash) = match line.split_once(':') {
                Some((u, h)) => (format!("{u}:"), h),
                None => (String::new(), line),
            };
            assert_eq!(hash.len(), 60);
            let password = if hash == line && bcrypt::verify("", hash).unwrap() {
                ""
            } else {
                "secret"
            };
            assert!(bcrypt::verify(password, hash).unwrap(), "{line}");
            format!("{user}{} for {password:?}", &hash[..7])
        })
        .collect()
}

fn describe(case: &str, out: &str) -> Vec<String> {
    match case {
        "bcrypt" => check_bcrypt_lines(out),
        // Ciphertexts are described by what our decryptAES makes of them.
        "encrypt_aes" => vec![render(&format!(
            r#"{{{{ decryptAES "secretkey" "{out}" }}}}"#
        ))],
        _ => describe_pem(out),
    }
}

#[test]
fn random_outputs_have_helms_shape() {
    let text = fs::read_to_string(dir().join("crypto_shapes.txt")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir().join("crypto_shapes.expected.json")).unwrap(),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for case in parse_cases(&text) {
        let helm = expected[&case.name]["out"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no Helm output", case.name));
        let ours = render(&case.template);
        let want = describe(&case.name, helm);
        let got = describe(&case.name, &ours);
        assert_eq!(got, want, "{}: ours\n{ours}", case.name);
        assert_ne!(ours, helm, "{}: random parts differ", case.name);
        for (label, der) in pem_blocks(&ours) {
            if label == "CERTIFICATE" {
                let cert = Certificate::from_der(&der).unwrap();
                let nb = cert.tbs_certificate.validity.not_before.to_unix_duration();
                assert!(
                    now.abs_diff(nb.as_secs()) < 120,
                    "{}: starts now",
                    case.name
                );
            }
        }
    }
}

#[test]
fn encrypt_aes_output_decrypts_and_varies() {
    let out = render(
        r#"{{ $c := encryptAES "k" "payload" }}{{ len $c }} {{ decryptAES "k" $c }} {{ eq $c (encryptAES "k" "payload") }}"#,
    );
    // IV (16) and one padded block (16), in base64.
    assert_eq!(out, "44 payload false");
}
