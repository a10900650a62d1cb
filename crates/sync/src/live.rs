//! The client of the server's live stream (`GET /v1/changes/live`, server-sent events): it says
//! "pull now" as soon as a change this replica may see commits, so `watch` need not poll.

use crate::client::{error_from, network, Client};
use crate::error::{Result, SyncError};
use std::time::Duration;
use switchboard_protocol::{Secret, PROTOCOL_HEADER, PROTOCOL_VERSION};

/// How long a stream may stay silent before it counts as lost: the server sends a keep-alive
/// every 15 s, so three missed ones.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(45);

/// The most bytes of one event; a server that sends more is not speaking this protocol.
const MAX_EVENT: usize = 16 * 1024;

/// What the stream said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// The stream is open; the server's log ends at `cursor`.
    Ready { cursor: i64 },
    /// A change this replica may see committed; the log now ends at `cursor`.
    Change { cursor: i64 },
    /// The server ended the stream (`code`: e.g. `device_revoked`); the next pull says why.
    Closed { code: String },
}

/// An open live stream.
pub struct LiveStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for LiveStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveStream").finish_non_exhaustive()
    }
}

impl Client {
    /// Opens the live stream, announcing changes after `after` at once. `None`: the server has
    /// no live stream (older than protocol 4, 404) or this device holds too many (429); poll.
    pub async fn live(&self, token: &Secret, after: i64) -> Result<Option<LiveStream>> {
        let response = self
            .http()
            .get(format!("{}/v1/changes/live?after={after}", self.base()))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(error_from(response).await);
        }
        Ok(Some(LiveStream {
            response,
            buffer: Vec::new(),
        }))
    }
}

impl LiveStream {
    /// The next event; an error when the stream ends, falls silent or sends nonsense (the
    /// caller syncs and connects again). Cancel-safe: a partly read event stays buffered.
    pub async fn next(&mut self) -> Result<LiveEvent> {
        loop {
            while let Some(block) = take_block(&mut self.buffer) {
                if let Some(event) = parse_block(&block)? {
                    return Ok(event);
                }
            }
            if self.buffer.len() > MAX_EVENT {
                return Err(SyncError::Network(
                    "the live stream sent an event too large to be one".into(),
                ));
            }
            let chunk = tokio::time::timeout(SILENCE_LIMIT, self.response.chunk())
                .await
                .map_err(|_| SyncError::Network("the live stream fell silent".into()))?
                .map_err(network)?
                .ok_or_else(|| SyncError::Network("the server ended the live stream".into()))?;
            self.buffer.extend_from_slice(&chunk);
        }
    }
}

/// Takes one complete event block (up to a blank line) off the front of `buffer`.
fn take_block(buffer: &mut Vec<u8>) -> Option<String> {
    let end = buffer.windows(2).position(|w| w == b"\n\n")?;
    let block: Vec<u8> = buffer.drain(..end + 2).collect();
    Some(String::from_utf8_lossy(&block[..end]).into_owned())
}

/// The event a block holds; `None` for comments (keep-alives) and unknown event names.
fn parse_block(block: &str) -> Result<Option<LiveEvent>> {
    let mut name = "message";
    let mut data = "";
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = value.trim();
        } else if let Some(value) = line.strip_prefix("data:") {
            data = value.trim();
        }
    }
    let garbled = || SyncError::Network(format!("the live stream sent a garbled event: {block}"));
    let cursor = || -> Result<i64> {
        let value: serde_json::Value = serde_json::from_str(data).map_err(|_| garbled())?;
        value["cursor"].as_i64().ok_or_else(garbled)
    };
    Ok(match name {
        "ready" => Some(LiveEvent::Ready { cursor: cursor()? }),
        "change" => Some(LiveEvent::Change { cursor: cursor()? }),
        "closed" => {
            let value: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
            Some(LiveEvent::Closed {
                code: value["code"].as_str().unwrap_or("closed").to_string(),
            })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_at_blank_lines_and_comments_are_skipped() {
        let mut buffer =
            b": keep-alive\n\nevent: change\ndata: {\"cursor\":7}\n\nevent: rea".to_vec();
        let first = take_block(&mut buffer).unwrap();
        assert_eq!(parse_block(&first).unwrap(), None);
        let second = take_block(&mut buffer).unwrap();
        assert_eq!(
            parse_block(&second).unwrap(),
            Some(LiveEvent::Change { cursor: 7 })
        );
        assert_eq!(take_block(&mut buffer), None, "a partial event waits");
        assert_eq!(buffer, b"event: rea");
    }

    #[test]
    fn garbled_events_are_errors_and_closed_names_its_code() {
        assert!(parse_block("event: change\ndata: nonsense").is_err());
        assert!(parse_block("event: ready\ndata: {\"cursor\":\"x\"}").is_err());
        assert_eq!(
            parse_block("event: closed\ndata: {\"code\":\"device_revoked\"}").unwrap(),
            Some(LiveEvent::Closed {
                code: "device_revoked".into()
            })
        );
        assert_eq!(parse_block("event: later\ndata: {}").unwrap(), None);
    }
}
