/* test_jobspec.c — the command job model: parsing, validation, expansion (job/jobspec.c). */
#include "check.h"
#include "job/jobspec.h"

#include <stdarg.h>
#include <stdlib.h>

static struct ferry_jobspec *load_ok(const char *what, const char *yaml)
{
	struct ferry_jobspec *s = NULL;
	ferry_err err = { 0 };
	int rc = ferry_jobspec_parse(yaml, strlen(yaml), "job.yml", "/tmp", &s, &err);
	CHECK(rc == 0 && s);
	printf("%s - %s%s%s\n", rc == 0 ? "ok" : "FAIL", what, rc ? ": " : "", rc ? err.msg : "");
	return s;
}

/* The load fails and the message contains every one of the NULL-terminated needles. */
static void load_bad(const char *what, const char *yaml, ...)
{
	struct ferry_jobspec *s = NULL;
	ferry_err err = { 0 };
	int rc = ferry_jobspec_parse(yaml, strlen(yaml), "job.yml", "/tmp", &s, &err);
	int good = rc < 0 && !s;
	va_list ap;
	va_start(ap, yaml);
	const char *needle;
	while ((needle = va_arg(ap, const char *)))
		if (!strstr(err.msg, needle)) {
			good = 0;
			fprintf(stderr, "  message lacks '%s'\n", needle);
		}
	va_end(ap);
	CHECK(good);
	printf("%s - %s: %s\n", good ? "ok" : "FAIL", what, rc < 0 ? err.msg : "(loaded)");
	ferry_jobspec_free(s);
}

