/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit tests of the shared register file (mic_regfile.c), no VM needed:
 *   make -C qemu-mic-device/tests check
 * Each test starts from a freshly initialised MicRegFile.  Expected
 * values come from the facts sheet (§2.1-2.4, §5.2), not from the code.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mic_regfile.h"

static int failures;
static int checks;
static const char *current;

#define CHECK(cond) check((cond), #cond, __LINE__)
#define CHECK_EQ(a, b) check_eq((uint64_t)(a), (uint64_t)(b), #a, #b, __LINE__)

static void check(int ok, const char *what, int line)
{
    checks++;
    if (!ok) {
        failures++;
        fprintf(stderr, "FAIL %s:%d: %s\n", current, line, what);
    }
}

static void check_eq(uint64_t a, uint64_t b, const char *sa, const char *sb,
                     int line)
{
    checks++;
    if (a != b) {
        failures++;
        fprintf(stderr, "FAIL %s:%d: %s == 0x%llx, expected %s == 0x%llx\n",
                current, line, sa, (unsigned long long)a, sb,
                (unsigned long long)b);
    }
}

static MicRegFile *rf;
static MicRegEvents ev;

#define H MIC_SIDE_HOST
#define C MIC_SIDE_CARD
#define RD(side, off) mic_regfile_read(rf, (side), (off))
#define WR(side, off, v) mic_regfile_write(rf, (side), (off), (v), &ev)

static void fresh(void)
{
    memset(rf, 0xA5, sizeof(*rf));          /* init must not rely on zeroes */
    mic_regfile_init(rf);
    memset(&ev, 0, sizeof(ev));
}

/* ---- layout and power-on state ---------------------------------------- */

static void test_init(void)
{
    uint32_t off;
    int nonzero = 0;

    CHECK_EQ(sizeof(MicRegFile), MIC_MMIO_SIZE + 4096);
    CHECK_EQ(rf->magic, MIC_REGFILE_MAGIC);
    CHECK_EQ(rf->version, MIC_REGFILE_VERSION);
    CHECK_EQ(rf->host_raised, 0);
    CHECK_EQ(rf->card_raised, 0);
    /* §5.2: owner bit 2n set for host channels 0-3, nothing enabled */
    CHECK_EQ(RD(H, MIC_REG_DCR), 0x55);
    for (off = 0; off < MIC_MMIO_SIZE; off += 4) {
        if (off != MIC_REG_DCR && RD(H, off) != 0) {
            nonzero++;
        }
    }
    CHECK_EQ(nonzero, 0);
}

static void test_offsets(void)
{
    /* facts §2.1 absolute BAR4 offsets */
    CHECK_EQ(MIC_REG_SICR0, 0x19004);
    CHECK_EQ(MIC_REG_SICE0, 0x1900C);
    CHECK_EQ(MIC_REG_SICC0, 0x19010);
    CHECK_EQ(MIC_REG_SIAC0, 0x19014);
    CHECK_EQ(MIC_REG_MXAR(0), 0x19044);
    CHECK_EQ(MIC_REG_MSIXPBACR, 0x19084);
    CHECK_EQ(MIC_REG_RGCR, 0x14010);
    CHECK_EQ(MIC_REG_SMPT(31), 0x1317C);
    CHECK_EQ(MIC_REG_APICICR_LO(7), 0x1AA08);
    CHECK_EQ(MIC_REG_SPAD(2), 0x1AB28);
    CHECK_EQ(MIC_REG_RDMASR(0), 0x1B180);
    CHECK_EQ(MIC_REG_SDBIC(0), 0x1CC90);
    CHECK_EQ(MIC_REG_DCR, 0x1A280);
    CHECK_EQ(MIC_REG_POSTCODE, 0x242C);
}

static void test_known(void)
{
    unsigned int i;

    CHECK(mic_regfile_known(MIC_REG_POSTCODE));
    CHECK(mic_regfile_known(MIC_REG_SICR0));
    CHECK(mic_regfile_known(MIC_REG_SICC0));
    CHECK(mic_regfile_known(MIC_REG_MSIXPBACR));
    CHECK(mic_regfile_known(MIC_REG_DCR));
    CHECK(mic_regfile_known(MIC_REG_RGCR));
    for (i = 0; i < MIC_NUM_SMPT; i++) {
        CHECK(mic_regfile_known(MIC_REG_SMPT(i)));
    }
    for (i = 0; i < MIC_NUM_MXAR; i++) {
        CHECK(mic_regfile_known(MIC_REG_MXAR(i)));
    }
    for (i = 0; i < MIC_NUM_SPAD; i++) {
        CHECK(mic_regfile_known(MIC_REG_SPAD(i)));
    }
    for (i = 0; i < MIC_NUM_APICICR; i++) {
        CHECK(mic_regfile_known(MIC_REG_APICICR_LO(i)));
        CHECK(mic_regfile_known(MIC_REG_APICICR_HI(i)));
    }
    for (i = 0; i < MIC_NUM_SDBIC; i++) {
        CHECK(mic_regfile_known(MIC_REG_SDBIC(i)));
    }
    for (i = 0; i < MIC_NUM_DMA_CH; i++) {
        CHECK(mic_regfile_known(MIC_REG_DMA_CH(i) + MIC_DMA_DHPR));
        CHECK(mic_regfile_known(MIC_REG_DMA_CH(i) + MIC_DMA_DCHERRMSK));
        CHECK(!mic_regfile_known(MIC_REG_DMA_CH(i) + 0x0C));
        CHECK(!mic_regfile_known(MIC_REG_DMA_CH(i) + 0x3C));
    }
    /* one past each array, gaps, garbage */
    CHECK(!mic_regfile_known(MIC_REG_SMPT(MIC_NUM_SMPT)));
    CHECK(!mic_regfile_known(MIC_REG_MXAR(MIC_NUM_MXAR) + 4)); /* 0x19088 */
    CHECK(!mic_regfile_known(MIC_REG_SPAD(MIC_NUM_SPAD)));
    CHECK(!mic_regfile_known(MIC_REG_SDBIC(MIC_NUM_SDBIC)));
    CHECK(!mic_regfile_known(MIC_REG_RDMASR(MIC_NUM_RDMASR)));
    CHECK(!mic_regfile_known(MIC_REG_SICR0 + 4));
    CHECK(!mic_regfile_known(MIC_REG_SICR0 + 1));           /* unaligned */
    CHECK(!mic_regfile_known(MIC_REG_SPAD(0) + 2));
    CHECK(!mic_regfile_known(0));
    CHECK(!mic_regfile_known(MIC_MMIO_SIZE));
    CHECK(!mic_regfile_known(MIC_MMIO_SIZE + MIC_REG_SICR0));
    CHECK(!mic_regfile_known(0xFFFFFFFCu));
}

