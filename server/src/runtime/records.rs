//! The customer record as agents work it: contacts and cases linked to conversations. Reading follows
//! the conversations an agent may read (`Store::contact_visible`); writing a conversation's record is for
//! its owner and for supervisors. A change that retitles a conversation is published like a move, so
//! every console that shows it updates.

use protocol::{
    Case, CaseEntry, CasePatch, CaseRecord, CaseStatus, Contact, ContactFields, ContactRecord,
    ConversationView, ErrorCode, NewCase, NewContact, Role,
};

use super::{Runtime, RuntimeError, RuntimeResult, new_id};
use crate::store::{Agent, Conversation};

fn bad_request(problem: String) -> RuntimeError {
    RuntimeError::new(ErrorCode::BadRequest, problem)
}

impl Runtime {
    /// The conversation, when `agent` may change its customer record: its owner, or a supervisor or
    /// admin who may read it.
    async fn record_conversation(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        let conversation = self.readable_conversation(agent, conversation_id).await?;
        let owns = conversation.agent_username.as_deref() == Some(agent.username.as_str());
        if owns || agent.role >= Role::Supervisor {
            Ok(conversation)
        } else {
            Err(RuntimeError::new(
                ErrorCode::NotYourConversation,
                "only the conversation's owner or a supervisor may change its customer record",
            ))
        }
    }

    /// Checks `agent` may read the contact.
    async fn visible_contact(&self, agent: &Agent, contact_id: &str) -> RuntimeResult<()> {
        if self
            .store
            .contact_visible(contact_id, &agent.username, agent.role)
            .await?
        {
            Ok(())
        } else {
            Err(RuntimeError::new(
                ErrorCode::Forbidden,
                "the contact is not linked to a conversation of your queues",
            ))
        }
    }

    /// A new contact from the session's customer details, linked to the conversation.
    pub async fn create_contact(
        &self,
        agent: &Agent,
        new: NewContact,
    ) -> RuntimeResult<ConversationView> {
        protocol::check_contact(&new.contact).map_err(bad_request)?;
        self.record_conversation(agent, &new.conversation_id)
            .await?;
        self.store
            .create_contact(&new.conversation_id, &new_id(), new.contact, self.now_ms())
            .await?;
        self.record_changed(&new.conversation_id).await
    }

    /// Links the conversation to a contact the agent may read.
    pub async fn link_contact(
        &self,
        agent: &Agent,
        conversation_id: &str,
        contact_id: &str,
    ) -> RuntimeResult<ConversationView> {
        self.record_conversation(agent, conversation_id).await?;
        self.visible_contact(agent, contact_id).await?;
        self.store
            .link_contact(conversation_id, contact_id, self.now_ms())
            .await?;
        self.record_changed(conversation_id).await
    }

    pub async fn update_contact(
        &self,
        agent: &Agent,
        contact_id: &str,
        fields: ContactFields,
    ) -> RuntimeResult<Contact> {
        protocol::check_contact(&fields).map_err(bad_request)?;
        self.visible_contact(agent, contact_id).await?;
        let contact = self
            .store
            .update_contact(contact_id, fields, self.now_ms())
            .await?;
        // Its live conversations took the new name.
        let record = self.store.contact_record(contact_id).await?;
        for conversation in record.conversations {
            if conversation.state != protocol::ConversationState::Closed {
                self.republish(&conversation.id).await;
            }
        }
        Ok(contact)
    }

    pub async fn contact_record(
        &self,
        agent: &Agent,
        contact_id: &str,
    ) -> RuntimeResult<ContactRecord> {
        self.visible_contact(agent, contact_id).await?;
        Ok(self.store.contact_record(contact_id).await?)
    }

    /// The site's contacts the agent may read whose name, email or phone contains `query`.
    pub async fn search_contacts(
        &self,
        agent: &Agent,
        site_id: &str,
        query: &str,
    ) -> RuntimeResult<Vec<Contact>> {
        self.search_request(site_id, query)?;
        Ok(self
            .store
            .search_contacts(site_id, query, &agent.username, agent.role)
            .await?)
    }

    /// The site's cases the agent may read whose title or contact's name contains `query`, in `status`
    /// when given.
    pub async fn search_cases(
        &self,
        agent: &Agent,
        site_id: &str,
        query: &str,
        status: Option<CaseStatus>,
    ) -> RuntimeResult<Vec<CaseEntry>> {
        self.search_request(site_id, query)?;
        Ok(self
            .store
            .search_cases(site_id, query, status, &agent.username, agent.role)
            .await?)
    }

    /// The case with its contact and conversations, when the agent may read its contact.
    pub async fn case_record(&self, agent: &Agent, case_id: &str) -> RuntimeResult<CaseRecord> {
        let contact_id = self.store.case_contact(case_id).await?;
        self.visible_contact(agent, &contact_id).await?;
        Ok(self.store.case_record(case_id).await?)
    }

    /// Checks a search of the customer record: a known site, a query within a field's length.
    fn search_request(&self, site_id: &str, query: &str) -> RuntimeResult<()> {
        self.known_site(site_id)?;
        if query.chars().count() > protocol::records::MAX_CONTACT_FIELD_CHARS {
            return Err(bad_request(format!(
                "`q`: longer than {} characters",
                protocol::records::MAX_CONTACT_FIELD_CHARS
            )));
        }
        Ok(())
    }

    /// Opens a case for the conversation's contact, linked to the conversation.
    pub async fn create_case(
        &self,
        agent: &Agent,
        new: NewCase,
    ) -> RuntimeResult<ConversationView> {
        protocol::check_case_title(&new.title).map_err(bad_request)?;
        self.record_conversation(agent, &new.conversation_id)
            .await?;
        self.store
            .create_case(&new.conversation_id, &new_id(), &new.title, self.now_ms())
            .await?;
        self.record_changed(&new.conversation_id).await
    }

    pub async fn update_case(
        &self,
        agent: &Agent,
        case_id: &str,
        patch: CasePatch,
    ) -> RuntimeResult<Case> {
        if let Some(title) = &patch.title {
            protocol::check_case_title(title).map_err(bad_request)?;
        }
        let contact_id = self.store.case_contact(case_id).await?;
        self.visible_contact(agent, &contact_id).await?;
        Ok(self
            .store
            .update_case(case_id, patch, self.now_ms())
            .await?)
    }

    /// Publishes the conversation whose record changed, and answers with its whole view.
    async fn record_changed(&self, conversation_id: &str) -> RuntimeResult<ConversationView> {
        self.republish(conversation_id).await;
        let conversation = self.known_conversation(conversation_id).await?;
        self.conversation_view(&conversation).await
    }
}
