#!/bin/sh
# e2e scenario `api-graceful-stop` (guest handles the request): Ctrl-Alt-Del is switched to a
# signal (kernel.ctrl-alt-del=0, which is what reboot(LINUX_REBOOT_CMD_CAD_OFF) sets) and the
# signal is sent to this script (kernel.cad_pid=$$; /init stays untouched). On SIGINT it prints
# graceful-stop-received, syncs and reboots, as a real init's shutdown path would.
echo 0 >/proc/sys/kernel/ctrl-alt-del || echo "MINIVMM-E2E error=ctrl-alt-del-sysctl"
echo $$ >/proc/sys/kernel/cad_pid || echo "MINIVMM-E2E error=cad_pid-sysctl"
echo "MINIVMM-E2E cad-setting=$(cat /proc/sys/kernel/ctrl-alt-del)"
got=
trap 'got=1' INT
echo "MINIVMM-E2E api-graceful-ready=1"
while [ -z "$got" ]; do sleep 0.1; done
echo "MINIVMM-E2E graceful-stop-received=1"
sync
reboot -f
