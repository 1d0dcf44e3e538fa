//! Account operations: sign-up, sign-in with throttling, admin creation.
//! The portal, the CLI and (later) the API all go through these.

use crate::account::{Email, Role, SignupInput, check_new_password};
use crate::clock::{Clock, Millis};
use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::accounts::{self as store, Account, Inserted, NewUser};
use crate::store::throttle;
use crate::validation::{FieldErrors, has_control_character};
use crate::{ids, password};

pub use crate::store::accounts::{Account as SignedIn, MerchantSummary};

/// Limits on failed sign-ins. One key per email and one per client address,
/// so neither guessing one account's password nor spraying many accounts from
/// one address gets far; and on sign-ups per client address, which would
/// otherwise tell anyone which emails have an account as fast as they ask.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    pub window_ms: Millis,
    pub max_failures_per_email: i64,
    pub max_failures_per_address: i64,
    pub max_sign_ups_per_address: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            window_ms: 15 * 60 * 1000,
            max_failures_per_email: 5,
            max_failures_per_address: 20,
            max_sign_ups_per_address: 20,
        }
    }
}

const EMAIL_TAKEN: &str = "An account with this email already exists. Log in instead.";

/// Counts a sign-up from `client_address` and refuses it past the policy's
/// limit for the window, before any work is done for it.
pub async fn count_sign_up(
    db: &Db,
    clock: &dyn Clock,
    policy: ThrottlePolicy,
    client_address: &str,
) -> Result<()> {
    let now = clock.now_ms();
    let key = format!("signup:{}", address_bucket(client_address));
    let (sign_ups, reopens) = throttle::count_attempt(db, &key, now, policy.window_ms).await?;
    if sign_ups > policy.max_sign_ups_per_address {
        let minutes = ((reopens - now).max(0) as u64).div_ceil(60_000).max(1);
        return Err(FieldErrors::single(
            "email",
            format!("Too many sign-ups from your network. Try again in {minutes} minute(s)."),
        )
        .into());
    }
    Ok(())
}

/// Creates a merchant and its first user. Every invalid field is reported;
/// nothing is written unless all of them pass.
pub async fn sign_up(db: &Db, clock: &dyn Clock, input: &SignupInput) -> Result<Account> {
    let valid = input.validate()?;
    let password_hash = password::hash(valid.password).await?;
    let merchant_id = ids::merchant_id();
    let user_id = ids::user_id();
    let user = NewUser {
        user_id: &user_id,
        email: valid.email.as_str(),
        password_hash: &password_hash,
        role: Role::Merchant,
        now: clock.now_ms(),
    };
    match store::insert_merchant_with_user(db, &merchant_id, &valid.business_name, user).await? {
        Inserted::Created => store::find_by_id(db, &user_id)
            .await?
            .ok_or(Error::NotFound),
        Inserted::EmailTaken => Err(FieldErrors::single("email", EMAIL_TAKEN).into()),
    }
}

/// Creates an onboarding-team account. Only the operator's CLI calls this.
pub async fn create_admin(
    db: &Db,
    clock: &dyn Clock,
    email: &str,
    password: &str,
) -> Result<Account> {
    let mut errors = FieldErrors::new();
    let email = match Email::parse(email) {
        Ok(email) => Some(email),
        Err(message) => {
            errors.add("email", message);
            None
        }
    };
    if let Err(message) = check_new_password(password) {
        errors.add("password", message);
    }
    let email = match email {
        Some(email) if errors.is_empty() => email,
        _ => return Err(errors.into()),
    };
    let password_hash = password::hash(password.to_owned()).await?;
    let user_id = ids::user_id();
    let user = NewUser {
        user_id: &user_id,
        email: email.as_str(),
        password_hash: &password_hash,
        role: Role::Admin,
        now: clock.now_ms(),
    };
    match store::insert_admin(db, user).await? {
        Inserted::Created => store::find_by_id(db, &user_id)
            .await?
            .ok_or(Error::NotFound),
        Inserted::EmailTaken => Err(FieldErrors::single("email", EMAIL_TAKEN).into()),
    }
}

/// Checks an email and password. Unknown emails and wrong passwords fail the
/// same way and take the same time; too many failures for the email or the
/// client address refuse further tries until the window closes, even with the
/// right password.
pub async fn sign_in(
    db: &Db,
    clock: &dyn Clock,
    policy: ThrottlePolicy,
    email: &str,
    password: &str,
    client_address: &str,
) -> Result<Account> {
    let now = clock.now_ms();
    // Only something that can be an address is looked up or keyed as one;
    // anything else (a NUL byte, 10,000 characters) cannot match an account,
    // so its failures count against one shared key.
    let email_norm = Email::parse(email).map_or_else(|_| String::new(), |e| e.as_str().to_owned());
    let email_key = format!("email:{email_norm}");
    let address_key = format!("addr:{}", address_bucket(client_address));

    // Counted before the password is checked: a burst of guesses sent at
    // once gets no more checks than the same guesses sent one by one. The
    // address first: an address already refused does not count against the
    // email it typed, or one address could lock every merchant out.
    let throttled = |until: Millis| Error::Throttled {
        retry_after_secs: ((until - now).max(0) as u64).div_ceil(1000).max(1),
    };
    let (addr_attempts, addr_reopens) =
        throttle::count_attempt(db, &address_key, now, policy.window_ms).await?;
    if addr_attempts > policy.max_failures_per_address {
        return Err(throttled(addr_reopens));
    }
    let (email_attempts, email_reopens) =
        throttle::count_attempt(db, &email_key, now, policy.window_ms).await?;
    if email_attempts > policy.max_failures_per_email {
        return Err(throttled(email_reopens));
    }

    let credentials =
        if email_norm.is_empty() || password.len() > 4 * crate::account::MAX_PASSWORD_CHARS {
            None
        } else {
            store::find_credentials(db, &email_norm).await?
        };
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let ok = password::verify(password.to_owned(), stored_hash).await?;
    match credentials {
        Some(credentials) if ok => {
            throttle::clear(db, &email_key).await?;
            throttle::uncount(db, &address_key).await?;
            Ok(credentials.account)
        }
        _ => Err(Error::InvalidCredentials),
    }
}

/// What a client address is counted under: an IPv4 address alone, an IPv6
/// one by its /64 (one customer's network hands out a whole /64), anything
/// else as given.
fn address_bucket(client_address: &str) -> String {
    match client_address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        _ => client_address.to_owned(),
    }
}

pub async fn find(db: &Db, user_id: &str) -> Result<Option<Account>> {
    store::find_by_id(db, user_id).await
}

pub async fn search_merchants(db: &Db, query: &str, limit: i64) -> Result<Vec<MerchantSummary>> {
    store::search_merchants(db, query, limit.clamp(1, 200)).await
}

/// One merchant by its exact id.
pub async fn merchant(db: &Db, id: &str) -> Result<Option<MerchantSummary>> {
    if has_control_character(id, false) {
        return Ok(None);
    }
    store::merchant_summary(db, id).await
}

pub async fn count_merchants(db: &Db) -> Result<i64> {
    store::count_merchants(db).await
}
