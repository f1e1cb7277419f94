// A unix-domain socket clients connect to, served by every worker loop (Redis's unixsocket).
//
// UnixSocketFile binds the path once for the whole process: a socket file left by a crashed run
// (nobody accepts on it) is replaced; a path a live process serves, or a file that is not a socket,
// is an error. It sets the file's mode and removes the file when destroyed (only if the file is
// still the one it made). Each worker's UnixListener watches a duplicate of that descriptor in its
// own loop; the kernel gives each new client to one of them. Once every worker has its duplicate,
// closeDescriptor() lets the workers' closing (drain) refuse new clients, as for the TCP port.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include <uv.h>

namespace slotgate::common::uv {

class EventLoop;
class TcpConnection;

class UnixSocketFile {
 public:
  UnixSocketFile() = default;
  ~UnixSocketFile() { remove(); }
  UnixSocketFile(const UnixSocketFile&) = delete;
  UnixSocketFile& operator=(const UnixSocketFile&) = delete;

  // Binds and listens on `path` with file mode `mode`. Returns 0 or a negative errno; `error` then
  // says what failed.
  int open(const std::string& path, unsigned mode, int backlog, std::string* error);
  bool isOpen() const { return fd_ >= 0; }
  // The workers hold their own duplicates now: the file stays (removed by remove()).
  void closeDescriptor();
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Closes the socket and removes its file. Idempotent.
  void remove();

 private:
  int replaceStale(std::string* error);

  std::string path_;
  int fd_ = -1;
  bool owned_ = false;  // the file at path_ is the one bind() made
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

class UnixListener {
 public:
  // Each accepted client, with no handler yet: the callee sets one and calls startReading().
  using AcceptFn = std::function<void(TcpConnection*)>;

  explicit UnixListener(EventLoop& loop);
  ~UnixListener();
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  // Starts accepting on `socket` (open) in this loop. 0 or a libuv error code with `error` set.
  int listen(const UnixSocketFile& socket, int backlog, AcceptFn on_accept, std::string* error);
  void close();

 private:
  static void onConnection(uv_stream_t* server, int status);

  EventLoop& loop_;
  uv_pipe_t* pipe_ = nullptr;  // freed in its close callback
  AcceptFn on_accept_;
  bool failing_ = false;  // in an episode of failed accepts (logged once)
};

}  // namespace slotgate::common::uv
