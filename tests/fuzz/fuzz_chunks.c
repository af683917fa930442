// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Harness 2: the input is records back to back (as a chunk holds them
 * once inflated); the harness packs them into a valid session file - a
 * format 3 header with its checksum, chunks with their CRC, compressed or
 * not, a footer or none - so that mutations get past the framing and reach
 * the record checks, the models and the views.
 *
 *   byte 0: the verb; byte 1: bits 0-1 compression (none, zstd, zlib),
 *   bit 2 footer, bits 3-7 chunk count - 1 (records split at 8-byte
 *   boundaries); the rest: the records.
 */
#include <zlib.h>
#include <zstd.h>
#include "fuzz_common.h"
#include "trace_format.h"

static uint8_t *file;
static size_t file_cap;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	file_cap = sizeof(struct ps_file_header) + 64 + 2 * (1u << 20) + 64 * 1024;
	file = malloc(file_cap);
	return file ? 0 : -1;
}

static size_t put_chunk(size_t off, unsigned how, uint32_t flags, const uint8_t *p, size_t len,
			uint32_t nrec)
{
	struct ps_chunk_header ch = { .magic = PS_CHUNK_MAGIC, .flags = flags, .raw_len = len,
				      .nrecords = nrec };
	uint8_t *out = file + off + sizeof(ch);
	size_t room = file_cap - off - sizeof(ch), n = len;

	if (how == 1) {
		n = ZSTD_compress(out, room, p, len, 1);
		if (ZSTD_isError(n))
			abort();
		ch.flags |= PS_CHUNK_ZSTD;
	} else if (how == 2) {
		uLongf zn = room;

		if (compress2(out, &zn, p, len, 1) != Z_OK)
			abort();
		n = zn;
		ch.flags |= PS_CHUNK_ZLIB;
	} else {
		memcpy(out, p, len);
	}
	ch.stored_len = n;
	ch.crc32 = crc32(0, out, n);
	memcpy(file + off, &ch, sizeof(ch));
	return off + sizeof(ch) + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char strings[] = "procscope record -- fuzz\0cmd:fuzz";
	struct ps_file_header h = { .magic = PS_FILE_MAGIC, .version = PS_FILE_VERSION,
				    .page_size = 4096, .ncpus = 2, .start_ns = 1000000 };
	const uint8_t *recs;
	size_t nrecs_bytes, off, per, done;
	unsigned how, nchunks;

	/* a chunk holds at most PS_CHUNK_MAX_RAW; 1 MiB keeps each run fast */
	if (size < 2 || size - 2 > (1u << 20))
		return 0;
	how = data[1] & 3;
	how = how == 3 ? 0 : how;
	nchunks = (data[1] >> 3) + 1;
	recs = data + 2;
	nrecs_bytes = size - 2;

	h.header_len = sizeof(h) + sizeof(strings);
	h.header_crc32 = 0;
	memcpy(file, &h, sizeof(h));
	memcpy(file + sizeof(h), strings, sizeof(strings));
	((struct ps_file_header *)file)->header_crc32 = crc32(0, file, h.header_len);
	off = h.header_len;

	per = (nrecs_bytes / nchunks + 7) & ~(size_t)7;
	for (done = 0; done < nrecs_bytes;) {
		size_t n = nrecs_bytes - done < per || !per ? nrecs_bytes - done : per;

		off = put_chunk(off, how, 0, recs + done, n, 0);
		done += n;
	}
	if (data[1] & 4) {
		struct ps_footer f = { .end_ns = 2000000000, .exit_status = -1 };

		off = put_chunk(off, how, PS_CHUNK_FOOTER, (const uint8_t *)&f, sizeof(f), 0);
	}
	fuzz_verb(data[0], fuzz_file(file, off));
	return 0;
}
