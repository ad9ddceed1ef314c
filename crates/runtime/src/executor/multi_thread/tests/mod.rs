//! loom models of the run queues (`cfg(loom)` only).
mod loom_queue;
