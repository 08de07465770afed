//! XML-DSig through libxmlsec1 (OpenSSL engine): signing a prepared `ds:Signature` template,
//! verifying one under a key the caller chose, and registering the one attribute a reference
//! may point at. Canonicalisation (exclusive C14N) is libxmlsec1's; nothing here rewrites XML.
use std::ffi::CString;
use std::ptr::null_mut;

use libxml::tree::{Document, Node};
use xmlsec::{bindings, XmlSecKey, XmlSecKeyFormat, XmlSecSignatureContext};

use crate::dom::{self, EXC_C14N, NS_DS};

/// The signature methods accepted on tokens and requests (SHA-1 and others are refused).
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const DIGESTS: [&str; 2] = [
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];

/// A private key (PEM, PKCS#8 or traditional) for signing.
pub fn private_key(pem: &str) -> Result<XmlSecKey, String> {
    XmlSecKey::from_memory(pem.as_bytes(), XmlSecKeyFormat::Pem, None)
        .map_err(|e| format!("the signing key does not load: {e:?}"))
}

/// The public key of a certificate, PEM.
pub fn cert_key_pem(pem: &str) -> Result<XmlSecKey, String> {
    XmlSecKey::from_memory(pem.as_bytes(), XmlSecKeyFormat::CertPem, None)
        .map_err(|e| format!("the certificate does not load: {e:?}"))
}

/// The public key of a certificate, DER.
pub fn cert_key_der(der: &[u8]) -> Result<XmlSecKey, String> {
    XmlSecKey::from_memory(der, XmlSecKeyFormat::CertDer, None)
        .map_err(|e| format!("the certificate does not load: {e:?}"))
}

/// Makes `owner`'s attribute (`{ns}name`, or `name` without a namespace) the document's one ID
/// of its value, and returns the value. A second attribute already registered with the same
/// value (an `xml:id`, a DTD-declared ID) is an error: a reference to it would be ambiguous.
pub fn register_id(
    doc: &Document,
    owner: &Node,
    name: &str,
    ns: Option<&str>,
) -> Result<String, String> {
    let attr = match ns {
        Some(ns) => owner.get_property_node_ns(name, ns),
        None => owner.get_property_node_no_ns(name),
    }
    .ok_or_else(|| format!("{} has no {name} attribute", owner.get_name()))?;
    let id = attr.get_content();
    if id.is_empty() {
        return Err(format!("{} has an empty {name}", owner.get_name()));
    }
    let cid = CString::new(id.clone()).map_err(|_| "an ID holds a NUL".to_string())?;
    let docptr = doc.doc_ptr() as bindings::xmlDocPtr;
    let attrptr = attr.node_ptr() as bindings::xmlAttrPtr;
    // SAFETY: `doc` owns both the document and the attribute node, which outlive these calls;
    // the ID string is copied by libxml2.
    let existing = unsafe { bindings::xmlGetID(docptr, cid.as_ptr().cast()) };
    if existing.is_null() {
        // SAFETY: as above; a null validation context is allowed.
        let added = unsafe { bindings::xmlAddID(null_mut(), docptr, cid.as_ptr().cast(), attrptr) };
        if added.is_null() {
            return Err(format!("the ID {id} could not be registered"));
        }
    } else if existing != attrptr {
        return Err(format!("the ID {id} appears on two elements"));
    }
    Ok(id)
}

/// What a `ds:SignedInfo` must say for us to accept it: exclusive C14N, an accepted signature
/// method, and references — each to `#id` in the same document, with only the enveloped and
/// exclusive C14N transforms and a SHA-2 digest. Returns the referenced ids in order.
pub fn check_signed_info(
    signature: &Node,
    allowed_methods: &[&str],
) -> Result<Vec<String>, String> {
    let si = dom::only_child(signature, NS_DS, "SignedInfo")?;
    let c14n = dom::only_child(&si, NS_DS, "CanonicalizationMethod")?;
    if c14n.get_property_no_ns("Algorithm").as_deref() != Some(EXC_C14N) {
        return Err("SignedInfo is not canonicalised with exclusive C14N".into());
    }
    let method = dom::only_child(&si, NS_DS, "SignatureMethod")?;
    let m = method.get_property_no_ns("Algorithm").unwrap_or_default();
    if !allowed_methods.contains(&m.as_str()) {
        return Err(format!("the signature method {m} is not accepted"));
    }
    let refs = dom::children(&si, NS_DS, "Reference");
    if refs.is_empty() {
        return Err("SignedInfo has no Reference".into());
    }
    let mut ids = vec![];
    for r in &refs {
        let uri = r.get_property_no_ns("URI").unwrap_or_default();
        let id = uri
            .strip_prefix('#')
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                format!("the reference '{uri}' is not to an element of this document")
            })?;
        if let Some(t) = dom::optional_child(r, NS_DS, "Transforms")? {
            for tr in t.get_child_elements() {
                let a = tr.get_property_no_ns("Algorithm").unwrap_or_default();
                if !dom::is(&tr, NS_DS, "Transform") || (a != EXC_C14N && a != dom::ENVELOPED) {
                    return Err(format!("the transform {a} is not accepted"));
                }
            }
        }
        let digest = dom::only_child(r, NS_DS, "DigestMethod")?;
        let d = digest.get_property_no_ns("Algorithm").unwrap_or_default();
        if !DIGESTS.contains(&d.as_str()) {
            return Err(format!("the digest method {d} is not accepted"));
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

// libxmlsec1's error reporter, not in the `xmlsec` crate's bindings.
extern "C" {
    fn xmlSecErrorsSetCallback(callback: Option<unsafe extern "C" fn()>);
}

/// libxmlsec1 prints every failed check to stderr by default; a forged token is an expected
/// event that the core logs once, in its own words.
fn quiet_library_errors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: a null callback is documented as "no reporting"; it is set once, after the
    // library was initialised (XmlSecSignatureContext::new does that) and before any use here.
    ONCE.call_once(|| unsafe { xmlSecErrorsSetCallback(None) });
}

fn context(key: XmlSecKey) -> XmlSecSignatureContext {
    let mut ctx = XmlSecSignatureContext::new();
    quiet_library_errors();
    ctx.insert_key(key);
    // SAFETY: the context is alive and owned here; only same-document references resolve,
    // so a signature cannot pull in a file or URL.
    unsafe {
        (*ctx.as_ptr()).enabledReferenceUris = bindings::xmlSecTransformUriTypeSameDocument;
    }
    ctx
}

/// Fills in the digests and signature value of the template `signature` with `key`.
pub fn sign(signature: &Node, key: XmlSecKey) -> Result<(), String> {
    context(key)
        .sign_node(signature)
        .map_err(|e| format!("signing failed: {e:?}"))
}

/// Verifies `signature` with `key` (never with a key the document itself carries).
pub fn verify(signature: &Node, key: XmlSecKey) -> Result<(), String> {
    match context(key).verify_node(signature) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the signature does not verify".into()),
        Err(e) => Err(format!("the signature could not be checked: {e:?}")),
    }
}
