//! Sending over SMTP from the rep's own mailbox: lettre over rustls, STARTTLS (required, never
//! plain text) or implicit TLS, logging in with the mailbox password. Server answers are sorted
//! into errors that say what to do, and into "certainly not sent" versus "refused for good".

use crate::error::{MailError, Result};
use crate::tls;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox as Address, MessageBuilder};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use switchboard_core::mail::mailbox::{Mailbox, SmtpSecurity};
use switchboard_core::mail::outbox::Outgoing;
use switchboard_protocol::Secret;

/// How long one SMTP exchange may take before the server counts as unreachable.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A connection setting to the rep's SMTP server.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
    address: String,
}

impl Smtp {
    /// The transport for `mailbox`, logging in with `password`. Call it inside a Tokio runtime:
    /// its connection pool (one TLS session reused for a whole `mail sync`) lives there.
    pub fn new(mailbox: &Mailbox, password: &Secret) -> Result<Smtp> {
        let mut params = TlsParameters::builder(mailbox.smtp_host.clone());
        if let Some(path) = &mailbox.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                MailError::Config(format!("cannot read the CA file {}: {e}", path.display()))
            })?;
            // Checked by our own reader first, for a clear message on a bad file.
            tls::read_ca_file(path)?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| MailError::Config(format!("CA file {}: {e}", path.display())))?;
            params = params.add_root_certificate(cert);
        }
        let params = params.build_rustls().map_err(|e| MailError::Tls {
            server: "SMTP",
            detail: e.to_string(),
        })?;
        let tls = match mailbox.smtp_security {
            SmtpSecurity::StartTls => Tls::Required(params),
            SmtpSecurity::Tls => Tls::Wrapper(params),
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&mailbox.smtp_host)
            .port(mailbox.smtp_port)
            .tls(tls)
            .hello_name(ClientId::Domain(mailbox.domain().to_string()))
            .credentials(Credentials::new(
                mailbox.username.clone(),
                password.expose().to_string(),
            ))
            .authentication(vec![Mechanism::Plain, Mechanism::Login])
            .timeout(Some(TIMEOUT))
            .build();
        let from = Address::new(
            mailbox
                .display_name
                .clone()
                .filter(|n| !n.trim().is_empty()),
            mailbox.address.parse().map_err(|e| {
                MailError::Config(format!("the sending address {}: {e}", mailbox.address))
            })?,
        );
        Ok(Smtp {
            transport,
            from,
            address: format!("{}:{}", mailbox.smtp_host, mailbox.smtp_port),
        })
    }

    /// Connects, secures and logs in, then says goodbye: what `mail test` checks.
    pub async fn test(&self) -> Result<()> {
        self.transport
            .test_connection()
            .await
            .map_err(|e| self.classify(&e))?;
        Ok(())
    }

    /// The message for a claimed mail: plain text, its fixed Message-ID, its own headers
    /// (`List-Unsubscribe`, …) and any extra ones.
    pub fn message(&self, mail: &Outgoing, extra: Vec<(String, String)>) -> Result<Message> {
        let to: Address = mail.to.parse().map_err(|e| MailError::RecipientRefused {
            detail: format!("'{}' is not a usable address: {e}", mail.to),
        })?;
        let mut builder: MessageBuilder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(mail.message_id.clone()))
            .header(ContentType::TEXT_PLAIN);
        for (name, value) in mail.headers.iter().cloned().chain(extra) {
            builder = builder.raw_header(lettre::message::header::HeaderValue::new(
                lettre::message::header::HeaderName::new_from_ascii(name)
                    .map_err(|e| MailError::Config(format!("header name: {e}")))?,
                value,
            ));
        }
        builder
            .body(mail.body.clone())
            .map_err(|e| MailError::Config(format!("the mail cannot be built: {e}")))
    }

    /// Sends one message.
    pub async fn send(&self, message: Message) -> Result<()> {
        self.transport
            .send(message)
            .await
            .map_err(|e| self.classify(&e))?;
        Ok(())
    }

    /// Sorts a lettre error by what the rep should do about it.
    fn classify(&self, e: &lettre::transport::smtp::Error) -> MailError {
        let detail = chain(e);
        if let Some(code) = e.status() {
            let code = code.to_string();
            if matches!(code.as_str(), "530" | "534" | "535" | "538") {
                return MailError::AuthFailed {
                    server: "SMTP",
                    detail,
                };
            }
            if e.is_permanent() && matches!(code.as_str(), "550" | "551" | "553" | "554" | "501") {
                return MailError::RecipientRefused { detail };
            }
            return MailError::Server {
                server: "SMTP",
                detail,
            };
        }
        let lower = detail.to_lowercase();
        if e.is_tls()
            || lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            return MailError::Tls {
                server: "SMTP",
                detail,
            };
        }
        MailError::Unreachable {
            server: "SMTP",
            address: self.address.clone(),
            detail,
        }
    }
}

/// An error with its sources, one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
