"""The seed's Lookup Service examples (seeds/003 chapter 2) with suds against the real server.

Usage: find_endpoints.py BASE_URL CA_FILE INSTANCE_NAME

suds loads the WSDL the server serves and verifies the server's self-signed certificate against
CA_FILE (the certificate itself): the transport below hands urllib an SSL context made from it,
rather than turning verification off. Prints one JSON object for the Rust test to check.
"""
import json
import ssl
import sys
import urllib.request

from suds import WebFault
from suds.client import Client
from suds.transport.https import HttpTransport

base_url, ca_file, instance_name = sys.argv[1:4]
wsdl_url = base_url + "/lookupservice/wsdl/lookup.wsdl"
ls_url = base_url + "/lookupservice/sdk"


class CaFileTransport(HttpTransport):
    """HTTPS that trusts the server certificate in CA_FILE (and verifies the host name)."""

    def u2handlers(self):
        handlers = HttpTransport.u2handlers(self)
        context = ssl.create_default_context(cafile=ca_file)
        handlers.append(urllib.request.HTTPSHandler(context=context))
        return handlers


# 1 - Create SOAP client object to communicate with the Lookup Service.
my_ls_stub = Client(url=wsdl_url, location=ls_url, transport=CaFileTransport(), cache=None)

# 2 - Configure service & port type for client transaction.
my_ls_stub.set_options(service="LsService", port="LsPort")

# 3 - Manufacture a managed object reference.
managed_object_ref = my_ls_stub.factory.create("ns0:ManagedObjectReference")
managed_object_ref._type = "LookupServiceInstance"
managed_object_ref.value = "ServiceInstance"

# 4 - Retrieve the ServiceContent object.
ls_service_content = my_ls_stub.service.RetrieveServiceContent(managed_object_ref)

# 5 - Retrieve the service registration object.
service_registration = ls_service_content.serviceRegistration


def lookup_service_infos(prod, svc_type, proto, ep_type, node_id="*"):
    # 1 - Create a filter criterion for service info.
    filter_service_type = my_ls_stub.factory.create("ns0:LookupServiceRegistrationServiceType")
    filter_service_type.product = prod
    filter_service_type.type = svc_type

    # 2 - Create a filter criterion for endpoint info.
    filter_endpoint_type = my_ls_stub.factory.create("ns0:LookupServiceRegistrationEndpointType")
    filter_endpoint_type.protocol = proto
    filter_endpoint_type.type = ep_type

    # 3 - Create the registration filter object.
    filter_criteria = my_ls_stub.factory.create("ns0:LookupServiceRegistrationFilter")
    filter_criteria.serviceType = filter_service_type
    filter_criteria.endpointType = filter_endpoint_type
    if node_id != "*":
        filter_criteria.nodeId = node_id

    # 4 - Retrieve specified service info with the List() method.
    service_infos = my_ls_stub.service.List(service_registration, filter_criteria)
    return service_infos


def get_mgmt_node_id(node_instance_name):
    # 1 - List the vCenter Server instances.
    mgmt_node_infos = lookup_service_infos(
        prod="com.vmware.cis",
        svc_type="vcenterserver",
        proto="vmomi",
        ep_type="com.vmware.vim",
        node_id="*",
    )

    # 2 - Find the matching node name and save the ID.
    for node in mgmt_node_infos:
        for attribute in node.serviceAttributes:
            if attribute.key == "com.vmware.vim.vcenter.instanceName":
                if attribute.value == node_instance_name:
                    return node.nodeId


my_mgmt_node_id = get_mgmt_node_id(instance_name)

service_infos = lookup_service_infos(
    prod="com.vmware.cis",
    svc_type="cs.vapi",
    proto="vapi.json.https.public",
    ep_type="com.vmware.vapi.endpoint",
    node_id=my_mgmt_node_id,
)
my_vapi_url = service_infos[0].serviceEndpoints[0].url

vim_infos = lookup_service_infos("com.vmware.cis", "vcenterserver", "vmomi", "com.vmware.vim")
sso_infos = lookup_service_infos(
    "com.vmware.cis", "cs.identity", "wsTrust", "com.vmware.cis.cs.identity.sso"
)
other_node = lookup_service_infos(
    "com.vmware.cis", "cs.vapi", "vapi.json.https.public", "com.vmware.vapi.endpoint",
    node_id="no-such-node",
)

# List with no filter: every registration.
everything = my_ls_stub.service.List(service_registration)

# Get one registration by its service id, then one that does not exist.
vim_id = vim_infos[0].serviceId
got = my_ls_stub.service.Get(service_registration, vim_id)
try:
    my_ls_stub.service.Get(service_registration, "no-such-service")
    missing_fault = None
except WebFault as e:
    missing_fault = {"faultstring": str(e.fault.faultstring)}
    detail = getattr(e.fault, "detail", None)
    if detail is not None:
        missing_fault["detail"] = sorted(k for k in detail.__keylist__)

site_id = my_ls_stub.service.GetSiteId(service_registration)

print(json.dumps({
    "service_registration": [service_registration._type, service_registration.value],
    "lookup_service": [ls_service_content.lookupService._type, ls_service_content.lookupService.value],
    "node_id": my_mgmt_node_id,
    "vapi_url": my_vapi_url,
    "vapi_count": len(service_infos),
    "vapi_ssl_trust": len(service_infos[0].serviceEndpoints[0].sslTrust),
    "vim_url": vim_infos[0].serviceEndpoints[0].url,
    "vim_count": len(vim_infos),
    "sso_count": len(sso_infos),
    "sso_url": sso_infos[0].serviceEndpoints[0].url if sso_infos else None,
    "other_node_count": len(other_node),
    "all": sorted(
        [i.serviceType.product, i.serviceType.type, i.serviceEndpoints[0].endpointType.protocol,
         i.serviceEndpoints[0].url]
        for i in everything
    ),
    "get": {
        "service_id": got.serviceId,
        "type": got.serviceType.type,
        "node_id": got.nodeId,
        "site_id": got.siteId,
        "url": got.serviceEndpoints[0].url,
    },
    "missing_fault": missing_fault,
    "site_id": site_id,
}))
