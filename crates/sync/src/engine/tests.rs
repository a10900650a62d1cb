use super::page_writer::estimate;
use super::{Prefetch, SyncError};
use std::time::Duration;

fn page(next_cursor: i64) -> switchboard_protocol::ChangesPage {
    switchboard_protocol::ChangesPage {
        changes: Vec::new(),
        next_cursor,
        has_more: false,
        role: None,
        head_cursor: None,
    }
}

fn prefetch_after(delay: Duration, next_cursor: i64) -> Prefetch {
    Prefetch {
        task: tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            Ok(page(next_cursor))
        }),
        arrived: None,
    }
}

#[tokio::test]
async fn a_prefetched_page_awaited_for_a_while_is_kept_for_the_pull() {
    // Arrives within the wait: kept, and handed out once.
    let mut soon = prefetch_after(Duration::from_millis(20), 7);
    assert!(soon.arrives_within(Duration::from_secs(5)).await);
    assert!(soon.is_ready());
    assert!(soon.arrives_within(Duration::ZERO).await);
    assert_eq!(soon.page().await.unwrap().next_cursor, 7);
    // Later than the wait: not ready yet, and the pull still gets it by awaiting.
    let mut late = prefetch_after(Duration::from_millis(300), 9);
    assert!(!late.arrives_within(Duration::from_millis(10)).await);
    assert!(!late.is_ready());
    assert_eq!(late.page().await.unwrap().next_cursor, 9);
    // A failed request counts as arrived (awaiting it does not wait) and keeps its error.
    let mut failed = Prefetch {
        task: tokio::spawn(async { Err(SyncError::Network("cut".into())) }),
        arrived: None,
    };
    assert!(failed.arrives_within(Duration::from_secs(5)).await);
    assert!(matches!(failed.page().await, Err(SyncError::Network(_))));
}

#[test]
fn the_expected_changes_scale_with_the_share_of_the_range_covered() {
    // A quarter of the way from cursor 100 to head 500, 250 changes in: about 1,000.
    assert_eq!(estimate((100, 0), 500, 200, 250), Some(1000));
    // Changes pulled by an earlier pull of the same sync are counted once.
    assert_eq!(estimate((100, 40), 500, 300, 140), Some(240));
    // At or past the head: what was pulled is all there is.
    assert_eq!(estimate((100, 0), 500, 500, 321), Some(321));
    assert_eq!(estimate((100, 0), 500, 900, 321), Some(321));
    // Nothing to measure against yet.
    assert_eq!(estimate((100, 0), 100, 100, 0), None);
    assert_eq!(estimate((100, 0), 500, 100, 0), None);
    assert_eq!(estimate((100, 0), 50, 120, 7), None);
    // Huge numbers saturate instead of overflowing.
    assert!(estimate((0, u64::MAX - 1), i64::MAX, 1, u64::MAX).is_some());
}
