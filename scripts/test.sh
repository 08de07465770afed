#!/usr/bin/env bash
# The whole test suite. Run as root on Debian it first installs what the build and the tests
# need (libsmbclient's development files, which the SMB backup location links; PostgreSQL's
# server binaries, tmux, systemd-analyze, libvirt, QEMU and sshd for the KVM test hosts, vsftpd,
# nginx with WebDAV and samba for the backup locations, rsyslog with its TLS and RELP modules for syslog forwarding, slapd and oidc-provider-mock for identity federation, the Python SDK, schemathesis, pyVmomi);
# elsewhere it uses what is present and the tests that need what is missing print a SKIPPED line.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'HELP'
Usage: bash scripts/test.sh [--quick] [--help] [NEXTEST/CARGO TEST ARGS...]

Runs the workspace's tests with cargo-nextest (cargo test without it).

  --quick   unit tests and the integration suites that take seconds (nextest profile `quick`
            in .config/nextest.toml): a few minutes with a warm build. Installs nothing.
  --install-only
            installs what the tests need (below), then exits without building or testing.
  --help    this text; installs and runs nothing.

Without --quick, as root on Debian, it first installs with apt-get libsmbclient-dev and
pkg-config (needed to build: the SMB backup location links libsmbclient), PostgreSQL's server
binaries, tmux and systemd (for systemd-analyze), and for the KVM test hosts (docs/kvm-hosts.md)
QEMU, libvirt (daemon, clients, libvirt-dev, pkg-config), openssh-server, iproute2,
busybox-static, cpio, dosfstools, mtools, syslinux and sshpass, and for the backup location
tests vsftpd, nginx-light, libnginx-mod-http-dav-ext and samba, and for syslog forwarding rsyslog, rsyslog-gnutls and rsyslog-relp, and for identity federation slapd and ldap-utils, starting no daemon (and xorriso for the update repositories' ISO images)
system-wide (the tests download the kernel guest's Debian kernel package into
/var/cache/ferrocenter-ci/kvm-guest, never install it); then the vSphere Automation SDK for
Python in a virtualenv under target/ (FERROCENTER_VAPI_SDK_VENV overrides where),
schemathesis in one beside it (FERROCENTER_SCHEMATHESIS_VENV overrides where) and pyVmomi with
suds-community, the SOAP clients, in another (FERROCENTER_SOAP_VENV overrides where). Other
arguments go to `cargo nextest run`, e.g. `bash scripts/test.sh -E 'test(login)'` or
`--profile ci`.
HELP
}

quick=
install_only=
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    --quick) quick=1; shift ;;
    --install-only) install_only=1; shift ;;
esac

if [ -n "$quick" ]; then
    if cargo nextest --version >/dev/null 2>&1; then
        exec cargo nextest run --workspace --profile quick "$@"
    fi
    # Without nextest: the unit tests alone.
    exec cargo test --workspace --lib --bins "$@"
fi

# Needed to build at all: the SMB backup location (crates/ferrocenter-system, the pavao crate)
# links Samba's libsmbclient, found through pkg-config.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if ! pkg-config --exists smbclient 2>/dev/null; then
        echo "== installing libsmbclient-dev and pkg-config (the SMB backup location links libsmbclient)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            libsmbclient-dev pkg-config >/dev/null
    fi
fi
# Also to build at all: global FIPS (crates/ferrocenter-tls) compiles AWS-LC's FIPS module
# (aws-lc-fips-sys) from source with cmake and Go; its test drives openssl s_client and curl.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if ! command -v cmake >/dev/null || ! command -v go >/dev/null \
        || ! command -v openssl >/dev/null || ! command -v curl >/dev/null; then
        echo "== installing cmake and golang-go (AWS-LC's FIPS module), openssl and curl"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            cmake golang-go openssl curl >/dev/null
    fi
fi

# Also to build at all: the security token service (crates/ferrocenter-saml) signs and verifies
# XML with libxmlsec1 over libxml2 (OpenSSL engine), through bindgen bindings made at build
# time, which need libclang.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if ! pkg-config --exists xmlsec1-openssl libxml-2.0 2>/dev/null \
        || ! ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1; then
        echo "== installing libxmlsec1-dev, libxml2-dev and libclang-dev (XML signatures of SAML tokens)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            libxmlsec1-dev libxmlsec1-openssl libxml2-dev libclang-dev pkg-config >/dev/null
    fi
fi

