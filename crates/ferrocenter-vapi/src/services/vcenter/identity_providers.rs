//! `com.vmware.vcenter.identity.providers` (list, get, create, update, delete) over the core's
//! `identity_providers`, which holds every rule, checks the provider and names the bad field.
//! `config_tag` also takes the guide's lower-case `oidc` and `oauth2` (declared in the
//! enumeration beside the SDK's spellings); replies always use the SDK's. Secrets are never
//! returned: `client_secret` and the LDAP `password`, which the SDK's types require, are
//! answered empty.
//!
//! Beside them, ferrocenter's own: `com.ferrocenter.vcenter.identity.trusted_roots` (the CA
//! certificates provider connections trust; the guide's "Trusted Root Certificates Store" step)
//! and `com.ferrocenter.vcenter.identity.providers.directory` (users and groups searched over
//! the provider's LDAP directory).
use std::collections::BTreeMap;

use ferrocenter_core::identity_providers::{
    roots::TrustedRoot, ClaimMap, DirectoryGroup, DirectoryUser, LdapSpec, Oauth2Spec, OidcSpec,
    ProviderInfo, ProviderSpec,
};
use ferrocenter_core::ports::BindPassword;
use serde_json::{json, Map, Value};

use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::types::{field, StructDef, Ty, Union};

const SERVICE: &str = "com.vmware.vcenter.identity.providers";
const ROOT: &str = "/vcenter/identity/providers";
const PATH: &str = "/vcenter/identity/providers/{provider}";

/// The SDK's spellings, then the guide's (accepted, never answered).
const CONFIG_TYPES: &[&str] = &["Oauth2", "Oidc", "oauth2", "oidc"];
const IDM_PROTOCOLS: &[&str] = &["REST", "SCIM", "SCIM2_0", "LDAP"];
const FEDERATION_TYPES: &[&str] = &[
    "DIRECT_FEDERATION",
    "INDIRECT_FEDERATION",
    "VMWARE_SSO_FEDERATION",
];
const AUTH_METHODS: &[&str] = &[
    "CLIENT_SECRET_BASIC",
    "CLIENT_SECRET_POST",
    "CLIENT_SECRET_JWT",
    "PRIVATE_KEY_JWT",
];

const CLAIM_MAP: Ty = Ty::Map(&Ty::Map(&Ty::List(&Ty::String)));
const QUERY_PARAMS: Ty = Ty::Map(&Ty::List(&Ty::String));

const CERT_CHAIN: StructDef = StructDef {
    name: "com.vmware.vcenter.certificate_management.x509_cert_chain",
    fields: &[field("cert_chain", Ty::List(&Ty::String))],
};

const AD_OVER_LDAP: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.active_directory_over_ldap",
    fields: &[
        field("user_name", Ty::String),
        field("password", Ty::Secret),
        field("users_base_dn", Ty::String),
        field("groups_base_dn", Ty::String),
        field("server_endpoints", Ty::List(&Ty::String)),
        field("cert_chain", Ty::Optional(&Ty::Struct(&CERT_CHAIN))),
    ],
};

const OAUTH2_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.oauth2_summary",
    fields: &[
        field("auth_endpoint", Ty::String),
        field("token_endpoint", Ty::String),
        field("client_id", Ty::String),
        field("authentication_header", Ty::String),
        field("auth_query_params", QUERY_PARAMS),
    ],
};

const OIDC_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.oidc_summary",
    fields: &[
        field("discovery_endpoint", Ty::Optional(&Ty::String)),
        field("logout_endpoint", Ty::Optional(&Ty::String)),
        field("auth_endpoint", Ty::String),
        field("token_endpoint", Ty::String),
        field("client_id", Ty::String),
        field("authentication_header", Ty::String),
        field("auth_query_params", QUERY_PARAMS),
    ],
};

const SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.summary",
    fields: &[
        field("provider", Ty::Id),
        field("name", Ty::Optional(&Ty::String)),
        field("config_tag", Ty::Enum(CONFIG_TYPES)),
        field("oauth2", Ty::Optional(&Ty::Struct(&OAUTH2_SUMMARY))),
        field("oidc", Ty::Optional(&Ty::Struct(&OIDC_SUMMARY))),
        field("is_default", Ty::Bool),
        field("domain_names", Ty::Optional(&Ty::Set(&Ty::String))),
        field("auth_query_params", Ty::Optional(&QUERY_PARAMS)),
        field("federation_type", Ty::Optional(&Ty::Enum(FEDERATION_TYPES))),
    ],
};

const OAUTH2_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.oauth2_info",
    fields: &[
        field("auth_endpoint", Ty::String),
        field("token_endpoint", Ty::String),
        field("public_key_uri", Ty::String),
        field("client_id", Ty::String),
        field("client_secret", Ty::String),
        field("claim_map", CLAIM_MAP),
        field("issuer", Ty::String),
        field("authentication_method", Ty::Enum(AUTH_METHODS)),
        field("auth_query_params", QUERY_PARAMS),
    ],
};

const OIDC_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.oidc_info",
    fields: &[
        field("discovery_endpoint", Ty::String),
        field("logout_endpoint", Ty::Optional(&Ty::String)),
        field("auth_endpoint", Ty::String),
        field("token_endpoint", Ty::String),
        field("public_key_uri", Ty::String),
        field("client_id", Ty::String),
        field("client_secret", Ty::String),
        field("claim_map", CLAIM_MAP),
        field("issuer", Ty::String),
        field("authentication_method", Ty::Enum(AUTH_METHODS)),
        field("auth_query_params", QUERY_PARAMS),
    ],
};

const INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.info",
    fields: &[
        field("name", Ty::Optional(&Ty::String)),
        field("org_ids", Ty::Set(&Ty::String)),
        field("config_tag", Ty::Enum(CONFIG_TYPES)),
        field("oauth2", Ty::Optional(&Ty::Struct(&OAUTH2_INFO))),
        field("oidc", Ty::Optional(&Ty::Struct(&OIDC_INFO))),
        field("is_default", Ty::Bool),
        field("domain_names", Ty::Optional(&Ty::Set(&Ty::String))),
        field("auth_query_params", Ty::Optional(&QUERY_PARAMS)),
        field("idm_protocol", Ty::Optional(&Ty::Enum(IDM_PROTOCOLS))),
        field("idm_endpoints", Ty::Optional(&Ty::List(&Ty::String))),
        field(
            "active_directory_over_ldap",
            Ty::Optional(&Ty::Struct(&AD_OVER_LDAP)),
        ),
        field("upn_claim", Ty::Optional(&Ty::String)),
        field("groups_claim", Ty::Optional(&Ty::String)),
        field("federation_type", Ty::Optional(&Ty::Enum(FEDERATION_TYPES))),
    ],
};

const OAUTH2_CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.oauth2_create_spec",
    fields: &[
        field("auth_endpoint", Ty::String),
        field("token_endpoint", Ty::String),
        field("public_key_uri", Ty::String),
        field("client_id", Ty::String),
        field("client_secret", Ty::String),
        field("claim_map", CLAIM_MAP),
        field("issuer", Ty::String),
        field("authentication_method", Ty::Enum(AUTH_METHODS)),
        field("auth_query_params", Ty::Optional(&QUERY_PARAMS)),
    ],
};

const OAUTH2_UPDATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.oauth2_update_spec",
    fields: &[
        field("auth_endpoint", Ty::Optional(&Ty::String)),
        field("token_endpoint", Ty::Optional(&Ty::String)),
        field("public_key_uri", Ty::Optional(&Ty::String)),
        field("client_id", Ty::Optional(&Ty::String)),
        field("client_secret", Ty::Optional(&Ty::String)),
        field("claim_map", Ty::Optional(&CLAIM_MAP)),
        field("issuer", Ty::Optional(&Ty::String)),
        field(
            "authentication_method",
            Ty::Optional(&Ty::Enum(AUTH_METHODS)),
        ),
        field("auth_query_params", Ty::Optional(&QUERY_PARAMS)),
    ],
};

