/*
 * Plugins for the loader tests, written against the bare C ABI (no C++
 * layer), one variant per shared object, chosen with -DVARIANT_<NAME>:
 *
 *   GOOD          "cnet", a working network plugin: check echoes its request,
 *                 attach fails with INVALID_ARGUMENT, health is ok; registers
 *                 a counter and logs through the host services
 *   ABI_MAJOR2    claims ABI 2.0             (refused: another major)
 *   ABI_MINOR99   claims ABI 1.99            (refused: newer than the agent)
 *   FINGERPRINT   a foreign build fingerprint (refused: fingerprint)
 *   INIT_FAILS    create() fails with a message
 *   DUPLICATE     named "cnet" like GOOD      (refused: duplicate name)
 *   UNHEALTHY     health reports UNAVAILABLE
 *   SLOW_HEALTH   health sleeps 3 s           (times out)
 *   BAD_OUTPUT    check returns text that is not JSON
 *   NO_ENTRY      exports no entry symbol    (refused: not a deckhand plugin)
 *   RUNTIME_ABI10 "oldrt", a runtime plugin as ABI 1.0 built it: minor 0 and
 *                 the 1.0 runtime table, which ends after list (loads; the
 *                 operations 1.1 appended are unimplemented)
 */
#include <deckhand/plugin.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dh_instance {
  dh_host *host;
  const dh_host_services *services;
  dh_metric *checks;
};

#if defined(VARIANT_DUPLICATE) || defined(VARIANT_GOOD)
#define PLUGIN_NAME "cnet"
#elif defined(VARIANT_INIT_FAILS)
#define PLUGIN_NAME "initfails"
#elif defined(VARIANT_UNHEALTHY)
#define PLUGIN_NAME "unhealthy"
#elif defined(VARIANT_SLOW_HEALTH)
#define PLUGIN_NAME "slowhealth"
#elif defined(VARIANT_BAD_OUTPUT)
#define PLUGIN_NAME "badoutput"
#elif defined(VARIANT_RUNTIME_ABI10)
#define PLUGIN_NAME "oldrt"
#else
#define PLUGIN_NAME "broken"
#endif

static int32_t create(const dh_init_params *params, dh_call *call, dh_instance **out) {
#ifdef VARIANT_INIT_FAILS
  params->services->call_set_error(call, DH_ERR_INVALID_ARGUMENT, "config key \"token\" is required");
  (void)out;
  return DH_ERR_INVALID_ARGUMENT;
#else
  (void)call;
  dh_instance *instance = calloc(1, sizeof *instance);
  if (instance == NULL) return DH_ERR_RESOURCE_EXHAUSTED;
  instance->host = params->host;
  instance->services = params->services;
  instance->checks = params->services->metric_register(params->host, DH_METRIC_COUNTER,
                                                       "deckhand_cnet_checks_total", "check calls served");
  params->services->log(params->host, DH_LOG_INFO, "cnet ready\nsecond line");
  *out = instance;
  return DH_OK;
#endif
}

static void destroy(dh_instance *instance) { free(instance); }

static int32_t health(dh_instance *instance, dh_call *call) {
#if defined(VARIANT_UNHEALTHY)
  instance->services->call_set_error(call, DH_ERR_UNAVAILABLE, "backend unreachable");
  return DH_ERR_UNAVAILABLE;
#elif defined(VARIANT_SLOW_HEALTH)
  (void)instance;
  (void)call;
  sleep(3);
  return DH_OK;
#else
  (void)instance;
  (void)call;
  return DH_OK;
#endif
}

__attribute__((unused)) static int32_t check(dh_instance *instance, dh_call *call, const char *request) {
  instance->services->metric_add(instance->checks, 1);
#ifdef VARIANT_BAD_OUTPUT
  (void)request;
  static const char text[] = "this is not json";
  instance->services->call_set_output(call, text, sizeof text - 1);
#else
  instance->services->call_set_output(call, request, strlen(request));
#endif
  return DH_OK;
}

__attribute__((unused)) static int32_t attach(dh_instance *instance, dh_call *call, const char *request) {
  (void)request;
  instance->services->call_set_error(call, DH_ERR_INVALID_ARGUMENT, "attach: netns is required");
  return DH_ERR_INVALID_ARGUMENT;
}

#ifdef VARIANT_RUNTIME_ABI10
static int32_t list(dh_instance *instance, dh_call *call, const char *request) {
  (void)request;
  static const char text[] = "{\"containers\":[]}";
  instance->services->call_set_output(call, text, sizeof text - 1);
  return DH_OK;
}

static const dh_runtime_ops ops = {
    .struct_size = offsetof(dh_runtime_ops, create_sandbox),  /* the ABI 1.0 table */
    .list = list,
};
#define PLUGIN_KIND DH_KIND_RUNTIME
#else
static const dh_network_ops ops = {
    .struct_size = sizeof(dh_network_ops),
    .attach = attach,
    .check = check,
};
#define PLUGIN_KIND DH_KIND_NETWORK
#endif

#if defined(VARIANT_ABI_MAJOR2)
#define ABI_MAJOR 2
#else
#define ABI_MAJOR DH_ABI_MAJOR
#endif
#if defined(VARIANT_ABI_MINOR99)
#define ABI_MINOR 99
#elif defined(VARIANT_RUNTIME_ABI10)
#define ABI_MINOR 0
#else
#define ABI_MINOR DH_ABI_MINOR
#endif
#if defined(VARIANT_FINGERPRINT)
#define FINGERPRINT "deckhand-abi=1 arch=sparc64 os=linux ptr=8 endian=big"
#else
#define FINGERPRINT DH_BUILD_FINGERPRINT
#endif

static const dh_plugin_descriptor descriptor = {
    .magic = DH_DESCRIPTOR_MAGIC,
    .struct_size = sizeof(dh_plugin_descriptor),
    .abi_major = ABI_MAJOR,
    .abi_minor = ABI_MINOR,
    .fingerprint = FINGERPRINT,
    .name = PLUGIN_NAME,
    .kind = PLUGIN_KIND,
    .version = "0.0.1",
    .description = "loader test plugin",
    .create = create,
    .destroy = destroy,
    .health = health,
    .ops = &ops,
};

#ifdef VARIANT_NO_ENTRY
/* A shared object with code, but no deckhand entry point. */
__attribute__((visibility("default"))) const dh_plugin_descriptor *some_other_symbol(void) { return &descriptor; }
#else
__attribute__((visibility("default"))) const dh_plugin_descriptor *deckhand_plugin_entry(void) { return &descriptor; }
#endif
