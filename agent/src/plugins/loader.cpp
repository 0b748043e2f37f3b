#include "plugins/loader.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>

#include "plugins/operations.hpp"
#include "util/paths.hpp"

namespace deckhand {
namespace {

std::string sha256_of_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("cannot read it: ") + std::strerror(errno));
  sha256_ctx context;
  sha256_init(&context);
  unsigned char buffer[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) sha256_update(&context, static_cast<size_t>(n), buffer);
  ::close(fd);
  if (n < 0) throw std::runtime_error(std::string("cannot read it: ") + std::strerror(errno));
  unsigned char digest[SHA256_DIGEST_SIZE];
  const unsigned int length = SHA256_DIGEST_SIZE;
  sha256_digest(&context, length, digest);
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 15];
  }
  return text;
}

std::string machine_name(uint16_t machine) {
  switch (machine) {
    case EM_X86_64: return "x86_64";
    case EM_386: return "i386";
    case EM_AARCH64: return "aarch64";
    case EM_ARM: return "arm";
    case EM_RISCV: return "riscv";
    case EM_PPC64: return "ppc64";
    case EM_S390: return "s390x";
    default: return "ELF machine " + std::to_string(machine);
  }
}

// The agent's own ELF machine, read from its executable (EM_NONE if unreadable).
uint16_t own_elf_machine() {
  Elf64_Ehdr header{};
  const int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return EM_NONE;
  const ssize_t n = ::read(fd, &header, sizeof header);
  ::close(fd);
  return n == sizeof header ? header.e_machine : static_cast<uint16_t>(EM_NONE);
}

// An ELF shared object (or PIE, which dlopen also refuses clearly) for this
// machine's class; anything else gets a crisp message before dlopen.
void check_elf_header(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw PluginLoadError("plugin " + path + ": cannot read it: " + std::strerror(errno));
  Elf64_Ehdr header{};
  const ssize_t n = ::read(fd, &header, sizeof header);
  ::close(fd);
  if (n < static_cast<ssize_t>(EI_NIDENT) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    throw PluginLoadError("plugin " + path + ": not a shared object (the file has no ELF header)");
  }
  const unsigned char expected_class = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
  if (header.e_ident[EI_CLASS] != expected_class) {
    throw PluginLoadError("plugin " + path + ": built for a " +
                          std::string(header.e_ident[EI_CLASS] == ELFCLASS64 ? "64" : "32") +
                          "-bit machine, the agent is " + std::to_string(sizeof(void*) * 8) + "-bit");
  }
  if (n == sizeof header && header.e_type != ET_DYN) {
    throw PluginLoadError("plugin " + path + ": not a shared object (ELF type " + std::to_string(header.e_type) +
                          ", expected a shared library)");
  }
  static const uint16_t agent_machine = own_elf_machine();
  if (n == sizeof header && agent_machine != EM_NONE && header.e_machine != EM_NONE &&
      header.e_machine != agent_machine) {
    throw PluginLoadError("plugin " + path + ": built for another machine (" + machine_name(header.e_machine) +
                          "), the agent runs on " + machine_name(agent_machine));
  }
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The file and its directory must belong to root or to the agent's user and be
// writable by nobody else: a plugin runs with the agent's privileges.
void check_trusted(const std::string& path, const struct stat& st, const char* what) {
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    throw PluginLoadError("plugin " + path + ": refusing to load: the " + what + " is owned by uid " +
                          std::to_string(st.st_uid) + ", not by root or the agent's user");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw PluginLoadError("plugin " + path + ": refusing to load: the " + what +
                          " is writable by group or others (mode " + octal_mode(st.st_mode) + ")");
  }
}

}  // namespace

PluginLoader::PluginLoader(std::string plugin_dir, std::string state_dir, std::string agent_version,
                           PluginMetricsSink& metrics)
    : plugin_dir_(std::move(plugin_dir)),
      state_dir_(std::move(state_dir)),
      agent_version_(std::move(agent_version)),
      metrics_(metrics) {}

std::string PluginLoader::resolve(const std::string& configured) const {
  std::filesystem::path path(configured);
  if (path.is_relative()) path = std::filesystem::path(plugin_dir_) / path;
  return path.lexically_normal().string();
}