const OIDC_CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.oidc_create_spec",
    fields: &[
        field("discovery_endpoint", Ty::String),
        field("client_id", Ty::String),
        field("client_secret", Ty::String),
        field("claim_map", CLAIM_MAP),
    ],
};

const OIDC_UPDATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.oidc_update_spec",
    fields: &[
        field("discovery_endpoint", Ty::Optional(&Ty::String)),
        field("client_id", Ty::Optional(&Ty::String)),
        field("client_secret", Ty::Optional(&Ty::String)),
        field("claim_map", Ty::Optional(&CLAIM_MAP)),
    ],
};

/// The fields `create_spec` and `update_spec` share after the OAuth2 and OIDC parts.
macro_rules! spec_tail {
    ($($head:expr),* ; $($tail:expr),*) => {
        &[
            field("config_tag", Ty::Enum(CONFIG_TYPES)),
            $($head,)*
            field("org_ids", Ty::Optional(&Ty::Set(&Ty::String))),
            field("name", Ty::Optional(&Ty::String)),
            field("domain_names", Ty::Optional(&Ty::Set(&Ty::String))),
            field("auth_query_params", Ty::Optional(&QUERY_PARAMS)),
            field("idm_protocol", Ty::Optional(&Ty::Enum(IDM_PROTOCOLS))),
            field("idm_endpoints", Ty::Optional(&Ty::List(&Ty::String))),
            field(
                "active_directory_over_ldap",
                Ty::Optional(&Ty::Struct(&AD_OVER_LDAP)),
            ),
            field("upn_claim", Ty::Optional(&Ty::String)),
            field("groups_claim", Ty::Optional(&Ty::String)),
            field("federation_type", Ty::Optional(&Ty::Enum(FEDERATION_TYPES))),
            $($tail,)*
        ]
    };
}

const CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.create_spec",
    fields: spec_tail!(
        field("oauth2", Ty::Optional(&Ty::Struct(&OAUTH2_CREATE_SPEC))),
        field("oidc", Ty::Optional(&Ty::Struct(&OIDC_CREATE_SPEC))),
        field("is_default", Ty::Optional(&Ty::Bool));
    ),
};

const UPDATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.identity.providers.update_spec",
    fields: spec_tail!(
        field("oauth2", Ty::Optional(&Ty::Struct(&OAUTH2_UPDATE_SPEC))),
        field("oidc", Ty::Optional(&Ty::Struct(&OIDC_UPDATE_SPEC))),
        field("make_default", Ty::Optional(&Ty::Bool));
        field("reset_upn_claim", Ty::Optional(&Ty::Bool)),
        field("reset_groups_claim", Ty::Optional(&Ty::Bool))
    ),
};

pub const SUMMARY_UNION: Union = Union {
    structure: "com.vmware.vcenter.identity.providers.summary",
    discriminant: "config_tag",
    cases: &[("Oauth2", &[("oauth2", true)]), ("Oidc", &[("oidc", true)])],
};

pub const INFO_UNION: Union = Union {
    structure: "com.vmware.vcenter.identity.providers.info",
    discriminant: "config_tag",
    cases: &[("Oauth2", &[("oauth2", true)]), ("Oidc", &[("oidc", true)])],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "list",
        &[],
        Ty::List(&Ty::Struct(&SUMMARY)),
        &[http("GET", ROOT)],
        list,
    ),
    op(
        SERVICE,
        "get",
        &[field("provider", Ty::Id)],
        Ty::Struct(&INFO),
        &[http("GET", PATH)],
        get,
    ),
    op(
        SERVICE,
        "create",
        &[field("spec", Ty::Struct(&CREATE_SPEC))],
        Ty::Id,
        &[http("POST", ROOT)],
        create,
    ),
    op(
        SERVICE,
        "update",
        &[
            field("provider", Ty::Id),
            field("spec", Ty::Struct(&UPDATE_SPEC)),
        ],
        Ty::Void,
        &[http("PATCH", PATH)],
        update,
    ),
    op(
        SERVICE,
        "delete",
        &[field("provider", Ty::Id)],
        Ty::Void,
        &[http("DELETE", PATH)],
        delete,
    ),
];

