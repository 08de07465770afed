//! The vSphere Automation API binding: REST `/api` and `/rest`, and JSON-RPC on `POST /api`.
mod caller;
mod diagnostics;
mod dispatch;
pub mod errors;
pub mod openapi;
mod params;
mod registry;
mod services;
mod tasks;
pub mod types;
pub mod wire;

use axum::http::Method;
use axum::routing::{post, MethodRouter};
use axum::Router;


pub use errors::ApiError;
use wire::Flavor;

use std::sync::Arc;

use ferrocenter_core::auth::Listener;
use ferrocenter_core::Core;

/// What every vAPI handler of one listener shares.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub listener: Listener,
    pub max_body_bytes: usize,
}

/// Builds the router and, beside it, the table of (method, path) it serves, so tests and the
/// coverage documentation can be checked against what is really routed.
struct Routes {
    router: Router<AppState>,
    table: Vec<(Method, String)>,
}

impl Routes {
    fn add(
        mut self,
        path: impl Into<String>,
        methods: &[Method],
        handler: MethodRouter<AppState>,
    ) -> Self {
        let path = path.into();
        self.router = self.router.route(&path, handler);
        self.table
            .extend(methods.iter().map(|m| (m.clone(), path.clone())));
        self
    }
}

fn build(diagnostics: bool) -> Routes {
    let mut r = Routes {
        router: Router::new(),
        table: Vec::new(),
    }
    .add("/api", &[Method::POST], post(dispatch::rpc))
    .add(
        "/api/openapi.json",
        &[Method::GET],
        axum::routing::get(openapi::serve),
    );
    for flavor in [Flavor::Api, Flavor::Rest] {
        for (path, ops) in dispatch::rest_paths(flavor) {
            let mut methods: Vec<Method> = Vec::new();
            for (_, b) in ops.iter() {
                let m = Method::from_bytes(b.method.as_bytes()).expect("a declared HTTP method");
                if !methods.contains(&m) {
                    methods.push(m);
                }
            }
            let handler = dispatch::rest_handler(flavor, ops, &methods);
            r = r.add(path, &methods, handler);
        }
    }
    if diagnostics {
        r.add(
            "/api/ferrocenter/diagnostics/sleep".to_string(),
            &[Method::POST],
            post(diagnostics::api_sleep),
        )
    } else {
        r
    }
}

/// Every vAPI route.
pub fn routes(diagnostics: bool) -> Router<AppState> {
    build(diagnostics).router
}

/// The (method, path) pairs [`routes`] serves.
pub fn route_table(diagnostics: bool) -> Vec<(Method, String)> {
    build(diagnostics).table
}
