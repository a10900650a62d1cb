//! Column names as CRM and form tools export them (`columns.txt`), mapped to the fields of a
//! registration.

use crate::intake::RegistrationInput;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;
use switchboard_protocol::limits::Field;

/// What a column (or JSON key) fills: a field of the registration, or a part that `finish` joins
/// into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// A field of the registration as it stands.
    Field(Field),
    FirstName,
    LastName,
    Street,
    City,
    PostalCode,
    State,
}

/// The parts and the names `columns.txt` gives them (fields go by `Field::name`).
const PARTS: [(Column, &str); 6] = [
    (Column::FirstName, "first_name"),
    (Column::LastName, "last_name"),
    (Column::Street, "street"),
    (Column::City, "city"),
    (Column::PostalCode, "postal_code"),
    (Column::State, "state"),
];

impl Column {
    fn named(name: &str) -> Option<Column> {
        Field::all()
            .find(|f| f.name() == name)
            .map(Column::Field)
            .or_else(|| PARTS.iter().find(|(_, n)| *n == name).map(|(c, _)| *c))
    }
}

/// Says a column as the import's warnings always have: `Email`, `FirstName`.
impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Field(field) => write!(f, "{field:?}"),
            part => write!(f, "{part:?}"),
        }
    }
}

/// The folded names of each column, read from `columns.txt` (a table of data) once.
fn aliases() -> &'static HashMap<String, Column> {
    static ALIASES: OnceLock<HashMap<String, Column>> = OnceLock::new();
    ALIASES.get_or_init(|| {
        let mut map = HashMap::new();
        let lines = include_str!("columns.txt").lines().map(str::trim);
        for line in lines.filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (name, names) = line
                .split_once(':')
                .expect("columns.txt holds 'name: aliases' lines");
            let column = Column::named(name.trim())
                .unwrap_or_else(|| panic!("columns.txt names no field or part '{name}'"));
            for alias in names.split_whitespace() {
                let before = map.insert(alias.to_string(), column);
                assert!(before.is_none(), "columns.txt gives '{alias}' twice");
            }
        }
        map
    })
}

/// Lowercase letters and digits only: "E-mail" = "email", "First Name" = "first_name".
pub fn fold(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The field a column name stands for, if any.
pub fn column_for(header: &str) -> Option<Column> {
    aliases().get(&fold(header)).copied()
}

/// Maps a header row: the field of each column, and a warning per unknown or repeated column.
pub fn map_header<'a>(
    headers: impl IntoIterator<Item = &'a str>,
) -> (Vec<Option<Column>>, Vec<String>) {
    let mut columns = Vec::new();
    let mut warnings = Vec::new();
    for header in headers {
        match column_for(header) {
            Some(c) if columns.contains(&Some(c)) => {
                warnings.push(format!(
                    "column '{}' repeats {}; only the first is used",
                    header.trim(),
                    c
                ));
                columns.push(None);
            }
            Some(c) => columns.push(Some(c)),
            None => {
                warnings.push(format!("unknown column '{}' ignored", header.trim()));
                columns.push(None);
            }
        }
    }
    if !columns
        .iter()
        .any(|c| matches!(c, Some(Column::Field(Field::Email | Field::Phone))))
    {
        warnings.push("no email or phone column: every row will be rejected".into());
    }
    (columns, warnings)
}

/// Collects one row's values, column by column, into a registration.
#[derive(Debug, Default)]
pub struct RowBuilder {
    input: RegistrationInput,
    first: Option<String>,
    last: Option<String>,
    street: Option<String>,
    city: Option<String>,
    postal: Option<String>,
    state: Option<String>,
}

impl RowBuilder {
    /// Sets a column's text value (empty values are absent).
    pub fn set(&mut self, column: Column, value: &str) {
        if value.trim().is_empty() {
            return;
        }
        let v = Some(value.to_string());
        match column {
            Column::Field(Field::PagesVisited) => self.set_pages(split_pages(value)),
            Column::Field(field) => {
                if let Some(text) = self.input.text_mut(field) {
                    *text = v;
                }
            }
            Column::FirstName => self.first = v,
            Column::LastName => self.last = v,
            Column::Street => self.street = v,
            Column::City => self.city = v,
            Column::PostalCode => self.postal = v,
            Column::State => self.state = v,
        }
    }

    /// Sets the pages visited from a list (JSON arrays).
    pub fn set_pages(&mut self, pages: Vec<String>) {
        self.input.details.pages_visited = pages;
    }

    /// The registration: first and last names join into the name, address parts into one.
    pub fn finish(self) -> RegistrationInput {
        let mut input = self.input;
        let details = &mut input.details;
        if details.name.is_none() {
            let parts: Vec<&str> = [&self.first, &self.last]
                .into_iter()
                .flatten()
                .map(|s| s.trim())
                .collect();
            if !parts.is_empty() {
                details.name = Some(parts.join(" "));
            }
        }
        if details.address.is_none() {
            let town = [&self.postal, &self.city]
                .into_iter()
                .flatten()
                .map(|s| s.trim())
                .collect::<Vec<_>>()
                .join(" ");
            let parts: Vec<&str> = [
                self.street.as_deref(),
                Some(town.as_str()),
                self.state.as_deref(),
            ]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
            if !parts.is_empty() {
                details.address = Some(parts.join(", "));
            }
        }
        input
    }
}