const ROOTS_SERVICE: &str = "com.ferrocenter.vcenter.identity.trusted_roots";
const ROOTS_PATH: &str = "/vcenter/identity/trusted-roots";

const TRUSTED_ROOT: StructDef = StructDef {
    name: "com.ferrocenter.vcenter.identity.trusted_roots.info",
    fields: &[field("root", Ty::Id), field("cert_text", Ty::String)],
};

pub const ROOTS_OPS: &[Op] = &[
    op(
        ROOTS_SERVICE,
        "list",
        &[],
        Ty::List(&Ty::Struct(&TRUSTED_ROOT)),
        &[http("GET", ROOTS_PATH)],
        roots_list,
    ),
    op(
        ROOTS_SERVICE,
        "create",
        &[field("cert_text", Ty::String)],
        Ty::Id,
        &[http("POST", ROOTS_PATH)],
        roots_create,
    ),
    op(
        ROOTS_SERVICE,
        "delete",
        &[field("root", Ty::Id)],
        Ty::Void,
        &[http("DELETE", "/vcenter/identity/trusted-roots/{root}")],
        roots_delete,
    ),
];

const DIRECTORY_SERVICE: &str = "com.ferrocenter.vcenter.identity.providers.directory";
const DIRECTORY_PATH: &str = "/vcenter/identity/providers/{provider}/directory";

const DIRECTORY_USER: StructDef = StructDef {
    name: "com.ferrocenter.vcenter.identity.providers.directory.user",
    fields: &[
        field("dn", Ty::String),
        field("name", Ty::String),
        field("display_name", Ty::Optional(&Ty::String)),
        field("upn", Ty::Optional(&Ty::String)),
    ],
};

const DIRECTORY_GROUP: StructDef = StructDef {
    name: "com.ferrocenter.vcenter.identity.providers.directory.group",
    fields: &[
        field("dn", Ty::String),
        field("name", Ty::String),
        field("members", Ty::List(&Ty::String)),
    ],
};

const SEARCH_INPUT: &[crate::types::Field] = &[
    field("provider", Ty::Id),
    field("query", Ty::Optional(&Ty::String)),
    field("limit", Ty::Optional(&Ty::Long)),
];

pub const DIRECTORY_OPS: &[Op] = &[
    op(
        DIRECTORY_SERVICE,
        "search_users",
        SEARCH_INPUT,
        Ty::List(&Ty::Struct(&DIRECTORY_USER)),
        &[http_action("POST", DIRECTORY_PATH, "search-users")],
        search_users,
    ),
    op(
        DIRECTORY_SERVICE,
        "search_groups",
        SEARCH_INPUT,
        Ty::List(&Ty::Struct(&DIRECTORY_GROUP)),
        &[http_action("POST", DIRECTORY_PATH, "search-groups")],
        search_groups,
    ),
];

fn authentication_header() -> &'static str {
    "Authorization"
}

fn summary(p: &ProviderInfo) -> Value {
    let c = &p.config;
    let mut out = Map::new();
    out.insert("provider".into(), json!(p.id));
    if let Some(n) = &p.name {
        out.insert("name".into(), json!(n));
    }
    out.insert("config_tag".into(), json!(c.config_tag.as_str()));
    out.insert("is_default".into(), json!(p.is_default));
    if let Some(o) = &c.oidc {
        let d = o.discovered.clone().unwrap_or_else(|| {
            ferrocenter_core::identity_providers::Discovered {
                issuer: String::new(),
                auth_endpoint: String::new(),
                token_endpoint: String::new(),
                logout_endpoint: None,
                public_key_uri: String::new(),
            }
        });
        let mut s = json!({
            "discovery_endpoint": o.discovery_endpoint,
            "auth_endpoint": d.auth_endpoint,
            "token_endpoint": d.token_endpoint,
            "client_id": o.client_id,
            "authentication_header": authentication_header(),
            "auth_query_params": {},
        });
        if let Some(l) = d.logout_endpoint {
            s["logout_endpoint"] = json!(l);
        }
        out.insert("oidc".into(), s);
    }
    if let Some(o) = &c.oauth2 {
        out.insert(
            "oauth2".into(),
            json!({
                "auth_endpoint": o.auth_endpoint,
                "token_endpoint": o.token_endpoint,
                "client_id": o.client_id,
                "authentication_header": authentication_header(),
                "auth_query_params": o.auth_query_params,
            }),
        );
    }
    Value::Object(out)
}

