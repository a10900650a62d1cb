//! The window's email (issue 12): compose from a template with a preview of the lead's real data,
//! send through the outbox, the mailbox settings with the password in the keychain, the
//! connection test that names the step that failed, and the window's mail sync. Network work
//! (`switchboard-mail`) runs on its own thread and connection to the database file, so the
//! window's other commands and background sync go on while a server is slow to answer.

use crate::desk::Desk;
use crate::jobs::on_own_connection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use switchboard_core::mail::mailbox::{self, Mailbox};
use switchboard_core::mail::outbox::{self, OutboxMail};
use switchboard_core::mail::templates::{self, EmailTemplate, RenderedMail};
use switchboard_core::{CoreError, Store};
use switchboard_mail::run::{self, TestFailure};
use switchboard_mail::{secret, MailError};
use switchboard_sync::keychain::Keychain;
use switchboard_sync::Secret;
use ts_rs::TS;

/// The environment variable that gives the mailbox password instead of the keychain.
pub use switchboard_mail::secret::PASSWORD_VAR;

/// Opens the keychain the mailbox password lives in.
type KeychainOpener = Arc<dyn Fn() -> switchboard_sync::Result<Keychain> + Send + Sync>;

/// Where the window's mail finds its password: the OS keychain, unless an override (the
/// `SWITCHBOARD_MAIL_PASSWORD` the front end read at start-up, or a test's keychain) says else.
#[derive(Clone)]
pub struct MailService {
    keychain: KeychainOpener,
    password_override: Option<String>,
}

impl MailService {
    /// A service over the OS keychain; `password_override` wins over it when set.
    pub fn new(password_override: Option<String>) -> MailService {
        MailService {
            keychain: Arc::new(Keychain::system),
            password_override: password_override.filter(|p| !p.is_empty()),
        }
    }

    /// The same service over the keychain `open` gives (tests use the keyring mock store).
    pub fn with_keychain(
        open: impl Fn() -> switchboard_sync::Result<Keychain> + Send + Sync + 'static,
    ) -> MailService {
        MailService {
            keychain: Arc::new(open),
            password_override: None,
        }
    }

    fn password(&self, mailbox: &Mailbox) -> Result<Secret, MailError> {
        secret::resolve(
            self.password_override.clone(),
            || (self.keychain)(),
            mailbox,
        )
    }

    /// The mailbox settings and whether a password is known for them.
    pub fn settings(&self, desk: &Desk) -> Result<MailboxSettings, MailError> {
        let mailbox = desk.read(|store| mailbox::load(store.conn()))?;
        let password_stored = mailbox.as_ref().is_some_and(|m| self.password(m).is_ok());
        Ok(MailboxSettings {
            mailbox,
            password_stored,
        })
    }

    /// Saves the settings; a non-empty `password` goes to the keychain (never the database).
    pub fn save(
        &self,
        desk: &Desk,
        mailbox: &Mailbox,
        password: Option<Secret>,
    ) -> Result<MailboxSettings, MailError> {
        desk.act(|tx, _, _| mailbox::save(tx, mailbox))?;
        if let Some(password) = password.filter(|p| !p.expose().is_empty()) {
            let keychain = (self.keychain)().map_err(|e| {
                MailError::NoPassword(format!(
                    "{e}: the settings were saved but the password was not"
                ))
            })?;
            secret::save(&keychain, mailbox, &password)?;
        }
        self.settings(desk)
    }

    /// Connects and logs in to both servers with the saved settings, naming the step that failed.
    pub fn test(&self, desk: &Desk) -> Result<ConnectionTest, MailError> {
        let mailbox = desk.read(|store| mailbox::require(store.conn()))?;
        let password = self.password(&mailbox)?;
        let report = on_runtime(|rt| rt.block_on(run::test(&mailbox, &password)))?;
        // A name that does not resolve is told apart from a server that does not answer.
        let check = |server: &str, host: &str, port: u16, failure: Option<TestFailure>| {
            unresolved(server, host, port).unwrap_or_else(|| CheckResult::of(server, failure))
        };
        Ok(ConnectionTest {
            smtp: check("SMTP", &mailbox.smtp_host, mailbox.smtp_port, report.smtp),
            imap: check("IMAP", &mailbox.imap_host, mailbox.imap_port, report.imap),
        })
    }

    /// Queues a mail from `template` for `lead` with the rep's edited subject and body, then tries
    /// to send the queue at once. Queued is success: an unreachable server or a missing password
    /// leaves the mail queued with the reason in `problem`, for the next sync.
    pub fn send(
        &self,
        desk: &Desk,
        lead: &str,
        template: &str,
        subject: &str,
        body: &str,
    ) -> Result<MailSent, MailError> {
        let queued = desk.act(|tx, actor, at| {
            outbox::queue_edited(tx, lead, template, Some((subject, body)), actor, at)
        })?;
        let problem = self.send_queued(desk).err().map(Problem::from);
        let mail = desk.read(|store| outbox::get(store.conn(), &queued.id))?;
        Ok(MailSent { mail, problem })
    }

    fn send_queued(&self, desk: &Desk) -> Result<run::SendReport, MailError> {
        on_own_connection(desk.shared(), |store: &mut Store| {
            let mailbox = mailbox::require(store.conn())?;
            let password = self.password(&mailbox)?;
            on_runtime(|rt| rt.block_on(run::send_queued(store, &mailbox, &password, &|_| vec![])))?
        })
    }

