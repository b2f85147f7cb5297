//! The built-in rules, written as a rule file (`builtin.toml`) so they are
//! read, overridden and documented exactly like a user's.

/// The text of the built-in rule file.
pub(crate) const BUILTIN_RULES: &str = include_str!("builtin.toml");
