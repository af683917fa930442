// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The unwind cache's rules, on made-up keys and stacks (no libdwfl):
 *  - a stack hits only with the same process, modules epoch, regions
 *    generation, frame limit and masked registers, and the same words
 *    where the unwinder read them (a word it did not read may differ);
 *  - a read that fell outside the copy must fall outside again;
 *  - registers outside the mask may differ, SP/FP/PC never;
 *  - a full set replaces its least recently used entry.
 */
#include <string.h>
#include "check.h"
#include "unwind_cache.h"

static struct uwc_key key0(void)
{
	struct uwc_key k = { .pid = 42, .max = 8, .epoch = 3, .vm_gen = 7 };

	for (int i = 0; i < UWC_NREGS; i++)
		k.regs[i] = 0x1000 + i;
	return k;
}

static void test_rules(void)
{
	struct unwind_cache *c = unwind_cache__new();
	struct stack_frame fr[2] = { { .module = 5, .addr = 0x123 }, { .module = 6, .addr = 0x456 } };
	struct stack_frame out[8];
	/* read the word at SP+8 (inside a 64-byte copy) and one at SP+64 (outside) */
	struct uwc_read rd[2] = { { .off = 8, .val = 0x1111, .ok = 1 }, { .off = 64, .ok = 0 } };
	uint8_t stack[64] = { 0 }, other[64];
	struct uwc_key k = key0(), k2;
	uint64_t v = 0x1111;

	CHECK(c != NULL);
	memcpy(stack + 8, &v, 8);
	CHECK_EQ(unwind_cache__get(c, &k, stack, sizeof(stack), out), -1);
	unwind_cache__put(c, &k, 1u << 12 | 1u << 3, rd, 2, fr, 2);
	CHECK_EQ(unwind_cache__get(c, &k, stack, sizeof(stack), out), 2);
	CHECK_EQ(out[1].addr, 0x456);
	/* unread bytes differ: still a hit */
	memcpy(other, stack, sizeof(other));
	other[0] = other[40] = 0xff;
	CHECK_EQ(unwind_cache__get(c, &k, other, sizeof(other), out), 2);
	/* a read word differs */
	other[9] = 0xff;
	CHECK_EQ(unwind_cache__get(c, &k, other, sizeof(other), out), -1);
	/* the outside read would now be inside */
	CHECK_EQ(unwind_cache__get(c, &k, stack, 72, out), -1);
	/* the inside read would now be outside */
	CHECK_EQ(unwind_cache__get(c, &k, stack, 12, out), -1);
	/* registers: outside the mask may differ; in it, or SP/FP/PC, may not */
	k2 = k, k2.regs[1] ^= 1;
	CHECK_EQ(unwind_cache__get(c, &k2, stack, sizeof(stack), out), 2);
	k2 = k, k2.regs[12] ^= 1;
	CHECK_EQ(unwind_cache__get(c, &k2, stack, sizeof(stack), out), -1);
	k2 = k, k2.regs[3] ^= 1;
	CHECK_EQ(unwind_cache__get(c, &k2, stack, sizeof(stack), out), -1);
	k2 = k, k2.regs[UWC_REG_FP] ^= 1;
	CHECK_EQ(unwind_cache__get(c, &k2, stack, sizeof(stack), out), -1);
	/* another process, modules, regions or limit */
	k2 = k, k2.pid++;
	CHECK_EQ(unwind_cache__get(c, &k2, stack, sizeof(stack), out), -1);
	k2 = k, k2.epoch++;
	CHECK_EQ(unwind_cache__get(c, &k2, stack, sizeof(stack), out), -1);
	k2 = k, k2.vm_gen++;
	CHECK_EQ(unwind_cache__get(c, &k2, stack, sizeof(stack), out), -1);
	k2 = k, k2.max = 1;
	CHECK_EQ(unwind_cache__get(c, &k2, stack, sizeof(stack), out), -1);
	unwind_cache__free(c);
}

/* Keys differing only outside the hash (a masked-out register) share a set. */
static void test_eviction(void)
{
	struct unwind_cache *c = unwind_cache__new();
	struct stack_frame fr = { .module = 1, .addr = 1 }, out[8];
	struct uwc_key k[3];
	uint8_t stack[16] = { 0 };

	for (int i = 0; i < 3; i++) {
		k[i] = key0();
		k[i].regs[0] = i;
	}
	unwind_cache__put(c, &k[0], 1, NULL, 0, &fr, 1);
	unwind_cache__put(c, &k[1], 1, NULL, 0, &fr, 1);
	CHECK_EQ(unwind_cache__get(c, &k[0], stack, sizeof(stack), out), 1);	/* k[1] is now older */
	unwind_cache__put(c, &k[2], 1, NULL, 0, &fr, 1);
	CHECK_EQ(unwind_cache__get(c, &k[0], stack, sizeof(stack), out), 1);
	CHECK_EQ(unwind_cache__get(c, &k[1], stack, sizeof(stack), out), -1);
	CHECK_EQ(unwind_cache__get(c, &k[2], stack, sizeof(stack), out), 1);
	unwind_cache__free(c);
}

int main(void)
{
	test_rules();
	test_eviction();
	return CHECK_DONE();
}
