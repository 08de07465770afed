//! SAML 2.0 assertions as vCenter's token service shapes them: written with an enveloped
//! signature template and signed, and read back only after the one signature over the whole
//! assertion verified under a trusted certificate.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ferrocenter_core::ports::{Assertion, Confirmation, SigningIdentity, TokenCryptoError};
use libxml::tree::{Document, Node};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::dom::{self, esc, NS_DS, NS_SAML, NS_XSI};
use crate::dsig::{self, ECDSA_SHA256, RSA_SHA256, RSA_SHA512};

pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub const HOLDER_OF_KEY: &str = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key";
/// vCenter's NameID format for users.
pub const UPN_FORMAT: &str = "http://schemas.xmlsoap.org/claims/UPN";
pub const GROUPS_ATTRIBUTE: &str = "http://rsa.com/schemas/attr-names/2009/01/GroupIdentity";
pub const DOMAIN_ATTRIBUTE: &str = "http://vmware.com/schemas/attr-names/2011/07/domain";
const RENEW_NS: &str = "http://www.rsa.com/names/2009/12/std-ext/SAML2.0";
const DELEGATION_NS: &str = "urn:oasis:names:tc:SAML:2.0:conditions:delegation";
/// How many times a token may be renewed or delegated, as vCenter writes it.
const RESTRICTION_COUNT: u32 = 10;

pub fn format_time(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| format!("'{s}' is not a dateTime"))
}

/// The base64 DER inside a PEM certificate.
pub fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}

fn x509_key_info(der_b64: &str) -> String {
    format!(
        r#"<ds:KeyInfo xmlns:ds="{NS_DS}"><ds:X509Data><ds:X509Certificate>{der_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#
    )
}

/// The assertion with an empty signature template right after its Issuer (where the SAML
/// schema puts it).
fn template(a: &Assertion, signing_cert_pem: &str, method: &str) -> String {
    let id = esc(&a.id);
    let confirmation = match &a.confirmation {
        Confirmation::Bearer => format!(
            r#"<saml2:SubjectConfirmation Method="{BEARER}"><saml2:SubjectConfirmationData NotOnOrAfter="{}"/></saml2:SubjectConfirmation>"#,
            format_time(a.not_on_or_after)
        ),
        Confirmation::HolderOfKey { certificate_der } => format!(
            r#"<saml2:SubjectConfirmation Method="{HOLDER_OF_KEY}"><saml2:SubjectConfirmationData xsi:type="saml2:KeyInfoConfirmationDataType">{}</saml2:SubjectConfirmationData></saml2:SubjectConfirmation>"#,
            x509_key_info(&B64.encode(certificate_der))
        ),
    };
    let mut conditions = String::new();
    for aud in &a.audiences {
        conditions.push_str(&format!(
            "<saml2:AudienceRestriction><saml2:Audience>{}</saml2:Audience></saml2:AudienceRestriction>",
            esc(aud)
        ));
    }
    if a.delegatable {
        conditions.push_str(&format!(
            r#"<saml2:ProxyRestriction Count="{RESTRICTION_COUNT}"/>"#
        ));
    }
    if a.renewable {
        conditions.push_str(&format!(
            r#"<saml2:Condition xmlns:rsa="{RENEW_NS}" xsi:type="rsa:RenewRestrictionType" Count="{RESTRICTION_COUNT}"/>"#
        ));
    }
    if let Some(d) = &a.delegate {
        conditions.push_str(&format!(
            r#"<saml2:Condition xmlns:del="{DELEGATION_NS}" xsi:type="del:DelegationRestrictionType"><del:Delegate><saml2:NameID Format="{UPN_FORMAT}">{}</saml2:NameID></del:Delegate></saml2:Condition>"#,
            esc(d)
        ));
    }
    let groups: String = a
        .groups
        .iter()
        .map(|g| {
            format!(
                r#"<saml2:AttributeValue xsi:type="xsd:string">{}</saml2:AttributeValue>"#,
                esc(g)
            )
        })
        .collect();
    let group_attr = if groups.is_empty() {
        String::new()
    } else {
        format!(
            r#"<saml2:Attribute FriendlyName="Groups" Name="{GROUPS_ATTRIBUTE}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">{groups}</saml2:Attribute>"#
        )
    };
    let cert = pem_body(signing_cert_pem);
    format!(
        concat!(
            r#"<saml2:Assertion xmlns:saml2="{saml}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="{xsi}" ID="{id}" IssueInstant="{issued}" Version="2.0">"#,
            r#"<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}</saml2:Issuer>"#,
            r#"<ds:Signature xmlns:ds="{ds}"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:SignatureMethod Algorithm="{method}"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xsd"/></ds:Transform>"#,
            r#"</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference>"#,
            r#"</ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>"#,
            r#"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"#,
            r#"<saml2:Subject><saml2:NameID Format="{upn}">{subject}</saml2:NameID>{confirmation}</saml2:Subject>"#,
            r#"<saml2:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">{conditions}</saml2:Conditions>"#,
            r#"<saml2:AuthnStatement AuthnInstant="{issued}"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>"#,
            r#"<saml2:AttributeStatement>{groups}"#,
            r#"<saml2:Attribute FriendlyName="Domain" Name="{domain_attr}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml2:AttributeValue xsi:type="xsd:string">{domain}</saml2:AttributeValue></saml2:Attribute>"#,
            r#"</saml2:AttributeStatement></saml2:Assertion>"#
        ),
        saml = NS_SAML,
        xsi = NS_XSI,
        ds = NS_DS,
        id = id,
        issued = format_time(a.issued_at),
        issuer = esc(&a.issuer),
        method = method,
        cert = cert,
        upn = UPN_FORMAT,
        subject = esc(&a.subject),
        confirmation = confirmation,
        nb = format_time(a.not_before),
        noa = format_time(a.not_on_or_after),
        conditions = conditions,
        groups = group_attr,
        domain_attr = DOMAIN_ATTRIBUTE,
        domain = esc(&a.domain),
    )
}

