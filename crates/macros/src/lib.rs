//! The `#[c10k::main]` and `#[c10k::test]` attribute macros (issue 3). Use them through the
//! `c10k` facade crate.
#![forbid(unsafe_code)]
