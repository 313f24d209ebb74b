//! The shim binary: containerd's shim v2 protocol (`start`, `delete`, and the
//! ttrpc task server) around [`recompiler_shim::Service`].

const USAGE: &str = "\
containerd-shim-recompiler-v1: the recompiler runtime for containerd (io.containerd.recompiler.v1)

containerd starts this program; it is not run by hand. Put it on containerd's
PATH and run containers with the runtime io.containerd.recompiler.v1, e.g.

  ctr images import --platform wasi/wasm agent-oci.tar
  ctr run --rm --platform wasi/wasm --runtime io.containerd.recompiler.v1 \\
      recompiler.local/agent:latest demo /usr/bin/agent-tool --version

Settings (containerd's environment):
  RECOMPILER_TRUST         trusted public key, or a directory of *.pub keys
                           (default /etc/recompiler/trust)
  RECOMPILER_STATE         compiled code cache, shared by all containers
                           (default /var/lib/recompiler)
  RECOMPILER_ALLOW_COPIES  1: a byte-exact copy of a listed program may run

See docs/recompiler-container-plan/containerd.md.
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "--help" || a == "-h" || a == "help")
    {
        print!("{USAGE}");
        return;
    }
    if args.iter().any(|a| a == "--version" || a == "-version") {
        println!(
            "containerd-shim-recompiler-v1 {}",
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    containerd_shim::run::<recompiler_shim::Service>(recompiler_shim::RUNTIME_ID, None);
}
