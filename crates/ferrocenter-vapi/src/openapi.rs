//! The OpenAPI 3 document of the `/api` REST surface, generated from the operation registry
//! (served at `GET /api/openapi.json`; checked in as docs/api/openapi.json, and a test fails
//! when the two drift apart).
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::catalog;
use super::registry::Catalog;
use super::registry::{Http, Op, TaskVariant};
use super::types::{self, StructDef, Ty, Union};
use crate::state::VapiState;

/// An unset optional may be sent as `null` (the server takes it as unset). A `$ref` takes no
/// sibling keywords in OpenAPI 3.0, so a nullable reference is wrapped in `allOf`; an `enum`
/// must list null itself (OpenAPI 3.0.3, `nullable`).
fn nullable(mut s: Value) -> Value {
    if s.get("$ref").is_some() {
        return json!({"allOf": [s], "nullable": true});
    }
    if let Some(values) = s.get_mut("enum").and_then(Value::as_array_mut) {
        values.push(Value::Null);
    }
    if let Some(o) = s.as_object_mut() {
        o.insert("nullable".into(), json!(true));
    }
    s
}

/// A query parameter's schema: absent is unset, and a query string has no null.
fn query_schema(ty: &Ty, defs: &mut BTreeMap<&'static str, &'static StructDef>) -> Value {
    match ty {
        Ty::Optional(inner) => query_schema(inner, defs),
        t => schema(t, defs),
    }
}

/// The components name of a structure (`com.vmware.vcenter.host.summary` as is).
fn schema(ty: &Ty, defs: &mut BTreeMap<&'static str, &'static StructDef>) -> Value {
    match ty {
        Ty::String => json!({"type": "string"}),
        Ty::Id => json!({"type": "string", "description": "an identifier"}),
        Ty::Long => json!({"type": "integer", "format": "int64"}),
        Ty::Double => json!({"type": "number", "format": "double"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Secret => json!({"type": "string", "format": "password"}),
        Ty::Binary => json!({"type": "string", "format": "byte"}),
        Ty::DateTime => json!({"type": "string", "format": "date-time"}),
        Ty::Void | Ty::Opaque => json!({}),
        Ty::Enum(values) => json!({"type": "string", "enum": values}),
        Ty::Rule(r) => r.schema(),
        Ty::Optional(inner) => nullable(schema(inner, defs)),
        Ty::List(inner) => json!({"type": "array", "items": schema(inner, defs)}),
        Ty::Set(inner) => {
            json!({"type": "array", "uniqueItems": true, "items": schema(inner, defs)})
        }
        Ty::Map(inner) => json!({"type": "object", "additionalProperties": schema(inner, defs)}),
        Ty::Struct(def) => {
            if defs.insert(def.name, *def).is_none() {
                for f in def.fields {
                    schema(&f.ty, defs);
                }
            }
            json!({"$ref": format!("#/components/schemas/{}", def.name)})
        }
    }
}

fn struct_schema(
    def: &StructDef,
    catalog: &Catalog,
    defs: &mut BTreeMap<&'static str, &'static StructDef>,
) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in def.fields {
        props.insert(f.name.to_string(), schema(&f.ty, defs));
        if !matches!(f.ty, Ty::Optional(_)) {
            required.push(f.name);
        }
    }
    // The server refuses a field a structure does not declare (naming it).
    let mut v = json!({"type": "object", "properties": props, "additionalProperties": false});
    if !required.is_empty() {
        v["required"] = json!(required);
    }
    let unions: Vec<Value> = catalog
        .union_rules()
        .filter(|u| u.structure == def.name)
        .map(|u| union_schema(u, def, defs))
        .collect();
    match unions.len() {
        0 => {}
        1 => v["oneOf"] = unions[0]["oneOf"].clone(),
        _ => v["allOf"] = json!(unions),
    }
    v
}

/// A union rule (reference §2) as `oneOf`, one schema per value of the discriminant: the fields
/// its case requires are set (not null), the fields only other cases list are unset (absent or
/// null); a value no case lists has none of them.
fn union_schema(
    u: &Union,
    def: &StructDef,
    defs: &mut BTreeMap<&'static str, &'static StructDef>,
) -> Value {
    let mut members: Vec<&str> = Vec::new();
    for (_, fields) in u.cases {
        // A shared rule (StdTaskRule) may name a field this structure does not have.
        for (f, _) in *fields {
            if def.fields.iter().any(|d| d.name == *f) && !members.contains(f) {
                members.push(f);
            }
        }
    }
    let ty_of = |name: &str| {
        def.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| match f.ty {
                Ty::Optional(inner) => *inner,
                t => t,
            })
    };
    let unset = json!({"nullable": true, "enum": [null]});
    let mut cases = Vec::new();
    for (value, own) in u.cases {
        let mut props = Map::new();
        props.insert(u.discriminant.into(), json!({"enum": [value]}));
        let mut required = Vec::new();
        for f in &members {
            match own.iter().find(|(o, _)| o == f) {
                Some((_, true)) => {
                    required.push(*f);
                    if let Some(t) = ty_of(f) {
                        props.insert((*f).into(), schema(&t, defs));
                    }
                }
                Some((_, false)) => {}
                None => {
                    props.insert((*f).into(), unset.clone());
                }
            }
        }
        let mut case = json!({"properties": props});
        if !required.is_empty() {
            case["required"] = json!(required);
        }
        cases.push(case);
    }
    if let Some(Ty::Enum(values)) = ty_of(u.discriminant) {
        let rest: Vec<&str> = values
            .iter()
            .copied()
            .filter(|v| !u.cases.iter().any(|(c, _)| c == v))
            .collect();
        if !rest.is_empty() {
            let mut props = Map::new();
            props.insert(u.discriminant.into(), json!({"enum": rest}));
            for f in &members {
                props.insert((*f).into(), unset.clone());
            }
            cases.push(json!({"properties": props}));
        }
    }
    json!({"oneOf": cases})
}

