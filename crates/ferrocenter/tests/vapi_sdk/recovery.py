"""Backs ferrocenter up and restores it with the unmodified official vSphere Automation SDK.

Usage:
  recovery.py backup MAIN USER PASSWORD LOCATION_TYPE LOCATION [LOC_USER LOC_PASSWORD]
  recovery.py restore APPLIANCE ROOT_PASSWORD LOCATION_TYPE LOCATION [LOC_USER LOC_PASSWORD]

`backup` logs in on the main listener (443) with a session, reads the parts and their sizes,
starts `backup_client.Job.create` with the optional part `seat` and a backup password, follows
the job to its end, and checks what `validate`, `Job.list`, and `details` say afterwards.
`restore` talks to a freshly started server's appliance listener (5480) with the user name
and password on every call, as the seed's restore sample does: it validates the archive with a
wrong and then the right backup password, starts `restore_client.Job.create`, and keeps polling
through the restart until the job has ended, then follows the reconciliation job.
Prints one JSON object of what the SDK saw; a fault the run provokes is recorded by its class.
"""
import json
import sys
import time

import requests

from com.vmware.appliance.recovery.backup_client import Job, Parts
from com.vmware.appliance.recovery.backup.job_client import Details
from com.vmware.appliance.recovery.reconciliation_client import Job as ReconciliationJob
from com.vmware.appliance.recovery.restore_client import Job as RestoreJob
from com.vmware.appliance.recovery_client import Backup, Restore
from com.vmware.cis_client import Session
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.session import create_session_security_context
from vmware.vapi.security.user_password import create_user_password_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory

BACKUP_PW = "Backup-Secret-1"


def http():
    s = requests.Session()
    s.verify = False
    s.trust_env = False
    return s


def stub(server, ctx):
    connector = get_requests_connector(session=http(), url="https://%s/api" % server)
    connector.set_security_context(ctx)
    return StubConfigurationFactory.new_std_configuration(connector)


def fault(f):
    try:
        f()
        return None
    except Exception as e:  # the class name is what the test checks
        return type(e).__name__


def location_args(cls, argv):
    loc_type, loc = argv[0], argv[1]
    user = argv[2] if len(argv) > 2 else None
    pw = argv[3] if len(argv) > 3 else None
    return cls.LocationType(loc_type), loc, user, pw


def backup(argv):
    main, user, password = argv[0], argv[1], argv[2]
    login = stub(main, create_user_password_security_context(user, password))
    token = Session(login).create()
    cfg = stub(main, create_session_security_context(token))
    out = {}
    parts = Parts(cfg).list()
    out["parts"] = sorted(p.id for p in parts)
    out["optional"] = sorted(p.id for p in parts if p.optional)
    out["sizes_kb"] = {p.id: Parts(cfg).get(p.id) for p in parts}
    loc_type, loc, loc_user, loc_pw = location_args(Job, argv[3:])

    req = Job.BackupRequest(
        parts=["seat"],
        backup_password=BACKUP_PW,
        location_type=loc_type,
        location=loc,
        location_user=loc_user,
        location_password=loc_pw,
        comment="sdk backup",
    )
    vreq = Backup.BackupRequest(
        parts=["seat"],
        backup_password=BACKUP_PW,
        location_type=Backup.LocationType(loc_type),
        location=loc,
        location_user=loc_user,
        location_password=loc_pw,
    )
    out["validate_before"] = Backup(cfg).validate(vreq).status
    job = Job(cfg)
    status = job.create(req)
    out["created_state"] = status.state
    deadline = time.time() + 120
    while status.state == Job.BackupRestoreProcessState.INPROGRESS and time.time() < deadline:
        time.sleep(0.2)
        status = job.get(status.id)
    out["job_id"] = status.id
    out["final_state"] = status.state
    out["final_progress"] = status.progress
    out["messages"] = [m.default_message for m in status.messages]
    out["has_end_time"] = status.end_time is not None
    out["listed"] = status.id in job.list()
    details = Details(cfg).list(Details.FilterSpec(jobs=set([status.id])))
    d = details[status.id]
    out["details"] = {"status": d.status, "type": d.type, "location": d.location,
                      "size": d.size, "user": d.location_user}
    out["validate_after"] = Backup(cfg).validate(vreq).status
    out["second_job_same_place"] = fault(lambda: job.create(req))
    out["bad_part"] = fault(lambda: job.create(Job.BackupRequest(
        parts=["nope"], location_type=loc_type, location=loc + "-other",
        location_user=loc_user, location_password=loc_pw)))
    out["missing_job"] = fault(lambda: job.get("0" * 32))
    if loc_pw is not None:
        out["wrong_location_password"] = fault(lambda: job.create(Job.BackupRequest(
            parts=[], location_type=loc_type, location=loc + "-other",
            location_user=loc_user, location_password=loc_pw + "-wrong")))
    Session(cfg).delete()
    print(json.dumps(out))


def restore(argv):
    appliance, root_pw = argv[0], argv[1]
    cfg = stub(appliance, create_user_password_security_context("root", root_pw))
    loc_type, loc, loc_user, loc_pw = location_args(RestoreJob, argv[2:])
    out = {}

    def vreq(pw):
        return Restore.RestoreRequest(
            backup_password=pw, location_type=Restore.LocationType(loc_type),
            location=loc, location_user=loc_user, location_password=loc_pw)

    out["validate_wrong_password"] = fault(lambda: Restore(cfg).validate(vreq("wrong-password")))
    out["validate_no_password"] = fault(lambda: Restore(cfg).validate(vreq(None)))
    meta = Restore(cfg).validate(vreq(BACKUP_PW))
    out["metadata"] = {"parts": sorted(meta.parts), "applicable": meta.applicable,
                       "comment": meta.comment, "version": meta.version,
                       "boxname": meta.boxname}
    out["state_before"] = RestoreJob(cfg).get().state
    job = RestoreJob(cfg)
    status = job.create(RestoreJob.RestoreRequest(
        backup_password=BACKUP_PW, location_type=loc_type, location=loc,
        location_user=loc_user, location_password=loc_pw))
    out["created_state"] = status.state
    # The server restarts its services during the restore: errors until it is back (the seed).
    errors = 0
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            status = RestoreJob(cfg).get()
            if status.state != RestoreJob.BackupRestoreProcessState.INPROGRESS:
                break
        except Exception:
            errors += 1
        time.sleep(0.3)
    out["final_state"] = status.state
    out["final_progress"] = status.progress
    out["restored_parts"] = sorted(status.parts or [])
    out["saw_restart"] = errors > 0
    rec = None
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            rec = ReconciliationJob(cfg).get()
            if rec.status in ("SUCCEEDED", "FAILED"):
                break
        except Exception:
            pass
        time.sleep(0.3)
    out["reconciliation"] = rec.status if rec else None
    out["reconciliation_messages"] = [m.default_message for m in rec.messages] if rec else []
    print(json.dumps(out))


if __name__ == "__main__":
    {"backup": backup, "restore": restore}[sys.argv[1]](sys.argv[2:])
