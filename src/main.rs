//! canopsis-upgrade: upgrades Canopsis inside maintenance windows, safely.

fn main() -> std::process::ExitCode {
    canopsis_upgrade::cli::main()
}
