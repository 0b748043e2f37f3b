/*
 * deckhand plugin SDK: the C ABI between the agent and a backend plugin.
 *
 * This header is the whole binary contract. Everything here is plain C so a
 * plugin can be written in any language with a C FFI and built with any
 * compiler; the C++ layer in <deckhand/plugin.hpp> is a convenience that
 * compiles into the plugin, never into the agent.
 *
 * Compatibility promise (sdk/README.md has the long form):
 *   - DH_ABI_MAJOR changes only when an existing struct member, function
 *     signature or meaning changes. The agent refuses a plugin of another major.
 *   - DH_ABI_MINOR grows when something is appended: a struct member at the
 *     end, an optional table entry at the end, a new status or kind value.
 *     A plugin built against minor N loads into any agent of minor >= N.
 *   - Every struct that crosses the boundary starts with its own size; the
 *     reader checks offset + size of a member against that size before it
 *     touches the member, so either side may be newer.
 *   - Nothing is ever removed or reordered. Enums are 32-bit with explicit
 *     values. There are no bitfields and no C++ types here.
 *
 * Ownership, in one line per rule:
 *   - Pointers passed into a call are borrowed and valid only for that call.
 *   - dh_host, dh_call and dh_metric are opaque and owned by the agent.
 *   - dh_instance is opaque and owned by the plugin; the agent hands it back
 *     to destroy() exactly once.
 *   - Results and error messages are copied by the agent (call_set_output,
 *     call_set_error) before those functions return; the plugin keeps
 *     ownership of the bytes it passed in.
 *   - The descriptor and the strings and tables it points to are static data
 *     of the plugin: they live as long as the library, which the agent never
 *     unloads.
 *
 * Threading, in one line per rule:
 *   - create() and destroy() are called once each, on the agent's main thread.
 *   - Every other entry may be called from any of the agent's worker threads
 *     and concurrently with other calls on the same instance; a plugin guards
 *     its own shared state. Calls may block (they run on worker threads, never
 *     on the event loop) but should honour call_deadline_ns().
 *   - Host services may be called from any thread, at any time between
 *     create() and the return of destroy().
 */
#ifndef DECKHAND_PLUGIN_H
#define DECKHAND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ versions */

#define DH_ABI_MAJOR 1
#define DH_ABI_MINOR 2

/* The one symbol a plugin exports. Its signature is frozen for all majors:
 *     const dh_plugin_descriptor *deckhand_plugin_entry(void);
 * The versions live in the descriptor's frozen prefix, so an agent can tell
 * "another ABI major" apart from "not a deckhand plugin". */
#define DH_ENTRY_SYMBOL "deckhand_plugin_entry"

/* First member of every descriptor: "DHKP" in ASCII. */
#define DH_DESCRIPTOR_MAGIC 0x44484B50u

#define DH_STRINGIFY_(x) #x
#define DH_STRINGIFY(x) DH_STRINGIFY_(x)

#if defined(__x86_64__)
#define DH_ARCH_ "x86_64"
#elif defined(__aarch64__)
#define DH_ARCH_ "aarch64"
#elif defined(__i386__)
#define DH_ARCH_ "i386"
#elif defined(__arm__)
#define DH_ARCH_ "arm"
#elif defined(__riscv) && __riscv_xlen == 64
#define DH_ARCH_ "riscv64"
#elif defined(__powerpc64__)
#define DH_ARCH_ "ppc64"
#elif defined(__s390x__)
#define DH_ARCH_ "s390x"
#else
#define DH_ARCH_ "unknown"
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define DH_ENDIAN_ "big"
#else
#define DH_ENDIAN_ "little"
#endif

#if defined(__linux__)
#define DH_OS_ "linux"
#else
#define DH_OS_ "unknown"
#endif

/* Compared byte for byte by the agent: catches a plugin built for another
 * architecture, pointer size, byte order, OS or ABI major with a message that
 * shows both fingerprints. */
#define DH_BUILD_FINGERPRINT                                                   \
  "deckhand-abi=" DH_STRINGIFY(DH_ABI_MAJOR) " arch=" DH_ARCH_                 \
  " os=" DH_OS_ " ptr=" DH_STRINGIFY(__SIZEOF_POINTER__) " endian=" DH_ENDIAN_

