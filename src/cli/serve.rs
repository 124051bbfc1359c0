//! `mediamatch serve`: the HTTP matching service (the library's `serve` module), on a
//! tokio runtime of its own, with the signals an init system sends (`SIGHUP` reopens the
//! audit file and reloads the index; `SIGTERM` stops).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use mediamatch::serve::config::ServeConfig;
use mediamatch::serve::Server;

use super::Exit;

/// Arguments of `mediamatch serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index to serve (a manifest or a single index file); overrides the config's `index`.
    #[arg(long, short)]
    index: Option<PathBuf>,
    /// The TOML configuration file (docs/serve.md lists every option and its default).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The address to listen on; overrides the config's `listen` (default 127.0.0.1:8080;
    /// port 0 picks a free one). The bound address is printed on stdout.
    #[arg(long)]
    listen: Option<SocketAddr>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let mut config = match &args.config {
        Some(path) => ServeConfig::read(path)?,
        None => ServeConfig::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(index) = args.index {
        config.index = Some(index);
    }
    let index =
        config.index.clone().context("no index: give --index PATH or set `index` in the config file")?;
    init_logs();
    let tokens = std::env::var("MEDIAMATCH_TOKENS").ok();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let listen = config.listen;
        let server = Server::new(config, index.clone(), tokens.as_deref())?;
        if let Some(e) = server.last_error() {
            eprintln!("mediamatch: {}: not loaded yet ({e}); answering 503 until it loads", index.display());
        }
        if server.token_count() == 0 {
            eprintln!("mediamatch: no tokens configured: every request is anonymous (loopback only unless auth.allow_anonymous)");
        }
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
        println!("listening on {}", listener.local_addr()?);
        let poller = server.clone();
        tokio::spawn(async move { poller.poll().await });
        #[cfg(unix)]
        {
            let reloader = server.clone();
            let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    // The audit file first (logrotate's `create` then `kill -HUP`), then
                    // the index; each failure is logged and leaves the old one in use.
                    let _ = reloader.reopen_audit().await;
                    let _ = reloader.reload().await;
                }
            });
        }
        server.serve(listener, shutdown()).await?;
        anyhow::Ok(())
    })?;
    Ok(Exit::Success)
}

/// Completes on SIGTERM or Ctrl-C; requests in flight then finish.
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// JSON logs on stderr; `MEDIAMATCH_LOG` filters them (default `info`).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEDIAMATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
