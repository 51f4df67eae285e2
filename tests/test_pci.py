# SPDX-License-Identifier: GPL-2.0
"""The host VM sees an x100 on its PCI bus and the driver binds to it."""

import re


def mic_pci_dirs(system):
    out = system.run_ok("grep -l 0x2250 /sys/bus/pci/devices/*/device")
    return [line.rsplit("/", 1)[0] for line in out.split()]


def config_space(system, dev):
    out = system.run_ok(f"od -An -tx1 -v {dev}/config")
    return bytes(int(b, 16) for b in out.split())


def capabilities(cfg):
    caps = {}
    ptr = cfg[0x34] & ~3
    seen = set()
    while ptr and ptr not in seen and ptr + 1 < len(cfg):
        seen.add(ptr)
        caps[cfg[ptr]] = ptr
        ptr = cfg[ptr + 1] & ~3
    return caps


def test_pci_identity_and_bars(system):
    devs = mic_pci_dirs(system)
    assert len(devs) == 1, devs
    dev = devs[0]
    assert system.run_ok(f"cat {dev}/vendor").strip() == "0x8086"
    assert system.run_ok(f"cat {dev}/revision").strip() == "0x20"
    assert system.run_ok(f"cat {dev}/class").strip().startswith("0x0b40")
    res = system.run_ok(f"cat {dev}/resource").split("\n")
    bars = [tuple(int(x, 16) for x in line.split()) for line in res if line.strip()]
    start, end, flags = bars[0]
    assert end - start + 1 == 1 << 30, "BAR0 is the 1 GiB card memory"
    assert flags & 0x2000, "BAR0 is prefetchable"      # IORESOURCE_PREFETCH
    assert flags & 0x00100000, "BAR0 is 64-bit"        # IORESOURCE_MEM_64
    start, end, flags = bars[4]
    assert end - start + 1 == 128 * 1024, "BAR4 is the 128 KiB register window"
    assert not flags & 0x2000, "BAR4 is not prefetchable"
    caps = capabilities(config_space(system, dev))
    assert 0x11 in caps, "MSI-X capability present"
    assert 0x05 in caps, "MSI capability present"
    cfg = config_space(system, dev)
    table_size = (cfg[caps[0x11] + 2] | cfg[caps[0x11] + 3] << 8) & 0x7FF
    assert table_size + 1 == 16, "16 MSI-X vectors"


def test_driver_binds_with_msix(system):
    dev = mic_pci_dirs(system)[0]
    # upstream's PCI driver name is "mic" (facts §1.1); ours lives in mic_x100.ko
    drv = system.run_ok(f"readlink {dev}/driver")
    assert drv.strip().endswith("/drivers/mic")
    mod = system.run_ok(f"readlink {dev}/driver/module")
    assert mod.strip().endswith("/mic_x100")
    vectors = system.run_ok(f"ls {dev}/msi_irqs").split()
    assert len(vectors) == 9, f"the driver asks for exactly 9 MSI-X vectors: {vectors}"
    dmesg = system.run_ok("dmesg")
    assert re.search(r"mic [0-9a-f:.]+: interrupt mode MSI-X, 9 vector", dmesg), dmesg[-2000:]


def test_card_sysfs_ready(system):
    assert system.state(0) == "ready"
    assert system.sysfs(0, "family") == "x100"
    assert system.sysfs(0, "stepping") == "C0"
    assert system.sysfs(0, "shutdown_status") == "nop"
    link = system.run_ok("readlink -f /sys/class/mic/mic0/device").strip()
    assert link in mic_pci_dirs(system) or link.endswith(mic_pci_dirs(system)[0].rsplit("/", 1)[1])


def test_post_code_in_debugfs(system):
    code = system.run_ok("cat /sys/kernel/debug/mic_host/mic0/post_code").strip()
    assert len(code) == 2 and code.isprintable(), repr(code)


def test_msi_fallback(make_system):
    system = make_system(append="mic_x100.irq_mode=msi")
    dev = mic_pci_dirs(system)[0]
    assert len(system.run_ok(f"ls {dev}/msi_irqs").split()) == 1
    assert re.search(r"interrupt mode MSI, 1 vector", system.run_ok("dmesg"))
    assert system.state(0) == "ready"


def test_intx_fallback(make_system):
    system = make_system(append="mic_x100.irq_mode=intx")
    dev = mic_pci_dirs(system)[0]
    rc, out = system.run(f"ls {dev}/msi_irqs")
    assert rc != 0 or not out.split(), "no MSI/MSI-X vectors in INTx mode"
    assert re.search(r"interrupt mode INTx", system.run_ok("dmesg"))
    assert system.state(0) == "ready"
