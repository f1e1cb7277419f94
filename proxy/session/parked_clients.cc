#include "proxy/session/parked_clients.h"

#include "common/log.h"
#include "common/uv/tcp_connection.h"

namespace slotgate::session {

ParkedClients::ParkedClients(SessionContext& context, std::function<void(std::unique_ptr<Session>)> resumed,
                             std::function<void()> gone)
    : ctx_(context), resumed_(std::move(resumed)), gone_(std::move(gone)),
      parking_(*context.loop, [this](uint64_t id) { wake(id); }) {}

ParkedClients::~ParkedClients() { closeAll(); }

bool ParkedClients::park(Session& session) {
  if (!parking_.usable()) return false;
  Parked parked;
  parked.idle_since_ms = session.lastActiveMs();
  parked.unix_socket = session.unixSocket();
  if (!session.park(parked.state, parked.fd)) return false;
  uint64_t id = parked.state.info->id;
  if (!parking_.park(parked.fd, id)) {
    // Cannot be watched: let it go rather than keep a socket no one reads.
    common::logger("session")->warn("client {} closed: its idle socket could not be parked",
                                    parked.state.info->addr);
    parking_.close(parked.fd);
    forget(id);
    return true;
  }
  clients_.emplace(id, std::move(parked));
  ctx_.stats->parked_clients.add();
  return true;
}

void ParkedClients::wake(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Parked parked = std::move(it->second);
  clients_.erase(it);
  ctx_.stats->parked_clients.sub();
  parking_.unpark(parked.fd);
  std::string peer = parked.state.info->addr;
  auto* conn =
      common::uv::TcpConnection::adopt(*ctx_.loop, parked.fd, parked.unix_socket, std::move(peer), nullptr);
  if (!conn) return forget(id);
  resumed_(std::make_unique<Session>(ctx_, conn, std::move(parked.state)));
}

void ParkedClients::kill(uint64_t id) {
  auto it = clients_.find(id);
  if (it != clients_.end()) close(it);
}

size_t ParkedClients::closeIdle(uint64_t now_ms, uint64_t idle_ms) {
  if (idle_ms == 0) return 0;
  size_t closed = 0;
  for (auto it = clients_.begin(); it != clients_.end();) {
    auto next = std::next(it);
    if (now_ms - it->second.idle_since_ms >= idle_ms) {
      close(it);
      ++closed;
    }
    it = next;
  }
  return closed;
}

void ParkedClients::closeAll() {
  while (!clients_.empty()) close(clients_.begin());
}

void ParkedClients::close(Map::iterator it) {
  uint64_t id = it->first;
  parking_.close(it->second.fd);
  clients_.erase(it);
  ctx_.stats->parked_clients.sub();
  forget(id);
}

void ParkedClients::forget(uint64_t id) {
  if (ctx_.clients) ctx_.clients->remove(id);
  ctx_.stats->connected_clients.sub();
  gone_();
}

}  // namespace slotgate::session
