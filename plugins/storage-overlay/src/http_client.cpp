#include "http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

// A fast producer pauses above this much unread body; the reader resumes it.
constexpr std::size_t kPauseAbove = 8u << 20;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

struct HttpResponse::Transfer {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::string url;
  std::string body;          // received, not yet read
  std::size_t offset = 0;    // read up to here
  bool headers_done = false;
  bool done = false;
  bool paused = false;
  CURLcode result = CURLE_OK;
  long status = 0;
  std::map<std::string, std::string> headers;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy != nullptr) {
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
    }
    curl_slist_free_all(header_list);
  }

  std::size_t unread() const { return body.size() - offset; }

  // Runs the transfer until `ready()` holds or it ends.
  template <typename Ready>
  void run_until(Ready ready) {
    while (!ready() && !done) {
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
        if (message->msg == CURLMSG_DONE && message->easy_handle == easy) {
          done = true;
          result = message->data.result;
          headers_done = true;
        }
      }
      if (ready() || done) break;
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }

  [[noreturn]] void fail() const {
    const std::string reason = error[0] != '\0' ? error : curl_easy_strerror(result);
    throw StorageError(Failure::unavailable, "GET " + url + ": " + reason);
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self) {
    auto* transfer = static_cast<Transfer*>(self);
    const std::string line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new status line: an interim 1xx, or the final response.
      transfer->headers.clear();
      const auto space = line.find(' ');
      transfer->status = space == std::string::npos ? 0 : std::strtol(line.c_str() + space + 1, nullptr, 10);
    } else if (trim(line).empty()) {
      if (transfer->status >= 200) transfer->headers_done = true;
    } else if (const auto colon = line.find(':'); colon != std::string::npos) {
      transfer->headers[lowercase(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
    return size * count;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) {
    auto* transfer = static_cast<Transfer*>(self);
    if (transfer->unread() > kPauseAbove) {
      transfer->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (transfer->offset > 0 && transfer->offset == transfer->body.size()) {
      transfer->body.clear();
      transfer->offset = 0;
    }
    transfer->body.append(data, size * count);
    return size * count;
  }
};

HttpResponse::HttpResponse(std::unique_ptr<Transfer> transfer) : transfer_(std::move(transfer)) {
  status_ = transfer_->status;
  headers_ = transfer_->headers;
}

HttpResponse::~HttpResponse() = default;

std::string HttpResponse::header(const std::string& name) const {
  const auto it = headers_.find(lowercase(name));
  return it == headers_.end() ? "" : it->second;
}

int64_t HttpResponse::content_length() const {
  const std::string text = header("content-length");
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 18) return -1;
  return std::stoll(text);
}

std::size_t HttpResponse::read(char* buffer, std::size_t capacity) {
  Transfer& t = *transfer_;
  t.run_until([&] { return t.unread() > 0; });
  if (t.unread() == 0) {
    if (t.result != CURLE_OK) t.fail();
    return 0;
  }
  const std::size_t n = std::min(capacity, t.unread());
  std::memcpy(buffer, t.body.data() + t.offset, n);
  t.offset += n;
  if (t.offset == t.body.size()) {
    t.body.clear();
    t.offset = 0;
  }
  if (t.paused && t.unread() < kPauseAbove / 2) {
    t.paused = false;
    curl_easy_pause(t.easy, CURLPAUSE_CONT);
  }
  return n;
}

std::string HttpResponse::read_all(std::size_t max_bytes) {
  std::string out;
  char buffer[64 * 1024];
  for (;;) {
    const std::size_t n = read(buffer, sizeof buffer);
    if (n == 0) return out;
    if (out.size() + n > max_bytes) {
      throw StorageError(Failure::exhausted, "GET " + transfer_->url + ": the response is larger than " +
                                                 std::to_string(max_bytes) + " bytes");
    }
    out.append(buffer, n);
  }
}

HttpClient::HttpClient() {
  static std::once_flag initialised;
  std::call_once(initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw StorageError(Failure::internal, "cannot start libcurl");
}

HttpClient::~HttpClient() { curl_multi_cleanup(static_cast<CURLM*>(multi_)); }

std::unique_ptr<HttpResponse> HttpClient::open(const std::string& url, const HttpHeaders& headers,
                                               const HttpOptions& options, const std::string& method) {
  auto transfer = std::make_unique<HttpResponse::Transfer>();
  transfer->multi = static_cast<CURLM*>(multi_);
  transfer->url = url;
  transfer->easy = curl_easy_init();
  if (transfer->easy == nullptr) throw StorageError(Failure::internal, "cannot start a libcurl request");
  CURL* easy = transfer->easy;
  for (const auto& [name, value] : headers) {
    transfer->header_list = curl_slist_append(transfer->header_list, (name + ": " + value).c_str());
  }
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "deckhand/0.1");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->header_list);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_s);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &HttpResponse::Transfer::on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &HttpResponse::Transfer::on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  if (method == "HEAD") curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  if (curl_multi_add_handle(transfer->multi, easy) != CURLM_OK) {
    throw StorageError(Failure::internal, "cannot start a libcurl request for " + url);
  }
  HttpResponse::Transfer& t = *transfer;
  t.run_until([&] { return t.headers_done; });
  if (t.done && t.result != CURLE_OK) t.fail();
  return std::unique_ptr<HttpResponse>(new HttpResponse(std::move(transfer)));
}

}  // namespace deckhand::storage
