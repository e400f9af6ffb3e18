#!/bin/sh
# Installs what `make test` needs when it is missing: node (the fetch replays), curl,
# redis-server (the Redis store), and the toolchains of the client programs in clients/ —
# Mono (mcs, mono), a JDK (javac, java) and python3. As root it uses apt-get; otherwise it
# prints the command to run and fails, so that no test has to skip.
set -eu
missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
{ command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1; } || missing="$missing mono-complete"
{ command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1; } || missing="$missing default-jdk-headless"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
	exit 0
fi
echo "test-deps: missing$missing — install them, e.g.: sudo apt-get install -y$missing" >&2
exit 1
