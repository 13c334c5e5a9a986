//! A `tally run` child process the harness starts, scrapes and stops: the
//! daemon and soak scenarios drive one or several of them the same way.

use crate::child::{wait_measured, Measured};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `tally run`, serving `/metrics` on a port of its own.
pub struct Running {
    child: Child,
    addr: SocketAddr,
    started: Instant,
    /// Set once [`Running::stop`] has reaped the child, whose pid may then be reused.
    reaped: bool,
}

impl Running {
    /// Starts `tally --config CONFIG run --listen 127.0.0.1:0 EXTRA…` and
    /// waits for the address it prints. Blocking: call it off the runtime
    /// serving the sandbox.
    pub fn start(tally: &Path, config: &str, extra: &[&str]) -> anyhow::Result<Running> {
        let started = Instant::now();
        let mut child = Command::new(tally)
            .args(["--config", config, "run", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TALLY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        // Keep reading, so the daemon's last lines find an open pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("tally run printed no address: {line:?}"))?;
        Ok(Running {
            child,
            addr,
            started,
            reaped: false,
        })
    }

    /// The process id, for `/proc` readings.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's `/metrics` text now.
    pub fn scrape(&self) -> anyhow::Result<String> {
        scrape(self.addr)
    }

    /// Sends SIGTERM and waits for a graceful exit: wall and CPU time from
    /// `wait4`, and the peak RSS from `/proc` just before the signal, since
    /// `wait4`'s `ru_maxrss` keeps the parent's RSS from before exec on Linux.
    pub fn stop(mut self) -> anyhow::Result<Measured> {
        let peak_kib = tally_testkit::process::holdings(self.child.id())?.peak_rss_kib;
        let pid = libc::pid_t::try_from(self.child.id())?;
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let measured = wait_measured(&self.child, self.started);
        self.reaped = measured.is_ok();
        Ok(Measured {
            peak_rss_kib: peak_kib,
            ..measured?
        })
    }
}

impl Drop for Running {
    /// A scenario that fails half-way (another worker did not start) must
    /// not leave this daemon pulling in the background.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// GETs `/metrics`.
fn scrape(addr: SocketAddr) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default())
}

/// The sum of every sample of the metric `name`.
pub fn sum_of(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Pulls whose outcome was not `ok`.
pub fn failed_pulls(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("tally_pulls_total{") && !l.contains("status=\"ok\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A quantile of the daemon's drift summary.
pub fn drift_quantile(metrics: &str, q: &str) -> Option<f64> {
    let prefix = format!("tally_schedule_drift_seconds{{quantile=\"{q}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
}
