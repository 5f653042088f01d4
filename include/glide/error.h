/*
 * glide/error.h — return codes.
 *
 * Every function that can fail returns an int: GLIDE_OK (0) on success, GLIDE_PENDING (1) where
 * an asynchronous answer will follow, or a negative code. Codes are grouped in ranges by kind so
 * a caller can branch on the range: -1xx usage errors, -2xx configuration, -3xx ABI and loading,
 * -4xx system and resources, -5xx protocol and state. The text of a code is given by the
 * module's strerror (glide_api.strerror).
 */
#ifndef GLIDE_ERROR_H
#define GLIDE_ERROR_H

#define GLIDE_OK 0
/* The call was accepted; its answer comes later through a completion function. */
#define GLIDE_PENDING 1

/* -1xx: the caller used the API wrongly. */
#define GLIDE_EINVAL (-101)   /* an argument is invalid (NULL where not allowed, bad size) */
#define GLIDE_ESTATE (-102)   /* not allowed in the object's current state */
#define GLIDE_ETOOBIG (-103)  /* an argument is larger than allowed */
/* -2xx: configuration. */
#define GLIDE_ECONF (-201)    /* a directive or its value is invalid; the error text says which */
#define GLIDE_EUNKNOWN (-202) /* the directive is not the module's */
/* -3xx: loading and ABI negotiation. */
#define GLIDE_EABI (-301)         /* no ABI major in common with the host */
#define GLIDE_EFINGERPRINT (-302) /* host and module were built incompatibly */
#define GLIDE_ESTRUCT (-303)      /* a struct's size or version is too small for this module */
/* -4xx: the system. */
#define GLIDE_ENOMEM (-401) /* out of memory */
#define GLIDE_EIO (-402)    /* a system call failed; the error text or log says which */
#define GLIDE_EADDR (-403)  /* an address could not be resolved, bound or listened on */
/* -5xx: protocol and state. */
#define GLIDE_ENOTFOUND (-501) /* no such uid, session, group or request */
#define GLIDE_ECLOSED (-502)   /* the module is draining or stopped */
#define GLIDE_ENOTSUP (-503)   /* not supported by this build (e.g. built without an option) */
#define GLIDE_EDECODE (-504)   /* input could not be decoded (credential, message) */
#define GLIDE_EEXPIRED (-505)  /* a credential is older than allowed */
#define GLIDE_EFORBIDDEN (-506) /* a ticket does not allow the message */
/* The host provides no callback for this (its glide_host entry is NULL or beyond the table's
 * size): the status of a store or group request the module answered itself (ABI 1.3). */
#define GLIDE_ENOCALLBACK (-507)
#define GLIDE_EINTERNAL (-599) /* a bug: the module caught an unexpected failure */

#endif
