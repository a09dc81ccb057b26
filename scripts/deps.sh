#!/bin/sh
# Install what this project needs from Debian 12's packages, only what is
# missing. Set USERS_NO_DEPS=1 to skip (e.g. on a machine you manage).
set -e

[ -n "$USERS_NO_DEPS" ] && exit 0

pkgs="nginx nginx-dev libhiredis-dev libyajl-dev libssl-dev redis-server
      redis-tools wrk curl gcc make perl libtest-base-perl libtext-diff-perl
      liblist-moreutils-perl libtest-longstring-perl
      libipc-run-perl"

# `scripts/deps.sh deb` (make deb): debian/control's Build-Depends and
# what dpkg-buildpackage runs, instead of the list above
if [ "${1:-}" = deb ]; then
    pkgs="build-essential debhelper dpkg-dev nginx nginx-dev libhiredis-dev
          libyajl-dev libssl-dev"
fi

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
         | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null
# Debian starts the packaged services; ours run on private ports, but
# don't leave a stray nginx or redis holding :80/:6379 by surprise.
