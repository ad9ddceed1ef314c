"""The GIL contrast, Python's side: count the primes below N by trial division, split over
1, 2, ... threads (threading) and over the same numbers of processes (multiprocessing), and
print the wall times, one line per measurement (`threads K SECS PRIMES`). The Rust side is `cargo run -p c10k --release --example gil`,
which runs this script in the same run and prints both."""

import sys
import threading
import time
from multiprocessing import Pool


def count_primes(lo, hi):
    count = 0
    for n in range(max(lo, 2), hi):
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


def chunks(n, k):
    step = (n + k - 1) // k
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def with_threads(n, k):
    results = [0] * k
    def work(i, lo, hi):
        results[i] = count_primes(lo, hi)
    threads = [threading.Thread(target=work, args=(i, lo, hi)) for i, (lo, hi) in enumerate(chunks(n, k))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results)


def with_processes(pool, n, k):
    return sum(pool.starmap(count_primes, chunks(n, k)))


def best_of(runs, f):
    best, answer = None, None
    for _ in range(runs):
        start = time.perf_counter()
        answer = f()
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    return best, answer


def main():
    n = int(sys.argv[1])
    counts = [int(k) for k in sys.argv[2].split(",")]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    print("python", sys.version.split()[0], flush=True)
    for k in counts:
        secs, primes = best_of(runs, lambda: with_threads(n, k))
        print("threads", k, f"{secs:.6f}", primes, flush=True)
    for k in counts:
        with Pool(k) as pool:
            pool.map(abs, range(k))  # the workers are up before the clock starts
            secs, primes = best_of(runs, lambda: with_processes(pool, n, k))
        print("processes", k, f"{secs:.6f}", primes, flush=True)

if __name__ == "__main__":
    main()