/* ---- garbage accesses ---------------------------------------------------- */

static void test_unknown_access(void)
{
    static const uint32_t bad[] = {
        0, 4, 0x10000, 0x19000, 0x19008, 0x19088, 0x1A00C, 0x1FFFC,
        MIC_MMIO_SIZE, MIC_MMIO_SIZE + 4, 0x7FFFFFFC, 0xFFFFFFFCu,
        0xFFFFFFFFu, MIC_REG_SICR0 + 1, MIC_REG_SPAD(3) + 2,
    };
    unsigned int i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        WR(H, bad[i], 0xFFFFFFFF);
        CHECK(ev.flags & MIC_EV_GUEST_ERR);
        CHECK(ev.error != NULL && ev.error[0] != 0);
        CHECK_EQ(ev.flags & ~MIC_EV_GUEST_ERR, 0);
        WR(C, bad[i], 0x12345678);
        CHECK(ev.flags & MIC_EV_GUEST_ERR);
        CHECK_EQ(RD(H, bad[i]), 0);
        CHECK_EQ(RD(C, bad[i]), 0);
    }
    /* unaligned SICR0 must not clear SICR0 */
    mic_regfile_host_raise(rf, MIC_SRC_DB(0));
    WR(H, MIC_REG_SICR0 + 2, 0xFFFFFFFF);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 1);
    /* nothing else changed */
    CHECK_EQ(RD(H, MIC_REG_DCR), 0x55);
    CHECK_EQ(rf->magic, MIC_REGFILE_MAGIC);
    /* a NULL event pointer is allowed */
    mic_regfile_write(rf, H, MIC_REG_SPAD(1), 7, NULL);
    CHECK_EQ(RD(H, MIC_REG_SPAD(1)), 7);
    mic_regfile_write(rf, H, 0xFFFFFFF0u, 7, NULL);
}

/* ---- interrupt registers §2.1/§2.4 ------------------------------------ */

static void test_sicr0_w1c(void)
{
    mic_regfile_host_raise(rf, MIC_SRC_DB(0) | MIC_SRC_DB(2) | MIC_SRC_DMA(1));
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0x205);
    WR(H, MIC_REG_SICR0, MIC_SRC_DB(2));
    CHECK(ev.flags & MIC_EV_HOST_IRQ);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0x201);
    WR(H, MIC_REG_SICR0, 0);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0x201);
    /* the MSI/INTx ack: read and write the same value back (§2.4) */
    WR(H, MIC_REG_SICR0, RD(H, MIC_REG_SICR0));
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    /* writing ones never sets a cause */
    WR(H, MIC_REG_SICR0, 0xFFFFFFFF);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    /* host_raise ignores bits that are no source */
    mic_regfile_host_raise(rf, 0xFFFFFFFF);
    CHECK_EQ(RD(H, MIC_REG_SICR0), MIC_SRC_VALID_MASK);
}

static void test_sice0_sicc0(void)
{
    WR(H, MIC_REG_SICE0, 0xFF0F);
    CHECK(ev.flags & MIC_EV_HOST_IRQ);
    CHECK_EQ(RD(H, MIC_REG_SICE0), 0xFF0F);
    WR(H, MIC_REG_SICE0, MIC_SRC_ERR);              /* write-1-to-set */
    CHECK_EQ(RD(H, MIC_REG_SICE0), 0xFF0F | MIC_SRC_ERR);
    WR(H, MIC_REG_SICE0, 0);
    CHECK_EQ(RD(H, MIC_REG_SICE0), 0xFF0F | MIC_SRC_ERR);
    WR(H, MIC_REG_SICC0, 0x000F);                   /* clear doorbells */
    CHECK(ev.flags & MIC_EV_HOST_IRQ);
    CHECK_EQ(RD(H, MIC_REG_SICE0), 0xFF00 | MIC_SRC_ERR);
    CHECK_EQ(RD(H, MIC_REG_SICC0), 0);              /* reads 0 */
    /* the driver's disable: write the current SICE0 to SICC0 */
    WR(H, MIC_REG_SICC0, RD(H, MIC_REG_SICE0));
    CHECK_EQ(RD(H, MIC_REG_SICE0), 0);
    /* undefined source bits are not stored */
    WR(H, MIC_REG_SICE0, 0xFFFFFFFF);
    CHECK_EQ(RD(H, MIC_REG_SICE0), MIC_SRC_VALID_MASK);
}

static void test_siac0_mxar_rw(void)
{
    unsigned int i;

    WR(H, MIC_REG_SIAC0, 0xFF0F);
    CHECK_EQ(RD(H, MIC_REG_SIAC0), 0xFF0F);
    WR(H, MIC_REG_SIAC0, 0x0F);                     /* plain RW, not W1S */
    CHECK_EQ(RD(H, MIC_REG_SIAC0), 0x0F);
    for (i = 0; i < MIC_NUM_MXAR; i++) {
        WR(H, MIC_REG_MXAR(i), 0x100u << i);
        CHECK_EQ(ev.flags, 0);
    }
    for (i = 0; i < MIC_NUM_MXAR; i++) {
        CHECK_EQ(RD(H, MIC_REG_MXAR(i)), 0x100u << i);
    }
    WR(H, MIC_REG_MXAR(3), 0);
    CHECK_EQ(RD(H, MIC_REG_MXAR(3)), 0);
}

