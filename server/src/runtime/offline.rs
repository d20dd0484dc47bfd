//! Offline messages: when overflow ends a chat with an invitation, the visitor may leave a message for
//! the team, who read it in the queue's offline messages.

use protocol::{ErrorCode, OfflineMessage, Role, ServerToVisitor};

use super::{Runtime, RuntimeError, RuntimeResult, validate_message};
use crate::store::NewOfflineMessage;

/// How long after overflow ended a chat its visitor may still leave an offline message: long enough to
/// write one, short enough that a visitor back next week is not greeted by an old form.
pub const OFFLINE_MESSAGE_WINDOW_MS: i64 = 60 * 60 * 1000;

/// An offline message as the visitor's widget sends it.
#[derive(Debug, Clone)]
pub struct OfflineMessageRequest {
    pub client_message_id: String,
    pub name: String,
    pub email: String,
    pub body: String,
}

impl Runtime {
    /// The frame inviting the visitor to leave an offline message, when overflow ended their most recent
    /// chat with that invitation within the window and they have not left one yet.
    pub async fn offline_message_invitation(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> RuntimeResult<Option<ServerToVisitor>> {
        let since_ms = self.now_ms() - OFFLINE_MESSAGE_WINDOW_MS;
        let Some(conversation) = self
            .store
            .offline_message_invitation(site_id, visitor_id, since_ms)
            .await?
        else {
            return Ok(None);
        };
        // The prompt is what overflow told the visitor: the chat's last system message.
        let prompt = self
            .store
            .messages_after(&conversation.id, 0)
            .await?
            .into_iter()
            .rev()
            .find(|message| message.author == protocol::Author::System)
            .map(|message| message.body)
            .unwrap_or_default();
        Ok(Some(ServerToVisitor::OfflineMessageInvited {
            conversation_id: conversation.id,
            prompt,
        }))
    }

    /// Stores the visitor's offline message; answers only after it is committed.
    pub async fn leave_offline_message(
        &self,
        site_id: &str,
        visitor_id: &str,
        address: Option<std::net::IpAddr>,
        request: OfflineMessageRequest,
    ) -> RuntimeResult<OfflineMessage> {
        let by_address = match address {
            Some(address) => self.limits.offline_messages_per_address.check(&address),
            None => Ok(()),
        };
        super::limits::both(
            self.limits
                .offline_messages_per_visitor
                .check(&(site_id.to_owned(), visitor_id.to_owned())),
            by_address,
        )
        .map_err(|refused| RuntimeError::rate_limited("offline messages", refused))?;
        validate_message(&request.client_message_id, &request.body)?;
        let name = request.name.trim().to_owned();
        let email = request.email.trim().to_owned();
        validate_contact(&name, &email)?;
        let stored = self
            .store
            .leave_offline_message(
                site_id,
                visitor_id,
                NewOfflineMessage {
                    client_message_id: request.client_message_id,
                    name,
                    email,
                    body: request.body,
                    now_ms: self.now_ms(),
                },
                self.now_ms() - OFFLINE_MESSAGE_WINDOW_MS,
            )
            .await?;
        tracing::info!(conversation = %stored.conversation_id, queue = %stored.queue_id, "offline message left");
        Ok(stored)
    }

    /// The offline messages `username` may read: their queues', or every queue's for supervisors.
    pub async fn offline_messages(
        &self,
        username: &str,
        role: Role,
    ) -> RuntimeResult<Vec<OfflineMessage>> {
        Ok(self.store.offline_messages(username, role).await?)
    }
}

/// A name is optional and short; an email address is required and looks like one (`local@domain`, no
/// spaces), since the team answers there.
fn validate_contact(name: &str, email: &str) -> RuntimeResult<()> {
    let bad = |message: &str| Err(RuntimeError::new(ErrorCode::BadRequest, message));
    if name.len() > protocol::MAX_CONTACT_BYTES {
        return bad("the name is too long");
    }
    if email.is_empty() {
        return bad("an email address is required, so the team can answer");
    }
    if email.len() > protocol::MAX_CONTACT_BYTES {
        return bad("the email address is too long");
    }
    let looks_like_address = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if !looks_like_address {
        return bad("the email address must look like name@example.com");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_contact;

    #[test]
    fn contacts_need_an_address_and_bounded_names() {
        assert!(validate_contact("", "ada@example.com").is_ok());
        assert!(validate_contact("Ada", "ada@localhost").is_ok());
        for (name, email, expected) in [
            (
                "Ada",
                "",
                "an email address is required, so the team can answer",
            ),
            (
                "Ada",
                "ada",
                "the email address must look like name@example.com",
            ),
            (
                "Ada",
                "@example.com",
                "the email address must look like name@example.com",
            ),
            (
                "Ada",
                "ada@",
                "the email address must look like name@example.com",
            ),
            (
                "Ada",
                "a@b@c",
                "the email address must look like name@example.com",
            ),
            (
                "Ada",
                "ada lovelace@example.com",
                "the email address must look like name@example.com",
            ),
            (&"x".repeat(255), "ada@example.com", "the name is too long"),
        ] {
            let error = validate_contact(name, email).expect_err(email);
            assert_eq!(error.message, expected, "{name:?} {email:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            validate_contact("", &long).expect_err("long").message,
            "the email address is too long"
        );
    }
}
