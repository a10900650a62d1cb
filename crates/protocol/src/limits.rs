//! The one set of size limits every component applies: the website intake on the server, the
//! replica's intake and import, the CLI and the window (which record through the core), and the
//! push that carries records to the server.
//!
//! Why one set: a record that one side accepts and the other refuses is stuck. With limits that
//! differed (64 KiB per field on the laptop, 2,000 bytes on the server), 80 imported rows with
//! long "pages visited" lists made every push larger than the server's body limit, and the
//! replica could neither push nor pull. The limits below fit real data with room to spare, and the
//! largest registration they allow is a small fraction of a push (`MAX_OP_BYTES`), so a batch of
//! legal operations always fits the server's body limit.

use crate::{LeadFields, Op, RegistrationDetails};
use std::fmt;

/// Largest request body the server reads for a push (`POST /v1/push`).
pub const PUSH_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Largest request body the server reads for one website submission (`POST /v1/registrations`).
pub const INTAKE_BODY_LIMIT: usize = 64 * 1024;

/// What a replica aims to put in one push: well under `PUSH_BODY_LIMIT`, so a batch is
/// never refused for its size and a slow link uploads it in seconds.
pub const PUSH_BATCH_BYTES: usize = 1024 * 1024;

/// Most operations one push may carry.
pub const MAX_PUSH_OPS: usize = 1000;

/// Largest serialised operation a replica pushes. A registration at every limit below is about
/// 22 KB of JSON (a few times more if all its text needs escaping); anything larger is older
/// data from before these limits,
/// which a replica rejects locally (code `too_large`) instead of letting it block the queue.
pub const MAX_OP_BYTES: usize = 256 * 1024;

/// How many wire operations one outbox entry can become at most (a new lead: six field groups).
pub const MAX_OPS_PER_ENTRY: usize = 8;

// An entry is never split: even one whose every operation is at the limit fits one push.
const _: () = assert!(MAX_OPS_PER_ENTRY * (MAX_OP_BYTES + 64) + 1024 < PUSH_BODY_LIMIT);
const _: () = assert!(MAX_OP_BYTES < PUSH_BATCH_BYTES);

/// Most pages a registration's "pages visited" list may hold.
pub const MAX_PAGES: usize = 100;

/// Longest entry of "pages visited" (a URL).
pub const MAX_PAGE_BYTES: usize = 2048;

/// Longest "pages visited" list in all (the sum of its entries).
pub const MAX_PAGES_TOTAL_BYTES: usize = 16 * 1024;

/// Longest free text a person writes into a record (a follow-up note, consent evidence, the
/// detail of a subscriber request).
pub const MAX_NOTE_BYTES: usize = 8 * 1024;

/// A field of a registration (and of the lead it feeds) with its limit in bytes (UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    SubmissionId,
    Kind,
    Product,
    SubmittedAt,
    Name,
    Company,
    Email,
    Phone,
    Address,
    Country,
    Ip,
    UserAgent,
    Referrer,
    /// One entry of the list; the list as a whole has its own limits (`MAX_PAGES`, …).
    PagesVisited,
    FormVersion,
}

/// Each field's name (as the intake's JSON and the import's columns spell it) and the most bytes
/// it may hold: one row a field, so a field's name and limit are stated together once.
const FIELDS: [(Field, &str, usize); 15] = [
    (Field::SubmissionId, "submission_id", 200),
    (Field::Kind, "kind", 64),
    (Field::Product, "product", 200),
    (Field::SubmittedAt, "submitted_at", 64),
    (Field::Name, "name", 300),
    (Field::Company, "company", 300),
    // RFC 5321's limit on a forward path.
    (Field::Email, "email", 254),
    (Field::Phone, "phone", 40),
    (Field::Address, "address", 1024),
    (Field::Country, "country", 100),
    // The longest IPv6 text with a zone is well under this.
    (Field::Ip, "ip", 64),
    (Field::UserAgent, "user_agent", 1024),
    (Field::Referrer, "referrer", 2048),
    (Field::PagesVisited, "pages_visited", MAX_PAGE_BYTES),
    (Field::FormVersion, "form_version", 64),
];

// `name` and `max_bytes` index the table by the field: each row stands at its field's place.
const _: () = {
    let mut i = 0;
    while i < FIELDS.len() {
        assert!(FIELDS[i].0 as usize == i);
        i += 1;
    }
};

impl Field {
    /// Every field, in the wire's order.
    pub fn all() -> impl Iterator<Item = Field> {
        FIELDS.iter().map(|(field, _, _)| *field)
    }

