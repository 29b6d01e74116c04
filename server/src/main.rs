//! The `biscotte` binary: assembles the pieces, nothing more.

fn main() -> std::process::ExitCode {
    biscotte_server::cli::main()
}
