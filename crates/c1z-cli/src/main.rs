//! `c1z`: reads, compares and exports c1z files (v1, SQLite) written by any
//! Baton connector. The work happens in the `c1z_cli` library; this file
//! parses arguments, opens files and prints.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use c1z_cli::output::Format;
use c1z_cli::{access, diff, export, inventory, review, Snapshot};

#[derive(Parser)]
#[command(
    name = "c1z",
    version,
    about = "Read, compare and export c1z files written by Baton connectors"
)]
struct Cli {
    /// The c1z file to read.
    #[arg(
        short,
        long,
        global = true,
        env = "C1Z_FILE",
        default_value = "sync.c1z"
    )]
    file: PathBuf,

    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,

    /// The sync to read (default: the latest finished full sync).
    #[arg(long, global = true)]
    sync_id: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the resource types of the sync.
    ResourceTypes,
    /// List resources.
    Resources {
        /// Only resources of this resource type id, such as `iam_user`.
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
    },
    /// List entitlements with their grant counts.
    Entitlements {
        /// Only entitlements on resources of this resource type id.
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
    },
    /// List grants, with how each was granted.
    Grants {
        /// Only grants of this entitlement id.
        #[arg(long, conflicts_with = "principal")]
        entitlement: Option<String>,
        /// Only grants held by this principal (TYPE:ID, resource id or display name).
        #[arg(long)]
        principal: Option<String>,
    },
    /// List users, groups and every other principal that holds grants.
    Principals,
    /// Count resources, entitlements and grants per resource type.
    Stats,
    /// List the sync runs of the file.
    Syncs,
    /// Show the effective access of a principal and the path that gives each grant.
    Access {
        /// The principal: TYPE:ID, a resource id such as a user ARN, or a display name.
        principal: String,
    },
    /// Compare two syncs: resources, entitlements and grants added and removed.
    Diff {
        /// The old c1z file (default: the --file file).
        old: Option<PathBuf>,
        /// The new c1z file (default: the old file).
        new: Option<PathBuf>,
        /// Sync id in the old file (default: its latest finished full sync, or
        /// the one before the latest when both sides are the same file).
        #[arg(long)]
        old_sync: Option<String>,
        /// Sync id in the new file (default: its latest finished full sync).
        #[arg(long)]
        new_sync: Option<String>,
    },
    /// Write an access review package: XLSX workbook, HTML report, grants CSV and manifest.json.
    Review {
        /// Directory to write the package to (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// A previous review to list changes against: its package directory,
        /// its grants.csv, or a c1z file.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Flag rows whose principal last logged in more than this many days before the sync ended.
        #[arg(long)]
        unused_days: Option<u32>,
    },
    /// Export every grant as CSV for SIEM and spreadsheet use.
    Export {
        /// File to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let mut message = format!("{err:#}").replace('\n', " ");
            if matches!(
                err.downcast_ref::<c1z_cli::Error>(),
                Some(c1z_cli::Error::C1z(c1z::Error::UnknownSync { .. }))
            ) {
                message.push_str("; list the syncs with `c1z syncs`");
            }
            eprintln!("c1z: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let sync_id = cli.sync_id.as_deref();
    let listing = match &cli.command {
        Command::ResourceTypes => inventory::resource_types(&open(&cli.file, sync_id)?),
        Command::Resources { resource_type } => {
            inventory::resources(&open(&cli.file, sync_id)?, resource_type.as_deref())
        }
        Command::Entitlements { resource_type } => {
            inventory::entitlements(&open(&cli.file, sync_id)?, resource_type.as_deref())
        }
        Command::Grants {
            entitlement,
            principal,
        } => {
            let filter = inventory::GrantFilter {
                entitlement: entitlement.clone(),
                principal: principal.clone(),
            };
            inventory::grants(&open(&cli.file, sync_id)?, &filter)?
        }
        Command::Principals => inventory::principals(&open(&cli.file, sync_id)?),
        Command::Stats => inventory::stats(&open(&cli.file, sync_id)?)?,
        Command::Syncs => inventory::syncs(&c1z::C1zFile::open_read(&cli.file)?)?,
        Command::Access { principal } => {
            let snap = open(&cli.file, sync_id)?;
            let key = snap.find_principal(principal)?;
            access::listing(&snap, &key)
        }
        Command::Diff {
            old,
            new,
            old_sync,
            new_sync,
        } => {
            let (old, new) = open_diff_sides(
                cli,
                old.as_deref(),
                new.as_deref(),
                old_sync.as_deref(),
                new_sync.as_deref(),
            )?;
            diff::listing(&old, &new)
        }
        Command::Review {
            out: dir,
            previous,
            unused_days,
        } => {
            let snap = open(&cli.file, sync_id)?;
            let previous = previous.as_deref().map(review::load_previous).transpose()?;
            let package = review::build(&snap, previous.as_ref(), *unused_days)?;
            let written = review::write(&package, dir)?;
            let e = &package.evidence;
            writeln!(out, "wrote {}", written.workbook.display())?;
            writeln!(out, "wrote {}", written.html.display())?;
            writeln!(out, "wrote {}", written.csv.display())?;
            writeln!(out, "wrote {}", written.manifest.display())?;
            writeln!(
                out,
                "sync {}: {} rows on {} account sheets (plus {}), {} privileged, {} derived",
                e.sync_id,
                e.review_rows,
                package.sheets.len(),
                if package.changes.is_some() {
                    "Evidence, Privileged and Changes"
                } else {
                    "Evidence and Privileged"
                },
                e.privileged_rows,
                e.derived_rows
            )?;
            return Ok(());
        }
        Command::Export { out: path } => {
            let snap = open(&cli.file, sync_id)?;
            let rows = export::rows(&snap);
            match path {
                Some(path) => export::write_csv_file(path, &rows)?,
                None => export::write_csv(&mut out, &rows)?,
            }
            return Ok(());
        }
    };
    listing.write(cli.output, &mut out)?;
    out.flush()?;
    Ok(())
}

fn open(path: &Path, sync_id: Option<&str>) -> anyhow::Result<Snapshot> {
    Ok(Snapshot::open(path, sync_id)?)
}

/// Opens both sides of a diff: two files, or two syncs of one file.
fn open_diff_sides(
    cli: &Cli,
    old: Option<&Path>,
    new: Option<&Path>,
    old_sync: Option<&str>,
    new_sync: Option<&str>,
) -> anyhow::Result<(Snapshot, Snapshot)> {
    let old_path = old.unwrap_or(&cli.file);
    let new_path = new.unwrap_or(old_path);
    let new_side = open(new_path, new_sync.or(cli.sync_id.as_deref()))?;
    if new.is_some() {
        return Ok((open(old_path, old_sync)?, new_side));
    }
    // One file: compare two of its syncs.
    let old_sync = match old_sync {
        Some(id) => id.to_string(),
        None => previous_full_sync(old_path, &new_side.sync.sync_id)?,
    };
    if old_sync == new_side.sync.sync_id {
        bail!("{}: both sides of the diff are sync {old_sync}; give --old-sync and --new-sync, or two files", old_path.display());
    }
    Ok((open(old_path, Some(&old_sync))?, new_side))
}

/// The latest finished full sync that ended before `newer` started.
fn previous_full_sync(path: &Path, newer: &str) -> anyhow::Result<String> {
    let file = c1z::C1zFile::open_read(path)?;
    let syncs = file.syncs()?;
    let newer_start = syncs
        .iter()
        .find(|s| s.sync_id == newer)
        .map(|s| s.started_at.clone())
        .unwrap_or_default();
    syncs
        .iter()
        .filter(|s| s.sync_id != newer && s.sync_type == "full" && s.ended_at.as_deref().is_some_and(|e| e <= newer_start.as_str()))
        .max_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id)))
        .map(|s| s.sync_id.clone())
        .with_context(|| {
            format!("{}: only one finished full sync, so there is nothing to compare; give a second c1z file or --old-sync", path.display())
        })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
