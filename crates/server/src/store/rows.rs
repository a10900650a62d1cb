//! Query results held in one text buffer.
//!
//! A page of the change log is thousands of rows, each with a long sealed operation and a few
//! ids. As `Vec<Row>` every text value is its own allocation, freed again once the page is
//! written: that allocation and freeing was a fifth of a first sync's server time. `Rows` keeps
//! every text of a result in one growing buffer and each value as a range into it.

use super::{Row, Val};
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    Null,
    Int(i64),
    Text(Range<usize>),
}

/// The rows of one query, `width` values each.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    width: usize,
    text: String,
    cells: Vec<Cell>,
}

impl Rows {
    /// An empty result of `width` columns.
    pub fn new(width: usize) -> Rows {
        Rows {
            width,
            text: String::new(),
            cells: Vec::new(),
        }
    }

    pub fn push_null(&mut self) {
        self.cells.push(Cell::Null);
    }

    pub fn push_int(&mut self, n: i64) {
        self.cells.push(Cell::Int(n));
    }

    pub fn push_text(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        self.cells.push(Cell::Text(start..self.text.len()));
    }

    /// How many whole rows were pushed.
    pub fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        self.cells.truncate(rows * self.width);
    }

    /// Puts the rows in ascending order of integer column `col` (stable; a row without an
    /// integer there sorts first). Rows already in order, as an ordered plan yields them, cost
    /// one pass.
    pub fn sort_by_int(&mut self, col: usize) {
        let key = |row: usize| self.exact_int(row, col);
        let len = self.len();
        if (1..len).all(|row| key(row - 1) <= key(row)) {
            return;
        }
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_by_key(|&row| key(row));
        let width = self.width;
        let cells = order
            .iter()
            .flat_map(|&row| self.cells[row * width..(row + 1) * width].iter().cloned())
            .collect();
        self.cells = cells;
    }

    /// The rows as owned values, one `Vec` per row.
    pub fn into_vals(self) -> Vec<Row> {
        let width = self.width.max(1);
        self.cells
            .chunks(width)
            .map(|row| {
                row.iter()
                    .map(|cell| match cell {
                        Cell::Null => Val::Null,
                        Cell::Int(n) => Val::Int(*n),
                        Cell::Text(range) => Val::Text(self.text[range.clone()].to_string()),
                    })
                    .collect()
            })
            .collect()
    }

    fn cell(&self, row: usize, col: usize) -> Option<&Cell> {
        if col >= self.width {
            return None;
        }
        self.cells.get(row * self.width + col)
    }

    /// Column `col` of row `row` when it holds text (NULL, an integer or no such cell: `None`).
    pub fn text(&self, row: usize, col: usize) -> Option<&str> {
        match self.cell(row, col)? {
            Cell::Text(range) => Some(&self.text[range.clone()]),
            _ => None,
        }
    }

    /// Column `col` of row `row` as an integer: an integer, or text that is one.
    pub fn int(&self, row: usize, col: usize) -> Option<i64> {
        match self.cell(row, col)? {
            Cell::Int(n) => Some(*n),
            Cell::Text(range) => self.text[range.clone()].parse().ok(),
            Cell::Null => None,
        }
    }

    /// Column `col` of row `row` when it holds an integer (text is not read as one).
    pub fn exact_int(&self, row: usize, col: usize) -> Option<i64> {
        match self.cell(row, col)? {
            Cell::Int(n) => Some(*n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_reads_back_from_its_row_and_column() {
        let mut rows = Rows::new(3);
        for i in 0..4 {
            rows.push_int(i);
            rows.push_text(&format!("op {i} ✓"));
            if i % 2 == 0 {
                rows.push_null();
            } else {
                rows.push_text("17");
            }
        }
        assert_eq!(rows.len(), 4);
        for i in 0..4usize {
            assert_eq!(rows.int(i, 0), Some(i as i64));
            assert_eq!(rows.exact_int(i, 0), Some(i as i64));
            assert_eq!(rows.text(i, 1), Some(format!("op {i} ✓").as_str()));
            assert_eq!(rows.text(i, 0), None, "an integer is not text");
            if i % 2 == 0 {
                assert_eq!((rows.text(i, 2), rows.int(i, 2)), (None, None));
            } else {
                assert_eq!((rows.text(i, 2), rows.int(i, 2)), (Some("17"), Some(17)));
                assert_eq!(rows.exact_int(i, 2), None, "text is not an exact integer");
            }
        }
        let vals = rows.clone().into_vals();
        assert_eq!(vals.len(), 4);
        assert_eq!(
            vals[1],
            [
                Val::Int(1),
                Val::Text("op 1 ✓".into()),
                Val::Text("17".into())
            ]
        );
        assert_eq!(vals[2][2], Val::Null);
        assert_eq!(rows.text(4, 1), None, "past the last row");
        assert_eq!(rows.text(0, 3), None, "past the last column");
        rows.truncate(2);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.text(2, 1), None);
        assert!(Rows::new(0).is_empty() && Rows::default().is_empty());
        assert!(Rows::new(0).into_vals().is_empty() && Rows::new(3).into_vals().is_empty());
    }

    #[test]
    fn rows_sort_by_an_integer_column_with_their_values() {
        let mut rows = Rows::new(2);
        for seq in [5, 3, 9, 3, 1] {
            rows.push_int(seq);
            rows.push_text(&format!("change {seq} of {}", rows.len()));
        }
        rows.sort_by_int(0);
        let read: Vec<(i64, &str)> = (0..rows.len())
            .map(|r| (rows.int(r, 0).unwrap(), rows.text(r, 1).unwrap()))
            .collect();
        assert_eq!(
            read,
            [
                (1, "change 1 of 4"),
                (3, "change 3 of 1"),
                (3, "change 3 of 3"),
                (5, "change 5 of 0"),
                (9, "change 9 of 2"),
            ]
        );
        let before = format!("{rows:?}");
        rows.sort_by_int(0);
        assert_eq!(format!("{rows:?}"), before, "sorted rows stay as they are");
    }
}
