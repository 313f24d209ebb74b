//! Integration tests of the vkernel, one module per topic. Bundles are made in
//! the test from the testkit's guest programs (merged, manifested and signed
//! with the real crates), then run through `Container::run`.

mod bundles;
mod conformance;
mod daemon;
mod differential;
mod fuzz;
mod gate;
mod load;
mod process;
mod python;
