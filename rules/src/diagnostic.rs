//! Diagnostics: a problem in a rule file, with where it is and how to fix it.

use std::fmt;

/// One problem in a rule file. Displays as `file:line:col: error: message` with an optional `help:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// One lowercase line; the user's input appears in backticks.
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at byte `offset` of `source`.
    pub fn at(
        file: &str,
        source: &str,
        offset: usize,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let (line, column) = line_and_column(source, offset);
        Diagnostic {
            file: file.to_owned(),
            line,
            column,
            message,
            help,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}:{}: error: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(help) = &self.help {
            write!(formatter, "\n  help: {help}")?;
        }
        Ok(())
    }
}

fn line_and_column(source: &str, offset: usize) -> (u32, u32) {
    let mut line = 1u32;
    let mut column = 1u32;
    for (index, character) in source.char_indices() {
        if index >= offset {
            break;
        }
        if character == '\n' {
            line = line.saturating_add(1);
            column = 1;
        } else {
            column = column.saturating_add(1);
        }
    }
    (line, column)
}
