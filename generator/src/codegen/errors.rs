//! Collecting spanned errors so that every problem of an attribute is reported in one build.

use proc_macro2::{Span, TokenStream};

/// A list of spanned errors; each becomes one `compile_error!` at its span.
///
/// Checks push into it instead of returning early, so the user sees all problems at once.
#[derive(Debug, Default)]
pub struct Errors {
    list: Vec<syn::Error>,
}

impl Errors {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error with message `message` at `span`.
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.list.push(syn::Error::new(span, message));
    }

    /// Records an existing `syn::Error` (which may hold several messages).
    pub fn push_error(&mut self, error: syn::Error) {
        self.list.push(error);
    }

    /// True when no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The recorded errors combined into one `syn::Error`, or `Ok(value)` when there are none.
    pub fn finish<T>(self, value: T) -> syn::Result<T> {
        let mut iter = self.list.into_iter();
        match iter.next() {
            None => Ok(value),
            Some(mut first) => {
                for error in iter {
                    first.combine(error);
                }
                Err(first)
            }
        }
    }

    /// The recorded errors as `compile_error!` invocations.
    pub fn into_compile_errors(self) -> TokenStream {
        self.list.iter().map(syn::Error::to_compile_error).collect()
    }
}
