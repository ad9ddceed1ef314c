//! Coroutine stacks: sizes, lazy commitment, and the guard-page overflow report.
//!
//! Every generator and green thread runs on its own stack, a [`corosensei`] `DefaultStack`:
//! one anonymous private `mmap` whose lowest page is left `PROT_NONE` (the guard page) and
//! whose other pages are readable and writable. Nothing is committed up front: the kernel
//! gives a page physical memory the first time it is touched, so an idle green thread that
//! used 8 KiB of its 256 KiB stack costs 8 KiB of RSS (plus its bookkeeping), and the guard
//! page costs none. Each stack is two memory mappings (the guard and the rest), so a process
//! holds at most about `vm.max_map_count / 2` live coroutines (65 530 / 2 by default on Linux;
//! raise the sysctl for more).
//!
//! # Overflow: reported, never undefined behaviour
//!
//! A function that runs past the bottom of its coroutine stack touches the guard page and the
//! CPU faults (Rust on x86-64 and aarch64 probes every page of a large frame, so no frame can
//! jump over the guard). The fault is a `SIGSEGV` (or `SIGBUS`). The first coroutine created
//! installs a handler for both, on the alternate signal stack the Rust standard library gives
//! every thread it starts. The protocol:
//!
//! 1. Each resume records the guard page range of the coroutine it enters in a thread-local
//!    (`RUNNING`), and restores the outer range when the coroutine yields or returns, so
//!    nested coroutines (a generator inside a green thread) are covered.
//! 2. On a fault, the handler compares the faulting address with the range of the coroutine
//!    running on this thread. Inside it: it writes one line naming the stack size to standard
//!    error and aborts the process (as the standard library does for a thread's overflow).
//! 3. Anywhere else: the fault is not ours. The handler puts back the action that was there
//!    before it and returns; the faulting instruction runs again and meets that action (the
//!    standard library's own overflow report for thread stacks, or the default: a core dump).

use std::cell::Cell;
use std::io;
use std::marker::PhantomData;
use std::sync::Once;

use corosensei::stack::{DefaultStack, Stack};

/// The stack size generators and green threads get unless told otherwise: 256 KiB of address
/// space, committed page by page as it is used.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// The smallest stack accepted: 16 KiB. Smaller stacks overflow in ordinary library code
/// (formatting, the panic machinery); a request below it is rounded up to it.
pub const MIN_STACK_SIZE: usize = 16 * 1024;

thread_local! {
    /// Points at `[guard_low, guard_high, stack_size]` of the coroutine running on this
    /// thread, or is null on the thread's own stack. Written only by [`Running::enter`] and
    /// its drop on this thread; read by the signal handler on this thread. A pointer rather
    /// than the three words, so that entering and leaving a coroutine (every switch) costs
    /// one store each way.
    static RUNNING: Cell<*const [usize; 3]> = const { Cell::new(std::ptr::null()) };
}

/// A guard-paged coroutine stack with its usable size.
pub(crate) struct GuardedStack {
    pub(crate) stack: DefaultStack,
}

impl GuardedStack {
    /// Maps a stack of at least `size` usable bytes (rounded up to [`MIN_STACK_SIZE`] and to
    /// whole pages) plus one guard page.
    pub(crate) fn new(size: usize) -> io::Result<Self> {
        install_overflow_handler();
        let stack = DefaultStack::new(size.max(MIN_STACK_SIZE))?;
        Ok(Self { stack })
    }

    /// `[guard_low, guard_high, usable_size]` of `stack`.
    pub(crate) fn range_of(stack: &DefaultStack) -> [usize; 3] {
        // corosensei's `limit()` is the start of the mapping, guard page included.
        let low = stack.limit().get();
        let base = stack.base().get();
        [low, low + page_size(), base - low - page_size()]
    }
}

/// A stack whose top is moved down by a *colour*: a multiple of 64 bytes, less than 1 KiB.
///
/// Every mapped stack ends on a page boundary, so without it the hot top of every green
/// thread's stack (where a switch saves and restores registers) would have the same address
/// modulo 4096 and land in the same few sets of the CPU caches: with 1000 green threads
/// resumed in turn, each switch would evict the previous ones' lines. Spreading the tops over
/// 16 cache-line slots spreads them over the sets (the classic cure for aliasing thread
/// stacks). The colours stop at 1 KiB, so that the frames a parked green thread keeps hot
/// (about 2.5 KiB for `echo --model green`: its read buffer and the calls down to the
/// switch) stay inside the stack's top page: a colour near a full page made 60 % of those
/// stacks straddle two pages, and every page a resume touches is one more TLB entry and
/// cache miss when a thousand green threads take turns.
pub(crate) struct ColoredStack {
    pub(crate) inner: DefaultStack,
    color: usize,
}