fn path_vars(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn operation(op: &Op, b: &Http, defs: &mut BTreeMap<&'static str, &'static StructDef>) -> Value {
    let vars = path_vars(b.path);
    let mut parameters = Vec::new();
    for v in &vars {
        // A path value a core rule checks states that rule; any other is an identifier.
        let schema = match op.input.iter().find(|f| f.name == *v).map(|f| f.ty) {
            Some(Ty::Rule(r)) if r.is_scalar() => r.schema(),
            _ => json!({"type": "string"}),
        };
        parameters.push(json!({"name": v, "in": "path", "required": true, "schema": schema}));
    }
    let mut body_props = Map::new();
    let mut body_required = Vec::new();
    let mut body_direct = None;
    let mut body_needed = false;
    for f in op.input.iter().filter(|f| !vars.contains(&f.name)) {
        let required = !matches!(f.ty, Ty::Optional(_));
        match b.method {
            "GET" | "DELETE" => {
                // Structures are flattened onto their fields in the query string; a field that
                // cannot be written as text (a structure) is not a query parameter (the server
                // refuses it).
                let inner = match f.ty {
                    Ty::Optional(t) => *t,
                    t => t,
                };
                match inner {
                    Ty::Struct(def) => {
                        for sf in def.fields.iter().filter(|sf| types::given_as_text(&sf.ty)) {
                            // A field of a required structure is required, unless it is a list
                            // (a query string cannot carry an empty one).
                            let needed = required
                                && !matches!(sf.ty, Ty::Optional(_) | Ty::List(_) | Ty::Set(_));
                            parameters.push(json!({"name": sf.name, "in": "query",
                                "required": needed, "schema": query_schema(&sf.ty, defs)}));
                        }
                    }
                    t if types::given_as_text(&t) => parameters.push(json!({"name": f.name,
                        "in": "query", "required": required, "schema": query_schema(&f.ty, defs)})),
                    _ => {}
                }
            }
            _ if b.body == Some(f.name) => {
                body_direct = Some(schema(&f.ty, defs));
                body_needed = required;
            }
            _ => {
                body_props.insert(f.name.to_string(), schema(&f.ty, defs));
                if required {
                    body_required.push(f.name);
                    body_needed = true;
                }
            }
        }
    }
    let mut o = json!({
        "operationId": format!("{}.{}", op.service, op.name),
        "tags": [op.service],
        "parameters": parameters,
    });
    if let Some(a) = b.action {
        push_parameter(
            &mut o,
            json!({"name": "action", "in": "query", "required": true,
                "schema": {"type": "string", "enum": [a]}}),
        );
    }
    if op.task == TaskVariant::Also {
        push_parameter(
            &mut o,
            json!({
            "name": "vmw-task", "in": "query", "required": false,
            "description": "true: start the operation as a task and answer its id (202)",
            "schema": {"type": "boolean"}}),
        );
    }
    let body = match body_direct {
        Some(s) => Some(s),
        None if !body_props.is_empty() => {
            let mut s = json!({"type": "object", "properties": body_props,
                "additionalProperties": false});
            if !body_required.is_empty() {
                s["required"] = json!(body_required);
            }
            Some(s)
        }
        None => None,
    };
    if let Some(s) = body {
        // With only optional parameters the body may be left out (all unset).
        o["requestBody"] =
            json!({"required": body_needed, "content": {"application/json": {"schema": s}}});
    }
    let ok = match op.output {
        Ty::Void => json!({"204": {"description": "done"}}),
        ref t => json!({"200": {"description": "the result",
            "content": {"application/json": {"schema": schema(t, defs)}}}}),
    };
    let mut responses = ok;
    if op.task == TaskVariant::Also {
        responses["202"] = json!({"description": "with vmw-task=true: the task id",
            "content": {"application/json": {"schema": {"type": "string"}}}});
    }
    responses["default"] = json!({"description": "a vAPI standard error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    o["responses"] = responses;
    o
}

/// The whole document of the main listener's `/api`.
pub fn document() -> Value {
    document_of(&catalog::MAIN)
}

/// The document of one listener's catalog.
fn document_of(catalog: &'static Catalog) -> Value {
    let mut defs = BTreeMap::new();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for op in catalog.all() {
        for (i, b) in op.api.iter().enumerate() {
            let mut o = operation(op, b, &mut defs);
            if i > 0 {
                // A documented alias of the same operation.
                o["operationId"] = json!(format!("{}.{}#{}", op.service, op.name, i + 1));
            }
            // Operations told apart by `?action=` share a path; OpenAPI allows one operation per
            // path and method, so a second one keeps the action in its key.
            let method = b.method.to_ascii_lowercase();
            let plain = format!("/api{}", b.path);
            let key = match (b.action, paths.get(&plain)) {
                (Some(a), Some(p)) if p.contains_key(&method) => {
                    // The action is then part of the path: declared again as a parameter, a
                    // client would send it twice, or a generated request leave it out while
                    // the path still carries it.
                    if let Some(params) = o["parameters"].as_array_mut() {
                        params.retain(|p| p["name"] != "action");
                    }
                    format!("{plain}?action={a}")
                }
                _ => plain,
            };
            paths.entry(key).or_default().insert(method, o);
        }
    }
    let mut schemas = Map::new();
    // Structures reached from other structures are collected as they are met.
    let mut seen = 0;
    while seen != defs.len() {
        seen = defs.len();
        for def in defs.clone().values() {
            let s = struct_schema(def, catalog, &mut defs);
            schemas.insert(def.name.to_string(), s);
        }
    }
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error_type", "messages"], "properties": {
            "error_type": {"type": "string"},
            "messages": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "default_message": {"type": "string"},
                "args": {"type": "array", "items": {"type": "string"}}}}},
            "challenge": {"type": "string"},
            "data": {}}}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "ferrocenter vSphere Automation API (/api)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Generated from ferrocenter's vAPI operation registry. The same operations are served over JSON-RPC on POST /api and under /rest.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "header", "name": "vmware-api-session-id"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{"session": []}, {"basic": []}],
        "paths": paths,
    })
}

