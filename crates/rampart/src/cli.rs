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
    /// Print the OpenSSF Model Signing manifest of a model folder, file or dataset (JSON).
    Hash(HashArgs),
    /// Sign a model (OpenSSF Model Signing; same methods and flags as `model_signing sign`).
    #[command(subcommand)]
    Sign(SignMethod),
    /// Verify a model's signature, then every file against it.
    #[command(subcommand)]
    Verify(VerifyMethod),
    /// Generate a signing key pair (private key written 0600, optionally encrypted).
    Keygen(KeygenArgs),
    /// Write a CycloneDX 1.6 ML-BOM (or SPDX 3.0.1) for model folders, datasets and prompts.
    Bom(BomArgs),
    /// Render model, data and prompt cards; `--check` fails when they are incomplete or stale.
    Card(CardArgs),
    /// Guards over text: find secrets, personal data and exfiltration links; redact them.
    #[command(subcommand)]
    Guard(GuardCommand),
    /// Run the gateway: an OpenAI-compatible proxy with scoped keys, limits, guards and audit.
    Serve(crate::gateway::ServeArgs),
    /// Manage gateway keys (secrets shown once, stored as hashes).
    Keys {
        #[command(subcommand)]
        command: crate::gateway::KeysCommand,
        #[command(flatten)]
        config: crate::gateway::ConfigArg,
    },
    /// Verify, export and prune the gateway's audit log.
    Audit {
        #[command(subcommand)]
        command: crate::gateway::AuditCommand,
        #[command(flatten)]
        config: crate::gateway::ConfigArg,
    },
    /// An OpenAI-compatible mock upstream (tests and benchmarks).
    MockUpstream(crate::gateway::MockArgs),
}

#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// One JSON line per input with its findings (type, character offsets, detector); a
    /// summary of a whole dataset on stderr. Exit 1 when anything was found.
    Check(GuardArgs),
    /// Write the input with findings replaced.
    Redact(RedactArgs),
    /// Train the prompt-injection classifier from labelled JSONL (`text`, `label`, `source`);
    /// deterministic: the same data gives the same model bytes.
    Train(TrainArgs),
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data (JSONL with text, label 0/1, optional source). Repeatable: the files are
    /// read in the order given (the shipped model adds the benign
    /// `crates/rampart-guard/data/negatives.jsonl` to the shared train set).
    #[arg(long, required = true)]
    pub train: Vec<PathBuf>,
    /// Development data: the threshold is set on it for --max-fpr and the figures reported.
    #[arg(long)]
    pub dev: PathBuf,
    /// Where to write the model.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Highest false-positive rate of the model on the development data.
    #[arg(long, default_value = "0.02")]
    pub max_fpr: f64,
    /// Also evaluate by source: for each source group, train on the others and test on it.
    #[arg(long)]
    pub holdout_by_source: bool,
    /// Leave out rows whose source ends with one of these (e.g. `:harmbench`). Repeatable.
    #[arg(long = "exclude-source", value_name = "SUFFIX")]
    pub exclude_source: Vec<String>,
    /// L2 penalty per update (the shipped model's default when not given).
    #[arg(long)]
    pub l2: Option<f32>,
    /// Passes over the data (the shipped model's default when not given).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Training runs with different shuffles, averaged (the shipped model's default when not
    /// given).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub runs: Option<u64>,
    /// Every Nth sentence of a long benign text is also a benign example; 0 for none (the
    /// shipped model's default when not given).
    #[arg(long, value_name = "N")]
    pub sentence_every: Option<usize>,
}

#[derive(Debug, Args)]
pub struct GuardArgs {
    /// Plain text, or JSONL whose objects have a `text` field; `-` or nothing for stdin.
    pub input: Option<PathBuf>,
    /// Detectors to run: comma-separated from injection, secrets, pii, exfil, invisible
    /// (redact uses all but injection).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "injection,secrets,pii,exfil,invisible"
    )]
    pub only: Vec<String>,
    /// Hosts that links and images may point to (a host allows its subdomains). Repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Treat each line of plain text as its own input.
    #[arg(long)]
    pub lines: bool,
    /// What the model was shown (system prompt, conversation) as plain text: links that
    /// repeat a run of its words count as exfiltration. A JSONL record may add its own in a
    /// `context` field (a string or a list of strings).
    #[arg(long, value_name = "FILE")]
    pub context: Option<PathBuf>,
    /// Injection model to use instead of the shipped, signed one (a file written by `rampart
    /// guard train -o`, for evaluating a retrained model; it is not signature-checked).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    #[command(flatten)]
    pub guard: GuardArgs,
    /// redact ([TYPE]), mask (****1234), hash ([TYPE:hmac8]), pseudonymize (TYPE_n).
    #[arg(long, default_value = "redact")]
    pub action: String,
    /// Key for --action hash, from this environment variable (hashes of low-entropy values are
    /// guessable without one).
    #[arg(long, value_name = "VAR", default_value = "RAMPART_REDACT_KEY")]
    pub key_env: String,
}

