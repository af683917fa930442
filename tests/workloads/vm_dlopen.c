// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Loads libraries at run time: ld.so maps them with mmap/mprotect like at startup. */
#include <dlfcn.h>
#include "vm_dump.h"

int main(void)
{
	void *m = dlopen("libm.so.6", RTLD_NOW);
	void *z = dlopen("libz.so.1", RTLD_NOW);
	void *cosp, *crcp;

	if (!m || !z)
		return 2;
	cosp = dlsym(m, "cos");
	crcp = dlsym(z, "crc32");
	if (!cosp || !crcp)
		return 2;
	vm_fact("text %p\n", cosp);
	vm_fact("text %p\n", crcp);
	vm_dump_and_exit(0);
}
