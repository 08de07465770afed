//! The signature defences, each against the attack it stops: a token that passes only because
//! one of these checks is missing makes its test fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ferrocenter_core::ports::{
    Assertion, Confirmation, SigningIdentity, TokenCrypto, TokenCryptoError,
};
use time::{Duration, OffsetDateTime};

use crate::XmlSecTokens;

fn identity() -> SigningIdentity {
    XmlSecTokens.generate_identity("vsphere.local").unwrap()
}

fn assertion(subject: &str) -> Assertion {
    let now = OffsetDateTime::now_utc();
    Assertion {
        id: format!("_{}", now.unix_timestamp_nanos()),
        issuer: "urn:ferrocenter:sso:vsphere.local".into(),
        subject: subject.into(),
        domain: "vsphere.local".into(),
        groups: vec!["vsphere.local\\Administrators".into()],
        issued_at: now,
        not_before: now,
        not_on_or_after: now + Duration::minutes(5),
        audiences: vec!["urn:vc".into()],
        confirmation: Confirmation::Bearer,
        renewable: true,
        delegatable: true,
        delegate: None,
    }
}

fn signed(subject: &str, key: &SigningIdentity) -> String {
    XmlSecTokens.sign(&assertion(subject), key).unwrap()
}

fn refused(r: Result<Assertion, TokenCryptoError>) -> TokenCryptoError {
    match r {
        Ok(a) => panic!("accepted a forged token for {}", a.subject),
        Err(e) => e,
    }
}

#[test]
fn a_signed_token_verifies_and_reads_back() {
    let key = identity();
    let mut a = assertion("alice@vsphere.local");
    a.confirmation = Confirmation::HolderOfKey {
        certificate_der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
    };
    a.delegate = Some("svc@vsphere.local".into());
    let xml = XmlSecTokens.sign(&a, &key).unwrap();
    let back = XmlSecTokens
        .verify(&xml, std::slice::from_ref(&key.cert_pem))
        .unwrap();
    // Times are written to the millisecond.
    assert_eq!(back.subject, a.subject);
    assert_eq!(back.groups, a.groups);
    assert_eq!(back.audiences, a.audiences);
    assert_eq!(back.confirmation, a.confirmation);
    assert_eq!(back.delegate, a.delegate);
    assert!(back.renewable && back.delegatable);
    assert_eq!(
        back.not_on_or_after.unix_timestamp(),
        a.not_on_or_after.unix_timestamp()
    );
    assert!(xml.contains("xml-exc-c14n#"));
}

#[test]
fn an_unsigned_token_is_refused() {
    let key = identity();
    let xml = signed("alice@vsphere.local", &key);
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &xml[..start], &xml[end..]);
    let e = refused(XmlSecTokens.verify(&unsigned, &[key.cert_pem]));
    assert!(matches!(e, TokenCryptoError::BadSignature(_)), "{e:?}");
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    let ours = identity();
    let theirs = identity();
    let xml = signed("administrator@vsphere.local", &theirs);
    let e = refused(XmlSecTokens.verify(&xml, &[ours.cert_pem]));
    assert!(matches!(e, TokenCryptoError::BadSignature(_)), "{e:?}");
}

#[test]
fn a_tampered_token_is_refused() {
    let key = identity();
    let xml = signed("alice@vsphere.local", &key).replace("alice@", "administrator@");
    let e = refused(XmlSecTokens.verify(&xml, &[key.cert_pem]));
    assert!(matches!(e, TokenCryptoError::BadSignature(_)), "{e:?}");
}

#[test]
fn a_comment_inside_the_name_id_is_refused() {
    // Exclusive C14N drops comments, so the signature still verifies over
    // "alice@vsphere.local.evil"; a reader taking the first text node would see another name.
    let key = identity();
    let xml = signed("alice@vsphere.local.evil", &key).replace(
        "alice@vsphere.local.evil",
        "alice@vsphere.local<!---->.evil",
    );
    let e = refused(XmlSecTokens.verify(&xml, &[key.cert_pem]));
    assert!(matches!(e, TokenCryptoError::Malformed(_)), "{e:?}");
}