/* -------------------------------------------------------------------- enums */

/* Result of every fallible call. The message goes through call_set_error. */
typedef enum dh_status {
  DH_OK = 0,
  DH_ERR_INVALID_ARGUMENT = 1,   /* the request is malformed or names something invalid */
  DH_ERR_NOT_FOUND = 2,          /* the object the request names does not exist */
  DH_ERR_ALREADY_EXISTS = 3,     /* create of something that exists */
  DH_ERR_FAILED_PRECONDITION = 4,/* valid request, wrong state (delete of a running container) */
  DH_ERR_PERMISSION_DENIED = 5,
  DH_ERR_RESOURCE_EXHAUSTED = 6, /* out of addresses, disk, memory */
  DH_ERR_UNAVAILABLE = 7,        /* transient: the same call may succeed later */
  DH_ERR_DEADLINE_EXCEEDED = 8,
  DH_ERR_UNIMPLEMENTED = 9,      /* the operation is not offered by this plugin */
  DH_ERR_INTERNAL = 10,          /* a bug or an unexpected failure */
  DH_ERR_INCOMPATIBLE = 11,      /* handshake: the plugin cannot work with this agent */
  DH_STATUS_MAX_ = 0x7fffffff
} dh_status;

/* What a plugin provides. A new kind is a new value and a new ops table. */
typedef enum dh_plugin_kind {
  DH_KIND_RUNTIME = 1,  /* containers: OCI runtime spec in, OCI state out */
  DH_KIND_NETWORK = 2,  /* pod networks (CNI-style) and service routing */
  DH_KIND_STORAGE = 3,  /* images, root filesystems, volumes */
  DH_KIND_MAX_ = 0x7fffffff
} dh_plugin_kind;

typedef enum dh_log_level {
  DH_LOG_TRACE = 0,
  DH_LOG_DEBUG = 1,
  DH_LOG_INFO = 2,
  DH_LOG_WARN = 3,
  DH_LOG_ERROR = 4,
  DH_LOG_LEVEL_MAX_ = 0x7fffffff
} dh_log_level;

typedef enum dh_metric_type {
  DH_METRIC_COUNTER = 1,  /* only metric_add with a delta >= 0 */
  DH_METRIC_GAUGE = 2,    /* metric_add and metric_set */
  DH_METRIC_TYPE_MAX_ = 0x7fffffff
} dh_metric_type;

/* ----------------------------------------------------------- opaque handles */

typedef struct dh_host dh_host;         /* agent-owned; valid from create() to the end of destroy() */
typedef struct dh_call dh_call;         /* agent-owned; valid for one call only */
typedef struct dh_metric dh_metric;     /* agent-owned; valid for the life of the process */
typedef struct dh_instance dh_instance; /* plugin-owned; released by destroy() */

/* ------------------------------------------------------------ host services */

/* The agent's services to a plugin. The plugin must not link against any agent
 * symbol; everything it needs from the agent comes through this table.
 * Append-only: check struct_size before using a member added after 1.0 (see
 * DH_HAS_MEMBER). */
typedef struct dh_host_services {
  uint32_t struct_size;
  uint32_t reserved0;

  /* Writes one line into the agent's log, tagged with the plugin's name.
   * message is borrowed; newlines are escaped by the agent. */
  void (*log)(dh_host *host, int32_t level, const char *message);

  /* Sets the call's result document (JSON, UTF-8). The agent copies
   * [data, data + len). Calling it again replaces the previous output. */
  void (*call_set_output)(dh_call *call, const char *data, size_t len);

  /* Sets the call's error. The agent copies message. Returning a status other
   * than DH_OK without setting a message gets a generic message. */
  void (*call_set_error)(dh_call *call, int32_t status, const char *message);

  /* Reports progress of a long call (a pull, say) as a small JSON object; the
   * agent forwards it to whoever waits for the call. May be called from any
   * thread while the call runs. */
  void (*call_report_progress)(dh_call *call, const char *json);

  /* Monotonic time (CLOCK_MONOTONIC, ns) by which the call should return.
   * 0 means no deadline. */
  uint64_t (*call_deadline_ns)(dh_call *call);

  /* Registers a metric exposed on the agent's /metrics with a constant label
   * plugin="<instance name>". name must match [a-zA-Z_:][a-zA-Z0-9_:]* and
   * should start with deckhand_; registering the same name and type again
   * returns the same handle. Returns NULL (and logs why) on a bad name, a
   * type clash or a bad type. */
  dh_metric *(*metric_register)(dh_host *host, int32_t type, const char *name,
                                const char *help);
  void (*metric_add)(dh_metric *metric, double delta);
  void (*metric_set)(dh_metric *metric, double value);
} dh_host_services;

