/*
 * setargs.h — `ferry run JOB.yml --set PATH=VALUE`, as `az ml job create --set`:
 * a dotted path into the job document (`inputs.epochs`, `inputs.data.path`,
 * `experiment_name`, `environment_variables.X`) and a value parsed as a YAML
 * scalar (`3` a number, `true` a boolean, `"3"` a string; a flow map
 * `{type: uri_file, path: x}` is a map). It is applied to the parsed YAML
 * before the job model is built, so the model checks the result like the
 * file itself; nodes it makes or replaces have line 0, which errors show as
 * "<file>: --set: field '...'" (yaml.h).
 *
 * An unknown path is an error: `inputs.<name>` / `outputs.<name>` must be
 * defined in the file, a path cannot go through a literal or a list, and
 * unknown field names are refused by the model afterwards.
 */
#ifndef FERRY_JOB_SETARGS_H
#define FERRY_JOB_SETARGS_H

#include "core/err.h"
#include "core/yaml.h"

/* Apply "PATH=VALUE" to the document `root` (a map; changed in place).
 * Returns 0, or -1 with err (FERRY_E_INVALID, naming the path). */
int ferry_job_set_apply(struct ferry_yaml_node *root, const char *assignment, ferry_err *err);

#endif
