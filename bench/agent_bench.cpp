// deckhand-bench-agent: benchmarks the deckhand agent daemon.
//
//   1. start -> ready: time from just before fork() to the first 200 on /readyz,
//      over N fresh starts (each in its own temp dir, stopped with SIGTERM and
//      checked for a clean exit);
//   2. idle memory: VmRSS, VmHWM (/proc/PID/status) and Pss (smaps_rollup) of
//      an agent left idle for a second after it became ready;
//   3. /metrics scrape latency over one keep-alive connection and over a fresh
//      connection per scrape.
//
// Prints a table and one machine-readable line starting with "BENCH_JSON ".
// Exit status: 0 when everything ran (goals met or not), 1 when the agent
// failed to start or stop cleanly or something else went wrong, 2 on a usage
// error. Only processes this program forked are ever signalled, by PID; all
// traffic goes to 127.0.0.1.

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench_util.hpp"
#include "http_probe.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using bench::Clock;
using bench::fmt_num;
using bench::kNaN;
using bench::ms_between;
using bench::ms_since;
using bench::Summary;

// Goals (see bench/README.md).
constexpr double kGoalStartReadyMs = 50.0;    // median start -> /readyz 200
constexpr double kGoalIdleRssMib = 15.0;      // VmRSS when idle
constexpr double kGoalScrapeMedianMs = 1.0;   // median keep-alive /metrics scrape

constexpr auto kReadyTimeout = 10s;
constexpr auto kStopTimeout = 10s;
constexpr auto kPollInterval = 200us;
constexpr int kScrapeTimeoutMs = 5000;
constexpr int kMaxScrapeErrors = 10;
constexpr const char* kPluginName = "dirstore";
constexpr const char* kPluginFile = "libdeckhand-dirstore.so";

int g_default_timer_slack = 50'000;  // restored in the agent's process

struct Fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Interrupted {};

void check_interrupted() {
  if (bench::g_interrupted) throw Interrupted{};
}

// ---------------------------------------------------------------- options

struct Options {
  std::string agent;
  std::string plugin_dir;
  std::string log_level = "warn";
  int starts = 20;
  int scrapes = 1000;
  int warmup = 50;
  int idle_ms = 1000;
  bool quick = false;
};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: deckhand-bench-agent --agent PATH [options]\n"
               "\n"
               "  --agent PATH        the deckhand binary (e.g. PREFIX/bin/deckhand); required\n"
               "  --plugin-dir DIR    plugin directory for the generated config\n"
               "                      (default: dirname(agent)/../lib/deckhand/plugins)\n"
               "  --starts N          agent starts to time (default 20)\n"
               "  --scrapes N         keep-alive /metrics scrapes to time (default 1000);\n"
               "                      N/10 more are timed over fresh connections\n"
               "  --warmup N          untimed keep-alive scrapes first (default 50)\n"
               "  --idle-ms MS        idle time before reading memory (default 1000)\n"
               "  --log-level LEVEL   agent log level in the config (default warn)\n"
               "  --quick             smoke run: 3 starts, 100 scrapes (explicit flags win)\n"
               "  -h, --help          this help\n"
               "\n"
               "Exit status: 0 ran (goals met or not), 1 agent/benchmark failure, 2 usage.\n");
}

bool parse_count(std::string_view s, int& out) {
  int v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return false;
  out = v;
  return true;
}

// Returns 0 to run, or an exit status (help: 0 after printing -> -1 marker).
int parse_options(int argc, char** argv, Options& o) {
  std::optional<int> starts, scrapes;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (arg.rfind("--", 0) == 0) {
      if (const auto eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg.resize(eq);
        has_value = true;
      }
    }
    auto need = [&](const char* name) -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) {
        std::fprintf(stderr, "deckhand-bench-agent: %s needs a value\n", name);
        return false;
      }
      value = argv[++i];
      return true;
    };
    auto count = [&](const char* name, int& dst) -> bool {
      if (!need(name)) return false;
      if (!parse_count(value, dst)) {
        std::fprintf(stderr, "deckhand-bench-agent: %s wants a non-negative integer, got '%s'\n",
                     name, value.c_str());
        return false;
      }
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return -1;
    } else if (arg == "--agent") {
      if (!need("--agent")) return 2;
      o.agent = value;
    } else if (arg == "--plugin-dir") {
      if (!need("--plugin-dir")) return 2;
      o.plugin_dir = value;
    } else if (arg == "--log-level") {
      if (!need("--log-level")) return 2;
      o.log_level = value;
    } else if (arg == "--starts") {
      int v;
      if (!count("--starts", v)) return 2;
      starts = v;
    } else if (arg == "--scrapes") {
      int v;
      if (!count("--scrapes", v)) return 2;
      scrapes = v;
    } else if (arg == "--warmup") {
      if (!count("--warmup", o.warmup)) return 2;
    } else if (arg == "--idle-ms") {
      if (!count("--idle-ms", o.idle_ms)) return 2;
    } else if (arg == "--quick") {
      if (has_value) {
        std::fprintf(stderr, "deckhand-bench-agent: --quick takes no value\n");
        return 2;
      }
      o.quick = true;
    } else {
      std::fprintf(stderr, "deckhand-bench-agent: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (o.quick) {
    o.starts = 3;
    o.scrapes = 100;
  }
  if (starts) o.starts = *starts;
  if (scrapes) o.scrapes = *scrapes;
  if (o.agent.empty()) {
    std::fprintf(stderr, "deckhand-bench-agent: --agent PATH is required\n");
    usage(stderr);
    return 2;
  }
  return 0;
}

