// SPDX-License-Identifier: GPL-2.0
/*
 * micfw faults that act on the board itself (the control socket's knobs
 * that need more than a flag; see micfw-control.c for the commands).
 *
 * SPAD corruption: the board overwrites a scratchpad with a value of the
 * test's choosing, either at once or at the next boot kick.  "At the boot
 * kick" is the moment after the host has written everything it hands the
 * card (SPAD5 image size, SPAD14/15 device page) and before the bootstrap
 * or the card OS reads it, so the corruption reliably reaches its reader.
 * The write goes through the register file as a card-side write: the host
 * reads the corrupted value back exactly as it would read a value the card
 * wrote.
 */
#include "micfw.h"

static void spad_write(struct micfw *fw, unsigned int spad, uint32_t value,
		       const char *when)
{
	MicRegEvents ev = { 0 };
	uint32_t old = mic_regfile_spad(fw->rf, spad);

	mic_regfile_write(fw->rf, MIC_SIDE_CARD, MIC_REG_SPAD(spad), value,
			  &ev);
	micfw_event("spad-corrupt spad=%u old=0x%08x new=0x%08x at=%s", spad,
		    old, mic_regfile_spad(fw->rf, spad), when);
}

/*
 * Overwrite SPAD @spad with @value now, or arm it for the next boot kick
 * (one shot: the kick that applies it disarms it).
 */
bool micfw_spad_corrupt(struct micfw *fw, unsigned int spad, uint32_t value,
			bool at_boot)
{
	if (spad >= MIC_NUM_SPAD)
		return false;
	if (!at_boot) {
		spad_write(fw, spad, value, "now");
		return true;
	}
	fw->spad_fault_mask |= 1u << spad;
	fw->spad_fault_value[spad] = value;
	micfw_event("spad-corrupt-armed spad=%u value=0x%08x", spad, value);
	return true;
}

/* The boot kick arrived: apply what is armed, lowest SPAD first. */
void micfw_spad_faults_apply(struct micfw *fw)
{
	uint32_t mask = fw->spad_fault_mask;

	fw->spad_fault_mask = 0;
	for (unsigned int j = 0; j < MIC_NUM_SPAD; j++)
		if (mask & (1u << j))
			spad_write(fw, j, fw->spad_fault_value[j], "boot");
}