    /// Sends what is queued, then reads replies and bounces of sent mail from the inbox.
    pub fn sync(&self, desk: &Desk) -> Result<MailSync, MailError> {
        let sent = self.send_queued(desk)?;
        let read = on_own_connection(desk.shared(), |store: &mut Store| {
            let mailbox = mailbox::require(store.conn())?;
            let password = self.password(&mailbox)?;
            on_runtime(|rt| rt.block_on(run::read_inbox(store, &mailbox, &password)))?
        })?;
        Ok(MailSync {
            sent: sent.sent.len() as u32,
            cancelled: sent.cancelled.len() as u32,
            refused: sent.failed.len() as u32,
            interrupted: sent.interrupted.len() as u32,
            still_queued: sent.queued as u32,
            replies: read.replies.len() as u32,
            bounces: read.bounces.len() as u32,
        })
    }
}

/// Runs `work` with a runtime of its own on a thread of its own: the window's commands already
/// run inside Tauri's runtime, where another one cannot be entered.
fn on_runtime<T: Send>(
    work: impl FnOnce(&tokio::runtime::Runtime) -> T + Send,
) -> Result<T, MailError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        MailError::Config(format!("cannot start the mail runtime: {e}"))
                    })?;
                Ok(work(&rt))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(MailError::Config(
                    "the mail thread stopped unexpectedly".into(),
                ))
            })
    })
}

/// The failed DNS step when `host` has no address (looked up the way the connection does).
fn unresolved(server: &str, host: &str, port: u16) -> Option<CheckResult> {
    use std::net::ToSocketAddrs;
    let why = match (host.trim(), port).to_socket_addrs() {
        Ok(mut addresses) => match addresses.next() {
            Some(_) => return None,
            None => "no address".to_string(),
        },
        Err(e) => e.to_string(),
    };
    Some(CheckResult {
        server: server.into(),
        ok: false,
        failed_step: Some("finding the server (DNS)".into()),
        code: Some("mail_unreachable".into()),
        message: Some(format!(
            "the {server} server's name {} does not resolve ({why}): check the host name and the network",
            host.trim()
        )),
    })
}

/// The mailbox settings screen's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MailboxSettings {
    /// `null` until the mailbox is set up.
    pub mailbox: Option<Mailbox>,
    /// Whether a password for it is in the keychain (or given by the environment).
    pub password_stored: bool,
}

/// One server's part of the connection test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CheckResult {
    pub server: String,
    pub ok: bool,
    /// The step that failed, in words: "finding the server (DNS)", "connecting to the server",
    /// "the TLS handshake", "logging in", "opening the inbox".
    pub failed_step: Option<String>,
    pub code: Option<String>,
    /// What failed and what to do.
    pub message: Option<String>,
}

impl CheckResult {
    fn of(server: &str, failure: Option<TestFailure>) -> CheckResult {
        let Some(f) = failure else {
            return CheckResult {
                server: server.into(),
                ok: true,
                failed_step: None,
                code: None,
                message: None,
            };
        };
        let step = match (server, f.code.as_str()) {
            (_, "mail_unreachable") => "connecting to the server (host, port)",
            (_, "mail_tls_failed") => "the TLS handshake",
            (_, "mail_auth_failed") => "logging in",
            ("IMAP", "mail_server_refused") => "opening the inbox",
            (_, "mail_config") => "reading the settings",
            _ => "talking to the server",
        };
        CheckResult {
            server: server.into(),
            ok: false,
            failed_step: Some(step.into()),
            code: Some(f.code),
            message: Some(f.message),
        }
    }
}

/// What "Test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ConnectionTest {
    pub smtp: CheckResult,
    pub imap: CheckResult,
}

/// Why a queued mail was not sent at once (it stays queued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, rename = "MailProblem")]
pub struct Problem {
    pub code: String,
    pub message: String,
}

impl From<MailError> for Problem {
    fn from(e: MailError) -> Problem {
        Problem {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

/// The mail compose queued, and why it is still queued if it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MailSent {
    pub mail: OutboxMail,
    pub problem: Option<Problem>,
}

/// What the window's mail sync did, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MailSync {
    pub sent: u32,
    /// The gate refused at the moment of sending.
    pub cancelled: u32,
    /// The server refused the recipient for good.
    pub refused: u32,
    /// The exchange broke off mid-send: may have arrived; the rep decides.
    pub interrupted: u32,
    pub still_queued: u32,
    pub replies: u32,
    pub bounces: u32,
}

/// What the compose panel needs for a lead: the templates, whether a mailbox is set up, and the
/// lead's mails in the outbox, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Compose {
    pub templates: Vec<EmailTemplate>,
    /// The address mail goes from; `null` when no mailbox is set up.
    pub from: Option<String>,
    pub outbox: Vec<OutboxMail>,
}

/// The compose panel's data for `lead` (id).
pub fn compose(store: &Store, lead: &str) -> switchboard_core::Result<Compose> {
    let conn = store.conn();
    Ok(Compose {
        templates: templates::list(conn)?,
        from: mailbox::load(conn)?.map(|m| m.address),
        outbox: outbox::list(conn)?
            .into_iter()
            .filter(|m| m.lead_id == lead)
            .collect(),
    })
}

/// The rep's edited subject and body rendered with the lead's real data, as it would go now.
pub fn preview(
    store: &Store,
    lead: &str,
    subject: &str,
    body: &str,
    rep: &str,
) -> switchboard_core::Result<RenderedMail> {
    let signature = mailbox::load(store.conn())?
        .map(|m| m.signature)
        .unwrap_or_default();
    templates::preview_text(store.conn(), subject, body, lead, rep, &signature)
}

/// Queues an interrupted or failed mail again (`retry`) or cancels it.
pub fn resolve(desk: &Desk, id: &str, send_again: bool) -> Result<OutboxMail, CoreError> {
    desk.act(|tx, _, _| outbox::resolve(tx, id, send_again))
}
