//! The events the event log holds (QueryEvents, EventManager.latestEvent), with the fields the
//! binding renders. Every kind the core records is declared: `undeclared` would name one that
//! is not. Two kinds are ferrocenter's own, not vim25's (marked below). vim25 requires a few
//! fields the event log does not hold (`VmEvent.template`, `VmMigratedEvent.sourceHost`,
//! `GeneralEvent.message`, `HostShutdownEvent.reason`, `AccountUpdatedEvent.spec` and
//! `.group`): they are not rendered, so they are not declared.
use super::decl::Ty::{Data, DateTime, Int, MoRef, Str};
use super::decl::{data, opt, req, DataType};

pub static EVENT_TYPES: &[DataType] = &[
    data(
        "Event",
        Some("DynamicData"),
        &[
            req("key", Int),
            req("chainId", Int),
            req("createdTime", DateTime),
            req("userName", Str),
            opt("datacenter", Data("DatacenterEventArgument")),
            opt("computeResource", Data("ComputeResourceEventArgument")),
            opt("host", Data("HostEventArgument")),
            opt("vm", Data("VmEventArgument")),
            opt("fullFormattedMessage", Str),
        ],
    ),
    data("EventArgument", Some("DynamicData"), &[]),
    data(
        "EntityEventArgument",
        Some("EventArgument"),
        &[req("name", Str)],
    ),
    data(
        "HostEventArgument",
        Some("EntityEventArgument"),
        &[req("host", MoRef)],
    ),
    data(
        "ComputeResourceEventArgument",
        Some("EntityEventArgument"),
        &[req("computeResource", MoRef)],
    ),
    data(
        "DatacenterEventArgument",
        Some("EntityEventArgument"),
        &[req("datacenter", MoRef)],
    ),
    data(
        "VmEventArgument",
        Some("EntityEventArgument"),
        &[req("vm", MoRef)],
    ),
    data("HostEvent", Some("Event"), &[]),
    data("VmEvent", Some("Event"), &[]),
    data("GeneralEvent", Some("Event"), &[]),
    data("GeneralHostWarningEvent", Some("GeneralEvent"), &[]),
    data("HostConnectedEvent", Some("HostEvent"), &[]),
    data(
        "HostDisconnectedEvent",
        Some("HostEvent"),
        &[opt("reason", Str)],
    ),
    data("HostRemovedEvent", Some("HostEvent"), &[]),
    data("HostShutdownEvent", Some("HostEvent"), &[]),
    data("HostReconnectionFailedEvent", Some("HostEvent"), &[]),
    data("HostCnxFailedAccountFailedEvent", Some("HostEvent"), &[]),
    data("EnteredMaintenanceModeEvent", Some("HostEvent"), &[]),
    data("EnteringMaintenanceModeEvent", Some("HostEvent"), &[]),
    data("ExitMaintenanceModeEvent", Some("HostEvent"), &[]),
    data("AccountUpdatedEvent", Some("HostEvent"), &[]),
    data("VmMigratedEvent", Some("VmEvent"), &[]),
    // Not vim25 types: the core records these kinds (an agent that stopped answering, a
    // sensor change). vim25 clients that know only vim25's types cannot read them.
    data("HostNotRespondingEvent", Some("HostEvent"), &[]),
    data("HostSensorChangedEvent", Some("HostEvent"), &[]),
];
