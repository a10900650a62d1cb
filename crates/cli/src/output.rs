//! Printing for people (aligned columns, key/value blocks) and for scripts (JSON).
//! Lead data comes from public web forms, so text for a terminal has control characters
//! replaced: a registration must not be able to move the cursor or recolour the screen.

use crate::failure::{CliResult, Failure};
use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use std::io::Write;

/// Prints a value as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> CliResult {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out).map_err(|e| Failure::io("writing to stdout", e))
}

/// Prints a line on stdout.
pub fn line(text: impl AsRef<str>) -> CliResult {
    writeln!(std::io::stdout().lock(), "{}", text.as_ref())
        .map_err(|e| Failure::io("writing to stdout", e))
}

/// Makes untrusted text safe and single-line for a terminal.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An optional value for a terminal: cleaned, or "-" when absent.
pub fn opt(value: Option<&str>) -> String {
    value.map(clean).unwrap_or_else(|| "-".to_string())
}

/// An instant for a terminal, in the local time zone.
pub fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// An optional instant for a terminal.
pub fn opt_time(at: Option<DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_else(|| "-".to_string())
}

/// Text columns, left-aligned and padded to the widest cell.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Cells wider than this are cut so one long value does not push every row off the screen.
const MAX_CELL: usize = 40;

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are cleaned, and all but the last (often a reason or a note, which
    /// must be read whole) are cut to a readable width.
    pub fn row(&mut self, cells: Vec<String>) {
        let last = cells.len().saturating_sub(1);
        self.rows.push(
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| if i < last { cut(&clean(c)) } else { clean(c) })
                .collect(),
        );
    }

    /// Renders the table with a header line.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell.chars().count());
                }
            }
        }
        let mut text = String::new();
        for cells in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if i + 1 < cells.len() {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }

    /// Prints the table on stdout.
    pub fn print(&self) -> CliResult {
        write!(std::io::stdout().lock(), "{}", self.render())
            .map_err(|e| Failure::io("writing to stdout", e))
    }
}

/// Label/value lines with the values aligned.
pub struct Fields {
    pairs: Vec<(String, String)>,
}

impl Fields {
    /// An empty block.
    pub fn new() -> Fields {
        Fields { pairs: Vec::new() }
    }

    /// Adds a label and a (cleaned) value.
    pub fn add(&mut self, label: &str, value: impl AsRef<str>) -> &mut Fields {
        self.pairs.push((label.to_string(), clean(value.as_ref())));
        self
    }

    /// Renders the block.
    pub fn render(&self) -> String {
        let width = self
            .pairs
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        self.pairs
            .iter()
            .map(|(label, value)| format!("{label:<width$}  {value}\n"))
            .collect()
    }

    /// Prints the block on stdout.
    pub fn print(&self) -> CliResult {
        write!(std::io::stdout().lock(), "{}", self.render())
            .map_err(|e| Failure::io("writing to stdout", e))
    }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_CELL {
        return text.to_string();
    }
    let mut short: String = text.chars().take(MAX_CELL - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_control_characters_are_gone() {
        let mut table = Table::new(&["ID", "NAME"]);
        table.row(vec!["1".into(), "Ann\u{1b}[31m".into()]);
        table.row(vec!["22222".into(), "Bo".into()]);
        let text = table.render();
        assert_eq!(text, "ID     NAME\n1      Ann [31m\n22222  Bo\n");
    }

    #[test]
    fn long_cells_are_cut_except_the_last() {
        let mut table = Table::new(&["X", "REASON"]);
        table.row(vec!["y".repeat(100), "z".repeat(100)]);
        let line = table.render().lines().nth(1).unwrap().to_string();
        assert!(
            line.starts_with(&format!("{}…  ", "y".repeat(MAX_CELL - 1))),
            "{line}"
        );
        assert!(line.ends_with(&"z".repeat(100)), "{line}");
    }
}
