//! Writing the monitor's output: a terminal block redrawn over the last one, or lines.

use std::io::Write;

use anyhow::{Context, Result};
use jiff::Zoned;

use super::render::{
    redraw, render_event_json, render_event_plain, render_json, render_plain, render_terminal,
};
use super::view::{event_text, MonitorEvent, View};
use super::MonitorFormat;
use crate::rabbitmq::BrokerEvent;

/// The terminal's width: of stdout, else $COLUMNS, else 80.
fn terminal_width() -> usize {
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which is valid for the call.
    let ok = unsafe {
        nix::libc::ioctl(
            nix::libc::STDOUT_FILENO,
            nix::libc::TIOCGWINSZ,
            &mut size as *mut nix::libc::winsize,
        )
    } == 0;
    if ok && size.ws_col > 0 {
        return usize::from(size.ws_col);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|c| *c > 0)
        .unwrap_or(80)
}

/// Where the monitor writes, in its format.
pub(super) struct Output<'a, W: Write> {
    out: &'a mut W,
    format: MonitorFormat,
    /// Lines of the terminal block drawn last.
    drawn: usize,
}

impl<'a, W: Write> Output<'a, W> {
    /// Writes to `out` in `format`.
    pub(super) fn new(out: &'a mut W, format: MonitorFormat) -> Self {
        Self {
            out,
            format,
            drawn: 0,
        }
    }

    fn write(&mut self, text: &str) -> Result<()> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .context("writing the monitor's output")
    }

    /// The width of the terminal to draw on (0 for lines).
    pub(super) fn width(&self) -> usize {
        match self.format {
            MonitorFormat::Terminal => terminal_width(),
            _ => 0,
        }
    }

    /// One poll.
    pub(super) fn view(&mut self, view: &View) -> Result<()> {
        match self.format {
            MonitorFormat::Terminal => {
                let block = render_terminal(view);
                let text = redraw(self.drawn, &block);
                self.drawn = block.lines().count();
                self.write(&text)
            }
            MonitorFormat::Plain => self.write(&format!("{}\n", render_plain(view))),
            MonitorFormat::Json => self.write(&format!("{}\n", render_json(view))),
        }
    }

    /// An event: a line (plain, JSON); on a terminal, the last view redrawn with the broker's
    /// state (other events show in the block itself).
    pub(super) fn event(&mut self, event: &MonitorEvent, last: Option<&View>) -> Result<()> {
        let at = Zoned::now();
        match self.format {
            MonitorFormat::Terminal => match (event, last) {
                (
                    MonitorEvent::Broker(BrokerEvent::Unreachable { .. })
                    | MonitorEvent::Lost { .. },
                    Some(view),
                ) => {
                    let mut view = view.clone();
                    view.broker = Some(event_text(event));
                    view.width = self.width();
                    self.view(&view)
                }
                _ => Ok(()),
            },
            MonitorFormat::Plain => self.write(&format!("{}\n", render_event_plain(&at, event))),
            MonitorFormat::Json => self.write(&format!("{}\n", render_event_json(&at, event))),
        }
    }
}