fn malformed(e: impl Into<String>) -> TokenCryptoError {
    TokenCryptoError::Malformed(e.into())
}

fn bad_sig(e: impl Into<String>) -> TokenCryptoError {
    TokenCryptoError::BadSignature(e.into())
}

/// Signs `a` with `key`; ECDSA or RSA by the key's kind.
pub fn sign(a: &Assertion, key: &SigningIdentity) -> Result<String, TokenCryptoError> {
    let method = if key.key_pem.contains("RSA PRIVATE KEY") {
        RSA_SHA256
    } else {
        ECDSA_SHA256
    };
    let xml = template(a, &key.cert_pem, method);
    let doc = dom::parse(&xml).map_err(TokenCryptoError::Signing)?;
    let root = doc
        .get_root_element()
        .ok_or_else(|| TokenCryptoError::Signing("no root".into()))?;
    dsig::register_id(&doc, &root, "ID", None).map_err(TokenCryptoError::Signing)?;
    let sig = dom::only_child(&root, NS_DS, "Signature").map_err(TokenCryptoError::Signing)?;
    let k = dsig::private_key(&key.key_pem).map_err(TokenCryptoError::Signing)?;
    dsig::sign(&sig, k).map_err(TokenCryptoError::Signing)?;
    Ok(doc.node_to_string(&root))
}

/// The checks that make the signature cover exactly the assertion read: the document is one
/// `saml2:Assertion`, with no comments or processing instructions; its one `ds:Signature` is a
/// direct child; that signature has one reference, to the assertion's own `ID`, registered as
/// the document's only element with that ID. Returns the root and the signature.
fn signed_root(doc: &Document) -> Result<(Node, Node), TokenCryptoError> {
    let root = doc.get_root_element().ok_or_else(|| malformed("empty"))?;
    if !dom::is(&root, NS_SAML, "Assertion") {
        return Err(malformed("the token is not a SAML 2.0 Assertion"));
    }
    dom::refuse_unsigned_nodes(&root).map_err(malformed)?;
    let id = dsig::register_id(doc, &root, "ID", None).map_err(malformed)?;
    let sig = dom::only_child(&root, NS_DS, "Signature")
        .map_err(|e| bad_sig(format!("Signature: {e}")))?;
    let refs =
        dsig::check_signed_info(&sig, &[RSA_SHA256, RSA_SHA512, ECDSA_SHA256]).map_err(bad_sig)?;
    if refs != [id] {
        return Err(bad_sig(
            "the signature does not reference the assertion itself",
        ));
    }
    Ok((root, sig))
}

/// Verifies `xml` under one of `trusted` (PEM certificates) and reads it.
pub fn verify(xml: &str, trusted: &[String]) -> Result<Assertion, TokenCryptoError> {
    let doc = dom::parse(xml).map_err(malformed)?;
    let (root, sig) = signed_root(&doc)?;
    let mut last = "no trusted certificate".to_string();
    let mut ok = false;
    for cert in trusted {
        let key = dsig::cert_key_pem(cert).map_err(TokenCryptoError::Signing)?;
        match dsig::verify(&sig, key) {
            Ok(()) => {
                ok = true;
                break;
            }
            Err(e) => last = e,
        }
    }
    if !ok {
        return Err(bad_sig(last));
    }
    read(&root).map_err(malformed)
}

