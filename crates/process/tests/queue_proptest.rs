//! proptest: producers and consumers interleaved on one shared-memory queue, with random
//! capacities, ring sizes (small, so records wrap and both sides wait) and item sizes;
//! every item arrives exactly once and each producer's items arrive in order. Threads
//! stand in for processes: they run the same code on the same shared mapping and futexes
//! (`MAP_SHARED` memory and non-private futexes behave alike within and across
//! processes); `ipc_pipe_queue` runs the cross-process version.

use std::collections::HashSet;
use std::thread;

use c10k_process::{GetError, Queue};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_item_exactly_once(
        producers in 1usize..4,
        consumers in 1usize..4,
        per_producer in 0usize..300,
        capacity in 1u32..12,
        ring in 64u32..512,
        payload in 0usize..40,
        try_ops in any::<bool>(),
    ) {
        let q = Queue::<(u32, u32, Vec<u8>)>::builder().capacity(capacity).buffer_bytes(ring).build::<(u32, u32, Vec<u8>)>().unwrap();
        // The largest item must fit the ring, or puts are refused (tested elsewhere).
        let payload = payload.min(q.max_item_bytes().saturating_sub(12));
        let prods: Vec<_> = (0..producers).map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..per_producer {
                    let mut item = (p as u32, i as u32, vec![i as u8; payload]);
                    if try_ops {
                        loop {
                            match q.try_put(item) {
                                Ok(()) => break,
                                Err(e) => { item = e.into_inner(); thread::yield_now(); }
                            }
                        }
                    } else {
                        q.put(item).unwrap();
                    }
                }
            })
        }).collect();
        let cons: Vec<_> = (0..consumers).map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    match q.get() {
                        Ok(item) => got.push(item),
                        Err(GetError::Closed) => return got,
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        }).collect();
        for p in prods { p.join().unwrap(); }
        q.close();
        let mut seen = HashSet::new();
        for c in cons {
            let got = c.join().unwrap();
            for p in 0..producers as u32 {
                let mine: Vec<u32> = got.iter().filter(|x| x.0 == p).map(|x| x.1).collect();
                prop_assert!(mine.windows(2).all(|w| w[0] < w[1]), "producer {} out of order", p);
            }
            for (p, i, bytes) in got {
                prop_assert_eq!(bytes.len(), payload);
                prop_assert!(bytes.iter().all(|&b| b == i as u8), "a torn item");
                prop_assert!(seen.insert((p, i)), "({}, {}) twice", p, i);
            }
        }
        prop_assert_eq!(seen.len(), producers * per_producer);
    }
}
