// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: x100 system memory page table (facts §3.3).
 *
 * The card reaches host memory through a 512 GiB window at card address
 * 0x80_0000_0000, cut into 32 pages of 16 GiB. We program an identity map
 * (entry i = host bus address i * 16 GiB), so a host bus address B below
 * 512 GiB is card address 0x80_0000_0000 + B. Entries are reference
 * counted per user for debugfs and for a later non-identity allocator.
 */
#include "mic_x100.h"

static void mic_x100_smpt_write(struct mic_x100_dev *mdev, int i)
{
	u64 host_addr = (u64)i << MIC_X100_SMPT_SHIFT;

	/* Bit 0 (no-snoop) stays clear: host memory is always snooped. */
	mic_x100_write(mdev, MIC_X100_SMPT_VALUE(host_addr),
		       MIC_X100_SMPT(i));
}

void mic_x100_smpt_init(struct mic_x100_dev *mdev)
{
	int i;

	spin_lock_init(&mdev->smpt_lock);
	for (i = 0; i < MIC_X100_SMPT_ENTRIES; i++) {
		mdev->smpt_refs[i] = 0;
		mic_x100_smpt_write(mdev, i);
	}
}

/* Rewrite every entry; done before each boot. */
void mic_x100_smpt_restore(struct mic_x100_dev *mdev)
{
	int i;

	for (i = 0; i < MIC_X100_SMPT_ENTRIES; i++)
		mic_x100_smpt_write(mdev, i);
}

static void mic_x100_smpt_ref(struct mic_x100_dev *mdev, u64 bus_addr,
			      size_t len, bool get)
{
	int first = bus_addr >> MIC_X100_SMPT_SHIFT;
	int last = (bus_addr + len - 1) >> MIC_X100_SMPT_SHIFT;
	unsigned long flags;
	int i;

	spin_lock_irqsave(&mdev->smpt_lock, flags);
	for (i = first; i <= last; i++) {
		if (get)
			mdev->smpt_refs[i]++;
		else if (!WARN_ON_ONCE(!mdev->smpt_refs[i]))
			mdev->smpt_refs[i]--;
	}
	spin_unlock_irqrestore(&mdev->smpt_lock, flags);
}

/**
 * mic_x100_map() - card-visible address of a host memory range
 * @hw: the card
 * @bus_addr: host bus (DMA) address
 * @len: length in bytes, at least 1
 *
 * Return: the card address in the SMPT window, or DMA_MAPPING_ERROR when
 * the range does not lie in the first 512 GiB of host bus addresses.
 */
dma_addr_t mic_x100_map(struct mic_hw_dev *hw, dma_addr_t bus_addr,
			size_t len)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);
	u64 addr = bus_addr;

	if (!len || addr >= MIC_X100_SMPT_SPAN ||
	    len > MIC_X100_SMPT_SPAN - addr) {
		dev_err(&mdev->pdev->dev,
			"host range %pad+%zu outside the SMPT window\n",
			&bus_addr, len);
		return DMA_MAPPING_ERROR;
	}
	mic_x100_smpt_ref(mdev, addr, len, true);
	return MIC_X100_SMPT_BASE + addr;
}

/**
 * mic_x100_unmap() - release a range mapped by mic_x100_map()
 * @hw: the card
 * @card_addr: the address mic_x100_map() returned
 * @len: the length passed to mic_x100_map()
 */
void mic_x100_unmap(struct mic_hw_dev *hw, dma_addr_t card_addr, size_t len)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);
	u64 addr = card_addr;

	if (!len || addr < MIC_X100_SMPT_BASE ||
	    addr - MIC_X100_SMPT_BASE >= MIC_X100_SMPT_SPAN ||
	    len > MIC_X100_SMPT_SPAN - (addr - MIC_X100_SMPT_BASE)) {
		dev_warn(&mdev->pdev->dev, "unmap of bad card range %pad+%zu\n",
			 &card_addr, len);
		return;
	}
	mic_x100_smpt_ref(mdev, addr - MIC_X100_SMPT_BASE, len, false);
}

/**
 * mic_x100_card_to_bus() - host bus address behind a mapped card address
 * @card_addr: an address mic_x100_map() returned
 *
 * Return: the bus address passed to mic_x100_map() (the SMPT is an
 * identity map).
 */
dma_addr_t mic_x100_card_to_bus(dma_addr_t card_addr)
{
	return card_addr - MIC_X100_SMPT_BASE;
}
