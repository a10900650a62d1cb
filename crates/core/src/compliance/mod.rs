//! Compliance: consent events, the suppression list of erased people, and the gate that decides
//! whether a lead may be contacted on a channel at an instant.

pub mod consent;
pub mod gate;
pub mod suppression;