    /// The field's name as the intake's JSON and the import's columns spell it.
    pub fn name(self) -> &'static str {
        FIELDS[self as usize].1
    }

    /// The most bytes the field may hold.
    pub fn max_bytes(self) -> usize {
        FIELDS[self as usize].2
    }
}

/// Why a value is refused: which field, and the limit it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// The value is longer than its field allows.
    TooLong {
        field: &'static str,
        bytes: usize,
        max: usize,
    },
    /// The list holds more entries than allowed.
    TooMany {
        field: &'static str,
        count: usize,
        max: usize,
    },
    /// The value holds a NUL byte (no text field may).
    NulByte { field: &'static str },
}

impl LimitError {
    /// The field that broke its limit.
    pub fn field(&self) -> &'static str {
        match self {
            LimitError::TooLong { field, .. }
            | LimitError::TooMany { field, .. }
            | LimitError::NulByte { field } => field,
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::TooLong { field, bytes, max } => write!(
                f,
                "{field} is {bytes} bytes long; the limit is {max} bytes (shorten it or leave it out)"
            ),
            LimitError::TooMany { field, count, max } => write!(
                f,
                "{field} holds {count} entries; the limit is {max} (keep the most recent)"
            ),
            LimitError::NulByte { field } => write!(f, "{field} contains a NUL byte"),
        }
    }
}

impl std::error::Error for LimitError {}

/// Checks one text field against its limit.
pub fn check_field(field: Field, value: &str) -> Result<(), LimitError> {
    check_text(field.name(), value, field.max_bytes())
}

/// Checks free text (a note, evidence, a request's detail) against `MAX_NOTE_BYTES`.
pub fn check_note(field: &'static str, value: &str) -> Result<(), LimitError> {
    check_text(field, value, MAX_NOTE_BYTES)
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), LimitError> {
    if value.len() > max {
        return Err(LimitError::TooLong {
            field,
            bytes: value.len(),
            max,
        });
    }
    if value.contains('\0') {
        return Err(LimitError::NulByte { field });
    }
    Ok(())
}

/// Checks a "pages visited" list: how many entries, each entry, and all of them together.
pub fn check_pages(pages: &[String]) -> Result<(), LimitError> {
    let field = Field::PagesVisited.name();
    if pages.len() > MAX_PAGES {
        return Err(LimitError::TooMany {
            field,
            count: pages.len(),
            max: MAX_PAGES,
        });
    }
    for page in pages {
        check_field(Field::PagesVisited, page)?;
    }
    let total: usize = pages.iter().map(String::len).sum();
    if total > MAX_PAGES_TOTAL_BYTES {
        return Err(LimitError::TooLong {
            field,
            bytes: total,
            max: MAX_PAGES_TOTAL_BYTES,
        });
    }
    Ok(())
}

impl RegistrationDetails {
    /// The text fields with the limit each is held to, in the wire's order ("pages visited",
    /// a list, apart: `check_pages`).
    pub fn texts(&self) -> [(Field, Option<&str>); 10] {
        [
            (Field::Name, self.name.as_deref()),
            (Field::Company, self.company.as_deref()),
            (Field::Email, self.email.as_deref()),
            (Field::Phone, self.phone.as_deref()),
            (Field::Address, self.address.as_deref()),
            (Field::Country, self.country.as_deref()),
            (Field::Ip, self.ip.as_deref()),
            (Field::UserAgent, self.user_agent.as_deref()),
            (Field::Referrer, self.referrer.as_deref()),
            (Field::FormVersion, self.form_version.as_deref()),
        ]
    }

    /// The text that `field` fills, for filling it by name (an import's column); none for the
    /// fields before the details and for the pages visited, a list.
    pub fn text_mut(&mut self, field: Field) -> Option<&mut Option<String>> {
        Some(match field {
            Field::Name => &mut self.name,
            Field::Company => &mut self.company,
            Field::Email => &mut self.email,
            Field::Phone => &mut self.phone,
            Field::Address => &mut self.address,
            Field::Country => &mut self.country,
            Field::Ip => &mut self.ip,
            Field::UserAgent => &mut self.user_agent,
            Field::Referrer => &mut self.referrer,
            Field::FormVersion => &mut self.form_version,
            Field::SubmissionId
            | Field::Kind
            | Field::Product
            | Field::SubmittedAt
            | Field::PagesVisited => return None,
        })
    }
}

