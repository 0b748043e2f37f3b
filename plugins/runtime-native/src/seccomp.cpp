#include "seccomp.hpp"

#include "fd_io.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

namespace deckhand::runtime {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxErrno = 4095;  // the kernel clamps SECCOMP_RET_DATA to MAX_ERRNO

[[noreturn]] void fail(const std::string& field, const std::string& what) { throw SpecError(field + ": " + what); }

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string errno_text(int error) { return std::error_code(error, std::generic_category()).message(); }

// --- names ------------------------------------------------------------------

struct ArchName {
  std::string_view name;
  uint32_t token;
};
constexpr std::array<ArchName, 19> kArchitectures = {{
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
}};

std::optional<uint32_t> arch_token(std::string_view name) {
  for (const auto& arch : kArchitectures) {
    if (arch.name == name) return arch.token;
  }
  return std::nullopt;
}

struct OpName {
  std::string_view name;
  scmp_compare op;
};
constexpr std::array<OpName, 7> kOperators = {{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

std::optional<scmp_compare> compare_op(std::string_view name) {
  for (const auto& op : kOperators) {
    if (op.name == name) return op.op;
  }
  return std::nullopt;
}

// The libseccomp action for an OCI action name; errno_ret only for ERRNO
// (EPERM when absent, as runc). Throws naming `field`.
uint32_t resolve_action(const std::string& action, std::optional<uint32_t> errno_ret, const std::string& field) {
  if (errno_ret && action != "SCMP_ACT_ERRNO") {
    fail(field, "errnoRet is only supported with SCMP_ACT_ERRNO, not " + in_quotes(action));
  }
  if (action == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (action == "SCMP_ACT_ERRNO") {
    uint32_t value = errno_ret.value_or(EPERM);
    if (value > kMaxErrno) fail(field, "errnoRet " + std::to_string(value) + " is above 4095");
    return SCMP_ACT_ERRNO(value);
  }
  if (action == "SCMP_ACT_KILL" || action == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (action == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (action == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (action == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (action == "SCMP_ACT_NOTIFY") fail(field, "seccomp notify (SCMP_ACT_NOTIFY) is not supported");
  if (action == "SCMP_ACT_TRACE") fail(field, "SCMP_ACT_TRACE is not supported");
  fail(field, "unknown action " + in_quotes(action));
}

// --- JSON -------------------------------------------------------------------

bool absent(const json& obj, const char* key) { return !obj.contains(key) || obj.at(key).is_null(); }

void check_keys(const json& obj, const std::string& field, std::initializer_list<std::string_view> known) {
  for (const auto& item : obj.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      fail(field + "." + item.key(), "unsupported field");
    }
  }
}

const std::string& get_string(const json& value, const std::string& field) {
  if (!value.is_string()) fail(field, "must be a string");
  return value.get_ref<const std::string&>();
}

uint64_t get_u64(const json& value, const std::string& field) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return static_cast<uint64_t>(value.get<int64_t>());
  fail(field, "must be a non-negative integer");
}

uint32_t get_errno(const json& value, const std::string& field) {
  uint64_t v = get_u64(value, field);
  if (v > kMaxErrno) fail(field, "must be at most 4095");
  return static_cast<uint32_t>(v);
}

const json& get_array(const json& value, const std::string& field) {
  if (!value.is_array()) fail(field, "must be an array");
  return value;
}

void check_flag(const std::string& flag, const std::string& field) {
  // TSYNC holds by construction: the filter goes into a single-threaded init.
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC") return;
  // Not applied yet, so refused rather than silently dropped.
  if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW" || flag == "SECCOMP_FILTER_FLAG_LOG" ||
      flag == "SECCOMP_FILTER_FLAG_NEW_LISTENER" || flag == "SECCOMP_FILTER_FLAG_TSYNC_ESRCH" ||
      flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
    fail(field, in_quotes(flag) + " is not supported");
  }
  fail(field, "unknown flag " + in_quotes(flag));
}

SeccompArg parse_arg(const json& j, const std::string& field) {
  if (!j.is_object()) fail(field, "must be an object");
  check_keys(j, field, {"index", "value", "valueTwo", "op"});
  SeccompArg arg;
  if (absent(j, "index")) fail(field + ".index", "is required");
  uint64_t index = get_u64(j.at("index"), field + ".index");
  if (index > 5) fail(field + ".index", "must be 0..5, not " + std::to_string(index));
  arg.index = static_cast<unsigned>(index);
  if (absent(j, "value")) fail(field + ".value", "is required");
  arg.value = get_u64(j.at("value"), field + ".value");
  if (!absent(j, "valueTwo")) arg.value_two = get_u64(j.at("valueTwo"), field + ".valueTwo");
  if (absent(j, "op")) fail(field + ".op", "is required");
  arg.op = get_string(j.at("op"), field + ".op");
  if (!compare_op(arg.op)) fail(field + ".op", "unknown operator " + in_quotes(arg.op));
  if (arg.op != "SCMP_CMP_MASKED_EQ" && arg.value_two != 0) {
    fail(field + ".valueTwo", "is only used by SCMP_CMP_MASKED_EQ, not " + arg.op);
  }
  return arg;
}

SeccompRule parse_rule(const json& j, const std::string& field) {
  if (!j.is_object()) fail(field, "must be an object");
  check_keys(j, field, {"names", "action", "errnoRet", "args"});
  SeccompRule rule;
  if (absent(j, "names")) fail(field + ".names", "is required");
  const json& names = get_array(j.at("names"), field + ".names");
  if (names.empty()) fail(field + ".names", "must not be empty");
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string name_field = field + ".names[" + std::to_string(i) + "]";
    const std::string& name = get_string(names[i], name_field);
    if (name.empty()) fail(name_field, "must not be empty");
    rule.names.push_back(name);
  }
  if (absent(j, "action")) fail(field + ".action", "is required");
  rule.action = get_string(j.at("action"), field + ".action");
  resolve_action(rule.action, std::nullopt, field + ".action");
  if (!absent(j, "errnoRet")) {
    rule.errno_ret = get_errno(j.at("errnoRet"), field + ".errnoRet");
    if (rule.action != "SCMP_ACT_ERRNO") {
      fail(field + ".errnoRet", "is only supported with SCMP_ACT_ERRNO, not " + in_quotes(rule.action));
    }
  }
  if (!absent(j, "args")) {
    const json& args = get_array(j.at("args"), field + ".args");
    for (std::size_t i = 0; i < args.size(); ++i) {
      rule.args.push_back(parse_arg(args[i], field + ".args[" + std::to_string(i) + "]"));
    }
  }
  return rule;
}

// --- compiling --------------------------------------------------------------

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;


std::vector<sock_filter> export_bpf(void* ctx) {
  Fd fd(memfd_create("deckhand-seccomp", MFD_CLOEXEC));
  if (fd.get() < 0) throw SpecError("linux.seccomp: memfd_create: " + errno_text(errno));
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0) {
    throw SpecError("linux.seccomp: libseccomp could not export the filter: " + errno_text(-rc));
  }
  off_t size = lseek(fd.get(), 0, SEEK_END);
  if (size < 0) throw SpecError("linux.seccomp: lseek: " + errno_text(errno));
  if (size == 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
    throw SpecError("linux.seccomp: libseccomp exported " + std::to_string(size) + " bytes, not a BPF program");
  }
  std::vector<sock_filter> program(static_cast<std::size_t>(size) / sizeof(sock_filter));
  auto* out = reinterpret_cast<char*>(program.data());
  std::size_t done = 0;
  while (done < static_cast<std::size_t>(size)) {
    ssize_t n = pread(fd.get(), out + done, static_cast<std::size_t>(size) - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw SpecError("linux.seccomp: reading the exported filter: " + errno_text(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
  return program;
}

// One architecture's part of the ENOSYS stub.
struct StubArch {
  uint32_t audit_arch = 0;       // seccomp_data.arch
  uint32_t max = 0;              // highest syscall number the profile names
  uint32_t private_base = 0;     // numbers at or above go to the filter (ARM's 0xf0000 calls); 0 = none
  std::optional<uint32_t> x32_max;  // x86_64 only: x32 is in the filter (numbers carry bit 30)
  bool x86_64 = false;
};

constexpr uint32_t kX32Bit = 0x40000000;
constexpr uint32_t kArmPrivateBase = 0x0f0000;

sock_filter stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }

// A conditional jump at index `at` to absolute targets.
sock_filter jump(uint16_t code, uint32_t k, std::size_t at, std::size_t if_true, std::size_t if_false) {
  auto offset = [at](std::size_t target) {
    std::size_t off = target - at - 1;
    if (target <= at || off > 255) throw SpecError("linux.seccomp: internal error laying out the ENOSYS stub");
    return static_cast<uint8_t>(off);
  };
  return sock_filter{code, offset(if_true), offset(if_false), k};
}

// runc's "ENOSYS stub" (libcontainer/seccomp/patchbpf), simplified to a
// per-architecture "above the highest number the profile names" test. It is
// placed in front of libseccomp's program, which starts by loading the
// architecture itself; the stub only ever jumps forward into it.
std::vector<sock_filter> enosys_stub(const std::vector<StubArch>& arches) {
  constexpr uint16_t kLoad = BPF_LD | BPF_W | BPF_ABS;
  constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch);
  constexpr uint32_t kNrOffset = offsetof(seccomp_data, nr);

  std::vector<std::size_t> sizes;
  std::size_t total = 1;  // ld arch
  for (const auto& a : arches) {
    std::size_t size = 3;  // jeq arch, ld nr, jgt max
    if (a.x86_64) size += a.x32_max ? 2 : 1;  // jset x32 bit [, jgt x32 max]
    if (a.private_base != 0) size += 1;       // jge private base
    sizes.push_back(size);
    total += size;
  }
  const std::size_t enosys = total;
  const std::size_t prog = total + 1;

  std::vector<sock_filter> out;
  out.push_back(stmt(kLoad, kArchOffset));
  for (std::size_t i = 0; i < arches.size(); ++i) {
    const StubArch& a = arches[i];
    const std::size_t start = out.size();
    const std::size_t next = start + sizes[i] == enosys ? prog : start + sizes[i];
    out.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, a.audit_arch, out.size(), start + 1, next));
    out.push_back(stmt(kLoad, kNrOffset));
    if (a.x86_64) {
      // x32 numbers go to their own test, or to the filter if x32 is not in it.
      const std::size_t x32_test = start + 4;
      out.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, out.size(), a.x32_max ? x32_test : prog, out.size() + 1));
      out.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, a.max, out.size(), enosys, prog));
      if (a.x32_max) out.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, *a.x32_max, out.size(), enosys, prog));
    } else {
      if (a.private_base != 0) {
        out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, a.private_base, out.size(), prog, out.size() + 1));
      }
      out.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, a.max, out.size(), enosys, prog));
    }
  }
  out.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
  return out;
}

