#!/bin/sh
# e2e scenario `api-graceful-stop` (default Ctrl-Alt-Del): a plain shell loop, nothing else. The
# kernel's default C_A_D=1 restarts the guest when the API's Ctrl-Alt-Del reaches the keyboard.
echo "MINIVMM-E2E cad-setting=$(cat /proc/sys/kernel/ctrl-alt-del 2>/dev/null)"
# Diagnostic: Ctrl-Alt-Del needs the AT keyboard (atkbd on the i8042) to exist in the guest.
echo "MINIVMM-E2E input-devices=$(cat /sys/class/input/input*/name 2>/dev/null | tr '\n' ';')"
echo "MINIVMM-E2E api-graceful-ready=1"
while :; do sleep 1; done
