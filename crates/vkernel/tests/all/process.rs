//! The process extension: guests that spawn, wait, pipe and dup through the gate.
