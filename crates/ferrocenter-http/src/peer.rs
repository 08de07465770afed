//! The caller's network address, as the listener accepted the connection (axum's
//! `ConnectInfo`). Routers served without connect info (tests through `oneshot`) give `None`.
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The local address a connection was accepted on, put into every request of the connection
/// by the listener (the inbound firewall's `interface_name` and its lock-out check need it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAddr(pub SocketAddr);

/// The local address of the request's connection; `None` where the listener did not record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Local {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Local(parts.extensions.get::<LocalAddr>().map(|l| l.0.ip())))
    }
}
