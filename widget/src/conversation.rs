//! The visitor's conversation as plain data: the transcript with each own message's delivery, what the
//! header says about the conversation's state, how lines group under a time, and how a message's text
//! splits into text and links. No browser and no Leptos here, so it is tested natively; the chat
//! module's connection feeds it frames and its panel renders it.

use protocol::{Author, ChatMessage, ConversationState};

/// One line of the transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub client_message_id: String,
    /// 0 until the server stored it.
    pub seq: i64,
    pub author: Author,
    pub author_name: String,
    pub body: String,
    /// When it was sent: the server's time once stored, the browser's before.
    pub sent_at_ms: i64,
    pub delivery: Delivery,
}

/// Where one of the visitor's own messages stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Sent (or waiting for the connection), not yet stored: it goes again after a reconnect.
    Sending,
    /// The server stored it and said so: nothing can lose it now.
    Stored,
}

/// The transcript, in the server's order, the visitor's unstored messages last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    pub lines: Vec<Line>,
}

impl Transcript {
    /// The visitor writes a message: it shows at once, marked as sending.
    pub fn add_own(&mut self, client_message_id: String, body: String, now_ms: i64) {
        self.lines.push(Line {
            client_message_id,
            seq: 0,
            author: Author::Visitor,
            author_name: String::new(),
            body,
            sent_at_ms: now_ms,
            delivery: Delivery::Sending,
        });
        self.order();
    }

    /// A message from the server: one of the visitor's own comes back stored, anything else is new.
    /// Answers whether it is a line the visitor had not seen (someone else wrote it).
    pub fn received(&mut self, message: ChatMessage) -> bool {
        let existing = self.lines.iter_mut().find(|line| {
            line.client_message_id == message.client_message_id && line.author == message.author
        });
        let new = match existing {
            Some(line) => {
                line.seq = message.seq;
                line.sent_at_ms = message.sent_at_ms;
                line.delivery = Delivery::Stored;
                false
            }
            None => {
                let theirs = message.author != Author::Visitor;
                self.lines.push(Line {
                    client_message_id: message.client_message_id,
                    seq: message.seq,
                    author: message.author,
                    author_name: message.author_name,
                    body: message.body,
                    sent_at_ms: message.sent_at_ms,
                    delivery: Delivery::Stored,
                });
                theirs
            }
        };
        self.order();
        new
    }

    /// The server stored one of the visitor's messages.
    pub fn acknowledged(&mut self, client_message_id: &str, seq: i64) {
        if let Some(line) = self.lines.iter_mut().find(|line| {
            line.client_message_id == client_message_id && line.author == Author::Visitor
        }) {
            line.seq = seq;
            line.delivery = Delivery::Stored;
        }
        self.order();
    }

    /// The server refused a message for good: it leaves the transcript and is not sent again.
    pub fn refused(&mut self, client_message_id: &str) {
        self.lines
            .retain(|line| line.client_message_id != client_message_id);
    }

    /// The visitor's messages not yet stored, oldest first, to send again with their ids.
    pub fn unstored(&self) -> Vec<(String, String)> {
        self.lines
            .iter()
            .filter(|line| line.delivery == Delivery::Sending)
            .map(|line| (line.client_message_id.clone(), line.body.clone()))
            .collect()
    }

    fn order(&mut self) {
        self.lines.sort_by_key(|line| match line.delivery {
            Delivery::Sending => i64::MAX,
            Delivery::Stored => line.seq,
        });
    }
}

/// Whether `line` starts a new group under its own time and author: the first line, another author,
/// or another minute.
pub fn starts_group(previous: Option<&Line>, line: &Line) -> bool {
    previous.is_none_or(|previous| {
        previous.author != line.author
            || previous.author_name != line.author_name
            || previous.sent_at_ms.div_euclid(60_000) != line.sent_at_ms.div_euclid(60_000)
    })
}

/// What the panel's header says about the conversation: a title and a line under it, as what to say;
/// the panel words them in the visitor's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub title: Title,
    pub status: Status,
    /// Whose initials the header shows: the agent's, once one is in the chat.
    pub agent: Option<String>,
}