/// Pages visited as exports write them: a JSON array, or URLs separated by spaces, `|`, `;`,
/// commas or newlines.
pub fn split_pages(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(trimmed) {
            return list;
        }
    }
    trimmed
        .split(|c: char| c.is_whitespace() || matches!(c, '|' | ';' | ','))
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// A row's `submitted_at` as read, before intake parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp<'a> {
    /// No column, or an empty cell: intake takes the import's `now`.
    Absent,
    Text(&'a str),
    /// The row will be rejected (it cannot be read as a row, or its time as text).
    Unusable,
}

impl<'a> Stamp<'a> {
    /// The stamp of a cell, trimmed as intake trims it (`None`: not text).
    pub fn of(cell: Option<&'a str>) -> Stamp<'a> {
        match cell.map(str::trim) {
            None => Stamp::Unusable,
            Some("") => Stamp::Absent,
            Some(t) => Stamp::Text(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_export_headers_are_recognised() {
        for (header, column) in [
            ("First Name", Column::FirstName),
            ("Last Name", Column::LastName),
            ("Full Name", Column::Field(Field::Name)),
            ("Name", Column::Field(Field::Name)),
            ("E-mail", Column::Field(Field::Email)),
            ("Email Address", Column::Field(Field::Email)),
            ("\u{feff}Email", Column::Field(Field::Email)),
            ("Phone Number", Column::Field(Field::Phone)),
            ("Mobile", Column::Field(Field::Phone)),
            ("Company", Column::Field(Field::Company)),
            ("Organization", Column::Field(Field::Company)),
            ("Country", Column::Field(Field::Country)),
            ("IP Address", Column::Field(Field::Ip)),
            ("User Agent", Column::Field(Field::UserAgent)),
            ("Referrer", Column::Field(Field::Referrer)),
            ("Pages Visited", Column::Field(Field::PagesVisited)),
            ("Submitted At", Column::Field(Field::SubmittedAt)),
            ("Created", Column::Field(Field::SubmittedAt)),
            ("Submission ID", Column::Field(Field::SubmissionId)),
            ("Product", Column::Field(Field::Product)),
            ("Type", Column::Field(Field::Kind)),
            ("ZIP Code", Column::PostalCode),
        ] {
            assert_eq!(column_for(header), Some(column), "{header}");
        }
        assert_eq!(column_for("Favourite Colour"), None);
    }

    #[test]
    fn every_field_and_part_has_names_and_no_name_stands_for_two() {
        // `aliases` refuses a name given twice and a line that names no column.
        let columns: std::collections::HashSet<Column> = aliases().values().copied().collect();
        for field in Field::all() {
            assert!(columns.contains(&Column::Field(field)), "{field:?}");
        }
        for (part, name) in PARTS {
            assert!(columns.contains(&part), "{name}");
        }
    }

    #[test]
    fn unknown_and_repeated_columns_are_warned_about_once() {
        let (columns, warnings) = map_header(["Email", "Shoe Size", "E-mail", "Phone"]);
        assert_eq!(
            columns,
            [
                Some(Column::Field(Field::Email)),
                None,
                None,
                Some(Column::Field(Field::Phone))
            ]
        );
        assert_eq!(warnings.len(), 2);
        assert_eq!(
            warnings[1],
            "column 'E-mail' repeats Email; only the first is used"
        );
        assert_eq!(warnings[0], "unknown column 'Shoe Size' ignored");
        let (_, warnings) = map_header(["Name", "Company"]);
        assert!(warnings[0].contains("no email or phone column"));
    }

    #[test]
    fn names_and_address_parts_are_joined() {
        let mut row = RowBuilder::default();
        row.set(Column::FirstName, "Ann");
        row.set(Column::LastName, "Example");
        row.set(Column::Street, "Hauptstr. 1");
        row.set(Column::PostalCode, "10115");
        row.set(Column::City, "Berlin");
        row.set(Column::Field(Field::Email), "  ");
        let input = row.finish();
        assert_eq!(input.details.name.as_deref(), Some("Ann Example"));
        assert_eq!(
            input.details.address.as_deref(),
            Some("Hauptstr. 1, 10115 Berlin")
        );
        assert_eq!(input.details.email, None);
    }

    #[test]
    fn pages_are_split_from_lists_and_json() {
        assert_eq!(split_pages("/a | /b;/c"), ["/a", "/b", "/c"]);
        assert_eq!(split_pages(r#"["/a b", "/c"]"#), ["/a b", "/c"]);
        assert!(split_pages("  ").is_empty());
    }
}
