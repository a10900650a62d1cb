//! Fixed vocabularies: channels, directions, outcomes, roles, statuses.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ts_rs::TS;

/// Declares a string-valued enum with `as_str`, `FromStr`, `Display` and a list of all values,
/// so SQL columns, CLI arguments and JSON all spell a value the same way.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        #[ts(export)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text used in storage, on the wire and on the command line.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        kind: stringify!($name),
                        value: s.to_string(),
                        expected: vec![$($text),+],
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A value that is not part of a fixed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: Vec<&'static str>,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} '{}' (expected one of: {})",
            self.kind,
            self.value,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

vocabulary!(
    /// A way of reaching a person.
    Channel { Email => "email", Phone => "phone", Mail => "mail" }
);

vocabulary!(
    /// What a consent event covers: one channel or all of them.
    ConsentScope { Email => "email", Phone => "phone", Mail => "mail", All => "all" }
);

vocabulary!(
    /// Who started a contact.
    Direction { Out => "out", In => "in" }
);

vocabulary!(
    /// The result of a follow-up attempt; each channel allows a subset (see `Outcome::allowed_on`).
    Outcome {
        Connected => "connected",
        NoAnswer => "no_answer",
        Voicemail => "voicemail",
        Busy => "busy",
        WrongNumber => "wrong_number",
        CallbackRequested => "callback_requested",
        Sent => "sent",
        Replied => "replied",
        Bounced => "bounced",
        Returned => "returned",
        MeetingBooked => "meeting_booked",
        NotInterested => "not_interested",
        Converted => "converted",
    }
);

vocabulary!(
    /// An opt-out or an opt-in.
    ConsentAction { OptOut => "opt_out", OptIn => "opt_in" }
);

vocabulary!(
    /// What a person asked for about their personal information.
    RequestKind { OptOut => "opt_out", Erase => "erase", Correct => "correct", Access => "access" }
);

vocabulary!(
    /// Where a subscriber request stands.
    RequestStatus { Open => "open", Done => "done", Rejected => "rejected" }
);

vocabulary!(
    /// Where a lead stands in the follow-up process.
    LeadStatus { New => "new", Working => "working", Closed => "closed", Erased => "erased" }
);

vocabulary!(
    /// What a user may do (see `Role::carries_out_requests` and docs/SYNC.md, "Roles"): a rep
    /// works their office's leads and records subscriber requests; a manager also reads the
    /// office's history and carries out requests; `privacy` is office staff the office assigns to
    /// carry out requests; `privacy_officer` carries out requests in every office and does
    /// nothing else; an admin does everything everywhere.
    Role {
        Rep => "rep",
        Manager => "manager",
        Admin => "admin",
        Privacy => "privacy",
        PrivacyOfficer => "privacy_officer",
    }
);

impl Role {
    /// Whether the role may carry out an erasure, an access export or a correction (a rep
    /// records such requests; opting someone out is everyone's).
    pub fn carries_out_requests(self) -> bool {
        match self {
            Role::Rep => false,
            Role::Manager | Role::Admin | Role::Privacy | Role::PrivacyOfficer => true,
        }
    }

    /// Whether the role belongs to no office: it reaches every office (an admin for
    /// everything, the privacy officer for subscriber requests only).
    pub fn is_company_wide(self) -> bool {
        match self {
            Role::Admin | Role::PrivacyOfficer => true,
            Role::Rep | Role::Manager | Role::Privacy => false,
        }
    }

    /// The roles that may carry out requests, in words, for messages that say whom to ask.
    pub const CARRY_OUT_WHO: &'static str =
        "a manager of the office, the office's privacy staff (role privacy), the privacy officer or an admin";
}

vocabulary!(
    /// What a website registration asked for.
    RegistrationKind {
        LicenseKey => "license_key",
        InfoRequest => "info_request",
        Trial => "trial",
        Newsletter => "newsletter",
        Demo => "demo",
        Other => "other",
    }
);

vocabulary!(
    /// What a partner is to the company.
    PartnerKind { Reseller => "reseller", Distributor => "distributor", Office => "office" }
);

vocabulary!(
    /// The legal basis for sending personal information to a partner's country: none needed
    /// (same country or EEA), an adequacy decision, standard contractual clauses, or binding
    /// corporate rules (intra-group).
    TransferBasis { NoneNeeded => "none_needed", Adequacy => "adequacy", Scc => "scc", Bcr => "bcr" }
);

vocabulary!(
    /// A piece of a lead a partner may receive (`registration`: the latest kind and product;
    /// `consent`: the current opt-outs per channel).
    ShareField {
        Name => "name",
        Company => "company",
        Email => "email",
        Phone => "phone",
        Address => "address",
        Country => "country",
        Registration => "registration",
        Consent => "consent",
    }
);

impl Outcome {
    /// The outcomes that make sense on a channel, in the order the UI offers them (number keys).
    pub fn allowed_on(channel: Channel) -> &'static [Outcome] {
        use Outcome::*;
        match channel {
            Channel::Phone => &[
                Connected,
                NoAnswer,
                Voicemail,
                Busy,
                CallbackRequested,
                MeetingBooked,
                NotInterested,
                WrongNumber,
                Converted,
            ],
            Channel::Email => &[
                Sent,
                Replied,
                Bounced,
                MeetingBooked,
                NotInterested,
                Converted,
            ],
            Channel::Mail => &[Sent, Replied, Returned, NotInterested, Converted],
        }
    }

    /// Whether the attempt failed to reach the person, which starts the cool-down.
    pub fn is_unreached(self) -> bool {
        matches!(self, Outcome::NoAnswer | Outcome::Voicemail | Outcome::Busy)
    }
}

impl ConsentScope {
    /// Whether an event of this scope applies to `channel`.
    pub fn covers(self, channel: Channel) -> bool {
        match self {
            ConsentScope::All => true,
            ConsentScope::Email => channel == Channel::Email,
            ConsentScope::Phone => channel == Channel::Phone,
            ConsentScope::Mail => channel == Channel::Mail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_text() {
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>().unwrap(), *o);
        }
        assert_eq!(
            "Opt-Out".parse::<ConsentAction>().unwrap(),
            ConsentAction::OptOut
        );
    }

    #[test]
    fn unknown_value_names_the_choices() {
        let err = "fax".parse::<Channel>().unwrap_err().to_string();
        assert!(
            err.contains("fax") && err.contains("email, phone, mail"),
            "{err}"
        );
    }

    #[test]
    fn every_channel_offers_outcomes() {
        for c in Channel::ALL {
            assert!(!Outcome::allowed_on(*c).is_empty());
        }
        assert!(!Outcome::allowed_on(Channel::Email).contains(&Outcome::NoAnswer));
    }
}
