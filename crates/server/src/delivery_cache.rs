//! The delivery cache: each recent change opened and encoded once per server instance, so the
//! office's other replicas pulling it do not each decrypt and encode it again (issue 14: with
//! 50 replicas an office, every change is delivered 49 times).
//!
//! What it may hold and when it may serve (docs/SYNC.md, "The delivery cache"):
//! - Only actor-independent bytes: the opened operation of one change-log row (its JSON and its
//!   packed MessagePack fragment). Which rows a pull gets is still decided by the page's own
//!   query (`changelog::page_rows`, the visibility cut); the cache is consulted only for the
//!   rows that query returned, so it can never add a change to a page.
//! - An entry serves a row only when the row's stored (sealed) text is byte for byte the text
//!   the entry was opened from: a row rewritten in place misses.
//! - The erasure generation (`meta.erasure_generation`, bumped in every erasure's transaction,
//!   `push::erase`) is read in the page's own query. A page that reads a newer generation drops
//!   the whole cache first; a page that read an older one (its snapshot began before the
//!   erasure committed) neither reads nor fills it. So once an erasure commits on any
//!   instance sharing the store, no instance serves from a cache filled before it.
//! - Bounded: entries are counted by their bytes; past the limit the oldest changes (lowest
//!   `server_seq`, the ones fewest replicas still have to pull) go first, and a change older
//!   than everything held is not added to a full cache (a first sync's history does not flush
//!   the recent changes the office is pulling).

use crate::error::Result;
use crate::store::Tx;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Default memory limit of one instance's cache.
pub const DEFAULT_LIMIT_MB: usize = 64;

/// Overrides `DEFAULT_LIMIT_MB` (megabytes; 0 turns the cache off).
pub const LIMIT_VAR: &str = "SWITCHBOARD_DELIVERY_CACHE_MB";

/// Bookkeeping bytes counted per entry beside its texts (map node, `Arc`, lengths).
const ENTRY_OVERHEAD: usize = 128;

/// The `meta` key of the erasure generation.
pub const GENERATION_KEY: &str = "erasure_generation";

/// Moves the erasure generation on, inside the erasure's own transaction: every instance's
/// next page reads the new value with its rows and drops its cache whole.
pub fn bump_generation(tx: &mut dyn Tx) -> Result<()> {
    tx.exec(
        "INSERT INTO meta (key, value) VALUES (?1, '1') ON CONFLICT (key) DO UPDATE \
         SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)",
        &[GENERATION_KEY.into()],
    )?;
    Ok(())
}

/// One change opened: what every pull of it receives, whoever the puller is.
#[derive(Debug)]
pub struct Delivered {
    /// The operation's JSON as stored before sealing.
    pub json: String,
    /// The operation as packed MessagePack (protocol 5), uncompressed: a fragment of a page.
    pub packed: std::sync::OnceLock<Vec<u8>>,
    /// Whether it is a revocation (those who see every office skip those).
    pub revocation: bool,
}

impl Delivered {
    /// A change whose opened JSON is `json`.
    pub fn new(json: String) -> Delivered {
        let revocation = crate::privacy_view::is_revocation(&json);
        Delivered {
            json,
            packed: std::sync::OnceLock::new(),
            revocation,
        }
    }

    /// The packed fragment, written on first use.
    pub fn packed(&self) -> &[u8] {
        self.packed.get_or_init(|| {
            // The log holds JSON that `serde_json` wrote, so it parses; a row that did not
            // would have failed the JSON page the same way.
            switchboard_protocol::packed::pack_json(&self.json)
                .unwrap_or_else(|_| switchboard_protocol::packed::pack(&serde_json::Value::Null))
        })
    }
}

struct Entry {
    /// The row's stored text the entry was opened from (sealed, or plain JSON).
    stored: Box<str>,
    delivered: Arc<Delivered>,
    bytes: usize,
}

struct Held {
    generation: i64,
    entries: BTreeMap<i64, Entry>,
    bytes: usize,
}

/// What a page may do with the cache at the generation it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Read and fill it.
    Serve,
    /// Leave it alone (the page read an older generation, or the cache is off).
    Bypass,
}

/// One server instance's cache of opened changes (see the module documentation).
pub struct DeliveryCache {
    limit: usize,
    held: Mutex<Held>,
}

