//! Integration tests of recompiler-testkit, one binary (see STYLE.md):
//! every guest program under the oracle, and the megabinary harness.

mod alone;
mod dispatch;
mod python;
