//! Stackful coroutines for c10k: generators and gevent-style green threads.
#![allow(missing_docs)]

pub mod generator;
pub mod stack;