/// The header's title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Title {
    /// The site's own name for the chat, until an agent is in it.
    Site,
    Agent(String),
    Ended,
}

/// The conversation's state, as the line under the title says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Before the server has answered.
    Connecting,
    /// In the queue; its place when the server knows it.
    Waiting(Option<u32>),
    /// An agent is in the chat; their name when they have one.
    AgentHere(Option<String>),
    /// Waiting for the visitor's next visit: the team answers later.
    Offline,
    Ended,
}

/// The header for a conversation in `state`. `None` is before the server has answered.
pub fn heading(
    state: Option<ConversationState>,
    agent_name: Option<&str>,
    queue_position: Option<u32>,
) -> Heading {
    let agent = agent_name.map(str::to_owned);
    let (title, status, agent) = match state {
        None => (Title::Site, Status::Connecting, None),
        Some(ConversationState::Open) => (Title::Site, Status::Waiting(queue_position), None),
        Some(ConversationState::Active) => match agent {
            Some(name) => (
                Title::Agent(name.clone()),
                Status::AgentHere(Some(name.clone())),
                Some(name),
            ),
            None => (Title::Site, Status::AgentHere(None), None),
        },
        Some(ConversationState::Waiting) => (Title::Site, Status::Offline, agent),
        Some(ConversationState::WrapUp | ConversationState::Closed) => {
            (Title::Ended, Status::Ended, agent)
        }
    };
    Heading {
        title,
        status,
        agent,
    }
}

/// Up to two letters standing for a name: the first letters of its first two words ("Ann Lee" is AL,
/// "Ann" is AN).
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let letters: String = match words.as_slice() {
        [] => String::new(),
        [one] => one.chars().take(2).collect(),
        [first, second, ..] => first
            .chars()
            .take(1)
            .chain(second.chars().take(1))
            .collect(),
    };
    letters.to_uppercase()
}

/// A piece of a message as the panel shows it: text, or a link to an http(s) address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Link(String),
}

/// Splits a message's body into text and the http(s) addresses in it. Punctuation that ends a
/// sentence stays out of the link.
pub fn segments(body: &str) -> Vec<Segment> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = body;
    while let Some(start) = next_link(rest) {
        let (before, from) = rest.split_at(start);
        text.push_str(before);
        let end = from
            .find(|character: char| character.is_whitespace() || "<>\"".contains(character))
            .unwrap_or(from.len());
        let link = from[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'']);
        if !text.is_empty() {
            pieces.push(Segment::Text(std::mem::take(&mut text)));
        }
        pieces.push(Segment::Link(link.to_owned()));
        rest = &from[link.len()..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Segment::Text(text));
    }
    pieces
}

