//! Accounts: who may sign in, and the rules their input must meet.

use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub const MIN_PASSWORD_CHARS: usize = 12;
/// argon2 accepts any length; a cap keeps one request from costing seconds.
pub const MAX_PASSWORD_CHARS: usize = 256;
pub const MAX_BUSINESS_NAME_CHARS: usize = 120;
pub const MAX_EMAIL_CHARS: usize = 254;

/// Merchants run integrations; admins are the onboarding team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Merchant,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Merchant => "merchant",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "merchant" => Ok(Role::Merchant),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role `{other}`")),
        }
    }
}

/// A checked, normalised (trimmed, lower-case) email address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err("Enter your email address.".into());
        }
        if value.chars().count() > MAX_EMAIL_CHARS {
            return Err(format!(
                "An email address has at most {MAX_EMAIL_CHARS} characters."
            ));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err("Enter an email address like name@example.com.".into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c.is_control());
        if !domain_ok || !local_ok {
            return Err("Enter an email address like name@example.com.".into());
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a new password against the policy; the message names the rule broken.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters ({chars} given)."
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("Use at most {MAX_PASSWORD_CHARS} characters."));
    }
    if password.trim().is_empty() {
        return Err("A password cannot be only spaces.".into());
    }
    Ok(())
}

/// What the sign-up form sends.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct SignupInput {
    pub business_name: String,
    pub email: String,
    pub password: String,
}

/// Sign-up input that passed every rule.
#[derive(Clone)]
pub struct ValidSignup {
    pub business_name: String,
    pub email: Email,
    pub password: String,
}

// By hand, so that a debug print of a sign-up never holds the password.
fn debug_sign_up(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    business_name: &str,
    email: &dyn std::fmt::Debug,
) -> std::fmt::Result {
    f.debug_struct(name)
        .field("business_name", &business_name)
        .field("email", email)
        .field("password", &"***")
        .finish()
}

impl std::fmt::Debug for SignupInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_sign_up(f, "SignupInput", &self.business_name, &self.email)
    }
}

impl std::fmt::Debug for ValidSignup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_sign_up(f, "ValidSignup", &self.business_name, &self.email)
    }
}

impl SignupInput {
    /// Checks every field and reports all problems together.
    pub fn validate(&self) -> Result<ValidSignup, FieldErrors> {
        let mut errors = FieldErrors::new();
        let business_name = self.business_name.trim().to_owned();
        if business_name.is_empty() {
            errors.add("business_name", "Enter your business name.");
        } else if business_name.chars().count() > MAX_BUSINESS_NAME_CHARS {
            errors.add(
                "business_name",
                format!("A business name has at most {MAX_BUSINESS_NAME_CHARS} characters."),
            );
        } else if business_name.chars().any(char::is_control) {
            errors.add("business_name", "Remove control characters from the name.");
        }
        let email = match Email::parse(&self.email) {
            Ok(email) => Some(email),
            Err(message) => {
                errors.add("email", message);
                None
            }
        };
        if let Err(message) = check_new_password(&self.password) {
            errors.add("password", message);
        }
        match email {
            Some(email) if errors.is_empty() => Ok(ValidSignup {
                business_name,
                email,
                password: self.password.clone(),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, email: &str, password: &str) -> SignupInput {
        SignupInput {
            business_name: name.into(),
            email: email.into(),
            password: password.into(),
        }
    }

    #[test]
    fn accepts_good_input_and_normalises_email() {
        let ok = input("  Acme Ltd ", " Ops@Acme.Example ", "correct horse battery")
            .validate()
            .unwrap();
        assert_eq!(ok.business_name, "Acme Ltd");
        assert_eq!(ok.email.as_str(), "ops@acme.example");
        let printed = format!(
            "{ok:?} {:?}",
            input("Acme", "ops@acme.example", "correct horse battery")
        );
        assert!(!printed.contains("horse"), "{printed}");
    }

    #[test]
    fn reports_every_bad_field() {
        let errors = input("", "not-an-email", "short").validate().unwrap_err();
        assert!(errors.get("business_name").is_some());
        assert!(errors.get("email").is_some());
        assert_eq!(
            errors.get("password"),
            Some("Use at least 12 characters (5 given).")
        );
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert!(check_new_password("ééééééééééé").is_err()); // 11 chars, 22 bytes
        assert!(check_new_password("éééééééééééé").is_ok());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        assert!(check_new_password(&" ".repeat(20)).is_err());
    }

    #[test]
    fn rejects_malformed_emails() {
        for bad in [
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@.com",
            "a@x..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
