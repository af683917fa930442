// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <gelf.h>
#include <elfutils/libdwelf.h>
#include "buildid.h"
#include "rec_info.h"
#include "util.h"

uint64_t buildid__udev(uint64_t kernel_dev)
{
	/* the kernel's internal dev_t: 12 bits of major above 20 bits of minor */
	return makedev(kernel_dev >> 20, kernel_dev & 0xfffff);
}

int buildid__read(const char *path, struct file_id *out)
{
	const void *id = NULL;
	struct stat st;
	ssize_t n;
	Elf *elf;
	int fd, err = 0;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	out->size = st.st_size;
	out->mtime_ns = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
	out->ino = st.st_ino;
	out->dev = st.st_dev;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf) {
		n = dwelf_elf_gnu_build_id(elf, &id);
		if (n > 0 && id) {
			out->len = n < PS_BUILDID_MAX ? n : PS_BUILDID_MAX;
			memcpy(out->id, id, out->len);
		}
		elf_end(elf);
	}
out_close:
	close(fd);
	return err;
}

int buildid__vaddr(const char *path, uint64_t off, uint64_t *vaddr)
{
	uint64_t page = sysconf(_SC_PAGESIZE);
	size_t nph = 0;
	int fd, err = -ENOENT;
	Elf *elf;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_getphdrnum(elf, &nph))
		nph = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		/* a mapping starts on a page: OFF may lie below p_offset, in its page */
		if (off >= (ph.p_offset & ~(page - 1)) && off < ph.p_offset + ph.p_filesz) {
			*vaddr = ph.p_vaddr + off - ph.p_offset;
			err = 0;
			break;
		}
	}
	elf_end(elf);
	close(fd);
	return err;
}

static uint64_t file_key(uint64_t dev, uint64_t ino)
{
	/* a hash: two files sharing one would be noted once, a missed check at worst */
	return (ino * 0x9e3779b97f4a7c15ull) ^ dev;
}

int buildid__note(struct buildid_notes *n, struct trace_writer *w, const struct ps_hdr *h)
{
	char path[PS_PATH_DEPTH * PS_PATH_COMP + 1];
	union {
		struct ps_buildid b;
		char bytes[sizeof(struct ps_buildid) + sizeof(path) + 8];
	} rec;
	uint64_t dev, ino, key;
	struct file_id fid;
	size_t plen;
	int err;

	if (h->type == PS_REC_MMAP) {
		const struct ps_mmap *m = (const void *)h;

		if (!m->ino || PS_IS_ERR(m->ret))
			return 0;
		dev = m->dev;
		ino = m->ino;
		rec_info__path(path, sizeof(path), m->path);
	} else if (h->type == PS_REC_VMA) {
		const struct ps_vma *v = (const void *)h;

		if (!v->ino)
			return 0;
		dev = v->dev;
		ino = v->ino;
		rec_info__path(path, sizeof(path), v->path);
	} else if (h->type == PS_REC_SNAP_MAP) {
		const struct ps_snap_map *m = (const void *)h;

		/* only code can hold frames: the snapshot notes executable file maps */
		if (!m->ino || m->perms[2] != 'x' || m->path[0] != '/')
			return 0;
		dev = (uint64_t)m->dev_major << 20 | m->dev_minor;	/* the kernel's MKDEV */
		ino = m->ino;
		snprintf(path, sizeof(path), "%s", m->path);
	} else {
		return 0;
	}
	key = file_key(dev, ino);
	if (idmap__get(&n->seen, key))
		return 0;
	if (idmap__set(&n->seen, key, (void *)1))
		return -ENOMEM;
	err = buildid__read(path, &fid);
	if (!err && (fid.ino != ino || fid.dev != buildid__udev(dev)))
		err = -ESTALE;	/* the path names another file already */
	memset(&rec, 0, sizeof(rec));
	rec.b.dev = dev;
	rec.b.ino = ino;
	rec.b.err = err;
	if (!err) {
		rec.b.size = fid.size;
		rec.b.mtime_ns = fid.mtime_ns;
		rec.b.len = fid.len;
		memcpy(rec.b.id, fid.id, fid.len);
	}
	plen = strlen(path) + 1;
	memcpy(rec.b.path, path, plen);
	rec.b.h.type = PS_REC_BUILDID;
	rec.b.h.size = (sizeof(rec.b) + plen + 7) & ~7ul;
	rec.b.h.cpu = h->cpu;
	rec.b.h.ts_ns = h->ts_ns;
	rec.b.h.tgid = h->tgid;
	rec.b.h.tid = h->tid;
	n->records++;
	return trace_writer__add(w, &rec.b.h);
}

void buildid__notes_free(struct buildid_notes *n)
{
	idmap__free(&n->seen);
}
