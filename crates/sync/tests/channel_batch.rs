//! The bounded mpsc receiver's private batch still counts against the capacity.

use c10k_sync::channel::mpsc;
use c10k_sync::channel::TrySendError;

/// Regression guard: batching must not let senders exceed the bound, and must give the room
/// back as soon as a batched message is received.
#[test]
fn bounded_batch_counts_against_capacity() {
    let (tx, mut rx) = mpsc::bounded(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    // Takes 1 and moves 2 into the receiver's batch: 2 is still "in the channel".
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.len(), 1);
    tx.try_send(3).unwrap();
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    // Receiving 2 from the batch frees its slot without the receiver locking.
    assert_eq!(rx.try_recv(), Ok(2));
    tx.try_send(4).unwrap();
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    assert_eq!(rx.recv_blocking(), Ok(3));
    assert_eq!(rx.recv_blocking(), Ok(4));
    drop(tx);
    assert!(rx.recv_blocking().is_err());
}

/// A sender parked on a full channel is let in when the receiver consumes a batched message.
#[test]
fn parked_sender_is_let_in_by_batch_consumption() {
    let (tx, mut rx) = mpsc::bounded(4);
    let producer = std::thread::spawn(move || {
        for i in 0..1000u32 {
            tx.send_blocking(i).unwrap();
        }
    });
    for i in 0..1000u32 {
        assert_eq!(rx.recv_blocking(), Ok(i));
    }
    assert!(rx.recv_blocking().is_err());
    producer.join().unwrap();
}