// The stub's per-architecture maxima, over every name the profile mentions
// (whatever its action) that libseccomp knows for that architecture.
std::vector<StubArch> stub_arches(const std::vector<uint32_t>& filter_arches, const std::vector<std::string>& names) {
  auto max_for = [&names](uint32_t token, uint32_t limit) -> std::optional<uint32_t> {
    std::optional<uint32_t> max;
    for (const auto& name : names) {
      int nr = seccomp_syscall_resolve_name_arch(token, name.c_str());
      if (nr < 0 || static_cast<uint32_t>(nr) >= limit) continue;  // pseudo number: not on this arch
      if (!max || static_cast<uint32_t>(nr) > *max) max = static_cast<uint32_t>(nr);
    }
    return max;
  };
  auto has = [&filter_arches](uint32_t token) {
    return std::find(filter_arches.begin(), filter_arches.end(), token) != filter_arches.end();
  };

  std::vector<StubArch> out;
  for (uint32_t token : filter_arches) {
    StubArch a;
    a.audit_arch = token;
    std::optional<uint32_t> max;
    if (token == SCMP_ARCH_X86_64) {
      a.x86_64 = true;
      max = max_for(token, kX32Bit);
      if (has(SCMP_ARCH_X32)) {
        a.x32_max = max_for(SCMP_ARCH_X32, UINT32_MAX);
        if (!a.x32_max) continue;  // cannot tell x32 calls apart safely: no stub
      }
    } else if (token == SCMP_ARCH_X86 || token == SCMP_ARCH_AARCH64) {
      max = max_for(token, UINT32_MAX);
    } else if (token == SCMP_ARCH_ARM) {
      a.private_base = kArmPrivateBase;
      max = max_for(token, kArmPrivateBase);
    } else {
      continue;  // x32 is handled with x86_64; other architectures get no stub
    }
    if (!max) continue;
    a.max = *max;
    out.push_back(a);
  }
  return out;
}

}  // namespace

