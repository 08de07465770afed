//! The vAPI operation registry: each operation is declared once — service and operation ids,
//! input and output types, REST method and path, task variant — and served three ways by
//! `dispatch.rs`: JSON-RPC on `POST /api`, REST `/api/…` and REST `/rest/…`. Adding a service
//! is declaring its operations and writing their handlers.
use std::future::Future;
use std::pin::Pin;

use ferrocenter_core::auth::Caller;
use ferrocenter_core::tasks::{Task, TaskKind};
use serde_json::{Map, Value};

use super::caller::Credentials;
use super::errors::ApiError;
use super::types::{Field, Ty, Union};

use crate::state::VapiState;

/// One REST binding of an operation: method, path (with `{param}` variables, relative to
/// `/api` or `/rest`), the `?action=` it answers to, and the parameter that is the whole body.
#[derive(Debug, Clone, Copy)]
pub struct Http {
    pub method: &'static str,
    pub path: &'static str,
    pub action: Option<&'static str>,
    pub body: Option<&'static str>,
}

pub const fn http(method: &'static str, path: &'static str) -> Http {
    Http {
        method,
        path,
        action: None,
        body: None,
    }
}

pub const fn http_action(method: &'static str, path: &'static str, action: &'static str) -> Http {
    Http {
        method,
        path,
        action: Some(action),
        body: None,
    }
}

/// A documented alias of an operation's REST body: a shape the management guide's curl lines
/// send that the SDK does not, read as the SDK's. `dispatch.rs` applies an operation's
/// aliases before it decodes the body, so the handler and the core see one input.
#[derive(Debug, Clone, Copy)]
pub enum BodyAlias {
    /// `{"<param>": value}` where the binding takes the parameter's value as the whole body
    /// (the guide's `{"spec": {…}}` on `/api`). Read only when the parameter's structure has
    /// no field of that name and the wrapper is the body's only key.
    Wrapped,
    /// A field of the parameter `param` sent as `alias`, read as `field` when `field` is not
    /// also given (the guide's `name` for `product_name`).
    Field {
        param: &'static str,
        alias: &'static str,
        field: &'static str,
    },
}

/// Whether an operation also exists as `<op>$task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskVariant {
    None,
    Also,
}

/// What a handler produced.
pub enum Out {
    /// The output, in native form.
    Value(Value),
    /// A core task: a `$task` call answers its id; a plain call waits and answers
    /// `Op::result` of the finished task.
    Task(Box<Task>),
    /// A new session's token (`/api` answers 201, `/rest` also sets the cookie).
    Session(String),
}

impl Out {
    pub fn task(t: Task) -> Out {
        Out::Task(Box::new(t))
    }
}

pub type Reply = Pin<Box<dyn Future<Output = Result<Out, ApiError>> + Send>>;

/// A call as every front door hands it to a handler.
pub struct Call {
    pub state: VapiState,
    pub creds: Credentials,
    /// The caller, authenticated before the handler runs unless the operation is public.
    pub authenticated: Option<Caller>,
    /// The operation's input, decoded and validated (unset optionals absent).
    pub input: Map<String, Value>,
    /// Called as `<op>$task`.
    pub as_task: bool,
    /// The caller's address, and the local address its connection came in on (`None` where
    /// the listener did not record them).
    pub peer: Option<std::net::IpAddr>,
    pub local: Option<std::net::IpAddr>,
    /// The wire form of the door it came through, for handlers that return opaque values
    /// (a task's result is written in its operation's output type).
    pub form: super::types::Form,
    /// Every operation served (a task's result is rendered in the output type of the
    /// operation that started it).
    pub catalog: &'static Catalog,
    /// The `Host` header, where the request had one.
    pub host: Option<String>,
}

impl Call {
    /// The authenticated caller: the session, or user and password for this call.
    pub async fn caller(&self) -> Result<Caller, ApiError> {
        match &self.authenticated {
            Some(c) => Ok(c.clone()),
            None => super::caller::resolve(&self.state, &self.creds)
                .await
                .map_err(ApiError::from),
        }
    }

    /// A required text parameter (present once input validation passed).
    pub fn text(&self, name: &str) -> &str {
        self.input.get(name).and_then(Value::as_str).unwrap_or("")
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.input.get(name)
    }
}

pub struct Op {
    pub service: &'static str,
    pub name: &'static str,
    pub input: &'static [Field],
    pub output: Ty,
    /// Its `/api` bindings (the first is the SDK's metadata; others are documented aliases).
    pub api: &'static [Http],
    /// Its `/rest` bindings; `None`: the `/api` ones under `/rest`.
    pub rest: Option<&'static [Http]>,
    pub task: TaskVariant,
    /// The core task kind this operation starts, so `cis.tasks` can name and render it.
    pub task_kind: Option<TaskKind>,
    /// The output of a finished task of this operation, in native form.
    pub result: fn(&Task) -> Value,
    pub handler: fn(Call) -> Reply,
    /// Takes whatever credentials come (session create, get, delete); every other operation
    /// authenticates its caller before its input is even read.
    pub public: bool,
    /// The documented aliases of its REST body (none for most).
    pub body_alias: &'static [BodyAlias],
}

/// An operation with the usual defaults: served under `/rest` at the `/api` paths, no task
/// form, authenticated callers only. Override with `Op { field: …, ..op(…) }`.
pub const fn op(
    service: &'static str,
    name: &'static str,
    input: &'static [Field],
    output: Ty,
    api: &'static [Http],
    handler: fn(Call) -> Reply,
) -> Op {
    Op {
        service,
        name,
        input,
        output,
        api,
        rest: None,
        task: TaskVariant::None,
        task_kind: None,
        result: no_result,
        handler,
        public: false,
        body_alias: &[],
    }
}

impl Op {
    pub fn id(&self) -> String {
        format!("{}.{}", self.service, self.name)
    }

    pub fn rest_bindings(&self) -> &'static [Http] {
        self.rest.unwrap_or(self.api)
    }
}

/// The result of an operation that is not task-backed.
pub fn no_result(_: &Task) -> Value {
    Value::Null
}

/// The operations served and the union rules of their inputs and replies. The registry defines
/// what a catalog is; `catalog.rs`, above the services, lists them — so the registry never
/// reaches into its services.
pub struct Catalog {
    /// Every service served, by API (cis, vcenter, appliance), in the order the coverage table
    /// lists them.
    pub groups: &'static [&'static [&'static [Op]]],
    /// The union rules of the structures these services take and return, checked on every
    /// input and reply.
    pub unions: &'static [&'static [&'static Union]],
}

impl Catalog {
    /// Every operation served, across services.
    pub fn all(&self) -> impl Iterator<Item = &'static Op> {
        self.groups
            .iter()
            .flat_map(|g| g.iter())
            .flat_map(|s| s.iter())
    }

    /// Every union rule of the replies.
    pub fn union_rules(&self) -> impl Iterator<Item = &'static Union> {
        self.unions.iter().flat_map(|g| g.iter().copied())
    }

    pub fn find(&self, service: &str, operation: &str) -> Option<&'static Op> {
        self.all()
            .find(|o| o.service == service && o.name == operation)
    }

    /// The operation that starts core tasks of `kind`.
    pub fn for_task_kind(&self, kind: TaskKind) -> Option<&'static Op> {
        self.all().find(|o| o.task_kind == Some(kind))
    }
}
