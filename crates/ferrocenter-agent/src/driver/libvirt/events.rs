//! libvirt's domain lifecycle events, turned into `DriverEvent::VmChanged`: libvirt's default
//! event loop runs on a thread of its own (it must be registered before a connection opens),
//! and a callback per connection sends the domain's uuid. Where events cannot be registered the
//! supervisor polls domain states instead (`poll`).
use std::collections::HashMap;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::Once;

use tokio::sync::mpsc::UnboundedSender;
use tracing::warn;
use virt::connect::Connect;
use virt::sys;

use super::Conn;
use crate::driver::DriverEvent;

static EVENT_LOOP: Once = Once::new();

/// Registers libvirt's default event loop and runs it on a thread, and silences libvirt's
/// own error printing (once per process).
pub(super) fn start_event_loop() {
    EVENT_LOOP.call_once(|| {
        // libvirt prints every error to stderr by default; the driver reports them itself
        // (and expects some, such as a lookup of a name that is free).
        virt::error::clear_error_callback();
        if let Err(e) = virt::event::event_register_default_impl() {
            warn!(error = %e.message(), "libvirt's event loop could not be registered");
            return;
        }
        let _ = std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(|| loop {
                if virt::event::event_run_default_impl().is_err() {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            });
    });
}

fn uuid_of(dom: sys::virDomainPtr) -> Option<String> {
    // VIR_UUID_STRING_BUFLEN
    let mut buf = [0 as c_char; 37];
    // SAFETY: `dom` is the live domain libvirt passed to the callback; the buffer has the
    // length the call requires and is NUL-terminated by it on success.
    unsafe {
        if sys::virDomainGetUUIDString(dom, buf.as_mut_ptr()) != 0 {
            return None;
        }
        Some(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
    }
}

unsafe extern "C" fn on_lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _event: c_int,
    _detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    // SAFETY: `opaque` is the boxed sender `watch` registered, freed only by `free_sender`.
    let tx = unsafe { &*(opaque as *const UnboundedSender<DriverEvent>) };
    if let Some(uuid) = uuid_of(dom) {
        let _ = tx.send(DriverEvent::VmChanged { uuid });
    }
    0
}

unsafe extern "C" fn free_sender(opaque: *mut c_void) {
    // SAFETY: the pointer came from `Box::into_raw` in `watch` and libvirt frees it once.
    drop(unsafe { Box::from_raw(opaque as *mut UnboundedSender<DriverEvent>) });
}

/// Subscribes to the connection's domain lifecycle events; false when libvirt refused (the
/// caller polls instead). Also turns on keepalive, so a dead daemon is noticed.
pub(super) fn watch(conn: &Conn, tx: UnboundedSender<DriverEvent>) -> bool {
    let c = conn.0.as_ptr();
    let opaque = Box::into_raw(Box::new(tx)) as *mut c_void;
    // SAFETY: a live connection; the callback and free function match libvirt's signatures;
    // on failure libvirt did not take `opaque`, so it is freed here.
    unsafe {
        if sys::virConnectDomainEventRegister(c, Some(on_lifecycle), opaque, Some(free_sender)) != 0
        {
            free_sender(opaque);
            return false;
        }
        sys::virConnectSetKeepAlive(c, 5, 3);
    }
    true
}

/// One polling round: a `VmChanged` for every domain whose state changed, appeared or went.
pub(super) fn poll(
    conn: &Connect,
    last: &mut HashMap<String, u32>,
    tx: &UnboundedSender<DriverEvent>,
) {
    let Ok(domains) = conn.list_all_domains(0) else {
        return;
    };
    let mut now = HashMap::new();
    for d in domains {
        if let (Ok(uuid), Ok((state, _))) = (d.get_uuid_string(), d.get_state()) {
            now.insert(uuid, state);
        }
    }
    for (uuid, state) in &now {
        if last.get(uuid) != Some(state) {
            let _ = tx.send(DriverEvent::VmChanged { uuid: uuid.clone() });
        }
    }
    for uuid in last.keys().filter(|u| !now.contains_key(*u)) {
        let _ = tx.send(DriverEvent::VmChanged { uuid: uuid.clone() });
    }
    *last = now;
}
