#!/bin/sh
# e2e scenario `api-graceful-stop` (guest ignores the request): Ctrl-Alt-Del becomes SIGINT to
# this script (kernel.ctrl-alt-del=0, kernel.cad_pid=$$), which ignores it and keeps printing
# `api-alive N`, so the API's deadline must stop the machine.
echo 0 >/proc/sys/kernel/ctrl-alt-del || echo "MINIVMM-E2E error=ctrl-alt-del-sysctl"
echo $$ >/proc/sys/kernel/cad_pid || echo "MINIVMM-E2E error=cad_pid-sysctl"
echo "MINIVMM-E2E cad-setting=$(cat /proc/sys/kernel/ctrl-alt-del)"
trap '' INT
echo "MINIVMM-E2E api-graceful-ready=1"
i=0
while :; do
  i=$((i + 1))
  echo "api-alive $i"
  sleep 0.5
done
