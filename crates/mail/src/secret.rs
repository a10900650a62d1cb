//! The mailbox password's home: the OS keychain, through the same store as the sync token
//! (`switchboard_sync::keychain`), under the account `mailbox:<user>@<smtp host>`. Never the
//! database. `SWITCHBOARD_MAIL_PASSWORD` overrides it for scripts and tests.

use crate::error::{MailError, Result};
use switchboard_core::mail::mailbox::Mailbox;
use switchboard_protocol::Secret;
use switchboard_sync::keychain::{Keychain, NO_KEYCHAIN_HELP};

/// The environment variable that overrides the keychain.
pub const PASSWORD_VAR: &str = "SWITCHBOARD_MAIL_PASSWORD";

fn user(mailbox: &Mailbox) -> String {
    format!("mailbox:{}", mailbox.username.trim())
}

/// Stores the mailbox password in the keychain, replacing an earlier one.
pub fn save(keychain: &Keychain, mailbox: &Mailbox, password: &Secret) -> Result<()> {
    keychain
        .save(&user(mailbox), &mailbox.smtp_host, password)
        .map_err(|e| MailError::NoPassword(format!("cannot store the mailbox password: {e}")))
}

/// Forgets the mailbox password.
pub fn delete(keychain: &Keychain, mailbox: &Mailbox) -> Result<()> {
    keychain
        .delete(&user(mailbox), &mailbox.smtp_host)
        .map_err(|e| MailError::NoPassword(e.to_string()))
}

/// The password to log in with: `env` (the override) when set, else the keychain's (opened
/// only then); the error says what to do when there is neither.
pub fn resolve(
    env: Option<String>,
    keychain: impl FnOnce() -> switchboard_sync::Result<Keychain>,
    mailbox: &Mailbox,
) -> Result<Secret> {
    if let Some(password) = env.filter(|p| !p.is_empty()) {
        return Ok(Secret::new(password));
    }
    let keychain = keychain().map_err(|_| {
        MailError::NoPassword(format!(
            "no mailbox password: {NO_KEYCHAIN_HELP} (for mail, {PASSWORD_VAR} instead of SWITCHBOARD_TOKEN)"
        ))
    })?;
    match keychain.load(&user(mailbox), &mailbox.smtp_host) {
        Ok(Some(password)) => Ok(password),
        Ok(None) => Err(MailError::NoPassword(format!(
            "no password for the mailbox {} in the keychain: run `switchboard mail setup` (or set {PASSWORD_VAR})",
            mailbox.username
        ))),
        Err(e) => Err(MailError::NoPassword(format!("{e}; {NO_KEYCHAIN_HELP}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::mail::mailbox::SmtpSecurity;

    fn mailbox() -> Mailbox {
        Mailbox {
            address: "rita@example.test".into(),
            display_name: None,
            username: "rita@example.test".into(),
            smtp_host: "smtp.example.test".into(),
            smtp_port: 587,
            smtp_security: SmtpSecurity::StartTls,
            imap_host: "imap.example.test".into(),
            imap_port: 993,
            ca_file: None,
            signature: String::new(),
        }
    }

    #[test]
    fn the_password_round_trips_through_the_keychain_and_the_environment_overrides() {
        let keychain = Keychain::with_store(keyring_core::mock::Store::new().unwrap());
        let m = mailbox();
        let missing = resolve(None, || Ok(keychain.clone()), &m).unwrap_err();
        assert_eq!(missing.code(), "mail_no_password");
        assert!(missing.to_string().contains("mail setup"), "{missing}");
        save(&keychain, &m, &Secret::new("app-password")).unwrap();
        let found = resolve(None, || Ok(keychain.clone()), &m).unwrap();
        assert_eq!(found.expose(), "app-password");
        let env = resolve(Some("from-env".into()), || Ok(keychain.clone()), &m).unwrap();
        assert_eq!(env.expose(), "from-env");
        // The sync token of the same user is another entry.
        assert_eq!(
            keychain
                .load("rita@example.test", "smtp.example.test")
                .unwrap(),
            None
        );
        delete(&keychain, &m).unwrap();
        assert!(resolve(None, || Ok(keychain), &m).is_err());
    }
}