void PluginLoader::check_file(const std::string& path, const PluginConfig& config) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) throw PluginLoadError("plugin " + path + ": file not found");
    throw PluginLoadError("plugin " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw PluginLoadError("plugin " + path + ": not a regular file");
  check_trusted(path, st, "file");
  // The file that will really be mapped, after every symlink, and every
  // directory above it: none may let another user swap what gets loaded. A
  // sticky shared directory (/tmp) is fine: others cannot replace its entries.
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::canonical(path, ec);
  if (ec) throw PluginLoadError("plugin " + path + ": cannot resolve it: " + ec.message());
  for (std::filesystem::path dir = real.parent_path();; dir = dir.parent_path()) {
    struct stat dir_st {};
    if (::stat(dir.c_str(), &dir_st) == 0 && !(dir_st.st_mode & S_ISVTX)) {
      check_trusted(path, dir_st, ("directory " + dir.string()).c_str());
    }
    if (dir == dir.root_path()) break;
  }
  const auto identity = std::make_pair(st.st_dev, st.st_ino);
  if (auto it = loaded_files_.find(identity); it != loaded_files_.end()) {
    throw PluginLoadError("plugin " + path + ": the same file is already loaded as " + it->second);
  }
  check_elf_header(path);
  if (!config.sha256.empty()) {
    std::string actual;
    try {
      actual = sha256_of_file(path);
    } catch (const std::exception& e) {
      throw PluginLoadError("plugin " + path + ": " + e.what());
    }
    if (actual != config.sha256) {
      throw PluginLoadError("plugin " + path + ": sha256 mismatch: the config expects " + config.sha256 +
                            ", the file has " + actual);
    }
  }
}

const dh_plugin_descriptor& PluginLoader::read_descriptor(const std::string& path, const void* entry_result,
                                                          dh_plugin_descriptor& copy) const {
  if (entry_result == nullptr) {
    throw PluginLoadError("plugin " + path + ": deckhand_plugin_entry returned no descriptor");
  }
  const auto* raw = static_cast<const dh_plugin_descriptor*>(entry_result);
  // The frozen prefix first: magic, size and versions keep their place in every major.
  if (raw->magic != DH_DESCRIPTOR_MAGIC) {
    throw PluginLoadError("plugin " + path + ": deckhand_plugin_entry returned something that is not a " +
                          "deckhand plugin descriptor (bad magic)");
  }
  const std::string plugin_abi = std::to_string(raw->abi_major) + "." + std::to_string(raw->abi_minor);
  const std::string agent_abi = std::to_string(DH_ABI_MAJOR) + "." + std::to_string(DH_ABI_MINOR);
  if (raw->abi_major != DH_ABI_MAJOR) {
    throw PluginLoadError("plugin " + path + ": built for plugin ABI " + plugin_abi + " but this agent speaks ABI " +
                          agent_abi + " (the major versions must match)");
  }
  if (raw->abi_minor > DH_ABI_MINOR) {
    throw PluginLoadError("plugin " + path + ": built for plugin ABI " + plugin_abi + ", newer than this agent's " +
                          agent_abi + "; upgrade the agent or build the plugin with an older SDK");
  }
  if (raw->struct_size < offsetof(dh_plugin_descriptor, ops) + sizeof(raw->ops)) {
    throw PluginLoadError("plugin " + path + ": descriptor of " + std::to_string(raw->struct_size) +
                          " bytes is smaller than ABI " + plugin_abi + " requires (" +
                          std::to_string(sizeof(dh_plugin_descriptor)) + ")");
  }
  // Copy what this agent understands into a zeroed local: members a newer
  // minor appended are ignored, members an older one lacks stay zero.
  std::memset(&copy, 0, sizeof copy);
  std::memcpy(&copy, raw, std::min<std::size_t>(raw->struct_size, sizeof copy));
  if (copy.fingerprint == nullptr || std::strcmp(copy.fingerprint, DH_BUILD_FINGERPRINT) != 0) {
    throw PluginLoadError("plugin " + path + ": build fingerprint \"" +
                          std::string(copy.fingerprint ? copy.fingerprint : "(none)") + "\" does not match the agent's \"" +
                          DH_BUILD_FINGERPRINT + "\"");
  }
  static const std::regex valid_name("[a-z0-9][a-z0-9._-]{0,62}");
  if (copy.name == nullptr || !std::regex_match(copy.name, valid_name)) {
    throw PluginLoadError("plugin " + path + ": invalid plugin name \"" + std::string(copy.name ? copy.name : "") +
                          "\" (expected [a-z0-9][a-z0-9._-]{0,62})");
  }
  if (copy.kind != DH_KIND_RUNTIME && copy.kind != DH_KIND_NETWORK && copy.kind != DH_KIND_STORAGE) {
    throw PluginLoadError("plugin " + path + ": unknown plugin kind " + std::to_string(copy.kind));
  }
  if (copy.create == nullptr || copy.destroy == nullptr || copy.ops == nullptr) {
    throw PluginLoadError("plugin " + path + ": descriptor lacks create, destroy or its ops table");
  }
  uint32_t ops_size = 0;
  std::memcpy(&ops_size, copy.ops, sizeof ops_size);
  if (ops_size < 2 * sizeof(uint32_t)) {
    throw PluginLoadError("plugin " + path + ": ops table size " + std::to_string(ops_size) + " is invalid");
  }
  return copy;
}

