//! Partners: the registry of recipients personal information may go to, sharing leads with them,
//! the disclosure ledger of what left, and notices when shared data is corrected or erased.

pub mod disclosure;
pub mod notices;
pub mod registry;
pub mod share;

pub use registry::*;
