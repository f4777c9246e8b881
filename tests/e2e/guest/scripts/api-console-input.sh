#!/bin/sh
# e2e scenario `api-console-input`: reads two lines from the serial console (stdin is
# /dev/console) that the API driver types with Machine::send_console_input, and prints each back.
echo "MINIVMM-E2E ready-for-input=1"
line=
read -r -t 60 line || echo "MINIVMM-E2E error=no-first-line"
echo "MINIVMM-E2E console-line1=$line"
line=
read -r -t 60 line || echo "MINIVMM-E2E error=no-second-line"
echo "MINIVMM-E2E console-line2=$line"
