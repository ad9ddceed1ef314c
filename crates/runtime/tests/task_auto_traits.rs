//! Compile-time checks of the auto traits the API promises.

use c10k_runtime::task::{AbortHandle, JoinError, JoinHandle, JoinSet, TaskGroup};
use c10k_runtime::{Handle, Runtime};

fn is_send<T: Send>() {}
fn is_sync<T: Sync>() {}
fn is_unpin<T: Unpin>() {}

#[test]
fn auto_traits() {
    is_send::<Runtime>();
    is_sync::<Runtime>();
    is_send::<Handle>();
    is_sync::<Handle>();
    is_send::<JoinHandle<u32>>();
    is_sync::<JoinHandle<u32>>();
    is_unpin::<JoinHandle<std::marker::PhantomPinned>>();
    is_send::<AbortHandle>();
    is_sync::<AbortHandle>();
    is_send::<JoinError>();
    is_sync::<JoinError>();
    is_send::<JoinSet<u32>>();
    is_send::<TaskGroup<u32, String>>();
    is_send::<c10k_runtime::driver::Registration>();
    is_sync::<c10k_runtime::driver::Registration>();
}
