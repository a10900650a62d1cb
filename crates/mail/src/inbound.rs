//! Telling what an inbound message is (mail-parser): a reply names sent mails by `In-Reply-To`
//! and `References`; a delivery-status notification (RFC 3464, `multipart/report;
//! report-type=delivery-status`) carries the original's Message-ID in its returned headers and,
//! per recipient, an `Action` and a `Status` — 5.x.x failed is a hard bounce, 4.x.x (or
//! "delayed") a soft one.

use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders};

/// A Message-ID in the form the outbox stores it: `<id@host>`.
pub fn bracketed(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![bracketed(t)],
        HeaderValue::TextList(list) => list.iter().map(|t| bracketed(t)).collect(),
        _ => Vec::new(),
    }
}

/// What the headers of a new message say, before anything more is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFacts {
    pub message_id: Option<String>,
    /// Sent mails it answers (`In-Reply-To`, then `References`).
    pub named: Vec<String>,
    /// A `multipart/report` (a delivery-status notification, most likely).
    pub is_report: bool,
}

impl HeaderFacts {
    /// Whether the whole message is worth fetching: it names a mail or may be a report.
    pub fn worth_reading(&self, is_ours: impl Fn(&str) -> bool) -> bool {
        self.is_report || self.named.iter().any(|id| is_ours(id))
    }
}

/// Reads a message's header block.
pub fn header_facts(header: &[u8]) -> Option<HeaderFacts> {
    let message = MessageParser::default().parse_headers(header)?;
    let mut named = ids(message.in_reply_to());
    for id in ids(message.references()) {
        if !named.contains(&id) {
            named.push(id);
        }
    }
    let is_report = message.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart")
            && c.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    Some(HeaderFacts {
        message_id: message.message_id().map(bracketed),
        named,
        is_report,
    })
}

/// What an inbound message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A person's answer: its text.
    Reply {
        message_id: String,
        named: Vec<String>,
        text: String,
    },
    /// A delivery-status notification about the named mail(s).
    Report {
        message_id: String,
        named: Vec<String>,
        hard: bool,
        /// `Status` and `Diagnostic-Code` of the failed recipient.
        detail: String,
    },
}

/// The fields of a delivery-status part: (field name lowercased, value), every block.
fn status_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    fields
}

fn is_part(part: &mail_parser::MessagePart<'_>, ctype: &str, subtypes: &[&str]) -> bool {
    part.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case(ctype)
            && c.subtype()
                .is_some_and(|s| subtypes.iter().any(|t| s.eq_ignore_ascii_case(t)))
    })
}

/// Reads a delivery-status notification; `None` when the message is not one.
fn report(message: &Message<'_>, message_id: &str, mut named: Vec<String>) -> Option<Inbound> {
    let status = message
        .parts
        .iter()
        .find(|p| is_part(p, "message", &["delivery-status", "global-delivery-status"]))?;
    let fields = status_fields(&String::from_utf8_lossy(status.contents()));
    let value = |name: &str| {
        fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let actions = value("action");
    let statuses = value("status");
    let failed = actions.iter().any(|a| a.eq_ignore_ascii_case("failed"));
    let hard = failed && statuses.iter().any(|s| s.starts_with('5'));
    if !failed && !actions.iter().any(|a| a.eq_ignore_ascii_case("delayed")) {
        return None; // "delivered", "relayed", "expanded": not a bounce.
    }
    let mut detail = statuses.join(", ");
    if let Some(diagnostic) = value("diagnostic-code").first() {
        detail = format!("{detail} {diagnostic}");
    }
    // The original's headers: text/rfc822-headers, or a whole message/rfc822.
    for part in &message.parts {
        let original = if let Some(inner) = part.message() {
            inner.message_id().map(bracketed)
        } else if is_part(part, "text", &["rfc822-headers", "global-headers"]) {
            MessageParser::default()
                .parse_headers(part.contents())
                .and_then(|h| h.message_id().map(bracketed))
        } else {
            None
        };
        if let Some(id) = original {
            if !named.contains(&id) {
                named.insert(0, id);
            }
        }
    }
    Some(Inbound::Report {
        message_id: message_id.to_string(),
        named,
        hard,
        detail: detail.trim().to_string(),
    })
}

/// Reads a whole inbound message: a report when it is a delivery-status notification, else a
/// reply when it names a mail; `None` otherwise.
pub fn classify(raw: &[u8]) -> Option<Inbound> {
    let message = MessageParser::default().parse(raw)?;
    let facts = header_facts(raw)?;
    // Mail servers give every message a Message-ID; one without gets a stand-in from its size.
    let message_id = facts
        .message_id
        .clone()
        .unwrap_or_else(|| bracketed(&format!("no-id-{}", raw.len())));
    if facts.is_report {
        if let Some(report) = report(&message, &message_id, facts.named.clone()) {
            return Some(report);
        }
    }
    if facts.named.is_empty() {
        return None;
    }
    Some(Inbound::Reply {
        message_id,
        named: facts.named,
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_messages_naming_a_sent_mail_or_reports_are_worth_reading() {
        let reply = b"Message-ID: <r1@x>\r\nIn-Reply-To: <a@b>\r\nReferences: <z@y> <a@b>\r\nSubject: Re\r\n\r\n";
        let facts = header_facts(reply).unwrap();
        assert_eq!(facts.message_id.as_deref(), Some("<r1@x>"));
        assert_eq!(facts.named, vec!["<a@b>".to_string(), "<z@y>".to_string()]);
        assert!(facts.worth_reading(|id| id == "<a@b>"));
        assert!(!facts.worth_reading(|id| id == "<other@b>"));
        let news = header_facts(b"Message-ID: <n@x>\r\nSubject: News\r\n\r\n").unwrap();
        assert!(!news.worth_reading(|_| true));
        let report = header_facts(
            b"Message-ID: <d@x>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n",
        )
        .unwrap();
        assert!(report.is_report && report.worth_reading(|_| false));
    }

    #[test]
    fn a_delivered_report_is_not_a_bounce() {
        let raw = "Message-ID: <d@x>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nDelivered.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; a@b\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n\
--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <sent@x>\r\nSubject: Hi\r\n\r\n--b--\r\n";
        assert_eq!(classify(raw.as_bytes()), None);
        let delayed = raw.replace(
            "Action: delivered\r\nStatus: 2.0.0",
            "Action: delayed\r\nStatus: 4.4.1",
        );
        match classify(delayed.as_bytes()) {
            Some(Inbound::Report { named, hard, .. }) => {
                assert_eq!(named, vec!["<sent@x>".to_string()]);
                assert!(!hard);
            }
            other => panic!("{other:?}"),
        }
    }
}
