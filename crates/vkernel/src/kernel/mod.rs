//! The kernel core (being written).