static void test_msixpbacr(void)
{
    WR(H, MIC_REG_MSIXPBACR, 1);
    CHECK_EQ(ev.flags, MIC_EV_PBA_CLEAR);
    CHECK_EQ(RD(H, MIC_REG_MSIXPBACR), 0);
    WR(H, MIC_REG_MSIXPBACR, 0);
    CHECK_EQ(ev.flags, 0);
    WR(H, MIC_REG_MSIXPBACR, 0xFFFFFFFE);
    CHECK_EQ(ev.flags, 0);
}

static void test_rgcr(void)
{
    WR(H, MIC_REG_RGCR, 0);
    CHECK_EQ(ev.flags, 0);
    WR(H, MIC_REG_RGCR, RD(H, MIC_REG_RGCR) | MIC_RGCR_RESET);
    CHECK_EQ(ev.flags, MIC_EV_RESET);
    CHECK_EQ(RD(H, MIC_REG_RGCR), 0);               /* self-clears */
    WR(H, MIC_REG_RGCR, 0xF0);
    CHECK_EQ(ev.flags, 0);
    CHECK_EQ(RD(H, MIC_REG_RGCR), 0xF0);
    WR(H, MIC_REG_RGCR, 0xF1);
    CHECK_EQ(ev.flags, MIC_EV_RESET);
    CHECK_EQ(RD(H, MIC_REG_RGCR), 0xF0);
}

/* ---- doorbells ---------------------------------------------------------- */

static void test_apicicr(void)
{
    unsigned int k;

    for (k = 0; k < MIC_NUM_APICICR; k++) {
        WR(H, MIC_REG_APICICR_LO(k), 0x40 + k);     /* program, no send */
        CHECK_EQ(ev.flags, 0);
        CHECK_EQ(RD(H, MIC_REG_APICICR_LO(k)), 0x40 + k);
        /* §2.4 host doorbell: read, OR bit 13, write back */
        WR(H, MIC_REG_APICICR_LO(k), RD(H, MIC_REG_APICICR_LO(k)) | 0x2000);
        CHECK_EQ(ev.flags, MIC_EV_CARD_IRQ);
        CHECK_EQ(ev.card_sources, MIC_CARD_SRC_APICICR(k));
        CHECK_EQ(RD(H, MIC_REG_APICICR_LO(k)), 0x40 + k);  /* sent */
    }
    CHECK_EQ(mic_regfile_card_take(rf), 0xFF);
    CHECK_EQ(mic_regfile_card_take(rf), 0);

    WR(H, MIC_REG_APICICR_HI(3), 0xDEADBEEF);
    CHECK_EQ(ev.flags, 0);
    CHECK_EQ(RD(C, MIC_REG_APICICR_HI(3)), 0xDEADBEEF);
}

static void test_boot_kick(void)
{
    /* §2.4: APICICR7 high = APIC id, then low = 229 | bit 13 */
    WR(H, MIC_REG_APICICR_HI(7), 0);
    WR(H, MIC_REG_APICICR_LO(7), 229 | 0x2000);
    CHECK_EQ(ev.flags, MIC_EV_BOOT_KICK);
    CHECK_EQ(ev.card_sources, 0);
    CHECK_EQ(RD(H, MIC_REG_APICICR_LO(7)), 229);
    CHECK_EQ(mic_regfile_card_take(rf), 0);         /* not a card irq */
    /* vector 229 without bit 13: nothing */
    WR(H, MIC_REG_APICICR_LO(7), 229);
    CHECK_EQ(ev.flags, 0);
    /* another vector on APICICR7 is an ordinary doorbell */
    WR(H, MIC_REG_APICICR_LO(7), 228 | 0x2000);
    CHECK_EQ(ev.flags, MIC_EV_CARD_IRQ);
    CHECK_EQ(ev.card_sources, MIC_CARD_SRC_APICICR(7));
    /* vector 229 on another APICICR is an ordinary doorbell */
    WR(H, MIC_REG_APICICR_LO(6), 229 | 0x2000);
    CHECK_EQ(ev.flags, MIC_EV_CARD_IRQ);
    CHECK_EQ(ev.card_sources, MIC_CARD_SRC_APICICR(6));
    /* only the host kicks the bootstrap */
    WR(C, MIC_REG_APICICR_LO(7), 229 | 0x2000);
    CHECK_EQ(ev.flags, MIC_EV_CARD_IRQ);
    /* the vector is bits 7:0; other ICR bits do not change it */
    WR(H, MIC_REG_APICICR_LO(7), 0x1000 | 0x100 | 229 | 0x2000);
    CHECK_EQ(ev.flags, MIC_EV_BOOT_KICK);
    CHECK_EQ(RD(H, MIC_REG_APICICR_LO(7)), 0x1100 | 229);
    WR(H, MIC_REG_APICICR_LO(7), 0x100 | 230 | 0x2000);
    CHECK_EQ(ev.flags, MIC_EV_CARD_IRQ);            /* vector 0xE6 */
}

static void test_rdmasr(void)
{
    unsigned int m;

    for (m = 0; m < MIC_NUM_RDMASR; m++) {
        WR(H, MIC_REG_RDMASR(m), 0);                /* any write */
        CHECK_EQ(ev.flags, MIC_EV_CARD_IRQ);
        CHECK_EQ(ev.card_sources, MIC_CARD_SRC_RDMASR(m));
        CHECK_EQ(ev.card_sources, 1u << (8 + m));
    }
    CHECK_EQ(mic_regfile_card_take(rf), 0xFF00);
    WR(C, MIC_REG_RDMASR(2), 0xFFFFFFFF);           /* P2P / card side */
    CHECK_EQ(ev.card_sources, 0x400);
    /* accumulates until taken */
    mic_regfile_card_raise(rf, MIC_CARD_SRC_DMA(4) | MIC_CARD_SRC_DMA(7));
    CHECK_EQ(mic_regfile_card_take(rf), 0x400 | (1u << 16) | (1u << 19));
    mic_regfile_card_raise(rf, 0xFFFFFFFF);
    CHECK_EQ(mic_regfile_card_take(rf), (1u << MIC_CARD_NUM_SRC) - 1);
}

