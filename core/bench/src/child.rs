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

/// Runs `program <args>` to completion and measures wall time, CPU and peak
/// RSS of that program alone.
///
/// On Linux a child's `ru_maxrss` starts from the RSS of the process that
/// exec'ed it, and a child of the harness begins as a copy of the harness
/// (its sandbox, its feed): measured directly, a small program reads as big as
/// the harness was when it started. So the program is started by a fresh,
/// small `tally-bench measure` process, whose own figures are discarded and
/// which reports the program's.
pub async fn run_child(program: &Path, args: &[&str]) -> anyhow::Result<Measured> {
    let me = std::env::current_exe()?;
    let mut through: Vec<String> = vec!["measure".into(), "--".into()];
    through.push(program.display().to_string());
    through.extend(args.iter().map(|s| s.to_string()));
    // The measuring process blocks, so keep it off the runtime threads serving the sandbox.
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(&me)
            .args(&through)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "`tally-bench measure` could not run {}",
            through[2]
        );
        Measured::from_report(&String::from_utf8_lossy(&output.stdout))
    })
    .await?
}

/// Arguments of `tally-bench measure`.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    /// The program to run, then its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// `tally-bench measure PROGRAM ARGS…`: runs the program (its stdout
/// discarded) and prints what it cost as one line for [`run_child`].
pub fn measure_and_report(args: &MeasureArgs) -> anyhow::Result<()> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("measure: no program given"))?;
    let started = Instant::now();
    let child = std::process::Command::new(program)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let m = wait_measured(&child, started)?;
    println!(
        "{} {} {} {}",
        m.wall.as_nanos(),
        m.cpu.as_nanos(),
        m.peak_rss_kib,
        m.success
    );
    Ok(())
}

impl Measured {
    /// Reads the line [`measure_and_report`] prints.
    fn from_report(line: &str) -> anyhow::Result<Measured> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [wall, cpu, rss, success] = fields.as_slice() else {
            anyhow::bail!("`tally-bench measure` printed {line:?}, not four figures");
        };
        Ok(Measured {
            wall: Duration::from_nanos(wall.parse()?),
            cpu: Duration::from_nanos(cpu.parse()?),
            peak_rss_kib: rss.parse()?,
            success: success.parse()?,
        })
    }
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
