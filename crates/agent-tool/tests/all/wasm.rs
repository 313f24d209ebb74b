//! The wasm32-wasip1 build (from `agent-tool-wasm`) under plain
//! wasmtime-wasi, compared with the native binary: every golden case, same
//! stdout, same exit code, same files afterwards. The fixture copy is
//! preopened as `/`, so the guest's relative paths resolve as the native
//! run's do from its working directory.

use recompiler_testkit::RunOptions;
use recompiler_testkit::run::{alone_pre, compile, run_alone_pre};

use crate::golden::CASES;
use crate::support::{Outcome, fixture, run, snapshot};

#[test]
fn wasm_build_matches_native_on_every_case() {
    let wasm = agent_tool_wasm::wasm_bytes()
        .unwrap_or_else(|e| panic!("{}: {e}", agent_tool_wasm::WASM_PATH));
    let pre = alone_pre(&compile(&wasm).expect("compile agent-tool.wasm")).expect("link");
    for case in CASES {
        let native_dir = fixture();
        let native = run(native_dir.path(), case.args, case.stdin);

        let wasm_dir = fixture();
        let args = std::iter::once("agent-tool").chain(case.args.iter().copied());
        let opts = RunOptions::new(args)
            .stdin(case.stdin)
            .preopen(wasm_dir.path(), "/");
        let out = run_alone_pre(&pre, &opts).expect("run agent-tool.wasm");
        assert_eq!(
            out.trap(),
            None,
            "{}: trapped; stderr {}",
            case.name,
            out.stderr_text()
        );
        let guest = Outcome {
            stdout: out.stdout_text(),
            code: out.exit_code().unwrap_or(-1),
        };
        assert_eq!(guest, native, "{}: wasm and native differ", case.name);
        assert_eq!(
            snapshot(wasm_dir.path()),
            snapshot(native_dir.path()),
            "{}: wasm and native leave different files",
            case.name
        );
    }
}
