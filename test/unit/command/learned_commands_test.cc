#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "proxy/command/classifier.h"
#include "proxy/command/key_extractor.h"
#include "proxy/command/learned_commands.h"
#include "proxy/resp/value.h"

using namespace slotgate::command;

namespace {

// COMMAND INFO ft.create ft.add ft.search get xread from a real redis-server 7.0.15 with Debian's
// RediSearch module loaded.
slotgate::resp::Value capturedReply() {
  std::ifstream in(std::string(SLOTGATE_TEST_DATA) + "/command_info_module.resp", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto value = slotgate::resp::decodeValue(bytes.str());
  REQUIRE(value);
  return *value;
}

}  // namespace

TEST_CASE("commands the table lacks are learned from COMMAND INFO", "[learned]") {
  std::string error;
  auto learned = LearnedCommands::fromCommandReply(capturedReply(), &error);
  REQUIRE(learned);
  // GET and XREAD are in the table already; only the module's commands are learned.
  CHECK(learned->names() == std::vector<std::string>{"ft.add", "ft.create", "ft.search"});
  const CommandSpec* create = learned->find("FT.Create");
  REQUIRE(create);
  CHECK(create->arity == -1);
  CHECK((create->flags & kFlagWrite) != 0);
  CHECK(create->policy == Policy::kForward);
  CHECK(create->handler == Handler::kForward);
  CHECK(create->merge == Merge::kNone);
  std::vector<std::string_view> argv = {"FT.CREATE", "myindex", "SCHEMA", "title", "TEXT"};
  std::vector<uint32_t> keys;
  CHECK(extractKeys(*create, argv, keys) == KeyError::kNone);
  CHECK(keys == std::vector<uint32_t>{1});
  CHECK(learned->find("get") == nullptr);
}

TEST_CASE("the classifier consults learned commands after the table", "[learned]") {
  std::string error;
  auto learned = LearnedCommands::fromCommandReply(capturedReply(), &error);
  REQUIRE(learned);
  Classification c;
  std::vector<std::string_view> argv = {"ft.search", "idx", "hello"};
  classify(argv, &c);
  CHECK(c.error.rfind("-ERR unknown command 'ft.search'", 0) == 0);
  classify(argv, &c, &*learned);
  CHECK(c.error.empty());
  CHECK(c.key_positions == std::vector<uint32_t>{1});
}

TEST_CASE("a reply that is not a command list is refused", "[learned]") {
  std::string error;
  slotgate::resp::Value not_array;
  not_array.type = slotgate::resp::Value::Type::kBulk;
  CHECK_FALSE(LearnedCommands::fromCommandReply(not_array, &error));
  CHECK_FALSE(error.empty());
}
