//! Principals, groups and membership.
use std::sync::Arc;

use ferrocenter_core::auth::{Group, PasswordAging, PasswordDays, Realm, Role};
use ferrocenter_core::ports::{Store, StoreError};

use crate::fixtures::{at, principal};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    principals_are_unique_per_realm,
    principal_updates_and_deletes,
    a_digest_verifier_is_set_only_once_and_only_for_its_password,
    password_days_apply_to_a_realm_with_their_setting,
    groups_and_membership,
    groups_are_listed_and_deleted_with_their_memberships,
    a_password_change_keeps_the_newest_history,
];

async fn principals_are_unique_per_realm(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let p = principal(sso.clone(), "alice");
    s.insert_principal(&p).await.unwrap();
    assert_eq!(
        s.find_principal(&sso, "alice").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        s.find_principal(&Realm::Local, "alice").await.unwrap(),
        None
    );
    match s.insert_principal(&principal(sso.clone(), "alice")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The same name in another realm is another principal.
    s.insert_principal(&principal(Realm::Local, "alice"))
        .await
        .unwrap();
    s.insert_principal(&principal(sso.clone(), "bob"))
        .await
        .unwrap();
    let names: Vec<String> = s
        .list_principals(&sso)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
}

async fn principal_updates_and_deletes(s: Arc<dyn Store>) {
    let mut p = principal(Realm::Local, "root");
    s.insert_principal(&p).await.unwrap();
    p.role = Role::SuperAdmin;
    p.disabled = true;
    p.password_hash = "$argon2id$other".into();
    p.digest_verifier = None;
    p.full_name = None;
    p.email = None;
    p.password_changed_at = at(1_800_000_000_000);
    p.aging = PasswordAging {
        expires: true,
        expires_at: Some(at(1_900_000_000_000)),
        inactive_after_expiry: false,
        inactive_days: None,
        days: PasswordDays {
            min: None,
            max: Some(99_999),
            warn: None,
        },
    };
    assert!(s.update_principal(&p).await.unwrap());
    assert_eq!(
        s.find_principal(&Realm::Local, "root").await.unwrap(),
        Some(p.clone())
    );
    assert!(s.delete_principal(&p.id).await.unwrap());
    assert!(!s.delete_principal(&p.id).await.unwrap());
    assert!(!s.update_principal(&p).await.unwrap());
}

async fn a_digest_verifier_is_set_only_once_and_only_for_its_password(s: Arc<dyn Store>) {
    let mut p = principal(Realm::Local, "old");
    p.digest_verifier = None;
    s.insert_principal(&p).await.unwrap();
    // Another writer changed the password meanwhile: the backfill for the old one is refused.
    assert!(!s
        .set_digest_verifier_if_unset(&p.id, "$argon2id$stale", "$argon2id$v1")
        .await
        .unwrap());
    let mut changed = p.clone();
    changed.full_name = Some("Changed Meanwhile".into());
    assert!(s.update_principal(&changed).await.unwrap());
    assert!(s
        .set_digest_verifier_if_unset(&p.id, &p.password_hash, "$argon2id$v1")
        .await
        .unwrap());
    // Only the verifier was written: the concurrent change survives.
    let now = s
        .find_principal(&Realm::Local, "old")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.digest_verifier.as_deref(), Some("$argon2id$v1"));
    assert_eq!(now.full_name.as_deref(), Some("Changed Meanwhile"));
    // Set once: a second backfill does not replace it.
    assert!(!s
        .set_digest_verifier_if_unset(&p.id, &p.password_hash, "$argon2id$v2")
        .await
        .unwrap());
    assert!(!s
        .set_digest_verifier_if_unset("no-such-id", &p.password_hash, "$argon2id$v2")
        .await
        .unwrap());
}

async fn password_days_apply_to_a_realm_with_their_setting(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let local = principal(Realm::Local, "ops");
    let other = principal(Realm::Local, "root");
    let user = principal(sso.clone(), "ops");
    for p in [&local, &other, &user] {
        s.insert_principal(p).await.unwrap();
    }
    let days = PasswordDays {
        min: Some(2),
        max: None,
        warn: Some(14),
    };
    s.set_password_days(&Realm::Local, days, ("accounts.policy", "{\"v\":1}"))
        .await
        .unwrap();
    for name in ["ops", "root"] {
        let got = s
            .find_principal(&Realm::Local, name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.aging.days, days);
        // Nothing else of the account changes.
        assert_eq!(got.aging.expires, local.aging.expires);
        assert_eq!(got.email, local.email);
    }
    assert_eq!(
        s.find_principal(&sso, "ops").await.unwrap(),
        Some(user),
        "another realm is untouched"
    );
    assert_eq!(
        s.get_setting("accounts.policy").await.unwrap().as_deref(),
        Some("{\"v\":1}")
    );
}

