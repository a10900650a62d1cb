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

/// A feed handing out `pages` in order, each after its delay, as `Prefetch::start`'s task does.
fn feed(
    pages: Vec<(
        Duration,
        Result<switchboard_protocol::ChangesPage, SyncError>,
    )>,
) -> Prefetch {
    let (sender, receiver) = tokio::sync::mpsc::channel(super::PAGES_AHEAD);
    Prefetch {
        task: tokio::spawn(async move {
            for (delay, page) in pages {
                tokio::time::sleep(delay).await;
                if sender.send(page).await.is_err() {
                    return;
                }
            }
        }),
        pages: receiver,
        arrived: None,
    }
}

fn prefetch_after(delay: Duration, next_cursor: i64) -> Prefetch {
    feed(vec![(delay, Ok(page(next_cursor)))])
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
    let mut failed = feed(vec![(
        Duration::ZERO,
        Err(SyncError::Network("cut".into())),
    )]);
    assert!(failed.arrives_within(Duration::from_secs(5)).await);
    assert!(matches!(failed.page().await, Err(SyncError::Network(_))));
}

#[tokio::test]
async fn a_feed_hands_out_its_pages_in_order_then_an_error_not_a_hang() {
    let mut pages = feed(vec![
        (Duration::ZERO, Ok(page(3))),
        (Duration::from_millis(5), Ok(page(5))),
        (Duration::ZERO, Ok(page(8))),
    ]);
    // The later pages are fetched while the first waits to be applied: all three are ready.
    assert!(pages.arrives_within(Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(50)).await;
    for cursor in [3, 5, 8] {
        assert!(pages.is_ready());
        assert_eq!(pages.page().await.unwrap().next_cursor, cursor);
    }
    // Past its last page the feed has ended: asking again fails at once.
    assert!(!pages.is_ready());
    assert!(matches!(pages.page().await, Err(SyncError::Network(_))));
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