/// `GET /api/openapi.json`: no session needed; each listener describes what it serves.
pub async fn serve(
    axum::extract::State(state): axum::extract::State<VapiState>,
) -> axum::Json<Value> {
    axum::Json(document_of(catalog::for_listener(state.listener)))
}

/// Adds a parameter to an operation object built with a `parameters` array.
fn push_parameter(operation: &mut Value, parameter: Value) {
    if let Some(list) = operation["parameters"].as_array_mut() {
        list.push(parameter);
    }
}

/// The document as checked in: pretty-printed, with a final newline.
pub fn pretty() -> String {
    // A value's alternate form is serde_json's pretty printer, and printing a value cannot fail.
    format!("{:#}\n", document())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api/openapi.json");

    /// docs/api/openapi.json is the generated document; `FERROCENTER_UPDATE_OPENAPI=1` rewrites
    /// it after the registry changed.
    #[test]
    fn the_checked_in_document_matches_the_registry() {
        let now = pretty();
        if std::env::var("FERROCENTER_UPDATE_OPENAPI").as_deref() == Ok("1") {
            std::fs::write(CHECKED_IN, &now).unwrap();
        }
        let kept = std::fs::read_to_string(CHECKED_IN).unwrap_or_default();
        assert!(
            kept == now,
            "docs/api/openapi.json is out of date: run FERROCENTER_UPDATE_OPENAPI=1 cargo test -p ferrocenter-vapi openapi"
        );
    }

    /// Every field a core rule checks carries that rule in the document: the lengths, range and
    /// pattern are the rule's, and the pattern accepts and refuses what the validator does.
    #[test]
    fn validated_fields_carry_their_rules() {
        use crate::rules::Rule;
        use ferrocenter_core::validate;
        let doc = document();
        let field = |s: &str, f: &str| doc["components"]["schemas"][s]["properties"][f].clone();
        let cases = [
            (
                "com.vmware.vcenter.datacenter.create_spec",
                "name",
                Rule::EntityName,
            ),
            (
                "com.vmware.vcenter.host.create_spec",
                "hostname",
                Rule::HostName,
            ),
            ("com.vmware.vcenter.host.create_spec", "port", Rule::Port),
            (
                "com.vmware.vcenter.host.create_spec",
                "thumbprint",
                Rule::Thumbprint,
            ),
            (
                "com.vmware.vcenter.host.create_spec",
                "user_name",
                Rule::UserName,
            ),
            (
                "com.vmware.vcenter.host.create_spec",
                "password",
                Rule::Password,
            ),
            (
                "com.vmware.vcenter.system.hello_spec",
                "api_releases",
                Rule::ApiReleases,
            ),
            (
                "com.vmware.appliance.networking.firewall.inbound.rule",
                "address",
                Rule::IpAddress,
            ),
            (
                "com.vmware.appliance.networking.firewall.inbound.rule",
                "prefix",
                Rule::PrefixLength,
            ),
            (
                "com.vmware.appliance.networking.firewall.inbound.rule",
                "interface_name",
                Rule::InterfaceName,
            ),
            (
                "com.vmware.appliance.logging.forwarding.config",
                "hostname",
                Rule::HostName,
            ),
            (
                "com.vmware.appliance.logging.forwarding.config",
                "port",
                Rule::Port,
            ),
            (
                "com.vmware.vcenter.lcm.discovery.associated_products.create_spec",
                "product_name",
                Rule::LcmProductName,
            ),
            (
                "com.vmware.vcenter.lcm.discovery.associated_products.create_spec",
                "version",
                Rule::LcmVersion,
            ),
            (
                "com.vmware.appliance.update.policy.time",
                "hour",
                Rule::Hour,
            ),
            (
                "com.vmware.appliance.update.policy.time",
                "minute",
                Rule::Minute,
            ),
            (
                "com.vmware.appliance.recovery.backup.schedules.recurrence_info",
                "hour",
                Rule::Hour,
            ),
        ];
        // Optional fields: the rule, nullable.
        const CONFIG: &str = "com.vmware.appliance.local_accounts.config";
        const POLICY: &str = "com.vmware.appliance.local_accounts.policy.info";
        let optional = [
            ("com.vmware.vcenter.host.create_spec", "port", Rule::Port),
            (
                "com.vmware.vcenter.host.create_spec",
                "thumbprint",
                Rule::Thumbprint,
            ),
            (CONFIG, "full_name", Rule::DisplayText),
            (CONFIG, "email", Rule::Email),
            (
                CONFIG,
                "max_days_between_password_change",
                Rule::PasswordDays,
            ),
            (
                "com.vmware.appliance.local_accounts.update_config",
                "roles",
                Rule::AccountRoles,
            ),
            (POLICY, "min_days", Rule::PasswordDays),
            (POLICY, "minimum_special_char_count", Rule::CharCount),
            (POLICY, "minimum_length", Rule::MinimumLength),
            (
                "com.vmware.vcenter.lcm.discovery.associated_products.update_spec",
                "deployments",
                Rule::LcmDeployments,
            ),
        ];
        for (s, f, rule) in cases
            .iter()
            .copied()
            .chain([(CONFIG, "roles", Rule::AccountRoles)])
        {
            let mut want = rule.schema();
            if optional.iter().any(|o| (o.0, o.1) == (s, f)) || f == "interface_name" {
                want["nullable"] = json!(true);
            }
            assert_eq!(field(s, f), want, "{s}.{f}");
        }
        for (s, f, rule) in optional {
            let mut want = rule.schema();
            want["nullable"] = json!(true);
            assert_eq!(field(s, f), want, "{s}.{f}");
        }
        // A path parameter carries its rule too.
        let username = doc["paths"]["/api/appliance/local-accounts/{username}"]["get"]
            ["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "username")
            .unwrap()["schema"]
            .clone();
        assert_eq!(username, Rule::AccountName.schema());
        // The account name pattern accepts and refuses what the core's rule does.
        let re = regex::Regex::new(username["pattern"].as_str().unwrap()).unwrap();
        for n in [
            "root", "a.b_c-d", "_x", ".x", "-x", "a b", "a/b", "é", "x-", "A9", "a@b", "",
        ] {
            assert_eq!(
                re.is_match(n),
                ferrocenter_core::auth::validate_account_name("username", n).is_ok(),
                "{n:?}"
            );
        }
        // Display text: control characters are refused, anything else printable is not.
        let text = Rule::DisplayText.schema();
        let re = regex::Regex::new(text["pattern"].as_str().unwrap()).unwrap();
        for (t, ok) in [
            ("Ada Lovelace", true),
            ("Zürich 名前", true),
            ("a\tb", false),
            ("a\u{7f}", false),
            ("a\u{85}", false),
            ("a\u{a0}b", true),
        ] {
            assert_eq!(re.is_match(t), ok, "{t:?}");
            assert_eq!(!t.chars().any(char::is_control), ok, "{t:?}");
        }
        // The shutdown's rules are on an operation's own parameters, in its request body.
        let shutdown = [
            ("delay", Rule::ShutdownDelay),
            ("reason", Rule::ShutdownReason),
        ];
        for path in [
            "/api/appliance/shutdown/reboot",
            "/api/appliance/shutdown/poweroff",
        ] {
            for (f, rule) in shutdown {
                assert_eq!(
                    doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]
                        ["schema"]["properties"][f],
                    rule.schema(),
                    "{path} {f}"
                );
            }
        }
        // A structure flattened into the query string carries its rules on its parameters.
        let size = &doc["paths"]["/api/appliance/support-bundle"]["get"]["parameters"][0];
        assert_eq!(size["name"], "size");
        assert_eq!(size["schema"], Rule::IterationSize.schema());
        // Each rule is declared somewhere.
        for rule in Rule::ALL {
            assert!(
                cases.iter().chain(&optional).any(|c| c.2 == rule)
                    || shutdown.iter().any(|c| c.1 == rule)
                    || rule == Rule::IterationSize
                    || [Rule::AccountRoles, Rule::AccountName].contains(&rule),
                "{rule:?} is on no field"
            );
        }
        let name = field(cases[0].0, "name");
        assert_eq!(name["maxLength"], validate::NAME_MAX_CHARS);
        assert_eq!(name["minLength"], 1);
        let re = regex::Regex::new(name["pattern"].as_str().unwrap()).unwrap();
        for n in [
            "dc 1",
            "Zürich",
            "a-b_c.d (e)",
            "x/y",
            "50%",
            "a\\b",
            "a\u{202e}b",
            "a\u{2069}",
            "a\nb",
            "a\u{9f}",
            " ",
            "",
        ] {
            assert_eq!(
                re.is_match(n),
                validate::entity_name("name", n).is_ok(),
                "pattern and rule disagree on {n:?}"
            );
        }
        let port = field(cases[2].0, "port");
        assert_eq!(
            (port["minimum"].as_i64(), port["maximum"].as_i64()),
            (Some(1), Some(65_535))
        );
        for p in [0, 1, 65_535, 65_536] {
            let in_schema = (validate::PORT_MIN..=validate::PORT_MAX).contains(&p);
            assert_eq!(in_schema, validate::port("port", p).is_ok(), "{p}");
        }
        let host = field(cases[1].0, "hostname");
        assert_eq!(host["maxLength"], validate::HOST_NAME_MAX_CHARS);
        assert!(validate::host_name("h", &"a".repeat(validate::HOST_NAME_MAX_CHARS + 1)).is_err());
        // A host name is a DNS name (the pattern) or an IPv6 address (the format); an IPv4
        // address is a DNS name by the grammar.
        let dns = regex::Regex::new(host["anyOf"][0]["pattern"].as_str().unwrap()).unwrap();
        assert_eq!(host["anyOf"][1]["format"], "ipv6");
        let label = "a".repeat(63);
        for h in [
            "kvm-1.lab",
            "10.0.0.1",
            "1host",
            label.as_str(),
            &format!("{label}a"),
            "-a",
            "a-",
            "kvm-.lab",
            "a..b",
            "a_b",
            "a b",
            ".a",
            "a.",
            "0",
            "ö",
            "",
        ] {
            assert_eq!(
                dns.is_match(h),
                validate::host_name("h", h).is_ok(),
                "pattern and rule disagree on {h:?}"
            );
        }
        for ip in ["::1", "fe80::1", "::ffff:10.0.0.1"] {
            assert!(validate::host_name("h", ip).is_ok(), "{ip}");
        }
        // Credentials: at least one character.
        for f in ["user_name", "password"] {
            assert_eq!(
                field("com.vmware.vcenter.host.create_spec", f)["minLength"],
                1
            );
            assert!(validate::credential(f, "").is_err());
            assert!(validate::credential(f, "x").is_ok());
        }
        let releases = field(cases[6].0, "api_releases");
        assert_eq!(
            (releases["minItems"].as_u64(), releases["maxItems"].as_u64()),
            (Some(1), Some(crate::rules::RELEASES_MAX as u64))
        );
        let ok = |n: usize, len: usize| {
            crate::rules::api_releases("r", &vec!["8".repeat(len); n]).is_ok()
        };
        let max = crate::rules::RELEASE_ID_MAX_CHARS;
        assert_eq!(releases["items"]["maxLength"], max);
        assert!(ok(1, max) && ok(crate::rules::RELEASES_MAX, 1));
        assert!(!ok(0, 1) && !ok(crate::rules::RELEASES_MAX + 1, 1) && !ok(1, max + 1));
        // A long release of multi-byte characters is refused, not cut inside a character.
        assert!(crate::rules::api_releases("r", &["é".repeat(max + 1)]).is_err());
        let tp = field(cases[3].0, "thumbprint");
        let re = regex::Regex::new(tp["pattern"].as_str().unwrap()).unwrap();
        let hex = "AB".repeat(32);
        let colons = vec!["ab"; 32].join(":");
        for t in [
            hex.as_str(),
            colons.as_str(),
            "",
            "AB:CD",
            &"AB".repeat(33),
            "zz",
        ] {
            assert_eq!(
                re.is_match(t),
                validate::thumbprint("t", Some(t)).is_ok(),
                "pattern and rule disagree on {t:?}"
            );
        }
    }

    #[test]
    fn every_operation_and_structure_is_described() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        for op in catalog::MAIN.all() {
            let id = format!("{}.{}", op.service, op.name);
            assert!(
                paths.values().any(|p| p
                    .as_object()
                    .unwrap()
                    .values()
                    .any(|o| o["operationId"] == id)),
                "{id} is missing"
            );
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        // Every $ref resolves.
        for r in text.split("#/components/schemas/").skip(1) {
            let name = r.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "unresolved $ref {name}");
        }
        let create = &paths["/api/vcenter/host"]["post"];
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["schema"]["required"],
            json!(["spec"])
        );
        assert_eq!(
            schemas["com.vmware.vcenter.host.create_spec"]["properties"]["password"]["format"],
            "password"
        );
        // Query parameters of a list are the filter's fields, flattened; a set says its elements
        // are unique (the decoder refuses a repeated one).
        let list = &paths["/api/vcenter/host"]["get"]["parameters"];
        let names = list
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "names")
            .unwrap();
        assert_eq!(names["schema"]["uniqueItems"], true);
        assert!(names["schema"].get("nullable").is_none());
        // A filter field that is a list of structures cannot be written in a query string.
        let tasks = paths["/api/cis/tasks"]["get"]["parameters"]
            .as_array()
            .unwrap();
        assert!(tasks.iter().any(|p| p["name"] == "users"));
        assert!(!tasks.iter().any(|p| p["name"] == "targets"));
        // A body of optional parameters only may be left out; one with a required one may not.
        let task_list = &paths["/api/cis/tasks"]["post"]["requestBody"];
        assert_eq!(task_list["required"], false);
        assert_eq!(create["requestBody"]["required"], true);
        // Structures and bodies declare every field the server takes; optionals may be null.
        let spec = &schemas["com.vmware.vcenter.host.create_spec"];
        assert_eq!(spec["additionalProperties"], false);
        assert_eq!(spec["properties"]["folder"]["nullable"], true);
        assert!(spec["properties"]["hostname"].get("nullable").is_none());
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["schema"]["additionalProperties"],
            false
        );
        // Datacenters are made in the root folder only.
        assert_eq!(
            schemas["com.vmware.vcenter.datacenter.create_spec"]["properties"]["folder"]["enum"],
            json!([ferrocenter_core::inventory::ROOT_FOLDER_MOID, null])
        );
    }
}