static void test_sdbic(void)
{
    unsigned int d;

    for (d = 0; d < 4; d++) {
        WR(C, MIC_REG_SDBIC(d), MIC_SDBIC_DBREQ);
        CHECK_EQ(ev.flags, MIC_EV_HOST_IRQ);
        CHECK_EQ(RD(H, MIC_REG_SICR0), (2u << d) - 1);
    }
    CHECK_EQ(rf->host_raised, 0xF);
    CHECK_EQ(RD(C, MIC_REG_SDBIC(0)), 0);
    WR(H, MIC_REG_SICR0, 0xF);

    WR(C, MIC_REG_SDBIC(1), 0x7FFFFFFF);            /* no DBREQ: nothing */
    CHECK_EQ(ev.flags, 0);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    for (d = 4; d < MIC_NUM_SDBIC; d++) {           /* 4..8: dropped */
        WR(C, MIC_REG_SDBIC(d), MIC_SDBIC_DBREQ);
        CHECK_EQ(ev.flags, MIC_EV_GUEST_ERR);
        CHECK(ev.error != NULL);
        CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    }
    for (d = 0; d < MIC_NUM_SDBIC; d++) {           /* host side: error */
        WR(H, MIC_REG_SDBIC(d), MIC_SDBIC_DBREQ);
        CHECK_EQ(ev.flags, MIC_EV_GUEST_ERR);
        CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    }
}

/* ---- plain storage ------------------------------------------------------ */

static void test_spad_smpt(void)
{
    unsigned int i;

    for (i = 0; i < MIC_NUM_SPAD; i++) {
        WR(i & 1 ? H : C, MIC_REG_SPAD(i), 0x1000 + i);
        CHECK_EQ(ev.flags, 0);
    }
    for (i = 0; i < MIC_NUM_SPAD; i++) {
        CHECK_EQ(RD(i & 1 ? C : H, MIC_REG_SPAD(i)), 0x1000 + i);
        CHECK_EQ(mic_regfile_spad(rf, i), 0x1000 + i);
    }
    CHECK_EQ(mic_regfile_spad(rf, MIC_NUM_SPAD), 0);
    CHECK_EQ(mic_regfile_spad(rf, 0xFFFFFFFFu), 0);

    for (i = 0; i < MIC_NUM_SMPT; i++) {
        WR(H, MIC_REG_SMPT(i), (i << 2) | (i & 1));
        CHECK_EQ(ev.flags, MIC_EV_SMPT);
        CHECK_EQ(ev.smpt_mask, 1u << i);
    }
    for (i = 0; i < MIC_NUM_SMPT; i++) {
        CHECK_EQ(RD(C, MIC_REG_SMPT(i)), (i << 2) | (i & 1));
    }
}

static void test_dma_regs(void)
{
    static const uint32_t rw[] = {
        MIC_DMA_DCAR, MIC_DMA_DHPR, MIC_DMA_DCHERRMSK,
    };
    unsigned int n, i;

    for (n = 0; n < MIC_NUM_DMA_CH; n++) {
        for (i = 0; i < 3; i++) {
            WR(n < 4 ? H : C, MIC_REG_DMA_CH(n) + rw[i], (n << 8) | (i + 1));
            if (rw[i] == MIC_DMA_DHPR) {
                CHECK_EQ(ev.flags, MIC_EV_DMA);
                CHECK_EQ(ev.dma_mask, 1u << n);
            } else {
                CHECK_EQ(ev.flags, 0);
            }
        }
    }
    for (n = 0; n < MIC_NUM_DMA_CH; n++) {
        for (i = 0; i < 3; i++) {
            CHECK_EQ(RD(H, MIC_REG_DMA_CH(n) + rw[i]), (n << 8) | (i + 1));
        }
    }
    /* the engine's registers are read-only for guests (docs/dma.rst) */
    mic_regfile_dma_set(rf, 3, MIC_DMA_DTPR, 7);
    mic_regfile_dma_set(rf, 3, MIC_DMA_DSTAT, 7);
    WR(H, MIC_REG_DMA_CH(3) + MIC_DMA_DTPR, 1);
    CHECK_EQ(ev.flags, MIC_EV_GUEST_ERR);
    WR(C, MIC_REG_DMA_CH(3) + MIC_DMA_DSTAT, 1);
    CHECK_EQ(ev.flags, MIC_EV_GUEST_ERR);
    WR(H, MIC_REG_DMA_CH(3) + MIC_DMA_DCHERR, 1);
    CHECK_EQ(ev.flags, MIC_EV_GUEST_ERR);
    CHECK_EQ(RD(H, MIC_REG_DMA_CH(3) + MIC_DMA_DTPR), 7);
    CHECK_EQ(RD(H, MIC_REG_DMA_CH(3) + MIC_DMA_DSTAT), 7);
    CHECK_EQ(RD(H, MIC_REG_DMA_CH(3) + MIC_DMA_DCHERR), 0);
    WR(H, MIC_REG_DMA_CH(2) + 0x0C, 5);             /* [UNK] offset */
    CHECK_EQ(ev.flags, MIC_EV_GUEST_ERR);
    CHECK_EQ(RD(H, MIC_REG_DMA_CH(2) + 0x0C), 0);
    WR(C, MIC_REG_DCR, 0xFFFF);
    CHECK_EQ(RD(H, MIC_REG_DCR), 0xFFFF);
}

