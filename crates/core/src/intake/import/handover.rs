//! The channel between an import's reader thread and its writer: chunks of parsed rows one way,
//! the recorded rows back the other way, so that the thread that allocated their strings also
//! frees them.
//!
//! The writer is the import's bottleneck. Freeing a row's dozen strings there cost it about 5 %
//! of its time (a profile of a million-row import, docs/BENCHMARKS.md): the allocator's chunks
//! belong to the reader thread's arena, so every free from the writer took that arena's lock
//! against the reader's own allocations. The reader has time to spare.

use super::{Item, CHANNEL_CHUNKS};
use crate::intake::CleanRegistration;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// The reader's end: sends chunks of rows, frees the rows that come back.
pub(super) struct ToWriter {
    rows: SyncSender<Vec<Item>>,
    spent: Receiver<Vec<CleanRegistration>>,
}

/// The writer's end: takes chunks of rows, hands recorded rows back in chunks.
pub(super) struct FromReader {
    pub(super) rows: Receiver<Vec<Item>>,
    pub(super) spent: Giveback,
}

/// The way recorded rows go back to the reader.
pub(super) struct Giveback {
    sender: Sender<Vec<CleanRegistration>>,
    held: Vec<CleanRegistration>,
}

/// Rows the writer collects before it hands them back.
const SPENT_CHUNK: usize = 512;

/// A bounded channel of `CHANNEL_CHUNKS` chunks from reader to writer, and the way back.
pub(super) fn handover() -> (ToWriter, FromReader) {
    let (rows_in, rows_out) = sync_channel(CHANNEL_CHUNKS);
    let (spent_in, spent_out) = channel();
    (
        ToWriter {
            rows: rows_in,
            spent: spent_out,
        },
        FromReader {
            rows: rows_out,
            spent: Giveback {
                sender: spent_in,
                held: Vec::with_capacity(SPENT_CHUNK),
            },
        },
    )
}

impl ToWriter {
    /// Frees the rows handed back so far, then sends `chunk`; an error means the writer has
    /// stopped.
    pub(super) fn send(&self, chunk: Vec<Item>) -> Result<(), ()> {
        while let Ok(spent) = self.spent.try_recv() {
            drop(spent);
        }
        self.rows.send(chunk).map_err(|_| ())
    }
}

impl Giveback {
    /// Takes a recorded row to hand back. Once the reader has finished, the rows are freed
    /// here as before.
    pub(super) fn take(&mut self, row: CleanRegistration) {
        self.held.push(row);
        if self.held.len() >= SPENT_CHUNK {
            let full = std::mem::replace(&mut self.held, Vec::with_capacity(SPENT_CHUNK));
            let _ = self.sender.send(full);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_handed_back_are_freed_by_the_reader_when_it_next_sends() {
        let (to_writer, mut from_reader) = handover();
        let row = CleanRegistration {
            submission_key: "s".into(),
            kind: switchboard_protocol::RegistrationKind::Other,
            product: None,
            submitted_at: chrono::Utc::now(),
            details: Default::default(),
            country: None,
            warnings: Vec::new(),
        };
        for _ in 0..SPENT_CHUNK {
            from_reader.spent.take(row.clone());
        }
        assert!(from_reader.spent.held.is_empty(), "a full chunk goes back");
        to_writer.send(Vec::new()).unwrap();
        assert!(to_writer.spent.try_recv().is_err(), "the reader freed it");
        assert_eq!(from_reader.rows.recv().unwrap().len(), 0);
        drop(to_writer);
        // The reader gone, rows are freed on the writer's side and nothing fails.
        for _ in 0..SPENT_CHUNK {
            from_reader.spent.take(row.clone());
        }
        assert!(from_reader.rows.recv().is_err());
    }
}
