#!/bin/sh
# Runs a snippet in the sandbox: no network, a private /tmp, the limits of skill.yaml.
# The snippet arrives as an argument, never through a shell string, so it cannot escape quoting.
set -eu
lang=$1
code=$2
case "$lang" in
  python) exec /usr/bin/python3 -I -c "$code" ;;
  shell) exec /bin/sh -c "$code" ;;
  *) echo "error: lang must be python or shell, got $lang" >&2; exit 2 ;;
esac
