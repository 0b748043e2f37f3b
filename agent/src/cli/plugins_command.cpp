// `deckhand plugins` lists the agent's plugins (like `ctr plugins ls`), and
// `deckhand plugins call NAME OPERATION [JSON|-]` calls one operation of one
// plugin through the agent: how vendors exercise a plugin on a live agent.
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/api_client.hpp"
#include "cli/commands.hpp"
#include "cli/table.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

const char* const kUsage = R"(List the agent's plugins, or call one of a plugin's operations.

Usage:
  deckhand plugins [-o wide|json]
  deckhand plugins call NAME OPERATION [JSON | -]

The call's request is a JSON object (default {}; - reads it from standard
input); its result is printed as JSON. Example:
  deckhand plugins call dirstore list_images)";

std::string health_column(const json& plugin) {
  if (!plugin.value("loaded", false)) return "failed";
  return plugin.value("healthy", false) ? "healthy" : "unhealthy";
}

int list(const ApiClient& client, const std::string& output) {
  const ApiResponse response = client.get("/v1/plugins");
  if (response.status != 200) return fail(ApiClient::error_message(response));
  const json body = json::parse(response.body);
  if (output == "json") {
    std::cout << body.dump(2) << "\n";
    return 0;
  }
  const bool wide = output == "wide";
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"NAME", "KIND", "VERSION", "ABI", "REQUIRED", "HEALTH", "PATH"};
  if (wide) header.push_back("MESSAGE");
  rows.push_back(header);
  for (const json& plugin : body["plugins"]) {
    std::vector<std::string> row = {plugin.value("name", ""),    plugin.value("kind", "-"),
                                    plugin.value("version", "-"), plugin.value("abi", "-"),
                                    plugin.value("required", true) ? "yes" : "no", health_column(plugin),
                                    plugin.value("path", "")};
    if (wide) row.push_back(plugin.value("loaded", false) ? plugin.value("health", "") : plugin.value("error", ""));
    rows.push_back(row);
  }
  print_table(std::cout, rows);
  return 0;
}

int call(const ApiClient& client, const std::vector<std::string>& words) {
  if (words.size() < 3 || words.size() > 4) {
    return fail("usage: deckhand plugins call NAME OPERATION [JSON | -]");
  }
  std::string request = words.size() == 4 ? words[3] : "{}";
  if (request == "-") request.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  const json parsed = json::parse(request, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return fail("the request must be a JSON object, got: " + request);
  const ApiResponse response = client.post("/v1/plugins/" + words[1] + "/" + words[2], parsed.dump());
  if (response.status != 200) return fail(ApiClient::error_message(response));
  const json result = json::parse(response.body, nullptr, false);
  std::cout << (result.is_discarded() ? response.body : result.dump(2)) << "\n";
  return 0;
}

}  // namespace

int plugins_command(const std::vector<std::string>& args) {
  po::options_description options("Options");
  std::string socket, output;
  std::vector<std::string> words;
  options.add_options()("output,o", po::value(&output), "output format: wide or json")(
      "socket", po::value(&socket), "the agent's API socket");
  po::variables_map values;
  if (int code = parse_command_words("plugins", kUsage, args, options, words, values); code >= 0) return code;
  if (!output.empty() && output != "wide" && output != "json") {
    return fail("unknown output format \"" + output + "\" (one of: wide, json)");
  }
  const ApiClient client(resolve_socket(socket));
  try {
    if (words.empty()) return list(client, output);
    if (words.front() == "call") return call(client, words);
    return fail("unknown plugins subcommand \"" + words.front() + "\" (did you mean: deckhand plugins call?)");
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace deckhand::cli
