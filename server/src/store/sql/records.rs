//! The customer record: contacts, their cases, and which conversation is linked to which. A linked
//! conversation is titled with its contact's name, in the transaction that links or renames.

use protocol::{
    Case, CaseEntry, CasePatch, CaseRecord, CaseStatus, Contact, ContactConversation,
    ContactFields, ContactRecord, ConversationState, Role,
};

use super::rows::load_conversation;
use super::{Row, Tx, args};
use crate::store::{Identity, StoreError, StoreResult};

const CONTACT_COLUMNS: &str =
    "id, site_id, name, email, phone, notes, external_id, created_at_ms, updated_at_ms";
const CASE_COLUMNS: &str = "id, contact_id, title, status, created_at_ms, updated_at_ms";

/// The contacts an agent reads besides a supervisor's all: those linked to a conversation they own,
/// owned, take part in, or that is in one of their queues. `username` is the placeholder holding it.
fn contacts_of_agent(username: &str) -> String {
    format!(
        "SELECT contact_id FROM conversations WHERE contact_id IS NOT NULL AND (
             agent_username = {username}
             OR queue_id IN (SELECT queue_id FROM agent_queues WHERE username = {username})
             OR id IN (SELECT conversation_id FROM participants WHERE username = {username}))"
    )
}

/// `LIKE` pattern for a substring search, any case, with the wildcards in the query escaped.
fn contains_pattern(query: &str) -> String {
    let escaped: String = query
        .trim()
        .to_lowercase()
        .chars()
        .flat_map(|character| match character {
            '%' | '_' | '\\' => vec!['\\', character],
            other => vec![other],
        })
        .collect();
    format!("%{escaped}%")
}

/// How many contacts a search answers with, and how many conversations a record lists.
const SEARCH_LIMIT: i64 = protocol::records::RECORD_SEARCH_LIMIT as i64;
const RECORD_CONVERSATIONS: i64 = 50;

fn contact_from_row(row: &Row) -> StoreResult<Contact> {
    Ok(Contact {
        id: row.get(0)?,
        site_id: row.get(1)?,
        name: row.get(2)?,
        email: row.get(3)?,
        phone: row.get(4)?,
        notes: row.get(5)?,
        verified: row.get::<Option<String>>(6)?.is_some(),
        created_at_ms: row.get(7)?,
        updated_at_ms: row.get(8)?,
    })
}

fn case_from_row(row: &Row) -> StoreResult<Case> {
    let status: String = row.get(3)?;
    Ok(Case {
        id: row.get(0)?,
        contact_id: row.get(1)?,
        title: row.get(2)?,
        status: CaseStatus::parse(&status)
            .ok_or_else(|| StoreError::Database(format!("unknown case status `{status}`")))?,
        created_at_ms: row.get(4)?,
        updated_at_ms: row.get(5)?,
    })
}

fn load_contact(tx: &mut dyn Tx, contact_id: &str) -> StoreResult<Option<Contact>> {
    tx.query_opt(
        &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1"),
        args![contact_id],
    )?
    .map(|row| contact_from_row(&row))
    .transpose()
}

fn known_contact(tx: &mut dyn Tx, contact_id: &str) -> StoreResult<Contact> {
    load_contact(tx, contact_id)?.ok_or(StoreError::UnknownRecord("contact"))
}

fn known_case(tx: &mut dyn Tx, case_id: &str) -> StoreResult<Case> {
    tx.query_opt(
        &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1"),
        args![case_id],
    )?
    .map(|row| case_from_row(&row))
    .transpose()?
    .ok_or(StoreError::UnknownRecord("case"))
}

