//! Operations exchanged between replicas and the central store (see docs/SYNC.md).
