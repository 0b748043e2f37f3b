#include "daemon/local_socket.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "util/paths.hpp"

namespace deckhand {

void prepare_socket_path(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!std::filesystem::exists(dir)) make_private_dir(dir, 0700);
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return;  // nothing there
  if (!S_ISSOCK(st.st_mode)) throw std::runtime_error(path + " exists and is not a socket; not replacing it");
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  const bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(probe);
  if (live) throw std::runtime_error("another agent is already serving " + path);
  if (::unlink(path.c_str()) != 0) throw std::runtime_error("remove stale socket " + path + ": " + std::strerror(errno));
  spdlog::info("removed stale socket path={}", path);
}

void restrict_socket_file(const std::string& path) {
  if (::chmod(path.c_str(), 0600) != 0) throw std::runtime_error("chmod " + path + ": " + std::strerror(errno));
}

bool peer_is_trusted(boost::asio::local::stream_protocol::socket& socket) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return false;
  if (credentials.uid == 0 || credentials.uid == geteuid()) return true;
  spdlog::warn("local API connection refused pid={} uid={}", credentials.pid, credentials.uid);
  return false;
}

}  // namespace deckhand
