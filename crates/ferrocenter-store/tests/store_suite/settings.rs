//! Settings and sequences.
use std::sync::Arc;

use ferrocenter_core::ports::Store;

use crate::Case;

pub(crate) const CASES: &[(&str, Case)] =
    crate::cases![settings_round_trip, sequences_count_from_one_per_name];

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