// ---------------------------------------------------------------- helpers

std::string errno_str(int e) { return std::strerror(e); }

std::string describe_status(int st) {
  char buf[128];
  if (WIFEXITED(st)) {
    std::snprintf(buf, sizeof buf, "exited with status %d", WEXITSTATUS(st));
  } else if (WIFSIGNALED(st)) {
    std::snprintf(buf, sizeof buf, "killed by signal %d (%s)%s", WTERMSIG(st),
                  strsignal(WTERMSIG(st)), WCOREDUMP(st) ? ", core dumped" : "");
  } else {
    std::snprintf(buf, sizeof buf, "wait status 0x%x", st);
  }
  return buf;
}

// The last max_lines lines of a file, each prefixed for stderr.
std::string tail_file(const std::string& path, std::size_t max_lines) {
  std::ifstream in(path);
  if (!in) return "  | (no log: " + path + ")\n";
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > max_lines) lines.erase(lines.begin());
  }
  if (lines.empty()) return "  | (agent wrote nothing to stderr)\n";
  std::string out;
  for (const auto& l : lines) out += "  | " + l.substr(0, 400) + "\n";
  return out;
}

// A port the kernel says is free on 127.0.0.1 (bind port 0, read it, close).
std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Fatal("socket: " + errno_str(errno));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) {
    const int e = errno;
    ::close(fd);
    throw Fatal("picking a free port: " + errno_str(e));
  }
  ::close(fd);
  return ntohs(sa.sin_port);
}

// A YAML scalar: plain when it is obviously safe, double-quoted otherwise.
std::string yaml_scalar(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '.' || c == '_' || c == '-' || c == '+';
    if (!ok) plain = false;
  }
  if (plain && s.front() != '-') return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

// ---------------------------------------------------------------- temp dir

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/deckhand-bench.XXXXXX";
    if (!::mkdtemp(tmpl)) throw Fatal("mkdtemp: " + errno_str(errno));
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (ec)
      std::fprintf(stderr, "deckhand-bench-agent: warning: could not remove %s: %s\n",
                   path_.c_str(), ec.message().c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------- agent

struct ReadyTimes {
  double listen_ms = kNaN;  // first successful TCP connect (port listening)
  double ready_ms = kNaN;   // first 200 on /readyz
  int probes = 0;
};

struct StopResult {
  double exit_ms = kNaN;  // SIGTERM -> reaped (NaN when it had to be killed)
  bool clean = false;     // exited with status 0
  std::string how;        // e.g. "exited with status 0"
};

struct MemInfo {
  double vmrss_mib = kNaN;
  double vmhwm_mib = kNaN;
  double pss_mib = kNaN;
  double rss_anon_mib = kNaN;
  double rss_file_mib = kNaN;
  long threads = -1;
};

// Value in kB of "Key:   1234 kB" lines of a /proc file, as MiB.
void read_kb_fields(const std::string& path,
                    const std::vector<std::pair<std::string_view, double*>>& fields,
                    long* threads = nullptr) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string_view key(line.data(), colon);
    const char* p = line.data() + colon + 1;
    const char* e = line.data() + line.size();
    while (p < e && (*p == ' ' || *p == '\t')) ++p;
    if (threads && key == "Threads") {
      std::from_chars(p, e, *threads);
      continue;
    }
    for (const auto& [k, dst] : fields) {
      if (key != k) continue;
      long long kb = 0;
      if (std::from_chars(p, e, kb).ec == std::errc()) *dst = static_cast<double>(kb) / 1024.0;
    }
  }
}

MemInfo read_mem(pid_t pid) {
  MemInfo m;
  const std::string base = "/proc/" + std::to_string(pid);
  read_kb_fields(base + "/status",
                 {{"VmRSS", &m.vmrss_mib},
                  {"VmHWM", &m.vmhwm_mib},
                  {"RssAnon", &m.rss_anon_mib},
                  {"RssFile", &m.rss_file_mib}},
                 &m.threads);
  read_kb_fields(base + "/smaps_rollup", {{"Pss", &m.pss_mib}});
  return m;
}

