//! What visitors do: start a chat from an invitation or the chat button, send, end, and connect or go away.

use std::net::IpAddr;

use protocol::context::{self, DroppedVariable};
use protocol::{
    Author, ChatMessage, ContextVariables, ConversationState, ErrorCode, ServerToAgent,
};

use super::conversations::Handled;
use super::{Runtime, RuntimeError, RuntimeResult, limits, new_id, validate_message};
use crate::domain::lifecycle::Event;
use crate::store::{
    Actor, ConnectionSubject, Conversation, Identity, NewConversation, NewMessage, VisitorAppend,
};

/// A visitor accepting an invitation, as the socket received it.
#[derive(Debug)]
pub struct StartChat<'a> {
    pub site_id: &'a str,
    pub visitor_id: &'a str,
    /// The client address, for the per-address limit; `None` where there is no socket peer (tests).
    pub address: Option<IpAddr>,
    /// The invitation's rule; `None` when the visitor opened the site's chat button.
    pub rule_id: Option<&'a str>,
    pub context: ContextVariables,
    /// What the widget says it left out of `context` to fit it.
    pub dropped: Vec<DroppedVariable>,
    /// The pages of the visit before the chat, as the widget recorded them.
    pub journey: Vec<protocol::JourneyStep>,
    /// The signed identity the site passed, unverified.
    pub identity_token: Option<String>,
    /// The language the widget speaks to the visitor, as it says.
    pub language: Option<String>,
}

/// A chat started: the conversation, and why the identity token it came with was refused, if it was (the
/// chat then goes on as anonymous).
#[derive(Debug)]
pub struct Started {
    pub conversation: Conversation,
    pub identity_refused: Option<RuntimeError>,
}

/// The language a conversation is scored in: the primary subtag of what the widget said (`fr-CA` is
/// `fr`), when the widget speaks it; else English.
fn conversation_language(said: Option<&str>) -> String {
    let primary = said
        .unwrap_or_default()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    crate::text::languages()
        .find(|known| *known == primary)
        .unwrap_or("en")
        .to_owned()
}

impl Runtime {
    /// The visitor accepted an invitation: create their conversation (or return the live one) and route
    /// it. The context is fitted into its limits (`protocol::context::fit`), never refused: what had
    /// to be left out is listed for the agent with the reason.
    pub async fn start_chat(&self, start: StartChat<'_>) -> RuntimeResult<Started> {
        let StartChat {
            site_id,
            visitor_id,
            address,
            rule_id,
            context,
            dropped,
            journey,
            identity_token,
            language,
        } = start;
        let by_address = match address {
            Some(address) => self.limits.start_chat_per_address.check(&address),
            None => Ok(()),
        };
        limits::both(
            self.limits
                .start_chat_per_visitor
                .check(&(site_id.to_owned(), visitor_id.to_owned())),
            by_address,
        )
        .map_err(|refused| RuntimeError::rate_limited("chats started", refused))?;
        let fitted = context::fit(context);
        let mut dropped_context = context::bounded(dropped);
        dropped_context.extend(fitted.dropped);
        dropped_context.truncate(context::MAX_DROPPED_LISTED);
        let queue_id = self.start_queue(site_id, rule_id)?;
        let (identity, identity_refused) = match identity_token {
            Some(token) => match self.verify_identity(site_id, &token) {
                Ok(identity) => (Some(identity), None),
                Err(refused) => (None, Some(refused)),
            },
            None => (None, None),
        };
        let (conversation, created) = self
            .store
            .start_conversation(NewConversation {
                id: new_id(),
                site_id: site_id.to_owned(),
                visitor_id: visitor_id.to_owned(),
                queue_id,
                rule_id: rule_id.unwrap_or_default().to_owned(),
                context: fitted.context,
                dropped_context,
                journey: protocol::fit_journey(journey),
                language: conversation_language(language.as_deref()),
                identity,
                now_ms: self.now_ms(),
            })
            .await?;
        if !created {
            return Ok(Started {
                conversation,
                identity_refused,
            });
        }
        tracing::info!(conversation = %conversation.id, queue = %conversation.queue_id, "conversation opened");
        self.announce_new(&conversation).await;
        self.dispatch().await;
        // Routing may already have moved it (overflow): answer with where it stands now.
        let conversation = self
            .store
            .conversation(&conversation.id)
            .await?
            .unwrap_or(conversation);
        Ok(Started {
            conversation,
            identity_refused,
        })
    }

    /// The customer a site's identity token names, verified with the site's key.
    fn verify_identity(&self, site_id: &str, token: &str) -> RuntimeResult<Identity> {
        let refused = |reason: String| {
            tracing::info!(site = %site_id, %reason, "identity token refused");
            RuntimeError::new(ErrorCode::IdentityRefused, reason)
        };
        let key = self
            .site(site_id)
            .and_then(|site| site.identity.as_ref())
            .ok_or_else(|| {
                refused(format!(
                    "site `{site_id}` takes no identity tokens: configure `[sites.identity]`"
                ))
            })?;
        let verified = key.verify(token, self.now_ms()).map_err(refused)?;
        Ok(Identity {
            subject: verified.subject,
            name: verified.name,
            email: verified.email,
            phone: verified.phone,
            contact_id: new_id(),
        })
    }

