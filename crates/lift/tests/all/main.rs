//! Integration tests of `recompiler-lift`, one module per topic.

mod ptrace;
