//! Normalisation of what people type into forms: email addresses, phone numbers and countries,
//! so that the same person is recognised whatever spelling they used.

pub mod country;
pub mod email;
pub mod phone;
mod phone_rules;

pub use country::{normalize_country, single_zone, zones_for_country};
pub use email::{normalize_email, InvalidEmail};
pub use phone::{normalize_phone, InvalidPhone};
