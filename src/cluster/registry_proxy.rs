//! The secured local cluster's registry front: Debian's nginx, listening with TLS (the cluster's
//! own certificate) on 127.0.0.1:8443 and asking for HTTP basic auth (`auth_basic`) before it
//! passes a request to Apicurio on 8081. It makes the registry side of `[cluster.security]`
//! (basic auth, a registry CA) testable against a real server, the way production registries sit
//! behind a proxy or a gateway.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::proc_ctl::{self, ProcRef};
use super::secure::{private_write, SecureRecord, USER};
use super::topology::HOST;
use crate::security::Secret;

/// The HTTPS port of the registry front.
pub const PORT: u16 = 8443;

/// The registry's URL through the front.
pub fn url() -> String {
    format!("https://{HOST}:{PORT}/apis/ccompat/v7")
}

/// `openssl passwd -apr1` of the password, read from stdin so it never sits on a command line.
fn apr1(password: &Secret) -> Result<String> {
    let mut child = Command::new("openssl")
        .args(["passwd", "-apr1", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run `openssl passwd`")?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(format!("{}\n", password.expose()).as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "openssl passwd failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn config(dir: &Path, rec: &SecureRecord, registry_port: u16) -> String {
    let d = dir.display();
    let cert = rec.ca_file.with_file_name("broker.pem");
    let key = rec.ca_file.with_file_name("broker.key");
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n\
         \x20 fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n\
         \x20 server {{\n    listen {HOST}:{PORT} ssl;\n    ssl_certificate {};\n    ssl_certificate_key {};\n\
         \x20   location / {{\n      auth_basic \"kbench registry\";\n      auth_basic_user_file {d}/htpasswd;\n\
         \x20     proxy_set_header Authorization \"\";\n      proxy_pass http://{HOST}:{registry_port};\n    }}\n  }}\n}}\n",
        cert.display(),
        key.display()
    )
}

/// Write the front's configuration and password file under `dir` and start nginx; fails
/// clearly when nginx is not installed or the port is taken.
pub fn start(
    dir: &Path,
    rec: &SecureRecord,
    password: &Secret,
    registry_port: u16,
) -> Result<ProcRef> {
    let nginx = which_nginx()?;
    if let Err(e) = std::net::TcpListener::bind((HOST, PORT)) {
        bail!("port {PORT} (registry HTTPS front) is already in use on {HOST} ({e})");
    }
    std::fs::create_dir_all(dir.join("tmp"))?;
    private_write(
        &dir.join("htpasswd"),
        &format!("{USER}:{}\n", apr1(password)?),
    )?;
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(dir, rec, registry_port))?;
    let mut cmd = Command::new(nginx);
    cmd.arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf);
    proc_ctl::spawn_logged(cmd, &dir.join("nginx.log"))
}

fn which_nginx() -> Result<PathBuf> {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"] {
        if Path::new(p).is_file() {
            return Ok(PathBuf::from(p));
        }
    }
    bail!(
        "--security puts the registry behind nginx (HTTPS and basic auth), and nginx is not \
         installed: `apt-get install nginx-light` (Debian 12)"
    )
}
