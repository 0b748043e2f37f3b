#include "registry_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <thread>

#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

constexpr int kMaxRedirects = 10;  // containerd's limit

std::string host_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto end = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return url.substr(0, end);
}

std::string url_encode(const std::string& text) {
  char* escaped = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

// "code: message" of a distribution error body, or the start of the body.
std::string registry_message(const std::string& body) {
  const auto document = nlohmann::json::parse(body, nullptr, false);
  if (document.is_object() && document.contains("errors") && document["errors"].is_array()) {
    std::string out;
    for (const auto& error : document["errors"]) {
      if (!error.is_object()) continue;
      if (!out.empty()) out += "; ";
      out += error.value("code", std::string("ERROR")) + ": " + error.value("message", std::string(""));
    }
    if (!out.empty()) return out;
  }
  std::string text = body.substr(0, 200);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::string media_type_of(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(std::remove(type.begin(), type.end(), ' '), type.end());
  return type;
}

bool retryable(long status) { return status >= 500 || status == 429 || status == 408; }

}  // namespace

RegistryClient::RegistryClient(const RegistrySettings& settings, ImageReference reference)
    : settings_(settings), reference_(std::move(reference)) {
  const auto configured = settings_.hosts.find(reference_.registry);
  const RegistryHost host = configured == settings_.hosts.end() ? RegistryHost{} : configured->second;
  auto credentials_for = [&](const std::string& name) -> std::optional<Credentials> {
    if (name == reference_.registry && host.credentials) return host.credentials;
    if (const auto it = settings_.auth_file.find(name); it != settings_.auth_file.end()) return it->second;
    return std::nullopt;
  };
  auto plain = [&](const std::string& name) { return host.insecure || is_loopback_registry(name); };
  for (std::string mirror : host.mirrors) {
    while (!mirror.empty() && mirror.back() == '/') mirror.pop_back();
    Endpoint endpoint;
    const std::string name = host_of(mirror);
    endpoint.base = mirror.find("://") != std::string::npos ? mirror : (plain(name) ? "http://" : "https://") + mirror;
    endpoint.options.ca_file = host.ca_file;
    endpoint.credentials = credentials_for(name);
    endpoints_.push_back(endpoint);
  }
  Endpoint registry;
  registry.base = (plain(reference_.registry) ? "http://" : "https://") + reference_.api_host();
  registry.options.ca_file = host.ca_file;
  registry.credentials = credentials_for(reference_.registry);
  endpoints_.push_back(registry);
}

void RegistryClient::back_off(int attempt) const {
  auto delay = settings_.first_backoff * (1 << std::min(attempt, 10));
  delay = std::min<std::chrono::milliseconds>(delay, std::chrono::milliseconds(5000));
  std::this_thread::sleep_for(delay);
}

std::string RegistryClient::authorization_for(const std::string& host) {
  std::lock_guard<std::mutex> lock(auth_mutex_);
  const auto it = authorization_.find(host);
  return it == authorization_.end() ? "" : it->second;
}

void RegistryClient::authorise(HttpClient& http, const Endpoint& endpoint, const std::string& host,
                               const std::vector<AuthChallenge>& challenges, const std::string& url) {
  const std::string where = "pull " + reference_.string() + ": " + url;
  for (const AuthChallenge& challenge : challenges) {
    if (challenge.scheme == "bearer") {
      const auto realm = challenge.params.find("realm");
      if (realm == challenge.params.end() || realm->second.empty()) continue;
      std::string token_url = realm->second + (realm->second.find('?') == std::string::npos ? "?" : "&");
      if (const auto service = challenge.params.find("service"); service != challenge.params.end()) {
        token_url += "service=" + url_encode(service->second) + "&";
      }
      const auto scope = challenge.params.find("scope");
      token_url += "scope=" + url_encode(scope != challenge.params.end() ? scope->second
                                                                         : "repository:" + reference_.repository + ":pull");
      HttpHeaders headers;
      // Credentials go to the token service only as this registry's challenge names it.
      if (endpoint.credentials) headers.emplace_back("Authorization", basic_authorization(*endpoint.credentials));
      auto response = http.open(token_url, headers, endpoint.options);
      const std::string body = response->read_all(1 << 20);
      if (response->status() == 401 || response->status() == 403) {
        throw StorageError(Failure::permission, where + ": the token service " + host_of(token_url) + " refused " +
                                                    (endpoint.credentials ? "the credentials" : "an anonymous pull") +
                                                    " (" + std::to_string(response->status()) + ")");
      }
      const auto document = nlohmann::json::parse(body, nullptr, false);
      std::string token;
      if (document.is_object()) {
        if (document.contains("token") && document["token"].is_string()) token = document["token"];
        if (token.empty() && document.contains("access_token") && document["access_token"].is_string()) {
          token = document["access_token"];
        }
      }
      if (response->status() != 200 || token.empty()) {
        throw StorageError(Failure::permission, where + ": the token service " + host_of(token_url) + " answered " +
                                                    std::to_string(response->status()) + " without a token");
      }
      std::lock_guard<std::mutex> lock(auth_mutex_);
      authorization_[host] = "Bearer " + token;
      return;
    }
    if (challenge.scheme == "basic" && endpoint.credentials) {
      std::lock_guard<std::mutex> lock(auth_mutex_);
      authorization_[host] = basic_authorization(*endpoint.credentials);
      return;
    }
  }
  throw StorageError(Failure::permission, where + ": 401 unauthorized" +
                                              (endpoint.credentials ? "" : " (no credentials are configured for " +
                                                                               host_of(endpoint.base) + ")"));
}

std::unique_ptr<HttpResponse> RegistryClient::get_from(HttpClient& http, const Endpoint& endpoint,
                                                       const std::string& path, const HttpHeaders& headers) {
  std::string url = endpoint.base + "/v2/" + reference_.repository + "/" + path;
  bool authorised_here = false;
  int redirects = 0;
  for (int attempt = 0;;) {
    const std::string host = host_of(url);
    HttpHeaders request_headers = headers;
    // Credentials (a token or basic) only for the host they were issued for.
    if (const std::string authorization = authorization_for(host); !authorization.empty()) {
      request_headers.emplace_back("Authorization", authorization);
    }
    std::unique_ptr<HttpResponse> response;
    try {
      response = http.open(url, request_headers, endpoint.options);
    } catch (const StorageError& e) {
      if (e.kind() != Failure::unavailable || ++attempt >= settings_.attempts) throw;
      back_off(attempt);
      continue;
    }
    const long status = response->status();
    if (status >= 200 && status < 300) return response;
    if (status == 401 && !authorised_here) {
      const auto challenges = parse_www_authenticate(response->header("www-authenticate"));
      response.reset();
      authorise(http, endpoint, host, challenges, url);
      authorised_here = true;
      continue;
    }
    if (status >= 300 && status < 400 && !response->header("location").empty()) {
      if (++redirects > kMaxRedirects) {
        throw StorageError(Failure::unavailable, "pull " + reference_.string() + ": more than 10 redirects from " + url);
      }
      const std::string location = response->header("location");
      url = location.find("://") != std::string::npos ? location : origin_of(url) + (location.front() == '/' ? "" : "/") + location;
      authorised_here = false;
      continue;
    }
    const std::string message = registry_message(response->read_all(64 * 1024));
    if (retryable(status) && ++attempt < settings_.attempts) {
      back_off(attempt);
      continue;
    }
    const std::string what = "pull " + reference_.string() + ": " + url + ": " + std::to_string(status) +
                             (message.empty() ? "" : " " + message);
    if (status == 404) throw StorageError(Failure::not_found, what);
    if (status == 401 || status == 403) throw StorageError(Failure::permission, what);
    if (retryable(status)) throw StorageError(Failure::unavailable, what);
    throw StorageError(Failure::invalid, what);
  }
}

std::unique_ptr<HttpResponse> RegistryClient::get(HttpClient& http, const std::string& path,
                                                  const HttpHeaders& headers) {
  // Mirrors first; the registry's own answer is the one reported.
  for (std::size_t i = 0; i + 1 < endpoints_.size(); ++i) {
    try {
      return get_from(http, endpoints_[i], path, headers);
    } catch (const StorageError&) {
      // This mirror does not have it or cannot be reached: the next one.
    }
  }
  return get_from(http, endpoints_.back(), path, headers);
}

FetchedDocument RegistryClient::fetch_manifest(const std::string& tag_or_digest) {
  FetchedDocument document;
  std::string announced;
  // get() retries a connection that breaks before the headers; one that
  // breaks off in the body is retried here, from the start.
  for (int attempt = 0;;) {
    auto response = get(http_, "manifests/" + tag_or_digest, {{"Accept", manifest_accept_header()}});
    const int64_t length = response->content_length();
    if (length > static_cast<int64_t>(kMaxManifestBytes)) {
      throw StorageError(Failure::exhausted, "pull " + reference_.string() + ": the manifest is " +
                                                 std::to_string(length) + " bytes, more than the limit of " +
                                                 std::to_string(kMaxManifestBytes));
    }
    document.media_type = media_type_of(response->header("content-type"));
    announced = response->header("docker-content-digest");
    try {
      document.body = response->read_all(kMaxManifestBytes);
      break;
    } catch (const StorageError& e) {
      if (e.kind() != Failure::unavailable || ++attempt >= settings_.attempts) throw;
      back_off(attempt);
    }
  }
  const bool by_digest = tag_or_digest.find(':') != std::string::npos;
  const Digest expected = by_digest ? parse_digest(tag_or_digest) : (announced.empty() ? Digest{} : parse_digest(announced));
  document.digest = digest_of(document.body, expected.empty() ? "sha256" : expected.algorithm);
  if (!expected.empty() && document.digest != expected) {
    throw StorageError(Failure::corrupt, "pull " + reference_.string() + ": the manifest's digest is " +
                                             document.digest.string() + ", not " + expected.string() +
                                             (by_digest ? " as requested" : " as the registry announced"));
  }
  return document;
}

std::string RegistryClient::fetch_blob(const Descriptor& blob, std::size_t max_bytes) {
  if (blob.size > static_cast<int64_t>(max_bytes)) {
    throw StorageError(Failure::exhausted, "pull " + reference_.string() + ": blob " + blob.digest.string() + " is " +
                                               std::to_string(blob.size) + " bytes, more than the limit of " +
                                               std::to_string(max_bytes));
  }
  std::string body;
  for (int attempt = 0;;) {  // as in fetch_manifest: a body broken off is fetched again
    auto response = get(http_, "blobs/" + blob.digest.string(), {});
    try {
      body = response->read_all(max_bytes);
      break;
    } catch (const StorageError& e) {
      if (e.kind() != Failure::unavailable || ++attempt >= settings_.attempts) throw;
      back_off(attempt);
    }
  }
  if (static_cast<int64_t>(body.size()) != blob.size) {
    throw StorageError(Failure::corrupt, "pull " + reference_.string() + ": blob " + blob.digest.string() + " has " +
                                             std::to_string(body.size()) + " bytes, not " + std::to_string(blob.size));
  }
  if (digest_of(body, blob.digest.algorithm) != blob.digest) {
    throw StorageError(Failure::corrupt, "pull " + reference_.string() + ": blob " + blob.digest.string() +
                                             " does not match its digest");
  }
  return body;
}

std::unique_ptr<BlobStream> RegistryClient::open_blob(const Descriptor& blob) {
  return std::unique_ptr<BlobStream>(new BlobStream(*this, blob));
}

BlobStream::BlobStream(RegistryClient& client, Descriptor blob)
    : client_(client), blob_(std::move(blob)), hasher_(blob_.digest.algorithm) {}

void BlobStream::reopen() {
  response_.reset();
  HttpHeaders headers;
  if (received_ > 0) headers.emplace_back("Range", "bytes=" + std::to_string(received_) + "-");
  response_ = client_.get(http_, "blobs/" + blob_.digest.string(), headers);
  // 206: from where we stopped. 200: the server ignored Range; skip what we have.
  skip_ = response_->status() == 206 ? 0 : received_;
}

std::size_t BlobStream::read(char* buffer, std::size_t capacity) {
  const auto total = static_cast<uint64_t>(blob_.size);
  const std::string what = "pull " + client_.reference_.string() + ": blob " + blob_.digest.string();
  for (;;) {
    try {
      if (!response_) reopen();
      if (finished_) return 0;
      std::size_t n = response_->read(buffer, capacity);
      if (n == 0) {
        // A clean end (a broken connection throws instead): the registry
        // says this is the whole blob, and a retry would say it again.
        if (received_ < total) {
          throw StorageError(Failure::corrupt, what + " is truncated: the registry sent " + std::to_string(received_) +
                                                   " of its " + std::to_string(total) + " bytes");
        }
        finished_ = true;
        if (hasher_.finish() != blob_.digest) throw StorageError(Failure::corrupt, what + " does not match its digest");
        return 0;
      }
      if (skip_ > 0) {
        const std::size_t dropped = static_cast<std::size_t>(std::min<uint64_t>(skip_, n));
        std::memmove(buffer, buffer + dropped, n - dropped);
        skip_ -= dropped;
        n -= dropped;
        if (n == 0) continue;
      }
      if (received_ + n > total) {
        throw StorageError(Failure::corrupt, what + ": the registry sent more than its " + std::to_string(total) + " bytes");
      }
      received_ += n;
      hasher_.update(buffer, n);
      return n;
    } catch (const StorageError& e) {
      if (e.kind() != Failure::unavailable || ++failures_ >= client_.settings_.attempts) throw;
      response_.reset();
      client_.back_off(failures_);
    }
  }
}

}  // namespace deckhand::storage