async fn groups_and_membership(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let p = principal(sso.clone(), "carol");
    s.insert_principal(&p).await.unwrap();
    let g = Group {
        id: "g1".into(),
        realm: sso.clone(),
        name: "SystemConfiguration.Administrators".into(),
        role: Some(Role::Admin),
        description: "admins".into(),
    };
    let g2 = Group {
        id: "g2".into(),
        realm: sso.clone(),
        name: "Readers".into(),
        role: None,
        description: String::new(),
    };
    s.insert_group(&g).await.unwrap();
    s.insert_group(&g2).await.unwrap();
    assert!(matches!(
        s.insert_group(&g).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.find_group(&sso, &g.name).await.unwrap(), Some(g.clone()));
    s.add_group_member(&g.id, &p.id).await.unwrap();
    s.add_group_member(&g.id, &p.id).await.unwrap(); // idempotent
    s.add_group_member(&g2.id, &p.id).await.unwrap();
    assert_eq!(
        s.groups_of(&p.id).await.unwrap(),
        vec![g2.clone(), g.clone()]
    );
    assert!(s.remove_group_member(&g2.id, &p.id).await.unwrap());
    assert_eq!(s.groups_of(&p.id).await.unwrap(), vec![g.clone()]);
    // Foreign keys hold: membership of an unknown principal is refused, and deleting a
    // principal removes its memberships.
    assert!(s.add_group_member(&g.id, "nobody").await.is_err());
    s.delete_principal(&p.id).await.unwrap();
    assert!(s.groups_of(&p.id).await.unwrap().is_empty());
}

async fn groups_are_listed_and_deleted_with_their_memberships(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let alice = principal(sso.clone(), "alice");
    s.insert_principal(&alice).await.unwrap();
    for name in ["ops", "admins"] {
        s.insert_group(&Group {
            id: format!("g-{name}"),
            realm: sso.clone(),
            name: name.into(),
            role: None,
            description: String::new(),
        })
        .await
        .unwrap();
        s.add_group_member(&format!("g-{name}"), &alice.id)
            .await
            .unwrap();
    }
    let names: Vec<String> = s
        .list_groups(&sso)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["admins", "ops"]);
    assert_eq!(s.list_groups(&Realm::Local).await.unwrap(), vec![]);
    assert_eq!(s.group_members("g-ops").await.unwrap(), vec![alice.clone()]);
    assert!(s.delete_group("g-ops").await.unwrap());
    assert!(!s.delete_group("g-ops").await.unwrap());
    let left: Vec<String> = s
        .groups_of(&alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(left, ["admins"], "the member stays, in its other groups");
    assert!(s.find_principal(&sso, "alice").await.unwrap().is_some());
}

async fn a_password_change_keeps_the_newest_history(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let mut p = principal(sso.clone(), "carol");
    s.insert_principal(&p).await.unwrap();
    for i in 1..=4 {
        let replaced = p.password_hash.clone();
        p.password_hash = format!("$argon2id$hash-{i}");
        p.password_changed_at = at(1_800_000_000_000 + i * 1000);
        assert!(s.update_principal_password(&p, &replaced, 2).await.unwrap());
    }
    assert_eq!(
        s.password_history(&p.id).await.unwrap(),
        ["$argon2id$hash-3", "$argon2id$hash-2"],
        "the newest two replaced hashes, newest first"
    );
    assert_eq!(
        s.find_principal(&sso, "carol")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$hash-4"
    );
    // An absent principal: nothing written.
    let ghost = principal(sso.clone(), "ghost");
    assert!(!s.update_principal_password(&ghost, "x", 2).await.unwrap());
    assert_eq!(
        s.password_history(&ghost.id).await.unwrap(),
        Vec::<String>::new()
    );
    // Deleting the principal takes its history.
    assert!(s.delete_principal(&p.id).await.unwrap());
    assert_eq!(
        s.password_history(&p.id).await.unwrap(),
        Vec::<String>::new()
    );
}