fn info(p: &ProviderInfo) -> Value {
    let c = &p.config;
    let mut out = Map::new();
    if let Some(n) = &p.name {
        out.insert("name".into(), json!(n));
    }
    out.insert("org_ids".into(), json!([]));
    out.insert("config_tag".into(), json!(c.config_tag.as_str()));
    out.insert("is_default".into(), json!(p.is_default));
    out.insert("upn_claim".into(), json!(c.upn_claim));
    if let Some(g) = &c.groups_claim {
        out.insert("groups_claim".into(), json!(g));
    }
    if let Some(o) = &c.oidc {
        let d = o.discovered.clone();
        let text = |f: fn(&ferrocenter_core::identity_providers::Discovered) -> String| {
            d.as_ref().map(f).unwrap_or_default()
        };
        let mut s = json!({
            "discovery_endpoint": o.discovery_endpoint,
            "auth_endpoint": text(|d| d.auth_endpoint.clone()),
            "token_endpoint": text(|d| d.token_endpoint.clone()),
            "public_key_uri": text(|d| d.public_key_uri.clone()),
            "client_id": o.client_id,
            "client_secret": "",
            "claim_map": o.claim_map,
            "issuer": text(|d| d.issuer.clone()),
            "authentication_method": "CLIENT_SECRET_BASIC",
            "auth_query_params": {},
        });
        if let Some(l) = d.and_then(|d| d.logout_endpoint) {
            s["logout_endpoint"] = json!(l);
        }
        out.insert("oidc".into(), s);
    }
    if let Some(o) = &c.oauth2 {
        out.insert(
            "oauth2".into(),
            json!({
                "auth_endpoint": o.auth_endpoint,
                "token_endpoint": o.token_endpoint,
                "public_key_uri": o.public_key_uri,
                "client_id": o.client_id,
                "client_secret": "",
                "claim_map": o.claim_map,
                "issuer": o.issuer,
                "authentication_method": o.authentication_method,
                "auth_query_params": o.auth_query_params,
            }),
        );
    }
    if let Some(l) = &c.ldap {
        out.insert("idm_protocol".into(), json!("LDAP"));
        let mut a = json!({
            "user_name": l.user_name,
            "password": "",
            "users_base_dn": l.users_base_dn,
            "groups_base_dn": l.groups_base_dn,
            "server_endpoints": l.server_endpoints,
        });
        if let Some(ch) = &l.cert_chain {
            a["cert_chain"] = json!({ "cert_chain": ch });
        }
        out.insert("active_directory_over_ldap".into(), a);
    }
    Value::Object(out)
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(String::from)
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    })
}

