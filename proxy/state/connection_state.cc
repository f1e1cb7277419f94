#include "proxy/state/connection_state.h"

#include <algorithm>

#include "common/ascii.h"
#include "common/digest.h"
#include "common/log.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"
#include "proxy/resp/writer.h"
#include "proxy/route/plan.h"

namespace slotgate::state {

ConnectionState::ConnectionState(const ClientEnv& env, common::Clock& clock, ClientPort& port,
                                 std::shared_ptr<request::ReplyLink> link, std::shared_ptr<ClientInfo> info)
    : env_(env), clock_(clock), port_(port), link_(std::move(link)), info_(std::move(info)),
      authenticated_(env.users.empty()) {}

bool ConnectionState::checkAccess(const Call& call) {
  const command::CommandSpec& spec = *call.spec;
  std::string_view name = spec.name;
  std::span<const std::string_view> argv_ = call.argv;
  if (!authenticated_) {
    if (spec.proxy_flags & command::kProxyNoAuth) return true;
    replyNow(resp::err::kNoAuth);
    return false;
  }
  if (!user_) return true;
  bool denied = false;
  if (user_->permission != config::Permission::kAdmin) {
    denied = (spec.proxy_flags & command::kProxyAdminOnly) != 0;
  }
  if (user_->permission == config::Permission::kReadOnly && (spec.flags & command::kFlagWrite)) denied = true;
  if (denied) {
    replyNow(resp::errorReply(fmt::runtime(resp::err::kNoPermCommand), std::string(name)));
    return false;
  }
  if (!user_->key_prefixes.empty()) {
    for (uint32_t position : call.key_positions) {
      std::string_view key = argv_[position];
      bool ok = std::any_of(user_->key_prefixes.begin(), user_->key_prefixes.end(),
                            [&](const std::string& prefix) { return key.starts_with(prefix); });
      if (!ok) {
        replyNow(resp::err::kNoPermKeys);
        return false;
      }
    }
  }
  return true;
}

// ---- AUTH, HELLO, RESET, CLIENT ------------------------------------------------------------

bool ConnectionState::loggedIn(const config::User* user, std::string_view password) {
  if (!user) return false;
  return common::constantTimeEqual(common::sha256(password), user->password_sha256);
}

void ConnectionState::auth(const Call& call) {
  std::span<const std::string_view> argv_ = call.argv;
  if (argv_.size() > 3) return replyNow(resp::err::kSyntax);
  std::string_view name = argv_.size() == 3 ? argv_[1] : "default";
  std::string_view password = argv_.back();
  if (env_.users.empty()) {
    if (argv_.size() == 2) return replyNow(resp::err::kAuthNoPassword);
    return replyNow(name == "default" ? "+OK\r\n" : resp::err::kWrongPass);
  }
  std::shared_ptr<const config::User> found;
  for (const auto& user : env_.users) {
    if (user->name == name) found = user;
  }
  // Hash even for an unknown user, so timing does not tell which users exist.
  bool ok = found ? loggedIn(found.get(), password) : (common::sha256(password), false);
  if (!ok) {
    common::logger("session")->warn("client {}: failed AUTH for user '{}'", info_->addr, name);
    return replyNow(resp::err::kWrongPass);
  }
  authenticated_ = true;
  user_ = found;
  env_.clients->withLock([&] { info_->user = found->name; });
  replyNow("+OK\r\n");
}

void ConnectionState::hello(const Call& call) {
  std::span<const std::string_view> argv_ = call.argv;
  int64_t proto = proto_;
  size_t i = 1;
  if (argv_.size() >= 2) {
    if (!resp::parseInt(argv_[1], &proto)) return replyNow(resp::err::kProtoNotInteger);
    if (proto < 2 || proto > 3) return replyNow(resp::err::kNoProto);
    i = 2;
  }
  std::shared_ptr<const config::User> login;
  bool has_auth = false;
  std::string_view setname;
  bool has_setname = false;
  for (; i < argv_.size(); ++i) {
    std::string option = common::toLower(argv_[i]);
    if (option == "auth" && i + 2 < argv_.size()) {
      has_auth = true;
      std::string_view user = argv_[i + 1], password = argv_[i + 2];
      i += 2;
      if (env_.users.empty()) {
        if (user != "default") return replyNow(resp::err::kWrongPass);
        continue;
      }
      for (const auto& u : env_.users) {
        if (u->name == user) login = u;
      }
      if (!login || !loggedIn(login.get(), password)) return replyNow(resp::err::kWrongPass);
    } else if (option == "setname" && i + 1 < argv_.size()) {
      setname = argv_[++i];
      has_setname = true;
      for (char c : setname) {
        if (c < '!' || c > '~') return replyNow(resp::err::kClientName);
      }
    } else {
      return replyNow(
          resp::errorReply(fmt::runtime("ERR Syntax error in HELLO option '{}'"), std::string(argv_[i])));
    }
  }
  if (!has_auth && !authenticated_) return replyNow(resp::err::kHelloNoAuth);
  if (login) {
    authenticated_ = true;
    user_ = login;
    env_.clients->withLock([&] { info_->user = login->name; });
  } else if (has_auth) {
    authenticated_ = true;
  }
  if (has_setname) env_.clients->withLock([&] { info_->setName(setname); });
  if (proto != proto_) {
    proto_ = static_cast<int>(proto);
    info_->proto.store(proto_, std::memory_order_relaxed);
  }
  std::string out;
  resp::appendMapHeader(out, 7, proto_);
  resp::appendBulk(out, "server");
  resp::appendBulk(out, "redis");
  resp::appendBulk(out, "version");
  resp::appendBulk(out, env_.backend_version ? *env_.backend_version : std::string(SLOTGATE_VERSION));
  resp::appendBulk(out, "proto");
  resp::appendInteger(out, proto_);
  resp::appendBulk(out, "id");
  resp::appendInteger(out, static_cast<int64_t>(info_->id));
  resp::appendBulk(out, "mode");
  resp::appendBulk(out, "standalone");
  resp::appendBulk(out, "role");
  resp::appendBulk(out, "master");
  resp::appendBulk(out, "modules");
  resp::appendArrayHeader(out, 0);
  replyNow(out);
}

void ConnectionState::reset() {
  proto_ = 2;
  info_->proto = 2;
  authenticated_ = env_.users.empty();
  user_ = nullptr;
  env_.clients->withLock([&] {
    info_->setName({});
    info_->user = "default";
  });
}

void ConnectionState::park(ParkedState& out) const {
  out.proto = static_cast<uint8_t>(proto_);
  out.authenticated = authenticated_;
  out.user = user_;
}

void ConnectionState::restore(const ParkedState& in) {
  proto_ = in.proto;
  authenticated_ = in.authenticated;
  user_ = in.user;
}

void ConnectionState::client(const Call& call) {
  const command::CommandSpec& spec = *call.spec;
  std::span<const std::string_view> argv_ = call.argv;
  using command::Handler;
  std::string_view sub = std::string_view(spec.name).substr(std::string_view(spec.name).find('|') + 1);
  auto arity = [this, &spec](bool ok) {
    if (!ok) replyNow(resp::errorReply(fmt::runtime(resp::err::kWrongArity), spec.name));
    return ok;
  };
  uint64_t now = clock_.nowMs();
  switch (spec.handler) {
    case Handler::kClientSetname: {
      if (!arity(argv_.size() == 3)) return;
      for (char c : argv_[2]) {
        if (c < '!' || c > '~') return replyNow(resp::err::kClientName);
      }
      env_.clients->withLock([&] { info_->setName(argv_[2]); });
      return replyNow("+OK\r\n");
    }
    case Handler::kClientGetname: {
      std::string name, out;
      env_.clients->withLock([&] { name = info_->name(); });
      if (name.empty()) resp::appendNull(out, proto_);
      else resp::appendBulk(out, name);
      return replyNow(out);
    }
    case Handler::kClientId: {
      std::string out;
      resp::appendInteger(out, static_cast<int64_t>(info_->id));
      return replyNow(out);
    }
    case Handler::kClientInfo: {
      std::string out;
      resp::appendVerbatim(out, env_.clients->line(*info_, now), proto_);
      return replyNow(out);
    }
    case Handler::kClientList: {
      std::vector<uint64_t> ids;
      std::string type;
      for (size_t i = 2; i < argv_.size(); ++i) {
        std::string option = common::toLower(argv_[i]);
        if (option == "type" && i + 1 < argv_.size()) {
          type = common::toLower(argv_[++i]);
          if (!common::isOneOf(type, {"normal", "pubsub", "master", "replica", "slave"}))
            return replyNow(resp::errorReply(fmt::runtime("ERR Unknown client type '{}'"), std::string(argv_[i])));
        } else if (option == "id" && i + 1 < argv_.size()) {
          for (++i; i < argv_.size(); ++i) {
            int64_t id = 0;
            if (!resp::parseInt(argv_[i], &id) || id <= 0) return replyNow("-ERR Invalid client ID\r\n");
            ids.push_back(static_cast<uint64_t>(id));
          }
        } else {
          return replyNow(resp::err::kSyntax);
        }
      }
      std::string out;
      resp::appendVerbatim(out, env_.clients->list(now, ids, type), proto_);
      return replyNow(out);
    }
    case Handler::kClientKill: {
      KillFilter filter;
      if (argv_.size() == 3) {
        filter.addr = std::string(argv_[2]);
        bool self_target = filter.addr == info_->addr;
        size_t killed = env_.clients->kill(filter);
        return replyNow(killed > 0 || self_target ? "+OK\r\n" : resp::err::kNoSuchClient);
      }
      bool skip_me = true;
      if (argv_.size() < 4 || argv_.size() % 2 != 0) return replyNow(resp::err::kSyntax);
      for (size_t i = 2; i + 1 < argv_.size(); i += 2) {
        std::string option = common::toLower(argv_[i]);
        std::string_view value = argv_[i + 1];
        if (option == "id") {
          int64_t id = 0;
          if (!resp::parseInt(value, &id) || id <= 0) return replyNow(resp::err::kClientIdNotInteger);
          filter.id = static_cast<uint64_t>(id);
        } else if (option == "addr") {
          filter.addr = std::string(value);
        } else if (option == "laddr") {
          filter.laddr = std::string(value);
        } else if (option == "user") {
          filter.user = std::string(value);
        } else if (option == "type") {
          filter.type = common::toLower(value);
          if (!common::isOneOf(filter.type, {"normal", "pubsub", "master", "replica", "slave"}))
            return replyNow(resp::errorReply(fmt::runtime("ERR Unknown client type '{}'"), std::string(value)));
        } else if (option == "skipme") {
          std::string yes = common::toLower(value);
          if (yes != "yes" && yes != "no") return replyNow(resp::err::kSyntax);
          skip_me = yes == "yes";
        } else if (option == "maxage") {
          int64_t age = 0;
          if (!resp::parseInt(value, &age)) return replyNow(resp::err::kNotInteger);
        } else {
          return replyNow(resp::err::kSyntax);
        }
      }
      if (skip_me) filter.skip_id = info_->id;
      std::string out;
      resp::appendInteger(out, static_cast<int64_t>(env_.clients->kill(filter)));
      return replyNow(out);
    }
    case Handler::kClientNoEvict:
    case Handler::kClientNoTouch: {
      if (!arity(argv_.size() == 3)) return;
      std::string value = common::toLower(argv_[2]);
      return replyNow(value == "on" || value == "off" ? "+OK\r\n" : resp::err::kSyntax);
    }
    case Handler::kClientSetinfo: {
      if (!arity(argv_.size() == 4)) return;
      std::string attr = common::toLower(argv_[2]);
      for (char c : argv_[3]) {
        if (c < '!' || c > '~')
          return replyNow(resp::errorReply(
              fmt::runtime("ERR {} cannot contain spaces, newlines or special characters."), attr));
      }
      if (attr == "lib-name") env_.clients->withLock([&] { info_->setLibName(argv_[3]); });
      else if (attr == "lib-ver") env_.clients->withLock([&] { info_->setLibVer(argv_[3]); });
      else return replyNow(resp::errorReply(fmt::runtime("ERR Unrecognized option '{}'"), std::string(argv_[2])));
      return replyNow("+OK\r\n");
    }
    case Handler::kClientReply: {
      // Per connection, as in Redis: the session drops what this client's commands answer.
      if (!arity(argv_.size() == 3)) return;
      std::string mode = common::toLower(argv_[2]);
      if (mode == "on") {
        port_.setReplyMode(ReplyMode::kOn);
        return replyNow("+OK\r\n");
      }
      if (mode == "off") return port_.setReplyMode(ReplyMode::kOff);
      if (mode == "skip") return port_.setReplyMode(ReplyMode::kSkip);
      return replyNow(resp::err::kSyntax);
    }
    case Handler::kClientUnblock:
      return unblock(call);
    case Handler::kClientGetredir:
      return replyNow(":-1\r\n");
    case Handler::kClientHelp: {
      route::Plan plan;
      plan.kind = route::Plan::Kind::kAnyPrimary;
      plan.readonly = true;
      env_.executors[proto_ == 3 ? 1 : 0]->execute(plan, spec, argv_, {}, link_, port_.reserve());
      return;
    }
    default:
      break;
  }
  replyNow(resp::errorReply(fmt::runtime(resp::err::kClientUnsupported), sub));
}

void ConnectionState::unblock(const Call& call) {
  std::span<const std::string_view> argv = call.argv;
  if (argv.size() > 4)
    return replyNow(resp::errorReply(fmt::runtime(resp::err::kClientSubcommandArgs), std::string(argv[1])));
  bool error = false;
  if (argv.size() == 4) {
    std::string reason = common::toLower(argv[3]);
    if (reason != "timeout" && reason != "error") return replyNow(resp::err::kUnblockReason);
    error = reason == "error";
  }
  int64_t id = 0;
  if (!resp::parseInt(argv[2], &id)) return replyNow(resp::err::kNotInteger);
  uint64_t seq = port_.reserve();
  // The answer comes back to this worker; the client may have left by then.
  auto answer = [link = link_, seq, owner = info_->owner](bool unblocked) {
    owner->post([link, seq, unblocked] {
      if (link->target) link->target->deliver(seq, unblocked ? ":1\r\n" : ":0\r\n");
    });
  };
  bool found = id > 0 && static_cast<uint64_t>(id) != info_->id &&
               env_.clients->post(static_cast<uint64_t>(id), [error, answer](ClientInfo* target) {
                 if (!target || !target->control) return answer(false);
                 target->control->unblock(error, answer);
               });
  if (!found) port_.complete(seq, ":0\r\n");
}

}  // namespace slotgate::state
