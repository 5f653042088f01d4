/*
 * glide/version.h — version of the glide module and of its plugin ABI.
 *
 * Two numbers matter to a host:
 *  - the release version (GLIDE_VERSION_*), informative;
 *  - the ABI major (GLIDE_ABI_MAJOR), which the host offers to glide_negotiate(). A module speaks
 *    exactly one ABI major; within a major, structs only grow at their end, and every struct that
 *    crosses the boundary starts with `size` and `version` so both sides can tell what the other
 *    knows. GLIDE_ABI_MINOR counts such additions:
 *      1.0  the first table;
 *      1.1  glide_api.stats_each and .sessions, glide_stats version 2 (sessions_closing, store
 *           call latency), glide_session_info;
 *      1.2  glide_host.flags (GLIDE_HOST_NO_PAYLOAD);
 *      1.3  glide_api.handoff (connections the host accepted, glide_handoff) and .push_2;
 *           GLIDE_ENOCALLBACK; start's codes by kind (GLIDE_ESTATE, GLIDE_EADDR, GLIDE_ECONF);
 *           GLIDE_ESTRUCT for structs too small or of version 0; GLIDE_HOST_VERSION 2 (the
 *           number of the table with `flags`, left at 1 by 1.2);
 *      1.4  glide_api.cluster_stats and .cluster_sessions (the control API across the nodes of
 *           a cluster);
 *      1.5  glide_host.worker_index and .worker_count, GLIDE_HOST_VERSION 3 (worker processes:
 *           a node id per worker, listeners with SO_REUSEPORT);
 *      1.6  group replay: GLIDE_HOST_GROUP_REPLAY, glide_message.flags (GLIDE_MESSAGE_GROUP),
 *           glide_delivery.first_mid (group receipts);
 *      1.7  GLIDE_STAT_LIMITED: stats_each reports what the limits refused;
 *      1.8  glide_api.conf_info (glide_conf_info): what a configuration asks of its host
 *           (a cluster, a listener on port 0), for the host's checks across both.
 */
#ifndef GLIDE_VERSION_H
#define GLIDE_VERSION_H

#define GLIDE_VERSION_MAJOR 0
#define GLIDE_VERSION_MINOR 1
#define GLIDE_VERSION_PATCH 0
#define GLIDE_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, as returned by glide_version(). */
#define GLIDE_VERSION_NUMBER \
    (GLIDE_VERSION_MAJOR * 10000 + GLIDE_VERSION_MINOR * 100 + GLIDE_VERSION_PATCH)

/* The plugin ABI this header describes. */
#define GLIDE_ABI_MAJOR 1
#define GLIDE_ABI_MINOR 8

/* The glide protocol version the module speaks on the wire (glide v1.6 JSON). */
#define GLIDE_PROTOCOL_VERSION "1.6"

#endif
