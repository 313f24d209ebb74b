//! WASI preview1 conformance: the same guests under plain wasmtime-wasi and the vkernel.
