//! Email from the rep's own mailbox, the storage side: templates with merge fields, the mailbox
//! settings (never its password), the outbox of mails waiting for the SMTP server, the one-click
//! unsubscribe links they carry, and recording
//! what came back (replies, delivery-status reports). The network side — SMTP, IMAP, parsing
//! reports — is `switchboard-mail`'s; it calls these functions.

pub mod inbound;
pub mod mailbox;
pub mod outbox;
pub mod templates;
pub mod unsubscribe;
