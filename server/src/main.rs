//! `qamqor-server`: the regional sync server and its administration.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use qamqor_server::admin;
use qamqor_server::config::Config;
use qamqor_server::model::{Role, User};
use qamqor_server::run;

#[derive(Parser)]
#[command(version, about = "Qamqor regional sync server. With no command, serves on the configured address.")]
struct Cli {
    /// Configuration file (TOML); `qamqor.toml` in the working folder is read if present.
    #[arg(long, global = true, env = "QAMQOR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API (the default).
    Serve,
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Issue a one-time enrollment code for a user's phone.
    Code {
        /// The user id.
        user: String,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 72)]
        hours: i64,
    },
    /// Assign a case (or any document) to a user.
    Assign {
        /// The user id.
        user: String,
        /// The document id (`case:…`).
        doc: String,
    },
    /// Withdraw an assignment; the document leaves the user's phones at their next sync.
    Unassign {
        /// The user id.
        user: String,
        /// The document id.
        doc: String,
    },
    /// Manage devices.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Documents phones created that the access rules refused (kept for the office).
    #[command(subcommand)]
    Held(HeldCmd),
    /// Sets (or resets) an administrator's or analyst's console sign-in:
    /// prints a new password and the second factor's secret, once.
    ConsoleUser {
        /// The user id.
        user: String,
    },
    /// The region's figures as JSON (docs/figures.md), as of a date.
    Figures {
        /// The date (`YYYY-MM-DD`); today if absent.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// On the national server: issue (or replace) the credential a region's
    /// server sends its figures with; printed once.
    RegionCredential {
        /// The region's code (`75`).
        region: String,
    },
    /// On a regional server: send today's figures to the national server now.
    NationalReport,
    /// Import the office's existing register from a workbook or CSV files
    /// (layout: docs/import.md). A dry run that writes only its report,
    /// unless --confirm.
    Import {
        /// The files: a workbook with a worksheet per sheet, or CSV files
        /// named after their sheet (children.csv, …).
        files: Vec<PathBuf>,
        /// Store the documents (check a dry run's report first).
        #[arg(long)]
        confirm: bool,
        /// The report to write (.xlsx, or .csv); `import-report.xlsx` if absent.
        #[arg(long)]
        report: Option<PathBuf>,
        /// The user importing, for the audit (an administrator's id); the
        /// operating-system user if absent.
        #[arg(long)]
        user: Option<String>,
        /// Write an empty template workbook (columns, meanings and codes in
        /// Kazakh, Russian and English) instead of importing.
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "qamqor-import-template.xlsx")]
        template: Option<PathBuf>,
    },
    /// Attachments' files.
    #[command(subcommand)]
    Blobs(BlobsCmd),
    /// Show the latest audit lines (or verify or archive the audit).
    Audit {
        /// How many lines.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Verify or archive instead of showing.
        #[command(subcommand)]
        action: Option<AuditCmd>,
    },
}

