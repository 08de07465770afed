//! Plumbing the protocol bindings share: reading request bodies, the wire time format, the
//! VI/JSON releases served, request logging. It holds no rule of the control plane and no
//! binding; a binding crate depends on this one and on the core, never on another binding.

pub mod body;
pub mod releases;
pub mod time;