// One agent process with its generated config, in a caller-owned directory.
// The destructor stops it (SIGTERM, then SIGKILL) if it is still running.
class Agent {
 public:
  Agent(const Options& o, const std::string& dir)
      : agent_(o.agent), dir_(dir), config_(dir + "/config.yaml"), log_(dir + "/agent.log") {
    port_ = pick_free_port();
    // The plugin's root exists up front, as it would on an installed system.
    if (::mkdir((dir + "/rootfs").c_str(), 0700) < 0)
      throw Fatal("mkdir " + dir + "/rootfs: " + errno_str(errno));
    std::ofstream f(config_);
    f << "# generated by deckhand-bench-agent\n"
      << "listen: 127.0.0.1:" << port_ << "\n"
      << "socket: " << yaml_scalar(dir + "/deckhand.sock") << "\n"
      << "state_dir: " << yaml_scalar(dir + "/state") << "\n"
      << "log:\n"
      << "  level: " << yaml_scalar(o.log_level) << "\n"
      << "plugin_dir: " << yaml_scalar(o.plugin_dir) << "\n"
      << "plugins:\n"
      << "  - name: " << kPluginName << "\n"
      << "    path: " << kPluginFile << "\n"
      << "    required: true\n"
      << "    config:\n"
      << "      root: " << yaml_scalar(dir + "/rootfs") << "\n";
    f.close();
    if (!f) throw Fatal("writing " + config_ + " failed");
  }

  ~Agent() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + 3s;
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      bench::nap(1ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }

  // Forks and execs "<agent> agent --config FILE", stdout/stderr to agent.log.
  void spawn() {
    const int logfd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (logfd < 0) throw Fatal("open " + log_ + ": " + errno_str(errno));
    const int nullfd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) {
      const int e = errno;
      ::close(logfd);
      throw Fatal("open /dev/null: " + errno_str(e));
    }
    std::string a0 = agent_, a1 = "agent", a2 = "--config", a3 = config_;
    char* const argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), nullptr};
    const pid_t parent = ::getpid();
    const int slack = g_default_timer_slack;

    t_fork_ = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Child: die with the benchmark, undo its timer slack, exec.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(slack));
      ::dup2(nullfd, STDIN_FILENO);
      ::dup2(logfd, STDOUT_FILENO);
      ::dup2(logfd, STDERR_FILENO);
      ::execv(argv[0], argv);
      const char msg[] = "deckhand-bench-agent: exec of the agent failed\n";
      if (::write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
      }
      ::_exit(127);
    }
    const int e = errno;
    ::close(logfd);
    ::close(nullfd);
    if (pid < 0) throw Fatal("fork: " + errno_str(e));
    pid_ = pid;
  }

  // Reaps the agent if it has exited; returns its wait status then.
  std::optional<int> try_reap() {
    if (pid_ <= 0) return std::nullopt;
    int st = 0;
    const pid_t w = ::waitpid(pid_, &st, WNOHANG);
    if (w == pid_) {
      pid_ = -1;
      return st;
    }
    return std::nullopt;
  }

  [[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "\ndeckhand-bench-agent: %s\n  agent log (%s):\n%s", what.c_str(),
                 log_.c_str(), tail_file(log_, 20).c_str());
    throw Fatal(what);
  }

  // Polls /readyz over a fresh connection every ~200 us until it answers 200.
  ReadyTimes wait_ready() {
    ReadyTimes rt;
    const auto deadline = t_fork_ + kReadyTimeout;
    std::string last = "no connection yet";
    bench::HttpResponse resp;
    std::string err;
    for (;;) {
      check_interrupted();
      if (const auto st = try_reap())
        fail("agent " + describe_status(*st) + " before /readyz answered 200 (last probe: " +
             last + ")");
      const auto now = Clock::now();
      if (now >= deadline)
        fail("agent did not answer 200 on /readyz within " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kReadyTimeout).count()) +
             " s (last probe: " + last + ")");
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
      bench::HttpClient c(port_, static_cast<int>(std::clamp<long long>(left, 1, 1000)));
      ++rt.probes;
      if (const int e = c.open(); e == 0) {
        if (std::isnan(rt.listen_ms)) rt.listen_ms = ms_since(t_fork_);
        err.clear();
        if (c.get("/readyz", resp, err, /*close_conn=*/true)) {
          if (resp.status == 200) {
            rt.ready_ms = ms_since(t_fork_);
            return rt;
          }
          std::string body = resp.body.substr(0, 120);
          for (char& ch : body)
            if (ch == '\n' || ch == '\r') ch = ' ';
          last = "HTTP " + std::to_string(resp.status) + " " + body;
        } else {
          last = err;
        }
      } else {
        last = "connect: " + errno_str(e);
      }
      bench::nap(kPollInterval);
    }
  }

  // SIGTERM, then wait (up to 10 s, then SIGKILL) and report how it exited.
  StopResult stop() {
    StopResult r;
    if (pid_ <= 0) {
      r.how = "not running";
      return r;
    }
    const auto t0 = Clock::now();
    if (::kill(pid_, SIGTERM) < 0) throw Fatal("kill(" + std::to_string(pid_) + "): " + errno_str(errno));
    for (;;) {
      int st = 0;
      const pid_t w = ::waitpid(pid_, &st, WNOHANG);
      if (w == pid_) {
        r.exit_ms = ms_since(t0);
        pid_ = -1;
        r.clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        r.how = describe_status(st);
        return r;
      }
      if (w < 0 && errno != EINTR) throw Fatal("waitpid: " + errno_str(errno));
      if (Clock::now() - t0 > kStopTimeout) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        pid_ = -1;
        r.how = "did not exit within 10 s of SIGTERM (killed)";
        return r;
      }
      bench::nap(kPollInterval);
    }
  }

  void print_log_tail() const {
    std::fprintf(stderr, "  agent log (%s):\n%s", log_.c_str(), tail_file(log_, 20).c_str());
  }

 private:
  std::string agent_, dir_, config_, log_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  Clock::time_point t_fork_{};
};

