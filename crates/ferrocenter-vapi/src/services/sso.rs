//! `com.ferrocenter.sso.*`: the local SSO domain's users, groups and policies over the core's
//! `sso` module, which holds every rule and names the bad field. ferrocenter's own services:
//! vSphere has no Automation API for SSO administration (its SSO admin API is SOAP, not
//! served), so these follow the vAPI conventions under `/api/ferrocenter/sso`.
use ferrocenter_core::sso::{
    SsoGroup, SsoLockoutPolicy, SsoPasswordPolicy, SsoUser, UserDetails, UserSpec,
};
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::types::{field, Field, StructDef, Ty};
use crate::wire::datetime;

const USERS: &str = "com.ferrocenter.sso.users";
const SELF: &str = "com.ferrocenter.sso.users.self";
const GROUPS: &str = "com.ferrocenter.sso.groups";
const PASSWORD_POLICY: &str = "com.ferrocenter.sso.password_policy";
const LOCKOUT_POLICY: &str = "com.ferrocenter.sso.lockout_policy";
const SIGNING_CERTIFICATES: &str = "com.ferrocenter.sso.signing_certificates";

const USERS_PATH: &str = "/ferrocenter/sso/users";
const USER_PATH: &str = "/ferrocenter/sso/users/{name}";
const SELF_PATH: &str = "/ferrocenter/sso/self";
const GROUPS_PATH: &str = "/ferrocenter/sso/groups";
const GROUP_PATH: &str = "/ferrocenter/sso/groups/{name}";
const PASSWORD_POLICY_PATH: &str = "/ferrocenter/sso/password-policy";
const LOCKOUT_POLICY_PATH: &str = "/ferrocenter/sso/lockout-policy";
const SIGNING_CERTIFICATES_PATH: &str = "/ferrocenter/sso/signing-certificates";

const NAME: Ty = Ty::Rule(Rule::AccountName);
const TEXT: Ty = Ty::Optional(&Ty::Rule(Rule::DisplayText));

const USER_INFO: StructDef = StructDef {
    name: "com.ferrocenter.sso.users.info",
    fields: &[
        field("name", Ty::String),
        field("domain", Ty::String),
        field("full_name", Ty::Optional(&Ty::String)),
        field("email", Ty::Optional(&Ty::String)),
        field("description", Ty::Optional(&Ty::String)),
        field("disabled", Ty::Bool),
        field("built_in", Ty::Bool),
        field("password_last_set", Ty::DateTime),
        field("password_expires_at", Ty::Optional(&Ty::DateTime)),
        field("groups", Ty::List(&Ty::String)),
    ],
};

const USER_SPEC: StructDef = StructDef {
    name: "com.ferrocenter.sso.users.create_spec",
    fields: &[
        field("name", NAME),
        field("password", Ty::Secret),
        field("full_name", TEXT),
        field("email", Ty::Optional(&Ty::Rule(Rule::Email))),
        field("description", TEXT),
    ],
};

const USER_DETAILS: StructDef = StructDef {
    name: "com.ferrocenter.sso.users.update_spec",
    fields: &[
        field("full_name", TEXT),
        field("email", Ty::Optional(&Ty::Rule(Rule::Email))),
        field("description", TEXT),
    ],
};

const GROUP_INFO: StructDef = StructDef {
    name: "com.ferrocenter.sso.groups.info",
    fields: &[
        field("name", Ty::String),
        field("domain", Ty::String),
        field("description", Ty::String),
        field("role", Ty::Optional(&Ty::String)),
        field("built_in", Ty::Bool),
        field("members", Ty::List(&Ty::String)),
    ],
};

const GROUP_SPEC: StructDef = StructDef {
    name: "com.ferrocenter.sso.groups.create_spec",
    fields: &[field("name", NAME), field("description", TEXT)],
};

const PASSWORD_POLICY_INFO: StructDef = StructDef {
    name: "com.ferrocenter.sso.password_policy.info",
    fields: &[
        field("min_length", Ty::Long),
        field("max_length", Ty::Long),
        field("min_uppercase", Ty::Long),
        field("min_lowercase", Ty::Long),
        field("min_numeric", Ty::Long),
        field("min_special", Ty::Long),
        field("history", Ty::Long),
        field("max_lifetime_days", Ty::Long),
    ],
};

