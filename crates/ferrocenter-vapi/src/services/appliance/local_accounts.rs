//! `com.vmware.appliance.local_accounts` (get, list, create, set, update, delete) and
//! `com.vmware.appliance.local_accounts.policy` (get, set): the appliance's local accounts over
//! the core's `appliance::accounts`, which holds every rule and names the bad field.
use ferrocenter_core::appliance::accounts::{AccountConfig, AccountInfo, PolicyInfo};
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::types::{field, parse_datetime, Field, StructDef, Ty};
use crate::wire::datetime;

const SERVICE: &str = "com.vmware.appliance.local_accounts";
const POLICY_SERVICE: &str = "com.vmware.appliance.local_accounts.policy";
const ACCOUNT_PATH: &str = "/appliance/local-accounts/{username}";
const POLICY_PATH: &str = "/appliance/local-accounts/global-policy";

const LONG: Ty = Ty::Optional(&Ty::Long);
const DAYS: Ty = Ty::Optional(&Ty::Rule(Rule::PasswordDays));
const COUNT: Ty = Ty::Optional(&Ty::Rule(Rule::CharCount));
const NAME: Ty = Ty::Rule(Rule::AccountName);

const INFO: StructDef = StructDef {
    name: "com.vmware.appliance.local_accounts.info",
    fields: &[
        field("fullname", Ty::Optional(&Ty::String)),
        field("email", Ty::Optional(&Ty::String)),
        field("roles", Ty::List(&Ty::Id)),
        field("enabled", Ty::Bool),
        field("has_password", Ty::Bool),
        field("last_password_change", Ty::Optional(&Ty::DateTime)),
        field("password_expires_at", Ty::Optional(&Ty::DateTime)),
        field("inactive_at", Ty::Optional(&Ty::DateTime)),
        field("min_days_between_password_change", LONG),
        field("max_days_between_password_change", LONG),
        field("warn_days_before_password_expiration", LONG),
    ],
};

/// The fields `config` and `update_config` share after the password and roles.
macro_rules! config_fields {
    ($password:expr, $roles:expr) => {
        &[
            field("password", $password),
            field("old_password", Ty::Optional(&Ty::Secret)),
            field("full_name", Ty::Optional(&Ty::Rule(Rule::DisplayText))),
            field("email", Ty::Optional(&Ty::Rule(Rule::Email))),
            field("roles", $roles),
            field("enabled", Ty::Optional(&Ty::Bool)),
            field("password_expires", Ty::Optional(&Ty::Bool)),
            field("password_expires_at", Ty::Optional(&Ty::DateTime)),
            field(
                "inactive_after_password_expiration",
                Ty::Optional(&Ty::Bool),
            ),
            field("days_after_password_expiration", DAYS),
            field("min_days_between_password_change", DAYS),
            field("max_days_between_password_change", DAYS),
            field("warn_days_before_password_expiration", DAYS),
        ]
    };
}

const CONFIG: StructDef = StructDef {
    name: "com.vmware.appliance.local_accounts.config",
    fields: config_fields!(Ty::Secret, Ty::Rule(Rule::AccountRoles)),
};

const UPDATE_CONFIG: StructDef = StructDef {
    name: "com.vmware.appliance.local_accounts.update_config",
    fields: config_fields!(
        Ty::Optional(&Ty::Secret),
        Ty::Optional(&Ty::Rule(Rule::AccountRoles))
    ),
};

const POLICY_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.local_accounts.policy.info",
    fields: &[
        field("max_days", DAYS),
        field("min_days", DAYS),
        field("warn_days", DAYS),
        field("prior_password_remember_count", LONG),
        field("failed_attempt_count_before_account_lockout", LONG),
        field("length_of_lockout_period_in_seconds", LONG),
        field("fail_interval_between_attempts", LONG),
        field(
            "minimum_length",
            Ty::Optional(&Ty::Rule(Rule::MinimumLength)),
        ),
        field("minimum_uppercase_char_count", COUNT),
        field("minimum_lowercase_char_count", COUNT),
        field("minimum_numerics_char_count", COUNT),
        field("minimum_special_char_count", COUNT),
        field("managed_at_fleet", Ty::Optional(&Ty::Bool)),
    ],
};

