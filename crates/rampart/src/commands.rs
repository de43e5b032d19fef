//! Subcommand implementations.

use crate::cli::{Cli, ColorChoice, Command, OutputFormat, PickleCommand, ScanArgs};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rampart_core::render;
use rampart_scan::{Limits, Policy, Progress, ScanOptions};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Hash(a) => crate::signing::hash_cmd(a),
        Command::Sign(m) => crate::signing::sign_cmd(m),
        Command::Verify(m) => crate::signing::verify_cmd(m),
        Command::Keygen(a) => crate::signing::keygen_cmd(a),
        Command::Bom(a) => crate::bom::bom_cmd(a),
        Command::Card(a) => crate::bom::card_cmd(a),
        Command::Guard(g) => crate::guard::run(g),
        Command::Serve(a) => crate::gateway::serve(a),
        Command::Keys { command, config } => crate::gateway::keys(command, config),
        Command::Audit { command, config } => crate::gateway::audit(command, config),
        Command::MockUpstream(a) => crate::gateway::mock_upstream(a),
        Command::Pickle(PickleCommand::Disasm { file }) => {
            let opts = ScanOptions::new();
            let text = rampart_scan::explain_file(&file, &opts)?;
            emit(None, &text)?;
            Ok(0)
        }
    }
}

fn limits(a: &crate::cli::LimitArgs) -> Limits {
    let d = Limits::default();
    Limits {
        max_pickle_bytes: a.max_pickle_bytes.unwrap_or(d.max_pickle_bytes),
        max_member_bytes: a.max_member_bytes.unwrap_or(d.max_member_bytes),
        max_total_decompressed: a.max_total_decompressed.unwrap_or(d.max_total_decompressed),
        max_ratio: a.max_ratio.unwrap_or(d.max_ratio),
        max_entries: a.max_entries.unwrap_or(d.max_entries),
        max_depth: a.max_depth.unwrap_or(d.max_depth),
        max_pickle_ops: a.max_pickle_ops.unwrap_or(d.max_pickle_ops),
        max_metadata_bytes: a.max_metadata_bytes.unwrap_or(d.max_metadata_bytes),
        time_per_file: a
            .timeout
            .map(Duration::from_secs)
            .unwrap_or(d.time_per_file),
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, files: u64, bytes: u64) {
        self.0.set_length(bytes);
        self.0.set_message(format!("{files} files"));
    }
    fn file_done(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

pub(crate) fn emit(path: Option<&std::path::Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

fn scan(args: ScanArgs) -> Result<u8> {
    if args.list_rules {
        let mut s = String::new();
        for r in rampart_scan::rules::ALL {
            s.push_str(&format!(
                "{}  {:<30} {:<8} {}\n",
                r.id, r.name, r.severity, r.summary
            ));
        }
        emit(args.output.as_deref(), &s)?;
        return Ok(0);
    }
    let mut policy = Policy::builtin();
    for a in &args.allowlist {
        policy
            .add_allowlist_file(a)
            .with_context(|| format!("cannot use allowlist {}", a.display()))?;
    }
    let mut opts = ScanOptions {
        limits: limits(&args.limits),
        policy: Arc::new(policy),
        progress: None,
        include_git: args.include_git,
        describe: false,
    };
    if args.explain {
        let mut out = String::new();
        for p in &args.paths {
            out.push_str(&rampart_scan::explain_file(p, &opts)?);
        }
        emit(args.output.as_deref(), &out)?;
        return Ok(0);
    }
    let stderr_tty = std::io::stderr().is_terminal();
    let bar = if stderr_tty && !args.no_progress {
        let pb = ProgressBar::new(0);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} scanning {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.enable_steady_tick(Duration::from_millis(120));
        let pb2 = pb.clone();
        opts.progress = Some(Arc::new(Bar(pb)));
        Some(pb2)
    } else {
        None
    };
    let mut report = rampart_scan::scan_paths(&args.paths, &opts);
    crate::signing::signature_status(
        &mut report,
        &args.paths,
        args.trust.public_key.as_deref(),
        &args.trust.certificate_chain,
    )?;
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    let text = match args.format {
        OutputFormat::Json => render::json(&report) + "\n",
        OutputFormat::Sarif => render::sarif(&report, rampart_scan::rules::ALL) + "\n",
        OutputFormat::Human => {
            let color = match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    args.output.is_none()
                        && std::io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            render::human(
                &report,
                render::HumanOptions {
                    color,
                    min_severity: Some(args.min_severity),
                },
            )
        }
    };
    emit(args.output.as_deref(), &text)?;
    if !report.errors.is_empty() {
        return Ok(2);
    }
    Ok(if report.fails(args.fail_on) { 1 } else { 0 })
}
