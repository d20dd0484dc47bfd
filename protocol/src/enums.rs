//! The protocol's vocabularies: states, channels, presences, authors, roles, invitation outcomes.

named_enum! {
    /// A conversation's state, as in the spec's section 4.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ConversationState {
        Open => "open", "Open",
        Active => "active", "Active",
        WrapUp => "wrap_up", "Wrap-up",
        Waiting => "waiting", "Waiting",
        Closed => "closed", "Closed",
    }
}

named_enum! {
    /// How the customer talks to us: the synchronous website chat, or asynchronous persistent messaging.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Channel {
        LiveChat => "live_chat", "Live chat",
        Persistent => "persistent", "Persistent",
    }
}

named_enum! {
    /// An agent's presence.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Presence {
        Available => "available", "Available",
        Busy => "busy", "Busy",
        BusyDoNotDisturb => "busy_do_not_disturb", "Busy – Do not disturb",
        Away => "away", "Away",
        Offline => "offline", "Offline",
    }
}

named_enum! {
    /// Who wrote a message.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Author {
        Visitor => "visitor",
        Agent => "agent",
        System => "system",
    }
}

named_enum! {
    /// A console user's role. Each role includes the ones before it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Role {
        Agent => "agent",
        Supervisor => "supervisor",
        Admin => "admin",
    }
}

named_enum! {
    /// What happened to an invitation, as the widget reports it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum InvitationEventKind {
        Shown => "shown",
        Accepted => "accepted",
        Closed => "closed",
        Expired => "expired",
    }
}

named_enum! {
    /// How the customer feels, on the seed product's seven-level scale, from their latest messages.
    /// Ordered from the most negative: a level at or below the configured alert raises the alert.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
    pub enum Sentiment {
        VeryNegative => "very_negative", "Very negative",
        Negative => "negative", "Negative",
        SlightlyNegative => "slightly_negative", "Slightly negative",
        #[default]
        Neutral => "neutral", "Neutral",
        SlightlyPositive => "slightly_positive", "Slightly positive",
        Positive => "positive", "Positive",
        VeryPositive => "very_positive", "Very positive",
    }
}