/* True when a struct received from the other side, whose first member is its
 * size, is large enough to hold member m. */
#ifdef __cplusplus
#define DH_HAS_MEMBER(ptr, type, m)                                            \
  ((ptr) != nullptr &&                                                         \
   (ptr)->struct_size >= offsetof(type, m) + sizeof(static_cast<type *>(nullptr)->m))
#else
#define DH_HAS_MEMBER(ptr, type, m)                                            \
  ((ptr) != NULL &&                                                            \
   (ptr)->struct_size >= offsetof(type, m) + sizeof(((type *)0)->m))
#endif

/* ------------------------------------------------------ creating an instance */

/* What the agent passes to create(). Everything is borrowed for the call
 * except host and services, which stay valid until destroy() returns, and
 * state_dir and name, which the plugin may keep pointers to for as long. */
typedef struct dh_init_params {
  uint32_t struct_size;
  uint32_t abi_major;           /* the agent's ABI version */
  uint32_t abi_minor;
  uint32_t reserved0;
  const char *agent_version;    /* the agent's product version, e.g. "0.1.0" */
  const char *name;             /* this instance's name in the agent config */
  const char *state_dir;        /* exists, mode 0700, private to this instance; survives restarts */
  const char *config_json;      /* the instance's config section as a JSON object; "{}" when empty */
  dh_host *host;
  const dh_host_services *services;
} dh_init_params;

/* A call that returns data takes the request as a JSON document (UTF-8,
 * NUL-terminated, borrowed) and delivers its result through call_set_output.
 * It returns DH_OK or an error status with call_set_error. */
typedef int32_t (*dh_op_fn)(dh_instance *instance, dh_call *call,
                            const char *request_json);

/* --------------------------------------------------------- the three kinds */
/* Every entry is optional (NULL = DH_ERR_UNIMPLEMENTED). The documents that
 * cross here are the industry's standard ones; sdk/README.md has the request
 * and result shape of each operation. */

typedef struct dh_runtime_ops {
  uint32_t struct_size;
  uint32_t reserved0;
  dh_op_fn create;   /* {id, bundle, spec: OCI config.json} -> OCI state */
  dh_op_fn start;    /* {id} -> OCI state */
  dh_op_fn state;    /* {id} -> OCI state */
  dh_op_fn kill;     /* {id, signal} -> {} */
  dh_op_fn remove;   /* {id, force} -> {} */
  dh_op_fn wait;     /* {id} -> {exit_code, exited_at, oom_killed} */
  dh_op_fn exec;     /* {id, process: OCI process} -> {exit_code} */
  dh_op_fn stats;    /* {id} -> {cpu_usage_ns, memory_working_set_bytes, pids} */
  dh_op_fn list;     /* {} -> {containers: [OCI state]} */
  /* ABI 1.1: pods and templates */
  dh_op_fn create_sandbox; /* {id, namespaces, hostname, qos_class, resources} -> {id, cgroups_path, namespaces} */
  dh_op_fn remove_sandbox; /* {id} -> {} (idempotent) */
  dh_op_fn list_sandboxes; /* {} -> {sandboxes: [...]} */
  dh_op_fn default_spec;   /* {profile, args} -> OCI config.json */
} dh_runtime_ops;

