//! A real rsyslogd on loopback ports for the syslog forwarding tests: imudp, imtcp (plain, and
//! with the gtls stream driver for TLS, presenting a certificate of a throwaway CA) and imrelp,
//! each writing the raw messages it receives, one a line, to a file of its own. It runs in the
//! foreground with its own configuration, work directory and pid file under a temporary
//! directory, and stops when dropped or [`SyslogReceiver::stop`]ped; [`SyslogReceiver::start_again`]
//! brings it back on the same ports.
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::file_servers::process::Daemon;
use crate::file_servers::TestCertificate;

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
/// The modules the receiver needs, with the Debian package that brings each.
const MODULES: [(&str, &str); 3] = [
    ("imrelp.so", "rsyslog-relp"),
    ("lmnsd_gtls.so", "rsyslog-gnutls"),
    ("imudp.so", "rsyslog"),
];
const MODULE_DIRS: [&str; 2] = ["/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/rsyslog"];

/// Which input received a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Udp,
    Tcp,
    Tls,
    Relp,
}

impl Input {
    pub const ALL: [Input; 4] = [Input::Udp, Input::Tcp, Input::Tls, Input::Relp];

    fn name(self) -> &'static str {
        match self {
            Input::Udp => "udp",
            Input::Tcp => "tcp",
            Input::Tls => "tls",
            Input::Relp => "relp",
        }
    }
}

pub struct SyslogReceiver {
    daemon: Option<Daemon>,
    dir: tempfile::TempDir,
    pub udp_port: u16,
    pub tcp_port: u16,
    pub tls_port: u16,
    pub relp_port: u16,
    /// The CA that signed the TLS input's certificate (for 127.0.0.1 and localhost).
    pub certificate: TestCertificate,
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral UDP port")
}

impl SyslogReceiver {
    /// Starts rsyslogd, or prints `SKIPPED: …` and answers `None` when it or one of its
    /// modules is not installed.
    pub fn start() -> Option<SyslogReceiver> {
        if !Path::new(RSYSLOGD).exists() {
            println!("SKIPPED: rsyslogd is not installed (Debian package rsyslog)");
            return None;
        }
        for (module, package) in MODULES {
            if !MODULE_DIRS
                .iter()
                .any(|d| Path::new(d).join(module).exists())
            {
                println!("SKIPPED: rsyslog's {module} is not installed (Debian package {package})");
                return None;
            }
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("work")).expect("the work directory");
        let certificate = TestCertificate::create(dir.path());
        let mut r = SyslogReceiver {
            daemon: None,
            udp_port: free_udp_port(),
            tcp_port: crate::free_port(),
            tls_port: crate::free_port(),
            relp_port: crate::free_port(),
            dir,
            certificate,
        };
        r.write_config();
        r.start_again();
        Some(r)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The file an input writes what it receives to.
    pub fn file(&self, input: Input) -> PathBuf {
        self.path(&format!("{}.log", input.name()))
    }

    fn write_config(&self) {
        let p = |name: &str| self.path(name).display().to_string();
        let c = &self.certificate;
        let mut conf = format!(
            "global(workDirectory=\"{work}\" maxMessageSize=\"64k\"\n\
             \x20 defaultNetstreamDriverCAFile=\"{ca}\"\n\
             \x20 defaultNetstreamDriverCertFile=\"{cert}\"\n\
             \x20 defaultNetstreamDriverKeyFile=\"{key}\")\n\
             module(load=\"imudp\")\n\
             module(load=\"imtcp\" maxSessions=\"100\")\n\
             module(load=\"imrelp\")\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
             input(type=\"imudp\" address=\"127.0.0.1\" port=\"{udp}\" ruleset=\"udp\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{tcp}\" ruleset=\"tcp\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{tls}\" ruleset=\"tls\"\n\
             \x20 streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n\
             input(type=\"imrelp\" address=\"127.0.0.1\" port=\"{relp}\" ruleset=\"relp\")\n",
            work = p("work"),
            ca = c.ca_pem_path.display(),
            cert = c.cert_pem_path.display(),
            key = c.key_pem_path.display(),
            udp = self.udp_port,
            tcp = self.tcp_port,
            tls = self.tls_port,
            relp = self.relp_port,
        );
        for input in Input::ALL {
            conf.push_str(&format!(
                "ruleset(name=\"{name}\") {{ action(type=\"omfile\" file=\"{file}\" template=\"raw\" flushOnTXEnd=\"on\") }}\n",
                name = input.name(),
                file = self.file(input).display(),
            ));
        }
        std::fs::write(self.path("rsyslog.conf"), conf).expect("writing rsyslog.conf");
    }

    /// (Re)starts rsyslogd on the same ports; waits until every stream input accepts.
    pub fn start_again(&mut self) {
        if self.daemon.is_some() {
            return;
        }
        let mut command = Command::new(RSYSLOGD);
        command
            .arg("-n")
            .arg("-f")
            .arg(self.path("rsyslog.conf"))
            .arg("-i")
            .arg(self.path("rsyslogd.pid"));
        let daemon = Daemon::spawn(
            "rsyslogd",
            command,
            self.tcp_port,
            &self.path("rsyslogd.out"),
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        for port in [self.tls_port, self.relp_port] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "rsyslogd did not listen on {port}: {}",
                    std::fs::read_to_string(self.path("rsyslogd.out")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.daemon = Some(daemon);
    }

    /// Stops rsyslogd (its ports refuse connections until [`SyslogReceiver::start_again`]).
    pub fn stop(&mut self) {
        self.daemon = None;
    }

    /// The lines an input has written so far.
    pub fn received(&self, input: Input) -> Vec<String> {
        std::fs::read_to_string(self.file(input))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits up to `limit` for a line of `input` that holds `needle`.
    pub fn wait_for(&self, input: Input, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(l) = self
                .received(input)
                .into_iter()
                .find(|l| l.contains(needle))
            {
                return Some(l);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// rsyslogd's own output, for a failure's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("rsyslogd.out")).unwrap_or_default()
    }
}