/// Checks every field of a registration against its limit, in the wire's order; the first field
/// over names itself. `head` holds the fields before the details as the caller has them as text:
/// the server's intake and a pushed registration have no text kind or time, the replica's raw
/// intake (import, CLI, window) has.
pub fn check_registration(
    head: &[(Field, Option<&str>)],
    details: &RegistrationDetails,
) -> Result<(), LimitError> {
    for (field, value) in head.iter().copied().chain(details.texts()) {
        if let Some(value) = value {
            check_field(field, value)?;
        }
    }
    check_pages(&details.pages_visited)
}

/// Checks the text an operation carries against the same limits, so the server keeps out of
/// every replica what no replica's intake would have accepted (older data from before the
/// limits, or a replica that skips them). Records whose text the limits do not cover pass.
pub fn check_op(op: &Op) -> Result<(), LimitError> {
    let opt = |field: Field, value: &Option<String>| match value {
        Some(v) => check_field(field, v),
        None => Ok(()),
    };
    match op {
        Op::RegistrationAdded(r) => check_registration(
            &[
                (Field::SubmissionId, r.submission_id.as_deref()),
                (Field::Product, r.product.as_deref()),
            ],
            &r.details,
        ),
        Op::LeadFieldsSet(set) => match &set.fields {
            LeadFields::Identity { name, company } => {
                opt(Field::Name, name)?;
                opt(Field::Company, company)
            }
            LeadFields::Email { email, .. } => opt(Field::Email, email),
            LeadFields::Phone { phone } => opt(Field::Phone, phone),
            LeadFields::Postal {
                address,
                country,
                time_zone,
            } => {
                opt(Field::Address, address)?;
                opt(Field::Country, country)?;
                opt(Field::Country, time_zone)
            }
            LeadFields::Workflow { .. } | LeadFields::Office { .. } => Ok(()),
        },
        Op::FollowUpLogged(f) => match &f.note {
            Some(note) => check_note("note", note),
            None => Ok(()),
        },
        Op::ConsentRecorded(c) => match &c.evidence {
            Some(evidence) => check_note("evidence", evidence),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The largest legal "pages visited" list: `MAX_PAGES_TOTAL_BYTES` in all, in legal entries.
/// Tests fill registrations to the limit with it.
pub fn largest_pages(prefix: &str) -> Vec<String> {
    let (each, rest) = (
        MAX_PAGES_TOTAL_BYTES / MAX_PAGES,
        MAX_PAGES_TOTAL_BYTES % MAX_PAGES,
    );
    (0..MAX_PAGES)
        .map(|i| {
            let each = each + usize::from(i < rest);
            let mut page = format!("{prefix}/{i}/");
            while page.len() < each {
                page.push('x');
            }
            page.truncate(each);
            page
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_each_field_once_in_its_place() {
        assert_eq!(Field::all().count(), Field::FormVersion as usize + 1);
        assert_eq!(Field::Email.name(), "email");
        assert_eq!(Field::Email.max_bytes(), 254);
    }

    #[test]
    fn the_largest_pages_list_is_legal_and_one_byte_more_is_not() {
        let mut pages = largest_pages("https://example.com/p");
        assert_eq!(check_pages(&pages), Ok(()));
        assert_eq!(
            pages.iter().map(String::len).sum::<usize>(),
            MAX_PAGES_TOTAL_BYTES
        );
        pages[0].push('y');
        assert!(matches!(
            check_pages(&pages),
            Err(LimitError::TooLong {
                field: "pages_visited",
                ..
            })
        ));
        let many = vec!["/".to_string(); MAX_PAGES + 1];
        assert_eq!(
            check_pages(&many).unwrap_err().to_string(),
            format!(
                "pages_visited holds {} entries; the limit is {MAX_PAGES} (keep the most recent)",
                MAX_PAGES + 1
            )
        );
    }

    #[test]
    fn an_over_long_field_names_itself_and_its_limit() {
        let long = "x".repeat(255);
        let reg = RegistrationDetails {
            name: Some("Ann".into()),
            email: Some(long),
            ..Default::default()
        };
        let err = check_registration(&[], &reg).unwrap_err();
        assert_eq!(err.field(), "email");
        assert_eq!(
            err.to_string(),
            "email is 255 bytes long; the limit is 254 bytes (shorten it or leave it out)"
        );
        let at_limit = "x".repeat(254);
        let reg = RegistrationDetails {
            email: Some(at_limit),
            ..Default::default()
        };
        assert_eq!(check_registration(&[], &reg), Ok(()));
    }
}