const LOCKOUT_POLICY_INFO: StructDef = StructDef {
    name: "com.ferrocenter.sso.lockout_policy.info",
    fields: &[
        field("max_failed_attempts", Ty::Long),
        field("failed_attempt_interval_secs", Ty::Long),
        field("auto_unlock_secs", Ty::Long),
    ],
};

const SIGNING_CERTIFICATE_INFO: StructDef = StructDef {
    name: "com.ferrocenter.sso.signing_certificates.info",
    fields: &[field("certificate", Ty::String), field("current", Ty::Bool)],
};

const BY_NAME: &[Field] = &[field("name", NAME)];
/// A member is a local user (the account name rule) or a federated group `domain\group`:
/// one schema cannot say both, so the core checks each name and names the bad one.
const MEMBERS: &[Field] = &[field("name", NAME), field("users", Ty::List(&Ty::String))];

pub const OPS: &[Op] = &[
    op(
        USERS,
        "list",
        &[],
        Ty::List(&Ty::Struct(&USER_INFO)),
        &[http("GET", USERS_PATH)],
        users_list,
    ),
    op(
        USERS,
        "get",
        BY_NAME,
        Ty::Struct(&USER_INFO),
        &[http("GET", USER_PATH)],
        user_get,
    ),
    op(
        USERS,
        "create",
        &[field("spec", Ty::Struct(&USER_SPEC))],
        Ty::Struct(&USER_INFO),
        &[http("POST", USERS_PATH)],
        user_create,
    ),
    op(
        USERS,
        "update",
        &[
            field("name", NAME),
            field("spec", Ty::Struct(&USER_DETAILS)),
        ],
        Ty::Void,
        &[http("PATCH", USER_PATH)],
        user_update,
    ),
    op(
        USERS,
        "delete",
        BY_NAME,
        Ty::Void,
        &[http("DELETE", USER_PATH)],
        user_delete,
    ),
    op(
        USERS,
        "set_password",
        &[field("name", NAME), field("password", Ty::Secret)],
        Ty::Void,
        &[http_action("POST", USER_PATH, "set-password")],
        user_set_password,
    ),
    op(
        USERS,
        "unlock",
        BY_NAME,
        Ty::Void,
        &[http_action("POST", USER_PATH, "unlock")],
        user_unlock,
    ),
    op(
        USERS,
        "disable",
        BY_NAME,
        Ty::Void,
        &[http_action("POST", USER_PATH, "disable")],
        user_disable,
    ),
    op(
        USERS,
        "enable",
        BY_NAME,
        Ty::Void,
        &[http_action("POST", USER_PATH, "enable")],
        user_enable,
    ),
    op(
        SELF,
        "change_password",
        &[
            field("current_password", Ty::Secret),
            field("new_password", Ty::Secret),
        ],
        Ty::Void,
        &[http_action("POST", SELF_PATH, "change-password")],
        change_own_password,
    ),
    op(
        GROUPS,
        "list",
        &[],
        Ty::List(&Ty::Struct(&GROUP_INFO)),
        &[http("GET", GROUPS_PATH)],
        groups_list,
    ),
    op(
        GROUPS,
        "get",
        BY_NAME,
        Ty::Struct(&GROUP_INFO),
        &[http("GET", GROUP_PATH)],
        group_get,
    ),
    op(
        GROUPS,
        "create",
        &[field("spec", Ty::Struct(&GROUP_SPEC))],
        Ty::Struct(&GROUP_INFO),
        &[http("POST", GROUPS_PATH)],
        group_create,
    ),
    op(
        GROUPS,
        "delete",
        BY_NAME,
        Ty::Void,
        &[http("DELETE", GROUP_PATH)],
        group_delete,
    ),
    op(
        GROUPS,
        "add_members",
        MEMBERS,
        Ty::Void,
        &[http_action("POST", GROUP_PATH, "add-members")],
        group_add_members,
    ),
    op(
        GROUPS,
        "remove_members",
        MEMBERS,
        Ty::Void,
        &[http_action("POST", GROUP_PATH, "remove-members")],
        group_remove_members,
    ),
    op(
        PASSWORD_POLICY,
        "get",
        &[],
        Ty::Struct(&PASSWORD_POLICY_INFO),
        &[http("GET", PASSWORD_POLICY_PATH)],
        password_policy_get,
    ),
    op(
        PASSWORD_POLICY,
        "set",
        &[field("policy", Ty::Struct(&PASSWORD_POLICY_INFO))],
        Ty::Void,
        &[http("PUT", PASSWORD_POLICY_PATH)],
        password_policy_set,
    ),
    op(
        LOCKOUT_POLICY,
        "get",
        &[],
        Ty::Struct(&LOCKOUT_POLICY_INFO),
        &[http("GET", LOCKOUT_POLICY_PATH)],
        lockout_policy_get,
    ),
    op(
        LOCKOUT_POLICY,
        "set",
        &[field("policy", Ty::Struct(&LOCKOUT_POLICY_INFO))],
        Ty::Void,
        &[http("PUT", LOCKOUT_POLICY_PATH)],
        lockout_policy_set,
    ),
    op(
        SIGNING_CERTIFICATES,
        "list",
        &[],
        Ty::List(&Ty::Struct(&SIGNING_CERTIFICATE_INFO)),
        &[http("GET", SIGNING_CERTIFICATES_PATH)],
        signing_certificates_list,
    ),
    op(
        SIGNING_CERTIFICATES,
        "rotate",
        &[],
        Ty::String,
        &[http_action("POST", SIGNING_CERTIFICATES_PATH, "rotate")],
        signing_key_rotate,
    ),
];