#[derive(Subcommand)]
enum BlobsCmd {
    /// Remove the files no record references, started more than the grace
    /// period ago (the server also does this every hour).
    Gc {
        /// Days of grace; `blob_grace_days` if absent.
        #[arg(long)]
        grace_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Walk the hash chain: reports the first line edited or after a deleted one.
    Verify,
    /// Write every line older than a date to a file (JSON lines, with their
    /// chain values), then remove them from the database.
    Archive {
        /// Lines before this day (YYYY-MM-DD, UTC) are archived.
        #[arg(long)]
        before: chrono::NaiveDate,
        /// The file to write (must not exist).
        #[arg(long)]
        to: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user.
    Add {
        /// The user id (login name).
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// specialist, mentor, admin or analyst.
        #[arg(long)]
        role: String,
        /// КАТО code of a district covered (repeatable).
        #[arg(long = "district")]
        districts: Vec<String>,
        /// Grant the adoption tier.
        #[arg(long)]
        adoption: bool,
    },
    /// List users.
    List,
    /// Replace the districts a user covers.
    Districts {
        /// The user id.
        id: String,
        /// КАТО codes.
        #[arg(long = "district")]
        districts: Vec<String>,
    },
    /// Grant or withdraw the adoption tier.
    Adoption {
        /// The user id.
        id: String,
        /// `grant` or `revoke`.
        action: String,
    },
}

#[derive(Subcommand)]
enum HeldCmd {
    /// List held documents.
    List,
    /// Hand a held document on: it is stored and reaches whoever may see it.
    Release {
        /// The document id.
        doc: String,
        /// The device that sent it.
        device: String,
    },
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// List devices with their last sync and pending urgent items.
    List,
    /// Revoke a device; it is told to wipe its data at its next contact.
    Revoke {
        /// The device id.
        id: String,
    },
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> qamqor_server::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    if matches!(cli.command, None | Some(Command::Serve)) {
        // Before the database opens: what opening it warns of is logged.
        tracing_subscriber::fmt()
            .json()
            .with_writer(|| LogWriter)
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
            .init();
    }
    if let Some(Command::Import { template: Some(path), .. }) = &cli.command {
        qamqor_server::import::layout::write_template(path)?;
        println!("template written to {}", path.display());
        return Ok(());
    }
    let service = run::open_service(&config)?;
    let print = |v: &dyn erased::Show| println!("{}", v.show());
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config, service)?,
        Command::User(UserCmd::Add { id, name, role, districts, adoption }) => {
            let role = Role::parse(&role).ok_or_else(|| {
                qamqor_server::ServerError::BadRequest("role is specialist, mentor, admin or analyst".into())
            })?;
            if config.mode == qamqor_server::config::Mode::National && !matches!(role, Role::Admin | Role::Analyst) {
                return Err(qamqor_server::ServerError::BadRequest(
                    "the national server has administrators and analysts only".into(),
                ));
            }
            let user = User { id, name, role, region: config.region.clone(), districts, adoption_access: adoption };
            admin::create_user(&service, &user)?;
            println!("created user {}", user.id);
        }
        Command::User(UserCmd::List) => print(&service.storage().users()?),
        Command::User(UserCmd::Districts { id, districts }) => admin::set_districts(&service, &id, districts)?,
        Command::User(UserCmd::Adoption { id, action }) => {
            admin::set_adoption_access(&service, &id, action == "grant")?
        }
        Command::Code { user, hours } => {
            let code = admin::issue_code(&service, &user, hours)?;
            println!("enrollment code for {user} (valid {hours} h, single use): {code}");
        }
        Command::Assign { user, doc } => {
            for note in admin::assign(&service, &user, &doc, true)? {
                println!("note: {note}");
            }
        }
        Command::Unassign { user, doc } => {
            for note in admin::assign(&service, &user, &doc, false)? {
                println!("note: {note}");
            }
        }
        Command::Device(DeviceCmd::List) => print(&admin::devices(&service)?),
        Command::Device(DeviceCmd::Revoke { id }) => {
            admin::revoke_device(&service, &id)?;
            println!("device {id} revoked; it will be told to wipe its data at its next contact");
        }
        Command::Held(HeldCmd::List) => print(&service.storage().held_documents()?),
        Command::Held(HeldCmd::Release { doc, device }) => admin::release_held(&service, &doc, &device)?,
        Command::ConsoleUser { user } => {
            let a = qamqor_server::console::signin::create_account(&service, &user)?;
            admin::audit_admin(&service, "console_account_set", &format!("user:{user}"))?;
            println!("console sign-in for {user} (shown once; give it to the user in person):");
            println!("password: {}", a.password);
            println!("authenticator secret: {}", a.totp_secret);
            println!("authenticator link: {}", a.otpauth_uri);
        }
        Command::Figures { as_of } => {
            let now = chrono::Utc::now();
            print(&qamqor_server::figures::compute(&service, as_of.unwrap_or(now.date_naive()), now.timestamp())?)
        }
        Command::RegionCredential { region } => {
            if config.mode != qamqor_server::config::Mode::National {
                return Err(qamqor_server::ServerError::Config(
                    "region credentials are issued on the national server (mode = \"national\")".into(),
                ));
            }
            let token = qamqor_server::national::issue_credential(&service, &region)?;
            admin::audit_admin(&service, "region_credential_issued", &format!("region:{region}"))?;
            println!("credential for region {region} (shown once; any earlier one stops working):");
            println!("{token}");
            println!(
                "On the region's server put it in <data_dir>/national-credential (mode 0600) or QAMQOR_NATIONAL_CREDENTIAL,"
            );
            println!("and set national_url to this server's address.");
        }
        Command::NationalReport => {
            let link = service.national.clone().ok_or_else(|| {
                qamqor_server::ServerError::Config("no national_url is configured for this region".into())
            })?;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let stored = runtime.block_on(qamqor_server::national::send(&service, &link))?;
            println!("the national server stored region {}'s figures as of {}", stored.region, stored.as_of);
        }
        Command::Import { files, confirm, report, user, template: None } => {
            import(&service, &config, &files, confirm, report, user)?
        }
        Command::Import { template: Some(_), .. } => {}
        Command::Blobs(BlobsCmd::Gc { grace_days }) => {
            let grace = i64::from(grace_days.unwrap_or(config.blob_grace_days)) * 86_400;
            let n = qamqor_server::blobs::collect_garbage(&service, grace, chrono::Utc::now().timestamp())?;
            admin::audit_admin(&service, "blobs_collected", &format!("files:{n}"))?;
            println!("{n} files no record references were removed");
        }
        Command::Audit { limit, action: None } => print(&service.storage().audit_log(limit)?),
        Command::Audit { action: Some(AuditCmd::Verify), .. } => {
            let check = service.storage().audit_verify()?;
            print(&check);
            if let Some(id) = check.broken_at {
                return Err(qamqor_server::ServerError::Config(format!(
                    "the audit's hash chain is broken at line {id}: a line was edited, or one before it deleted"
                )));
            }
        }
        Command::Audit { action: Some(AuditCmd::Archive { before, to }), .. } => {
            let n = admin::archive_audit(&service, before, &to)?;
            println!("{n} audit lines archived to {}", to.display());
        }
    }
    Ok(())
}