/// Trust anchors for the signatures found with the inputs (scan, bom, card).
#[derive(Debug, Args, Clone)]
pub struct TrustArgs {
    /// Verify model.sig signatures in or next to the inputs with this public key.
    #[arg(long = "public-key", alias = "public_key", value_name = "PEM")]
    pub public_key: Option<PathBuf>,
    /// Verify model.sig signatures with these trusted root certificates. Repeatable.
    #[arg(
        long = "certificate-chain",
        alias = "certificate_chain",
        value_name = "PEM"
    )]
    pub certificate_chain: Vec<PathBuf>,
}

/// Evidence flags shared by bom and card.
#[derive(Debug, Args, Clone)]
pub struct EvidenceArgs {
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Follow symbolic links inside folders (refused by default, as in `rampart hash`).
    #[arg(long = "allow-symlinks", alias = "allow_symlinks")]
    pub allow_symlinks: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 3.0.1 JSON-LD (AI and Dataset profiles).
    Spdx,
}

#[derive(Debug, Args)]
pub struct BomArgs {
    /// Model folders or files, dataset files or folders, prompt files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "cyclonedx")]
    pub format: BomFormat,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub evidence: EvidenceArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One line per problem.
    Human,
    /// `{"ok": bool, "problems": [...]}`.
    Json,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CardArgs {
    #[command(subcommand)]
    pub command: Option<CardCommand>,
    /// Assets: model folders or files, datasets, prompt files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Check instead of render: exit 1 when card metadata is missing, a required security
    /// field is empty, or a recorded hash no longer matches the files.
    #[arg(long)]
    pub check: bool,
    /// Format of the check's report.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: CheckFormat,
    /// Write the rendered card(s) to FILE instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub evidence: EvidenceArgs,
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Write the card metadata file beside each asset (rampart-card.toml in a folder,
    /// FILE.card.toml beside a file), prefilled from the files, with their hashes recorded.
    Init(CardInitArgs),
}

#[derive(Debug, Args)]
pub struct CardInitArgs {
    /// Assets to write card metadata for.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Keep the existing metadata, re-record the hashes (after reviewing a change).
    #[arg(long, conflicts_with = "force")]
    pub update: bool,
    /// Replace existing metadata with a fresh template.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub evidence: EvidenceArgs,
}

/// Hashing flags shared by hash, sign and verify.
#[derive(Debug, Args, Clone)]
pub struct ManifestArgs {
    /// Paths (relative to the model, or absolute inside it) to leave out. Repeatable.
    #[arg(long = "ignore-paths", alias = "ignore_paths", num_args = 1.., value_name = "PATH")]
    pub ignore_paths: Vec<PathBuf>,
    /// Do not ignore .git, .gitattributes, .github and .gitignore.
    #[arg(long = "no-ignore-git-paths", alias = "no_ignore_git_paths")]
    pub no_ignore_git_paths: bool,
    /// Ignore the git paths (the default; accepted for compatibility).
    #[arg(long = "ignore-git-paths", alias = "ignore_git_paths", hide = true)]
    pub ignore_git_paths: bool,
    /// Follow symbolic links (their targets are hashed).
    #[arg(long = "allow_symlinks", alias = "allow-symlinks")]
    pub allow_symlinks: bool,
}

/// Digest choice for hash and sign.
#[derive(Debug, Args, Clone)]
pub struct DigestArgs {
    /// Digest algorithm: sha256 (default), blake2, blake3.
    #[arg(long = "hash-type", alias = "hash_type", default_value = "sha256")]
    pub hash_type: String,
    /// Hash files in shards of this many bytes instead of whole files.
    #[arg(long = "shard-size", alias = "shard_size", value_name = "BYTES")]
    pub shard_size: Option<u64>,
}

#[derive(Debug, Args)]
pub struct HashArgs {
    /// Model folder or file.
    pub path: PathBuf,
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub digest: DigestArgs,
}

/// Where the private key's passphrase comes from.
#[derive(Debug, Args, Clone)]
pub struct PasswordArgs {
    /// Read the private key passphrase from this file (first line).
    #[arg(long = "password-file", alias = "password_file", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Take the passphrase from this environment variable.
    #[arg(
        long = "password-env",
        alias = "password_env",
        value_name = "VAR",
        default_value = "RAMPART_KEY_PASSWORD"
    )]
    pub password_env: String,
    /// Ask for the passphrase on the terminal.
    #[arg(long)]
    pub prompt: bool,
}

