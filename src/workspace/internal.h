/*
 * internal.h — what the workspace's own files share (not for other layers):
 * the registry's SQLite handle, so that each kind of object (compute.c) keeps
 * its queries in its own file while workspace.c owns opening and the schema.
 */
#ifndef FERRY_WORKSPACE_INTERNAL_H
#define FERRY_WORKSPACE_INTERNAL_H

#include "workspace/workspace.h"

#include <sqlite3.h>

/* The open registry of ws (borrowed; lives as long as ws). */
sqlite3 *ferry_ws_db(struct ferry_ws *ws);

#endif