/// The contact a site's signed identity names, created on its first chat and brought up to date with
/// what each later token says. Returns its id.
pub(super) fn identify(
    tx: &mut dyn Tx,
    site_id: &str,
    identity: &Identity,
    new_id: &str,
    now_ms: i64,
) -> StoreResult<String> {
    Ok(tx
        .query_one(
            "INSERT INTO contacts (id, site_id, external_id, name, email, phone, created_at_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (site_id, external_id) DO UPDATE SET
                 name = excluded.name,
                 email = CASE WHEN excluded.email = '' THEN contacts.email ELSE excluded.email END,
                 phone = CASE WHEN excluded.phone = '' THEN contacts.phone ELSE excluded.phone END,
                 updated_at_ms = excluded.updated_at_ms
             RETURNING id",
            args![new_id, site_id, identity.subject, identity.name, identity.email, identity.phone, now_ms],
        )?
        .get(0)?)
}

/// Links the conversation to the contact and titles it with the contact's name. A case of another
/// contact comes off it.
fn link(tx: &mut dyn Tx, conversation_id: &str, contact: &Contact, now_ms: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE conversations SET contact_id = ?2, title = ?3, updated_at_ms = ?4,
             case_id = CASE WHEN case_id IN (SELECT id FROM cases WHERE contact_id = ?2) THEN case_id END
         WHERE id = ?1",
        args![conversation_id, contact.id, contact.name, now_ms],
    )?;
    Ok(())
}

/// A new contact from the conversation's details, linked to it.
pub(super) fn create_contact(
    tx: &mut dyn Tx,
    conversation_id: &str,
    contact_id: &str,
    fields: &ContactFields,
    now_ms: i64,
) -> StoreResult<Contact> {
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    tx.execute(
        "INSERT INTO contacts (id, site_id, name, email, phone, notes, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        args![contact_id, conversation.site_id, fields.name.trim(), fields.email.trim(), fields.phone.trim(), fields.notes, now_ms],
    )?;
    let contact = known_contact(tx, contact_id)?;
    link(tx, conversation_id, &contact, now_ms)?;
    Ok(contact)
}

/// Links the conversation to a contact of its own site.
pub(super) fn link_contact(
    tx: &mut dyn Tx,
    conversation_id: &str,
    contact_id: &str,
    now_ms: i64,
) -> StoreResult<Contact> {
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    let contact = known_contact(tx, contact_id)?;
    if contact.site_id != conversation.site_id {
        return Err(StoreError::NotAllowed(format!(
            "the contact belongs to site `{}`, the conversation to site `{}`",
            contact.site_id, conversation.site_id
        )));
    }
    link(tx, conversation_id, &contact, now_ms)?;
    Ok(contact)
}

/// Rewrites a contact; the conversations linked to it that are not Closed take its new name.
pub(super) fn update_contact(
    tx: &mut dyn Tx,
    contact_id: &str,
    fields: &ContactFields,
    now_ms: i64,
) -> StoreResult<Contact> {
    let changed = tx.execute(
        "UPDATE contacts SET name = ?2, email = ?3, phone = ?4, notes = ?5, updated_at_ms = ?6 WHERE id = ?1",
        args![contact_id, fields.name.trim(), fields.email.trim(), fields.phone.trim(), fields.notes, now_ms],
    )?;
    if changed == 0 {
        return Err(StoreError::UnknownRecord("contact"));
    }
    tx.execute(
        "UPDATE conversations SET title = ?2, updated_at_ms = ?3 WHERE contact_id = ?1 AND state <> 'closed'",
        args![contact_id, fields.name.trim(), now_ms],
    )?;
    known_contact(tx, contact_id)
}

/// Whether the agent may read the contact: a supervisor or admin reads every one; an agent those
/// linked to a conversation they own, owned, take part in, or that is in one of their queues.
pub(super) fn contact_visible(
    tx: &mut dyn Tx,
    contact_id: &str,
    username: &str,
    role: Role,
) -> StoreResult<bool> {
    if load_contact(tx, contact_id)?.is_none() {
        return Err(StoreError::UnknownRecord("contact"));
    }
    if role >= Role::Supervisor {
        return Ok(true);
    }
    Ok(tx
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM ({}) AS visible WHERE contact_id = ?1)",
                contacts_of_agent("?2")
            ),
            args![contact_id, username],
        )?
        .get(0)?)
}

