//! The storage the tests run on: the embedded store by default; PostgreSQL when
//! `TONGBAN_TEST_POSTGRES` names a cluster (an administrator's URL, such as
//! `postgres://postgres@127.0.0.1:5439/postgres`; `.ci/run` starts a throw-away one).
//!
//! - [`fresh_postgres`] makes a database of its own for one test (dropped with the guard it
//!   returns) and migrates it with `tongban storage migrate`, as an operator would.
//! - [`options`] is what the end-to-end tests start their loopback with: with
//!   `TONGBAN_TEST_BACKEND=postgres` each runs on a fresh database, so the same tests cover
//!   both backends (`.ci/run` runs them a second time so).
//! - [`Cluster`] is a cluster of a test's own, for tests that stop and start the database.
//!
//! Without `TONGBAN_TEST_POSTGRES`, a test that needs PostgreSQL says it was skipped, unless
//! `TONGBAN_REQUIRE_POSTGRES=1` (CI), when it fails.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use tongban::demo::LoopbackOptions;
use tongban::store::postgres::TestDatabase;

/// Migrates the database at `url` as an operator would: `tongban storage migrate`.
fn migrate(url: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["storage", "migrate", "--postgres", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tongban storage migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh, migrated database on the test cluster, and the `[storage]` table of a gateway on
/// it; `None` when there is no cluster (see the module). The database goes with the guard.
pub fn fresh_postgres(test: &str) -> Option<(TestDatabase, String)> {
    let db = TestDatabase::create(test)?;
    migrate(db.url());
    let table = storage_table(db.url());
    Some((db, table))
}

/// As [`fresh_postgres`], on the cluster the admin URL `admin` reaches.
pub fn fresh_database_on(admin: &str) -> (TestDatabase, String) {
    let db = TestDatabase::create_on(admin);
    migrate(db.url());
    let table = storage_table(db.url());
    (db, table)
}

/// The `[storage]` table of a gateway on the database `url`.
pub fn storage_table(url: &str) -> String {
    format!("\n[storage]\nbackend = \"postgres\"\nurl = \"{url}\"\n")
}

/// The loopback options of the end-to-end tests: the defaults, on the backend
/// `TONGBAN_TEST_BACKEND` names (`postgres`: a fresh database each, left to the throw-away
/// cluster, since the options outlive any guard; otherwise the embedded store).
pub fn options() -> LoopbackOptions {
    let storage = match std::env::var("TONGBAN_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let (db, table) = fresh_postgres("end-to-end")
                .expect("TONGBAN_TEST_BACKEND=postgres needs TONGBAN_TEST_POSTGRES");
            std::mem::forget(db);
            Some(table)
        }
        _ => None,
    };
    LoopbackOptions {
        storage,
        ..LoopbackOptions::default()
    }
}

/// The configuration of gateway instance `i` of several sharing one database: the
/// loopback's (`loopback_config`), on ports of its own, written beside it; with its partner
/// and operator addresses.
pub fn instance_config(loopback_config: &Path, i: usize) -> (PathBuf, SocketAddr, SocketAddr) {
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    let (listen, ops) = (port(), port());
    let text: Vec<String> = std::fs::read_to_string(loopback_config)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("listen = ") {
                format!("listen = \"{listen}\"")
            } else if l.starts_with("ops_listen = ") {
                format!("ops_listen = \"{ops}\"")
            } else {
                l.to_owned()
            }
        })
        .collect();
    let path = loopback_config.with_file_name(format!("instance-{i}.toml"));
    std::fs::write(&path, text.join("\n")).unwrap();
    (path, listen, ops)
}

/// A PostgreSQL cluster of a test's own (initdb in a temporary directory, on a free loopback
/// port), for tests that stop and start the database under the gateway. Stopped when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    /// Makes and starts a cluster; `None` (skipped, saying so) without PostgreSQL's server
    /// programs, unless `TONGBAN_REQUIRE_POSTGRES=1`. They are looked for in
    /// `TONGBAN_TEST_PG_BIN`, then under `/usr/lib/postgresql/<version>/bin`.
    pub fn start() -> Option<Cluster> {
        let Some(bin) = server_programs() else {
            assert_ne!(
                std::env::var("TONGBAN_REQUIRE_POSTGRES").as_deref(),
                Ok("1"),
                "TONGBAN_REQUIRE_POSTGRES=1 but no initdb/pg_ctl found (TONGBAN_TEST_PG_BIN)"
            );
            println!("skipped: PostgreSQL's initdb and pg_ctl not found");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster { dir, bin, port };
        if as_root() {
            // The server refuses to run as root: it runs as the `postgres` user.
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(cluster.dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown of the cluster's directory");
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "-E", "UTF8"],
        );
        cluster.start_server();
        Some(cluster)
    }

    /// As [`Cluster::start`], taking only TLS connections over TCP, with this certificate
    /// chain and key (PEM files).
    pub fn start_tls(cert: &Path, key: &Path) -> Option<Cluster> {
        let cluster = Self::start()?;
        cluster.stop_server("fast");
        let data = PathBuf::from(cluster.data());
        std::fs::copy(cert, data.join("server.crt")).unwrap();
        std::fs::copy(key, data.join("server.key")).unwrap();
        let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let private = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(data.join("server.key"), private).unwrap();
        if as_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&data)
                .status()
                .unwrap();
            assert!(ok.success(), "chown of the cluster's files");
        }
        cluster.start_server();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_owned()
    }

    /// One of the server's programs, as the `postgres` user when this runs as root (the
    /// server refuses to run as root).
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut c = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        c.current_dir(self.dir.path());
        c
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again) and waits until it answers.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server: `immediate` as a crash would (recovery from the WAL at the next
    /// start), `fast` as an operator's restart.
    pub fn stop_server(&self, mode: &str) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"]);
    }

    /// The administrator's URL.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let stop = ["-D", &data, "-m", "immediate", "stop"];
        let _ = self.command("pg_ctl").args(stop).output();
    }
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The directory holding `initdb` and `pg_ctl`.
fn server_programs() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Ok(dir) = std::env::var("TONGBAN_TEST_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| has(d));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|d| has(d))
        .collect();
    versions.sort();
    versions.pop()
}
