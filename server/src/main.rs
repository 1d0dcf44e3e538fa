//! `server`: the Hookline process and its operator commands.

use clap::Parser;
use hookline::clock::SystemClock;
use hookline::store::Db;
use server::config::{AdminCommand, Cli, Command, Settings};
use server::error::ServerError;
use server::{Runtime, allocator, demo, telemetry};
use std::io::BufRead;
use std::process::ExitCode;

// Why mimalloc, and how it is tuned: `server::allocator`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// An ELF constructor: it runs after mimalloc's own (priority 101) and before
// the Rust runtime's first allocation reserves mimalloc's first arena.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = allocator::return_memory_promptly;

#[tokio::main]
async fn main() -> ExitCode {
    #[cfg(not(target_os = "linux"))]
    allocator::return_memory_promptly();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), ServerError> {
    let command = cli.command.unwrap_or(Command::Serve);
    let mut args = cli.settings;
    if matches!(command, Command::Demo) {
        // Demo secrets fill in only what the operator did not set.
        let secrets = demo::load_or_create_secrets(std::path::Path::new(demo::DEMO_SECRETS_FILE))?;
        args.secret_key = args.secret_key.or(secrets.secret_key);
        args.ingest_token = args.ingest_token.or(secrets.ingest_token);
    }
    let settings = Settings::resolve(args)?;
    telemetry::init(settings.log_format);

    match command {
        Command::Serve => server::serve(settings, Runtime::default()).await,
        Command::Demo => {
            let db = connect(&settings).await?;
            demo::ensure_accounts(&db, &SystemClock).await?;
            db.close().await;
            println!(
                "Hookline demo: open {} in your browser.",
                settings.public_origin
            );
            server::serve(settings, Runtime::default()).await
        }
        Command::Migrate => {
            connect(&settings).await?;
            println!("Migrations applied to {}", settings.database_url_redacted());
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password_stdin,
                },
        } => {
            let db = connect(&settings).await?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(ServerError::Io)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (server::config::generate_token(24), true)
            };
            match hookline::accounts::create_admin(&db, &SystemClock, &email, &password).await {
                Ok(account) => {
                    println!("Created admin {} ({})", account.email, account.user_id);
                    if generated {
                        println!("Password (shown once): {password}");
                    }
                    Ok(())
                }
                Err(hookline::Error::Validation(fields)) => Err(ServerError::Internal(format!(
                    "admin not created: {fields}"
                ))),
                Err(e) => Err(e.into()),
            }
        }
    }
}

async fn connect(settings: &Settings) -> Result<Db, ServerError> {
    Db::connect(settings.database_url.expose())
        .await
        .map_err(|e| ServerError::Database(format!("{e} ({})", settings.database_url_redacted())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_allocator_is_tuned_before_main() {
        assert!(server::allocator::returns_memory_promptly());
    }
}
