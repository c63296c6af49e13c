//! `creditlog witness`: run a C2SP tlog-witness for one or more logs ([`witness`]).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Serve `POST /add-checkpoint` and `GET /<origin hash>/checkpoint` for the logs given.
    Serve(ServeArgs),
    /// Print the witness's verifier key (`name+id+base64`), for a log's witness policy.
    Vkey {
        /// The witness's name, as its cosignatures carry it (e.g. `court.zibo.example/witness`).
        #[arg(long)]
        name: String,
        /// The witness's key file (`creditlog key new`).
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Folder for the witness's state: the newest checkpoint it cosigned of each log, and the
    /// evidence of refused forks.
    #[arg(long)]
    data: PathBuf,
    /// The witness's name, as its cosignatures carry it.
    #[arg(long)]
    name: String,
    /// The witness's key file (`creditlog key new`); register its public key on the log as a
    /// witness role key (`creditlog identity register-key --role witness`).
    #[arg(long)]
    key: PathBuf,
    /// A log to witness: its verifier key (`creditlog log key`), whose name is the log's origin.
    /// Repeat for several logs.
    #[arg(long = "log")]
    logs: Vec<String>,
    /// A file of logs to witness, one `log <verifier key>` line each (`#` starts a comment), as
    /// in a C2SP tlog-policy file.
    #[arg(long)]
    logs_file: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8091")]
    listen: SocketAddr,
}

pub fn run(cmd: WitnessCommand) -> Result<()> {
    match cmd {
        WitnessCommand::Vkey { name, key } => {
            let key = registry::keyfile::read(&key)?;
            println!("{}", verifier::policy::witness_verifier_key(&name, &key.verifying_key().to_bytes()));
            Ok(())
        }
        WitnessCommand::Serve(args) => crate::runtime()?.block_on(serve(args)),
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let mut logs = args.logs.clone();
    if let Some(file) = &args.logs_file {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                [] => {}
                ["log", vkey] | ["log", vkey, _] => logs.push((*vkey).to_owned()),
                _ => anyhow::bail!("{}:{}: expected `log <verifier key>`, not {line:?}", file.display(), n + 1),
            }
        }
    }
    anyhow::ensure!(!logs.is_empty(), "no log to witness: give --log VKEY or --logs-file FILE");
    let key = registry::keyfile::read(&args.key)?;
    let w = witness::Witness::open(&args.name, key, &args.data, &logs).map_err(anyhow::Error::msg)?;
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("witness: {}", args.name);
    println!("witness verifier key: {}", w.verifier_key());
    for origin in w.origins() {
        println!("witnessing {origin} (cosigned up to size {})", w.size(origin).unwrap_or(0));
    }
    println!("listening on http://{addr}");
    api::serve(listener, witness::router(Arc::new(w)), Duration::from_secs(60), crate::shutdown_signal())
        .await
        .context("serving HTTP")?;
    Ok(())
}
