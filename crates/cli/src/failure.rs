//! The binary's error-report type: what went wrong, in words for a person and as a stable code,
//! and the exit code a script branches on. Core error codes map to exit codes here and only here.

use std::io::Write;
use std::process::ExitCode;
use switchboard_core::CoreError;

/// Exit codes of the `switchboard` command (the contract scripts rely on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Something failed that is not the caller's fault (a database or file error).
    Failed = 1,
    /// Bad input or usage.
    BadInput = 2,
    /// Refused by the compliance gate (or the person was erased).
    Refused = 3,
    /// No such lead, request, queue, …
    NotFound = 4,
    /// Someone else holds or changed it.
    Conflict = 5,
}

/// A failed command: the stable code, the message for a person, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub code: &'static str,
    pub message: String,
}

/// The result every command returns.
pub type CliResult<T = ()> = Result<T, Failure>;

impl Failure {
    /// Bad input or usage the core never saw (exit 2).
    pub fn bad_input(message: impl Into<String>) -> Failure {
        Failure {
            exit: Exit::BadInput,
            code: "bad_input",
            message: message.into(),
        }
    }

    /// Something that does not exist (exit 4).
    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure {
            exit: Exit::NotFound,
            code: "not_found",
            message: message.into(),
        }
    }

    /// The gate's refusal, reported after the command printed its own answer (exit 3).
    pub fn refused(message: impl Into<String>) -> Failure {
        Failure {
            exit: Exit::Refused,
            code: "blocked",
            message: message.into(),
        }
    }

    /// A file the command itself reads or writes could not be used (exit 1).
    pub fn io(context: impl std::fmt::Display, error: std::io::Error) -> Failure {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure::closed_pipe();
        }
        Failure::from(CoreError::io(context.to_string(), error))
    }

    /// The reader of stdout went away (`switchboard … | head`): stop quietly, as Unix tools do.
    fn closed_pipe() -> Failure {
        Failure {
            exit: Exit::Failed,
            code: "io",
            message: String::new(),
        }
    }

    /// Prints the failure on stderr (a line for people, or with `--json` an object
    /// `{"error": {"code", "message"}}`) and returns the exit code.
    pub fn report(self, json: bool) -> ExitCode {
        if self.message.is_empty() {
            return ExitCode::from(self.exit as u8);
        }
        let text = if json {
            serde_json::json!({ "error": { "code": self.code, "message": self.message } })
                .to_string()
        } else {
            let label = match self.exit {
                Exit::Refused => "refused",
                _ => "error",
            };
            format!("switchboard: {label}: {}", self.message)
        };
        // Stderr may be closed; nothing more useful can be done then than exit with the code.
        let _ = writeln!(std::io::stderr(), "{text}");
        ExitCode::from(self.exit as u8)
    }
}

/// The one mapping from the core's stable error codes to exit codes.
fn exit_for(code: &str) -> Exit {
    match code {
        "bad_input" => Exit::BadInput,
        "blocked" | "suppressed" | "unsubscribe_not_configured" | "role_required" => Exit::Refused,
        "not_found" => Exit::NotFound,
        "conflict" => Exit::Conflict,
        _ => Exit::Failed,
    }
}

impl From<CoreError> for Failure {
    fn from(error: CoreError) -> Failure {
        let code = error.code();
        Failure {
            exit: exit_for(code),
            code,
            message: error.to_string(),
        }
    }
}

impl From<serde_json::Error> for Failure {
    fn from(error: serde_json::Error) -> Failure {
        if error.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
            return Failure::closed_pipe();
        }
        Failure {
            exit: Exit::Failed,
            code: "io",
            message: format!("writing JSON: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_codes_map_to_the_documented_exit_codes() {
        let cases = [
            (CoreError::BadInput("x".into()), 2),
            (CoreError::Blocked("x".into()), 3),
            (CoreError::Suppressed("x".into()), 3),
            (CoreError::UnsubscribeNotConfigured("x".into()), 3),
            (CoreError::RoleRequired("x".into()), 3),
            (CoreError::NotFound("x".into()), 4),
            (CoreError::Conflict("x".into()), 5),
            (CoreError::io("reading", std::io::Error::other("gone")), 1),
        ];
        for (error, exit) in cases {
            let code = error.code();
            assert_eq!(Failure::from(error).exit as u8, exit, "{code}");
        }
    }
}
