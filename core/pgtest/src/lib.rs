//! A real PostgreSQL server for tests, started once per test binary.
//!
//! The store's tests and the CLI's run every backend against a real server,
//! never a mock: the first call to [`cluster`] runs `initdb` in a temporary
//! directory and starts `postgres` on a free port of 127.0.0.1; each test
//! then takes a database of its own with [`Cluster::database`]. PostgreSQL
//! refuses to run as root, so when the tests run as root (CI does) the
//! server runs as the `postgres` user that Debian's package creates.
//!
//! A static is never dropped, so the server is watched by a small shell that
//! holds a pipe from the test process: when the process ends, however it
//! ends, the pipe closes and the shell stops the server and removes its
//! directory.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long the server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(60);

/// The user the server runs as when the tests run as root.
const SERVER_USER: &str = "postgres";

/// The superuser `initdb` creates, who owns every test database.
pub const USER: &str = "tally";

/// A running throwaway server.
pub struct Cluster {
    bin: PathBuf,
    port: u16,
    /// The watcher shell; its stdin is the pipe whose closing stops the server.
    _watcher: Mutex<(Child, ChildStdin)>,
    /// Databases handed out so far, for unique names.
    next: AtomicUsize,
}

/// The server of this test process, started on first use. Panics with what
/// to install when PostgreSQL is missing: a test that needs it must not pass
/// without it.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| match Cluster::start() {
        Ok(c) => c,
        Err(e) => panic!("cannot start a test PostgreSQL server: {e}"),
    })
}

impl Cluster {
    fn start() -> Result<Cluster, String> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("tally-pg-")
            .tempdir()
            .map_err(|e| format!("creating a temporary directory: {e}"))?
            .keep();
        let data = dir.join("data");
        let as_root = is_root();
        if as_root {
            let status = Command::new("chown")
                .args(["-R", &format!("{SERVER_USER}:"), &path_str(&dir)?])
                .status()
                .map_err(|e| format!("running chown: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "chown {} to `{SERVER_USER}` failed; install Debian's `postgresql` package, which creates that user",
                    dir.display()
                ));
            }
        }
        let initdb = server_command(as_root, &bin.join("initdb"))
            .args([
                "-D",
                &path_str(&data)?,
                "-U",
                USER,
                "-A",
                "trust",
                "--no-sync",
            ])
            .args(["-E", "UTF8", "--locale", "C"])
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        let port = free_port()?;
        let log = dir.join("server.log");
        let server = server_command(as_root, &bin.join("postgres"));
        let server_line = shell_words(&server)?;
        // The shell starts the server, waits for its stdin to close (the
        // test process ended), then stops the server and removes the files.
        let script = format!(
            "{server_line} -D {data} -p {port} -c listen_addresses=127.0.0.1 \
             -c unix_socket_directories= -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200 >{log} 2>&1 &
             pid=$!
             cat >/dev/null
             kill -INT $pid
             wait $pid
             rm -rf {dir}",
            data = quote(&path_str(&data)?),
            log = quote(&path_str(&log)?),
            dir = quote(&path_str(&dir)?),
        );
        let mut watcher = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let stdin = watcher
            .stdin
            .take()
            .ok_or_else(|| "the watcher has no stdin".to_string())?;
        let cluster = Cluster {
            bin,
            port,
            _watcher: Mutex::new((watcher, stdin)),
            next: AtomicUsize::new(0),
        };
        cluster.wait_ready(&log)?;
        Ok(cluster)
    }

    /// Polls until a client can connect, or gives up with the server's log.
    fn wait_ready(&self, log: &Path) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let ok = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                return Err(format!("the server did not start in {STARTUP:?}:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new empty database and returns its url.
    pub fn database(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}_{n}", std::process::id());
        self.sql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// The url of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `sql` in database `db` with `psql`, panicking with its error: for
    /// tests that reach under the store (a trigger that fails a write).
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let mut child = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running psql: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .unwrap_or_else(|e| panic!("writing to psql: {e}"));
        }
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("running psql: {e}"));
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// The database name of a url [`Cluster::database`] returned.
pub fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// The newest installed server's binaries (`TALLY_PG_BIN` overrides).
fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("TALLY_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| {
            format!("{}: {e}; install Debian's `postgresql` package (`apt-get install postgresql`) or set TALLY_PG_BIN", root.display())
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "no server under {}; install Debian's `postgresql` package",
            root.display()
        )
    })
}

/// A command running `program` as the server's user when we are root.
fn server_command(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={SERVER_USER}"),
            &format!("--regid={SERVER_USER}"),
            "--init-groups",
        ]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// The program and arguments of `c`, quoted for `sh`.
fn shell_words(c: &Command) -> Result<String, String> {
    let mut words = vec![quote(
        c.get_program()
            .to_str()
            .ok_or_else(|| "a non-UTF-8 program path".to_string())?,
    )];
    for a in c.get_args() {
        words.push(quote(
            a.to_str()
                .ok_or_else(|| "a non-UTF-8 argument".to_string())?,
        ));
    }
    Ok(words.join(" "))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn path_str(p: &Path) -> Result<String, String> {
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A port nobody listens on now (the kernel's choice for port 0).
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}