/// Sets `key` to `v` unless it is unset (vAPI omits unset optionals in the native form).
fn put(out: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        out.insert(key.to_string(), v);
    }
}

fn user(u: SsoUser) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(u.name));
    out.insert("domain".into(), json!(u.domain));
    put(&mut out, "full_name", u.full_name.map(Value::from));
    put(&mut out, "email", u.email.map(Value::from));
    put(&mut out, "description", u.description.map(Value::from));
    out.insert("disabled".into(), json!(u.disabled));
    out.insert("built_in".into(), json!(u.built_in));
    out.insert(
        "password_last_set".into(),
        json!(datetime(u.password_last_set)),
    );
    put(
        &mut out,
        "password_expires_at",
        u.password_expires_at.map(|t| json!(datetime(t))),
    );
    out.insert("groups".into(), json!(u.groups));
    Value::Object(out)
}

fn group(g: SsoGroup) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(g.name));
    out.insert("domain".into(), json!(g.domain));
    out.insert("description".into(), json!(g.description));
    put(&mut out, "role", g.role.map(|r| json!(r.as_str())));
    out.insert("built_in".into(), json!(g.built_in));
    out.insert("members".into(), json!(g.members));
    Value::Object(out)
}

/// The decoded struct `param` (types already checked by the registry).
fn structure(call: &Call, param: &str) -> Value {
    call.get(param).cloned().unwrap_or_default()
}

fn opt_text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(String::from)
}

/// A policy count: the registry checked it is an integer; the core checks its range, so
/// here only what cannot be a count is refused, naming the field.
fn count<T: TryFrom<i64>>(v: &Value, k: &str) -> Result<T, CoreError> {
    let n = v.get(k).and_then(Value::as_i64).unwrap_or_default();
    T::try_from(n).map_err(|_| {
        CoreError::invalid(
            format!("policy.{k}"),
            "must be a non-negative integer within range",
        )
    })
}

fn details(v: &Value) -> UserDetails {
    UserDetails {
        full_name: opt_text(v, "full_name"),
        email: opt_text(v, "email"),
        description: opt_text(v, "description"),
    }
}

fn users_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let all = call.state.core.sso_users_list(&caller).await?;
        Ok(Out::Value(Value::Array(
            all.into_iter().map(user).collect(),
        )))
    })
}

fn user_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let u = call
            .state
            .core
            .sso_user_get(&caller, call.text("name"))
            .await?;
        Ok(Out::Value(user(u)))
    })
}

fn user_create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let s = structure(&call, "spec");
        let spec = UserSpec {
            name: opt_text(&s, "name").unwrap_or_default(),
            password: opt_text(&s, "password").unwrap_or_default(),
            details: details(&s),
        };
        let u = call.state.core.sso_user_create(&caller, spec).await?;
        Ok(Out::Value(user(u)))
    })
}