/// What every signing method takes.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Model folder or file.
    pub model_path: PathBuf,
    /// Private key (PEM).
    #[arg(long = "private_key", alias = "private-key")]
    pub private_key: PathBuf,
    /// Signature output (default: model.sig next to the model).
    #[arg(long)]
    pub signature: Option<PathBuf>,
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub digest: DigestArgs,
    #[command(flatten)]
    pub password: PasswordArgs,
}

#[derive(Debug, Subcommand)]
pub enum SignMethod {
    /// Sign with a private key (ECDSA P-256 or P-384; SEC1 or PKCS#8 PEM).
    Key {
        #[command(flatten)]
        common: SignArgs,
    },
    /// Sign with a certificate's private key; the certificate and its chain go in the bundle.
    Certificate {
        /// The signing (leaf) certificate (PEM).
        #[arg(long = "signing_certificate", alias = "signing-certificate")]
        signing_certificate: PathBuf,
        /// Certificates completing the chain (PEM), in order. Repeatable.
        #[arg(long = "certificate_chain", alias = "certificate-chain", num_args = 1..)]
        certificate_chain: Vec<PathBuf>,
        #[command(flatten)]
        common: SignArgs,
    },
    /// Keyless signing through Sigstore (needs Fulcio and Rekor: not available offline).
    Sigstore {
        /// Model folder or file.
        model_path: PathBuf,
        /// Signature output.
        #[arg(long)]
        signature: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum VerifyMethod {
    /// Verify with the signer's public key.
    Key {
        /// Model folder or file.
        model_path: PathBuf,
        /// Public key (SPKI PEM).
        #[arg(long = "public_key", alias = "public-key")]
        public_key: PathBuf,
        #[command(flatten)]
        common: VerifyArgs,
    },
    /// Verify the bundle's certificate chain up to the given root certificates.
    Certificate {
        /// Model folder or file.
        model_path: PathBuf,
        /// Trusted root certificates (PEM). Repeatable.
        #[arg(long = "certificate_chain", alias = "certificate-chain", num_args = 1.., required = true)]
        certificate_chain: Vec<PathBuf>,
        /// Require this identity (e-mail, URI or DNS SAN) on the signing certificate.
        #[arg(long)]
        identity: Option<String>,
        /// Check certificate validity at this Unix time instead of now (audits of old
        /// signatures; tests).
        #[arg(long = "at-time", value_name = "UNIX_SECONDS")]
        at_time: Option<u64>,
        #[command(flatten)]
        common: VerifyArgs,
    },
    /// Verify a Sigstore keyless bundle (offline, against a trusted root).
    Sigstore {
        /// Model folder or file.
        model_path: PathBuf,
        /// Expected signer identity.
        #[arg(long)]
        identity: Option<String>,
        /// Expected OIDC issuer.
        #[arg(long = "identity_provider", alias = "identity-provider")]
        identity_provider: Option<String>,
        /// Sigstore trusted root (trusted_root.json).
        #[arg(long = "trust_config", alias = "trust-config")]
        trust_config: Option<PathBuf>,
        #[command(flatten)]
        common: VerifyArgs,
    },
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signature bundle (default: model.sig next to the model).
    #[arg(long)]
    pub signature: Option<PathBuf>,
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Accept files that the signature does not list.
    #[arg(long = "ignore_unsigned_files", alias = "ignore-unsigned-files")]
    pub ignore_unsigned_files: bool,
    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: VerifyFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyTypeArg {
    P256,
    P384,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Key type.
    #[arg(long = "type", value_enum, default_value = "p256")]
    pub key_type: KeyTypeArg,
    /// Output prefix: writes PREFIX.pem (private, 0600) and PREFIX.pub.pem.
    #[arg(long, short = 'o', default_value = "rampart-signing-key")]
    pub output: PathBuf,
    /// Encrypt the private key with a passphrase (from --password-file, the environment
    /// variable or the prompt).
    #[arg(long)]
    pub encrypt: bool,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
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
    pub trust: TrustArgs,
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