Seccomp parse_seccomp(const json& j) {
  const std::string root = "linux.seccomp";
  if (!j.is_object()) fail(root, "must be an object");
  for (const char* notify : {"listenerPath", "listenerMetadata"}) {
    if (j.contains(notify)) fail(root + "." + notify, "seccomp notify is not supported");
  }
  check_keys(j, root, {"defaultAction", "defaultErrnoRet", "architectures", "flags", "syscalls"});

  Seccomp out;
  if (absent(j, "defaultAction")) fail(root + ".defaultAction", "is required");
  out.default_action = get_string(j.at("defaultAction"), root + ".defaultAction");
  resolve_action(out.default_action, std::nullopt, root + ".defaultAction");
  if (!absent(j, "defaultErrnoRet")) {
    out.default_errno_ret = get_errno(j.at("defaultErrnoRet"), root + ".defaultErrnoRet");
    if (out.default_action != "SCMP_ACT_ERRNO") {
      fail(root + ".defaultErrnoRet", "is only supported with SCMP_ACT_ERRNO, not " + in_quotes(out.default_action));
    }
  }

  if (!absent(j, "architectures")) {
    const json& arches = get_array(j.at("architectures"), root + ".architectures");
    for (std::size_t i = 0; i < arches.size(); ++i) {
      std::string field = root + ".architectures[" + std::to_string(i) + "]";
      const std::string& name = get_string(arches[i], field);
      if (!arch_token(name)) fail(field, "unknown architecture " + in_quotes(name));
      out.architectures.push_back(name);
    }
  }
  if (!absent(j, "flags")) {
    const json& flags = get_array(j.at("flags"), root + ".flags");
    for (std::size_t i = 0; i < flags.size(); ++i) {
      std::string field = root + ".flags[" + std::to_string(i) + "]";
      check_flag(get_string(flags[i], field), field);
    }
  }
  if (!absent(j, "syscalls")) {
    const json& rules = get_array(j.at("syscalls"), root + ".syscalls");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      out.syscalls.push_back(parse_rule(rules[i], root + ".syscalls[" + std::to_string(i) + "]"));
    }
  }
  return out;
}

