//! Running a `tally` command as a child process and measuring it.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What one child run cost.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// User + system CPU time of the child.
    pub cpu: Duration,
    /// Peak resident set size of the child, in KiB.
    pub peak_rss_kib: u64,
    /// Whether it exited 0.
    pub success: bool,
}

/// Runs `program <args>` to completion and measures wall time, CPU and peak RSS
/// (from `wait4`, so only this child is counted).
pub async fn run_child(program: &Path, args: &[&str]) -> anyhow::Result<Measured> {
    let tally = program.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    // wait4 blocks, so keep it off the runtime threads serving the sandbox.
    tokio::task::spawn_blocking(move || measure(&tally, &args)).await?
}

fn measure(tally: &Path, args: &[String]) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let child = std::process::Command::new(tally)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    wait_measured(&child, started)
}

/// Waits for `child` (spawned at `started`) with `wait4` and measures it.
pub fn wait_measured(child: &std::process::Child, started: Instant) -> anyhow::Result<Measured> {
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status = 0;
    // SAFETY: `usage` is a plain C struct that wait4 fills in; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, and both pointers point to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    anyhow::ensure!(
        waited == pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let wall = started.elapsed();
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(Measured {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_rss_kib: usage.ru_maxrss as u64,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    })
}
