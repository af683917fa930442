// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Safe output files (see out_file.h). The check that PATH is not a special
 * file and the final rename are two steps; between them only someone who
 * may write the directory can swap PATH, and the rename replaces a name,
 * it never writes through a link or into a device. When PATH did not
 * exist, the rename refuses to replace anything that appeared meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "out_file.h"
#include "util.h"

/* Temporary names shorten the output's base name to stay under NAME_MAX (255). */
#define TMP_BASE_MAX	200
#define TMP_TRIES	64

static const char *kind_of(mode_t mode)
{
	if (S_ISDIR(mode))
		return "it is a directory";
	if (S_ISLNK(mode))
		return "it is a symbolic link (not followed)";
	if (S_ISFIFO(mode))
		return "it is a FIFO";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "it is a device";
	return "it exists and is not a regular file";
}

/* 0 if PATH is absent or a regular file; -EEXIST with the message otherwise. */
static int check_target(const char *path, bool *exists)
{
	struct stat st;

	*exists = false;
	/* absent, or unreachable: creating the file will say why (ENOTDIR, EACCES) */
	if (lstat(path, &st))
		return 0;
	if (!S_ISREG(st.st_mode)) {
		ps_err("cannot create '%s': %s", path, kind_of(st.st_mode));
		return -EEXIST;
	}
	*exists = true;
	return 0;
}

int out_file__create(struct out_file *o, const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	int dir_len = slash ? (int)(slash - path + 1) : 0;
	bool exists;
	size_t len;
	int err;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (!*base) {
		ps_err("cannot create '%s': %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	err = check_target(path, &exists);
	if (err)
		return err;
	len = strlen(path) + TMP_BASE_MAX + 32;
	o->path = strdup(path);
	o->tmp = malloc(len);
	if (!o->path || !o->tmp) {
		err = -ENOMEM;
		goto err_free;
	}
	for (int i = 0; i < TMP_TRIES; i++) {
		unsigned long long rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd ^= (unsigned long long)getpid() << 20 ^ i ^ (unsigned long long)(uintptr_t)o;
		snprintf(o->tmp, len, "%.*s.%.*s.%012llx.tmp", dir_len, path, TMP_BASE_MAX, base,
			 rnd & 0xffffffffffffull);
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (o->fd >= 0 || errno != EEXIST)
			break;
	}
	if (o->fd < 0) {
		err = -errno;
		ps_err("cannot create '%s': %s", path, strerror(-err));
		goto err_free;
	}
	/* 0600 whatever the umask: outputs hold command lines and addresses */
	if (fchmod(o->fd, 0600))
		ps_dbg("cannot chmod '%s': %s", o->tmp, strerror(errno));
	return 0;

err_free:
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
	return err;
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t len)
{
	struct out_file *o = cookie;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(o->fd, buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!o->err)
				o->err = errno;
			/* stdio marks the stream failed; the errno stays in o->err */
			return done ? (ssize_t)done : -1;
		}
		done += n;
	}
	return done;
}

static int cookie_close(void *cookie)
{
	struct out_file *o = cookie;
	int err = close(o->fd);

	o->fd = -1;
	return err;
}

FILE *out_file__stream(struct out_file *o)
{
	static const cookie_io_functions_t io = { .write = cookie_write, .close = cookie_close };

	if (o->f)
		return o->f;
	o->f = fopencookie(o, "w", io);
	/* fewer, larger writes than the default BUFSIZ */
	if (o->f)
		setvbuf(o->f, NULL, _IOFBF, 64 << 10);
	return o->f;
}

int out_file__publish(struct out_file *o, bool keep_old)
{
	char *old = NULL;
	bool exists;
	int err = 0;

	if (o->published)
		return 0;
	if (o->f && (fflush(o->f) || ferror(o->f))) {
		err = -(o->err ? o->err : EIO);
		ps_err("cannot write '%s': %s", o->path, err == -ENOSPC ? "disk full" : strerror(-err));
		return err;
	}
	err = check_target(o->path, &exists);
	if (err)
		return err;
	if (exists && keep_old) {
		if (asprintf(&old, "%s.old", o->path) < 0)
			return -ENOMEM;
		if (rename(o->path, old)) {
			err = -errno;
			ps_err("cannot keep '%s' as '%s': %s", o->path, old, strerror(-err));
			free(old);
			return err;
		}
		free(old);
		exists = false;
	}
	if (!exists) {
		/* refuse whatever may have appeared at PATH since the check */
		if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path, RENAME_NOREPLACE) == 0)
			goto published;
		if (errno != EINVAL && errno != ENOSYS) {
			err = -errno;
			goto err_rename;
		}
	}
	if (rename(o->tmp, o->path)) {
		err = -errno;
		goto err_rename;
	}
published:
	o->published = true;
	return 0;
err_rename:
	ps_err("cannot create '%s': %s", o->path, strerror(-err));
	return err;
}

void out_file__close(struct out_file *o)
{
	if (!o)
		return;
	if (o->f)
		fclose(o->f);	/* closes fd */
	else if (o->fd >= 0)
		close(o->fd);
	o->f = NULL;
	o->fd = -1;
	if (o->tmp && !o->published)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
}