// ---------------------------------------------------------------- results

struct ScrapeRow {
  std::vector<double> ms;
  int errors = 0;
  int non_200 = 0;
  int reconnects = 0;
  Summary s;
};

struct Results {
  // phase 1
  int starts_planned = 0;
  int starts_done = 0;
  int unclean_exits = 0;
  std::vector<double> ready_ms, listen_ms, stop_ms;
  double first_ready_ms = kNaN;
  double avg_probes = kNaN;
  Summary ready, listen, stop;
  // phase 2
  bool have_mem = false;
  MemInfo idle, after;
  // phase 3
  ScrapeRow keep, fresh;
  std::size_t body_min = 0, body_max = 0, body_last = 0;
  bool have_body = false;

  std::vector<std::string> errors;
  std::vector<std::string> warnings;  // figures still valid, but read them with care
  bool interrupted = false;
};

// ---------------------------------------------------------------- phases

void phase_starts(const Options& o, Results& r) {
  r.starts_planned = o.starts;
  long long probes = 0;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  if (!tty && o.starts > 0) std::fprintf(stderr, "[bench] %d agent starts\n", o.starts);
  for (int i = 0; i < o.starts; ++i) {
    check_interrupted();
    if (tty) {
      std::fprintf(stderr, "\r[bench] start %d/%d ", i + 1, o.starts);
      std::fflush(stderr);
    }
    TempDir dir;
    Agent agent(o, dir.path());
    agent.spawn();
    const ReadyTimes rt = agent.wait_ready();
    r.ready_ms.push_back(rt.ready_ms);
    r.listen_ms.push_back(rt.listen_ms);
    if (i == 0) r.first_ready_ms = rt.ready_ms;
    probes += rt.probes;
    const StopResult sr = agent.stop();
    if (!std::isnan(sr.exit_ms)) r.stop_ms.push_back(sr.exit_ms);
    ++r.starts_done;
    if (!sr.clean) {
      ++r.unclean_exits;
      std::fprintf(stderr, "\ndeckhand-bench-agent: start %d: agent %s after SIGTERM\n", i + 1,
                   sr.how.c_str());
      agent.print_log_tail();
      r.errors.push_back("start " + std::to_string(i + 1) + ": agent " + sr.how +
                         " after SIGTERM");
    }
  }
  if (tty && o.starts > 0) std::fprintf(stderr, "\n");
  r.ready = bench::summarize(r.ready_ms);
  r.listen = bench::summarize(r.listen_ms);
  r.stop = bench::summarize(r.stop_ms);
  if (r.starts_done > 0) r.avg_probes = static_cast<double>(probes) / r.starts_done;
}