/// Contacts whose name, email or phone contains `query` (any case), that the agent may read, most
/// recently changed first.
pub(super) fn search_contacts(
    tx: &mut dyn Tx,
    site_id: &str,
    query: &str,
    username: &str,
    role: Role,
) -> StoreResult<Vec<Contact>> {
    let pattern = contains_pattern(query);
    let everything = role >= Role::Supervisor;
    tx.query(
        &format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts
             WHERE site_id = ?1
               AND (LOWER(name) LIKE ?2 ESCAPE '\\' OR LOWER(email) LIKE ?2 ESCAPE '\\' OR phone LIKE ?2 ESCAPE '\\')
               AND (?4 = 1 OR id IN ({}))
             ORDER BY updated_at_ms DESC, id LIMIT ?5",
            contacts_of_agent("?3")
        ),
        args![site_id, pattern, username, everything, SEARCH_LIMIT],
    )?
    .iter()
    .map(contact_from_row)
    .collect()
}

/// The contact with its cases and latest conversations, newest first.
pub(super) fn record(tx: &mut dyn Tx, contact_id: &str) -> StoreResult<ContactRecord> {
    let contact = known_contact(tx, contact_id)?;
    let cases = tx
        .query(
            &format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE contact_id = ?1 ORDER BY created_at_ms DESC, id"
            ),
            args![contact_id],
        )?
        .iter()
        .map(case_from_row)
        .collect::<StoreResult<_>>()?;
    Ok(ContactRecord {
        contact,
        cases,
        conversations: linked_conversations(tx, "contact_id", contact_id)?,
    })
}

/// The case with its contact and the conversations linked to it, newest first.
pub(super) fn case_record(tx: &mut dyn Tx, case_id: &str) -> StoreResult<CaseRecord> {
    let case = known_case(tx, case_id)?;
    Ok(CaseRecord {
        contact: known_contact(tx, &case.contact_id)?,
        conversations: linked_conversations(tx, "case_id", case_id)?,
        case,
    })
}

/// The latest conversations whose `column` (their contact or case) is `id`, newest first.
fn linked_conversations(
    tx: &mut dyn Tx,
    column: &str,
    id: &str,
) -> StoreResult<Vec<ContactConversation>> {
    tx.query(
        &format!(
            "SELECT id, title, state, created_at_ms FROM conversations WHERE {column} = ?1
             ORDER BY created_at_ms DESC, id LIMIT ?2"
        ),
        args![id, RECORD_CONVERSATIONS],
    )?
    .iter()
    .map(|row| {
        let state: String = row.get(2)?;
        Ok(ContactConversation {
            id: row.get(0)?,
            title: row.get(1)?,
            state: ConversationState::parse(&state).ok_or_else(|| {
                StoreError::Database(format!("unknown conversation state `{state}`"))
            })?,
            created_at_ms: row.get(3)?,
        })
    })
    .collect()
}

/// The site's cases whose title or contact's name contains `query` (any case), in `status` when given,
/// that the agent may read (those of the contacts they may read), most recently changed first.
pub(super) fn search_cases(
    tx: &mut dyn Tx,
    site_id: &str,
    query: &str,
    status: Option<CaseStatus>,
    username: &str,
    role: Role,
) -> StoreResult<Vec<CaseEntry>> {
    let pattern = contains_pattern(query);
    let everything = role >= Role::Supervisor;
    let status = status.map_or("", CaseStatus::as_str);
    tx.query(
        &format!(
            "SELECT cases.id, cases.contact_id, cases.title, cases.status, cases.created_at_ms,
                    cases.updated_at_ms, contacts.name
             FROM cases JOIN contacts ON contacts.id = cases.contact_id
             WHERE contacts.site_id = ?1
               AND (LOWER(cases.title) LIKE ?2 ESCAPE '\\' OR LOWER(contacts.name) LIKE ?2 ESCAPE '\\')
               AND (?3 = '' OR cases.status = ?3)
               AND (?5 = 1 OR cases.contact_id IN ({}))
             ORDER BY cases.updated_at_ms DESC, cases.id LIMIT ?6",
            contacts_of_agent("?4")
        ),
        args![site_id, pattern, status, username, everything, SEARCH_LIMIT],
    )?
    .iter()
    .map(|row| {
        Ok(CaseEntry {
            case: case_from_row(row)?,
            contact_name: row.get(6)?,
        })
    })
    .collect()
}

