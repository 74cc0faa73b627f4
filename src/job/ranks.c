/*
 * ranks.c — the framework environment of each rank (see ranks.h).
 */
#include "job/ranks.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ferry_rank_global(const struct ferry_distribution *d, const struct ferry_rank_place *p)
{
	return p->node_rank * d->per_node + p->local_rank;
}

void ferry_rank_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

int ferry_rank_env_has(char *const *env, const char *kv)
{
	size_t kl = strcspn(kv, "=");
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], kv, kl) && env[i][kl] == '=')
			return 1;
	return 0;
}

struct vars {
	char **v;
	size_t n;
	int oom;
};

static void add(struct vars *e, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(struct vars *e, const char *name, const char *fmt, ...)
{
	char *val = NULL, *kv = NULL;
	va_list ap;
	va_start(ap, fmt);
	int rc = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (rc < 0 || asprintf(&kv, "%s=%s", name, val) < 0) {
		if (rc >= 0)
			free(val);
		e->oom = 1;
		return;
	}
	free(val);
	e->v[e->n++] = kv;
}

static const char *node_addr(const struct ferry_rank_place *p, int node)
{
	return p->node_addrs && p->node_addrs[node] ? p->node_addrs[node] : p->master_addr;
}

/* TF_CONFIG for task `rank` (compact JSON, keys in Azure ML's order). */
static char *tf_config(const struct ferry_distribution *d, const struct ferry_rank_place *p, int rank)
{
	json_t *cluster = json_object(), *workers = json_array(), *ps = json_array();
	json_t *root = json_object(), *task = json_object();
	char *out = NULL;
	if (!cluster || !workers || !ps || !root || !task)
		goto done;
	for (int t = 0; t < d->workers + d->ps; t++) {
		char addr[512];
		snprintf(addr, sizeof(addr), "%s:%d", node_addr(p, t / d->per_node), p->master_port + t);
		json_array_append_new(t < d->workers ? workers : ps, json_string(addr));
	}
	json_object_set(cluster, "worker", workers);
	if (d->ps > 0)
		json_object_set(cluster, "ps", ps);
	json_object_set_new(task, "type", json_string(rank < d->workers ? "worker" : "ps"));
	json_object_set_new(task, "index", json_integer(rank < d->workers ? rank : rank - d->workers));
	json_object_set(root, "cluster", cluster);
	json_object_set(root, "task", task);
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
	json_decref(cluster);
	json_decref(workers);
	json_decref(ps);
	json_decref(root);
	json_decref(task);
	return out;
}

char **ferry_rank_env(const struct ferry_distribution *d, const struct ferry_rank_place *p)
{
	struct vars e = { .v = calloc(24, sizeof(char *)) };
	if (!e.v)
		return NULL;
	int rank = ferry_rank_global(d, p), world = d->nodes * d->per_node;
	switch (d->type) {
	case FERRY_DIST_NONE:
		break;
	case FERRY_DIST_TENSORFLOW: {
		char *tf = tf_config(d, p, rank);
		if (!tf)
			e.oom = 1;
		else
			add(&e, "TF_CONFIG", "%s", tf);
		free(tf);
		break;
	}
	case FERRY_DIST_MPI:
		add(&e, "OMPI_COMM_WORLD_RANK", "%d", rank);
		add(&e, "OMPI_COMM_WORLD_SIZE", "%d", world);
		add(&e, "OMPI_COMM_WORLD_LOCAL_RANK", "%d", p->local_rank);
		add(&e, "OMPI_COMM_WORLD_LOCAL_SIZE", "%d", d->per_node);
		add(&e, "AZ_BATCH_MASTER_NODE", "%s:%d", p->master_addr, p->master_port);
		/* the RANK-style names too */
		__attribute__((fallthrough));
	case FERRY_DIST_PYTORCH:
		add(&e, "RANK", "%d", rank);
		add(&e, "LOCAL_RANK", "%d", p->local_rank);
		add(&e, "WORLD_SIZE", "%d", world);
		add(&e, "LOCAL_WORLD_SIZE", "%d", d->per_node);
		add(&e, "NODE_RANK", "%d", p->node_rank);
		if (d->type == FERRY_DIST_MPI)
			break;
		add(&e, "GROUP_RANK", "%d", p->node_rank);
		add(&e, "ROLE_RANK", "%d", rank);
		add(&e, "ROLE_WORLD_SIZE", "%d", world);
		add(&e, "MASTER_ADDR", "%s", p->master_addr);
		add(&e, "MASTER_PORT", "%d", p->master_port);
		break;
	}
	if (e.oom) {
		ferry_rank_env_free(e.v);
		return NULL;
	}
	return e.v;
}
