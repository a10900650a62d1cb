//! Column names as CRM and form tools export them, mapped to the fields of a registration.

use crate::intake::RegistrationInput;

/// A field of a registration that a column (or JSON key) can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    SubmissionId,
    Kind,
    Product,
    SubmittedAt,
    Name,
    FirstName,
    LastName,
    Company,
    Email,
    Phone,
    Address,
    Street,
    City,
    PostalCode,
    State,
    Country,
    Ip,
    UserAgent,
    Referrer,
    PagesVisited,
    FormVersion,
}

/// Folded names (lowercase letters and digits only) for each column.
const ALIASES: &[(Column, &[&str])] = &[
    (
        Column::SubmissionId,
        &[
            "submissionid",
            "submission",
            "responseid",
            "entryid",
            "formsubmissionid",
            "id",
            "uuid",
        ],
    ),
    (
        Column::Kind,
        &[
            "kind",
            "type",
            "registrationtype",
            "requesttype",
            "formtype",
            "request",
            "interest",
        ],
    ),
    (
        Column::Product,
        &["product", "productname", "productinterest", "edition"],
    ),
    (
        Column::SubmittedAt,
        &[
            "submittedat",
            "submitted",
            "submittedon",
            "submissiondate",
            "submissiontime",
            "datesubmitted",
            "created",
            "createdat",
            "createddate",
            "createdon",
            "date",
            "timestamp",
            "time",
        ],
    ),
    (
        Column::Name,
        &["name", "fullname", "contactname", "yourname", "contact"],
    ),
    (
        Column::FirstName,
        &["firstname", "first", "givenname", "forename", "vorname"],
    ),
    (
        Column::LastName,
        &["lastname", "last", "surname", "familyname", "nachname"],
    ),
    (
        Column::Company,
        &[
            "company",
            "companyname",
            "organization",
            "organisation",
            "org",
            "account",
            "accountname",
            "employer",
            "business",
            "firma",
        ],
    ),
    (
        Column::Email,
        &[
            "email",
            "emailaddress",
            "mail",
            "workemail",
            "businessemail",
            "emailaddr",
            "youremail",
        ],
    ),
    (
        Column::Phone,
        &[
            "phone",
            "phonenumber",
            "mobile",
            "mobilephone",
            "mobilenumber",
            "telephone",
            "telephonenumber",
            "tel",
            "cell",
            "cellphone",
            "workphone",
            "businessphone",
            "phone1",
            "telefon",
        ],
    ),
    (
        Column::Address,
        &[
            "address",
            "postaladdress",
            "mailingaddress",
            "fulladdress",
            "anschrift",
        ],
    ),
    (
        Column::Street,
        &[
            "street",
            "streetaddress",
            "address1",
            "addressline1",
            "strasse",
        ],
    ),
    (Column::City, &["city", "town", "ort", "stadt"]),
    (
        Column::PostalCode,
        &["zip", "zipcode", "postalcode", "postcode", "plz"],
    ),
    (
        Column::State,
        &["state", "province", "stateprovince", "region", "county"],
    ),
    (
        Column::Country,
        &[
            "country",
            "countryname",
            "countrycode",
            "countryregion",
            "nation",
            "land",
        ],
    ),
    (
        Column::Ip,
        &[
            "ip",
            "ipaddress",
            "remoteip",
            "clientip",
            "userip",
            "ipaddr",
        ],
    ),
    (
        Column::UserAgent,
        &[
            "useragent",
            "browser",
            "ua",
            "browseruseragent",
            "httpuseragent",
        ],
    ),
    (
        Column::Referrer,
        &[
            "referrer",
            "referer",
            "referringurl",
            "referrerurl",
            "httpreferer",
            "sourceurl",
        ],
    ),
    (
        Column::PagesVisited,
        &[
            "pagesvisited",
            "pages",
            "visitedpages",
            "pagehistory",
            "pathsvisited",
            "pageviews",
        ],
    ),
    (
        Column::FormVersion,
        &[
            "formversion",
            "form",
            "privacynoticeversion",
            "noticeversion",
            "consentversion",
        ],
    ),
];

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
    let folded = fold(header);
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&folded.as_str()))
        .map(|(c, _)| *c)
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
                    "column '{}' repeats {:?}; only the first is used",
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
        .any(|c| matches!(c, Some(Column::Email | Column::Phone)))
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
        let i = &mut self.input;
        match column {
            Column::SubmissionId => i.submission_id = v,
            Column::Kind => i.kind = v,
            Column::Product => i.product = v,
            Column::SubmittedAt => i.submitted_at = v,
            Column::Name => i.name = v,
            Column::FirstName => self.first = v,
            Column::LastName => self.last = v,
            Column::Company => i.company = v,
            Column::Email => i.email = v,
            Column::Phone => i.phone = v,
            Column::Address => i.address = v,
            Column::Street => self.street = v,
            Column::City => self.city = v,
            Column::PostalCode => self.postal = v,
            Column::State => self.state = v,
            Column::Country => i.country = v,
            Column::Ip => i.ip = v,
            Column::UserAgent => i.user_agent = v,
            Column::Referrer => i.referrer = v,
            Column::PagesVisited => i.pages_visited = split_pages(value),
            Column::FormVersion => i.form_version = v,
        }
    }

    /// Sets the pages visited from a list (JSON arrays).
    pub fn set_pages(&mut self, pages: Vec<String>) {
        self.input.pages_visited = pages;
    }

    /// The registration: first and last names join into the name, address parts into one.
    pub fn finish(self) -> RegistrationInput {
        let mut input = self.input;
        if input.name.is_none() {
            let parts: Vec<&str> = [&self.first, &self.last]
                .into_iter()
                .flatten()
                .map(|s| s.trim())
                .collect();
            if !parts.is_empty() {
                input.name = Some(parts.join(" "));
            }
        }
        if input.address.is_none() {
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
                input.address = Some(parts.join(", "));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_export_headers_are_recognised() {
        for (header, column) in [
            ("First Name", Column::FirstName),
            ("Last Name", Column::LastName),
            ("Full Name", Column::Name),
            ("Name", Column::Name),
            ("E-mail", Column::Email),
            ("Email Address", Column::Email),
            ("\u{feff}Email", Column::Email),
            ("Phone Number", Column::Phone),
            ("Mobile", Column::Phone),
            ("Company", Column::Company),
            ("Organization", Column::Company),
            ("Country", Column::Country),
            ("IP Address", Column::Ip),
            ("User Agent", Column::UserAgent),
            ("Referrer", Column::Referrer),
            ("Pages Visited", Column::PagesVisited),
            ("Submitted At", Column::SubmittedAt),
            ("Created", Column::SubmittedAt),
            ("Submission ID", Column::SubmissionId),
            ("Product", Column::Product),
            ("Type", Column::Kind),
            ("ZIP Code", Column::PostalCode),
        ] {
            assert_eq!(column_for(header), Some(column), "{header}");
        }
        assert_eq!(column_for("Favourite Colour"), None);
    }

    #[test]
    fn unknown_and_repeated_columns_are_warned_about_once() {
        let (columns, warnings) = map_header(["Email", "Shoe Size", "E-mail", "Phone"]);
        assert_eq!(
            columns,
            [Some(Column::Email), None, None, Some(Column::Phone)]
        );
        assert_eq!(warnings.len(), 2);
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
        row.set(Column::Email, "  ");
        let input = row.finish();
        assert_eq!(input.name.as_deref(), Some("Ann Example"));
        assert_eq!(input.address.as_deref(), Some("Hauptstr. 1, 10115 Berlin"));
        assert_eq!(input.email, None);
    }

    #[test]
    fn pages_are_split_from_lists_and_json() {
        assert_eq!(split_pages("/a | /b;/c"), ["/a", "/b", "/c"]);
        assert_eq!(split_pages(r#"["/a b", "/c"]"#), ["/a b", "/c"]);
        assert!(split_pages("  ").is_empty());
    }
}