/* A new ring restarts at index 0; enabling makes head = tail, no error. */
static void test_dma_ring_and_enable(void)
{
    uint32_t gen = mic_regfile_dma_gen(rf, 1);
    uint32_t ch = MIC_REG_DMA_CH(1);

    mic_regfile_dma_set(rf, 1, MIC_DMA_DTPR, 9);
    mic_regfile_dma_set(rf, 1, MIC_DMA_DSTAT, MIC_DMA_DSTAT_HALTED | 9);
    mic_regfile_dma_set(rf, 1, MIC_DMA_DCHERR, 4);
    WR(H, ch + MIC_DMA_DHPR, 12);
    WR(H, ch + MIC_DMA_DRAR_HI, 64 << MIC_DMA_DRAR_SIZE_SHIFT);
    CHECK_EQ(ev.flags, 0);
    CHECK_EQ(RD(H, ch + MIC_DMA_DTPR), 0);
    CHECK_EQ(RD(H, ch + MIC_DMA_DHPR), 0);
    CHECK_EQ(RD(H, ch + MIC_DMA_DSTAT), MIC_DMA_DSTAT_HALTED);
    CHECK_EQ(RD(H, ch + MIC_DMA_DCHERR), 4);
    CHECK(mic_regfile_dma_gen(rf, 1) != gen);

    mic_regfile_dma_set(rf, 1, MIC_DMA_DTPR, 5);
    gen = mic_regfile_dma_gen(rf, 1);
    WR(H, MIC_REG_DCR, 0x55 | MIC_DCR_ENABLE(1));
    CHECK_EQ(RD(H, ch + MIC_DMA_DHPR), 5);
    CHECK_EQ(RD(H, ch + MIC_DMA_DSTAT), 5);
    CHECK_EQ(RD(H, ch + MIC_DMA_DCHERR), 0);
    CHECK(mic_regfile_dma_gen(rf, 1) != gen);
    gen = mic_regfile_dma_gen(rf, 1);
    WR(H, MIC_REG_DCR, 0x55 | MIC_DCR_ENABLE(1));   /* no change */
    CHECK_EQ(mic_regfile_dma_gen(rf, 1), gen);
    WR(H, MIC_REG_DCR, 0x55);                       /* disable */
    CHECK(mic_regfile_dma_gen(rf, 1) != gen);
    CHECK_EQ(RD(H, ch + MIC_DMA_DHPR), 5);
}

/* §5.4: a DHPR write repeating the value it holds is flagged. */
static void test_dma_same_head(void)
{
    uint32_t ch = MIC_REG_DMA_CH(6);

    CHECK(!mic_regfile_dma_take_same_head(rf, 6));
    WR(C, ch + MIC_DMA_DHPR, 3);
    CHECK(!mic_regfile_dma_take_same_head(rf, 6));
    WR(C, ch + MIC_DMA_DHPR, 3);
    CHECK_EQ(ev.dma_mask, 1u << 6);
    CHECK(mic_regfile_dma_take_same_head(rf, 6));
    CHECK(!mic_regfile_dma_take_same_head(rf, 6));  /* taken */
    WR(C, ch + MIC_DMA_DHPR, 0);
    WR(H, ch + MIC_DMA_DHPR, 0);                    /* from either side */
    WR(C, MIC_REG_DCR, 0x55 | MIC_DCR_ENABLE(6));   /* enabling clears it */
    CHECK(!mic_regfile_dma_take_same_head(rf, 6));
    WR(C, ch + MIC_DMA_DHPR, 0);                    /* head == tail */
    CHECK(mic_regfile_dma_take_same_head(rf, 6));
    CHECK(!mic_regfile_dma_take_same_head(rf, 99));
}

static void test_postcode(void)
{
    mic_regfile_set_postcode(rf, 0x3130);           /* "01" */
    CHECK_EQ(RD(H, MIC_REG_POSTCODE), 0x3130);
    WR(H, MIC_REG_POSTCODE, 0x4141);
    CHECK_EQ(ev.flags, MIC_EV_GUEST_ERR);
    CHECK_EQ(RD(H, MIC_REG_POSTCODE), 0x3130);
    WR(C, MIC_REG_POSTCODE, 0x4646);                /* card firmware may */
    CHECK_EQ(ev.flags, 0);
    CHECK_EQ(RD(H, MIC_REG_POSTCODE), 0x4646);
}

static void test_post_ready(void)
{
    mic_regfile_post_ready(rf, MIC_DEFAULT_BOOT_ADDR, 0);
    CHECK_EQ(mic_regfile_spad(rf, 2), 0x04000001);
    mic_regfile_post_ready(rf, MIC_DEFAULT_BOOT_ADDR, 5);
    CHECK_EQ(RD(H, MIC_REG_SPAD(2)), 0x0400000B);
    /* garbage: unaligned address and too wide an APIC id are masked */
    mic_regfile_post_ready(rf, 0x04000FFF, 0xFFFF);
    CHECK_EQ(RD(H, MIC_REG_SPAD(2)), 0x04000000 | 0x3FE | 1);
}

static void test_names(void)
{
    char buf[32];

    CHECK(strcmp(mic_regfile_name(MIC_REG_SICR0, buf, sizeof(buf)),
                 "SICR0") == 0);
    CHECK(strcmp(mic_regfile_name(MIC_REG_SPAD(5), buf, sizeof(buf)),
                 "SPAD5") == 0);
    CHECK(strcmp(mic_regfile_name(MIC_REG_DMA_CH(2) + MIC_DMA_DHPR, buf,
                                  sizeof(buf)), "DMA2.DHPR") == 0);
    CHECK(strcmp(mic_regfile_name(MIC_REG_APICICR_LO(7), buf, sizeof(buf)),
                 "APICICR_LO7") == 0);
    CHECK(strcmp(mic_regfile_name(MIC_REG_POSTCODE, buf, sizeof(buf)),
                 "POSTCODE") == 0);
    CHECK(strncmp(mic_regfile_name(0x10, buf, sizeof(buf)), "unknown", 7)
          == 0);
    CHECK(strlen(mic_regfile_name(MIC_REG_SMPT(31), buf, 4)) == 3);
    CHECK(mic_regfile_name(0xFFFFFFFFu, NULL, 0) != NULL);
    CHECK(mic_regfile_name(0xFFFFFFFFu, buf, 0) != NULL);
}