const USERNAME: &[Field] = &[field("username", NAME)];

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "get",
        USERNAME,
        Ty::Struct(&INFO),
        &[http("GET", ACCOUNT_PATH)],
        get,
    ),
    op(
        SERVICE,
        "list",
        &[],
        Ty::List(&Ty::Id),
        &[http("GET", "/appliance/local-accounts")],
        list,
    ),
    op(
        SERVICE,
        "create",
        &[
            field("username", NAME),
            field("config", Ty::Struct(&CONFIG)),
        ],
        Ty::Void,
        &[http("POST", ACCOUNT_PATH)],
        create,
    ),
    op(
        SERVICE,
        "set",
        &[
            field("username", NAME),
            field("config", Ty::Struct(&CONFIG)),
        ],
        Ty::Void,
        &[http("PUT", ACCOUNT_PATH)],
        set,
    ),
    op(
        SERVICE,
        "update",
        &[
            field("username", NAME),
            field("config", Ty::Struct(&UPDATE_CONFIG)),
        ],
        Ty::Void,
        &[http("PATCH", ACCOUNT_PATH)],
        update,
    ),
    op(
        SERVICE,
        "delete",
        USERNAME,
        Ty::Void,
        &[http("DELETE", ACCOUNT_PATH)],
        delete,
    ),
    op(
        POLICY_SERVICE,
        "get",
        &[],
        Ty::Struct(&POLICY_INFO),
        &[http("GET", POLICY_PATH)],
        policy_get,
    ),
    op(
        POLICY_SERVICE,
        "set",
        &[field("policy", Ty::Struct(&POLICY_INFO))],
        Ty::Void,
        &[http("PUT", POLICY_PATH)],
        policy_set,
    ),
];

/// Sets `key` to `v` unless it is unset (vAPI omits unset optionals in the native form).
fn put(out: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        out.insert(key.to_string(), v);
    }
}

fn info(i: AccountInfo) -> Value {
    let mut out = Map::new();
    put(&mut out, "fullname", i.full_name.map(Value::from));
    put(&mut out, "email", i.email.map(Value::from));
    out.insert(
        "roles".into(),
        json!(i.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
    );
    out.insert("enabled".into(), json!(i.enabled));
    out.insert("has_password".into(), json!(i.has_password));
    for (k, t) in [
        ("last_password_change", i.last_password_change),
        ("password_expires_at", i.password_expires_at),
        ("inactive_at", i.inactive_at),
    ] {
        put(&mut out, k, t.map(|t| json!(datetime(t))));
    }
    put(
        &mut out,
        "min_days_between_password_change",
        i.days.min.map(Value::from),
    );
    put(
        &mut out,
        "max_days_between_password_change",
        i.days.max.map(Value::from),
    );
    put(
        &mut out,
        "warn_days_before_password_expiration",
        i.days.warn.map(Value::from),
    );
    Value::Object(out)
}

/// The decoded `config` (types already checked by the registry) as the core takes it.
fn config(call: &Call) -> Result<AccountConfig, CoreError> {
    let c = call.get("config").cloned().unwrap_or_default();
    let text = |k: &str| c.get(k).and_then(Value::as_str).map(String::from);
    let long = |k: &str| c.get(k).and_then(Value::as_i64);
    let flag = |k: &str| c.get(k).and_then(Value::as_bool);
    let expires_at = text("password_expires_at")
        .map(|s| parse_datetime(&s, "config.password_expires_at"))
        .transpose()?;
    Ok(AccountConfig {
        password: text("password"),
        old_password: text("old_password"),
        full_name: text("full_name"),
        email: text("email"),
        roles: c.get("roles").and_then(Value::as_array).map(|a| {
            a.iter()
                .map(|r| r.as_str().unwrap_or_default().to_string())
                .collect()
        }),
        enabled: flag("enabled"),
        password_expires: flag("password_expires"),
        password_expires_at: expires_at,
        inactive_after_password_expiration: flag("inactive_after_password_expiration"),
        days_after_password_expiration: long("days_after_password_expiration"),
        min_days_between_password_change: long("min_days_between_password_change"),
        max_days_between_password_change: long("max_days_between_password_change"),
        warn_days_before_password_expiration: long("warn_days_before_password_expiration"),
    })
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let i = call
            .state
            .core
            .local_account_get(&caller, call.text("username"))
            .await?;
        Ok(Out::Value(info(i)))
    })
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let names = call.state.core.local_accounts_list(&caller).await?;
        Ok(Out::Value(json!(names)))
    })
}

