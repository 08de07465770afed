//! Every vAPI route, built from the catalog, for any router whose state hands out a
//! [`VapiState`].
use axum::extract::FromRef;
use axum::http::Method;
use axum::routing::{post, MethodRouter};
use axum::Router;

use crate::catalog;
use crate::registry::Catalog;
use crate::state::VapiState;
use crate::wire::Flavor;
use crate::{accounts, diagnostics, dispatch, openapi};

/// Builds the router and, beside it, the table of (method, path) it serves, so tests and the
/// coverage documentation can be checked against what is really routed.
struct Routes<S> {
    router: Router<S>,
    table: Vec<(Method, String)>,
}

impl<S> Routes<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn add(
        mut self,
        path: impl Into<String>,
        methods: &[Method],
        handler: MethodRouter<S>,
    ) -> Self {
        let path = path.into();
        self.router = self.router.route(&path, handler);
        self.table
            .extend(methods.iter().map(|m| (m.clone(), path.clone())));
        self
    }
}

fn build<S>(catalog: &'static Catalog, diagnostics: bool) -> Routes<S>
where
    S: Clone + Send + Sync + 'static,
    VapiState: FromRef<S>,
{
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
        for (path, ops) in dispatch::rest_paths(catalog, flavor) {
            let mut methods: Vec<Method> = Vec::new();
            #[allow(
                clippy::expect_used,
                reason = "methods come from the operations' static declarations"
            )]
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
pub fn routes<S>(diagnostics: bool) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    VapiState: FromRef<S>,
{
    build(&catalog::MAIN, diagnostics).router
}

/// The vAPI routes of the appliance listener: its catalog's, and the account unlock only the
/// appliance's root may call.
pub fn appliance_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    VapiState: FromRef<S>,
{
    build(&catalog::APPLIANCE, false)
        .add(
            accounts::UNLOCK_PATH,
            &[Method::POST],
            post(accounts::api_unlock),
        )
        .router
}

/// The (method, path) pairs [`routes`] serves.
pub fn route_table(diagnostics: bool) -> Vec<(Method, String)> {
    build::<VapiState>(&catalog::MAIN, diagnostics).table
}

/// The (method, path) pairs [`appliance_routes`] serves.
pub fn appliance_route_table() -> Vec<(Method, String)> {
    build::<VapiState>(&catalog::APPLIANCE, false)
        .add(
            accounts::UNLOCK_PATH,
            &[Method::POST],
            post(accounts::api_unlock),
        )
        .table
}
