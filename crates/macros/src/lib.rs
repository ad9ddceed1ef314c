//! The `#[c10k::main]` and `#[c10k::test]` attribute macros. Use them through the `c10k`
//! facade crate (`c10k::main`, `c10k::test`): the expansion names paths under `::c10k`.
//!
//! # Expansion
//!
//! ```text
//! #[c10k::main(flavor = "multi_thread", worker_threads = 2, backend = "epoll")]
//! async fn main() -> R { BODY }
//! ```
//!
//! becomes
//!
//! ```text
//! fn main() -> R {
//!     async fn __c10k_body() -> R { BODY }
//!     ::c10k::runtime::Runtime::builder()
//!         .multi_thread().worker_threads(2)
//!         .backend({ const B: Backend = match ::c10k::__private::backend_named("epoll") {
//!             Some(b) => b,
//!             None => panic!("unknown backend ..."), // a compile error: B is a constant
//!         }; B })
//!         .build()
//!         .expect(..)
//!         .block_on(__c10k_body())
//! }
//! ```
//!
//! The body becomes an inner `async fn` with the declared return type, so `?` inside it
//! infers its error type from the signature, exactly as in the written function. On the
//! current-thread flavor the body runs inside a `LocalSet`, so `spawn_local` works (as with
//! `c10k::run`).
//!
//! # Arguments
//!
//! | argument | values | default (`main` / `test`) |
//! |---|---|---|
//! | `flavor` | `"current_thread"`, `"multi_thread"` | `"multi_thread"` / `"current_thread"` |
//! | `worker_threads` | integer ≥ 1, multi-thread only | the runtime's default (CPU count) |
//! | `backend` | a name of the runtime's `Backend::ALL`: `"select"`, `"poll"`, `"epoll"`, ... | the best for the platform |
//!
//! Mistakes are compile errors pointing at the offending token: an unknown argument, a
//! value of the wrong kind, `worker_threads` with the current-thread flavor, a function that
//! is not `async`, or one that takes parameters.
//!
//! This crate keeps no list of backends (a proc-macro cannot depend on the runtime): the
//! backend's name is looked up in the runtime's own `Backend::ALL` by a `const fn` of the
//! facade, inside a constant, so an unknown name is a compile error at the string and a
//! backend the runtime adds needs no change here.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// Runs an `async fn main` on a c10k runtime.
///
/// Arguments: `flavor = "current_thread" | "multi_thread"` (default multi-thread),
/// `worker_threads = N`, `backend = "NAME"` (a backend of the runtime: `"select"`, `"poll"`,
/// `"epoll"`, ...). See the crate docs for the
/// expansion and the facade crate `c10k` for examples.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into(), Kind::Main)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Runs an `async fn` test on a fresh c10k runtime (current-thread by default), as
/// `#[test]` does for a plain function. Takes the same arguments as [`main`](macro@main).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into(), Kind::Test)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "c10k::main",
            Kind::Test => "c10k::test",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

struct Config {
    flavor: Flavor,
    /// With the span of the argument, for the flavor check.
    worker_threads: Option<(usize, Span)>,
    /// The backend's name as written, with its span.
    backend: Option<(String, Span)>,
}

fn string_value(nv: &MetaNameValue, key: &str) -> syn::Result<(String, Span)> {
    match &nv.value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok((s.value(), s.span())),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{key}` takes a string, e.g. `{key} = \"...\"`"),
        )),
    }
}

