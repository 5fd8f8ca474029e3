//! The Kubernetes API: a client configured as kubectl would be ([`Kube::connect`]),
//! untyped paged access to objects by reference ([`ObjectRef`], [`Collection`]),
//! watches, the metadata every object has, and what can go wrong ([`Error`]).

pub mod api;
pub mod client;
pub mod error;
pub mod exec_auth;
pub mod names;
pub mod object;
pub mod selector;
mod throttle;
pub mod watch;

pub use api::{Collection, Kube, ObjectRef, Selector};
pub use client::ConnectOptions;
pub use error::{Error, Result};

#[cfg(test)]
mod tests;
