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
    /// Analyse captures: calls, registrations, streams, findings.
    Analyze {
        #[arg(required = true)]
        captures: Vec<String>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
        format: SummaryFormat,
    },
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = Config {
        threads: cli.threads,
        ..Config::default()
    };
    match cli.command {
        Command::Summary { captures, format } => {
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
        Command::Analyze { captures, format } => {
            let a = voipdx::analyze(&captures, &cfg);
            match format {
                SummaryFormat::Table => {
                    print!("{}", report::tables::calls(&a));
                    print!("{}", report::tables::streams(&a));
                }
                SummaryFormat::Json => match serde_json::to_string_pretty(&a) {
                    Ok(s) => println!("{s}"),
                    Err(e) => eprintln!("voipdx: cannot write JSON: {e}"),
                },
            }
            ExitCode::from(exit_code(&a.captures))
        }
        Command::Calls { captures } => {
            let a = voipdx::analyze(&captures, &cfg);
            print!("{}", report::tables::calls(&a));
            ExitCode::from(exit_code(&a.captures))
        }
        Command::Streams { captures } => {
            let a = voipdx::analyze(&captures, &cfg);
            print!("{}", report::tables::streams(&a));
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