void scrape_keepalive(const Options& o, Agent& agent, Results& r) {
  bench::HttpClient c(agent.port(), kScrapeTimeoutMs);
  bench::HttpResponse resp;
  std::string err;
  const int total = o.warmup + o.scrapes;
  r.keep.ms.reserve(static_cast<std::size_t>(o.scrapes));
  std::string last_err;
  bool first = true;
  for (int i = 0; i < total; ++i) {
    check_interrupted();
    const bool timed = i >= o.warmup;
    if (!c.is_open() && !first && timed) ++r.keep.reconnects;
    first = false;
    err.clear();
    const auto t0 = Clock::now();
    const bool ok = c.get("/metrics", resp, err);
    const auto t1 = Clock::now();
    if (!ok) {
      ++r.keep.errors;
      last_err = err;
      if (r.keep.errors > kMaxScrapeErrors) break;
      continue;
    }
    if (resp.status != 200) {
      ++r.keep.non_200;
      continue;
    }
    if (!timed) continue;
    r.keep.ms.push_back(ms_between(t0, t1));
    const std::size_t n = resp.body.size();
    if (!r.have_body) {
      r.body_min = r.body_max = n;
      r.have_body = true;
    }
    r.body_min = std::min(r.body_min, n);
    r.body_max = std::max(r.body_max, n);
    r.body_last = n;
  }
  if (r.keep.errors > 0)
    r.errors.push_back("keep-alive /metrics: " + std::to_string(r.keep.errors) +
                       " failed requests (last: " + last_err + ")");
  if (r.keep.non_200 > 0)
    r.errors.push_back("keep-alive /metrics: " + std::to_string(r.keep.non_200) +
                       " answers were not 200 (last: HTTP " + std::to_string(resp.status) + ")");
  if (r.keep.reconnects > 0)
    r.warnings.push_back("the agent closed the keep-alive connection " +
                         std::to_string(r.keep.reconnects) + " times during " +
                         std::to_string(o.scrapes) +
                         " timed scrapes; the keep-alive row includes those reconnects");
  r.keep.s = bench::summarize(r.keep.ms);
}

void scrape_fresh(const Options& o, Agent& agent, Results& r) {
  const int n = o.scrapes > 0 ? std::max(1, o.scrapes / 10) : 0;
  bench::HttpResponse resp;
  std::string err, last_err;
  int last_status = 0;
  for (int i = 0; i < n; ++i) {
    check_interrupted();
    bench::HttpClient c(agent.port(), kScrapeTimeoutMs);
    err.clear();
    const auto t0 = Clock::now();  // includes connect
    const bool ok = c.get("/metrics", resp, err, /*close_conn=*/true);
    const auto t1 = Clock::now();
    if (!ok) {
      ++r.fresh.errors;
      last_err = err;
      if (r.fresh.errors > kMaxScrapeErrors) break;
      continue;
    }
    if (resp.status != 200) {
      ++r.fresh.non_200;
      last_status = resp.status;
      continue;
    }
    r.fresh.ms.push_back(ms_between(t0, t1));
  }
  if (r.fresh.errors > 0)
    r.errors.push_back("fresh-connection /metrics: " + std::to_string(r.fresh.errors) +
                       " failed requests (last: " + last_err + ")");
  if (r.fresh.non_200 > 0)
    r.errors.push_back("fresh-connection /metrics: " + std::to_string(r.fresh.non_200) +
                       " answers were not 200 (last: HTTP " + std::to_string(last_status) + ")");
  r.fresh.s = bench::summarize(r.fresh.ms);
}

// One long-lived agent: idle memory, then scrapes, then a clean stop.
void phase_idle_and_scrape(const Options& o, Results& r) {
  std::fprintf(stderr, "[bench] idle memory and /metrics scrapes\n");
  TempDir dir;
  Agent agent(o, dir.path());
  agent.spawn();
  agent.wait_ready();
  const auto until = Clock::now() + std::chrono::milliseconds(o.idle_ms);
  while (Clock::now() < until) {
    check_interrupted();
    if (const auto st = agent.try_reap())
      agent.fail("agent " + describe_status(*st) + " while idle");
    bench::nap(std::min<std::chrono::nanoseconds>(10ms, until - Clock::now()));
  }
  r.idle = read_mem(agent.pid());
  r.have_mem = !std::isnan(r.idle.vmrss_mib);
  if (!r.have_mem) r.errors.push_back("could not read VmRSS of the agent");

  if (o.scrapes > 0) {
    scrape_keepalive(o, agent, r);
    scrape_fresh(o, agent, r);
    r.after = read_mem(agent.pid());
  }
  if (const auto st = agent.try_reap())
    agent.fail("agent " + describe_status(*st) + " during the scrapes");
  const StopResult sr = agent.stop();
  if (!sr.clean) {
    std::fprintf(stderr, "deckhand-bench-agent: long-lived agent %s after SIGTERM\n", sr.how.c_str());
    agent.print_log_tail();
    r.errors.push_back("long-lived agent " + sr.how + " after SIGTERM");
  }
}

// ---------------------------------------------------------------- report

struct HostInfo {
  long cpus = 0;
  std::string kernel;
  std::string loadavg;
};

