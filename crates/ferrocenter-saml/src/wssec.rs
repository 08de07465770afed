//! WS-Security request signatures (the proof of possession of a holder-of-key): a
//! `ds:Signature` in the `wsse:Security` header over the SOAP Body and the `wsu:Timestamp`,
//! made with the key of a certificate the request carries — a `BinarySecurityToken`
//! (pyVmomi's token requests) or the holder-of-key certificate of a SAML assertion in the same
//! header (`KeyIdentifier` of type SAMLID, pyVmomi's `add_saml_context`).
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ferrocenter_core::ports::{PresentedToken, RequestSignature};
use libxml::tree::{Document, Node};
use time::{Duration, OffsetDateTime};

use crate::assertion::{confirmation_certificate, parse_time};
use crate::dom::{self, NS_DS, NS_SAML, NS_SOAP, NS_WSSE, NS_WSU};
use crate::dsig::{self, ECDSA_SHA256, RSA_SHA256, RSA_SHA512};

/// How far a request's Timestamp may be off this server's clock.
pub const TIMESTAMP_TOLERANCE: Duration = Duration::minutes(5);

/// The `wsse:Security` header of an envelope, if any.
pub fn security_header(envelope: &Node) -> Result<Option<Node>, String> {
    match dom::optional_child(envelope, NS_SOAP, "Header")? {
        Some(h) => dom::optional_child(&h, NS_WSSE, "Security"),
        None => Ok(None),
    }
}

/// The certificate (DER) whose key signed the request, after checking that the signature
/// covers the Body (and the Timestamp, which must be current); `None` for an unsigned request.
pub fn verify_request(
    doc: &Document,
    envelope: &Node,
    now: OffsetDateTime,
) -> Result<Option<Vec<u8>>, String> {
    Ok(request_signature(doc, envelope, now)?.map(|s| s.certificate_der))
}

/// The request's signature once it verified: [`verify_request`] with the signature's value
/// and the Timestamp's end, which a relying party needs to refuse the same request twice.
fn request_signature(
    doc: &Document,
    envelope: &Node,
    now: OffsetDateTime,
) -> Result<Option<RequestSignature>, String> {
    let Some(security) = security_header(envelope)? else {
        return Ok(None);
    };
    let Some(sig) = dom::optional_child(&security, NS_DS, "Signature")? else {
        return Ok(None);
    };
    let body = dom::only_child(envelope, NS_SOAP, "Body")?;
    let body_id = dsig::register_id(doc, &body, "Id", Some(NS_WSU))?;
    let timestamp = dom::optional_child(&security, NS_WSU, "Timestamp")?;
    let (ts_id, accepted_until) = match &timestamp {
        Some(ts) => {
            let id = dsig::register_id(doc, ts, "Id", Some(NS_WSU))?;
            let expires = parse_time(&dom::text(&dom::only_child(ts, NS_WSU, "Expires")?)?)?;
            if expires + TIMESTAMP_TOLERANCE <= now {
                return Err("the request's Timestamp has expired".into());
            }
            if let Some(c) = dom::optional_child(ts, NS_WSU, "Created")? {
                if parse_time(&dom::text(&c)?)? > now + TIMESTAMP_TOLERANCE {
                    return Err("the request's Timestamp is in the future".into());
                }
            }
            (Some(id), Some(expires + TIMESTAMP_TOLERANCE))
        }
        None => (None, None),
    };
    let refs = dsig::check_signed_info(&sig, &[RSA_SHA256, RSA_SHA512, ECDSA_SHA256])?;
    if !refs.contains(&body_id) {
        return Err("the request's signature does not cover the Body".into());
    }
    if let Some(ts) = &ts_id {
        if !refs.contains(ts) {
            return Err("the request's signature does not cover the Timestamp".into());
        }
    }
    if refs
        .iter()
        .any(|r| *r != body_id && Some(r) != ts_id.as_ref())
    {
        return Err(
            "the request's signature references something other than Body and Timestamp".into(),
        );
    }
    let cert = signing_certificate(doc, &security, &sig)?;
    dsig::verify(&sig, dsig::cert_key_der(&cert)?)?;
    let value: String = dom::text(&dom::only_child(&sig, NS_DS, "SignatureValue")?)?
        .split_whitespace()
        .collect();
    Ok(Some(RequestSignature {
        certificate_der: cert,
        value,
        accepted_until,
    }))
}

