//! Command line: raw args -> validated config -> run one command -> exit code.
//!
//! Exit codes: 0 done; 1 a finding at or above `--fail-on`; 2 an input is unusable (not a capture,
//! unreadable, empty); 3 an input is damaged (read up to the damage, partial result printed).

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use voipdx::model::CaptureSummary;
use voipdx::pipeline::{self, Config, NoStage};
use voipdx::report;

#[derive(Parser)]
#[command(
    name = "voipdx",
    version,
    about = "Offline VoIP capture analyzer: what went wrong with each call, with the evidence"
)]
struct Cli {
    /// Decoding threads (0 = one per core). Output is identical whatever this says.
    #[arg(long, global = true, default_value_t = 0)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SummaryFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ReportFormat {
    Table,
    Json,
    Markdown,
    Html,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum FailOn {
    Warning,
    Error,
}

#[derive(Subcommand)]
enum Command {
    /// Per capture: format, link types, packets, time span, protocol counts, decoding problems.
    Summary {
        /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads stdin.
        #[arg(required = true)]
        captures: Vec<String>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
        format: SummaryFormat,
    },
    /// Analyse captures: findings (what went wrong, the evidence, what to do), calls, streams.
    Analyze {
        /// Capture files or directories (every .pcap/.pcapng/.gz inside, merged in time order).
        #[arg(required = true)]
        captures: Vec<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Write the report to this file instead of stdout.
        #[arg(short, long)]
        output: Option<String>,
        /// Site profile (TOML): PBX and trunk addresses, DID pools, thresholds. See docs/site.example.toml.
        #[arg(long)]
        site: Option<String>,
        /// Exit with code 1 when a finding of this severity or worse is present.
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// Replace numbers, addresses and authentication data with stable pseudonyms.
        #[arg(long)]
        redact: bool,
    },
    /// Print the SIP ladder of one call (Call-ID, or its number in `voipdx calls`).
    Flow {
        capture: Vec<String>,
        #[arg(long)]
        call: String,
    },
    /// List the diagnosis rules.
    Rules,
    /// Explain a SIP status code (e.g. 403) or a rule, from the knowledge base.
    Explain { topic: String },
    /// Table of calls.
    Calls {
        #[arg(required = true)]
        captures: Vec<String>,
    },
    /// Table of RTP streams (the columns of `tshark -z rtp,streams`, plus MOS and call).
    Streams {
        #[arg(required = true)]
        captures: Vec<String>,
    },
    /// Regenerate the scenario captures under DIR (the repository's fixtures/ are made this way).
    MakeFixtures {
        #[arg(default_value = "fixtures")]
        dir: String,
    },
}

fn exit_code(summaries: &[CaptureSummary]) -> u8 {
    let mut code = 0;
    for s in summaries {
        if let Some(e) = &s.error {
            eprintln!("voipdx: {}: {e}", s.path);
            code = code.max(if s.packets == 0 { 2 } else { 3 });
        }
    }
    code
}

/// Header facts of a report: generation time, profile, and the sha256 of every capture file.
fn report_options(
    a: &voipdx::model::Analysis,
    site: Option<&str>,
    redacted: bool,
) -> report::ReportOptions {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let capture_hashes = a
        .captures
        .iter()
        .filter(|c| c.path != "-")
        .filter_map(|c| {
            let hash = report::sha256_file(std::path::Path::new(&c.path)).ok()?;
            // A redacted report keeps only file names; match them.
            let name = if redacted {
                std::path::Path::new(&c.path)
                    .file_name()
                    .map_or_else(|| c.path.clone(), |n| n.to_string_lossy().into_owned())
            } else {
                c.path.clone()
            };
            Some((name, hash))
        })
        .collect();
    report::ReportOptions {
        generated_at: voipdx::timefmt::rfc3339(now),
        site_profile: site.map(|s| {
            std::path::Path::new(s)
                .file_name()
                .map_or_else(|| s.to_string(), |n| n.to_string_lossy().into_owned())
        }),
        capture_hashes,
        ..report::ReportOptions::default()
    }
}

/// The capture files named on the command line, directories expanded; prints why not and gives `None`
/// when a directory cannot be listed or holds no capture.
fn inputs(args: &[String]) -> Option<Vec<String>> {
    voipdx::expand_inputs(args)
        .map_err(|e| eprintln!("voipdx: {e}"))
        .ok()
}

fn write_json(path: Option<&str>, a: &voipdx::model::Analysis) -> Result<(), String> {
    use std::io::Write;
    let sink: Box<dyn Write> = match path {
        None | Some("-") => Box::new(std::io::stdout().lock()),
        Some(p) => {
            Box::new(std::fs::File::create(p).map_err(|e| format!("{p}: cannot write: {e}"))?)
        }
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 20, sink);
    serde_json::to_writer_pretty(&mut w, a).map_err(|e| format!("cannot write JSON: {e}"))?;
    w.write_all(b"\n")
        .and_then(|()| w.flush())
        .map_err(|e| format!("cannot write JSON: {e}"))
}

fn write_output(path: Option<&str>, text: &str) -> Result<(), String> {
    match path {
        None | Some("-") => {
            use std::io::Write;
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| format!("cannot write to stdout: {e}"))
        }
        Some(p) => std::fs::write(p, text).map_err(|e| format!("{p}: cannot write: {e}")),
    }
}

