//! Settings and sequences.
use std::sync::Arc;

use ferrocenter_core::ports::Store;

use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    settings_round_trip,
    sequences_count_from_one_per_name,
    database_size_is_measured_where_it_lives
];

async fn settings_round_trip(s: Arc<dyn Store>) {
    assert_eq!(s.get_setting("a").await.unwrap(), None);
    s.put_setting("a", "1").await.unwrap();
    s.put_setting("a", "2").await.unwrap();
    assert_eq!(s.get_setting("a").await.unwrap().as_deref(), Some("2"));
    assert!(s.put_setting_if_absent("b", "x").await.unwrap());
    assert!(!s.put_setting_if_absent("b", "y").await.unwrap());
    assert_eq!(s.get_setting("b").await.unwrap().as_deref(), Some("x"));
}

async fn sequences_count_from_one_per_name(s: Arc<dyn Store>) {
    assert_eq!(s.next_sequence("task").await.unwrap(), 1);
    assert_eq!(s.next_sequence("task").await.unwrap(), 2);
    assert_eq!(s.next_sequence("host").await.unwrap(), 1);
    // Concurrent callers never receive the same value.
    let mut handles = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        handles.push(tokio::spawn(
            async move { s.next_sequence("vm").await.unwrap() },
        ));
    }
    let mut got = Vec::new();
    for h in handles {
        got.push(h.await.unwrap());
    }
    got.sort();
    assert_eq!(got, (1..=20).collect::<Vec<_>>());
    // A reserved block follows on, and the next value comes after it.
    assert_eq!(s.reserve_sequence("vm", 10).await.unwrap(), 21);
    assert_eq!(s.next_sequence("vm").await.unwrap(), 31);
    assert_eq!(s.reserve_sequence("fresh", 5).await.unwrap(), 1);
    assert_eq!(s.next_sequence("fresh").await.unwrap(), 6);
}

async fn database_size_is_measured_where_it_lives(s: Arc<dyn Store>) {
    let before = s.database_size().await.unwrap();
    assert!(before.bytes > 0, "{before:?}");
    // Both suites run the engine on this machine, so the place is known and is there.
    let place = before.location.clone().expect("a local database's place");
    assert!(place.exists(), "{place:?}");
    match s.engine() {
        "sqlite" => assert!(place.is_file(), "the database file: {place:?}"),
        _ => assert!(place.is_dir(), "the data directory: {place:?}"),
    }
    // Four megabytes of settings make the database measurably larger. The values are
    // pseudo-random, so PostgreSQL cannot compress them away.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..256 {
        let value: String = (0..16384)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 90) as u8)
            })
            .collect();
        s.put_setting(&format!("bulk.{i}"), &value).await.unwrap();
    }
    let after = s.database_size().await.unwrap();
    assert!(
        after.bytes >= before.bytes + 4_000_000,
        "{before:?} then {after:?}"
    );
    assert_eq!(after.location, before.location);
}
