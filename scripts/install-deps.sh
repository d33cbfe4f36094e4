#!/bin/sh
# Install the Debian packages listed in deps.txt that are not installed yet.
# Idempotent: with everything present it only runs dpkg-query and exits.
#
# A line may name a command after the package ("npm npm"): the package is
# skipped when that command already exists, so a machine whose Node.js came
# from elsewhere is left alone.
#
# usage: scripts/install-deps.sh [deps.txt]

set -eu

list=${1:-deps.txt}
missing=

while read -r pkg cmd; do
    case "$pkg" in ''|'#'*) continue ;; esac

    if [ -n "${cmd:-}" ] && command -v "$cmd" >/dev/null 2>&1; then
        continue
    fi

    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *' installed') ;;
        *) missing="$missing $pkg" ;;
    esac
done < "$list"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing Debian packages:$missing" >&2
    echo "install-deps: run as root, or install them yourself" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
