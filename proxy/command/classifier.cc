#include "proxy/command/classifier.h"

#include <algorithm>
#include <cctype>

#include "proxy/command/command_table.h"
#include "proxy/command/key_extractor.h"
#include "proxy/command/proxy_commands.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::command {
namespace {

bool arityOk(int32_t arity, size_t argc) {
  return arity >= 0 ? argc == static_cast<size_t>(arity) : argc >= static_cast<size_t>(-arity);
}

// Redis quotes the first arguments of an unknown command, up to 128 characters in all.
std::string quotedArgs(std::span<const std::string_view> argv) {
  std::string out;
  for (size_t i = 1; i < argv.size() && out.size() < 128; ++i) {
    size_t room = 128 - out.size();
    out += '\'';
    out.append(argv[i].substr(0, room));
    out += "' ";
  }
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

void classify(std::span<const std::string_view> argv, Classification* c, const LearnedCommands* learned) {
  c->spec = nullptr;
  c->key_positions.clear();
  c->error.clear();
  c->fallback = nullptr;
  const CommandSpec* spec = findCommand(argv[0]);
  if (!spec) spec = findProxyCommand(argv[0]);
  if (!spec && learned) spec = learned->find(argv[0]);
  if (!spec) {
    c->error = resp::errorReply(fmt::runtime(resp::err::kUnknownCommand), std::string(argv[0].substr(0, 128)),
                                quotedArgs(argv));
    return;
  }
  if (spec->subcommand_count > 0 && argv.size() >= 2) {
    const CommandSpec* sub = findSubcommand(*spec, argv[1]);
    if (!sub) {
      c->fallback = findProxySubcommand(*spec, argv[1]);
      c->error = resp::errorReply(fmt::runtime(resp::err::kUnknownSubcommand), std::string(argv[1].substr(0, 128)),
                                  upper(spec->name));
      return;
    }
    spec = sub;
  }
  if (!arityOk(spec->arity, argv.size())) {
    // Redis 7.0 names subcommands as "container|sub" in this message.
    c->error = resp::errorReply(fmt::runtime(resp::err::kWrongArity), std::string(spec->name));
    return;
  }
  if (extractKeys(*spec, argv, c->key_positions) != KeyError::kNone) {
    // A bad key count: the command cannot touch keys, and Redis's own error differs by command
    // ("syntax error", "numkeys should be greater than 0", ...), so any node may answer it.
    c->key_positions.clear();
  }
  c->spec = spec;
}

}  // namespace slotgate::command