fn user_update(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let d = details(&structure(&call, "spec"));
        call.state
            .core
            .sso_user_update(&caller, call.text("name"), d)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn user_delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .sso_user_delete(&caller, call.text("name"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn user_set_password(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .sso_user_set_password(&caller, call.text("name"), call.text("password"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn user_unlock(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .sso_user_unlock(&caller, call.text("name"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn user_disable(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .sso_user_disable(&caller, call.text("name"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn user_enable(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .sso_user_enable(&caller, call.text("name"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn change_own_password(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .sso_change_own_password(
                &caller,
                call.text("current_password"),
                call.text("new_password"),
            )
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn groups_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let all = call.state.core.sso_groups_list(&caller).await?;
        Ok(Out::Value(Value::Array(
            all.into_iter().map(group).collect(),
        )))
    })
}

fn group_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let g = call
            .state
            .core
            .sso_group_get(&caller, call.text("name"))
            .await?;
        Ok(Out::Value(group(g)))
    })
}

fn group_create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let s = structure(&call, "spec");
        let g = call
            .state
            .core
            .sso_group_create(
                &caller,
                &opt_text(&s, "name").unwrap_or_default(),
                &opt_text(&s, "description").unwrap_or_default(),
            )
            .await?;
        Ok(Out::Value(group(g)))
    })
}

fn group_delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .sso_group_delete(&caller, call.text("name"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn members(call: &Call) -> Vec<String> {
    call.get("users")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn group_add_members(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let users = members(&call);
        call.state
            .core
            .sso_group_add_members(&caller, call.text("name"), &users)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn group_remove_members(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let users = members(&call);
        call.state
            .core
            .sso_group_remove_members(&caller, call.text("name"), &users)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn password_policy_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let p = call.state.core.sso_password_policy_get(&caller).await?;
        Ok(Out::Value(json!({
            "min_length": p.min_length,
            "max_length": p.max_length,
            "min_uppercase": p.min_uppercase,
            "min_lowercase": p.min_lowercase,
            "min_numeric": p.min_numeric,
            "min_special": p.min_special,
            "history": p.history,
            "max_lifetime_days": p.max_lifetime_days,
        })))
    })
}

fn password_policy_set(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let v = structure(&call, "policy");
        let p = SsoPasswordPolicy {
            min_length: count(&v, "min_length")?,
            max_length: count(&v, "max_length")?,
            min_uppercase: count(&v, "min_uppercase")?,
            min_lowercase: count(&v, "min_lowercase")?,
            min_numeric: count(&v, "min_numeric")?,
            min_special: count(&v, "min_special")?,
            history: count(&v, "history")?,
            max_lifetime_days: count(&v, "max_lifetime_days")?,
        };
        call.state.core.sso_password_policy_set(&caller, p).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn lockout_policy_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let p = call.state.core.sso_lockout_policy_get(&caller).await?;
        Ok(Out::Value(json!({
            "max_failed_attempts": p.max_failed_attempts,
            "failed_attempt_interval_secs": p.failed_attempt_interval_secs,
            "auto_unlock_secs": p.auto_unlock_secs,
        })))
    })
}

fn lockout_policy_set(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let v = structure(&call, "policy");
        let p = SsoLockoutPolicy {
            max_failed_attempts: count(&v, "max_failed_attempts")?,
            failed_attempt_interval_secs: count(&v, "failed_attempt_interval_secs")?,
            auto_unlock_secs: count(&v, "auto_unlock_secs")?,
        };
        call.state.core.sso_lockout_policy_set(&caller, p).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn signing_certificates_list(call: Call) -> Reply {
    Box::pin(async move {
        call.caller().await?;
        let all = call.state.core.token_signing_certificates().await?;
        Ok(Out::Value(Value::Array(
            all.into_iter()
                .enumerate()
                .map(|(i, pem)| json!({"certificate": pem, "current": i == 0}))
                .collect(),
        )))
    })
}

fn signing_key_rotate(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let cert = call.state.core.rotate_token_signing_key(&caller).await?;
        Ok(Out::Value(json!(cert)))
    })
}
