// HTTP(S) for the registry client, on libcurl. One HttpClient is used by one
// thread; it keeps its connections alive between requests (a curl multi
// handle's connection cache), so the token, manifest, config and blob
// requests of a pull share one TLS session per host. Responses are read as a
// stream, so a layer flows from the socket into the unpacker without being
// held in memory. Redirects are not followed here: the registry client
// follows them itself, to re-authorise each host (SECURITY-BASELINE 2.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace deckhand::storage {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpOptions {
  bool verify_tls = true;   // peer and host name against the system CAs (or ca_file)
  std::string ca_file;      // extra CA bundle (PEM) for a private registry
  long connect_timeout_ms = 10000;
  long stall_timeout_s = 30;  // give up when under 1 KiB/s for this long
};

class HttpClient;

// One response being read. Created by HttpClient::open, which returns once
// the status line and the headers have arrived.
class HttpResponse {
 public:
  ~HttpResponse();
  HttpResponse(const HttpResponse&) = delete;
  HttpResponse& operator=(const HttpResponse&) = delete;

  long status() const { return status_; }
  // The last value of a header (name in any case), or "".
  std::string header(const std::string& name) const;
  // -1 when the server did not say.
  int64_t content_length() const;

  // Up to `capacity` bytes of the body; 0 at its end. Throws
  // StorageError(unavailable) when the connection breaks or stalls.
  std::size_t read(char* buffer, std::size_t capacity);
  // The rest of the body, at most `max_bytes` (StorageError(exhausted) beyond).
  std::string read_all(std::size_t max_bytes);

 private:
  friend class HttpClient;
  struct Transfer;
  explicit HttpResponse(std::unique_ptr<Transfer> transfer);
  std::unique_ptr<Transfer> transfer_;
  long status_ = 0;
  std::map<std::string, std::string> headers_;  // lowercase names
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET (or HEAD) `url` with `headers`. Throws StorageError(unavailable) for
  // a connection that cannot be made (DNS, refused, TLS) naming the URL and
  // curl's reason.
  std::unique_ptr<HttpResponse> open(const std::string& url, const HttpHeaders& headers,
                                     const HttpOptions& options, const std::string& method = "GET");

 private:
  void* multi_;  // CURLM*
};

}  // namespace deckhand::storage
