/* jobspec.c — fuzz target: job YAML (job/jobspec.c over the YAML tree), then
 * what a run does with a spec that parsed: the output URIs and the command
 * with every input and output expanded. */
#include "fuzz.h"

#include "job/jobspec.h"

#include <sys/stat.h>

/* The job file's folder: holds `src`, so `code: src` (as in the seeds) is found. */
static const char dir[] = "/tmp/ferry-fuzz-job";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int made;
	if (!made++) {
		mkdir(dir, 0700);
		mkdir("/tmp/ferry-fuzz-job/src", 0700);
	}
	struct ferry_jobspec *s;
	ferry_err err;
	if (ferry_jobspec_parse((const char *)data, size, "job.yml", dir, &s, &err) < 0)
		return 0;
	const char **in = calloc(s->n_inputs + 1, sizeof(*in));
	const char **out = calloc(s->n_outputs + 1, sizeof(*out));
	char **outs = calloc(s->n_outputs + 1, sizeof(*outs));
	if (!in || !out || !outs)
		abort();
	for (size_t i = 0; i < s->n_inputs; i++) {
		char *p = ferry_jobspec_input_path(s, &s->inputs[i]);
		free(p);
		in[i] = s->inputs[i].literal ? s->inputs[i].value : s->inputs[i].path;
	}
	for (size_t j = 0; j < s->n_outputs; j++) {
		if (ferry_jobspec_output_uri(s, j, &outs[j], &err) < 0)
			outs[j] = NULL;
		out[j] = outs[j] ? outs[j] : "/tmp/out";
	}
	char *cmd;
	if (ferry_jobspec_command(s, in, out, &cmd, &err) == 0)
		free(cmd);
	for (size_t j = 0; j < s->n_outputs; j++)
		free(outs[j]);
	free(outs);
	free(out);
	free(in);
	ferry_jobspec_free(s);
	return 0;
}
