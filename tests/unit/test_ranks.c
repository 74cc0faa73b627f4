/* test_ranks.c — each rank's framework environment (job/ranks.c). */
#include "check.h"
#include "job/ranks.h"

#include <stdlib.h>

static const char *get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static size_t count(char **env)
{
	size_t n = 0;
	while (env && env[n])
		n++;
	return n;
}

int main(void)
{
	struct ferry_distribution d = { .type = FERRY_DIST_PYTORCH, .nodes = 2, .per_node = 2 };
	struct ferry_rank_place p = { .node_rank = 1, .local_rank = 1, .master_addr = "10.0.0.4", .master_port = 29500 };
	char **e = ferry_rank_env(&d, &p);
	CHECK(ferry_rank_global(&d, &p) == 3);
	CHECK_STR(get(e, "RANK"), "3");
	CHECK_STR(get(e, "LOCAL_RANK"), "1");
	CHECK_STR(get(e, "WORLD_SIZE"), "4");
	CHECK_STR(get(e, "LOCAL_WORLD_SIZE"), "2");
	CHECK_STR(get(e, "NODE_RANK"), "1");
	CHECK_STR(get(e, "GROUP_RANK"), "1");
	CHECK_STR(get(e, "ROLE_RANK"), "3");
	CHECK_STR(get(e, "ROLE_WORLD_SIZE"), "4");
	CHECK_STR(get(e, "MASTER_ADDR"), "10.0.0.4");
	CHECK_STR(get(e, "MASTER_PORT"), "29500");
	CHECK(count(e) == 10 && !get(e, "TF_CONFIG") && !get(e, "OMPI_COMM_WORLD_RANK"));
	CHECK(ferry_rank_env_has(e, "RANK=7") && ferry_rank_env_has(e, "RANK") && !ferry_rank_env_has(e, "RAN=1"));
	ferry_rank_env_free(e);
	printf("ok - pytorch: torchrun's and Azure ML's names for rank 3 of 2 x 2\n");

	d.type = FERRY_DIST_MPI;
	p = (struct ferry_rank_place){ .node_rank = 1, .local_rank = 0, .master_addr = "h0", .master_port = 6105 };
	e = ferry_rank_env(&d, &p);
	CHECK_STR(get(e, "OMPI_COMM_WORLD_RANK"), "2");
	CHECK_STR(get(e, "OMPI_COMM_WORLD_SIZE"), "4");
	CHECK_STR(get(e, "OMPI_COMM_WORLD_LOCAL_RANK"), "0");
	CHECK_STR(get(e, "OMPI_COMM_WORLD_LOCAL_SIZE"), "2");
	CHECK_STR(get(e, "AZ_BATCH_MASTER_NODE"), "h0:6105");
	CHECK_STR(get(e, "RANK"), "2");
	CHECK_STR(get(e, "NODE_RANK"), "1");
	CHECK(!get(e, "MASTER_ADDR") && !get(e, "GROUP_RANK"));
	ferry_rank_env_free(e);
	printf("ok - mpi: Open MPI's names, AZ_BATCH_MASTER_NODE and the RANK-style names\n");

	d = (struct ferry_distribution){ .type = FERRY_DIST_TENSORFLOW, .nodes = 2, .per_node = 2, .workers = 3, .ps = 1 };
	const char *addrs[] = { "a", "b" };
	p = (struct ferry_rank_place){ .node_rank = 1, .local_rank = 0, .master_addr = "a", .master_port = 2222,
				       .node_addrs = addrs };
	e = ferry_rank_env(&d, &p);
	CHECK_STR(get(e, "TF_CONFIG"),
		  "{\"cluster\":{\"worker\":[\"a:2222\",\"a:2223\",\"b:2224\"],\"ps\":[\"b:2225\"]},"
		  "\"task\":{\"type\":\"worker\",\"index\":2}}");
	CHECK(count(e) == 1);
	ferry_rank_env_free(e);
	p.local_rank = 1;
	e = ferry_rank_env(&d, &p);
	CHECK(strstr(get(e, "TF_CONFIG"), "\"task\":{\"type\":\"ps\",\"index\":0}") != NULL);
	ferry_rank_env_free(e);
	d.ps = 0;
	d.workers = 4;
	p.node_addrs = NULL;
	e = ferry_rank_env(&d, &p);
	CHECK(!strstr(get(e, "TF_CONFIG"), "\"ps\"") && strstr(get(e, "TF_CONFIG"), "\"a:2225\"]"));
	ferry_rank_env_free(e);
	printf("ok - tensorflow: TF_CONFIG with workers then ps, one port per task, this task's type and index\n");

	d = (struct ferry_distribution){ .type = FERRY_DIST_NONE, .nodes = 3, .per_node = 1 };
	e = ferry_rank_env(&d, &p);
	CHECK(e && count(e) == 0);
	ferry_rank_env_free(e);
	printf("ok - no distribution: no framework variables\n");
	return CHECK_DONE();
}
