#!/bin/sh
# Greets $1. Runs in the sandbox with no scopes: no network, no files outside its own.
printf 'Hello %s\n' "${1:-Safe World}"