/// Reads the token a SOAP envelope presents and checks the request's signature (Body and
/// Timestamp, with the token's holder-of-key certificate). `Ok(None)`: no token. The token
/// itself is not verified here: the core does that (`Core::login_by_token`).
pub fn presented_token(
    envelope_xml: &str,
    now: OffsetDateTime,
) -> Result<Option<PresentedToken>, String> {
    let doc = dom::parse(envelope_xml)?;
    let env = doc
        .get_root_element()
        .filter(|r| dom::is(r, NS_SOAP, "Envelope"))
        .ok_or("not a SOAP 1.1 Envelope")?;
    let Some(security) = security_header(&env)? else {
        return Ok(None);
    };
    let Some(token) = dom::optional_child(&security, NS_SAML, "Assertion")? else {
        return Ok(None);
    };
    let signature = request_signature(&doc, &env, now)?;
    Ok(Some(PresentedToken {
        assertion_xml: doc.node_to_string(&token),
        signature,
    }))
}

/// The certificate the signature's KeyInfo names, from the same Security header.
fn signing_certificate(doc: &Document, security: &Node, sig: &Node) -> Result<Vec<u8>, String> {
    let ki = dom::only_child(sig, NS_DS, "KeyInfo")?;
    let str_ = dom::only_child(&ki, NS_WSSE, "SecurityTokenReference")?;
    if let Some(r) = dom::optional_child(&str_, NS_WSSE, "Reference")? {
        let uri = r.get_property_no_ns("URI").unwrap_or_default();
        let id = uri
            .strip_prefix('#')
            .ok_or("the key reference is not to this message")?;
        let bst = dom::children(security, NS_WSSE, "BinarySecurityToken")
            .into_iter()
            .find(|b| b.get_property_ns("Id", NS_WSU).as_deref() == Some(id))
            .ok_or("the referenced BinarySecurityToken is missing")?;
        let b64: String = dom::text(&bst)?.split_whitespace().collect();
        return B64
            .decode(b64)
            .map_err(|_| "the BinarySecurityToken is not base64".into());
    }
    let kid = dom::only_child(&str_, NS_WSSE, "KeyIdentifier")?;
    let id = dom::text(&kid)?;
    let token = dom::children(security, NS_SAML, "Assertion")
        .into_iter()
        .find(|a| a.get_property_no_ns("ID").as_deref() == Some(id.as_str()))
        .ok_or("the referenced SAML assertion is missing")?;
    confirmation_certificate(&doc.node_to_string(&token))?
        .ok_or_else(|| "the referenced SAML assertion is not holder-of-key".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use ferrocenter_core::ports::{SigningIdentity, TokenCrypto};

    use super::*;
    use crate::assertion::{format_time, pem_body};
    use crate::XmlSecTokens;

    /// A request signed as pyVmomi signs token requests: a BinarySecurityToken with the
    /// certificate, a signature over the listed references made with `signer`'s key.
    fn signed_request(
        signer: &SigningIdentity,
        carried: &SigningIdentity,
        refs: &[&str],
    ) -> String {
        signed_request_with(signer, carried, refs, "")
    }

    /// [`signed_request`] with `token` (a SAML assertion) in the Security header too.
    fn signed_request_with(
        signer: &SigningIdentity,
        carried: &SigningIdentity,
        refs: &[&str],
        token: &str,
    ) -> String {
        let now = OffsetDateTime::now_utc();
        let references: String = refs
            .iter()
            .map(|r| {
                format!(
                    r##"<ds:Reference URI="#{r}"><ds:Transforms><ds:Transform Algorithm="{}"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>"##,
                    dom::EXC_C14N
                )
            })
            .collect();
        let xml = format!(
            concat!(
                r#"<S:Envelope xmlns:S="{soap}"><S:Header><wsse:Security xmlns:wsse="{wsse}" xmlns:wsu="{wsu}">"#,
                r#"<wsu:Timestamp wsu:Id="ts"><wsu:Created>{created}</wsu:Created><wsu:Expires>{expires}</wsu:Expires></wsu:Timestamp>"#,
                r#"<wsse:BinarySecurityToken wsu:Id="bst">{cert}</wsse:BinarySecurityToken>{token}"#,
                r#"<ds:Signature xmlns:ds="{ds}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/>"#,
                r#"<ds:SignatureMethod Algorithm="{ecdsa}"/>{references}</ds:SignedInfo><ds:SignatureValue/>"#,
                r##"<ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#bst"/></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>"##,
                r#"</wsse:Security></S:Header><S:Body xmlns:wsu="{wsu}" wsu:Id="body"><x>hello</x></S:Body></S:Envelope>"#
            ),
            soap = NS_SOAP,
            wsse = NS_WSSE,
            wsu = NS_WSU,
            ds = NS_DS,
            c14n = dom::EXC_C14N,
            ecdsa = ECDSA_SHA256,
            created = format_time(now),
            expires = format_time(now + Duration::minutes(1)),
            cert = pem_body(&carried.cert_pem),
            references = references,
            token = token,
        );
        let doc = dom::parse(&xml).unwrap();
        let env = doc.get_root_element().unwrap();
        let body = dom::only_child(&env, NS_SOAP, "Body").unwrap();
        dsig::register_id(&doc, &body, "Id", Some(NS_WSU)).unwrap();
        let sec = security_header(&env).unwrap().unwrap();
        let ts = dom::only_child(&sec, NS_WSU, "Timestamp").unwrap();
        dsig::register_id(&doc, &ts, "Id", Some(NS_WSU)).unwrap();
        let sig = dom::only_child(&sec, NS_DS, "Signature").unwrap();
        dsig::sign(&sig, dsig::private_key(&signer.key_pem).unwrap()).unwrap();
        doc.node_to_string(&env)
    }

    fn check(xml: &str) -> Result<Option<Vec<u8>>, String> {
        let doc = dom::parse(xml).unwrap();
        let env = doc.get_root_element().unwrap();
        verify_request(&doc, &env, OffsetDateTime::now_utc())
    }

    fn der(id: &SigningIdentity) -> Vec<u8> {
        B64.decode(pem_body(&id.cert_pem)).unwrap()
    }

    #[test]
    fn a_request_signed_with_the_carried_certificates_key_proves_it() {
        let client = XmlSecTokens.generate_identity("client").unwrap();
        let xml = signed_request(&client, &client, &["body", "ts"]);
        assert_eq!(check(&xml).unwrap(), Some(der(&client)));
    }

    #[test]
    fn a_changed_body_is_refused() {
        let client = XmlSecTokens.generate_identity("client").unwrap();
        let xml = signed_request(&client, &client, &["body", "ts"]).replace("hello", "bye");
        assert!(check(&xml).is_err());
    }

    #[test]
    fn a_signature_by_another_key_than_the_carried_certificate_is_refused() {
        let client = XmlSecTokens.generate_identity("client").unwrap();
        let thief = XmlSecTokens.generate_identity("thief").unwrap();
        let xml = signed_request(&thief, &client, &["body", "ts"]);
        assert!(check(&xml).is_err());
    }

    #[test]
    fn a_signature_that_leaves_out_the_body_or_timestamp_is_refused() {
        let client = XmlSecTokens.generate_identity("client").unwrap();
        let e = check(&signed_request(&client, &client, &["ts"])).unwrap_err();
        assert!(e.contains("Body"), "{e}");
        let e = check(&signed_request(&client, &client, &["body"])).unwrap_err();
        assert!(e.contains("Timestamp"), "{e}");
    }

    #[test]
    fn an_expired_timestamp_is_refused() {
        let client = XmlSecTokens.generate_identity("client").unwrap();
        let xml = signed_request(&client, &client, &["body", "ts"]);
        let doc = dom::parse(&xml).unwrap();
        let env = doc.get_root_element().unwrap();
        let later = OffsetDateTime::now_utc() + Duration::minutes(1) + TIMESTAMP_TOLERANCE;
        assert!(verify_request(&doc, &env, later)
            .unwrap_err()
            .contains("expired"));
    }

    #[test]
    fn the_presented_token_comes_with_the_signature_that_proves_and_dates_it() {
        let domain = XmlSecTokens.generate_identity("vsphere.local").unwrap();
        let client = XmlSecTokens.generate_identity("client").unwrap();
        let now = OffsetDateTime::now_utc();
        let token = XmlSecTokens
            .sign(
                &ferrocenter_core::ports::Assertion {
                    id: "_t1".into(),
                    issuer: "urn:ferrocenter:sso:vsphere.local".into(),
                    subject: "administrator@vsphere.local".into(),
                    domain: "vsphere.local".into(),
                    groups: vec![],
                    issued_at: now,
                    not_before: now,
                    not_on_or_after: now + Duration::minutes(5),
                    audiences: vec![],
                    confirmation: ferrocenter_core::ports::Confirmation::Bearer,
                    renewable: false,
                    delegatable: false,
                    delegate: None,
                },
                &domain,
            )
            .unwrap();
        let xml = signed_request_with(&client, &client, &["body", "ts"], &token);
        let p = XmlSecTokens
            .presented_in_envelope(&xml, now)
            .unwrap()
            .expect("a token");
        assert!(p.assertion_xml.contains("_t1"));
        let sig = p.signature.expect("the request's signature");
        assert_eq!(sig.certificate_der, der(&client));
        assert!(!sig.value.is_empty());
        let until = sig.accepted_until.expect("a Timestamp");
        assert!(until > now + TIMESTAMP_TOLERANCE && until <= now + Duration::minutes(7));
        // The same envelope with its Body changed proves nothing: refused, not unsigned.
        assert!(XmlSecTokens
            .presented_in_envelope(&xml.replace("hello", "bye"), now)
            .is_err());
        // No token in the header: nothing presented.
        let bare = signed_request(&client, &client, &["body", "ts"]);
        assert_eq!(XmlSecTokens.presented_in_envelope(&bare, now), Ok(None));
    }
}
