/*
 * typedinput.h — literal inputs declared with a type, as in Azure ML command
 * components and jobs:
 *
 *   epochs: {type: integer, default: 10, min: 1, max: 100}
 *   lr:     {type: number, value: 0.01}
 *   flag:   {type: boolean, default: false}
 *   opt:    {type: string, enum: [adam, sgd], optional: true}
 *
 * The value (`value:`, else `default:`) is checked against the type, `min`,
 * `max` and `enum` when the file is loaded; an optional input without one is
 * absent (its `$[[...]]` blocks are dropped); a required one without one is
 * an error that says to give a default or `--set inputs.<name>=...`.
 */
#ifndef FERRY_JOB_TYPEDINPUT_H
#define FERRY_JOB_TYPEDINPUT_H

#include "job/jobspec.h"
#include "core/yaml.h"

/* 1: `type` of the map `n` names a literal type; "integer", "number",
 * "boolean" or "string". */
int ferry_typed_literal_type(const struct ferry_yaml_node *n);

/* Fill `in` (name already set) from the map `n` when it is a typed literal:
 * returns 1 (in->literal = 1 and in->value set, or an absent optional input),
 * 0 when `n` is not a typed literal (nothing changed), -1 with the error in
 * c->err ("<file>:<line>: field 'inputs.x.max': ..."). */
int ferry_typed_input(struct ferry_yaml_doc *c, const char *name, const struct ferry_yaml_node *n,
		      struct ferry_job_input *in);

#endif
