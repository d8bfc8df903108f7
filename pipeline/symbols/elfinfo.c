/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Build-id and banner of debug ELF files.
 * Reads section headers and the one or two sections needed, never the whole (1 GB) file. */

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/symbols/elfinfo.h"

struct elf {
        int fd;
        bool is64, swap;
        Elf64_Ehdr eh;
        Elf64_Shdr *sh;
        size_t shnum, shstrndx;
};

static uint64_t sw(const struct elf *e, uint64_t x, int bytes) {
        if (!e->swap)
                return x;
        uint64_t y = 0;
        for (int i = 0; i < bytes; i++)
                y = (y << 8) | ((x >> (8 * i)) & 0xff);
        return y;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off) {
        size_t done = 0;
        while (done < len) {
                ssize_t n = pread(fd, (char *) buf + done, len - done, (off_t) (off + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ENODATA;
                done += (size_t) n;
        }
        return 0;
}

static int elf_open(int fd, struct elf *e) {
        unsigned char ident[EI_NIDENT];
        int r;

        memset(e, 0, sizeof *e);
        e->fd = fd;
        if ((r = pread_full(fd, ident, sizeof ident, 0)) < 0)
                return r == -ENODATA ? -ENOEXEC : r;
        if (memcmp(ident, ELFMAG, SELFMAG) != 0 || (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64))
                return -ENOEXEC;
        e->is64 = ident[EI_CLASS] == ELFCLASS64;
        e->swap = (ident[EI_DATA] == ELFDATA2MSB) != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
        uint64_t shoff;
        size_t shentsize;
        if (e->is64) {
                if ((r = pread_full(fd, &e->eh, sizeof e->eh, 0)) < 0)
                        return -ENOEXEC;
                shoff = sw(e, e->eh.e_shoff, 8);
                shentsize = (size_t) sw(e, e->eh.e_shentsize, 2);
                e->shnum = (size_t) sw(e, e->eh.e_shnum, 2);
                e->shstrndx = (size_t) sw(e, e->eh.e_shstrndx, 2);
        } else {
                Elf32_Ehdr h;
                if ((r = pread_full(fd, &h, sizeof h, 0)) < 0)
                        return -ENOEXEC;
                shoff = sw(e, h.e_shoff, 4);
                shentsize = (size_t) sw(e, h.e_shentsize, 2);
                e->shnum = (size_t) sw(e, h.e_shnum, 2);
                e->shstrndx = (size_t) sw(e, h.e_shstrndx, 2);
        }
        if (shoff == 0 || e->shnum == 0 || e->shnum > 65535 ||
            shentsize != (e->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)))
                return -ENODATA;
        e->sh = calloc(e->shnum, sizeof *e->sh);
        if (!e->sh)
                return -ENOMEM;
        for (size_t i = 0; i < e->shnum; i++) {
                if (e->is64) {
                        Elf64_Shdr s;
                        if ((r = pread_full(fd, &s, sizeof s, shoff + i * shentsize)) < 0)
                                return -ENOEXEC;
                        e->sh[i].sh_type = (Elf64_Word) sw(e, s.sh_type, 4);
                        e->sh[i].sh_offset = sw(e, s.sh_offset, 8);
                        e->sh[i].sh_size = sw(e, s.sh_size, 8);
                        e->sh[i].sh_name = (Elf64_Word) sw(e, s.sh_name, 4);
                        e->sh[i].sh_flags = sw(e, s.sh_flags, 8);
                        e->sh[i].sh_link = (Elf64_Word) sw(e, s.sh_link, 4);
                } else {
                        Elf32_Shdr s;
                        if ((r = pread_full(fd, &s, sizeof s, shoff + i * shentsize)) < 0)
                                return -ENOEXEC;
                        e->sh[i].sh_type = (Elf64_Word) sw(e, s.sh_type, 4);
                        e->sh[i].sh_offset = sw(e, s.sh_offset, 4);
                        e->sh[i].sh_size = sw(e, s.sh_size, 4);
                        e->sh[i].sh_name = (Elf64_Word) sw(e, s.sh_name, 4);
                        e->sh[i].sh_flags = sw(e, s.sh_flags, 4);
                        e->sh[i].sh_link = (Elf64_Word) sw(e, s.sh_link, 4);
                }
        }
        return 0;
}

int elfinfo_build_id_fd(int fd, char *buf, size_t size) {
        struct elf e;
        int r = elf_open(fd, &e);
        if (r < 0) {
                free(e.sh);
                return r;
        }
        r = -ENODATA;
        for (size_t i = 0; i < e.shnum && r == -ENODATA; i++) {
                if (e.sh[i].sh_type != SHT_NOTE || e.sh[i].sh_size == 0 || e.sh[i].sh_size > (1u << 20))
                        continue;
                size_t n = (size_t) e.sh[i].sh_size;
                unsigned char *notes = malloc(n);
                if (!notes) {
                        r = -ENOMEM;
                        break;
                }
                if (pread_full(fd, notes, n, e.sh[i].sh_offset) == 0) {
                        for (size_t o = 0; o + 12 <= n;) {
                                uint32_t namesz = (uint32_t) sw(&e, *(uint32_t *) (notes + o), 4);
                                uint32_t descsz = (uint32_t) sw(&e, *(uint32_t *) (notes + o + 4), 4);
                                uint32_t type = (uint32_t) sw(&e, *(uint32_t *) (notes + o + 8), 4);
                                size_t desc = o + 12 + ((namesz + 3u) & ~3u);
                                size_t end = desc + ((descsz + 3u) & ~3u);
                                if (namesz > n || descsz > n || end > n)
                                        break;
                                if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(notes + o + 12, "GNU", 4) == 0 &&
                                    descsz > 0 && descsz * 2 + 1 <= size) {
                                        for (uint32_t k = 0; k < descsz; k++)
                                                sprintf(buf + 2 * k, "%02x", notes[desc + k]);
                                        r = 0;
                                        break;
                                }
                                o = end;
                        }
                }
                free(notes);
        }
        free(e.sh);
        return r;
}

