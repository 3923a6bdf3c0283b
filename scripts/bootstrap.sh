#!/usr/bin/env bash
# Installs what a fresh Debian machine with Node 20 lacks for Postern, then the
# workspace's packages. Idempotent: a machine that has everything costs ~2 s.
#   Debian packages: nats-server redis-server swaks protobuf-compiler libprotobuf-dev
#   haproxy openssl (interop tests: PROXY headers from real HAProxy)
#   nsd unbound ldnsutils (resolver tests against real DNS servers)
#   postgresql (the delivery-events Postgres sink, started by the tests themselves)
#   postfix (pnpm bench:edge: smtp-source, smtp-sink and a throw-away reference
#   instance with its own config dir; installed with debconf "No configuration"
#   and no service start, so nothing listens on port 25)
#   postfix-policyd-spf-python (pnpm bench: the reference Postfix's SPF policy daemon, spawned by
#   that throw-away instance only; its postinst just adds the policyd-spf user)
#   docker-compose (pnpm validate:deploy: `docker-compose config -q` checks docker-compose.yml without an engine)
#   python3-dkim (dkimpy: libs/dkim's differential test signs and verifies with it)
#   libxml2-utils (xmllint: DMARC aggregate report XML checked against the RFC 9990 schema)
#   pnpm 10 (pnpm 11 needs Node 22; see ../docs/adr/0001-foundation.md)
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9
APT_PACKAGES=(nats-server redis-server swaks protobuf-compiler libprotobuf-dev haproxy openssl nsd unbound ldnsutils postgresql postfix postfix-policyd-spf-python docker-compose python3-dkim libxml2-utils)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "${POSTERN_SKIP_APT:-0}" = 1 ]; then
    echo "bootstrap: missing Debian packages ${missing[*]} (POSTERN_SKIP_APT=1, not installing)" >&2
  else
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    if [[ " ${missing[*]} " == *" postfix "* ]]; then
      # no questions, no /etc/postfix/main.cf; and a policy-rc.d that refuses service starts for the
      # duration of the install (only when the machine has none), so no system Postfix takes port 25
      echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
      if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 755 /usr/sbin/policy-rc.d
        trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT # also if the install fails
      fi
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$(trap -p EXIT)" ]; then as_root rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  fi
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null | cut -d. -f1)" != 10 ]; then
  echo "bootstrap: installing pnpm ${PNPM_VERSION}"
  as_root npm install -g --silent "pnpm@${PNPM_VERSION}"
fi

pnpm install --frozen-lockfile --reporter=silent
