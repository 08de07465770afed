//! The events the event log holds (QueryEvents, EventManager.latestEvent), with the fields the
//! binding renders. Every kind the core records is declared: `undeclared` would name one that
//! is not: the core's kinds that vim25 names otherwise are rendered as vim25's
//! (`render::vim_event_type`). vim25 requires a few
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
    data("VmCreatedEvent", Some("VmEvent"), &[]),
    data("VmRemovedEvent", Some("VmEvent"), &[]),
    data("VmReconfiguredEvent", Some("VmEvent"), &[]),
    // The core's HostNotRespondingEvent (an agent that stopped answering) is vim25's
    // HostConnectionLostEvent.
    data("HostConnectionLostEvent", Some("HostEvent"), &[]),
    // vim25's extensible event: a kind the core records that vim25 has no type for (a sensor
    // change) goes as an EventEx whose eventTypeId is the kind.
    data(
        "EventEx",
        Some("Event"),
        &[
            req("eventTypeId", Str),
            opt("severity", Str),
            opt("message", Str),
            opt("objectId", Str),
            opt("objectType", Str),
            opt("objectName", Str),
        ],
    ),
];
