#!/bin/sh
# Example guest scenario script (boot the guest with `e2e.script=hello`): prints one marker.
# Copy this file to add a scenario; it runs as root from /init with proc, sys and dev mounted.
echo "MINIVMM-E2E hello=world"