static void test_reset_card(void)
{
    unsigned int i;
    uint32_t gen5;

    for (i = 0; i < MIC_NUM_SPAD; i++) {
        WR(H, MIC_REG_SPAD(i), 0x100 + i);
    }
    WR(H, MIC_REG_SMPT(4), 0x10);
    WR(H, MIC_REG_MXAR(1), 0x300);
    WR(H, MIC_REG_SICE0, 0xFF0F);
    WR(H, MIC_REG_SIAC0, 0xFF0F);
    WR(H, MIC_REG_APICICR_LO(1), 0x41);
    WR(H, MIC_REG_APICICR_HI(1), 0x5);
    WR(H, MIC_REG_RDMASR(2), 9);
    WR(C, MIC_REG_DCR, 0xFFFF);
    WR(C, MIC_REG_DMA_CH(5) + MIC_DMA_DRAR_LO, 0x1000);
    WR(C, MIC_REG_DMA_CH(5) + MIC_DMA_DHPR, 0);     /* same head: flagged */
    gen5 = mic_regfile_dma_gen(rf, 5);
    WR(C, MIC_REG_POSTCODE, 0x3030);
    mic_regfile_host_raise(rf, MIC_SRC_DB(1));
    mic_regfile_card_raise(rf, MIC_CARD_SRC_RDMASR(1));

    mic_regfile_reset_card(rf);

    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    CHECK_EQ(rf->host_raised, 0);
    CHECK_EQ(rf->card_raised, 0);
    CHECK_EQ(RD(H, MIC_REG_APICICR_LO(1)), 0);
    CHECK_EQ(RD(H, MIC_REG_APICICR_HI(1)), 0);
    CHECK_EQ(RD(H, MIC_REG_RDMASR(2)), 0);
    CHECK_EQ(RD(H, MIC_REG_DCR), 0x55);
    CHECK_EQ(RD(H, MIC_REG_DMA_CH(5) + MIC_DMA_DRAR_LO), 0);
    CHECK(!mic_regfile_dma_take_same_head(rf, 5));
    CHECK(mic_regfile_dma_gen(rf, 5) != gen5);      /* engines drop work */
    CHECK_EQ(RD(H, MIC_REG_POSTCODE), 0);
    CHECK_EQ(RD(H, MIC_REG_SPAD(2)), 0);
    CHECK_EQ(RD(H, MIC_REG_SPAD(0)), 0);
    /* host-owned configuration survives (§2.2, §2.4, §3.3) */
    CHECK_EQ(RD(H, MIC_REG_SPAD(5)), 0x105);
    CHECK_EQ(RD(H, MIC_REG_SPAD(14)), 0x10E);
    CHECK_EQ(RD(H, MIC_REG_SPAD(15)), 0x10F);
    CHECK_EQ(RD(H, MIC_REG_SMPT(4)), 0x10);
    CHECK_EQ(RD(H, MIC_REG_MXAR(1)), 0x300);
    CHECK_EQ(RD(H, MIC_REG_SICE0), 0xFF0F);
    CHECK_EQ(RD(H, MIC_REG_SIAC0), 0xFF0F);
    CHECK_EQ(rf->magic, MIC_REGFILE_MAGIC);
}

/* ---- delivery: raise / deliver / auto-clear / disabled-then-enabled ------ */

/* The §2.4 enable sequence plus a one-source-per-vector MSI-X routing. */
static void host_enable_msix(void)
{
    WR(H, MIC_REG_SICE0, 0xFF0F);
    WR(H, MIC_REG_SIAC0, 0xFF0F);
    WR(H, MIC_REG_MXAR(0), MIC_SRC_DMA(0));
    WR(H, MIC_REG_MXAR(4), MIC_SRC_DB(0));
    WR(H, MIC_REG_MXAR(5), MIC_SRC_DB(1));
}

static void test_deliver_msix(void)
{
    bool level = true;

    host_enable_msix();
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 0);
    CHECK(!level);

    WR(C, MIC_REG_SDBIC(0), MIC_SDBIC_DBREQ);
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 1u << 4);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);              /* auto-cleared */
    CHECK(!level);
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 0);  /* once */

    mic_regfile_host_raise(rf, MIC_SRC_DB(1) | MIC_SRC_DMA(0));
    CHECK_EQ(mic_regfile_host_deliver(rf, true, NULL), (1u << 5) | 1u);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);

    /* raising again delivers again */
    mic_regfile_host_raise(rf, MIC_SRC_DB(1));
    CHECK_EQ(mic_regfile_host_deliver(rf, true, NULL), 1u << 5);

    /* one source routed to two vectors */
    WR(H, MIC_REG_MXAR(9), MIC_SRC_DB(1));
    mic_regfile_host_raise(rf, MIC_SRC_DB(1));
    CHECK_EQ(mic_regfile_host_deliver(rf, true, NULL), (1u << 5) | (1u << 9));
}

static void test_deliver_no_autoclear(void)
{
    bool level = false;

    host_enable_msix();
    WR(H, MIC_REG_SIAC0, 0);
    mic_regfile_host_raise(rf, MIC_SRC_DB(0));
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 1u << 4);
    CHECK_EQ(RD(H, MIC_REG_SICR0), MIC_SRC_DB(0));  /* still pending */
    CHECK(level);
    /* the B0+ workaround re-enables: no re-delivery of an old cause */
    WR(H, MIC_REG_SICE0, RD(H, MIC_REG_SICE0) | 0xFF0F);
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 0);
    WR(H, MIC_REG_SICR0, MIC_SRC_DB(0));
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 0);
    CHECK(!level);
}

static void test_deliver_disabled_then_enabled(void)
{
    bool level = true;

    host_enable_msix();
    WR(H, MIC_REG_SICC0, MIC_SRC_DB(1));            /* disable doorbell 1 */
    WR(C, MIC_REG_SDBIC(1), MIC_SDBIC_DBREQ);
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 0);
    CHECK_EQ(RD(H, MIC_REG_SICR0), MIC_SRC_DB(1));  /* stays pending */
    CHECK(!level);
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 0);
    /* enabling later delivers it, and only once */
    WR(H, MIC_REG_SICE0, MIC_SRC_DB(1));
    CHECK(ev.flags & MIC_EV_HOST_IRQ);
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 1u << 5);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 0);
    /* enabling a source with no pending cause delivers nothing */
    WR(H, MIC_REG_SICC0, MIC_SRC_DB(1));
    WR(H, MIC_REG_SICE0, MIC_SRC_DB(1));
    CHECK_EQ(mic_regfile_host_deliver(rf, true, &level), 0);
    /* INTx mode: level follows SICR0 & SICE0 */
    WR(H, MIC_REG_SICC0, 0xFFFFFFFF);
    mic_regfile_host_raise(rf, MIC_SRC_DB(3));
    mic_regfile_host_deliver(rf, false, &level);
    CHECK(!level);
    WR(H, MIC_REG_SICE0, MIC_SRC_DB(3));
    mic_regfile_host_deliver(rf, false, &level);
    CHECK(level);
    CHECK_EQ(mic_regfile_host_level(rf), MIC_SRC_DB(3));
    WR(H, MIC_REG_SICR0, MIC_SRC_DB(3));
    mic_regfile_host_deliver(rf, false, &level);
    CHECK(!level);
}

