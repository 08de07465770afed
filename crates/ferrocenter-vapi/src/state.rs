//! What every vAPI handler of one listener shares.
use std::sync::Arc;

use ferrocenter_core::auth::Listener;
use ferrocenter_core::Core;

#[derive(Clone)]
pub struct VapiState {
    pub core: Arc<Core>,
    pub listener: Listener,
    pub max_body_bytes: usize,
}
