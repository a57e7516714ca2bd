#!/bin/sh
# Host prerequisites of `make demo` and `make test`, installed only when missing.
#
# Everything toolchain-related runs in the project's images, so the host needs little:
#   debootstrap   where no registry is reachable, the root OS image is made from Debian's
#                 archive (orchestrator/images/bootstrap.py)
#   python3-venv  the Makefile creates .venv
#   gcc libc6-dev the local runtime's end-to-end tests compile with the host's gcc
#   chromium      (--test only) the HTML report and charts are checked in a headless browser
#   shellcheck    (--test only) actionlint checks the scripts of the generated CI workflow with it
# Only Debian-like hosts are provisioned (apt-get, through sudo when not root); elsewhere the
# script says what is missing and carries on (pulling the base image needs none of it).
set -eu

missing=""
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing="$missing debootstrap"
python3 -c 'import ensurepip' 2>/dev/null || missing="$missing python3-venv"
command -v gcc >/dev/null 2>&1 || missing="$missing gcc libc6-dev"
if [ "${1:-}" = "--test" ]; then
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="$missing chromium"
    command -v shellcheck >/dev/null 2>&1 || missing="$missing shellcheck"
fi
[ -n "$missing" ] || exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "host-tools: not installed here (no apt-get):$missing" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "host-tools: installing$missing" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086  # the package list is meant to split
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