static void test_deliver_cleared_before_delivery(void)
{
    host_enable_msix();
    mic_regfile_host_raise(rf, MIC_SRC_DB(0));
    WR(H, MIC_REG_SICR0, MIC_SRC_DB(0));
    CHECK_EQ(mic_regfile_host_deliver(rf, true, NULL), 0);
}

static void test_deliver_unrouted(void)
{
    host_enable_msix();
    mic_regfile_host_raise(rf, MIC_SRC_DB(2));      /* no MXAR has bit 2 */
    CHECK_EQ(mic_regfile_host_deliver(rf, true, NULL), 0);
    CHECK_EQ(RD(H, MIC_REG_SICR0), MIC_SRC_DB(2));  /* not auto-cleared */
    /* error source bit 30, enabled and routed */
    WR(H, MIC_REG_SICE0, MIC_SRC_ERR);
    WR(H, MIC_REG_MXAR(15), MIC_SRC_ERR);
    mic_regfile_host_raise(rf, MIC_SRC_ERR);
    CHECK_EQ(mic_regfile_host_deliver(rf, true, NULL), 1u << 15);
    CHECK_EQ(RD(H, MIC_REG_SICR0), MIC_SRC_DB(2) | MIC_SRC_ERR);
}

static void test_deliver_msi(void)
{
    bool level = false;

    WR(H, MIC_REG_SICE0, 0xFF0F);
    WR(H, MIC_REG_SIAC0, 0xFF0F);
    WR(H, MIC_REG_MXAR(3), MIC_SRC_DB(0));
    mic_regfile_host_raise(rf, MIC_SRC_DB(0));
    CHECK_EQ(mic_regfile_host_deliver(rf, false, &level), 0); /* MXAR0 only */
    CHECK(level);
    WR(H, MIC_REG_SICR0, 1);

    WR(H, MIC_REG_MXAR(0), MIC_SRC_DB_MASK);        /* driver's MSI setup */
    mic_regfile_host_raise(rf, MIC_SRC_DB(2));
    CHECK_EQ(mic_regfile_host_deliver(rf, false, &level), 1);
    CHECK_EQ(RD(H, MIC_REG_SICR0), MIC_SRC_DB(2));  /* no auto-clear */
    CHECK(level);
    WR(H, MIC_REG_SICR0, RD(H, MIC_REG_SICR0));     /* the MSI ack */
    mic_regfile_host_deliver(rf, false, &level);
    CHECK(!level);
}

