//! Demo mode: everything a newcomer needs to click around on their own
//! machine, with nothing to configure. Never for production.

use crate::config::{FileSettings, generate_secret_key, generate_token};
use crate::error::ServerError;
use hookline::Error;
use hookline::SignupInput;
use hookline::clock::Clock;
use hookline::store::Db;
use serde::Serialize;
use std::path::Path;

pub const DEMO_MERCHANT_EMAIL: &str = "demo@hookline.test";
pub const DEMO_ADMIN_EMAIL: &str = "admin@hookline.test";
pub const DEMO_SECRETS_FILE: &str = "data/demo-secrets.toml";

#[derive(Serialize)]
struct DemoSecrets {
    secret_key: String,
    ingest_token: String,
}

/// Reads the demo's secret key and ingest token, creating them (readable by
/// this user only) on first start.
pub fn load_or_create_secrets(path: &Path) -> Result<FileSettings, ServerError> {
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(ServerError::Io)?;
        }
        let secrets = DemoSecrets {
            secret_key: generate_secret_key(),
            ingest_token: generate_token(48),
        };
        let text = toml::to_string(&secrets).map_err(|e| ServerError::Internal(e.to_string()))?;
        write_private(path, &text)?;
        eprintln!(
            "Demo: generated a secret key and an ingest token in {}",
            path.display()
        );
    }
    Ok(FileSettings::load(path)?)
}

fn write_private(path: &Path, text: &str) -> Result<(), ServerError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(ServerError::Io)?;
    file.write_all(text.as_bytes()).map_err(ServerError::Io)
}

/// Creates the demo merchant and admin if they do not exist yet. Their
/// passwords are printed here, once, and stored nowhere but as hashes.
pub async fn ensure_accounts(db: &Db, clock: &dyn Clock) -> Result<(), ServerError> {
    let merchant_password = generate_token(20);
    let merchant = SignupInput {
        business_name: "Demo Coffee Roasters".into(),
        email: DEMO_MERCHANT_EMAIL.into(),
        password: merchant_password.clone(),
    };
    let merchant_created = match hookline::accounts::sign_up(db, clock, &merchant).await {
        Ok(_) => true,
        Err(Error::Validation(fields)) if fields.get("email").is_some() => false,
        Err(e) => return Err(e.into()),
    };
    let admin_password = generate_token(20);
    let admin_created = match hookline::accounts::create_admin(
        db,
        clock,
        DEMO_ADMIN_EMAIL,
        &admin_password,
    )
    .await
    {
        Ok(_) => true,
        Err(Error::Validation(fields)) if fields.get("email").is_some() => false,
        Err(e) => return Err(e.into()),
    };

    if merchant_created || admin_created {
        println!();
        println!("  Demo accounts (shown once; delete ./data to start over):");
        if merchant_created {
            println!("    merchant  {DEMO_MERCHANT_EMAIL}  password: {merchant_password}");
        }
        if admin_created {
            println!("    admin     {DEMO_ADMIN_EMAIL}  password: {admin_password}");
        }
        println!();
    } else {
        println!(
            "Demo accounts already exist ({DEMO_MERCHANT_EMAIL}, {DEMO_ADMIN_EMAIL}); their passwords were printed when they were created. Delete ./data to start over."
        );
    }
    Ok(())
}