std::unique_ptr<Plugin> PluginLoader::load(const PluginConfig& config) {
  const std::string path = resolve(config.path);
  check_file(path, config);

  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    // Boost wraps dlerror(); keep the part that says what went wrong.
    // "...load() failed (dlerror system message: <text>): Bad file descriptor"
    std::string why = e.what();
    const std::string marker = "dlerror system message: ";
    if (auto at = why.find(marker); at != std::string::npos) {
      why = why.substr(at + marker.size());
      if (auto end = why.rfind("): "); end != std::string::npos) why.resize(end);
    }
    throw PluginLoadError("plugin " + path + ": cannot be loaded: " + why);
  }
  // Pin it: a plugin is never unloaded, because code or data of it may still be
  // referenced (threads, atexit handlers, strings) after its instance is gone.
  if (void* pinned = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)) ::dlclose(pinned);

  if (!library->has(DH_ENTRY_SYMBOL)) {
    throw PluginLoadError("plugin " + path + ": does not export " DH_ENTRY_SYMBOL ", so it is not a deckhand plugin");
  }
  const auto entry = library->get<const dh_plugin_descriptor*()>(DH_ENTRY_SYMBOL);
  dh_plugin_descriptor descriptor{};
  read_descriptor(path, entry(), descriptor);

  const std::string name = descriptor.name;
  if (!config.name.empty() && config.name != name) {
    throw PluginLoadError("plugin " + path + ": the file is plugin \"" + name + "\", but the config expects \"" +
                          config.name + "\"");
  }
  if (auto it = loaded_names_.find(name); it != loaded_names_.end()) {
    throw PluginLoadError("plugin " + path + ": plugin name \"" + name + "\" is already taken by " + it->second);
  }

  const std::string plugin_state = state_dir_ + "/plugins/" + name;
  try {
    make_private_dir(plugin_state);
  } catch (const std::exception& e) {
    throw PluginLoadError("plugin " + path + ": state directory: " + e.what());
  }

  auto host = std::make_unique<HostContext>();
  host->plugin_name = name;
  host->metrics = &metrics_;
  host->state_dir = plugin_state;  // name and state_dir may be kept by the plugin
  dh_init_params params{};
  params.struct_size = sizeof params;
  params.abi_major = DH_ABI_MAJOR;
  params.abi_minor = DH_ABI_MINOR;
  params.agent_version = agent_version_.c_str();
  params.name = host->plugin_name.c_str();
  params.state_dir = host->state_dir.c_str();
  params.config_json = config.config_json.c_str();
  params.host = host->handle();
  params.services = &host_services();

  CallContext context;
  dh_instance* instance = nullptr;
  const int32_t status = descriptor.create(&params, context.handle(), &instance);
  if (status != DH_OK || instance == nullptr) {
    const std::string why = context.error_message.empty()
                                ? status_name(status == DH_OK ? DH_ERR_INTERNAL : status)
                                : context.error_message;
    throw PluginLoadError("plugin " + path + ": plugin \"" + name + "\" failed to initialise: " + why);
  }
  PluginInfo info;
  info.name = name;
  info.kind = kind_name(descriptor.kind);
  info.version = descriptor.version != nullptr ? descriptor.version : "";
  info.description = descriptor.description != nullptr ? descriptor.description : "";
  info.abi = std::to_string(descriptor.abi_major) + "." + std::to_string(descriptor.abi_minor);
  info.path = path;

  struct stat st {};
  ::stat(path.c_str(), &st);
  loaded_files_[{st.st_dev, st.st_ino}] = path;
  loaded_names_[name] = path;
  spdlog::info("plugin loaded name={} kind={} version={} abi={} path={}", info.name, info.kind, info.version,
               info.abi, info.path);
  return std::make_unique<Plugin>(std::move(info), descriptor, instance, std::move(host), library, metrics_);
}

}  // namespace deckhand
