// `deckhand version`: the client's build, and the running agent's if reachable
// (kubectl's shape: "Client Version: ..." then "Server Version: ...").
#include <deckhand/plugin.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "cli/api_client.hpp"
#include "cli/commands.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;
using nlohmann::json;

int version_command(const std::vector<std::string>& args) {
  po::options_description options("Options");
  std::string socket, output;
  options.add_options()("client", "print only the client's version, do not contact the agent")(
      "output,o", po::value(&output), "output format: json")("socket", po::value(&socket),
                                                               "the agent's API socket");
  po::variables_map values;
  if (int code = parse_command_line("version", "Print the client and agent versions.\n\nUsage:\n  deckhand version "
                                    "[--client] [-o json] [--socket PATH]",
                                    args, options, {}, values);
      code >= 0) {
    return code;
  }
  if (!output.empty() && output != "json") return fail("unknown output format \"" + output + "\" (only: json)");

  json client = {{"version", build::kVersion},
                 {"gitCommit", build::kGitCommit},
                 {"buildType", build::kBuildType},
                 {"compiler", build::kCompiler},
                 {"abi", std::to_string(DH_ABI_MAJOR) + "." + std::to_string(DH_ABI_MINOR)},
                 {"fingerprint", DH_BUILD_FINGERPRINT}};
  json server;
  std::string server_error;
  if (!values.count("client")) {
    try {
      const auto response = ApiClient(resolve_socket(socket), std::chrono::seconds(10)).get("/v1/version");
      if (response.status == 200) {
        server = json::parse(response.body);
      } else {
        server_error = ApiClient::error_message(response);
      }
    } catch (const std::exception& e) {
      server_error = e.what();
    }
  }
  if (output == "json") {
    json body = {{"clientVersion", client}};
    if (!server.is_null()) body["serverVersion"] = server;
    std::cout << body.dump(2) << "\n";
  } else {
    std::cout << "Client Version: " << build::kVersion << " (commit " << build::kGitCommit << ", "
              << build::kBuildType << ", " << build::kCompiler << ")\n";
    std::cout << "Plugin ABI: " << client["abi"].get<std::string>() << " (" << DH_BUILD_FINGERPRINT << ")\n";
    if (!server.is_null()) {
      std::cout << "Server Version: " << server.value("version", "?") << " (commit " << server.value("gitCommit", "?")
                << ")\n";
      std::cout << "Server Plugin ABI: " << server.value("abi", "?") << "\n";
    }
  }
  if (!server_error.empty()) return fail(server_error);
  return 0;
}

}  // namespace deckhand::cli
