//! Privacy: subscriber requests and their fulfilment — the access report, corrections and
//! erasure.

pub mod access;
pub mod correct;
pub mod erase;
pub mod requests;
pub mod roles;
