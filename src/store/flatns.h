/*
 * flatns.h — the rules of a flat namespace, written once for the backends
 * that have one (Azure Blob, S3).
 *
 * Such a service stores objects under names; folders exist only as the '/'
 * inside names. Tools create "folder markers" (zero-byte objects named
 * "dir/") so that empty folders show. Both backends list and stat by these
 * rules, so the same tree reads the same on either:
 *
 *  - listing folder "dir" asks for prefix "dir/" ("" for the root);
 *  - a name the server returns outside that prefix is an error (FERRY_E_NET:
 *    the server answered something that was not asked);
 *  - a folder (Azure's BlobPrefix, S3's CommonPrefixes) is listed without its
 *    trailing '/'s; one that is the listed folder itself ("dir//" folds to
 *    "dir/") is skipped;
 *  - an object named exactly the prefix is the folder's own marker: not a
 *    file, not an error; it is noted in page->self_marker;
 *  - an object whose name ends in '/' is a sub-folder's marker, not a file;
 *  - stat: a name is a file when the backend's HEAD finds one, else a folder
 *    when a one-name listing of it finds anything below it or its marker,
 *    else not found.
 *
 * Threads: no state; call from any thread.
 */
#ifndef FERRY_STORE_FLATNS_H
#define FERRY_STORE_FLATNS_H

#include "store/store.h"

/* The listing prefix of `folder`: "dir" -> "dir/", "" -> "". malloc'd, NULL on ENOMEM. */
char *ferry_flatns_prefix(const char *folder);

/* Add one listed `name` (modified in place: trailing '/' removed) to `page`
 * by the rules above; is_prefix: the server listed it as a folder. Returns
 * the entry added (the caller fills its size, etag, mtime), or NULL with
 * *rc = 0 (skipped by the rules) or *rc = -1 (err set: a name outside the
 * prefix, `what` naming the listing; or out of memory). */
struct ferry_entry *ferry_flatns_add(struct ferry_list_page *page, const char *pfx, char *name, int is_prefix,
				     const char *what, int *rc, ferry_err *err);

/* What a backend gives ferry_flatns_stat. */
struct ferry_flatns_ops {
	/* HEAD of one object: 0 with out filled (name, size, mtime, md5, etag),
	 * or -1 with err: FERRY_E_NOTFOUND when no file has that name (an Azure
	 * folder entry, hdi_isfolder, counts as none), FERRY_E_AUTH when refused. */
	int (*head)(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err);
	/* One page of at most `max` names of folder `folder`, one level. */
	int (*list)(struct ferry_store *s, const char *folder, long long max, struct ferry_list_page *page,
		    ferry_err *err);
	const char *object;    /* "blob", "object" */
	const char *container; /* "container", "bucket" */
	const char *notfound;  /* the service's code: "BlobNotFound", "NoSuchKey" */
};

/* stat by the rules above, for store `s` whose container is named `name`. A
 * refused HEAD (FERRY_E_AUTH: S3 answers 403 for a missing key when listing
 * is not granted, and a HEAD has no body to say why) also tries the listing
 * and stays the error when the listing finds nothing. 0, or -1 with err. */
int ferry_flatns_stat(struct ferry_store *s, const struct ferry_flatns_ops *ops, const char *name, const char *path,
		      struct ferry_entry *out, ferry_err *err);

#endif
