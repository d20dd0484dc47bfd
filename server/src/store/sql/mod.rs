//! The SQL both backends speak: owned values, rows, classified errors and the `Tx` trait the store's
//! logic runs on, so SQLite and PostgreSQL share one implementation of every query and decision.
//!
//! Statements are written once, in the subset both databases accept, with `?1`-style placeholders (the
//! PostgreSQL adapter rewrites them to `$1`). What the subset cannot say, row locks and skipping locked
//! rows, is a method of `Tx`: a no-op on SQLite, whose one writer thread already serialises everything.

mod accounts;
mod connections;
mod firing;
mod offline;
mod records;
mod routing;
mod rows;
mod store;
mod timers;
mod work;
pub(crate) mod writer;

pub use writer::SqlStore;

use super::StoreError;

/// One parameter or column value. Every integer column is 64 bits on both backends; booleans are
/// stored as 0 and 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Integer(i64),
    Text(String),
}

/// Turns a Rust value into a `Value`; what `args!` calls on each argument.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Integer(*self)
    }
}

impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// The parameters of one statement: `args![conversation_id, now_ms]` is a `&[Value]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::sql::ToValue::to_value(&$value)),*]
    };
}
pub(crate) use args;

/// One result row, owned, read by column index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// Column `index` as a `T`; an error names the column and what it held instead.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, DbError> {
        let value = self.values.get(index).ok_or_else(|| {
            DbError::Other(format!(
                "column {index} does not exist; the row has {}",
                self.values.len()
            ))
        })?;
        T::from_value(value).ok_or_else(|| {
            DbError::Other(format!(
                "column {index} holds {value:?}, which is not {}",
                T::EXPECTED
            ))
        })
    }
}

