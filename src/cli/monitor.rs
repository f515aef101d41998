//! `monitor`: the live view of the queues.

use std::process::ExitCode;

use anyhow::Result;

use super::MonitorFormatArg;
use crate::config::Settings;

/// `monitor`: the live view of the queues until Ctrl-C (or the end of the drain).
pub fn monitor(
    settings: &Settings,
    format: Option<MonitorFormatArg>,
    until_normal: bool,
) -> Result<ExitCode> {
    use crate::monitor::{MonitorEnd, MonitorFormat, MonitorOptions};
    use std::io::IsTerminal;
    let format = match format {
        Some(MonitorFormatArg::Terminal) => MonitorFormat::Terminal,
        Some(MonitorFormatArg::Plain) => MonitorFormat::Plain,
        Some(MonitorFormatArg::Json) => MonitorFormat::Json,
        None if std::io::stdout().is_terminal() => MonitorFormat::Terminal,
        None => MonitorFormat::Plain,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let options = MonitorOptions {
        until_normal,
        ..Default::default()
    };
    let end = runtime.block_on(async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        crate::monitor::monitor(settings, format, options, &mut std::io::stdout(), ctrl_c).await
    })?;
    Ok(match end {
        MonitorEnd::Stuck { .. } => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}
