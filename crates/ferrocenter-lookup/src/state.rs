//! What the Lookup Service's handlers are given: the core and what the registrations advertise.
use std::sync::Arc;

use ferrocenter_core::lookup::Advertised;
use ferrocenter_core::Core;

#[derive(Clone)]
pub struct LookupState {
    pub core: Arc<Core>,
    pub advertised: Arc<Advertised>,
}