/// A Rust type a column converts to.
pub trait FromValue: Sized {
    /// What the column should hold, for error messages.
    const EXPECTED: &'static str;
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for String {
    const EXPECTED: &'static str = "text";
    fn from_value(value: &Value) -> Option<String> {
        match value {
            Value::Text(text) => Some(text.clone()),
            _ => None,
        }
    }
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_value(value: &Value) -> Option<i64> {
        match value {
            Value::Integer(number) => Some(*number),
            _ => None,
        }
    }
}

impl FromValue for u32 {
    const EXPECTED: &'static str = "an integer from 0 to 4294967295";
    fn from_value(value: &Value) -> Option<u32> {
        i64::from_value(value).and_then(|number| u32::try_from(number).ok())
    }
}

impl FromValue for u64 {
    const EXPECTED: &'static str = "a non-negative integer";
    fn from_value(value: &Value) -> Option<u64> {
        i64::from_value(value).and_then(|number| u64::try_from(number).ok())
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "0 or 1";
    fn from_value(value: &Value) -> Option<bool> {
        match value {
            Value::Integer(0) => Some(false),
            Value::Integer(1) => Some(true),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: &Value) -> Option<Option<T>> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A database error, classified so the writer knows whether running the group again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// A unique constraint or index refused a row. `constraint` is its name on PostgreSQL and the
    /// columns SQLite names on SQLite.
    #[error("unique constraint `{constraint}` refused the row: {message}")]
    UniqueViolation { constraint: String, message: String },
    /// A deadlock, a serialization failure or a lost connection: the same work may succeed in a new
    /// transaction.
    #[error("{0}")]
    Retryable(String),
    #[error("{0}")]
    Other(String),
}

impl From<DbError> for StoreError {
    fn from(error: DbError) -> StoreError {
        StoreError::Database(error.to_string())
    }
}

/// A transaction the store's logic runs in: one job's savepoint of a group transaction.
pub trait Tx {
    /// Runs a statement that returns no rows; returns how many rows it changed.
    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, DbError>;
    /// Runs a statement and returns every row.
    fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, DbError>;
    /// `sql` (a `SELECT` of one table, without locking clauses) with its rows locked for this
    /// transaction, leaving out rows another transaction holds: how several nodes share timers without
    /// firing one twice. SQLite has one writer, so it runs `sql` as it is.
    fn claim(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Locks the conversation's row until the transaction ends; taken before any change to it.
    fn lock_conversation(&mut self, conversation_id: &str) -> Result<(), DbError>;
    /// Locks the conversation's row if no other transaction holds it, without waiting; `false` if one
    /// does. A missing conversation counts as locked (`true`).
    fn try_lock_conversation(&mut self, conversation_id: &str) -> Result<bool, DbError>;
    /// Locks the agent's row if no other transaction holds it, without waiting; `false` if one does.
    fn try_lock_agent(&mut self, username: &str) -> Result<bool, DbError>;
    /// Locks the agents' rows in username order until the transaction ends; taken before checking or
    /// changing their load, so capacity holds across nodes.
    fn lock_agents(&mut self, usernames: &[&str]) -> Result<(), DbError>;

    /// The first row, if any.
    fn query_opt(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// The first row; its absence is an error.
    fn query_one(&mut self, sql: &str, args: &[Value]) -> Result<Row, DbError> {
        self.query_opt(sql, args)?
            .ok_or_else(|| DbError::Other(format!("no row from `{sql}`")))
    }
}

/// A connection the writer threads drive: transaction control besides `Tx`.
pub(crate) trait Connection: Tx + Send + 'static {
    /// Starts a group transaction.
    const BEGIN: &'static str;
    /// The most jobs one group transaction takes (each in a savepoint).
    const MAX_GROUP: usize;
    /// Runs transaction control (`BEGIN`, `SAVEPOINT job`, `COMMIT`, ...).
    fn control(&mut self, sql: &str) -> Result<(), DbError>;
    /// The retryable error a statement of this transaction met, if any, forgotten once taken. A job may
    /// turn errors into its own, so the writer asks the connection rather than the job.
    fn take_retryable(&mut self) -> Option<DbError>;
    /// Tells the connection a job starts; only the first of a transaction may wait for row locks.
    fn start_job(&mut self, first: bool);
    /// Whether the job that just ran stopped because a row it had to lock was locked elsewhere and it
    /// was not the first: it then runs first in the next transaction. Forgotten once taken.
    fn take_busy(&mut self) -> bool;
    /// Whether the connection is gone and must be replaced before the next transaction.
    fn is_broken(&self) -> bool;
    /// Replaces a broken connection.
    fn reconnect(&mut self) -> Result<(), DbError>;
}

/// Rewrites `?1` placeholders to PostgreSQL's `$1`, leaving quoted text and identifiers alone.
pub(crate) fn numbered_placeholders(sql: &str) -> String {
    let mut rewritten = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut characters = sql.chars().peekable();
    while let Some(character) = characters.next() {
        match quote {
            Some(open) => {
                if character == open {
                    quote = None;
                }
                rewritten.push(character);
            }
            None if character == '\'' || character == '"' => {
                quote = Some(character);
                rewritten.push(character);
            }
            None if character == '?' && characters.peek().is_some_and(char::is_ascii_digit) => {
                rewritten.push('$');
            }
            None => rewritten.push(character),
        }
    }
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_quotes_only() {
        assert_eq!(
            numbered_placeholders("SELECT '?1', \"a?2\" FROM t WHERE a = ?1 AND b = ?12 OR c = ?"),
            "SELECT '?1', \"a?2\" FROM t WHERE a = $1 AND b = $12 OR c = ?"
        );
    }

    #[test]
    fn rows_convert_or_name_the_column() {
        let row = Row::new(vec![
            Value::Integer(1),
            Value::Null,
            Value::Text("x".to_owned()),
        ]);
        assert_eq!(row.get::<bool>(0), Ok(true));
        assert_eq!(row.get::<Option<String>>(1), Ok(None));
        assert_eq!(row.get::<String>(2), Ok("x".to_owned()));
        assert_eq!(
            row.get::<i64>(2).map_err(|error| error.to_string()),
            Err("column 2 holds Text(\"x\"), which is not an integer".to_owned())
        );
        assert!(row.get::<i64>(3).is_err());
        let values: &[Value] = args![1_i64, "a", None::<String>, true];
        assert_eq!(
            values,
            [
                Value::Integer(1),
                Value::Text("a".to_owned()),
                Value::Null,
                Value::Integer(1)
            ]
        );
    }
}
