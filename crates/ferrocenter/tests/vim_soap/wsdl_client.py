"""A WSDL-driven SOAP client (suds) against ferrocenter's /sdk: it builds its client from
https://SERVER/sdk/vimService.wsdl alone, then calls RetrieveServiceContent, Login (the session
cookie kept by suds' cookie jar) and RetrievePropertiesEx of the root folder's name, and prints
one JSON object. The server's self-signed certificate is trusted from CA_FILE (the certificate
itself) and verified, host name included.

usage: wsdl_client.py https://HOST:PORT CA_FILE USER PASSWORD
"""
import json
import ssl
import sys
import urllib.request

from suds.client import Client
from suds.transport.https import HttpTransport


class CaFileHttps(HttpTransport):
    """suds' transport (its cookie jar keeps the session) trusting the certificate in CA_FILE."""

    def __init__(self, ca_file):
        super().__init__()
        self.ca_file = ca_file

    def u2handlers(self):
        handlers = super().u2handlers()
        context = ssl.create_default_context(cafile=self.ca_file)
        handlers.append(urllib.request.HTTPSHandler(context=context))
        return handlers


def main():
    base, ca_file, user, password = sys.argv[1:5]
    client = Client(base + "/sdk/vimService.wsdl", transport=CaFileHttps(ca_file), cache=None)
    service = client.service

    def moref(kind, value):
        r = client.factory.create("ns0:ManagedObjectReference")
        r.value = value
        r._type = kind
        return r

    content = service.RetrieveServiceContent(moref("ServiceInstance", "ServiceInstance"))
    session = service.Login(content.sessionManager, userName=user, password=password)

    prop = client.factory.create("ns0:PropertySpec")
    prop.type = "Folder"
    prop.pathSet = ["name"]
    obj = client.factory.create("ns0:ObjectSpec")
    obj.obj = content.rootFolder
    obj.skip = False
    spec = client.factory.create("ns0:PropertyFilterSpec")
    spec.propSet = [prop]
    spec.objectSet = [obj]
    options = client.factory.create("ns0:RetrieveOptions")
    result = service.RetrievePropertiesEx(content.propertyCollector, specSet=[spec], options=options)
    root = result.objects[0]
    print(
        json.dumps(
            {
                "apiType": content.about.apiType,
                "rootFolder": {"type": content.rootFolder._type, "value": content.rootFolder.value},
                "sessionUser": session.userName,
                "operations": len(client.wsdl.services[0].ports[0].methods),
                "root": {"obj": root.obj.value, "name": root.propSet[0].name, "val": root.propSet[0].val},
            }
        )
    )


main()
