"""schemathesis checks for vAPI's /api (loaded by tests/openapi_conformance.rs).

vAPI answers HTTP 400 both for a request it cannot take (invalid_argument, invalid_request,
unexpected_input) and for a well-formed request the current state does not allow
(already_in_desired_state, not_allowed_in_current_state, resource_in_use, ...; reference §7).
schemathesis' positive_data_acceptance cannot tell them apart, so the run lets 400 pass there and
this check fails a schema-valid request refused as malformed.
"""
import json
import re

import schemathesis

REQUEST_ERRORS = {"INVALID_ARGUMENT", "INVALID_REQUEST", "UNEXPECTED_INPUT"}

# Argument errors no schema can state: (operation, field); a list index in the field is `[*]`.
BEYOND_SCHEMA = {
    # The inventory: a host goes to the datacenter of the host folder named, or without one to
    # the only datacenter there is; an id naming another kind of folder, or none while there are
    # several datacenters, is refused naming spec.folder (vCenter: "if the host folder is
    # invalid").
    ("POST /api/vcenter/host", "spec.folder"),
    # The content of a certificate: a string is a PEM certificate only if its armour holds a
    # parsable DER certificate.
    ("POST /api/vcenter/host", "spec.ssl_certificate"),
    # Local accounts: the name 'global-policy' is reserved in any letter case (its REST path is
    # the policy's), which a pattern without look-ahead cannot state.
    ("POST /api/appliance/local-accounts/{username}", "username"),
    # The inbound firewall: a prefix is 0 to 128, but at most 32 when the same rule's address
    # is IPv4 — a bound on one field that depends on another. List indexes are left out
    # (`rules[2].prefix` is listed as `rules[].prefix`).
    ("PUT /api/appliance/networking/firewall/inbound", "rules[].prefix"),
    # Statistics: an item id must name a monitored item (the catalogue depends on the machine's
    # filesystems and interfaces); the start must not be after the end; and one item's answer
    # holds at most 13 months of five-minute intervals (a longer span is refused naming the end).
    ("GET /api/appliance/monitoring/query", "item.names[]"),
    ("GET /api/appliance/monitoring/query", "item.start_time"),
    ("GET /api/appliance/monitoring/query", "item.end_time"),
    # VMs: a new VM must be placed (a host, a cluster, a resource pool, or a folder of a
    # datacenter, each naming one that exists: which one is enough depends on the others and on
    # the inventory), its name is unique in its datacenter, its datastore and networks must be
    # the chosen host's, its size is within the hypervisor's bounds (1–768 vCPUs, 4 MiB–24 TiB),
    # which vAPI's `long` does not carry, and its guest OS is an identifier (the document keeps
    # vSphere's open-ended guest OS enumeration as a string). A disk is new_vmdk or a backing
    # (one of two fields), and a backing's vmdk_file is `[datastore] name`: a datastore the chosen
    # host sees and an image's file name on it.
    ("POST /api/vcenter/vm", "spec.placement"),
    ("POST /api/vcenter/vm", "spec.placement.folder"),
    ("POST /api/vcenter/vm", "spec.placement.host"),
    ("POST /api/vcenter/vm", "spec.placement.cluster"),
    ("POST /api/vcenter/vm", "spec.placement.datastore"),
    ("POST /api/vcenter/vm", "spec.placement.resource_pool"),
    ("POST /api/vcenter/vm", "spec.name"),
    ("POST /api/vcenter/vm", "spec.guest_OS"),
    ("POST /api/vcenter/vm", "spec.cpu.count"),
    ("POST /api/vcenter/vm", "spec.memory.size_MiB"),
    ("POST /api/vcenter/vm", "spec.disks[].new_vmdk.capacity"),
    ("POST /api/vcenter/vm", "spec.disks[]"),
    ("POST /api/vcenter/vm", "spec.disks[].backing.vmdk_file"),
    ("POST /api/vcenter/vm", "spec.nics[].backing.network"),
    ("PATCH /api/vcenter/vm/{vm}/hardware/cpu", "spec.count"),
    ("PATCH /api/vcenter/vm/{vm}/hardware/memory", "spec.size_MiB"),
    # Backup locations: a location is a URL whose scheme names a location type (or an absolute
    # path), and the server there must answer, take the login and hold what is asked for; a
    # backup password must open the archive. That depends on the world outside the request.
    ("GET /api/appliance/recovery/backup/system-name", "location"),
    ("GET /api/appliance/recovery/backup/system-name/{system_name}/archives", "location"),
    ("GET /api/appliance/recovery/backup/system-name/{system_name}/archives/{archive}", "location"),
    ("POST /api/appliance/recovery/restore/validate", "location"),
    ("POST /api/appliance/recovery/restore/validate", "location_password"),
    ("POST /api/appliance/recovery/restore/validate", "backup_password"),
    ("POST /api/appliance/recovery/restore/validate", "parts"),
    # Update planning: a version must be in one of the product's release lines in the catalog
    # (a rule between two fields), deployments are compared without letter case, and a product
    # discovered from the hosts cannot be changed.
    ("POST /api/vcenter/lcm/discovery/associated-products", "spec.version"),
    ("POST /api/vcenter/lcm/discovery/associated-products", "spec.deployments[]"),
    ("PATCH /api/vcenter/lcm/discovery/associated-products/{product}", "spec.deployments[]"),
    ("PATCH /api/vcenter/lcm/discovery/associated-products/{product}", "product"),
    ("DELETE /api/vcenter/lcm/discovery/associated-products/{product}", "product"),
    ("DELETE /api/vcenter/lcm/discovery/products/{product}", "product"),
    # The update policy: a repository URL is http or https with a host and no login inside it;
    # a password needs a username, staging automatically needs a check schedule, and a check
    # time is listed once: rules between fields or on a URL's parts.
    ("PUT /api/appliance/update/policy", "policy.custom_URL"),
    ("PUT /api/appliance/update/policy", "policy.username"),
    ("PUT /api/appliance/update/policy", "policy.password"),
    ("PUT /api/appliance/update/policy", "policy.auto_stage"),
    ("PUT /api/appliance/update/policy", "policy.check_schedule[]"),
    # The update service: `url` is an http(s) repository (or, absent, one must be configured:
    # the policy's, the server's default or a local source); ferrocenter has no components,
    # so any `component` is refused.
    ("GET /api/appliance/update/pending", "url"),
    ("GET /api/appliance/update/pending", "source_type"),
    ("GET /api/appliance/update/pending/{version}", "component"),
    ("POST /api/appliance/update/pending/{version}", "component"),
}
ACCOUNT_WRITES = (
    "POST /api/appliance/local-accounts/{username}",
    "PUT /api/appliance/local-accounts/{username}",
    "PATCH /api/appliance/local-accounts/{username}",
)
BEYOND_SCHEMA |= {
    (op, field)
    for op in ACCOUNT_WRITES
    for field in (
        # The password must meet the policy in force, which the server holds.
        "config.password",
        # Changing one's own password needs the current one.
        "config.old_password",
        # min_days must not exceed max_days (given or the policy's); an expiry date needs an
        # expiring password: rules between fields.
        "config.min_days_between_password_change",
        "config.password_expires_at",
        # The last local superAdmin that can log in may not be demoted, disabled or expired:
        # a rule over the other accounts.
        "config.roles",
        "config.enabled",
        "config.password_expires",
        "config.max_days_between_password_change",
        # An e-mail's domain is at most 253 characters of labels of at most 63, beyond the
        # format's own check.
        "config.email",
    )
}
BEYOND_SCHEMA |= {
    ("PUT /api/appliance/local-accounts/global-policy", field)
    for field in (
        # min_days must not exceed max_days; max_days may not expire every superAdmin's
        # password; the character counts together must fit the longest password.
        "policy.min_days",
        "policy.max_days",
        "policy.minimum_special_char_count",
    )
}


@schemathesis.check
def valid_request_not_refused_as_malformed(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        error = json.loads(response.content)
        error_type = error.get("error_type")
        field = next(iter(error["messages"][0]["args"]), None)
    except (ValueError, AttributeError, KeyError, IndexError, TypeError):
        error_type, field = None, None
    if isinstance(field, str):
        field = re.sub(r"\[\d+\]", "[]", field)
    if (case.operation.label, field) in BEYOND_SCHEMA:
        return None
    if error_type in REQUEST_ERRORS or error_type is None:
        raise AssertionError(
            f"a request the schema allows was refused as {error_type or 'not a vAPI error'}: "
            f"{response.content.decode(errors='replace')[:400]}"
        )
    return None
