#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine or CI: provisions what the tests need when
# it is missing (systemd and dbus packages, RabbitMQ with its management plugin, Debian's
# python3-pika for the engine stand-ins of the drain tests, cargo-nextest; for the RPM tests:
# Debian's rpm, rpm2cpio, cpio and rpmlint, zig from PyPI's ziglang in a venv of its own and
# cargo-zigbuild), then runs every test with cargo-nextest. Run it as root: provisioning and
# the systemd sandbox of the integration tests need it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[tests/run.sh] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -ne 0 ]; then
        die "provisioning needs root ($*); run this script as root"
    fi
    "$@"
}

missing_packages=()
for package in systemd dbus rabbitmq-server curl python3-pika \
    rpm rpm2cpio cpio rpmlint file binutils python3-venv; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing_packages+=("$package")
done
if [ ${#missing_packages[@]} -gt 0 ]; then
    say "installing ${missing_packages[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing_packages[@]}"
fi

broker_up() { rabbitmqctl -q status >/dev/null 2>&1; }
if ! broker_up; then
    say "starting RabbitMQ"
    as_root rabbitmq-server -detached
    for _ in $(seq 1 60); do broker_up && break; sleep 1; done
    broker_up || die "RabbitMQ did not start within 60 s"
fi

management_up() { curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1; }
if ! management_up; then
    say "enabling the RabbitMQ management plugin"
    as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
    for _ in $(seq 1 60); do management_up && break; sleep 1; done
    management_up || die "the RabbitMQ management API did not answer on 127.0.0.1:15672 within 60 s"
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install --locked cargo-nextest
fi

# zig for packaging/build-rpm.sh (a glibc 2.28 baseline), in a venv of Debian's python3: the
# system's Python stays as it is.
zig_venv=/opt/canopsis-upgrade-zig
if ! "$zig_venv/bin/python3" -c 'import ziglang' >/dev/null 2>&1; then
    say "installing zig (PyPI's ziglang) in $zig_venv"
    as_root rm -rf "$zig_venv"
    as_root /usr/bin/python3 -m venv "$zig_venv"
    as_root "$zig_venv/bin/pip" install --quiet ziglang
fi

if ! cargo zigbuild --version >/dev/null 2>&1; then
    say "installing cargo-zigbuild"
    cargo install --locked cargo-zigbuild
fi

# The crash tests need the daemon's crash hook, built only with this feature (never in a release).
exec cargo nextest run --no-fail-fast --features fault-injection "$@"
