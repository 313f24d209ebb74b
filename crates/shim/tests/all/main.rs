//! The shim's integration test: a real containerd runs recompiler bundle images
//! with `ctr`. Needs root (containerd mounts snapshots); `./scripts/test` runs it.

// The agent image, made as the builder's tests and benchmark make it.
#[path = "../../../builder/tests/all/umoci.rs"]
#[allow(dead_code, reason = "the builder's helper; this test uses part of it")]
mod umoci;

#[path = "../../../builder/tests/all/agent_image.rs"]
#[allow(dead_code, reason = "the builder's helper; this test uses part of it")]
mod agent_image;

mod containerd;
mod ctr;
