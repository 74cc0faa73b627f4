/*
 * proctree.h — what a tree of processes uses: CPU time, resident memory and
 * disk bytes of a set of root processes and all their descendants, read
 * from /proc (the job's command and whatever it started).
 *
 * Threads: one sampler per struct; no shared state.
 */
#ifndef FERRY_CORE_PROCTREE_H
#define FERRY_CORE_PROCTREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ferry_proctree_usage {
	uint64_t cpu_us;      /* user + system time, reaped children included */
	uint64_t rss_bytes;   /* resident memory now, summed over the processes */
	uint64_t read_bytes;  /* bytes the processes made the kernel read from disk */
	uint64_t write_bytes; /* … and write to disk */
	uint32_t procs;       /* processes in the tree now */
};

/*
 * Add up the processes of the tree rooted at each of roots[0..n) (pids; <= 0
 * are skipped) into out[i] (n entries, zeroed first). The roots are
 * disjoint trees (a job's ranks): none is below another. Each tree is
 * walked down through the kernel's lists of children
 * (/proc/<pid>/task/<tid>/children) or, on a kernel without them, found by
 * reading every process's parent. CPU time counts each process's own time plus
 * its reaped children's (cutime, cstime), and /proc/<pid>/io counts reaped
 * children too, so a child that ended and was waited for is still counted —
 * one that was re-parented away (daemonized) is not. Processes the caller
 * may not read (io of another user's process) count what is readable.
 * Returns 0, or -1 when /proc cannot be read.
 */
int ferry_proctree_sample(const pid_t *roots, size_t n, struct ferry_proctree_usage *out);

#endif
