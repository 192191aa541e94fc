//! The `kbench` command line: parses arguments, calls the library, maps outcomes to exit codes
//! (`cli::exit`: 0 success, 1 failure, 2 bad usage or input, 3 checks failed, 130 interrupted).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    if let Err(e) = kbench::signals::install() {
        eprintln!("kbench: cannot install signal handlers: {e}");
        return ExitCode::from(cli::exit::FAILURE);
    }
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            if e.downcast_ref::<kbench::signals::Interrupted>().is_some() {
                eprintln!("kbench: interrupted; everything kbench started was stopped");
            } else {
                eprintln!("kbench: error: {e:#}");
            }
            cli::exit::code_for(&e)
        }
    }
}
