//! rust_echo: a guest program written in Rust (wasm32-wasip1).
//!
//! - prints every argument, argv[0] included, one per line as `arg[i]=...`;
//! - prints the environment variables whose name starts with `RUST_ECHO_`,
//!   sorted by name, as `env NAME=VALUE`;
//! - reads stdin line by line and prints each line with its characters reversed;
//! - writes `rust_echo: A args, E env, L lines` to stderr;
//! - `--exit N` exits with status N (default 0); `--panic` panics (a trap on wasm).

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for (i, arg) in args.iter().enumerate() {
        writeln!(out, "arg[{i}]={arg}").expect("stdout is writable");
    }

    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("RUST_ECHO_"))
        .collect();
    env.sort();
    for (name, value) in &env {
        writeln!(out, "env {name}={value}").expect("stdout is writable");
    }

    let mut exit = 0u8;
    let mut panic = false;
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--panic" => panic = true,
            "--exit" => match rest.next().map(|n| n.parse::<u8>()) {
                Some(Ok(n)) => exit = n,
                _ => {
                    eprintln!("rust_echo: --exit needs a number from 0 to 255");
                    return ExitCode::from(2);
                }
            },
            _ => {}
        }
    }

    let mut lines = 0;
    for line in io::stdin().lock().lines() {
        let line = line.expect("stdin is readable UTF-8");
        let reversed: String = line.chars().rev().collect();
        writeln!(out, "{reversed}").expect("stdout is writable");
        lines += 1;
    }
    out.flush().expect("stdout is writable");
    eprintln!("rust_echo: {} args, {} env, {lines} lines", args.len(), env.len());

    if panic {
        panic!("rust_echo: panicking as asked");
    }
    ExitCode::from(exit)
}