int main(void)
{
	struct ferry_jobspec *s;

	s = load_ok("a minimal job loads, name generated, code = job folder", "command: echo hi\n");
	if (s) {
		CHECK(s->name_generated && ferry_job_name_ok(s->name));
		CHECK(strlen(s->name) > 10 && strchr(s->name, '_'));
		CHECK_STR(s->code, "/tmp");
		CHECK_STR(s->azure_json, "{}");
	}
	ferry_jobspec_free(s);

	s = load_ok("a full job loads",
		    "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"
		    "type: command\n"
		    "name: my_job-1\n"
		    "display_name: My job\n"
		    "experiment_name: exp\n"
		    "description: d\n"
		    "tags: {a: b, n: 3}\n"
		    "command: |\n"
		    "  echo ${{inputs.epochs}} ${{inputs.lr}} ${{inputs.flag}}\n"
		    "  cp ${{inputs.data}} ${{outputs.model}} $[[--opt ${{inputs.maybe}}]]\n"
		    "inputs:\n"
		    "  epochs: 3\n"
		    "  lr: 0.01\n"
		    "  flag: true\n"
		    "  data: {type: uri_file, path: ./d.csv, mode: download}\n"
		    "  maybe: {type: uri_folder, optional: true, mode: direct}\n"
		    "outputs:\n"
		    "  model: {type: uri_folder, mode: upload, path: "
		    "'azureml://datastores/${{default_datastore}}/paths/m/${{name}}/${{output_name}}/'}\n"
		    "environment_variables:\n"
		    "  N: 4\n"
		    "  B: false\n"
		    "limits: {timeout: 60}\n"
		    "environment: azureml:env@latest\n"
		    "compute: azureml:gpu\n"
		    "resources: {instance_count: 1}\n"
		    "distribution: {type: pytorch, process_count_per_instance: 2}\n"
		    "identity: {type: user_identity}\n");
	if (s) {
		CHECK_STR(s->name, "my_job-1");
		CHECK(!s->name_generated);
		CHECK(s->n_inputs == 5 && s->n_outputs == 1 && s->n_env == 2);
		CHECK(s->inputs[0].literal && !strcmp(s->inputs[0].value, "3"));
		CHECK(s->inputs[2].literal && !strcmp(s->inputs[2].value, "true"));
		CHECK(s->inputs[3].type == FERRY_IO_URI_FILE && s->inputs[3].mode == FERRY_MODE_DOWNLOAD);
		CHECK(s->inputs[4].optional && !s->inputs[4].path);
		CHECK_STR(ferry_jobspec_env(s, "N"), "4");
		CHECK_STR(ferry_jobspec_env(s, "B"), "false");
		CHECK(s->timeout_s == 60);
		CHECK(strstr(s->azure_json, "\"process_count_per_instance\":2") != NULL);
		CHECK(strstr(s->azure_json, "\"compute\":\"azureml:gpu\"") != NULL);
		CHECK_STR(s->tags_json, "{\"a\":\"b\",\"n\":3}");
		char *uri = NULL;
		ferry_err err;
		CHECK(ferry_jobspec_output_uri(s, 0, &uri, &err) == 0);
		CHECK_STR(uri, "azureml://datastores/workspaceblobstore/paths/m/my_job-1/model/");
		free(uri);
		const char *iv[] = { "3", "0.01", "true", "/in/d.csv", NULL };
		const char *ov[] = { "/out/model" };
		char *cmd = NULL;
		CHECK(ferry_jobspec_command(s, iv, ov, &cmd, &err) == 0);
		CHECK_STR(cmd, "echo 3 0.01 true\ncp /in/d.csv /out/model \n");
		free(cmd);
		char *p = ferry_jobspec_input_path(s, &s->inputs[3]);
		CHECK_STR(p, "/tmp/d.csv");
		free(p);
		printf("ok - full job: values, env, azure fields, output URI and command expand\n");
	}
	ferry_jobspec_free(s);

	s = load_ok("an empty output gets the default location (but rw_mount is not supported yet, "
		    "so only with mode upload)",
		    "name: j\ncommand: ls ${{outputs.o}}\noutputs:\n  o:\n    mode: upload\n");
	if (s) {
		char *uri = NULL;
		ferry_err err;
		CHECK(ferry_jobspec_output_uri(s, 0, &uri, &err) == 0);
		CHECK_STR(uri, "azureml://datastores/workspaceblobstore/paths/azureml/j/o/");
		free(uri);
		CHECK(ferry_jobspec_set_name(s, "other", &err) == 0);
		CHECK(ferry_jobspec_output_uri(s, 0, &uri, &err) == 0);
		CHECK_STR(uri, "azureml://datastores/workspaceblobstore/paths/azureml/other/o/");
		free(uri);
		CHECK(ferry_jobspec_set_name(s, "../x", &err) < 0);
		CHECK(ferry_jobspec_set_env(s, "K", "V", &err) == 0);
		CHECK_STR(ferry_jobspec_env(s, "K"), "V");
	}
	ferry_jobspec_free(s);

	load_bad("malformed YAML names file and line", "command: echo\ninputs: [a\n", "job.yml:",
		 "malformed YAML", NULL);
	load_bad("unknown top-level field names line and field", "command: echo\nfoo: 1\n",
		 "job.yml:2:", "field 'foo'", NULL);
	load_bad("missing command", "name: x\n", "field 'command'", "required", NULL);
	load_bad("type other than command", "type: sweep\ncommand: x\n", "field 'type'", NULL);
	load_bad("list where a map is expected", "command: x\ninputs:\n  - a\n", "job.yml:3:",
		 "field 'inputs'", "expected a map", NULL);
	load_bad("map where a string is expected", "command: {a: b}\n", "field 'command'",
		 "expected a string", NULL);
	load_bad("environment variable that is a list", "command: x\nenvironment_variables:\n  A: [1]\n",
		 "job.yml:3:", "environment_variables.A", NULL);
	load_bad("unknown field inside an input",
		 "command: x\ninputs:\n  d:\n    path: ./a\n    mode: download\n    colour: red\n",
		 "job.yml:6:", "inputs.d.colour", NULL);
	load_bad("forbidden mode lists the allowed ones",
		 "command: x\ninputs:\n  d:\n    path: ./a\n    mode: upload\n", "job.yml:5:",
		 "input 'd'", "uri_folder", "upload", "ro_mount, download, direct", NULL);
	load_bad("forbidden output mode",
		 "command: x\noutputs:\n  o:\n    mode: download\n", "output 'o'", "download",
		 "rw_mount, upload", NULL);
	load_bad("unknown mode", "command: x\ninputs:\n  d: {path: ./a, mode: fast}\n",
		 "inputs.d.mode", "unknown mode 'fast'", NULL);
	ferry_jobspec_free(load_ok("default input mode ro_mount is supported",
				   "command: x\ninputs:\n  d: {path: ./a}\n"));
	ferry_jobspec_free(load_ok("default output mode rw_mount is supported", "command: x\noutputs:\n  o:\n"));
	ferry_jobspec_free(load_ok("mltable inputs take every input mode (docs/jobs.md)",
				   "command: x\ninputs:\n  a: {type: mltable, path: ./t, mode: eval_mount}\n"
				   "  b: {type: mltable, path: ./t, mode: eval_download}\n"
				   "  c: {type: mltable, path: ./t, mode: direct}\n"
				   "  d: {type: mltable, path: ./t, mode: download}\n"
				   "  e: {type: mltable, path: ./t}\n"));
	load_bad("eval modes are for mltable only",
		 "command: x\ninputs:\n  t: {type: uri_folder, path: ./t, mode: eval_mount}\n",
		 "cannot use mode eval_mount", NULL);
	ferry_jobspec_free(load_ok("mltable outputs load in upload and rw_mount modes",
				   "command: x\noutputs:\n  t: {type: mltable, mode: upload}\n"
				   "  u: {type: mltable}\n"));
	load_bad("mltable outputs in direct mode are not supported yet",
		 "command: x\noutputs:\n  t: {type: mltable, mode: direct}\n", "mode direct is not supported yet",
		 NULL);
	load_bad("path required unless optional", "command: x\ninputs:\n  d: {mode: download}\n",
		 "input 'd'", "'path' is required", NULL);
	load_bad("reference to a missing input", "command: cat ${{inputs.nope}}\n", "job.yml:1:",
		 "input 'nope'", NULL);
	load_bad("reference to a missing output",
		 "command: |\n  cat ${{outputs.nope}}\n", "job.yml:1:", "output 'nope'", NULL);
	load_bad("unknown expression", "command: echo ${{jobs.x}}\n", "unknown expression", NULL);
	load_bad("absent optional input outside a block",
		 "command: echo ${{inputs.m}}\ninputs:\n  m: {optional: true, mode: download}\n",
		 "optional input", NULL);
	load_bad("invalid job name", "name: ../etc\ncommand: x\n", "field 'name'", NULL);
	load_bad("local path as an output", "command: x\noutputs:\n  o: {path: ./out, mode: upload}\n",
		 "output 'o'", "not a storage location", NULL);
	load_bad("bad URI in an input path",
		 "command: x\ninputs:\n  d: {path: 'ftp://x/y', mode: download}\n", "job.yml:3:",
		 "input 'd'", NULL);
	load_bad("bad limits.timeout", "command: x\nlimits: {timeout: soon}\n", "limits.timeout", NULL);
	load_bad("duplicate key", "command: x\ncommand: y\n", "job.yml:2:", "appears twice", NULL);
	load_bad("missing code folder", "command: x\ncode: ./no/such/folder\n", "field 'code'",
		 "not a folder", NULL);

	load_bad("input name that would escape its folder",
		 "command: x\ninputs:\n  ../up: 3\n", "job.yml:3:", "input name '../up'", NULL);
	load_bad("output name with a slash",
		 "command: x\noutputs:\n  a/b: {mode: upload}\n", "output name 'a/b'", NULL);

	/* distribution + resources (issue 11) */
	s = load_ok("no distribution: one node, one process", "command: x\n");
	if (s)
		CHECK(s->dist.type == FERRY_DIST_NONE && s->dist.nodes == 1 && s->dist.per_node == 1 &&
		      !ferry_jobspec_distributed(s));
	ferry_jobspec_free(s);
	s = load_ok("pytorch 2 x 3, Azure's other resources fields noted",
		    "command: x\ndistribution:\n  type: pytorch\n  process_count_per_instance: 3\n"
		    "resources:\n  instance_count: 2\n  instance_type: Standard_NC6\n  shm_size: 2g\n");
	if (s) {
		CHECK(s->dist.type == FERRY_DIST_PYTORCH && s->dist.nodes == 2 && s->dist.per_node == 3);
		CHECK(ferry_jobspec_distributed(s));
		CHECK_STR(s->dist.ignored, "instance_type, shm_size");
		CHECK(strstr(s->azure_json, "\"distribution\"") && strstr(s->azure_json, "\"resources\""));
	}
	ferry_jobspec_free(s);
	s = load_ok("mpi without a count: one process per node", "command: x\ndistribution: {type: mpi}\n");
	if (s)
		CHECK(s->dist.type == FERRY_DIST_MPI && s->dist.nodes == 1 && s->dist.per_node == 1 &&
		      ferry_jobspec_distributed(s));
	ferry_jobspec_free(s);
	s = load_ok("instance_count alone: N nodes, one process each", "command: x\nresources: {instance_count: 3}\n");
	if (s)
		CHECK(s->dist.type == FERRY_DIST_NONE && s->dist.nodes == 3 && s->dist.per_node == 1);
	ferry_jobspec_free(s);
	s = load_ok("tensorflow: 3 workers + 1 ps over 2 nodes = 2 tasks per node",
		    "command: x\ndistribution: {type: tensorflow, worker_count: 3, parameter_server_count: 1}\n"
		    "resources: {instance_count: 2}\n");
	if (s)
		CHECK(s->dist.type == FERRY_DIST_TENSORFLOW && s->dist.workers == 3 && s->dist.ps == 1 &&
		      s->dist.per_node == 2);
	ferry_jobspec_free(s);
	s = load_ok("tensorflow without counts: one worker per node",
		    "command: x\ndistribution: {type: tensorflow}\nresources: {instance_count: 2}\n");
	if (s)
		CHECK(s->dist.workers == 2 && s->dist.ps == 0 && s->dist.per_node == 1);
	ferry_jobspec_free(s);
	load_bad("unknown distribution type", "command: x\ndistribution:\n  type: horovod\n", "job.yml:3:",
		 "distribution.type", "horovod", "pytorch, mpi, tensorflow", NULL);
	load_bad("distribution without type", "command: x\ndistribution:\n  process_count_per_instance: 2\n",
		 "distribution.type", "required", NULL);
	load_bad("unknown distribution field", "command: x\ndistribution:\n  type: pytorch\n  procs: 2\n",
		 "job.yml:4:", "distribution.procs", "unknown field", NULL);
	load_bad("zero processes", "command: x\ndistribution:\n  type: pytorch\n  process_count_per_instance: 0\n",
		 "job.yml:4:", "process_count_per_instance", NULL);
	load_bad("negative processes", "command: x\ndistribution: {type: mpi, process_count_per_instance: -2}\n",
		 "job.yml:2:", "process_count_per_instance", "whole number", NULL);
	load_bad("a quoted count", "command: x\ndistribution: {type: mpi, process_count_per_instance: '2'}\n",
		 "process_count_per_instance", NULL);
	load_bad("too many processes", "command: x\ndistribution: {type: mpi, process_count_per_instance: 100000}\n",
		 "process_count_per_instance", "512", NULL);
	load_bad("instance_count 0", "command: x\nresources:\n  instance_count: 0\n", "job.yml:3:",
		 "resources.instance_count", NULL);
	load_bad("instance_count not a number", "command: x\nresources: {instance_count: two}\n",
		 "resources.instance_count", "'two'", NULL);
	load_bad("unknown resources field", "command: x\nresources:\n  instance_count: 2\n  gpus: 4\n",
		 "job.yml:4:", "resources.gpus", "unknown field", NULL);
	load_bad("worker_count on pytorch", "command: x\ndistribution:\n  type: pytorch\n  worker_count: 2\n",
		 "job.yml:4:", "distribution.worker_count", "only tensorflow", NULL);
	load_bad("process_count_per_instance on tensorflow",
		 "command: x\ndistribution:\n  type: tensorflow\n  process_count_per_instance: 2\n", "job.yml:4:",
		 "tensorflow takes worker_count", NULL);
	load_bad("tensorflow tasks that do not spread evenly",
		 "command: x\ndistribution:\n  type: tensorflow\n  worker_count: 3\nresources: {instance_count: 2}\n",
		 "job.yml:4:", "cannot be spread evenly", NULL);
	load_bad("distribution as a list", "command: x\ndistribution: [pytorch]\n", "job.yml:2:", "expected a map",
		 NULL);

	char buf[64];
	ferry_job_name_generate(buf, sizeof(buf));
	CHECK(ferry_job_name_ok(buf));
	printf("%s - generated name '%s' is valid\n", ferry_job_name_ok(buf) ? "ok" : "FAIL", buf);
	return CHECK_DONE();
}