#[test]
fn a_second_assertion_wrapping_the_signed_one_is_refused() {
    let key = identity();
    let good = signed("alice@vsphere.local", &key);
    // The attacker's assertion names administrator and carries the genuine, signed one in its
    // Advice; the genuine signature still verifies over the inner assertion.
    let evil = XmlSecTokens
        .sign(&assertion("administrator@vsphere.local"), &identity())
        .unwrap();
    let sig_start = evil.find("<ds:Signature").unwrap();
    let sig_end = evil.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let wrapped = format!(
        "{}<saml2:Advice>{}</saml2:Advice>{}",
        &evil[..sig_start],
        &good,
        &evil[sig_end..]
    );
    let e = refused(XmlSecTokens.verify(&wrapped, &[key.cert_pem]));
    assert!(matches!(e, TokenCryptoError::BadSignature(_)), "{e:?}");
}

#[test]
fn a_signature_moved_into_another_assertion_is_refused() {
    let key = identity();
    let good = signed("alice@vsphere.local", &key);
    let id_of = |x: &str| {
        let s = x.find(" ID=\"").unwrap() + 5;
        x[s..s + x[s..].find('"').unwrap()].to_string()
    };
    let good_id = id_of(&good);
    // The attacker's assertion takes the genuine one's ID and its signature; the genuine one
    // rides along in Advice so the reference could resolve to it.
    let mut evil = assertion("administrator@vsphere.local");
    evil.id = good_id.clone();
    let evil_xml = XmlSecTokens.sign(&evil, &identity()).unwrap();
    let sig = |x: &str| {
        let s = x.find("<ds:Signature").unwrap();
        let e = x.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        (s, e)
    };
    let (gs, ge) = sig(&good);
    let (es, ee) = sig(&evil_xml);
    let moved = format!(
        "{}{}<saml2:Advice>{}</saml2:Advice>{}",
        &evil_xml[..es],
        &good[gs..ge],
        &good,
        &evil_xml[ee..]
    );
    let e = refused(XmlSecTokens.verify(&moved, &[key.cert_pem]));
    assert!(
        matches!(
            e,
            TokenCryptoError::Malformed(_) | TokenCryptoError::BadSignature(_)
        ),
        "{e:?}"
    );
}

#[test]
fn a_signature_referencing_another_element_is_refused() {
    let key = identity();
    let good = signed("alice@vsphere.local", &key);
    // The attacker's assertion carries the genuine signature, whose reference names the
    // genuine assertion nested in Advice under its own ID, not the outer assertion.
    let mut evil = assertion("administrator@vsphere.local");
    evil.id = "_evil".into();
    let evil_xml = XmlSecTokens.sign(&evil, &identity()).unwrap();
    let (gs, ge) = (
        good.find("<ds:Signature").unwrap(),
        good.find("</ds:Signature>").unwrap() + "</ds:Signature>".len(),
    );
    let (es, ee) = (
        evil_xml.find("<ds:Signature").unwrap(),
        evil_xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len(),
    );
    let forged = format!(
        "{}{}<saml2:Advice>{}</saml2:Advice>{}",
        &evil_xml[..es],
        &good[gs..ge],
        &good,
        &evil_xml[ee..]
    );
    let e = refused(XmlSecTokens.verify(&forged, &[key.cert_pem]));
    assert!(matches!(e, TokenCryptoError::BadSignature(_)), "{e:?}");
}

#[test]
fn a_document_type_is_refused() {
    let key = identity();
    let xml = format!(
        "<!DOCTYPE x [<!ENTITY e \"administrator\">]>{}",
        signed("alice@vsphere.local", &key)
    );
    let e = refused(XmlSecTokens.verify(&xml, &[key.cert_pem]));
    assert!(matches!(e, TokenCryptoError::Malformed(_)), "{e:?}");
}