    /// Where a new chat goes: the invitation's rule's queue, or the chat button's.
    fn start_queue(&self, site_id: &str, rule_id: Option<&str>) -> RuntimeResult<String> {
        let unknown_site =
            || RuntimeError::new(ErrorCode::UnknownSite, format!("unknown site `{site_id}`"));
        let Some(rule_id) = rule_id else {
            let site = self.site(site_id).ok_or_else(unknown_site)?;
            return site
                .launcher
                .as_ref()
                .map(|launcher| launcher.queue.clone())
                .ok_or_else(|| {
                    RuntimeError::new(
                        ErrorCode::NotAllowed,
                        format!(
                            "site `{site_id}` has no chat button: its chats start from invitations"
                        ),
                    )
                });
        };
        let rules = self.rules.get(site_id).ok_or_else(unknown_site)?;
        rules
            .rule_set
            .rules
            .iter()
            .find(|rule| rule.id == rule_id)
            .map(|rule| rule.queue.clone())
            .ok_or_else(|| {
                RuntimeError::new(ErrorCode::UnknownRule, format!("unknown rule `{rule_id}`"))
            })
    }

    /// A visitor's message. In a Waiting conversation it brings the conversation back to its queue first.
    pub async fn visitor_send(
        &self,
        site_id: &str,
        visitor_id: &str,
        client_message_id: String,
        body: String,
    ) -> RuntimeResult<ChatMessage> {
        self.limits
            .visitor_messages
            .check(&(site_id.to_owned(), visitor_id.to_owned()))
            .map_err(|refused| RuntimeError::rate_limited("messages", refused))?;
        validate_message(&client_message_id, &body)?;
        let message = NewMessage {
            client_message_id: client_message_id.clone(),
            author: Author::Visitor,
            author_name: String::new(),
            body: body.clone(),
            now_ms: self.now_ms(),
            internal: false,
        };
        // The common case takes one transaction: find the live conversation and store the message.
        let waiting = match self
            .store
            .append_visitor_message(site_id, visitor_id, message)
            .await?
        {
            VisitorAppend::Appended {
                conversation,
                appended,
            } => return Ok(self.deliver(&conversation, appended).await),
            VisitorAppend::Waiting(conversation) => conversation,
            VisitorAppend::NoConversation => {
                return Err(RuntimeError::new(
                    ErrorCode::NoConversation,
                    "no conversation: accept an invitation first",
                ));
            }
        };
        // A Waiting conversation comes back (to Open, and to routing) before the message is stored.
        let actor = Actor::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        let moved = self
            .store
            .apply_event(&waiting.id, Event::CustomerReturned, actor, self.now_ms())
            .await?;
        let conversation = moved.conversation.clone();
        self.publish(&moved).await;
        self.dispatch().await;
        self.append(
            &conversation,
            client_message_id,
            Author::Visitor,
            String::new(),
            body,
            false,
        )
        .await
    }

    pub async fn visitor_end(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> RuntimeResult<Conversation> {
        let conversation = self.visitor_live_conversation(site_id, visitor_id).await?;
        let actor = Actor::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        self.apply(&conversation.id, Event::CustomerEnded, actor)
            .await
    }

    /// The visitor started or stopped typing: the owner and everyone else in their Active conversation
    /// hear it. Nothing is stored. Over the typing limit, or without an Active conversation, the
    /// notice is dropped: it is only ever a hint.
    pub async fn visitor_typing(&self, site_id: &str, visitor_id: &str, typing: bool) {
        if self
            .limits
            .typing
            .check(&format!("{site_id}/{visitor_id}"))
            .is_err()
        {
            return;
        }
        let Ok(Some(conversation)) = self.store.visitor_conversation(site_id, visitor_id).await
        else {
            return;
        };
        let Some(owner) = conversation
            .agent_username
            .as_deref()
            .filter(|_| conversation.state == ConversationState::Active)
        else {
            return;
        };
        let frame = ServerToAgent::VisitorTyping {
            conversation_id: conversation.id.clone(),
            typing,
        };
        self.hub.to_agent(owner, &frame);
        for participant in self
            .store
            .participants(&conversation.id)
            .await
            .unwrap_or_default()
        {
            self.hub.to_agent(&participant.username, &frame);
        }
    }

    pub async fn visitor_live_conversation(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.store
            .visitor_conversation(site_id, visitor_id)
            .await?
            .ok_or_else(|| {
                RuntimeError::new(
                    ErrorCode::NoConversation,
                    "no conversation: accept an invitation first",
                )
            })
    }

    /// A visitor's socket opened: their disconnect timer no longer applies.
    pub async fn visitor_connected(&self, site_id: &str, visitor_id: &str) {
        let subject = ConnectionSubject::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        if let Err(error) = self.store.connection_opened(&self.node_id, subject).await {
            tracing::error!("cannot record a visitor's socket: {error}");
        }
    }

    /// A visitor's socket closed. With none left on any node, a live chat in Open or Active moves on
    /// unless they come back within the grace period.
    pub async fn visitor_disconnected(&self, site_id: &str, visitor_id: &str) {
        let _handled = Handled(&self.disconnects_handled);
        let subject = ConnectionSubject::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        let grace_ms = i64::from(self.settings.routing.visitor_disconnect_grace_seconds) * 1000;
        if let Err(error) = self
            .store
            .connection_closed(&self.node_id, subject, self.now_ms(), grace_ms)
            .await
        {
            tracing::error!("cannot record a visitor's closed socket: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::conversation_language;

    #[test]
    fn a_conversation_is_scored_in_the_primary_language_the_widget_speaks() {
        assert_eq!(conversation_language(Some("fr-CA")), "fr");
        assert_eq!(conversation_language(Some("FR")), "fr");
        assert_eq!(conversation_language(Some("ro_RO")), "ro");
        assert_eq!(conversation_language(Some("ja")), "en");
        assert_eq!(conversation_language(Some("")), "en");
        assert_eq!(conversation_language(None), "en");
    }
}
