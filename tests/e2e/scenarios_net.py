"""virtio-net and virtio-vsock scenarios of the minivmm e2e tests.

Every scenario runs inside a fresh network namespace of L1 (`unshare -n`), so the taps, their
addresses and the TCP peers are private to it. The L2 VMM creates the taps (minivmm `--net
tap=NAME`, QEMU `-netdev tap,ifname=NAME`); the L1 snippet waits for each tap to appear, gives it
the .1 address and runs the host side with /payload/socktool. Guest and L1 synchronise through
the L2 console, which the snippet writes to a file and streams to L1's console with tail -f.

vsock scenarios are minivmm-only: QEMU's vsock is vhost-vsock (no hybrid Unix socket, and L1 has
no vhost_vsock module).
"""
from harness import (BASE_CMDLINE, VMLINUX, VMM_FINISH, Fail, check_boot, expect_equal,
                     expect_marker, expect_value, l1_mark_helpers, l2_command, vmm_background)

MACS = ("02:6d:76:00:00:01", "02:6d:76:00:00:02")


def net_dir(vmm):
    return f"/tmp/e2e-net-{vmm}"


def net_flags(vmm, taps):
    """(extra_minivmm, extra_qemu) for NICs on `taps`: [(name, mtu or None)], MACs from MACS."""
    mv, qm = [], []
    for i, (tap, mtu) in enumerate(taps):
        mv += ["--net", f"tap={tap},mac={MACS[i]}" + (f",mtu={mtu}" if mtu else "")]
        qm += ["-netdev", f"tap,id=n{i},ifname={tap},script=no,downscript=no,vhost=off",
               "-device", f"virtio-net-device,netdev=n{i},mac={MACS[i]}" +
               (f",host_mtu={mtu}" if mtu else "")]
    return mv, qm


def vmm_in_background(vmm, cmd, limit):
    """A fresh $D, then the VMM in the background (harness.vmm_background)."""
    return f"""{l1_mark_helpers()}
D={net_dir(vmm)}
rm -rf "$D"; mkdir -p "$D"
mark l1-vmm {vmm}
""" + vmm_background(cmd, limit)


# tap_up NAME ADDR [MTU]: waits (20 s) for the VMM to create the tap, then configures it.
TAP_UP = r"""
tap_up() {
  set +x
  i=0
  while ! ip link show "$1" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 200 ] && { set -x; mark l1-no-tap "$1"; return 1; }
    sleep 0.1
  done
  set -x
  [ -n "$3" ] && ip link set "$1" mtu "$3"
  ip addr add "$2" dev "$1" && ip link set "$1" up
}
"""

FINISH = VMM_FINISH


def in_netns(body):
    """Runs `body` in a new network namespace of L1 (loopback up)."""
    return "exec unshare -n sh -c " + _quote("ip link set lo up\n" + body)


def _quote(s):
    return "'" + s.replace("'", "'\"'\"'") + "'"


def shell_net(vmm):
    mv, qm = net_flags(vmm, [("tap0", None)])
    cmd = l2_command(vmm, VMLINUX, 512, cmdline=f"{BASE_CMDLINE} e2e.script=net",
                     extra_minivmm=mv, extra_qemu=qm)
    return in_netns(vmm_in_background(vmm, cmd, 380) + TAP_UP + r"""
dd if=/dev/urandom of="$D/h2g" bs=1M count=64 2>/dev/null
mark l1-h2g-sha256 "$(sha256sum "$D/h2g" | cut -d' ' -f1)"
(/payload/socktool listen tcp:5201 | sha256sum | cut -d' ' -f1 >"$D/g2h.sha") &
receiver=$!
tap_up tap0 10.0.2.1/24
if wait_for 'h2g-listening' "$D/console.log" 240 $pid; then
  ping -c 3 -W 2 10.0.2.15 >/dev/null 2>&1 && mark l1-ping-guest ok || mark l1-ping-guest failed
  /payload/socktool connect tcp:10.0.2.15:5202 --stats <"$D/h2g" >/dev/null
  mark l1-h2g-send-rc $?
fi
wait $receiver
mark l1-g2h-sha256 "$(cat "$D/g2h.sha")"
""" + FINISH)


def check_net(run):
    check_boot(run)
    expect_value(run, "eth0-mac", MACS[0], "guest eth0 MAC (config space)")
    expect_value(run, "eth0-mtu", "1500", "guest eth0 MTU")
    expect_value(run, "ping-host", "ok", "guest ping of L1 over the tap")
    expect_value(run, "l1-ping-guest", "ok", "L1 ping of the guest over the tap")
    expect_value(run, "g2h-send", "ok", "64 MiB TCP guest -> host")
    expect_equal(run, "g2h-sha256", "l1-g2h-sha256", "64 MiB TCP guest -> host (sha256)")
    expect_value(run, "l1-h2g-send-rc", "0", "64 MiB TCP host -> guest")
    expect_equal(run, "h2g-sha256", "l1-h2g-sha256", "64 MiB TCP host -> guest (sha256)")


def shell_net_two(vmm):
    mv, qm = net_flags(vmm, [("tap0", None), ("tap1", 9000)])
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=net-two",
                     extra_minivmm=mv, extra_qemu=qm)
    return in_netns(vmm_in_background(vmm, cmd, 100) + TAP_UP + r"""
tap_up tap0 10.0.2.1/24
tap_up tap1 10.0.3.1/24 9000
""" + FINISH)


