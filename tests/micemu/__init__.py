# SPDX-License-Identifier: GPL-2.0
"""Test harness for micemu, one package for every suite and the fuzzer:

* system: a whole system (host VM + cards) started by scripts/run-vm.sh
* qtest, qemu: a QEMU under -accel qtest; the one place test VMs' QEMU
  command lines are built
* link: the micfw link's wire format, a device-side client, a fake micfw
* fwctl: micfw's control socket, a micfw process of a test's own
* qmp, agent: QMP; the test agent in the VMs
* regs, dma: the register window and register file; the DMA engine as
  its driver programs it
* wait, build, initramfs: polling with a deadline; where the build put
  things; a test initramfs
"""