fn import(
    service: &qamqor_server::service::Service,
    config: &Config,
    files: &[PathBuf],
    confirm: bool,
    report: Option<PathBuf>,
    user: Option<String>,
) -> qamqor_server::Result<()> {
    use qamqor_core::model::CodeList;
    use qamqor_server::ServerError;
    if files.is_empty() {
        return Err(ServerError::BadRequest(
            "name the register's files (qamqor-server import register.xlsx), or write a template with --template"
                .into(),
        ));
    }
    let region = qamqor_core::model::Region::from_code(&config.region)
        .ok_or_else(|| ServerError::Config("this server's region is not a region code".into()))?;
    let by = match user {
        Some(id) => match service.storage().user(&id)? {
            Some(u) if u.role == Role::Admin => id,
            Some(_) => return Err(ServerError::Forbidden(format!("{id} is not an administrator"))),
            None => return Err(ServerError::NotFound(format!("no user {id}"))),
        },
        None => admin::Operator::Cli.audit_name(),
    };
    let opts = qamqor_server::import::Options { region, today: chrono::Utc::now().date_naive(), confirm, by };
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let outcome = qamqor_server::import::run(service.storage().as_ref(), files, &opts, &mut progress);
    bar.finish_and_clear();
    let outcome = outcome?;
    let path = report.unwrap_or_else(|| PathBuf::from("import-report.xlsx"));
    outcome.write(&path)?;
    for line in outcome.summary() {
        println!("{line}");
    }
    println!("report: {}", path.display());
    if confirm {
        admin::audit_admin(service, "import", &format!("rows:{} documents:{}", outcome.rows.len(), outcome.documents))?;
    } else {
        println!("nothing was written; when the report is right, run the same command with --confirm");
    }
    Ok(())
}

mod erased {
    /// Pretty JSON for listings.
    pub trait Show {
        fn show(&self) -> String;
    }
    impl<T: serde::Serialize> Show for T {
        fn show(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_default()
        }
    }
}

/// Prints a line on standard output; a closed output does not stop the server.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn serve(config: Config, service: std::sync::Arc<qamqor_server::service::Service>) -> qamqor_server::Result<()> {
    if config.mode == qamqor_server::config::Mode::National {
        if let Some(a) = admin::bootstrap_national(&service, &config.region)? {
            say(&format!("First start of the national server: created the administrator '{}'.", admin::FIRST_ADMIN));
            say("Console sign-in (shown once; keep it safe):");
            say(&format!("    password: {}", a.password));
            say(&format!("    authenticator secret: {}", a.totp_secret));
            say(&format!("    authenticator link: {}", a.otpauth_uri));
            say(
                "Each region's server sends its figures with a credential: qamqor-server region-credential <region code>",
            );
        }
    } else if let Some(code) = admin::bootstrap(&service, &config.region)? {
        say(&format!("First start: created the regional administrator '{}'.", admin::FIRST_ADMIN));
        say("Sign in by enrolling the administrator's phone with this one-time code (valid 72 h):");
        say(&format!("    {code}"));
        say("More users: qamqor-server user add <id> --name ... --role specialist|mentor|admin --district <КАТО>");
        say("Their phones: qamqor-server code <user-id>");
        if config.key_file().exists() {
            say(&format!(
                "The database is encrypted with the key in {}: keep a copy of it apart from the database's backups.",
                config.key_file().display()
            ));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let running = run::start(&config, service).await?;
        let data = match &config.database_url {
            Some(url) => url.redacted(),
            None => config.data_dir.display().to_string(),
        };
        tracing::info!(url = %running.url(), data = %data, "serving; ready to enroll devices");
        say(&format!("Qamqor server listening on {} (data in {data})", running.url()));
        let handle = running.handle();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing in-flight syncs");
            handle.graceful_shutdown(Some(run::GRACE));
        });
        running.stopped().await
    })
}

/// Standard error for the log, where a failed write (a closed pipe, a full
/// disk) is dropped rather than stopping anything: the server must keep
/// serving, and stop on SIGTERM, whatever became of its log.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            return;
        }
    }
    let _ = ctrl_c.await;
}