need_pg() { ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if need_pg || ! command -v psql >/dev/null || ! command -v runuser >/dev/null \
        || ! command -v tmux >/dev/null || ! command -v systemd-analyze >/dev/null; then
        echo "== installing PostgreSQL for the store tests, tmux for the CLI's terminal tests," \
            "systemd-analyze for the packaging tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            postgresql postgresql-client util-linux tmux systemd >/dev/null
    fi
fi

# The KVM test hosts (crates/ferrocenter-testkit/src/kvm, docs/kvm-hosts.md): QEMU, libvirt and
# sshd, which each test host runs in its own namespaces, busybox-static and cpio for the kernel
# guest's initramfs, dosfstools, mtools and syslinux for its bootable disk image, sshpass for the
# password login test.
KVM_PACKAGES="qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients libvirt-dev pkg-config
    openssh-server openssh-client iproute2 util-linux openssl busybox-static cpio dosfstools mtools
    syslinux sshpass"
need_kvm() {
    local c
    for c in qemu-system-x86_64 qemu-img libvirtd virsh pkg-config sshd ssh-keygen ip nsenter cpio \
        mkfs.vfat mcopy syslinux sshpass; do
        command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || return 0
    done
    [ -f /usr/include/libvirt/libvirt.h ] || return 0
    [ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" = "install ok installed" ] || return 0
    return 1
}
kvm_daemons() { pgrep -x 'libvirtd|virtlogd|virtlockd|virtqemud|sshd' 2>/dev/null | sort || true; }
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if need_kvm; then
        echo "== installing QEMU, libvirt, sshd and busybox-static for the KVM test hosts"
        # Without systemd the packages' maintainer scripts would start libvirtd and sshd
        # system-wide through invoke-rc.d; a policy-rc.d that refuses every start keeps them
        # stopped (and is removed afterwards unless it was already there).
        before=$(kvm_daemons)
        own_policy=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            own_policy=1
        fi
        apt-get update -qq
        # QEMU's tools and its emulator must come from one release: a machine whose qemu-utils
        # came from backports (without the backports source) cannot install the release's
        # emulator beside it, so qemu-utils is taken back to the release's own.
        release=$(. /etc/os-release && echo "$VERSION_CODENAME")
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            --allow-downgrades "qemu-utils/$release" $KVM_PACKAGES >/dev/null
        if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
        # A daemon the installation started anyway (a systemd machine ignores policy-rc.d) is
        # stopped: the tests' hosts run their own, and a system-wide one would only get in the way.
        new=$(comm -13 <(echo "$before") <(kvm_daemons))
        if [ -n "$new" ]; then
            if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
                systemctl stop libvirtd.service libvirtd.socket libvirtd-ro.socket \
                    libvirtd-admin.socket virtlogd.service virtlogd.socket virtlockd.socket \
                    ssh.service ssh.socket 2>/dev/null || true
            else
                kill $new 2>/dev/null || true
            fi
        fi
    fi
    # The kernel guest's image is built from linux-image-amd64 (apt-get download): the package
    # lists must know it.
    if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then apt-get update -qq; fi
fi

# The backup locations' file servers (crates/ferrocenter-testkit/src/file_servers): vsftpd for
# FTP and FTPS, nginx with the DAV modules for WebDAV over HTTP and HTTPS, samba's smbd for SMB
# (sshd, for SFTP and SCP, comes with the KVM packages above). The tests run each on a loopback
# port with their own configuration; none may run system-wide, and samba's packages would start
# smbd, nmbd and samba-ad-dc.
FILE_SERVER_PACKAGES="vsftpd nginx-light libnginx-mod-http-dav-ext samba"
file_server_daemons() {
    pgrep -x 'vsftpd|nginx|smbd|nmbd|samba|samba-dcerpcd|winbindd' 2>/dev/null | sort || true
}
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ ! -x /usr/sbin/vsftpd ] || [ ! -x /usr/sbin/nginx ] \
        || [ ! -f /usr/lib/nginx/modules/ngx_http_dav_ext_module.so ] \
        || [ ! -x /usr/sbin/smbd ] || [ ! -x /usr/bin/smbpasswd ]; then
        echo "== installing vsftpd, nginx with the DAV modules and samba for the backup location tests"
        before=$(file_server_daemons)
        own_policy=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            own_policy=1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            $FILE_SERVER_PACKAGES >/dev/null
        if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
        new=$(comm -13 <(echo "$before") <(file_server_daemons))
        if [ -n "$new" ]; then
            if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
                systemctl stop vsftpd.service nginx.service smbd.service nmbd.service \
                    samba-ad-dc.service 2>/dev/null || true
                systemctl disable smbd.service nmbd.service samba-ad-dc.service 2>/dev/null || true
            else
                kill $new 2>/dev/null || true
            fi
        fi
    fi
fi

# Update repositories as ISO 9660 images (crates/ferrocenter/tests/update_repository.rs): the
# test reads an image made by Debian's xorriso, as an operator would make one, besides the
# images ferrocenter's own `update-repo build --iso` writes.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if ! command -v xorriso >/dev/null; then
        echo "== installing xorriso (ISO images of update repositories)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            xorriso >/dev/null
    fi
fi

# Syslog forwarding's receiver (crates/ferrocenter-testkit/src/syslog.rs): rsyslog with its
# TLS (gnutls) and RELP modules, run by the tests on loopback ports with their own
# configuration; the system-wide daemon the package would start is kept from starting.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ ! -x /usr/sbin/rsyslogd ] || ! ls /usr/lib/*/rsyslog/imrelp.so >/dev/null 2>&1 \
        || ! ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1; then
        echo "== installing rsyslog, rsyslog-gnutls and rsyslog-relp for the syslog forwarding tests"
        own_policy=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            own_policy=1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            rsyslog rsyslog-gnutls rsyslog-relp >/dev/null
        if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
    fi
fi

# Identity federation's directory (crates/ferrocenter-testkit/src/identity.rs): OpenLDAP's slapd
# and its tools, run by the tests on loopback ports with their own configuration and database;
# the system-wide daemon the package would start is kept from starting and left unconfigured.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ ! -x /usr/sbin/slapd ] || [ ! -x /usr/sbin/slapadd ]; then
        echo "== installing slapd and ldap-utils for the identity provider tests"
        own_policy=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            own_policy=1
        fi
        echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slapd ldap-utils >/dev/null
        if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
    fi
fi

# The official vSphere Automation SDK for Python, pinned, in a virtualenv under target/: the vAPI
# client tests run it and find it through FERROCENTER_VAPI_PYTHON.
SDK_VENV="${FERROCENTER_VAPI_SDK_VENV:-$PWD/target/vapi-sdk}"
SDK_PACKAGES="vmware-vcenter==9.1.1.0 vmware-vapi-runtime==9.1.1.0 vmware-vapi-common-client==9.1.1.0"
if command -v python3 >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! python3 -m venv --help >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    # The pins are kept beside the venv, so a changed pin reinstalls (CI keeps it in its cache).
    if [ "$(cat "$SDK_VENV/.pins" 2>/dev/null)" != "$SDK_PACKAGES" ] \
        || ! "$SDK_VENV/bin/python" -c 'import vmware.vapi.vsphere.client' >/dev/null 2>&1; then
        echo "== installing the vSphere Automation SDK for Python ($SDK_PACKAGES)"
        if [ -f "$SDK_VENV/pyvenv.cfg" ]; then rm -rf "$SDK_VENV"; fi
        if python3 -m venv "$SDK_VENV" && "$SDK_VENV/bin/pip" install -q $SDK_PACKAGES; then
            echo "$SDK_PACKAGES" > "$SDK_VENV/.pins"
        else
            echo "the SDK could not be installed; its tests will say SKIPPED"
        fi
    fi
    if [ -x "$SDK_VENV/bin/python" ]; then
        export FERROCENTER_VAPI_PYTHON="$SDK_VENV/bin/python"
    fi
    # schemathesis, pinned, in a virtualenv beside the SDK's: the OpenAPI conformance test runs
    # its `st` against the real server and finds it through FERROCENTER_SCHEMATHESIS.
    ST_VENV="${FERROCENTER_SCHEMATHESIS_VENV:-$(dirname "$SDK_VENV")/schemathesis}"
    ST_PACKAGES="schemathesis==4.32.5"
    if [ "$(cat "$ST_VENV/.pins" 2>/dev/null)" != "$ST_PACKAGES" ] \
        || ! "$ST_VENV/bin/st" --version >/dev/null 2>&1; then
        echo "== installing schemathesis ($ST_PACKAGES)"
        if [ -f "$ST_VENV/pyvenv.cfg" ]; then rm -rf "$ST_VENV"; fi
        if python3 -m venv "$ST_VENV" && "$ST_VENV/bin/pip" install -q $ST_PACKAGES; then
            echo "$ST_PACKAGES" > "$ST_VENV/.pins"
        else
            echo "schemathesis could not be installed; the OpenAPI conformance test will say SKIPPED"
        fi
    fi
    if [ -x "$ST_VENV/bin/st" ]; then
        export FERROCENTER_SCHEMATHESIS="$ST_VENV/bin/st"
    fi
    # pyVmomi (vim25 over SOAP) and suds (the Lookup Service's WSDL client), pinned, in a
    # virtualenv beside the SDK's: the SOAP tests find its python through FERROCENTER_SOAP_PYTHON.
    # lxml and cryptography are what pyVmomi's token client (pyVim.sso) imports.
    SOAP_VENV="${FERROCENTER_SOAP_VENV:-$(dirname "$SDK_VENV")/vim-soap}"
    SOAP_PACKAGES="pyvmomi==9.1.1.0 suds-community==1.2.0 lxml==6.2.1 cryptography==51.0.1"
    # A venv made by hand with exactly these versions is kept; its pins are written down.
    soap_installed() {
        "$SOAP_VENV/bin/python" - "$SOAP_PACKAGES" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
import pyVim.connect, pyVim.sso, pyVmomi, suds.client  # noqa: F401
for pin in sys.argv[1].split():
    name, want = pin.split("==")
    assert version(name) == want, pin
PY
    }
    if ! soap_installed; then
        echo "== installing pyVmomi and suds ($SOAP_PACKAGES)"
        if [ -f "$SOAP_VENV/pyvenv.cfg" ]; then rm -rf "$SOAP_VENV"; fi
        if python3 -m venv "$SOAP_VENV" && "$SOAP_VENV/bin/pip" install -q $SOAP_PACKAGES; then
            echo "$SOAP_PACKAGES" > "$SOAP_VENV/.pins"
        else
            echo "pyVmomi could not be installed; the SOAP client tests will say SKIPPED"
        fi
    elif [ "$(cat "$SOAP_VENV/.pins" 2>/dev/null)" != "$SOAP_PACKAGES" ]; then
        echo "$SOAP_PACKAGES" > "$SOAP_VENV/.pins" 2>/dev/null || true
    fi
    if [ -x "$SOAP_VENV/bin/python" ]; then
        export FERROCENTER_SOAP_PYTHON="$SOAP_VENV/bin/python"
    fi
    # oidc-provider-mock, pinned, in a virtualenv beside the SDK's: the identity provider tests
    # start it on loopback for discovery, JWKS and tokens, and find it through
    # FERROCENTER_OIDC_PROVIDER_MOCK. (0.4 needs a newer Python than CI's 3.11.)
    OIDC_VENV="${FERROCENTER_OIDC_VENV:-$(dirname "$SDK_VENV")/oidc-provider-mock}"
    OIDC_PACKAGES="oidc-provider-mock==0.3.4"
    if [ "$(cat "$OIDC_VENV/.pins" 2>/dev/null)" != "$OIDC_PACKAGES" ] \
        || ! [ -x "$OIDC_VENV/bin/oidc-provider-mock" ]; then
        echo "== installing oidc-provider-mock ($OIDC_PACKAGES)"
        if [ -f "$OIDC_VENV/pyvenv.cfg" ]; then rm -rf "$OIDC_VENV"; fi
        if python3 -m venv "$OIDC_VENV" && "$OIDC_VENV/bin/pip" install -q $OIDC_PACKAGES; then
            echo "$OIDC_PACKAGES" > "$OIDC_VENV/.pins"
        else
            echo "oidc-provider-mock could not be installed; the identity provider tests will say SKIPPED"
        fi
    fi
    if [ -x "$OIDC_VENV/bin/oidc-provider-mock" ]; then
        export FERROCENTER_OIDC_PROVIDER_MOCK="$OIDC_VENV/bin/oidc-provider-mock"
    fi
fi

if [ -n "$install_only" ]; then
    exit 0
fi

# The agent's libvirt driver (cargo feature `libvirt`) and its tests against a real libvirtd
# build where libvirt's development files are installed.
features=()
if pkg-config --exists libvirt 2>/dev/null; then
    features=(--features ferrocenter/libvirt)
else
    echo "libvirt-dev and pkg-config are missing: the agent's libvirt driver and its tests are left out"
fi
if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --workspace "${features[@]}" --no-fail-fast "$@"
else
    exec cargo test --workspace "${features[@]}" --no-fail-fast "$@"
fi
