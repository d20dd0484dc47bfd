//! The customer record: contacts and the cases opened for them, as the console reads and writes them.

use serde::{Deserialize, Serialize};

use crate::ConversationState;

named_enum! {
    /// Where a case stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CaseStatus {
        Open => "open", "Open",
        Resolved => "resolved", "Resolved",
    }
}

/// The longest contact name, email address or phone number, in characters.
pub const MAX_CONTACT_FIELD_CHARS: usize = 254;
/// The longest contact notes, in characters.
pub const MAX_CONTACT_NOTES_CHARS: usize = 4000;
/// The most contacts or cases one search answers with: the most recently changed.
pub const RECORD_SEARCH_LIMIT: usize = 20;
/// The longest case title, in characters.
pub const MAX_CASE_TITLE_CHARS: usize = 200;

/// A customer the team knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: String,
    /// The site the customer came from.
    pub site_id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub notes: String,
    /// The site vouched for this customer with a signed identity token: name and email came from it.
    pub verified: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A piece of work opened for a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    pub id: String,
    pub contact_id: String,
    pub title: String,
    pub status: CaseStatus,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What an agent writes on a contact: `POST /api/contacts`, `PUT /api/contacts/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactFields {
    /// Required: something besides spaces.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 254, pattern = "\\S")
    )]
    pub name: String,
    /// Empty, or an address: one `@`, a dot in the domain, no spaces.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 254,
            pattern = "^(|[^@\\s]+@[^@\\s.][^@\\s]*\\.[^@\\s]*[^@\\s.])$"
        )
    )]
    pub email: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub phone: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub notes: String,
}

/// `POST /api/contacts`: a new contact, linked at once to the conversation it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub conversation_id: String,
    pub contact: ContactFields,
}

/// `PUT /api/conversations/{id}/contact`: link the conversation to a known contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkContact {
    pub contact_id: String,
}

/// `POST /api/cases`: a new case for the conversation's contact, linked to the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub conversation_id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = "\\S")
    )]
    pub title: String,
}

/// `PATCH /api/cases/{id}`: absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = "\\S")
    )]
    pub title: Option<String>,
    pub status: Option<CaseStatus>,
}

/// A conversation as a contact's record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactConversation {
    pub id: String,
    pub title: String,
    pub state: ConversationState,
    pub created_at_ms: i64,
}

/// `GET /api/contacts/{id}`: the contact with its cases and conversations, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactRecord {
    pub contact: Contact,
    pub cases: Vec<Case>,
    pub conversations: Vec<ContactConversation>,
}

/// A case as Home lists it: with its contact's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseEntry {
    pub case: Case,
    pub contact_name: String,
}

/// `GET /api/cases/{id}`: the case with its contact and the conversations linked to it, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseRecord {
    pub case: Case,
    pub contact: Contact,
    pub conversations: Vec<ContactConversation>,
}

/// Checks what an agent wrote on a contact: the name is required, every field within its length, and
/// an email address looks like one. The error names the field.
pub fn check_contact(fields: &ContactFields) -> Result<(), String> {
    let name = fields.name.trim();
    if name.is_empty() {
        return Err("`name`: a contact needs a name".to_owned());
    }
    for (field, value) in [
        ("name", &fields.name),
        ("email", &fields.email),
        ("phone", &fields.phone),
    ] {
        if value.chars().count() > MAX_CONTACT_FIELD_CHARS {
            return Err(format!(
                "`{field}`: longer than {MAX_CONTACT_FIELD_CHARS} characters"
            ));
        }
    }
    if fields.notes.chars().count() > MAX_CONTACT_NOTES_CHARS {
        return Err(format!(
            "`notes`: longer than {MAX_CONTACT_NOTES_CHARS} characters"
        ));
    }
    let email = fields.email.trim();
    if !email.is_empty() && !plausible_email(email) {
        return Err(format!("`email`: `{email}` is not an email address"));
    }
    Ok(())
}

/// Checks a case title: present and within its length.
pub fn check_case_title(title: &str) -> Result<(), String> {
    if title.trim().is_empty() {
        return Err("`title`: a case needs a title".to_owned());
    }
    if title.chars().count() > MAX_CASE_TITLE_CHARS {
        return Err(format!(
            "`title`: longer than {MAX_CASE_TITLE_CHARS} characters"
        ));
    }
    Ok(())
}

/// One `@` with something on each side, a dot in the domain, no spaces: what a form can check without
/// sending mail.
pub fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(name: &str, email: &str) -> ContactFields {
        ContactFields {
            name: name.to_owned(),
            email: email.to_owned(),
            ..ContactFields::default()
        }
    }

    #[test]
    fn contact_checks_name_the_field() {
        assert_eq!(check_contact(&fields("Ana", "ana@example.com")), Ok(()));
        assert_eq!(check_contact(&fields("Ana", "")), Ok(()));
        assert!(
            check_contact(&fields("  ", ""))
                .unwrap_err()
                .starts_with("`name`")
        );
        assert!(
            check_contact(&fields("Ana", "ana@example"))
                .unwrap_err()
                .starts_with("`email`")
        );
        assert!(
            check_contact(&fields(&"a".repeat(255), ""))
                .unwrap_err()
                .starts_with("`name`")
        );
        let mut long_notes = fields("Ana", "");
        long_notes.notes = "n".repeat(MAX_CONTACT_NOTES_CHARS + 1);
        assert!(
            check_contact(&long_notes)
                .unwrap_err()
                .starts_with("`notes`")
        );
        assert!(check_case_title("").is_err());
        assert!(check_case_title(&"t".repeat(201)).is_err());
        assert_eq!(check_case_title("Refund order 1234"), Ok(()));
    }

    #[test]
    fn emails_are_checked_for_shape_only() {
        for good in ["a@b.co", "first.last+tag@mail.example.org"] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.b", "a@b.",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
