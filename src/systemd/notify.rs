//! Reporting to systemd through sd_notify: READY, STATUS, EXTEND_TIMEOUT_USEC, WATCHDOG,
//! STOPPING. Only the main PID notifies: the socket is taken from the environment at start so
//! that no child ever inherits it.

use std::ffi::OsString;
use std::time::Duration;

use sd_notify::NotifyState;

/// The link to systemd (a no-op when not started by systemd with Type=notify).
#[derive(Debug)]
pub struct Notifier {
    socket: Option<OsString>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads NOTIFY_SOCKET and WATCHDOG_USEC, then removes them from our environment.
    ///
    /// Call it at start, before any other thread exists.
    pub fn from_env() -> Self {
        let socket = std::env::var_os("NOTIFY_SOCKET");
        // SAFETY: called once at start, before any other thread exists (documented above).
        // Children (yum, canopsinit...) must never notify in our name.
        let watchdog = unsafe { sd_notify::watchdog_enabled_and_unset_env() };
        unsafe { std::env::remove_var("NOTIFY_SOCKET") };
        Self { socket, watchdog }
    }

    /// A notifier that says nothing (commands run from a terminal, tests).
    pub fn disabled() -> Self {
        Self {
            socket: None,
            watchdog: None,
        }
    }

    fn send(&self, states: &[NotifyState]) {
        let Some(socket) = &self.socket else {
            return;
        };
        let message = datagram(states);
        if let Err(e) = send_datagram(socket, message.as_bytes()) {
            tracing::warn!("sd_notify failed: {e}");
        }
    }

    /// Preflight passed.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// What is going on, for `systemctl status`.
    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// Asks systemd for more time (a long step, or finishing one while stopping); at most
    /// about 71 minutes per call (the protocol field is 32 bits of microseconds here).
    pub fn extend_timeout(&self, by: Duration) {
        self.send(&[NotifyState::ExtendTimeoutUsec(
            by.as_micros().min(u32::MAX as u128) as u32,
        )]);
    }

    /// We are stopping.
    pub fn stopping(&self, status: &str) {
        self.send(&[NotifyState::Stopping, NotifyState::Status(status)]);
    }

    /// Pings the watchdog.
    pub fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    /// The watchdog interval systemd asked for (ping at half of it).
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }
}

/// The notification, one `KEY=value` line per state; a STATUS text (which may quote a script,
/// a path or a command's output) has its control characters escaped, so that it can never add
/// lines such as `MAINPID=`, `STOPPING=1` or `WATCHDOG=trigger` to the datagram.
fn datagram(states: &[NotifyState]) -> String {
    states
        .iter()
        .map(|state| match state {
            NotifyState::Status(text) => {
                format!("STATUS={}\n", crate::support::text::escape_controls(text))
            }
            state => format!("{state}\n"),
        })
        .collect()
}

/// Sends one datagram to the notify socket (a path, or `@name` in the abstract namespace).
fn send_datagram(socket: &OsString, message: &[u8]) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let bytes = socket.as_bytes();
    let address = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(std::path::Path::new(socket))?,
    };
    let sent = UnixDatagram::unbound()?.send_to_addr(message, &address)?;
    if sent != message.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            "incomplete notification",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_every_state_in_one_datagram() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier {
            socket: Some(path.into_os_string()),
            watchdog: None,
        };
        notifier.ready("3/17 4.5.0 after_update");
        let mut buf = [0u8; 256];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=3/17 4.5.0 after_update\n");
        notifier.extend_timeout(Duration::from_secs(90));
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"EXTEND_TIMEOUT_USEC=90000000\n");
    }
}
