//! The store a scenario's `tally` processes write to: a SQLite file in the
//! scenario's directory, or a database on a throwaway PostgreSQL server
//! (tally-pgtest's, on 127.0.0.1, gone when the harness exits), whose size
//! and server CPU time the scenario reports.

use std::path::Path;
use std::time::Duration;
use tally_pgtest::Cluster;

/// A fresh database on the harness's PostgreSQL server.
pub struct Database {
    cluster: &'static Cluster,
    url: String,
}

/// How much a database holds on disk.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// `pg_database_size`: the catalogue of an empty database included.
    pub database: u64,
    /// Tally's own tables with their indexes and TOAST.
    pub tables: u64,
}

impl Database {
    /// Starts the server on first use and creates an empty database. Blocking.
    pub fn create() -> Database {
        let cluster = tally_pgtest::cluster();
        let url = cluster.database();
        Database { cluster, url }
    }

    /// The url for `[storage] url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` in this database with `psql` and returns its unaligned output.
    pub fn sql(&self, sql: &str) -> String {
        self.cluster.sql(tally_pgtest::db_name(&self.url), sql)
    }

    /// The database's size now.
    pub fn size(&self) -> anyhow::Result<Size> {
        let out = self.sql(
            "SELECT pg_database_size(current_database()),
                    COALESCE(SUM(pg_total_relation_size(oid)), 0)
             FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
        );
        let (database, tables) = out
            .split_once('|')
            .ok_or_else(|| anyhow::anyhow!("psql printed {out:?} for the database size"))?;
        Ok(Size {
            database: database.parse()?,
            tables: tables.parse()?,
        })
    }

    /// CPU time (user + system) the server has used so far: the postmaster,
    /// its live backends, and the backends that have exited and been reaped
    /// (their time is in the postmaster's `cutime`/`cstime`). Read the
    /// difference across a run.
    pub fn server_cpu(&self) -> anyhow::Result<Duration> {
        let port = self.cluster.port().to_string();
        let mut postmaster = None;
        let mut stats = Vec::new();
        for entry in std::fs::read_dir("/proc")? {
            let entry = entry?;
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            // A process may exit between the listing and the reads.
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some(stat) = ProcStat::parse(&stat) else {
                continue;
            };
            if stat.comm == "postgres" && is_postmaster_of(&entry.path(), &port) {
                postmaster = Some((pid, stat.clone()));
            }
            stats.push((pid, stat));
        }
        let (pid, main) = postmaster.ok_or_else(|| {
            anyhow::anyhow!("no postgres process listening on port {port} in /proc")
        })?;
        let ticks: u64 = main.own
            + main.children
            + stats
                .iter()
                .filter(|(_, s)| s.ppid == pid)
                .map(|(_, s)| s.own)
                .sum::<u64>();
        // SAFETY: sysconf only reads a configuration value.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let per_second = u64::try_from(per_second)
            .ok()
            .filter(|&t| t > 0)
            .unwrap_or(100);
        Ok(Duration::from_secs_f64(ticks as f64 / per_second as f64))
    }
}

/// Whether `/proc/PID` is a postmaster started with `-p PORT`.
fn is_postmaster_of(proc_dir: &Path, port: &str) -> bool {
    let Ok(cmdline) = std::fs::read(proc_dir.join("cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == b"-p" && w[1] == port.as_bytes())
}

/// The fields of `/proc/PID/stat` the server's CPU time is summed from.
#[derive(Debug, Clone)]
struct ProcStat {
    comm: String,
    ppid: u32,
    /// utime + stime, in clock ticks.
    own: u64,
    /// cutime + cstime: reaped children, in clock ticks.
    children: u64,
}

impl ProcStat {
    /// Parses `pid (comm) state ppid …`; comm may hold spaces and parentheses,
    /// so the fields are counted from the last `)`.
    fn parse(stat: &str) -> Option<ProcStat> {
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let comm = stat.get(open + 1..close)?.to_string();
        let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
        // Field 3 (state) is fields[0]: ppid is field 4, utime..cstime 14..17.
        let num = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
        Some(ProcStat {
            comm,
            ppid: u32::try_from(num(4)?).ok()?,
            own: num(14)? + num(15)?,
            children: num(16)? + num(17)?,
        })
    }
}

/// The `[storage]` table of a scenario's config: the database's url, or
/// `tally.db` beside the config.
pub fn storage_toml(database: Option<&Database>) -> String {
    match database {
        Some(db) => format!("[storage]\nurl = \"{}\"\n\n", db.url()),
        None => "[storage]\npath = \"tally.db\"\n\n".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Database, ProcStat};

    #[test]
    fn the_server_cpu_and_tables_grow_with_work_on_the_database() {
        let db = Database::create();
        let (cpu, size) = (db.server_cpu().unwrap(), db.size().unwrap());
        db.sql(
            "CREATE TABLE filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 200000) g;
             SELECT count(DISTINCT h) FROM filler",
        );
        let (cpu_after, size_after) = (db.server_cpu().unwrap(), db.size().unwrap());
        assert!(cpu_after > cpu, "{cpu:?} then {cpu_after:?}");
        assert!(
            size_after.tables > size.tables + 1_000_000,
            "{size:?} then {size_after:?}"
        );
        assert!(size_after.database >= size_after.tables);
    }

    #[test]
    fn reads_cpu_fields_after_a_comm_with_spaces_and_parentheses() {
        let line = "4242 (postgres: a (b)) S 17 4242 4242 0 -1 4194304 100 0 0 0 \
                    250 50 30 20 20 0 1 0 100 1000 200";
        let stat = ProcStat::parse(line).expect("a valid stat line");
        assert_eq!(stat.comm, "postgres: a (b)");
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.own, 300);
        assert_eq!(stat.children, 50);
    }
}