fn claim_map(v: Option<&Value>) -> Option<ClaimMap> {
    v.filter(|v| v.is_object())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

fn query_params(v: Option<&Value>) -> Option<BTreeMap<String, Vec<String>>> {
    v.filter(|v| v.is_object())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// The decoded `spec` (types already checked by the registry) as the core takes it.
fn spec(call: &Call) -> ProviderSpec {
    let s = call.get("spec").cloned().unwrap_or_default();
    let flag = |k: &str| s.get(k).and_then(Value::as_bool);
    ProviderSpec {
        config_tag: text(&s, "config_tag").unwrap_or_default(),
        name: text(&s, "name"),
        is_default: flag("is_default").or(flag("make_default")),
        upn_claim: text(&s, "upn_claim"),
        reset_upn_claim: flag("reset_upn_claim").unwrap_or(false),
        groups_claim: text(&s, "groups_claim"),
        reset_groups_claim: flag("reset_groups_claim").unwrap_or(false),
        oidc: s.get("oidc").filter(|v| v.is_object()).map(|o| OidcSpec {
            discovery_endpoint: text(o, "discovery_endpoint"),
            client_id: text(o, "client_id"),
            client_secret: text(o, "client_secret"),
            claim_map: claim_map(o.get("claim_map")),
        }),
        oauth2: s
            .get("oauth2")
            .filter(|v| v.is_object())
            .map(|o| Oauth2Spec {
                auth_endpoint: text(o, "auth_endpoint"),
                token_endpoint: text(o, "token_endpoint"),
                public_key_uri: text(o, "public_key_uri"),
                client_id: text(o, "client_id"),
                client_secret: text(o, "client_secret"),
                claim_map: claim_map(o.get("claim_map")),
                issuer: text(o, "issuer"),
                authentication_method: text(o, "authentication_method"),
                auth_query_params: query_params(o.get("auth_query_params")),
            }),
        idm_protocol: text(&s, "idm_protocol"),
        active_directory_over_ldap: s
            .get("active_directory_over_ldap")
            .filter(|v| v.is_object())
            .map(|a| LdapSpec {
                user_name: text(a, "user_name"),
                password: text(a, "password").map(BindPassword::new),
                users_base_dn: text(a, "users_base_dn"),
                groups_base_dn: text(a, "groups_base_dn"),
                server_endpoints: strings(a.get("server_endpoints")),
                cert_chain: a
                    .get("cert_chain")
                    .and_then(|c| strings(c.get("cert_chain"))),
            }),
    }
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let all = call.state.core.identity_provider_list(&caller).await?;
        Ok(Out::Value(Value::Array(all.iter().map(summary).collect())))
    })
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let p = call
            .state
            .core
            .identity_provider_get(&caller, call.text("provider"))
            .await?;
        Ok(Out::Value(info(&p)))
    })
}

fn create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let id = call
            .state
            .core
            .identity_provider_create(&caller, spec(&call))
            .await?;
        Ok(Out::Value(json!(id)))
    })
}

fn update(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .identity_provider_update(&caller, call.text("provider"), spec(&call))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .identity_provider_delete(&caller, call.text("provider"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn root(r: &TrustedRoot) -> Value {
    json!({ "root": r.id, "cert_text": r.pem })
}

fn roots_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let all = call.state.core.identity_trusted_roots(&caller).await?;
        Ok(Out::Value(Value::Array(all.iter().map(root).collect())))
    })
}

fn roots_create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let id = call
            .state
            .core
            .identity_trusted_root_add(&caller, call.text("cert_text"))
            .await?;
        Ok(Out::Value(json!(id)))
    })
}

fn roots_delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .identity_trusted_root_delete(&caller, call.text("root"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn search_args(call: &Call) -> (String, usize) {
    let q = call
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let limit = call
        .get("limit")
        .and_then(Value::as_i64)
        .map(|n| usize::try_from(n).unwrap_or(1))
        .unwrap_or(100);
    (q, limit)
}

fn user(u: &DirectoryUser) -> Value {
    let mut v = json!({ "dn": u.dn, "name": u.name });
    if let Some(d) = &u.display_name {
        v["display_name"] = json!(d);
    }
    if let Some(d) = &u.upn {
        v["upn"] = json!(d);
    }
    v
}

fn group(g: &DirectoryGroup) -> Value {
    json!({ "dn": g.dn, "name": g.name, "members": g.members })
}

fn search_users(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let (q, limit) = search_args(&call);
        let found = call
            .state
            .core
            .identity_provider_search_users(&caller, call.text("provider"), &q, limit)
            .await?;
        Ok(Out::Value(Value::Array(found.iter().map(user).collect())))
    })
}

fn search_groups(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let (q, limit) = search_args(&call);
        let found = call
            .state
            .core
            .identity_provider_search_groups(&caller, call.text("provider"), &q, limit)
            .await?;
        Ok(Out::Value(Value::Array(found.iter().map(group).collect())))
    })
}
