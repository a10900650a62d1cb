//! Hybrid logical clocks order concurrent edits to a lead's field groups across replicas.
//!
//! A stamp is `<millis:013>-<counter:05>-<node>`: as text it sorts in clock order, so SQL can
//! compare stamps directly and an empty string is older than every stamp.

use chrono::{DateTime, Utc};
use std::cmp::Ordering;
use std::fmt;

/// One hybrid-logical-clock reading.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    pub millis: i64,
    pub counter: u32,
    pub node: String,
}

impl Hlc {
    /// The next stamp on `node` at wall time `now`, after every stamp this node has seen (`last`).
    pub fn tick(last: Option<&Hlc>, now: DateTime<Utc>, node: &str) -> Hlc {
        let wall = now.timestamp_millis();
        match last {
            Some(l) if l.millis >= wall => Hlc {
                millis: l.millis,
                counter: l.counter + 1,
                node: node.to_string(),
            },
            _ => Hlc {
                millis: wall,
                counter: 0,
                node: node.to_string(),
            },
        }
    }

    /// Parses a stamp written by `Display`.
    pub fn parse(text: &str) -> Option<Hlc> {
        let mut parts = text.splitn(3, '-');
        let millis = parts.next()?.parse().ok()?;
        let counter = parts.next()?.parse().ok()?;
        let node = parts.next()?.to_string();
        Some(Hlc {
            millis,
            counter,
            node,
        })
    }

    /// The same stamp with its physical part no later than `limit`: a laptop whose clock runs
    /// ahead cannot win every conflict forever.
    pub fn clamped(&self, limit: DateTime<Utc>) -> Hlc {
        let limit = limit.timestamp_millis();
        if self.millis <= limit {
            self.clone()
        } else {
            Hlc {
                millis: limit,
                counter: self.counter,
                node: self.node.clone(),
            }
        }
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:013}-{:05}-{}", self.millis, self.counter, self.node)
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, &self.node).cmp(&(other.millis, other.counter, &other.node))
    }
}

/// The last-writer-wins rule of a field group, applied alike by the server and every replica:
/// an incoming stamp replaces the stored one only when it is strictly newer. Stamps compare as
/// text (fixed-width millis and counter, then node): text order is clock order, and the empty
/// clock of a lead skeleton loses to every stamp.
pub fn supersedes(incoming: &str, stored: &str) -> bool {
    incoming > stored
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_order_is_clock_order() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let a = Hlc::tick(None, t, "a");
        let b = Hlc::tick(Some(&a), t, "b");
        let c = Hlc::tick(Some(&b), t + chrono::Duration::milliseconds(1), "a");
        assert!(a < b && b < c);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        assert_eq!(Hlc::parse(&c.to_string()), Some(c));
    }

    #[test]
    fn clamping_caps_a_clock_that_runs_ahead() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let ahead = Hlc::tick(None, now + chrono::Duration::days(30), "x");
        assert_eq!(ahead.clamped(now).millis, now.timestamp_millis());
    }

    #[test]
    fn only_a_strictly_newer_stamp_supersedes() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let a = Hlc::tick(None, t, "a").to_string();
        let b = Hlc::tick(Some(&Hlc::parse(&a).unwrap()), t, "b").to_string();
        assert!(supersedes(&b, &a));
        assert!(!supersedes(&a, &b));
        assert!(!supersedes(&a, &a));
        assert!(supersedes(&a, ""));
    }
}