/* ---- fuzz and concurrency ----------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void test_fuzz(void)
{
    unsigned int i, k, bad = 0;
    uint32_t off, val;
    bool level;

    for (i = 0; i < 2000000; i++) {
        switch (rnd() % 4) {
        case 0:
            off = rnd();                            /* anything at all */
            break;
        case 1:
            off = rnd() % (MIC_MMIO_SIZE + 64);     /* in range, unaligned */
            break;
        default:
            off = (MIC_SBOX_BASE + rnd() % 0xD000) & ~3u;   /* live area */
            break;
        }
        val = rnd() ^ (rnd() << 16);
        mic_regfile_write(rf, rnd() & 1 ? H : C, off, val, &ev);
        if ((ev.flags & MIC_EV_GUEST_ERR) && !ev.error) {
            bad++;
        }
        if (!mic_regfile_known(off) && RD(H, off) != 0) {
            bad++;
        }
        if ((i & 63) == 0) {
            mic_regfile_host_deliver(rf, rnd() & 1, &level);
            mic_regfile_card_take(rf);
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(rf->magic, MIC_REGFILE_MAGIC);
    CHECK_EQ(rf->version, MIC_REGFILE_VERSION);
    CHECK_EQ(RD(H, MIC_REG_SICE0) & ~MIC_SRC_VALID_MASK, 0);
    CHECK_EQ(RD(H, MIC_REG_SICR0) & ~MIC_SRC_VALID_MASK, 0);
    CHECK_EQ(RD(H, MIC_REG_RGCR) & MIC_RGCR_RESET, 0);
    CHECK_EQ(rf->card_raised >> MIC_CARD_NUM_SRC, 0);
    for (k = 0; k < MIC_NUM_APICICR; k++) {
        CHECK_EQ(RD(H, MIC_REG_APICICR_LO(k)) & MIC_APICICR_SEND, 0);
    }
    for (k = 0; k < sizeof(rf->reserved) / 4; k++) {
        if (rf->reserved[k] != 0) {
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
}

/*
 * A card thread rings doorbells while the host delivers with auto-clear.
 * Afterwards nothing may be left pending: every raise that set SICR0 was
 * seen by some delivery.
 */
#define RING_COUNT 200000

static void *card_thread(void *arg)
{
    unsigned int i;
    MicRegEvents cev;

    (void)arg;
    for (i = 0; i < RING_COUNT; i++) {
        mic_regfile_write(rf, C, MIC_REG_SDBIC(i & 3), MIC_SDBIC_DBREQ, &cev);
    }
    return NULL;
}

static void test_concurrent(void)
{
    pthread_t t;
    uint64_t delivered = 0;
    uint32_t v;

    host_enable_msix();
    WR(H, MIC_REG_MXAR(6), MIC_SRC_DB(2) | MIC_SRC_DB(3));
    CHECK_EQ(pthread_create(&t, NULL, card_thread, NULL), 0);
    while (__atomic_load_n(&rf->host_raised, __ATOMIC_ACQUIRE) == 0) {
        ;   /* wait until the card has started */
    }
    for (v = 0; v < RING_COUNT / 4; v++) {
        delivered += __builtin_popcount(mic_regfile_host_deliver(rf, true,
                                                                 NULL));
    }
    pthread_join(t, NULL);
    delivered += __builtin_popcount(mic_regfile_host_deliver(rf, true, NULL));
    CHECK(delivered > 0);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    CHECK_EQ(rf->host_raised, 0);
}

/* -------------------------------------------------------------------------- */

/* ---- fault injection ----------------------------------------------------- */

static void test_fault_doorbell_drop_dup(void)
{
    uint32_t drop, dup;

    /* host to card: drop 2, then ring 1 twice, then normal again */
    mic_regfile_fault_doorbells(rf, MIC_FAULT_TO_CARD, 2, 1);
    WR(H, MIC_REG_RDMASR(0), 0);
    CHECK_EQ(ev.flags, MIC_EV_DB_DROPPED);
    WR(H, MIC_REG_APICICR_LO(3), 0x40 | MIC_APICICR_SEND);
    CHECK_EQ(ev.flags, MIC_EV_DB_DROPPED);
    CHECK_EQ(mic_regfile_card_take(rf), 0);
    mic_regfile_fault_doorbells_left(rf, MIC_FAULT_TO_CARD, &drop, &dup);
    CHECK_EQ(drop, 0);
    CHECK_EQ(dup, 1);
    WR(H, MIC_REG_RDMASR(5), 0);
    CHECK_EQ(ev.flags, MIC_EV_CARD_IRQ | MIC_EV_DB_DOUBLED);
    CHECK_EQ(mic_regfile_card_take(rf), MIC_CARD_SRC_RDMASR(5));
    CHECK_EQ(mic_regfile_fault_take_dup(rf, MIC_FAULT_TO_CARD),
             MIC_CARD_SRC_RDMASR(5));
    CHECK_EQ(mic_regfile_fault_take_dup(rf, MIC_FAULT_TO_CARD), 0);
    WR(H, MIC_REG_RDMASR(5), 0);
    CHECK_EQ(ev.flags, MIC_EV_CARD_IRQ);
    mic_regfile_card_take(rf);
    /* the boot kick is not a doorbell */
    mic_regfile_fault_doorbells(rf, MIC_FAULT_TO_CARD, 1, 0);
    WR(H, MIC_REG_APICICR_LO(7), MIC_BOOT_VECTOR | MIC_APICICR_SEND);
    CHECK_EQ(ev.flags, MIC_EV_BOOT_KICK);

    /* card to host: the other direction's counters are separate */
    mic_regfile_fault_doorbells(rf, MIC_FAULT_TO_HOST, 1, 1);
    WR(C, MIC_REG_SDBIC(2), MIC_SDBIC_DBREQ);
    CHECK_EQ(ev.flags, MIC_EV_DB_DROPPED);
    CHECK_EQ(RD(H, MIC_REG_SICR0), 0);
    CHECK_EQ(rf->host_raised, 0);
    WR(C, MIC_REG_SDBIC(1), MIC_SDBIC_DBREQ);
    CHECK_EQ(ev.flags, MIC_EV_HOST_IRQ | MIC_EV_DB_DOUBLED);
    CHECK_EQ(RD(H, MIC_REG_SICR0), MIC_SRC_DB(1));
    CHECK_EQ(mic_regfile_fault_take_dup(rf, MIC_FAULT_TO_HOST),
             MIC_SRC_DB(1));
    mic_regfile_fault_doorbells_left(rf, MIC_FAULT_TO_CARD, &drop, &dup);
    CHECK_EQ(drop, 1);                      /* untouched by SDBIC */
    /* a card reset forgets doorbells still to be doubled */
    mic_regfile_fault_doorbells(rf, MIC_FAULT_TO_HOST, 0, 1);
    WR(C, MIC_REG_SDBIC(0), MIC_SDBIC_DBREQ);
    mic_regfile_reset_card(rf);
    CHECK_EQ(mic_regfile_fault_take_dup(rf, MIC_FAULT_TO_HOST), 0);
}

static void test_fault_link_dma(void)
{
    CHECK(!mic_regfile_fault_link_down(rf));
    mic_regfile_fault_set_link_down(rf, true);
    CHECK(mic_regfile_fault_link_down(rf));
    mic_regfile_reset_card(rf);             /* a board fault, not reset */
    CHECK(mic_regfile_fault_link_down(rf));
    mic_regfile_fault_set_link_down(rf, false);
    CHECK(!mic_regfile_fault_link_down(rf));

    mic_regfile_fault_dma_error(rf, 0x1FF);         /* 8 channels only */
    CHECK_EQ(mic_regfile_fault_dma_error_armed(rf), 0xFF);
    CHECK(mic_regfile_fault_take_dma_error(rf, 3));
    CHECK(!mic_regfile_fault_take_dma_error(rf, 3));    /* one shot */
    CHECK(!mic_regfile_fault_take_dma_error(rf, 8));
    CHECK_EQ(mic_regfile_fault_dma_error_armed(rf), 0xF7);
}

#define T(fn) { #fn, fn }

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        T(test_init), T(test_offsets), T(test_known), T(test_unknown_access),
        T(test_sicr0_w1c), T(test_sice0_sicc0), T(test_siac0_mxar_rw),
        T(test_msixpbacr), T(test_rgcr), T(test_apicicr), T(test_boot_kick),
        T(test_rdmasr), T(test_sdbic), T(test_spad_smpt), T(test_dma_regs),
        T(test_dma_ring_and_enable), T(test_dma_same_head),
        T(test_postcode), T(test_post_ready), T(test_names),
        T(test_reset_card), T(test_deliver_msix),
        T(test_deliver_no_autoclear), T(test_deliver_disabled_then_enabled),
        T(test_deliver_cleared_before_delivery), T(test_deliver_unrouted),
        T(test_deliver_msi), T(test_fault_doorbell_drop_dup),
        T(test_fault_link_dma), T(test_fuzz), T(test_concurrent),
    };
    unsigned int i;
    int before;

    rf = malloc(sizeof(*rf));
    if (!rf) {
        return 2;
    }
    for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        current = tests[i].name;
        before = failures;
        fresh();
        tests[i].fn();
        printf("%s %u - %s\n", failures == before ? "ok" : "not ok", i + 1,
               current);
    }
    printf("# %d checks, %d failed\n", checks, failures);
    free(rf);
    return failures ? 1 : 0;
}
