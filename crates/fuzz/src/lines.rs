//! The lines of a file, split independently of the readers so the properties can check them.

/// The lines of a CSV file: LF, CRLF and a lone CR each end one (what the CSV reader counts).
pub fn csv_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\n' => {
                lines.push(&data[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&data[start..i]);
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < data.len() {
        lines.push(&data[start..]);
    }
    lines
}

/// The lines of a JSON Lines file: only LF ends one.
pub fn jsonl_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_of_every_kind_count_once() {
        assert_eq!(csv_lines(b"a\r\nb\rc\n\nd").len(), 5);
        assert_eq!(csv_lines(b"a\n").len(), 1);
        assert_eq!(jsonl_lines(b"a\r\nb\rc\n\nd").len(), 4);
    }
}