fn parse_config(args: TokenStream2, kind: Kind) -> syn::Result<Config> {
    let mut config = Config {
        flavor: if kind == Kind::Main {
            Flavor::MultiThread
        } else {
            Flavor::CurrentThread
        },
        worker_threads: None,
        backend: None,
    };
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{}: expected arguments of the form `name = value` (flavor, worker_threads, backend): {e}", kind.name()),
        )
    })?;
    let mut seen: Vec<String> = Vec::new();
    for nv in &args {
        let key = nv
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        if seen.contains(&key) {
            return Err(syn::Error::new(
                nv.path.span(),
                format!("`{key}` is given twice"),
            ));
        }
        match key.as_str() {
            "flavor" => {
                let (v, span) = string_value(nv, "flavor")?;
                config.flavor = match v.as_str() {
                    "current_thread" => Flavor::CurrentThread,
                    "multi_thread" => Flavor::MultiThread,
                    other => {
                        return Err(syn::Error::new(
                            span,
                            format!("unknown flavor `{other}`: expected \"current_thread\" or \"multi_thread\""),
                        ))
                    }
                };
            }
            "worker_threads" => {
                let n = match &nv.value {
                    Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse::<usize>()?,
                    other => return Err(syn::Error::new(other.span(), "`worker_threads` takes an integer, e.g. `worker_threads = 4`")),
                };
                if n == 0 {
                    return Err(syn::Error::new(nv.value.span(), "`worker_threads` must be at least 1"));
                }
                config.worker_threads = Some((n, nv.path.span()));
            }
            "backend" => {
                // Checked at compile time against the runtime's list (see `expand`).
                config.backend = Some(string_value(nv, "backend")?);
            }
            _ => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    format!(
                        "unknown argument `{}` for #[{}]: expected `flavor`, `worker_threads` or `backend`",
                        nv.path.to_token_stream().to_string().replace(' ', ""),
                        kind.name()
                    ),
                ))
            }
        }
        seen.push(key);
    }
    if let (Flavor::CurrentThread, Some((_, span))) = (config.flavor, config.worker_threads) {
        return Err(syn::Error::new(span, "`worker_threads` needs `flavor = \"multi_thread\"`: the current-thread runtime runs everything on one thread"));
    }
    Ok(config)
}

fn expand(args: TokenStream2, item: TokenStream2, kind: Kind) -> syn::Result<TokenStream2> {
    let config = parse_config(args, kind)?;
    let mut func: ItemFn = syn::parse2(item)?;
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            func.sig.fn_token.span(),
            format!("#[{}] needs an `async fn`", kind.name()),
        ));
    }
    if !func.sig.inputs.is_empty() {
        return Err(syn::Error::new(
            func.sig.inputs.span(),
            format!("#[{}] functions take no arguments", kind.name()),
        ));
    }
    if !func.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            func.sig.generics.span(),
            format!("#[{}] functions cannot be generic", kind.name()),
        ));
    }
    let body = &func.block;
    let output = &func.sig.output;
    let span = func.sig.ident.span();
    let inner_sig = quote_spanned! {span=> async fn __c10k_body() #output };

    let mut builder = quote! { ::c10k::runtime::Runtime::builder() };
    builder = match config.flavor {
        Flavor::CurrentThread => quote! { #builder.current_thread() },
        Flavor::MultiThread => quote! { #builder.multi_thread() },
    };
    if let Some((n, _)) = config.worker_threads {
        builder = quote! { #builder.worker_threads(#n) };
    }
    if let Some((name, span)) = config.backend {
        // The macro keeps no list of backends: the name is looked up in the runtime's own
        // list (`Backend::ALL`) by a `const fn` of the facade, inside a constant, so an
        // unknown name is a compile error pointing at the string, and a backend the runtime
        // adds is accepted here with no change.
        let message = format!(
            "#[{}]: unknown backend `{name}`: expected the name of one of \
             `c10k::runtime::driver::Backend::ALL`, e.g. \"epoll\"",
            kind.name()
        );
        let lit = syn::LitStr::new(&name, span);
        let lookup = quote_spanned! {span=>
            {
                const __C10K_BACKEND: ::c10k::runtime::driver::Backend =
                    match ::c10k::__private::backend_named(#lit) {
                        ::core::option::Option::Some(backend) => backend,
                        ::core::option::Option::None => ::core::panic!(#message),
                    };
                __C10K_BACKEND
            }
        };
        builder = quote! { #builder.backend(#lookup) };
    }
    let what = kind.name();
    let run = match config.flavor {
        Flavor::CurrentThread => quote! {
            __c10k_rt.block_on(::c10k::runtime::task::LocalSet::new().run_until(__c10k_body()))
        },
        Flavor::MultiThread => quote! { __c10k_rt.block_on(__c10k_body()) },
    };
    let new_body = quote! {
        {
            #inner_sig #body
            let __c10k_rt = match #builder.build() {
                ::core::result::Result::Ok(rt) => rt,
                ::core::result::Result::Err(e) => ::core::panic!("#[{}]: cannot build the c10k runtime: {}", #what, e),
            };
            #run
        }
    };
    func.sig.asyncness = None;
    func.block = syn::parse2(new_body)?;
    let attr = match kind {
        Kind::Main => quote! {},
        Kind::Test => quote! { #[::core::prelude::v1::test] },
    };
    Ok(quote! {
        #attr
        #func
    })
}