impl Default for DeliveryCache {
    fn default() -> Self {
        DeliveryCache::with_limit(DEFAULT_LIMIT_MB * 1024 * 1024)
    }
}

impl DeliveryCache {
    /// A cache holding at most `limit` bytes (0: off).
    pub fn with_limit(limit: usize) -> DeliveryCache {
        DeliveryCache {
            limit,
            held: Mutex::new(Held {
                generation: i64::MIN,
                entries: BTreeMap::new(),
                bytes: 0,
            }),
        }
    }

    /// A cache sized by `SWITCHBOARD_DELIVERY_CACHE_MB`, else `DEFAULT_LIMIT_MB`.
    pub fn from_env() -> crate::error::Result<DeliveryCache> {
        DeliveryCache::from_setting(std::env::var(LIMIT_VAR).ok().as_deref())
    }

    /// A cache sized by a setting in megabytes (`None`: `DEFAULT_LIMIT_MB`); a value that is
    /// not a number of megabytes is refused with what to write instead.
    pub fn from_setting(setting: Option<&str>) -> crate::error::Result<DeliveryCache> {
        let mb = match setting {
            None => DEFAULT_LIMIT_MB,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|mb| *mb <= 1 << 20)
                .ok_or_else(|| {
                    crate::error::ServerError::Invalid(format!(
                        "{LIMIT_VAR}={text} is not a size: give megabytes from 0 (off) to 1048576"
                    ))
                })?,
        };
        Ok(DeliveryCache::with_limit(mb * 1024 * 1024))
    }

    /// The limit in bytes (0: off).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The bytes held now (never above `limit`).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The erasure generation of what is held (the newest a page read).
    pub fn generation(&self) -> i64 {
        self.lock().generation
    }

    /// How many changes are held now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // A panic while holding the lock leaves only a cache behind: start it again.
        self.held.lock().unwrap_or_else(|poisoned| {
            let mut held = poisoned.into_inner();
            held.entries.clear();
            held.bytes = 0;
            held
        })
    }

    /// For a page that read `generation`, the held changes of `rows` (`server_seq`, stored
    /// text), in their order (`None`: not held, or held from other stored text), and whether
    /// the page may fill the cache afterwards. A newer generation drops everything held first.
    pub fn look_up<'r>(
        &self,
        generation: i64,
        rows: impl Iterator<Item = (i64, &'r str)>,
    ) -> (Vec<Option<Arc<Delivered>>>, Use) {
        if self.limit == 0 {
            return (rows.map(|_| None).collect(), Use::Bypass);
        }
        let mut held = self.lock();
        if generation > held.generation {
            held.entries.clear();
            held.bytes = 0;
            held.generation = generation;
        }
        if generation < held.generation {
            drop(held);
            return (rows.map(|_| None).collect(), Use::Bypass);
        }
        let hits = rows
            .map(|(seq, stored)| {
                held.entries
                    .get(&seq)
                    .filter(|e| &*e.stored == stored)
                    .map(|e| e.delivered.clone())
            })
            .collect();
        (hits, Use::Serve)
    }

    /// Adds changes a page at `generation` opened (`server_seq`, stored text, opened change),
    /// unless an erasure moved the generation on since that page read it. Their packed
    /// fragments are written here, so what is counted is what is held.
    pub fn fill(&self, generation: i64, opened: Vec<(i64, &str, Arc<Delivered>)>) {
        if self.limit == 0 || opened.is_empty() {
            return;
        }
        let sized: Vec<_> = opened
            .into_iter()
            .map(|(seq, stored, delivered)| {
                let bytes =
                    ENTRY_OVERHEAD + stored.len() + delivered.json.len() + delivered.packed().len();
                (seq, stored, delivered, bytes)
            })
            .collect();
        let mut held = self.lock();
        if generation != held.generation {
            return;
        }
        for (seq, stored, delivered, bytes) in sized {
            if bytes > self.limit || held.entries.contains_key(&seq) {
                continue;
            }
            if held.bytes + bytes > self.limit {
                // Full: an older change than everything held is not worth an eviction.
                if held
                    .entries
                    .keys()
                    .next()
                    .is_none_or(|oldest| seq < *oldest)
                {
                    continue;
                }
                while held.bytes + bytes > self.limit {
                    let Some((_, gone)) = held.entries.pop_first() else {
                        break;
                    };
                    held.bytes -= gone.bytes;
                }
            }
            held.bytes += bytes;
            held.entries.insert(
                seq,
                Entry {
                    stored: stored.into(),
                    delivered,
                    bytes,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(n: i64) -> Arc<Delivered> {
        Arc::new(Delivered::new(format!(
            "{{\"type\":\"follow_up_logged\",\"n\":{n},\"note\":\"{}\"}}",
            "x".repeat(200)
        )))
    }

    #[test]
    fn the_memory_bound_holds_and_the_oldest_go_first() {
        let cache = DeliveryCache::with_limit(64 * 1024);
        let stored: Vec<String> = (0..2_000).map(|n| format!("sealed-{n}")).collect();
        for (n, text) in stored.iter().enumerate() {
            let n = n as i64;
            cache.fill(1, vec![(n, text.as_str(), change(n))]);
            assert!(cache.bytes() <= cache.limit(), "{} > limit", cache.bytes());
        }
        // Nothing was looked up at generation 1 yet, so the cache's generation is still unset:
        // fills at another generation are refused.
        assert!(cache.is_empty());
        let (_, use_) = cache.look_up(1, std::iter::empty());
        assert_eq!(use_, Use::Serve);
        for (n, text) in stored.iter().enumerate() {
            let n = n as i64;
            cache.fill(1, vec![(n, text.as_str(), change(n))]);
            assert!(cache.bytes() <= cache.limit(), "{} > limit", cache.bytes());
        }
        let held = cache.len();
        assert!(held > 50 && held < 2_000, "{held}");
        let (hits, _) = cache.look_up(
            1,
            stored
                .iter()
                .enumerate()
                .map(|(n, s)| (n as i64, s.as_str())),
        );
        // The newest are held, the oldest evicted.
        assert!(hits[1_999].is_some() && hits[0].is_none());
        assert_eq!(hits.iter().filter(|h| h.is_some()).count(), held);
        // A change older than everything held does not enter a full cache.
        cache.fill(1, vec![(0, stored[0].as_str(), change(0))]);
        assert!(cache.look_up(1, [(0, stored[0].as_str())].into_iter()).0[0].is_none());
        // Off: nothing held.
        let off = DeliveryCache::with_limit(0);
        off.look_up(1, std::iter::empty());
        off.fill(1, vec![(1, "s", change(1))]);
        assert!(off.is_empty());
    }

    #[test]
    fn a_new_generation_drops_everything_and_an_old_one_is_not_served() {
        let cache = DeliveryCache::with_limit(1 << 20);
        cache.look_up(5, std::iter::empty());
        cache.fill(5, vec![(1, "s1", change(1)), (2, "s2", change(2))]);
        assert_eq!(cache.len(), 2);
        // Held only for the same stored text.
        let (hits, _) = cache.look_up(5, [(1, "s1"), (2, "rewritten")].into_iter());
        assert!(hits[0].is_some() && hits[1].is_none());
        // An erasure committed: the next page reads generation 6 and nothing survives.
        let (hits, use_) = cache.look_up(6, [(1, "s1")].into_iter());
        assert!(hits[0].is_none() && use_ == Use::Serve && cache.is_empty());
        // A page whose snapshot predates the erasure neither reads nor fills.
        cache.fill(6, vec![(1, "s1", change(1))]);
        let (hits, use_) = cache.look_up(5, [(1, "s1")].into_iter());
        assert!(hits[0].is_none() && use_ == Use::Bypass);
        cache.fill(5, vec![(3, "s3", change(3))]);
        assert_eq!(cache.len(), 1);
        assert!(cache.look_up(6, [(3, "s3")].into_iter()).0[0].is_none());
    }

    #[test]
    fn the_limit_comes_from_the_setting_or_is_refused() {
        let refused = DeliveryCache::from_setting(Some("lots"))
            .err()
            .expect("refused");
        assert!(refused.to_string().contains(LIMIT_VAR), "{refused}");
        let limit = |s| DeliveryCache::from_setting(s).unwrap().limit();
        assert_eq!(limit(Some(" 3 ")), 3 * 1024 * 1024);
        assert_eq!(limit(Some("0")), 0);
        assert_eq!(limit(None), DEFAULT_LIMIT_MB * 1024 * 1024);
    }
}