/// A new open case for the conversation's contact, linked to the conversation.
pub(super) fn create_case(
    tx: &mut dyn Tx,
    conversation_id: &str,
    case_id: &str,
    title: &str,
    now_ms: i64,
) -> StoreResult<Case> {
    tx.lock_conversation(conversation_id)?;
    let contact_id: Option<String> = tx
        .query_opt(
            "SELECT contact_id FROM conversations WHERE id = ?1",
            args![conversation_id],
        )?
        .ok_or(StoreError::UnknownConversation)?
        .get(0)?;
    let contact_id = contact_id.ok_or_else(|| {
        StoreError::NotAllowed(
            "link the conversation to a contact before opening a case".to_owned(),
        )
    })?;
    tx.execute(
        "INSERT INTO cases (id, contact_id, title, status, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, 'open', ?4, ?4)",
        args![case_id, contact_id, title.trim(), now_ms],
    )?;
    tx.execute(
        "UPDATE conversations SET case_id = ?2, updated_at_ms = ?3 WHERE id = ?1",
        args![conversation_id, case_id, now_ms],
    )?;
    known_case(tx, case_id)
}

/// Renames a case or changes its status.
pub(super) fn update_case(
    tx: &mut dyn Tx,
    case_id: &str,
    patch: &CasePatch,
    now_ms: i64,
) -> StoreResult<Case> {
    let case = known_case(tx, case_id)?;
    let title = patch
        .title
        .as_deref()
        .map_or(case.title.as_str(), str::trim);
    let status = patch.status.unwrap_or(case.status);
    tx.execute(
        "UPDATE cases SET title = ?2, status = ?3, updated_at_ms = ?4 WHERE id = ?1",
        args![case_id, title, status.as_str(), now_ms],
    )?;
    known_case(tx, case_id)
}

/// The contact of a case: who may read the case.
pub(super) fn case_contact(tx: &mut dyn Tx, case_id: &str) -> StoreResult<String> {
    Ok(known_case(tx, case_id)?.contact_id)
}

/// The conversation's contact and case, when it has them.
pub(super) fn of_conversation(
    tx: &mut dyn Tx,
    conversation_id: &str,
) -> StoreResult<(Option<Contact>, Option<Case>)> {
    let row = tx
        .query_opt(
            "SELECT contact_id, case_id FROM conversations WHERE id = ?1",
            args![conversation_id],
        )?
        .ok_or(StoreError::UnknownConversation)?;
    let contact = match row.get::<Option<String>>(0)? {
        Some(contact_id) => load_contact(tx, &contact_id)?,
        None => None,
    };
    let case = match row.get::<Option<String>>(1)? {
        Some(case_id) => Some(known_case(tx, &case_id)?),
        None => None,
    };
    Ok((contact, case))
}

/// Resolving the record as the session closes (the state table's Active → Closed row): the linked case
/// is resolved in the same transaction as the move.
pub(super) fn resolve_linked_case(
    tx: &mut dyn Tx,
    conversation_id: &str,
    now_ms: i64,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE cases SET status = 'resolved', updated_at_ms = ?2
         WHERE id = (SELECT case_id FROM conversations WHERE id = ?1) AND status <> 'resolved'",
        args![conversation_id, now_ms],
    )?;
    Ok(())
}
