#include "agent_fixture.hpp"

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace deckhand::test {
namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

std::string stage_prefix() { return DECKHAND_STAGE_PREFIX; }
std::string stage_deckhand() { return stage_prefix() + "/bin/deckhand"; }
std::string stage_plugin_dir() { return stage_prefix() + "/lib/deckhand/plugins"; }
std::string test_plugin_dir() { return DECKHAND_TEST_PLUGIN_DIR; }

CommandResult run_deckhand(const std::vector<std::string>& args, const std::string& input,
                           std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{stage_deckhand()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, input, timeout);
}

AgentUnderTest::AgentUnderTest(const std::string& plugins_yaml, const std::string& extra_yaml)
    : AgentUnderTest(AgentOptions{plugins_yaml, extra_yaml, "", false, "", true}) {}

AgentUnderTest::AgentUnderTest(AgentOptions options) : options_(std::move(options)) {
  if (access(stage_deckhand().c_str(), X_OK) != 0) {
    throw std::runtime_error(stage_deckhand() +
                             " is missing: install the build first (ctest runs stage.install, or "
                             "cmake --install <build> --prefix <build>/stage)");
  }
  port_ = free_port();
  socket_ = options_.socket.empty() ? dir_ / "run/deckhand.sock" : options_.socket;
  config_path_ = dir_ / "config.yaml";
  stdout_path_ = dir_ / "agent.stdout";
  stderr_path_ = dir_ / "agent.stderr";
  const std::string plugin_dir = options_.plugin_dir.empty() ? stage_plugin_dir() : options_.plugin_dir;

  std::ostringstream config;
  config << "listen: 127.0.0.1:" << port_ << "\n"
         << "socket: " << socket_ << "\n"
         << "state_dir: " << (dir_ / "state") << "\n";
  if (!options_.omit_plugin_dir) config << "plugin_dir: " << plugin_dir << "\n";
  config << replace_all(options_.extra_yaml, "@TMP@", dir_.path());
  if (!options_.extra_yaml.empty() && options_.extra_yaml.back() != '\n') config << "\n";
  if (options_.plugins_yaml.empty()) {
    config << "plugins: []\n";
  } else {
    config << "plugins:\n" << replace_all(options_.plugins_yaml, "@TMP@", dir_.path());
    if (options_.plugins_yaml.back() != '\n') config << "\n";
  }
  // Pods stay inside the test's directory unless the test says otherwise
  // (last, so the lines the tests' config errors name do not move).
  if (options_.extra_yaml.find("pods:") == std::string::npos) {
    config << "pods:\n  manifest_dir: " << (dir_ / "pods") << "\n  log_dir: " << (dir_ / "pod-logs") << "\n";
  }
  write_file(config_path_, config.str());
  if (options_.start) start();
}

AgentUnderTest::~AgentUnderTest() {
  if (child_ && child_->running()) child_->stop(std::chrono::seconds(5));
}

void AgentUnderTest::spawn() {
  if (child_ && child_->running()) throw std::logic_error("the agent was already started");
  child_.reset();  // a previous run that exited (stopped, or killed by the test): start again
  child_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{stage_deckhand(), "agent", "--config", config_path_}, stdout_path_, stderr_path_);
}

bool AgentUnderTest::start(std::chrono::milliseconds timeout) {
  spawn();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child_->running()) return serving_ = false;
    if (http_get(port_, "/healthz").status == 200) return serving_ = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return serving_ = false;
}

bool AgentUnderTest::running() { return child_ && child_->running(); }

std::optional<int> AgentUnderTest::wait_exit(std::chrono::milliseconds timeout) {
  if (!child_) return std::nullopt;
  return child_->wait(timeout);
}

int AgentUnderTest::stop(std::chrono::milliseconds timeout) {
  if (!child_) throw std::logic_error("the agent was never started");
  return child_->stop(timeout);
}

void AgentUnderTest::signal(int number) {
  if (child_) child_->signal(number);
}

int AgentUnderTest::pid() const { return child_ ? child_->pid() : -1; }

std::string AgentUnderTest::stdout_text() const { return read_file(stdout_path_); }
std::string AgentUnderTest::stderr_text() const { return read_file(stderr_path_); }

CommandResult AgentUnderTest::cli(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> full = args;
  full.push_back("--socket");
  full.push_back(socket_);
  return run_deckhand(full, input);
}

std::optional<std::string> metric_sample(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return line.substr(series.size() + 1);
    }
  }
  return std::nullopt;
}

std::vector<std::vector<std::string>> table_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string word; words >> word;) row.push_back(word);
    if (!row.empty()) rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace deckhand::test
