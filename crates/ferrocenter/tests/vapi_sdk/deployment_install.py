"""Sets up a server started with --await-setup with the unmodified official vSphere Automation SDK
for Python, as seeds/003 chapter 5 describes install stage 2: `vcenter_client.Deployment.get`
for the state, `deployment_client.Install.check` and `.start`, and `deployment_client.Question`
for the question the setup raises, answered by hand, until CONFIGURED. Every call authenticates
as local root with a user-password security context (no session), as the guide's requests do.

Usage: deployment_install.py APPLIANCE_SERVER ROOT_PASSWORD SSO_PASSWORD ANSWER
where ANSWER is the answer given to every question raised (YES or NO).
Prints one JSON object with what the SDK saw.
"""
import json
import sys
import time

import requests
import urllib3

from com.vmware.vcenter.deployment_client import Install, Question, StandaloneSpec
from com.vmware.vcenter_client import Deployment
from com.vmware.vapi.std.errors_client import (
    InvalidArgument,
    NotAllowedInCurrentState,
    Unauthenticated,
)
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.user_password import create_user_password_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory


def stub_config(server, user, password):
    """A stub configuration on https://server/api whose every call carries user and password."""
    session = requests.Session()
    session.verify = False  # the test server's certificate is self-signed
    session.trust_env = False
    config = StubConfigurationFactory.new_std_configuration(
        get_requests_connector(session=session, url="https://" + server + "/api")
    )
    config.connector.set_security_context(
        create_user_password_security_context(user, password)
    )
    return config


def install_spec(password, domain="vsphere.local", auto_answer=False):
    return Install.InstallSpec(
        vcsa_embedded=Install.VcsaEmbeddedSpec(
            ceip_enabled=True,
            standalone=StandaloneSpec(
                sso_admin_password=password, sso_domain_name=domain
            ),
        ),
        auto_answer=auto_answer,
    )


def fault(call):
    """The class name of the vAPI error `call` raised, or None when it returned."""
    try:
        call()
        return None
    except Exception as e:  # the SDK raises one class per vAPI standard error
        return type(e).__name__


def message(m):
    return None if m is None else {"id": m.id, "default_message": m.default_message, "args": list(m.args)}


def summary(info):
    out = {
        "state": str(info.state),
        "status": str(info.status),
        "cancelable": info.cancelable,
        "operation": info.operation,
        "service": info.service,
        "description": message(info.description),
        "subtask_order": info.subtask_order,
        "subtasks": sorted(info.subtasks.keys()) if info.subtasks is not None else None,
        "has_start_time": info.start_time is not None,
        "has_end_time": info.end_time is not None,
    }
    if info.progress is not None:
        out["progress"] = {
            "completed": info.progress.completed,
            "total": info.progress.total,
            "message": message(info.progress.message),
        }
    return out


def read_spec(install, password):
    """install.get while the setup runs: the domain, and whether the password shows."""
    try:
        spec = install.get()
    except Exception as e:  # the SDK's own decoding errors are findings too
        return {"error": type(e).__name__, "detail": str(e)[:300]}
    return {
        "sso_domain_name": spec.vcsa_embedded.standalone.sso_domain_name,
        "password_shown": password in str(spec),
    }


def main():
    server, root_password, sso_password, answer = sys.argv[1:5]
    urllib3.disable_warnings()
    out = {}
    config = stub_config(server, "root", root_password)
    deployment = Deployment(config)
    install = Install(config)
    question = Question(config)

    out["wrong_password"] = fault(
        lambda: Deployment(stub_config(server, "root", "Wrong-Pass-1")).get()
    )
    out["before"] = summary(deployment.get())
    out["question_before"] = fault(question.get)

    bad = install.check(install_spec("short"))
    out["check_weak"] = {
        "status": str(bad.status),
        "errors": [
            {"id": e.id, "message": message(e.message)}
            for e in (bad.result.errors if bad.result and bad.result.errors else [])
        ],
    }
    out["start_weak"] = fault(lambda: install.start(install_spec("short")))
    out["check_good"] = str(install.check(install_spec(sso_password)).status)
    out["state_after_checks"] = str(deployment.get().state)

    install.start(install_spec(sso_password))
    out["start_again"] = fault(lambda: install.start(install_spec(sso_password)))

    states, questions = [], []
    deadline = time.time() + 100
    while time.time() < deadline:
        info = deployment.get()
        state = str(info.state)
        if not states or states[-1] != state:
            states.append(state)
        if state in ("CONFIGURED", "FAILED"):
            out["final"] = summary(info)
            if info.error is not None:
                out["final"]["error"] = str(info.error)
            break
        if state == "QUESTION_RAISED":
            raised = question.get().questions
            fresh = [q for q in raised if q.id not in [x["id"] for x in questions]]
            for q in fresh:
                questions.append(
                    {
                        "id": q.id,
                        "type": str(q.type),
                        "default_answer": q.default_answer,
                        "possible_answers": list(q.possible_answers),
                        "question": message(q.question),
                        "running": summary(info),
                    }
                )
                if len(questions) == 1:
                    out["bad_question_id"] = fault(
                        lambda: question.answer(
                            Question.AnswerSpec(question_id="no.such", answer_val="YES")
                        )
                    )
                    out["spec_while_raised"] = read_spec(install, sso_password)
                question.answer(
                    Question.AnswerSpec(question_id=q.id, answer_val=answer)
                )
        time.sleep(0.05)
    out["states"] = states
    out["questions"] = questions
    out["question_after"] = fault(question.get)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
