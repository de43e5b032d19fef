//! Command-line definition (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Rampart: secure AI system development, from the NCSC/CISA guidelines to one binary.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, about, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). RAMPART_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan model files, folders, archives and Hugging Face caches without executing anything.
    Scan(ScanArgs),
    /// Pickle tools for investigators.
    #[command(subcommand)]
    Pickle(PickleCommand),
}

#[derive(Debug, Subcommand)]
pub enum PickleCommand {
    /// Annotated opcode listing of every pickle in FILE (also inside archives).
    Disasm {
        /// The file.
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Concise, coloured on a terminal.
    Human,
    /// JSON report (schema: docs/scan-report.md).
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan.
    #[arg(required_unless_present_any = ["list_rules"])]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity (info, low, medium, high, critical).
    #[arg(long, default_value = "medium")]
    pub fail_on: rampart_core::Severity,
    /// Show findings at or above this severity in the human view (all are in JSON/SARIF).
    #[arg(long, default_value = "info")]
    pub min_severity: rampart_core::Severity,
    /// Extra allowlist of safe pickle callables (TOML, see docs/policy.md). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub allowlist: Vec<PathBuf>,
    /// Print an annotated opcode listing of each pickle instead of a report.
    #[arg(long)]
    pub explain: bool,
    /// List the rules and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Colour: auto (terminal and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Also scan inside .git directories.
    #[arg(long)]
    pub include_git: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Largest pickle stream analysed (bytes).
    #[arg(long, value_name = "BYTES")]
    pub max_pickle_bytes: Option<u64>,
    /// Largest archive member or decompressed stream examined (bytes).
    #[arg(long, value_name = "BYTES")]
    pub max_member_bytes: Option<u64>,
    /// Total bytes decompressed per top-level file.
    #[arg(long, value_name = "BYTES")]
    pub max_total_decompressed: Option<u64>,
    /// Largest compression ratio accepted for members above 1 MiB.
    #[arg(long, value_name = "N")]
    pub max_ratio: Option<u64>,
    /// Most entries examined per archive.
    #[arg(long, value_name = "N")]
    pub max_entries: Option<u64>,
    /// Deepest nesting of archives.
    #[arg(long, value_name = "N")]
    pub max_depth: Option<u32>,
    /// Most pickle opcodes interpreted per pickle.
    #[arg(long, value_name = "N")]
    pub max_pickle_ops: Option<u64>,
    /// Largest structured metadata read (GGUF, HDF5, protobuf, JSON) in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_metadata_bytes: Option<u64>,
    /// Time budget per file in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}