fn create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let c = config(&call)?;
        call.state
            .core
            .local_account_create(&caller, call.text("username"), c)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn set(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let c = config(&call)?;
        call.state
            .core
            .local_account_set(&caller, call.text("username"), c)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn update(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let c = config(&call)?;
        call.state
            .core
            .local_account_update(&caller, call.text("username"), c)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .local_account_delete(&caller, call.text("username"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn policy_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let p = call.state.core.password_policy_get(&caller).await?;
        let mut out = Map::new();
        for (k, v) in [
            ("max_days", p.max_days),
            ("min_days", p.min_days),
            ("warn_days", p.warn_days),
            (
                "prior_password_remember_count",
                p.prior_password_remember_count,
            ),
            (
                "failed_attempt_count_before_account_lockout",
                p.failed_attempt_count_before_account_lockout,
            ),
            (
                "length_of_lockout_period_in_seconds",
                p.length_of_lockout_period_in_seconds,
            ),
            (
                "fail_interval_between_attempts",
                p.fail_interval_between_attempts,
            ),
            ("minimum_length", p.minimum_length),
            (
                "minimum_uppercase_char_count",
                p.minimum_uppercase_char_count,
            ),
            (
                "minimum_lowercase_char_count",
                p.minimum_lowercase_char_count,
            ),
            ("minimum_numerics_char_count", p.minimum_numerics_char_count),
            ("minimum_special_char_count", p.minimum_special_char_count),
        ] {
            put(&mut out, k, v.map(Value::from));
        }
        put(
            &mut out,
            "managed_at_fleet",
            p.managed_at_fleet.map(Value::from),
        );
        Ok(Out::Value(Value::Object(out)))
    })
}

fn policy_set(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let p = call.get("policy").cloned().unwrap_or_default();
        let long = |k: &str| p.get(k).and_then(Value::as_i64);
        let info = PolicyInfo {
            max_days: long("max_days"),
            min_days: long("min_days"),
            warn_days: long("warn_days"),
            prior_password_remember_count: long("prior_password_remember_count"),
            failed_attempt_count_before_account_lockout: long(
                "failed_attempt_count_before_account_lockout",
            ),
            length_of_lockout_period_in_seconds: long("length_of_lockout_period_in_seconds"),
            fail_interval_between_attempts: long("fail_interval_between_attempts"),
            minimum_length: long("minimum_length"),
            minimum_uppercase_char_count: long("minimum_uppercase_char_count"),
            minimum_lowercase_char_count: long("minimum_lowercase_char_count"),
            minimum_numerics_char_count: long("minimum_numerics_char_count"),
            minimum_special_char_count: long("minimum_special_char_count"),
            managed_at_fleet: p.get("managed_at_fleet").and_then(Value::as_bool),
        };
        call.state.core.password_policy_set(&caller, info).await?;
        Ok(Out::Value(Value::Null))
    })
}