typedef struct dh_network_ops {
  uint32_t struct_size;
  uint32_t reserved0;
  dh_op_fn attach;         /* {pod_id, netns, ifname, ports, ...} -> CNI result */
  dh_op_fn detach;         /* {pod_id, netns, ifname} -> {} (idempotent) */
  dh_op_fn check;          /* {pod_id, netns, ifname} -> {} or the problem */
  dh_op_fn set_node_routes;/* {routes: [{cidr, via}]} -> {} (whole set, idempotent) */
  dh_op_fn sync_services;  /* {services: [...]} -> {} (whole set) */
  dh_op_fn update_service; /* {service} -> {} (one service and its endpoints) */
  dh_op_fn delete_service; /* {namespace, name} -> {} */
} dh_network_ops;

typedef struct dh_storage_ops {
  uint32_t struct_size;
  uint32_t reserved0;
  dh_op_fn pull_image;     /* {ref, policy, auth} -> {ref, digest, size, config} */
  dh_op_fn image_status;   /* {ref} -> {ref, digest, size} or DH_ERR_NOT_FOUND */
  dh_op_fn list_images;    /* {} -> {images: [...]} */
  dh_op_fn remove_image;   /* {ref} -> {} */
  dh_op_fn prepare_rootfs; /* {container_id, image, readonly} -> {root: OCI root} */
  dh_op_fn release_rootfs; /* {container_id} -> {} (idempotent) */
  dh_op_fn prepare_volume; /* {pod_id, volume: core/v1 Volume} -> {path} */
  dh_op_fn release_volume; /* {pod_id, name} -> {} (idempotent) */
  /* ABI 1.2: air-gapped images, pruning, projected files */
  dh_op_fn load_image;     /* {path, name} -> {images: [...]} (an OCI layout or docker save archive) */
  dh_op_fn prune_images;   /* {} -> {images_removed, layers_removed, blobs_removed, bytes_freed} */
  dh_op_fn project_volume; /* {pod_id, name, files: {path: {data (base64), mode}}} -> {path} (atomic swap) */
} dh_storage_ops;

/* ------------------------------------------------------------ the descriptor */

/* Static data of the plugin, returned by deckhand_plugin_entry(). The first
 * five members are the frozen prefix: they keep their place and meaning in
 * every ABI major, so an agent can always read them to refuse a plugin
 * clearly. */
typedef struct dh_plugin_descriptor {
  /* frozen prefix */
  uint32_t magic;        /* DH_DESCRIPTOR_MAGIC */
  uint32_t struct_size;  /* sizeof(dh_plugin_descriptor) as the plugin was built */
  uint32_t abi_major;    /* DH_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;    /* DH_ABI_MINOR the plugin was built with */
  const char *fingerprint; /* DH_BUILD_FINGERPRINT the plugin was built with */

  /* ABI 1.0 */
  const char *name;        /* the plugin's id: [a-z0-9][a-z0-9._-]{0,62} */
  int32_t kind;            /* dh_plugin_kind */
  uint32_t reserved0;
  const char *version;     /* the plugin's own version, e.g. "1.2.0" */
  const char *description; /* one line for `deckhand plugins` */

  /* Creates an instance. Returns DH_OK and sets *out, or an error status with
   * call_set_error (the agent then reports the plugin as failed and never
   * calls destroy for it). Required. */
  int32_t (*create)(const dh_init_params *params, dh_call *call,
                    dh_instance **out);

  /* Releases everything the instance holds. Called once, on the agent's main
   * thread, after every other call on the instance has returned. Required. */
  void (*destroy)(dh_instance *instance);

  /* Reports whether the instance can do its job now. DH_OK = healthy; an
   * error status with a message = unhealthy, and the agent's /readyz shows
   * that message. Should return within a second. Optional: NULL = healthy. */
  int32_t (*health)(dh_instance *instance, dh_call *call);

  /* The kind's table: dh_runtime_ops, dh_network_ops or dh_storage_ops,
   * static data of the plugin. Required (may have every entry NULL). */
  const void *ops;
} dh_plugin_descriptor;

typedef const dh_plugin_descriptor *(*dh_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DECKHAND_PLUGIN_H */
