//! The widget's words file, as the server writes it and the chat module reads it: `{"lang": …,
//! "messages": {key: message}}`, each message one string of text with its variables and selections
//! marked by these characters, which no translation may contain. `VAR_START name VAR_END` is a
//! variable; `SELECT name VAR_END` starts a selection, each variant is `key KEY_END pattern
//! VARIANT_END` (the default's key starts with `*`), and `SELECT_END` ends it.

pub const VAR_START: char = '\u{1}';
pub const VAR_END: char = '\u{2}';
pub const SELECT: char = '\u{3}';
pub const KEY_END: char = '\u{4}';
pub const VARIANT_END: char = '\u{5}';
pub const SELECT_END: char = '\u{6}';
/// Every marker, for the check that a translation contains none.
pub const MARKERS: [char; 6] = [VAR_START, VAR_END, SELECT, KEY_END, VARIANT_END, SELECT_END];
