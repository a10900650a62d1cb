//! What a failed command sends to the UI: the protocol's `{code, message}` body, with the core's
//! stable code to branch on and a message to show.

use switchboard_core::protocol::ErrorBody;
use switchboard_core::CoreError;

/// The body of a rejected `invoke`.
pub fn error_body(error: CoreError) -> ErrorBody {
    ErrorBody {
        code: error.code().to_string(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_core_code_and_message() {
        let body = error_body(CoreError::NotFound("no lead with id 42".into()));
        assert_eq!(body.code, "not_found");
        assert_eq!(body.message, "no lead with id 42");
    }
}
