//! Property tests of the envelope reader and the request decoder: whatever bytes arrive, they
//! answer a value or a fault, never a panic. Inputs are random bytes, and real requests cut,
//! spliced with XML fragments and re-typed at random places: 20,000 of each kind per run
//! (40,000 inputs, about 4 s in a debug build).
use ferrocenter_http::soap::{read_envelope, Limits};
use proptest::prelude::*;

use super::decode::decode;

const SEEDS: &[&str] = &[
    r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrievePropertiesEx xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>HostSystem</type><all>false</all><pathSet>name</pathSet></propSet><objectSet><obj type="ContainerView">session[1]view-1</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>t</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options><maxObjects>100</maxObjects></options></RetrievePropertiesEx></soapenv:Body></soapenv:Envelope>"#,
    r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><AddHost_Task xmlns="urn:vim25"><_this type="ClusterComputeResource">domain-c1</_this><spec><hostName>10.0.0.1</hostName><port>443</port><userName>root</userName><password>x</password><force>false</force><lockdownMode>lockdownDisabled</lockdownMode></spec><asConnected>true</asConnected></AddHost_Task></soapenv:Body></soapenv:Envelope>"#,
    r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><QueryEvents xmlns="urn:vim25" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><_this type="EventManager">EventManager</_this><filter><entity><entity type="HostSystem">host-1</entity><recursion>all</recursion></entity><eventTypeId>HostConnectedEvent</eventTypeId><maxCount>5</maxCount></filter></QueryEvents></soapenv:Body></soapenv:Envelope>"#,
];

const FRAGMENTS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "&amp;",
    "&#x0;",
    "&#xD800;",
    "&x;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?pi?>",
    "<!DOCTYPE a>",
    " xsi:type=\"xsd:int\"",
    " xsi:type=\"ArrayOfString\"",
    " xsi:type=\"TraversalSpec\"",
    " xsi:type=\"p:x\"",
    " type=\"\"",
    " xmlns=\"\"",
    " xmlns:p=\"u\"",
    "<_this type=\"HostSystem\">host-1</_this>",
    "<a>",
    "</a>",
    "\u{0}",
    "\u{feff}",
    "é",
    "\"",
    "'",
    "=",
    "<soapenv:Body>",
    "</soapenv:Body>",
    "99999999999999999999",
    "-1",
    "true",
    "NaN",
];

fn try_one(bytes: &[u8]) {
    if let Ok(env) = read_envelope(bytes, Limits::default()) {
        let _ = decode(&env.body);
    }
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        0..SEEDS.len(),
        prop::collection::vec(
            (any::<prop::sample::Index>(), 0..FRAGMENTS.len(), 0u8..3),
            1..6,
        ),
    )
        .prop_map(|(seed, edits)| {
            let mut s = SEEDS[seed].as_bytes().to_vec();
            for (at, frag, op) in edits {
                let i = at.index(s.len() + 1);
                match op {
                    0 => s.splice(i..i, FRAGMENTS[frag].bytes()).for_each(drop),
                    1 => s.truncate(i),
                    _ => {
                        let end = (i + FRAGMENTS[frag].len()).min(s.len());
                        s.drain(i..end);
                    }
                }
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_requests_never_panic(bytes in mutated()) {
        try_one(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        try_one(&bytes);
    }
}

#[test]
fn the_seeds_decode() {
    for s in SEEDS {
        let env = read_envelope(s.as_bytes(), Limits::default()).unwrap();
        assert!(decode(&env.body).is_ok(), "{s}");
    }
}