int elfinfo_build_id(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = elfinfo_build_id_fd(fd, buf, size);
        close(fd);
        return r;
}

int elfinfo_banner_matches(const char *path, const char *release, const char *version, bool *ret) {
        char needle[256];
        struct elf e;
        int fd, r;

        if (snprintf(needle, sizeof needle, "Linux version %s (", release) >= (int) sizeof needle)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = elf_open(fd, &e);
        *ret = false;
        /* the banner lives in an allocated, non-executable, non-writable PROGBITS section */
        for (size_t i = 0; r == 0 && i < e.shnum && !*ret; i++) {
                const Elf64_Shdr *s = &e.sh[i];
                if (s->sh_type != SHT_PROGBITS || !(s->sh_flags & SHF_ALLOC) || (s->sh_flags & (SHF_EXECINSTR | SHF_WRITE)) ||
                    s->sh_size == 0 || s->sh_size > (256u << 20))
                        continue;
                char *data = malloc((size_t) s->sh_size + 1);
                if (!data) {
                        r = -ENOMEM;
                        break;
                }
                if (pread_full(fd, data, (size_t) s->sh_size, s->sh_offset) == 0) {
                        data[s->sh_size] = 0;
                        for (char *p = data; (p = memmem(p, (size_t) (data + s->sh_size - p), needle, strlen(needle)));
                             p++) {
                                /* the version ends the banner line: "… #1 SMP … (date)\n" */
                                char *nl = memchr(p, '\n', (size_t) (data + s->sh_size - p));
                                size_t vl = strlen(version);
                                if (nl && (size_t) (nl - p) > vl && memmem(p, (size_t) (nl - p), version, vl)) {
                                        *ret = true;
                                        break;
                                }
                        }
                }
                free(data);
        }
        free(e.sh);
        close(fd);
        return r;
}

/* Reads section i whole (at most max bytes), NUL-terminated. */
static int read_section(const struct elf *e, size_t i, size_t max, char **ret) {
        if (i >= e->shnum || e->sh[i].sh_type == SHT_NOBITS || e->sh[i].sh_size > max)
                return -ENODATA;
        char *data = malloc((size_t) e->sh[i].sh_size + 1);
        if (!data)
                return -ENOMEM;
        int r = pread_full(e->fd, data, (size_t) e->sh[i].sh_size, e->sh[i].sh_offset);
        if (r < 0) {
                free(data);
                return r == -ENODATA ? -ENOEXEC : r;
        }
        data[e->sh[i].sh_size] = 0;
        *ret = data;
        return 0;
}

int elfinfo_has_section(const char *path, const char *name, bool *ret) {
        struct elf e;
        char *names = NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC), r;
        *ret = false;
        if (fd < 0)
                return -errno;
        r = elf_open(fd, &e);
        if (r == 0)
                r = read_section(&e, e.shstrndx, 1u << 20, &names);
        for (size_t i = 0; r == 0 && i < e.shnum && !*ret; i++)
                *ret = e.sh[i].sh_name < e.sh[e.shstrndx].sh_size && !strcmp(names + e.sh[i].sh_name, name);
        free(names);
        free(e.sh);
        close(fd);
        return r;
}

int elfinfo_symbol(const char *path, const char *name, uint64_t *ret) {
        struct elf e;
        int fd = open(path, O_RDONLY | O_CLOEXEC), r;
        if (fd < 0)
                return -errno;
        r = elf_open(fd, &e);
        bool found = false;
        for (size_t i = 0; r == 0 && i < e.shnum && !found; i++) {
                if (e.sh[i].sh_type != SHT_SYMTAB)
                        continue;
                char *syms = NULL, *str = NULL;
                size_t ent = e.is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
                /* a vmlinux's tables are some tens of MB */
                r = read_section(&e, i, 512u << 20, &syms);
                if (r == 0)
                        r = read_section(&e, e.sh[i].sh_link, 512u << 20, &str);
                size_t strsize = r == 0 ? (size_t) e.sh[e.sh[i].sh_link].sh_size : 0;
                for (size_t o = 0; r == 0 && o + ent <= e.sh[i].sh_size && !found; o += ent) {
                        uint32_t nm;
                        uint64_t value;
                        if (e.is64) {
                                Elf64_Sym s;
                                memcpy(&s, syms + o, sizeof s);
                                nm = (uint32_t) sw(&e, s.st_name, 4);
                                value = sw(&e, s.st_value, 8);
                        } else {
                                Elf32_Sym s;
                                memcpy(&s, syms + o, sizeof s);
                                nm = (uint32_t) sw(&e, s.st_name, 4);
                                value = sw(&e, s.st_value, 4);
                        }
                        if (nm < strsize && !strcmp(str + nm, name)) {
                                *ret = value;
                                found = true;
                        }
                }
                free(syms);
                free(str);
        }
        free(e.sh);
        close(fd);
        return r < 0 ? r : found ? 0 : -ENOENT;
}