def check_net_two(run):
    check_boot(run)
    for i, dev in enumerate(("eth0", "eth1")):
        expect_value(run, f"{dev}-mac", MACS[i], f"guest {dev} MAC (NIC order)")
        expect_value(run, f"{dev}-ping", "ok", f"guest ping of L1 over {dev}")
    expect_value(run, "eth0-mtu", "1500", "guest eth0 MTU")
    expect_value(run, "eth1-mtu", "9000", "guest eth1 MTU (VIRTIO_NET_F_MTU)")
    expect_value(run, "eth1-jumbo", "ok", "a 9000-byte frame over eth1")


def shell_net_tap_delete(vmm):
    mv, qm = net_flags(vmm, [("tap0", None)])
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=net-tap-delete",
                     extra_minivmm=mv + ["--log-level", "info"], extra_qemu=qm)
    return in_netns(vmm_in_background(vmm, cmd, 130) + TAP_UP + r"""
/payload/socktool listen tcp:5203 >/dev/null &
tap_up tap0 10.0.2.1/24
if wait_for 'MINIVMM-E2E sending' "$D/console.log" 120 $pid; then
  sleep 1
  ip link del tap0 && mark l1-tap-deleted yes
fi
""" + FINISH)


def check_net_tap_delete(run):
    expect_value(run, "ping-host", "ok", "guest ping of L1 before the tap is deleted")
    expect_marker(run, "sending")
    expect_value(run, "l1-tap-deleted", "yes", "`ip link del tap0` in L1 while the guest sends")
    expect_marker(run, "alive")
    check_boot(run)
    if run.markers.get("l1-vmm") == "minivmm":
        expect_value(run, "carrier-after", "0",
                     "guest carrier after the tap was deleted (link status + config interrupt)")
        down = [line for line in run.lines if "net0 tap0:" in line and "link=down" in line]
        if not down:
            raise Fail("minivmm's exit summary does not show net0 tap0 with link=down; "
                       f"last lines:\n{run.tail()}")


def vsock_dir():
    return "/tmp/e2e-vsock"


def shell_vsock(vmm):
    d = vsock_dir()
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=vsock",
                     extra_minivmm=["--vsock", f"cid=42,uds={d}/v.sock"])
    return f"""{l1_mark_helpers()}
D={d}
rm -rf "$D"; mkdir -p "$D"
ST=/payload/socktool
# Guest-initiated: the listeners on host ports 6000 (echo) and 6001 (killed mid-stream).
$ST listen unix:$D/v.sock_6000 --echo &
$ST listen unix:$D/v.sock_6001 >/dev/null &
victim=$!
dd if=/dev/urandom of="$D/h2g" bs=1M count=16 2>/dev/null
mark l1-h2g-sha256 "$(sha256sum "$D/h2g" | cut -d' ' -f1)"
""" + vmm_background(cmd, 280) + f"""
if wait_for 'MINIVMM-E2E streaming-6001' "$D/console.log" 120 $pid; then
  sleep 1
  kill -KILL $victim && mark l1-killed-peer yes
fi
for port in 5000 5001 5002; do wait_for "listening-$port" "$D/console.log" 60 $pid; done
mark l1-h2g-echo-sha256 "$($ST connect unix:$D/v.sock --hybrid 5000 --stats <"$D/h2g" | sha256sum | cut -d' ' -f1)"
mark l1-lowercase "$(echo lowercase-ok | $ST connect unix:$D/v.sock --hybrid-lower 5001)"
mark l1-many "$($ST many unix:$D/v.sock 100 65536 --hybrid 5002)"
$ST connect unix:$D/v.sock --hybrid 5999 </dev/null >/dev/null
mark l1-refused-rc $?
# A handshake line that never ends: minivmm must close the socket (timeout), not hang.
(printf 'CONNECT 5000'; sleep 10) | timeout 8 $ST connect unix:$D/v.sock --until-closed >/dev/null 2>&1
mark l1-slow-handshake-rc $?
mark l1-garbage "$(printf 'HELLO there\\n' | timeout 8 $ST connect unix:$D/v.sock --until-closed 2>/dev/null | wc -c)"
""" + VMM_FINISH


def check_vsock(run):
    expect_value(run, "l1-killed-peer", "yes", "L1 killed the host peer of port 6001")
    expect_marker(run, "alive")
    check_boot(run)
    expect_equal(run, "g2h-sha256", "g2h-echo-sha256", "16 MiB echo guest -> host -> guest")
    expect_value(run, "g2h-refused-rc", "2", "guest connect to a host port with no listener")
    rc = expect_marker(run, "killed-peer-rc")
    if rc != "2":
        raise Fail(f"guest stream to a killed host peer ended with rc={rc} (want 2: reset):\n"
                   f"{run.quote_markers()}")
    expect_equal(run, "l1-h2g-sha256", "l1-h2g-echo-sha256", "16 MiB echo host -> guest -> host")
    expect_value(run, "l1-lowercase", "lowercase-ok", "the lowercase `connect` handshake")
    expect_value(run, "l1-many", "many-ok 100", "100 concurrent host -> guest echo connections")
    expect_value(run, "l1-refused-rc", "2", "CONNECT to a guest port with no listener")
    slow = expect_marker(run, "l1-slow-handshake-rc")
    if slow not in ("0", "2"):
        raise Fail(f"a handshake line that never ends was not closed by minivmm within 8 s "
                   f"(rc={slow}):\n{run.quote_markers()}")
    expect_value(run, "l1-garbage", "0", "a malformed handshake line (closed, no answer)")
    if "listener-left" in run.markers:
        raise Fail(f"a guest listener never finished:\n{run.quote_markers()}")


NET_SCENARIOS = [
    ("net", shell_net, check_net, 400),
    ("net-two", shell_net_two, check_net_two, 120),
    ("net-tap-delete", shell_net_tap_delete, check_net_tap_delete, 150, ("minivmm",)),
    ("vsock", shell_vsock, check_vsock, 300, ("minivmm",)),
]