impl ColoredStack {
    /// `stack` with its top lowered by `(n % 16) * 64` bytes.
    pub(crate) fn new(inner: DefaultStack, n: usize) -> Self {
        Self {
            inner,
            color: (n % 16) * 64,
        }
    }
}

// SAFETY: `base()` is the inner stack's base lowered by less than one page, still 64-byte
// (so `STACK_ALIGNMENT`) aligned, and above `limit()` by at least
// `MIN_STACK_SIZE - 960` bytes (`GuardedStack::new` maps at least 16 KiB); the range
// `limit()..base()` is a sub-range of the inner stack's valid range, guard page included at
// its bottom. Nothing else uses the bytes above the lowered base.
unsafe impl Stack for ColoredStack {
    fn base(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.inner.base().get() - self.color)
            .expect("a stack base is far above zero")
    }

    fn limit(&self) -> corosensei::stack::StackPointer {
        self.inner.limit()
    }
}

/// Marks a coroutine as running on this thread until dropped (step 1 of the protocol).
///
/// It borrows the range it publishes, so the range outlives its publication: the signal
/// handler only ever dereferences a pointer that a live `Running` put there.
pub(crate) struct Running<'a> {
    outer: *const [usize; 3],
    _range: PhantomData<&'a [usize; 3]>,
}

impl<'a> Running<'a> {
    #[inline]
    pub(crate) fn enter(range: &'a [usize; 3]) -> Self {
        let outer = RUNNING.with(|r| r.replace(range));
        Self {
            outer,
            _range: PhantomData,
        }
    }
}

impl Drop for Running<'_> {
    #[inline]
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.outer));
    }
}

fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// The actions that were installed for SIGSEGV and SIGBUS before ours (step 3).
struct Previous(std::cell::UnsafeCell<[libc::sigaction; 2]>);
// SAFETY: written once inside `INSTALL.call_once` before our handler is installed, and only
// read afterwards (by the handler), so there is never a concurrent write.
unsafe impl Sync for Previous {}

// SAFETY: an all-zero `sigaction` is a valid value (SIG_DFL, empty mask, no flags).
static PREVIOUS: Previous = Previous(std::cell::UnsafeCell::new(unsafe { std::mem::zeroed() }));
static INSTALL: Once = Once::new();

fn install_overflow_handler() {
    INSTALL.call_once(|| {
        for (i, sig) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
            // SAFETY: plain sigaction calls with valid pointers; PREVIOUS is written here,
            // inside call_once, before the handler that reads it can run (it is installed by
            // this very call, after the old action has been stored).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fault as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let previous = &mut (*PREVIOUS.0.get())[i];
                libc::sigaction(sig, &action, previous);
            }
        }
    });
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for a SA_SIGINFO handler of a fault.
    let addr = unsafe { (*info).si_addr() } as usize;
    let running = RUNNING.with(|r| r.get());
    // SAFETY: non-null only while the `Running` that stored it is alive, and that guard
    // borrows the range it points to (see `Running`); this handler runs on the same thread,
    // inside that lifetime.
    let Some(&[low, high, size]) = (unsafe { running.as_ref() }) else {
        return restore_previous(sig);
    };
    if low <= addr && addr < high {
        let mut line = [0u8; 128];
        let len = format_report(&mut line, size);
        // SAFETY: write(2) and abort(3) are async-signal-safe; `line[..len]` is initialised.
        unsafe {
            libc::write(2, line.as_ptr().cast(), len);
            libc::abort();
        }
    }
    restore_previous(sig);
}

/// Puts back the action that was installed for `sig` before ours (step 3).
fn restore_previous(sig: libc::c_int) {
    let i = usize::from(sig != libc::SIGSEGV);
    // SAFETY: PREVIOUS is only read after installation (see `Previous`); putting the old
    // action back and returning re-runs the faulting instruction under it.
    unsafe {
        libc::sigaction(sig, &(*PREVIOUS.0.get())[i], std::ptr::null_mut());
    }
}

/// Writes the overflow line without allocating (we are in a signal handler).
fn format_report(out: &mut [u8; 128], size: usize) -> usize {
    let head = b"c10k-green: a coroutine has overflowed its stack of ";
    let tail = b" bytes (hit the guard page); aborting\n";
    let mut len = 0;
    for &b in head {
        out[len] = b;
        len += 1;
    }
    let mut digits = [0u8; 20];
    let mut n = size;
    let mut d = 0;
    loop {
        digits[d] = b'0' + (n % 10) as u8;
        d += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    while d > 0 {
        d -= 1;
        out[len] = digits[d];
        len += 1;
    }
    for &b in tail {
        out[len] = b;
        len += 1;
    }
    len
}