/// Where the next `http://` or `https://` address starts, with something after the scheme.
fn next_link(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find("http")) {
        let at = from + found;
        let tail = text.get(at..).unwrap_or_default();
        let scheme = ["https://", "http://"]
            .into_iter()
            .find(|scheme| tail.starts_with(scheme));
        let starts_word = text
            .get(..at)
            .and_then(|before| before.chars().last())
            .is_none_or(|character| !character.is_alphanumeric());
        if let Some(scheme) = scheme
            && starts_word
            && tail
                .get(scheme.len()..)
                .and_then(|host| host.chars().next())
                .is_some_and(|character| character.is_alphanumeric())
        {
            return Some(at);
        }
        from = at + "http".len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64, id: &str, author: Author, at: i64) -> ChatMessage {
        ChatMessage {
            seq,
            client_message_id: id.to_owned(),
            author,
            author_name: if author == Author::Agent {
                "Ann Lee".to_owned()
            } else {
                String::new()
            },
            body: format!("message {id}"),
            sent_at_ms: at,
            internal: false,
        }
    }

    #[test]
    fn own_messages_show_at_once_and_are_marked_stored_by_the_ack_or_their_echo() {
        let mut transcript = Transcript::default();
        transcript.add_own("a".to_owned(), "Hi".to_owned(), 1_000);
        transcript.add_own("b".to_owned(), "Anyone?".to_owned(), 2_000);
        assert_eq!(transcript.unstored().len(), 2);
        assert!(transcript.received(message(1, "x", Author::Agent, 1_500)));
        // Unstored lines stay last, in the order written.
        let ids = |transcript: &Transcript| {
            transcript
                .lines
                .iter()
                .map(|line| line.client_message_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&transcript), ["x", "a", "b"]);
        transcript.acknowledged("b", 2);
        assert!(!transcript.received(message(3, "a", Author::Visitor, 3_000)));
        assert_eq!(ids(&transcript), ["x", "b", "a"]);
        assert!(transcript.unstored().is_empty());
        assert_eq!(transcript.lines[2].sent_at_ms, 3_000, "the server's time");
        // A retry's echo changes nothing.
        assert!(!transcript.received(message(1, "x", Author::Agent, 1_500)));
        assert_eq!(transcript.lines.len(), 3);
        transcript.add_own("c".to_owned(), "too long".to_owned(), 4_000);
        transcript.refused("c");
        assert!(transcript.unstored().is_empty());
    }

    #[test]
    fn lines_group_by_author_and_minute() {
        let line = |author, at| Line {
            client_message_id: String::new(),
            seq: 0,
            author,
            author_name: String::new(),
            body: String::new(),
            sent_at_ms: at,
            delivery: Delivery::Stored,
        };
        let first = line(Author::Visitor, 60_000);
        assert!(starts_group(None, &first));
        assert!(!starts_group(Some(&first), &line(Author::Visitor, 119_999)));
        assert!(starts_group(Some(&first), &line(Author::Visitor, 120_000)));
        assert!(starts_group(Some(&first), &line(Author::Agent, 60_001)));
    }

    #[test]
    fn the_heading_says_the_state() {
        let waiting = heading(Some(ConversationState::Open), None, Some(2));
        assert_eq!(
            (waiting.title, waiting.status),
            (Title::Site, Status::Waiting(Some(2)))
        );
        let active = heading(Some(ConversationState::Active), Some("Ann Lee"), None);
        assert_eq!(active.title, Title::Agent("Ann Lee".to_owned()));
        assert_eq!(active.status, Status::AgentHere(Some("Ann Lee".to_owned())));
        assert_eq!(active.agent.as_deref(), Some("Ann Lee"));
        let unnamed = heading(Some(ConversationState::Active), None, None);
        assert_eq!(
            (unnamed.title, unnamed.status),
            (Title::Site, Status::AgentHere(None))
        );
        let ended = heading(Some(ConversationState::Closed), Some("Ann"), None);
        assert_eq!((ended.title, ended.status), (Title::Ended, Status::Ended));
        assert_eq!(ended.agent.as_deref(), Some("Ann"));
        assert_eq!(heading(None, None, None).status, Status::Connecting);
    }

    #[test]
    fn initials_take_two_letters() {
        assert_eq!(initials("Ann Lee"), "AL");
        assert_eq!(initials("ann"), "AN");
        assert_eq!(initials("  "), "");
        assert_eq!(initials("Émile zola Durand"), "ÉZ");
    }

    #[test]
    fn addresses_become_links_without_their_sentence_s_punctuation() {
        assert_eq!(
            segments("See https://example.com/a?b=1. Or http://x.io, thanks"),
            [
                Segment::Text("See ".to_owned()),
                Segment::Link("https://example.com/a?b=1".to_owned()),
                Segment::Text(". Or ".to_owned()),
                Segment::Link("http://x.io".to_owned()),
                Segment::Text(", thanks".to_owned()),
            ]
        );
        assert_eq!(
            segments("nohttps://x.io and javascript:alert(1) and https:// alone"),
            [Segment::Text(
                "nohttps://x.io and javascript:alert(1) and https:// alone".to_owned()
            )]
        );
        assert_eq!(
            segments("(https://example.com)"),
            [
                Segment::Text("(".to_owned()),
                Segment::Link("https://example.com".to_owned()),
                Segment::Text(")".to_owned()),
            ]
        );
        assert!(segments("").is_empty());
    }
}
