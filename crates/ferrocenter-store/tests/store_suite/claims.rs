//! Claim intents: what an add stores before claiming an agent, until its host record holds it.
use std::sync::Arc;

use ferrocenter_core::hosts::ClaimIntent;
use ferrocenter_core::ports::Store;

use crate::fixtures::at;
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] =
    crate::cases![claim_intents_round_trip_oldest_first_and_put_keeps_the_first];

fn intent(id: &str, task: Option<&str>, port: u16, created_ms: i64) -> ClaimIntent {
    ClaimIntent {
        id: id.into(),
        task_id: task.map(str::to_string),
        address: "esx-1.example".into(),
        port,
        thumbprint: "AB:CD".into(),
        agent_user: "root".into(),
        agent_secret: "00aa11bb".into(),
        created_at: at(created_ms),
    }
}

async fn claim_intents_round_trip_oldest_first_and_put_keeps_the_first(s: Arc<dyn Store>) {
    assert!(s.list_claim_intents().await.unwrap().is_empty());
    let newer = intent("b", Some("task-1"), 65535, 1_700_000_000_900);
    let older = intent("a", None, 443, 1_700_000_000_100);
    s.put_claim_intent(&newer).await.unwrap();
    s.put_claim_intent(&older).await.unwrap();
    assert_eq!(
        s.list_claim_intents().await.unwrap(),
        vec![older.clone(), newer.clone()]
    );
    // Putting the same id again (a step run twice, an undo keeping an intent) changes nothing.
    let mut again = newer.clone();
    again.agent_user = "other".into();
    s.put_claim_intent(&again).await.unwrap();
    assert_eq!(
        s.list_claim_intents().await.unwrap(),
        vec![older.clone(), newer]
    );
    assert!(s.delete_claim_intent("b").await.unwrap());
    assert!(!s.delete_claim_intent("b").await.unwrap());
    assert_eq!(s.list_claim_intents().await.unwrap(), vec![older]);
}
