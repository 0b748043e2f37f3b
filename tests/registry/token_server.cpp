#include "token_server.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace deckhand::test {

struct TokenServer::Keys {
  EVP_PKEY* key = nullptr;
  X509* certificate = nullptr;
  ~Keys() {
    X509_free(certificate);
    EVP_PKEY_free(key);
  }
};

namespace {

[[noreturn]] void openssl_failed(const std::string& what) { throw std::runtime_error("token server: " + what + " failed"); }

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64url(const std::string& data) {
  std::string out = base64(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string base64_decode(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0) return "";
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return "";
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

void add_extension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_nconf_nid(nullptr, &context, nid, value);
  if (extension == nullptr || X509_add_ext(certificate, extension, -1) != 1) openssl_failed("adding a certificate extension");
  X509_EXTENSION_free(extension);
}

std::string rfc3339(std::time_t when) {
  char text[32];
  std::tm parts{};
  ::gmtime_r(&when, &parts);
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// "repository:team/app:pull,push" -> the access claim entry.
nlohmann::json access_for(const std::string& scope) {
  const auto first = scope.find(':');
  const auto last = scope.rfind(':');
  if (first == std::string::npos || last == first) return nullptr;
  nlohmann::json actions = nlohmann::json::array();
  std::stringstream list(scope.substr(last + 1));
  for (std::string action; std::getline(list, action, ',');) {
    if (!action.empty()) actions.push_back(action);
  }
  return {{"type", scope.substr(0, first)}, {"name", scope.substr(first + 1, last - first - 1)}, {"actions", actions}};
}

}  // namespace

TokenServer::TokenServer(Options options)
    : options_(std::move(options)),
      keys_(std::make_unique<Keys>()),
      server_([this](const HttpRequest& request) { return handle(request); }) {
  keys_->key = EVP_RSA_gen(2048);
  if (keys_->key == nullptr) openssl_failed("RSA key generation");
  X509* certificate = keys_->certificate = X509_new();
  if (certificate == nullptr) openssl_failed("X509_new");
  X509_set_version(certificate, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 24 * 3600);
  X509_set_pubkey(certificate, keys_->key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("deckhand test token signer"), -1, -1, 0);
  X509_set_issuer_name(certificate, name);
  add_extension(certificate, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(certificate, NID_key_usage, "critical,digitalSignature,keyCertSign");
  if (X509_sign(certificate, keys_->key, EVP_sha256()) == 0) openssl_failed("certificate signing");

  unsigned char* der = nullptr;
  const int der_size = i2d_X509(certificate, &der);
  if (der_size <= 0) openssl_failed("i2d_X509");
  certificate_der_base64_ = base64(der, static_cast<std::size_t>(der_size));
  OPENSSL_free(der);

  BIO* file = BIO_new_file((dir_ / "rootcertbundle.pem").c_str(), "w");
  if (file == nullptr || PEM_write_bio_X509(file, certificate) != 1) {
    BIO_free(file);
    openssl_failed("writing the rootcertbundle");
  }
  BIO_free(file);
}

TokenServer::~TokenServer() = default;

RegistryTokenAuth TokenServer::registry_auth() const {
  return {server_.url() + "/token", options_.service, options_.issuer, dir_ / "rootcertbundle.pem"};
}

std::vector<TokenRequestSeen> TokenServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_;
}

std::string TokenServer::sign(const std::string& subject, const std::vector<std::string>& scopes) {
  const std::time_t now = std::time(nullptr);
  nlohmann::json access = nlohmann::json::array();
  for (const std::string& scope : scopes) {
    if (auto entry = access_for(scope); !entry.is_null()) access.push_back(entry);
  }
  std::size_t serial;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    serial = ++issued_;
  }
  const nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {certificate_der_base64_}}};
  const nlohmann::json claims = {{"iss", options_.issuer},
                                 {"sub", subject},
                                 {"aud", options_.service},
                                 {"exp", now + 300},
                                 {"nbf", now - 10},
                                 {"iat", now},
                                 {"jti", "deckhand-test-" + std::to_string(serial)},
                                 {"access", access}};
  const std::string signing_input = base64url(header.dump()) + "." + base64url(claims.dump());

  EVP_MD_CTX* context = EVP_MD_CTX_new();
  std::size_t size = 0;
  std::string signature;
  const bool ok = context != nullptr &&
                  EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, keys_->key) == 1 &&
                  EVP_DigestSign(context, nullptr, &size, reinterpret_cast<const unsigned char*>(signing_input.data()),
                                 signing_input.size()) == 1 &&
                  (signature.resize(size), true) &&
                  EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &size,
                                 reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  EVP_MD_CTX_free(context);
  if (!ok) openssl_failed("signing the token");
  signature.resize(size);
  return signing_input + "." + base64url(signature);
}

HttpReply TokenServer::handle(const HttpRequest& request) {
  if (request.path != "/token" || (request.method != "GET" && request.method != "HEAD")) {
    return HttpReply::json(404, R"({"errors":[{"code":"NOT_FOUND","message":"only GET /token here"}]})");
  }
  TokenRequestSeen seen;
  seen.service = request.query_value("service");
  seen.user_agent = request.header("user-agent");
  for (const std::string& value : request.query_values("scope")) {
    std::stringstream words(value);
    for (std::string scope; words >> scope;) seen.scopes.push_back(scope);
  }
  std::string password;
  const std::string authorization = request.header("authorization");
  if (authorization.rfind("Basic ", 0) == 0) {
    const std::string pair = base64_decode(authorization.substr(6));
    const auto colon = pair.find(':');
    if (colon != std::string::npos) {
      seen.user = pair.substr(0, colon);
      password = pair.substr(colon + 1);
    }
  }
  bool allowed = options_.users.empty();
  for (const auto& [user, secret] : options_.users) {
    if (!seen.user.empty() && seen.user == user && password == secret) allowed = true;
  }
  HttpReply reply;
  if (!allowed) {
    seen.status = 401;
    reply = HttpReply::json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
    reply.headers.emplace_back("WWW-Authenticate", "Basic realm=\"deckhand test token service\"");
  } else {
    seen.status = 200;
    const std::string token = sign(seen.user, seen.scopes);
    const nlohmann::json body = {{"token", token},
                                 {"access_token", token},
                                 {"expires_in", 300},
                                 {"issued_at", rfc3339(std::time(nullptr))}};
    reply = HttpReply::json(200, body.dump());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  seen_.push_back(seen);
  return reply;
}

}  // namespace deckhand::test
