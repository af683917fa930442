// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Harness 1: raw file bytes through every verb's reading path. Byte 0
 * picks the verb, the rest is the session file as it would lie on disk,
 * so the header, chunk framing, checksums and decompression are attacked.
 */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_verb(data[0], fuzz_file(data + 1, size - 1));
	return 0;
}