/// The holder-of-key certificate (DER) a token names, read without verifying it: the binding
/// needs it to check a request's signature before the core verifies the token itself.
pub fn confirmation_certificate(xml: &str) -> Result<Option<Vec<u8>>, String> {
    let doc = dom::parse(xml)?;
    let root = doc.get_root_element().ok_or("empty")?;
    let subject = dom::only_child(&root, NS_SAML, "Subject")?;
    read_confirmation(&subject).map(|c| match c {
        Confirmation::HolderOfKey { certificate_der } => Some(certificate_der),
        Confirmation::Bearer => None,
    })
}

fn attr(node: &Node, name: &str) -> Result<String, String> {
    node.get_property_no_ns(name)
        .ok_or_else(|| format!("{} has no {name}", node.get_name()))
}

fn read_confirmation(subject: &Node) -> Result<Confirmation, String> {
    let sc = dom::only_child(subject, NS_SAML, "SubjectConfirmation")?;
    match attr(&sc, "Method")?.as_str() {
        BEARER => Ok(Confirmation::Bearer),
        HOLDER_OF_KEY => {
            let data = dom::only_child(&sc, NS_SAML, "SubjectConfirmationData")?;
            let ki = dom::only_child(&data, NS_DS, "KeyInfo")?;
            let xd = dom::only_child(&ki, NS_DS, "X509Data")?;
            let c = dom::only_child(&xd, NS_DS, "X509Certificate")?;
            let b64: String = dom::text(&c)?.split_whitespace().collect();
            let der = B64
                .decode(b64)
                .map_err(|_| "the confirmation certificate is not base64".to_string())?;
            Ok(Confirmation::HolderOfKey {
                certificate_der: der,
            })
        }
        m => Err(format!("the confirmation method {m} is not supported")),
    }
}

/// Reads a verified assertion.
fn read(root: &Node) -> Result<Assertion, String> {
    let issuer = dom::text(&dom::only_child(root, NS_SAML, "Issuer")?)?;
    let subject = dom::only_child(root, NS_SAML, "Subject")?;
    let name_id = dom::text(&dom::only_child(&subject, NS_SAML, "NameID")?)?;
    let confirmation = read_confirmation(&subject)?;
    let cond = dom::only_child(root, NS_SAML, "Conditions")?;
    let not_before = parse_time(&attr(&cond, "NotBefore")?)?;
    let not_on_or_after = parse_time(&attr(&cond, "NotOnOrAfter")?)?;
    let mut audiences = vec![];
    for ar in dom::children(&cond, NS_SAML, "AudienceRestriction") {
        for a in dom::children(&ar, NS_SAML, "Audience") {
            audiences.push(dom::text(&a)?);
        }
    }
    let delegatable = !dom::children(&cond, NS_SAML, "ProxyRestriction").is_empty();
    let mut renewable = false;
    let mut delegate = None;
    for c in dom::children(&cond, NS_SAML, "Condition") {
        let ty = c.get_property_ns("type", NS_XSI).unwrap_or_default();
        if ty.ends_with(":RenewRestrictionType") {
            renewable = true;
        } else if ty.ends_with(":DelegationRestrictionType") {
            for d in dom::children(&c, DELEGATION_NS, "Delegate") {
                delegate = Some(dom::text(&dom::only_child(&d, NS_SAML, "NameID")?)?);
            }
        }
    }
    let mut groups = vec![];
    let mut domain = None;
    for st in dom::children(root, NS_SAML, "AttributeStatement") {
        for at in dom::children(&st, NS_SAML, "Attribute") {
            let values = dom::children(&at, NS_SAML, "AttributeValue")
                .iter()
                .map(dom::text)
                .collect::<Result<Vec<_>, _>>()?;
            match at.get_property_no_ns("Name").as_deref() {
                Some(GROUPS_ATTRIBUTE) => groups.extend(values),
                Some(DOMAIN_ATTRIBUTE) => domain = values.into_iter().next(),
                _ => {}
            }
        }
    }
    let issued_at = parse_time(&attr(root, "IssueInstant")?)?;
    Ok(Assertion {
        id: attr(root, "ID")?,
        issuer,
        domain: domain.ok_or("the assertion names no domain")?,
        subject: name_id,
        groups,
        issued_at,
        not_before,
        not_on_or_after,
        audiences,
        confirmation,
        renewable,
        delegatable,
        delegate,
    })
}