SeccompProgram compile_seccomp(const Seccomp& profile) {
  const std::string root = "linux.seccomp";
  const uint32_t default_action =
      resolve_action(profile.default_action, profile.default_errno_ret, root + ".defaultAction");

  Filter ctx(seccomp_init(default_action));
  if (!ctx) throw SpecError(root + ".defaultAction: libseccomp refused " + in_quotes(profile.default_action));

  std::vector<uint32_t> arches = {seccomp_arch_native()};
  for (std::size_t i = 0; i < profile.architectures.size(); ++i) {
    std::string field = root + ".architectures[" + std::to_string(i) + "]";
    const std::string& name = profile.architectures[i];
    std::optional<uint32_t> token = arch_token(name);
    if (!token) fail(field, "unknown architecture " + in_quotes(name));
    int rc = seccomp_arch_add(ctx.get(), *token);
    if (rc < 0 && rc != -EEXIST) fail(field, "libseccomp cannot add " + name + ": " + errno_text(-rc));
    if (std::find(arches.begin(), arches.end(), *token) == arches.end()) arches.push_back(*token);
  }

  SeccompProgram program;
  std::vector<std::string> known_names;
  for (std::size_t i = 0; i < profile.syscalls.size(); ++i) {
    const SeccompRule& rule = profile.syscalls[i];
    const std::string field = root + ".syscalls[" + std::to_string(i) + "]";
    const uint32_t action = resolve_action(rule.action, rule.errno_ret, field + ".action");
    if (rule.names.empty()) fail(field + ".names", "must not be empty");

    std::vector<scmp_arg_cmp> conditions;
    std::array<int, 6> per_index{};
    bool repeated = false;
    for (std::size_t a = 0; a < rule.args.size(); ++a) {
      const SeccompArg& arg = rule.args[a];
      const std::string arg_field = field + ".args[" + std::to_string(a) + "]";
      std::optional<scmp_compare> op = compare_op(arg.op);
      if (!op) fail(arg_field + ".op", "unknown operator " + in_quotes(arg.op));
      if (arg.index > 5) fail(arg_field + ".index", "must be 0..5, not " + std::to_string(arg.index));
      repeated = repeated || ++per_index[arg.index] > 1;
      conditions.push_back(scmp_arg_cmp{arg.index, *op, arg.value, arg.value_two});
    }

    for (const std::string& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        if (std::find(program.unknown_syscalls.begin(), program.unknown_syscalls.end(), name) ==
            program.unknown_syscalls.end()) {
          program.unknown_syscalls.push_back(name);
        }
        continue;
      }
      known_names.push_back(name);
      if (action == default_action) continue;  // libseccomp refuses these (EACCES); they change nothing

      auto add = [&](unsigned count, const scmp_arg_cmp* conds) {
        int rc = seccomp_rule_add_array(ctx.get(), action, nr, count, conds);
        if (rc < 0) fail(field, "libseccomp refused the rule for " + in_quotes(name) + ": " + errno_text(-rc));
      };
      if (conditions.empty()) {
        add(0, nullptr);
      } else if (repeated) {
        // libseccomp takes one condition per argument in a rule; runc turns
        // repeated indexes into one rule per condition (OR), and so do we.
        for (const auto& cond : conditions) add(1, &cond);
      } else {
        add(static_cast<unsigned>(conditions.size()), conditions.data());
      }
    }
  }

  std::vector<sock_filter> filter = export_bpf(ctx.get());

  const bool permissive = default_action == SCMP_ACT_ALLOW || default_action == SCMP_ACT_LOG ||
                          default_action == SCMP_ACT_ERRNO(ENOSYS);
  // The stub relies on libseccomp's program loading seccomp_data.arch first.
  const bool loads_arch_first = filter.front().code == (BPF_LD | BPF_W | BPF_ABS) &&
                                filter.front().k == offsetof(seccomp_data, arch);
  if (!permissive && loads_arch_first) {
    std::vector<StubArch> stub = stub_arches(arches, known_names);
    if (!stub.empty()) {
      std::vector<sock_filter> prefixed = enosys_stub(stub);
      prefixed.insert(prefixed.end(), filter.begin(), filter.end());
      filter = std::move(prefixed);
    }
  }
  if (filter.size() > BPF_MAXINSNS) {
    fail(root, "the compiled filter has " + std::to_string(filter.size()) + " instructions, more than the kernel's " +
                   std::to_string(BPF_MAXINSNS));
  }
  program.instructions = std::move(filter);
  return program;
}

int install_seccomp(const SeccompProgram& program) noexcept {
  const std::size_t count = program.instructions.size();
  if (count == 0 || count > BPF_MAXINSNS) return -EINVAL;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(count);
  prog.filter = const_cast<sock_filter*>(program.instructions.data());
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog) != 0) return -errno;
  return 0;
}

}  // namespace deckhand::runtime
