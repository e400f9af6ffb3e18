#!/bin/sh
# Installs what `make test` needs when it is missing. As root it uses apt-get; otherwise it
# prints the command to run and fails, so that no test has to skip.
set -eu
missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
	exit 0
fi
echo "test-deps: missing$missing — install them, e.g.: sudo apt-get install -y$missing" >&2
exit 1
