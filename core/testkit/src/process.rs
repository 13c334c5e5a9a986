//! What a running process holds, read from Linux's `/proc`: resident memory,
//! open file descriptors and threads.
//!
//! Why here: a daemon that pulls for months must not grow any of them, and both
//! the soak scenario of `tally-bench` and the bounded soak test in CI read the
//! same three figures the same way.

use std::io;

/// One reading of a process's holdings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    /// Resident set now (`VmRSS`), in KiB.
    pub rss_kib: u64,
    /// Highest resident set so far (`VmHWM`), in KiB.
    pub peak_rss_kib: u64,
    /// Open file descriptors (entries of `/proc/PID/fd`): sockets, the store, pipes.
    pub fds: usize,
    /// Threads (`Threads` in `/proc/PID/status`).
    pub threads: usize,
}

/// Reads the holdings of process `pid`; fails when it is gone or `/proc` is not Linux's.
pub fn holdings(pid: u32) -> io::Result<Holdings> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> io::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("no {name} in /proc/{pid}/status"),
                )
            })
    };
    Ok(Holdings {
        rss_kib: field("VmRSS")?,
        peak_rss_kib: field("VmHWM")?,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))?.count(),
        threads: field("Threads")? as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        // Other tests run beside this one, so only lower bounds hold.
        let file = std::fs::File::open("/proc/self/status").expect("open");
        let now = holdings(std::process::id()).expect("this process's holdings");
        assert!(
            now.fds >= 4,
            "stdin, stdout, stderr and the open file: {now:?}"
        );
        assert!(
            now.rss_kib > 0 && now.peak_rss_kib >= now.rss_kib,
            "{now:?}"
        );
        assert!(now.threads >= 1, "{now:?}");
        assert!(holdings(u32::MAX).is_err(), "no such process");
        drop(file);
    }
}