HostInfo host_info() {
  HostInfo h;
  h.cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  utsname u{};
  if (::uname(&u) == 0) h.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::ifstream la("/proc/loadavg");
  std::string a, b, c;
  if (la >> a >> b >> c) h.loadavg = a + " " + b + " " + c;
  return h;
}

struct Goal {
  const char* key;
  const char* label;
  double limit;
  double value;
  const char* unit;
};

const char* verdict(const Goal& g) {
  if (std::isnan(g.value)) return "n/a";
  return g.value < g.limit ? "met" : "NOT met";
}

std::vector<Goal> goals(const Results& r) {
  return {
      {"start_ready_median_ms", "start -> /readyz 200, median", kGoalStartReadyMs, r.ready.median, "ms"},
      {"idle_vmrss_mib", "idle VmRSS", kGoalIdleRssMib, r.have_mem ? r.idle.vmrss_mib : kNaN, "MiB"},
      {"scrape_median_ms", "/metrics scrape (keep-alive), median", kGoalScrapeMedianMs,
       r.keep.s.median, "ms"},
  };
}

void print_report(const Options& o, const HostInfo& h, const Results& r) {
  const auto g = goals(r);
  std::printf("\ndeckhand agent benchmark\n");
  std::printf("  agent       %s\n", o.agent.c_str());
  std::printf("  plugin dir  %s\n", o.plugin_dir.c_str());
  std::printf("  host        %ld CPUs, %s, load %s\n", h.cpus, h.kernel.c_str(), h.loadavg.c_str());
  std::printf("  runs        %d starts, %d scrapes (+%d warm-up), %d fresh-connection scrapes%s\n",
              o.starts, o.scrapes, o.warmup, o.scrapes > 0 ? std::max(1, o.scrapes / 10) : 0,
              o.quick ? "  [--quick]" : "");
  std::printf("  (noisy machine: medians lead; p90/p99/max show the tail)\n");

  std::printf("\n1. Start to ready (fork -> first 200 on /readyz), %d/%d starts\n", r.starts_done,
              r.starts_planned);
  std::printf("  %-28s %9s %9s %9s %9s   %s\n", "ms", "median", "p90", "min", "max", "goal");
  auto row = [](const char* name, const Summary& s, const std::string& goal) {
    std::printf("  %-28s %9s %9s %9s %9s   %s\n", name, fmt_num(s.median, 2).c_str(),
                fmt_num(s.p90, 2).c_str(), fmt_num(s.min, 2).c_str(), fmt_num(s.max, 2).c_str(),
                goal.c_str());
  };
  row("start -> /readyz 200", r.ready,
      "< " + fmt_num(kGoalStartReadyMs, 0) + " ms   " + verdict(g[0]));
  row("start -> port listening", r.listen, "(info)");
  row("SIGTERM -> exit", r.stop, "(info)");
  std::printf("  first start %s ms (page cache may be cold); %.1f /readyz probes per start; "
              "clean exits %d/%d\n",
              fmt_num(r.first_ready_ms, 2).c_str(), std::isnan(r.avg_probes) ? 0.0 : r.avg_probes,
              r.starts_done - r.unclean_exits, r.starts_done);

  std::printf("\n2. Idle memory (%d ms after ready)\n", o.idle_ms);
  std::printf("  %-28s %9s %9s   %s\n", "MiB", "idle", "after", "goal");
  auto mrow = [&](const char* name, double idle, double after, const std::string& goal) {
    std::printf("  %-28s %9s %9s   %s\n", name, fmt_num(idle, 2).c_str(), fmt_num(after, 2).c_str(),
                goal.c_str());
  };
  mrow("VmRSS", r.idle.vmrss_mib, r.after.vmrss_mib,
       "< " + fmt_num(kGoalIdleRssMib, 0) + " MiB  " + verdict(g[1]));
  mrow("VmHWM (peak RSS)", r.idle.vmhwm_mib, r.after.vmhwm_mib, "(info)");
  mrow("Pss (smaps_rollup)", r.idle.pss_mib, r.after.pss_mib, "(info)");
  mrow("RssAnon", r.idle.rss_anon_mib, r.after.rss_anon_mib, "(info)");
  mrow("RssFile", r.idle.rss_file_mib, r.after.rss_file_mib, "(info)");
  std::printf("  threads %ld; \"after\" = after the scrapes below\n", r.idle.threads);

  std::printf("\n3. /metrics scrape latency\n");
  std::printf("  %-22s %6s %9s %9s %9s %9s   %s\n", "ms", "n", "median", "p90", "p99", "max", "goal");
  auto srow = [](const char* name, const ScrapeRow& s, const std::string& goal) {
    std::printf("  %-22s %6zu %9s %9s %9s %9s   %s\n", name, s.s.n, fmt_num(s.s.median, 3).c_str(),
                fmt_num(s.s.p90, 3).c_str(), fmt_num(s.s.p99, 3).c_str(),
                fmt_num(s.s.max, 3).c_str(), goal.c_str());
  };
  srow("keep-alive connection", r.keep, "median < " + fmt_num(kGoalScrapeMedianMs, 0) + " ms  " + verdict(g[2]));
  srow("fresh connection each", r.fresh, "(info; includes connect)");
  if (r.have_body) {
    if (r.body_min == r.body_max)
      std::printf("  body %zu bytes", r.body_last);
    else
      std::printf("  body %zu bytes (varied %zu..%zu)", r.body_last, r.body_min, r.body_max);
  } else {
    std::printf("  body -");
  }
  std::printf("; keep-alive reconnects %d; failed requests %d; non-200 %d\n", r.keep.reconnects,
              r.keep.errors + r.fresh.errors, r.keep.non_200 + r.fresh.non_200);

  std::printf("\nGoals\n");
  int met = 0;
  for (const auto& goal : g) {
    if (std::string_view(verdict(goal)) == "met") ++met;
    std::printf("  %-40s %10s %-3s  (goal < %s %s)  %s\n", goal.label,
                fmt_num(goal.value, goal.unit[0] == 'M' ? 2 : 3).c_str(), goal.unit,
                fmt_num(goal.limit, 0).c_str(), goal.unit, verdict(goal));
  }
  std::printf("  %d/%zu goals met\n", met, g.size());
  if (r.interrupted) std::printf("\nINTERRUPTED: figures are partial\n");
  if (!r.warnings.empty()) {
    std::printf("\nWarnings\n");
    for (const auto& w : r.warnings) std::printf("  - %s\n", w.c_str());
  }
  if (!r.errors.empty()) {
    std::printf("\nErrors\n");
    for (const auto& e : r.errors) std::printf("  - %s\n", e.c_str());
  }
}

