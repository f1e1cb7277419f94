#include "common/uv/unix_listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "common/uv/tcp_connection.h"

namespace slotgate::common::uv {
namespace {

std::string errnoText(int err) { return std::strerror(err); }

bool makeAddress(const std::string& path, sockaddr_un* addr) {
  *addr = sockaddr_un{};
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

}  // namespace

// A socket file nobody accepts on is what a crashed run leaves behind: connecting to it is refused.
int UnixSocketFile::replaceStale(std::string* error) {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return 0;
    *error = "unix socket " + path_ + ": " + errnoText(err);
    return -err;
  }
  if (!S_ISSOCK(st.st_mode)) {
    *error = "unix socket " + path_ + ": the path exists and is not a socket";
    return -EEXIST;
  }
  sockaddr_un addr;
  makeAddress(path_, &addr);
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    *error = "socket: " + errnoText(errno);
    return -errno;
  }
  int rc = ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  ::close(probe);
  if (rc == 0) {
    *error = "unix socket " + path_ + ": in use by a running process";
    return -EADDRINUSE;
  }
  if (err != ECONNREFUSED) {
    *error = "unix socket " + path_ + ": cannot tell whether it is in use: " + errnoText(err);
    return -err;
  }
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    *error = "unix socket " + path_ + ": cannot remove the stale socket file: " + errnoText(errno);
    return -errno;
  }
  logger("proxy")->info("unix socket {}: replaced a stale socket file (nothing was listening on it)", path_);
  return 0;
}

int UnixSocketFile::open(const std::string& path, unsigned mode, int backlog, std::string* error) {
  remove();
  path_ = path;
  sockaddr_un addr;
  if (!makeAddress(path_, &addr)) {
    *error = "unix socket " + path_ + ": the path is empty or longer than " +
             std::to_string(sizeof(addr.sun_path) - 1) + " bytes";
    path_.clear();
    return -ENAMETOOLONG;
  }
  int rc = replaceStale(error);
  if (rc != 0) {
    path_.clear();
    return rc;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = "socket: " + errnoText(errno);
    path_.clear();
    return -errno;
  }
  struct stat st {};
  const char* step = "bind";
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(fd);
    *error = "unix socket " + path_ + ": bind: " + errnoText(err);
    path_.clear();  // not ours: never removed
    return -err;
  }
  // From here the file is ours: record it first, so any failure below removes it.
  fd_ = fd;
  owned_ = true;
  if (::stat(path_.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  if (::chmod(path_.c_str(), static_cast<mode_t>(mode)) != 0) {
    step = "chmod";
  } else if (::listen(fd, backlog) != 0) {
    step = "listen";
  } else {
    return 0;
  }
  int err = errno;
  *error = "unix socket " + path_ + ": " + step + ": " + errnoText(err);
  remove();
  return -err;
}

void UnixSocketFile::closeDescriptor() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void UnixSocketFile::remove() {
  closeDescriptor();
  if (!owned_) return;
  owned_ = false;
  // Only the file this process made: another instance may have replaced it since.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
  path_.clear();
}

UnixListener::UnixListener(EventLoop& loop) : loop_(loop) {}

UnixListener::~UnixListener() { close(); }

int UnixListener::listen(const UnixSocketFile& socket, int backlog, AcceptFn on_accept, std::string* error) {
  close();
  on_accept_ = std::move(on_accept);
  int fd = ::fcntl(socket.fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    *error = "unix socket " + socket.path() + ": dup: " + errnoText(errno);
    return -errno;
  }
  pipe_ = new uv_pipe_t;
  uv_pipe_init(loop_.raw(), pipe_, 0);
  pipe_->data = this;
  int rc = uv_pipe_open(pipe_, fd);
  if (rc != 0) ::close(fd);  // not adopted
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(pipe_), backlog, &UnixListener::onConnection);
  if (rc != 0) {
    *error = "unix socket " + socket.path() + ": listen: " + uv_strerror(rc);
    close();
  }
  return rc;
}

void UnixListener::close() {
  if (!pipe_) return;
  pipe_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(pipe_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_pipe_t*>(handle); });
  pipe_ = nullptr;
}

void UnixListener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<UnixListener*>(server->data);
  if (!self) return;
  if (status < 0) {
    // Out of descriptors: libuv already turned the pending clients away; say so once.
    if (!self->failing_) logger("proxy")->warn("unix socket: accept failed: {}", uv_strerror(status));
    self->failing_ = true;
    return;
  }
  // Several loops watch the same socket: another may have taken this client already.
  TcpConnection* conn = TcpConnection::accept(self->loop_, server, nullptr);
  if (!conn) return;
  self->failing_ = false;
  self->on_accept_(conn);
}

}  // namespace slotgate::common::uv