fn main() -> ExitCode {
    voipdx::memory::use_one_arena();
    let cli = Cli::parse();
    let cfg = Config {
        threads: cli.threads,
        progress: true,
        ..Config::default()
    };
    match cli.command {
        Command::Summary { captures, format } => {
            let Some(captures) = inputs(&captures) else {
                return ExitCode::from(2);
            };
            let summaries = pipeline::run(&captures, &cfg, &mut NoStage);
            match format {
                SummaryFormat::Table => print!("{}", report::summary::table(&summaries)),
                SummaryFormat::Json => match serde_json::to_string_pretty(&summaries) {
                    Ok(s) => println!("{s}"),
                    Err(e) => eprintln!("voipdx: cannot write JSON: {e}"),
                },
            }
            ExitCode::from(exit_code(&summaries))
        }
        Command::Analyze {
            captures,
            format,
            output,
            site,
            fail_on,
            redact,
        } => {
            let site_path = site.clone();
            let site = match site.as_deref().map(voipdx::site::load).transpose() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("voipdx: {e}");
                    return ExitCode::from(2);
                }
            };
            let Some(inputs) = inputs(&captures) else {
                return ExitCode::from(2);
            };
            let mut a = voipdx::analyze(&inputs, &cfg);
            let thresholds = site
                .as_ref()
                .map(|s| s.thresholds.clone())
                .unwrap_or_default();
            a.findings = voipdx::rules::diagnose(&mut a, site.as_ref(), &thresholds);
            if redact {
                a = report::redact(&a);
            }
            let text = match format {
                ReportFormat::Table => {
                    let v = report::view(&a);
                    let mut t = report::tables::findings(&v);
                    t.push('\n');
                    t.push_str(&report::tables::calls(&v));
                    t.push_str(&report::tables::streams(&v));
                    t
                }
                ReportFormat::Json => {
                    // Streamed to the output: a large capture's model is not copied into one string.
                    if let Err(e) = write_json(output.as_deref(), &a) {
                        eprintln!("voipdx: {e}");
                        return ExitCode::from(2);
                    }
                    String::new()
                }
                ReportFormat::Markdown | ReportFormat::Html => {
                    let v = report::view(&a);
                    let opts = report_options(&v, site_path.as_deref(), redact);
                    if format == ReportFormat::Html {
                        report::html(&v, &opts)
                    } else {
                        report::markdown(&v, &opts)
                    }
                }
            };
            if format != ReportFormat::Json
                && let Err(e) = write_output(output.as_deref(), &text)
            {
                eprintln!("voipdx: {e}");
                return ExitCode::from(2);
            }
            let mut code = exit_code(&a.captures);
            if let Some(level) = fail_on {
                let hit = a.findings.iter().any(|f| match level {
                    FailOn::Error => f.severity == voipdx::model::Severity::Error,
                    FailOn::Warning => f.severity != voipdx::model::Severity::Info,
                });
                if hit && code == 0 {
                    code = 1;
                }
            }
            ExitCode::from(code)
        }
        Command::Flow { capture, call } => {
            let Some(capture) = inputs(&capture) else {
                return ExitCode::from(2);
            };
            let a = voipdx::analyze(&capture, &cfg);
            let mut ladder = None;
            let mut i = 0;
            let read = a.for_each_segment(|calls, _| {
                for c in calls {
                    i += 1;
                    if ladder.is_none()
                        && (c.call_id == call || call.parse::<usize>().is_ok_and(|n| n == i))
                    {
                        ladder = Some(report::text_ladder(c, 100));
                    }
                }
            });
            if let Err(e) = read {
                eprintln!("voipdx: {e}");
            }
            match ladder {
                Some(text) => {
                    print!("{text}");
                    ExitCode::from(exit_code(&a.captures))
                }
                None => {
                    eprintln!(
                        "voipdx: no call {call:?} in the capture ({} calls; see `voipdx calls`)",
                        a.total_calls()
                    );
                    ExitCode::from(2)
                }
            }
        }
        Command::Rules => {
            for r in voipdx::rules::all() {
                println!("{:<26} {}", r.id, r.summary);
            }
            ExitCode::SUCCESS
        }
        Command::Explain { topic } => match voipdx::rules::kb::explain(&topic) {
            Some(text) => {
                print!("{text}");
                if !text.ends_with('\n') {
                    println!();
                }
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "voipdx: nothing documented for {topic:?}; try a status code (403, 5xx) or a rule from `voipdx rules`"
                );
                ExitCode::from(2)
            }
        },
        Command::Calls { captures } => {
            let Some(captures) = inputs(&captures) else {
                return ExitCode::from(2);
            };
            let a = voipdx::analyze(&captures, &cfg);
            print!("{}", report::tables::calls(&report::view(&a)));
            ExitCode::from(exit_code(&a.captures))
        }
        Command::Streams { captures } => {
            let Some(captures) = inputs(&captures) else {
                return ExitCode::from(2);
            };
            let a = voipdx::analyze(&captures, &cfg);
            print!("{}", report::tables::streams(&report::view(&a)));
            ExitCode::from(exit_code(&a.captures))
        }
        Command::MakeFixtures { dir } => {
            match voipdx::scenario::write_all(std::path::Path::new(&dir)) {
                Ok(names) => {
                    for n in names {
                        println!("{dir}/{n}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("voipdx: cannot write fixtures to {dir}: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