void json_summary(bench::Json& j, const Summary& s, bool with_p99) {
  j.begin_object();
  j.key("n").integer(static_cast<long long>(s.n));
  j.key("median").num(s.median);
  j.key("p90").num(s.p90);
  if (with_p99) j.key("p99").num(s.p99);
  j.key("min").num(s.min);
  j.key("max").num(s.max);
  j.key("mean").num(s.mean);
  j.end_object();
}

void json_mem(bench::Json& j, const MemInfo& m) {
  j.begin_object();
  j.key("vmrss_mib").num(m.vmrss_mib);
  j.key("vmhwm_mib").num(m.vmhwm_mib);
  j.key("pss_mib").num(m.pss_mib);
  j.key("rss_anon_mib").num(m.rss_anon_mib);
  j.key("rss_file_mib").num(m.rss_file_mib);
  if (m.threads >= 0) j.key("threads").integer(m.threads); else j.key("threads").null();
  j.end_object();
}

void print_json(const Options& o, const HostInfo& h, const Results& r) {
  bench::Json j;
  j.begin_object();
  j.key("schema").integer(1);
  j.key("tool").str("deckhand-bench-agent");
  j.key("agent").str(o.agent);
  j.key("plugin_dir").str(o.plugin_dir);
  j.key("host").begin_object();
  j.key("cpus").integer(h.cpus);
  j.key("kernel").str(h.kernel);
  j.key("loadavg").str(h.loadavg);
  j.end_object();
  j.key("params").begin_object();
  j.key("starts").integer(o.starts);
  j.key("scrapes").integer(o.scrapes);
  j.key("warmup").integer(o.warmup);
  j.key("fresh_scrapes").integer(o.scrapes > 0 ? std::max(1, o.scrapes / 10) : 0);
  j.key("idle_ms").integer(o.idle_ms);
  j.key("quick").boolean(o.quick);
  j.end_object();

  j.key("start").begin_object();
  j.key("planned").integer(r.starts_planned);
  j.key("done").integer(r.starts_done);
  j.key("unclean_exits").integer(r.unclean_exits);
  j.key("first_ready_ms").num(r.first_ready_ms);
  j.key("ready_ms");
  json_summary(j, r.ready, false);
  j.key("listen_ms");
  json_summary(j, r.listen, false);
  j.key("stop_ms");
  json_summary(j, r.stop, false);
  j.end_object();

  j.key("memory").begin_object();
  j.key("idle");
  if (r.have_mem) json_mem(j, r.idle); else j.null();
  j.key("after_scrapes");
  if (!std::isnan(r.after.vmrss_mib)) json_mem(j, r.after); else j.null();
  j.end_object();

  j.key("scrape").begin_object();
  for (const auto* which : {"keepalive", "fresh"}) {
    const ScrapeRow& s = std::string_view(which) == "keepalive" ? r.keep : r.fresh;
    j.key(which).begin_object();
    j.key("ms");
    json_summary(j, s.s, true);
    j.key("errors").integer(s.errors);
    j.key("non_200").integer(s.non_200);
    j.key("reconnects").integer(s.reconnects);
    j.end_object();
  }
  if (r.have_body) {
    j.key("body_bytes").integer(static_cast<long long>(r.body_last));
    j.key("body_bytes_min").integer(static_cast<long long>(r.body_min));
    j.key("body_bytes_max").integer(static_cast<long long>(r.body_max));
  } else {
    j.key("body_bytes").null();
  }
  j.end_object();

  j.key("goals").begin_object();
  int met = 0;
  const auto g = goals(r);
  for (const auto& goal : g) {
    const std::string_view v = verdict(goal);
    if (v == "met") ++met;
    j.key(goal.key).begin_object();
    j.key("limit").num(goal.limit, 1);
    j.key("value").num(goal.value);
    j.key("unit").str(goal.unit);
    if (v == "n/a") j.key("met").null(); else j.key("met").boolean(v == "met");
    j.end_object();
  }
  j.end_object();
  j.key("goals_met").integer(met);
  j.key("goals_total").integer(static_cast<long long>(g.size()));
  j.key("interrupted").boolean(r.interrupted);
  j.key("warnings").begin_array();
  for (const auto& w : r.warnings) j.str(w);
  j.end_array();
  j.key("errors").begin_array();
  for (const auto& e : r.errors) j.str(e);
  j.end_array();
  j.key("ok").boolean(r.errors.empty() && !r.interrupted);
  j.end_object();
  std::printf("\nBENCH_JSON %s\n", j.text().c_str());
}

