//! The rules an agent's account follows, in one place for every way an account is made or changed: the
//! admin API, the configuration's `[[agents]]` seeds, `beckon agent add`, and an admin's edit.

/// The longest username, in bytes.
pub const MAX_USERNAME_BYTES: usize = 64;
/// The shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password, in characters (the protocol's bound, which the console and the API share).
pub const MAX_PASSWORD_CHARS: usize = protocol::MAX_PASSWORD_CHARS;
/// The most capacity units one agent may have: far beyond what one person can follow, and small enough
/// that every sum of loads stays exact.
pub const MAX_CAPACITY: u32 = 1000;

/// What is wrong with an account. Each caller names the field as its own input does; see `describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentProblem {
    Username,
    /// Zero: an agent who can take nothing.
    Capacity,
    CapacityTooLarge,
    Password,
    UnknownQueue(String),
}

impl AgentProblem {
    /// The field at fault, as the JSON body and the configuration name it.
    pub fn field(&self) -> &'static str {
        match self {
            AgentProblem::Username => "username",
            AgentProblem::Capacity | AgentProblem::CapacityTooLarge => "capacity",
            AgentProblem::Password => "password",
            AgentProblem::UnknownQueue(_) => "queues",
        }
    }

    /// The problem, with the field named as the caller's input names it: "`capacity`" in JSON,
    /// "`agents.ann.capacity`" in the configuration, "--capacity" on the command line.
    pub fn describe(&self, field: &str) -> String {
        match self {
            AgentProblem::Username => format!(
                "{field} must be 1 to {MAX_USERNAME_BYTES} letters, digits, `-`, `_` or `.`"
            ),
            AgentProblem::Capacity => format!("{field} must be at least 1"),
            AgentProblem::CapacityTooLarge => format!("{field} must be at most {MAX_CAPACITY}"),
            AgentProblem::Password => {
                format!("{field} needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
            }
            AgentProblem::UnknownQueue(queue) => format!("{field}: unknown queue `{queue}`"),
        }
    }
}

impl std::fmt::Display for AgentProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.describe(&format!("`{}`", self.field())))
    }
}

/// A username is what sessions, URLs and the history name an agent by: plain ASCII, no spaces.
pub fn check_username(username: &str) -> Result<(), AgentProblem> {
    let valid = !username.is_empty()
        && username.len() <= MAX_USERNAME_BYTES
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    valid.then_some(()).ok_or(AgentProblem::Username)
}

/// 8 to 256 characters: long enough to resist guessing under the login limits, short enough that
/// hashing it costs what any password does.
pub fn check_password(password: &str) -> Result<(), AgentProblem> {
    (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS)
        .contains(&password.chars().count())
        .then_some(())
        .ok_or(AgentProblem::Password)
}

pub fn check_capacity(capacity: u32) -> Result<(), AgentProblem> {
    match capacity {
        0 => Err(AgentProblem::Capacity),
        1..=MAX_CAPACITY => Ok(()),
        _ => Err(AgentProblem::CapacityTooLarge),
    }
}

/// Every queue must exist; `is_queue` says which do.
pub fn check_queues(
    queues: &[String],
    is_queue: impl Fn(&str) -> bool,
) -> Result<(), AgentProblem> {
    match queues.iter().find(|queue| !is_queue(queue)) {
        Some(unknown) => Err(AgentProblem::UnknownQueue(unknown.clone())),
        None => Ok(()),
    }
}

/// A new account, whatever made it: username, capacity and queues. A password, when the caller has one
/// rather than a hash, is checked with `check_password`.
pub fn check_new_agent(
    username: &str,
    capacity: u32,
    queues: &[String],
    is_queue: impl Fn(&str) -> bool,
) -> Result<(), AgentProblem> {
    check_username(username)?;
    check_capacity(capacity)?;
    check_queues(queues, is_queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sales(queue: &str) -> bool {
        queue == "sales"
    }

    #[test]
    fn a_new_account_is_checked_field_by_field() {
        let queues = ["sales".to_owned()];
        assert_eq!(check_new_agent("ann.lee-2_b", 1, &queues, sales), Ok(()));
        for bad in ["", "ann lee", "ann/lee", "änn", &"a".repeat(65)] {
            assert_eq!(
                check_new_agent(bad, 1, &queues, sales),
                Err(AgentProblem::Username),
                "{bad:?}"
            );
        }
        assert_eq!(check_username(&"a".repeat(64)), Ok(()));
        assert_eq!(
            check_new_agent("ann", 0, &queues, sales),
            Err(AgentProblem::Capacity)
        );
        for capacity in [MAX_CAPACITY + 1, u32::MAX] {
            assert_eq!(
                check_new_agent("ann", capacity, &queues, sales),
                Err(AgentProblem::CapacityTooLarge)
            );
        }
        assert_eq!(check_capacity(MAX_CAPACITY), Ok(()));
        assert_eq!(
            check_new_agent("ann", 2, &["sales".to_owned(), "billing".to_owned()], sales),
            Err(AgentProblem::UnknownQueue("billing".to_owned()))
        );
        assert_eq!(check_password("1234567"), Err(AgentProblem::Password));
        assert_eq!(check_password("ééééééééé"), Ok(()), "characters, not bytes");
    }

    #[test]
    fn each_caller_names_the_field_its_own_way() {
        assert_eq!(
            AgentProblem::Capacity.to_string(),
            "`capacity` must be at least 1"
        );
        assert_eq!(
            AgentProblem::UnknownQueue("nope".to_owned()).describe("`agents.a.queues`"),
            "`agents.a.queues`: unknown queue `nope`"
        );
        assert_eq!(
            AgentProblem::CapacityTooLarge.describe("--capacity"),
            "--capacity must be at most 1000"
        );
        assert_eq!(
            AgentProblem::Password.describe("--password"),
            "--password needs 8 to 256 characters"
        );
    }
}
