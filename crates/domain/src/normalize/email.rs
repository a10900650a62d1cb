//! Email addresses: trimmed, lowercased and checked for the shape mail systems accept.

use std::fmt;

/// Why an email address was refused, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEmail {
    pub reason: String,
}

impl fmt::Display for InvalidEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid email: {}", self.reason)
    }
}

impl std::error::Error for InvalidEmail {}

fn invalid(reason: impl Into<String>) -> InvalidEmail {
    InvalidEmail {
        reason: reason.into(),
    }
}

/// RFC 5321 limits: 64 octets of local part, 254 of address (a 256-octet path minus brackets).
const MAX_LOCAL: usize = 64;
const MAX_TOTAL: usize = 254;
const MAX_LABEL: usize = 63;

/// Trims, lowercases and validates an email address.
///
/// Lowercasing the local part is a deliberate trade-off: mailboxes are case-insensitive at every
/// provider people use, and dedup must treat `Ann@X.com` and `ann@x.com` as one person.
pub fn normalize_email(input: &str) -> Result<String, InvalidEmail> {
    let trimmed = input.trim();
    let trimmed = trimmed
        .strip_prefix("mailto:")
        .or_else(|| trimmed.strip_prefix("MAILTO:"))
        .unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains spaces or control characters"));
    }
    let email = trimmed.to_lowercase();
    if email.len() > MAX_TOTAL {
        return Err(invalid(format!("it is longer than {MAX_TOTAL} characters")));
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(if email.contains('@') {
            "it has more than one @"
        } else {
            "it has no @"
        }));
    };
    check_local(local)?;
    check_domain(domain)?;
    Ok(email)
}

fn check_local(local: &str) -> Result<(), InvalidEmail> {
    if local.is_empty() {
        return Err(invalid("nothing before the @"));
    }
    if local.len() > MAX_LOCAL {
        return Err(invalid(format!(
            "the part before the @ is longer than {MAX_LOCAL} characters"
        )));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(invalid("misplaced dot before the @"));
    }
    // Quoted local parts are legal but never typed into web forms; refusing the characters that
    // need quoting catches pasted "Name <addr>" strings and typos.
    if let Some(c) = local.chars().find(|c| "<>()[]\\,;:\"".contains(*c)) {
        return Err(invalid(format!("'{c}' is not allowed before the @")));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), InvalidEmail> {
    if domain.is_empty() {
        return Err(invalid("nothing after the @"));
    }
    if !domain.contains('.') {
        return Err(invalid("the domain has no dot"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err(invalid("the domain has an empty part"));
        }
        if label.len() > MAX_LABEL {
            return Err(invalid("a part of the domain is too long"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("a part of the domain starts or ends with '-'"));
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err(invalid("the domain holds characters domains cannot have"));
        }
    }
    let tld = labels.last().expect("split yields at least one part");
    if tld.chars().count() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("the domain does not end in a top-level domain"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_lowercases() {
        assert_eq!(
            normalize_email("  Ann.Example@Example.COM \t").unwrap(),
            "ann.example@example.com"
        );
        assert_eq!(
            normalize_email("mailto:bob+crm@mail.example.co.uk").unwrap(),
            "bob+crm@mail.example.co.uk"
        );
        assert_eq!(normalize_email("jörg@müller.de").unwrap(), "jörg@müller.de");
    }

    #[test]
    fn refuses_malformed_addresses_with_a_reason() {
        for (input, reason) in [
            ("", "it is empty"),
            ("ann", "it has no @"),
            ("a@b@example.com", "it has more than one @"),
            ("@example.com", "nothing before the @"),
            ("ann@", "nothing after the @"),
            ("ann@localhost", "the domain has no dot"),
            ("ann@example..com", "the domain has an empty part"),
            (
                "an n@example.com",
                "it contains spaces or control characters",
            ),
            (
                "ann\u{0}@example.com",
                "it contains spaces or control characters",
            ),
            (".ann@example.com", "misplaced dot before the @"),
            (
                "Ann <ann@example.com>",
                "it contains spaces or control characters",
            ),
            ("<ann@example.com>", "'<' is not allowed before the @"),
            (
                "ann@-example.com",
                "a part of the domain starts or ends with '-'",
            ),
            (
                "ann@example.c",
                "the domain does not end in a top-level domain",
            ),
            (
                "ann@10.0.0.1",
                "the domain does not end in a top-level domain",
            ),
            (
                "ann@exa_mple.com",
                "the domain holds characters domains cannot have",
            ),
        ] {
            assert_eq!(
                normalize_email(input).unwrap_err().reason,
                reason,
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_overlong_addresses() {
        let local = "a".repeat(65);
        assert!(normalize_email(&format!("{local}@example.com")).is_err());
        let domain = format!("{}.com", ["abcdefghij"; 25].join("."));
        assert!(normalize_email(&format!("ann@{domain}")).is_err());
        let ok = format!("{}@example.com", "a".repeat(64));
        assert!(normalize_email(&ok).is_ok());
    }

    fn address() -> impl Strategy<Value = String> {
        (
            "[A-Za-z0-9_+-]{1,12}(\\.[A-Za-z0-9_+-]{1,8})?",
            "[A-Za-z0-9]{1,10}(-[A-Za-z0-9]{1,5})?",
            "[A-Za-z]{2,6}",
        )
            .prop_map(|(l, d, t)| format!("{l}@{d}.{t}"))
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent(addr in address()) {
            let once = normalize_email(&addr).unwrap();
            prop_assert_eq!(normalize_email(&once).unwrap(), once);
        }

        #[test]
        fn case_and_surrounding_space_do_not_matter(
            addr in address(), left in "[ \t\n]{0,3}", right in "[ \t\r\n]{0,3}"
        ) {
            let plain = normalize_email(&addr).unwrap();
            let noisy = format!("{left}{}{right}", addr.to_uppercase());
            prop_assert_eq!(normalize_email(&noisy).unwrap(), plain);
        }

        #[test]
        fn never_panics_and_accepted_values_are_lowercase(input in "\\PC{0,80}") {
            if let Ok(email) = normalize_email(&input) {
                prop_assert_eq!(email.to_lowercase(), email.clone());
                prop_assert_eq!(email.matches('@').count(), 1);
            }
        }
    }
}
