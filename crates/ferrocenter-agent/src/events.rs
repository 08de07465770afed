//! The host's event log: a bounded buffer read by cursor.
use std::collections::VecDeque;

use ferrocenter_agent_client::wire::{Event, EventData, EventsPage};

pub const CAPACITY: usize = 1000;

#[derive(Debug, Default)]
pub struct EventLog {
    buf: VecDeque<Event>,
    next_seq: u64,
}

impl EventLog {
    pub fn push(&mut self, time: i64, data: EventData) {
        self.next_seq += 1;
        self.buf.push_back(Event {
            seq: self.next_seq,
            time,
            data,
        });
        while self.buf.len() > CAPACITY {
            self.buf.pop_front();
        }
    }

    /// Events with `seq > since`, at most `limit`.
    pub fn since(&self, since: u64, limit: usize) -> EventsPage {
        let oldest = self.buf.front().map(|e| e.seq).unwrap_or(self.next_seq + 1);
        let events: Vec<Event> = self
            .buf
            .iter()
            .filter(|e| e.seq > since)
            .take(limit)
            .cloned()
            .collect();
        let next = match events.last() {
            Some(e) => e.seq,
            None => since.min(self.next_seq),
        };
        EventsPage {
            truncated: since.saturating_add(1) < oldest && self.next_seq > since,
            next,
            events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocenter_agent_client::wire::EventData;

    fn ev() -> EventData {
        EventData::PasswordChanged {
            account: "root".into(),
        }
    }

    #[test]
    fn cursor_reads_in_order_and_reports_truncation() {
        let mut l = EventLog::default();
        for i in 0..5 {
            l.push(i, ev());
        }
        let p = l.since(0, 100);
        assert_eq!(p.events.len(), 5);
        assert_eq!(p.next, 5);
        assert!(!p.truncated);
        let p = l.since(3, 100);
        assert_eq!(p.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        assert!(l.since(5, 100).events.is_empty());
        for i in 0..CAPACITY as i64 {
            l.push(i, ev());
        }
        let p = l.since(0, 10);
        assert!(p.truncated);
        assert_eq!(p.events[0].seq, 6);
    }
}
