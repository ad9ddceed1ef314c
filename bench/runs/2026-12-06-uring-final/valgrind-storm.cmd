# built with: CARGO_TARGET_DIR=/work/tgt/uring cargo test --release -p c10k-runtime --test net_uring_cancel_storm --no-run
C10K_STORM_ITERATIONS=1000000 valgrind --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite --error-exitcode=99 \
  /work/tgt/uring/release/deps/net_uring_cancel_storm-366979371bc7997f --nocapture
