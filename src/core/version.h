/*
 * version.h — ferry's version, printed by `ferry --version` and kept in
 * nothing else. Bump it with each release.
 */
#ifndef FERRY_VERSION_H
#define FERRY_VERSION_H

#define FERRY_VERSION "0.1.0"

#endif