void on_signal(int sig) { bench::g_interrupted = sig; }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR so loops notice
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &sa, nullptr);
}

// Resolves paths and checks the agent and plugin exist before any timing.
void validate(Options& o) {
  std::error_code ec;
  const fs::path agent = fs::absolute(o.agent, ec).lexically_normal();
  if (ec) throw Fatal("bad --agent path " + o.agent + ": " + ec.message());
  o.agent = agent.string();
  if (!fs::is_regular_file(agent, ec) || ::access(o.agent.c_str(), X_OK) != 0)
    throw Fatal("agent " + o.agent + " is not an executable file");
  fs::path plugins = o.plugin_dir.empty() ? agent.parent_path() / ".." / "lib" / "deckhand" / "plugins"
                                          : fs::absolute(o.plugin_dir, ec);
  o.plugin_dir = plugins.lexically_normal().string();
  if (o.plugin_dir.size() > 1 && o.plugin_dir.back() == '/') o.plugin_dir.pop_back();
  if (!fs::is_directory(o.plugin_dir, ec))
    throw Fatal("plugin dir " + o.plugin_dir + " does not exist (use --plugin-dir)");
  if (!fs::exists(fs::path(o.plugin_dir) / kPluginFile, ec))
    throw Fatal("plugin dir " + o.plugin_dir + " has no " + kPluginFile + " (use --plugin-dir)");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int rc = parse_options(argc, argv, o); rc != 0) return rc < 0 ? 0 : rc;

  // Line-buffer the report so it interleaves sensibly with progress on stderr.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  install_signal_handlers();
  // Sleep precisely in the poll loops; the agent gets the default slack back.
  if (const int slack = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0); slack > 0) g_default_timer_slack = slack;
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  const HostInfo h = host_info();
  Results r;
  try {
    validate(o);
    phase_starts(o, r);
    phase_idle_and_scrape(o, r);
  } catch (const Fatal& e) {
    r.errors.push_back(e.what());
  } catch (const Interrupted&) {
    r.interrupted = true;
    std::fprintf(stderr, "\ndeckhand-bench-agent: interrupted (signal %d); agent stopped, temp dirs removed\n",
                 static_cast<int>(bench::g_interrupted));
  } catch (const std::exception& e) {
    r.errors.push_back(std::string("unexpected error: ") + e.what());
  }
  // Summaries of whatever was collected before an early stop.
  if (r.ready.n == 0 && !r.ready_ms.empty()) {
    r.ready = bench::summarize(r.ready_ms);
    r.listen = bench::summarize(r.listen_ms);
    r.stop = bench::summarize(r.stop_ms);
  }
  if (r.keep.s.n == 0 && !r.keep.ms.empty()) r.keep.s = bench::summarize(r.keep.ms);
  if (r.fresh.s.n == 0 && !r.fresh.ms.empty()) r.fresh.s = bench::summarize(r.fresh.ms);
  print_report(o, h, r);
  print_json(o, h, r);
  if (r.interrupted) return 128 + static_cast<int>(bench::g_interrupted);
  return r.errors.empty() ? 0 : 1;
}
