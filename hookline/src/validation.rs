use serde::{Deserialize, Serialize};
use std::fmt;

/// One problem with one named input field, phrased for the person who typed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The most problems kept for one field.
pub const MAX_PER_FIELD: usize = 10;

/// All problems found in one submission, so a form can mark every bad field at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Records a problem with `field`. Past a field's first few problems the
    /// rest are dropped: they are enough to fix it, and a pasted list of
    /// thousands of bad entries would otherwise make an answer of megabytes.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.0.iter().filter(|e| e.field == field).count() >= MAX_PER_FIELD {
            return;
        }
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// `Ok(value)` when nothing was recorded, otherwise the collected errors.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// What a form or API field says when its text holds a control character.
pub const CONTROL_CHARACTER: &str =
    "Remove the control character (such as a NUL byte) from this text.";

/// True when `value` holds a control character, which no name, URL or
/// message needs: PostgreSQL cannot store NUL at all, and the others garble
/// pages and logs. Tabs and line breaks are allowed where `multiline` is set.
pub fn has_control_character(value: &str, multiline: bool) -> bool {
    value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\t' | '\n' | '\r')))
}

/// At most the first 40 characters of `raw`, for a message that quotes what
/// was typed without repeating all of a huge input.
pub fn excerpt(raw: &str) -> String {
    const KEEP: usize = 40;
    match raw.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}

/// Text received from elsewhere (a merchant's response, a request to the
/// sandbox inbox) as it is kept for display: invalid UTF-8 and NUL, which
/// PostgreSQL cannot store, become U+FFFD.
pub fn storable_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_and_line_breaks_allowed_where_asked() {
        assert!(!has_control_character("Acme Ltd — Zürich", false));
        assert!(has_control_character("Acme\0", false));
        assert!(has_control_character("a\u{7f}b", true));
        assert!(has_control_character("a\u{1b}[31m", true));
        assert!(has_control_character("two\nlines", false));
        assert!(!has_control_character("two\r\nlines\tand a tab", true));
    }

    #[test]
    fn each_field_keeps_its_first_few_problems() {
        let mut errors = FieldErrors::new();
        for i in 0..1000 {
            errors.add("allowlist", format!("entry {i}"));
        }
        errors.add("name", "Name it.");
        assert_eq!(errors.0.len(), MAX_PER_FIELD + 1);
        assert_eq!(errors.get("allowlist"), Some("entry 0"));
        assert_eq!(errors.get("name"), Some("Name it."));
    }

    #[test]
    fn stored_text_has_no_nul_and_keeps_the_rest() {
        assert_eq!(storable_text(b"ok"), "ok");
        assert_eq!(storable_text(b"a\0b\xffc"), "a\u{FFFD}b\u{FFFD}c");
    }
}
