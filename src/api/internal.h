/*
 * internal.h — what the files of src/api/ share and bindings do not see: the
 * context's layout (api.c opens it; mltable.c evaluates tables with it).
 */
#ifndef FERRY_API_INTERNAL_H
#define FERRY_API_INTERNAL_H

#include "resolve/resolve.h"

struct ferry_api {
	struct ferry_ctx ctx;
};

#endif
