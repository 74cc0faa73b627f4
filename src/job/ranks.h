/*
 * ranks.h — where each process of a distributed job sits, and the
 * environment its framework expects there (pure logic, no I/O).
 *
 * Ranks are numbered as torchrun and Azure ML number them:
 * RANK = NODE_RANK * per_node + LOCAL_RANK. What each type gets:
 *   pytorch     RANK LOCAL_RANK WORLD_SIZE LOCAL_WORLD_SIZE NODE_RANK
 *               GROUP_RANK ROLE_RANK ROLE_WORLD_SIZE MASTER_ADDR MASTER_PORT
 *   mpi         OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}
 *               AZ_BATCH_MASTER_NODE=addr:port and RANK LOCAL_RANK WORLD_SIZE
 *               LOCAL_WORLD_SIZE NODE_RANK
 *   tensorflow  TF_CONFIG {"cluster":{"worker":[...],"ps":[...]},
 *               "task":{"type":"worker"|"ps","index":i}}: tasks 0..W-1 are
 *               the workers, W.. the parameter servers; task i listens on
 *               <its node's address>:(MASTER_PORT + i)
 *   none        nothing (a job without distribution: on N nodes, each node
 *               runs the command once)
 *
 * Threads: reentrant.
 */
#ifndef FERRY_JOB_RANKS_H
#define FERRY_JOB_RANKS_H

#include "job/jobspec.h"

struct ferry_rank_place {
	int node_rank, local_rank;
	const char *master_addr; /* first node's address */
	int master_port;
	const char *const *node_addrs; /* d->nodes addresses, or NULL: all at master_addr */
};

/* The global rank of `p` in a job shaped `d`. */
int ferry_rank_global(const struct ferry_distribution *d, const struct ferry_rank_place *p);

/* The variables for the process at `p`: a NULL-terminated malloc'd array of
 * malloc'd "NAME=VALUE" strings (free with ferry_rank_env_free), or NULL when
 * out of memory. */
char **ferry_rank_env(const struct ferry_distribution *d, const struct ferry_rank_place *p);

void ferry_rank_env_free(char **env);

/* 1 when `kv` ("NAME=VALUE" or "NAME") sets a variable that `env` sets. */
int ferry_rank_env_has(char *const *env, const char *kv);

#endif
