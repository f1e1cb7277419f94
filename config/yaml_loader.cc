// YAML -> Config: the document walk, each kind of value, the users and seeds lists (yaml_loader.h).
#include "config/yaml_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "common/ascii.h"
#include "common/digest.h"
#include "config/config_text.h"

namespace slotgate::config::detail {
namespace {

// What was found instead, as it reads after "got ".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "no value";
  }
}

// Counts the documents of a stream and notes where the second one's content starts.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override { ++starts_; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

  YAML::Mark second = YAML::Mark::null_mark();

 private:
  void node(const YAML::Mark& mark) {
    if (starts_ == 2 && second.is_null()) second = mark;
  }
  size_t starts_ = 0;
};

constexpr size_t kMaxDocuments = 64;

}  // namespace

YamlLoader::YamlLoader(std::string_view source, Config initial) : source_(source) {
  result_.config = std::move(initial);
}

LoadResult YamlLoader::run(std::string_view yaml) {
  // YAML::LoadAll can loop for ever on some malformed streams (a stray ',' at the top level,
  // yaml-cpp issue 1040), so load the first document alone and count the others with a bound.
  YAML::Node first;
  size_t documents = 0;
  YAML::Mark second = YAML::Mark::null_mark();
  try {
    first = YAML::Load(std::string(yaml));
    std::istringstream stream{std::string(yaml)};
    YAML::Parser parser(stream);
    DocumentCounter counter;
    while (documents < kMaxDocuments && parser.HandleNextDocument(counter)) ++documents;
    second = counter.second;
  } catch (const YAML::Exception& e) {
    fail(e.mark, "", "YAML syntax error: " + e.msg);
    return std::move(result_);
  }
  if (documents > 1) {
    fail(second, "",
         "expected one YAML document, found " +
             (documents == kMaxDocuments ? "at least " + std::to_string(documents) : std::to_string(documents)));
  }
  if (documents == 0 || first.IsNull()) return std::move(result_);
  const YAML::Node& root = first;
  if (!root.IsMap()) {
    fail(root.Mark(), "", "expected a map of settings at the top level, got " + describe(root));
  } else {
    walkMap(root, "");
  }
  return std::move(result_);
}

void YamlLoader::loadSetting(const KeySpec& spec, std::string_view key, std::string_view value) {
  loadValue(spec, YAML::Node(std::string(key)), YAML::Node(std::string(value)));
}

void YamlLoader::fail(const YAML::Mark& mark, std::string_view path, std::string_view what) {
  std::string message(source_);
  if (!mark.is_null()) message += ":" + std::to_string(mark.line + 1);
  message += ": ";
  if (!path.empty()) message += std::string(path) + ": ";
  message += what;
  result_.errors.push_back(std::move(message));
}

void YamlLoader::walkMap(const YAML::Node& map, const std::string& prefix) {
  std::map<std::string, int, std::less<>> seen;  // key -> line of its first occurrence
  for (const auto& entry : map) {
    const YAML::Node& key = entry.first;
    const YAML::Node& value = entry.second;
    if (!key.IsScalar()) {
      fail(key.Mark(), prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1),
           "expected a key name, got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    std::string path = prefix + name;
    // yaml-cpp keeps both entries of a repeated key; say so rather than silently use one.
    if (auto [it, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
      fail(key.Mark(), path, "duplicate key (first set on line " + std::to_string(it->second) + ")");
      continue;
    }
    if (name.find('.') != std::string::npos) {
      // Dotted names are how messages spell keys, not how the file nests them.
      fail(key.Mark(), path, "unknown key; nest sections instead of writing dotted names");
    } else if (const KeySpec* spec = findKey(path)) {
      loadValue(*spec, key, value);
    } else if (isSection(path)) {
      if (value.IsMap()) {
        walkMap(value, path + ".");
      } else if (!value.IsNull()) {  // an empty section ("limits:") just keeps the defaults
        fail(key.Mark(), path, "expected a map of settings, got " + describe(value));
      }
    } else {
      std::string hint = suggestKey(prefix, name);
      fail(key.Mark(), path, hint.empty() ? "unknown key" : "unknown key; did you mean \"" + hint + "\"?");
    }
  }
}

void YamlLoader::loadValue(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value) {
  Config& config = result_.config;
  switch (spec.kind) {
    case Kind::kInteger:
    case Kind::kSize: {
      std::optional<uint64_t> number;
      if (value.IsScalar()) {
        number = spec.kind == Kind::kSize ? parseSize(value.Scalar()) : parseUnsigned(value.Scalar());
      }
      if (!number || *number < spec.min || *number > spec.max) return expected(spec, key, value);
      spec.field.set(config, *number);
      return;
    }
    case Kind::kBool: {
      std::optional<bool> flag;
      if (value.IsScalar()) flag = parseBool(value.Scalar());
      if (!flag) return expected(spec, key, value);
      spec.field.set(config, *flag ? 1 : 0);
      return;
    }
    case Kind::kAddress: {
      if (value.IsScalar() && common::toLower(value.Scalar()) == "off") {
        config.listen_enabled = false;
        return;
      }
      std::optional<Address> address;
      if (value.IsScalar()) address = parseAddress(value.Scalar());
      if (!address) return expected(spec, key, value);
      config.listen_enabled = true;
      config.listen = std::move(*address);
      return;
    }
    case Kind::kFileMode: {
      std::optional<unsigned> mode;
      if (value.IsScalar()) mode = parseFileMode(value.Scalar());
      if (!mode) return expected(spec, key, value);
      spec.field.set(config, *mode);
      return;
    }
    case Kind::kLogLevel: {
      std::string level = value.IsScalar() ? common::toLower(value.Scalar()) : "";
      if (std::find(kLogLevels.begin(), kLogLevels.end(), level) == kLogLevels.end()) {
        return expected(spec, key, value);
      }
      config.log_level = std::move(level);
      return;
    }
    case Kind::kAddressList:
      return loadSeeds(spec, key, value);
    case Kind::kString:
    case Kind::kSecret:
      if (!value.IsScalar()) return expected(spec, key, value);
      *spec.text.ref(config) = value.Scalar();
      return;
    case Kind::kUsers:
      return loadUsers(spec, key, value);
    case Kind::kFile:
    case Kind::kDirectory: {
      if (!value.IsScalar() && !value.IsNull()) return expected(spec, key, value);
      std::string path = value.IsScalar() ? value.Scalar() : "";
      if (!path.empty()) {
        std::string problem = spec.kind == Kind::kFile ? fileProblem(path) : directoryProblem(path);
        if (!problem.empty()) return fail(key.Mark(), spec.path, problem);
      }
      *spec.text.ref(config) = std::move(path);
      return;
    }
    case Kind::kTlsListen: {
      if (value.IsNull() || (value.IsScalar() && common::toLower(value.Scalar()) == "off")) {
        config.tls.enabled = false;
        return;
      }
      std::optional<Address> address;
      if (value.IsScalar()) address = parseAddress(value.Scalar());
      if (!address) return expected(spec, key, value);
      config.tls.enabled = true;
      config.tls.listen = std::move(*address);
      return;
    }
    case Kind::kChoice: {
      std::string word = value.IsScalar() ? common::toLower(value.Scalar()) : "";
      for (size_t i = 0; i < spec.choice.count; ++i) {
        if (word == spec.choice.choices[i]) {
          *spec.choice.ref(config) = std::move(word);
          return;
        }
      }
      return expected(spec, key, value);
    }
    case Kind::kAdminAddress: {
      if (value.IsScalar() && (value.Scalar() == "off" || value.Scalar() == "OFF")) {
        config.admin_enabled = false;
        return;
      }
      std::optional<Address> address;
      if (value.IsScalar()) address = parseAddress(value.Scalar());
      if (!address) return expected(spec, key, value);
      config.admin_enabled = true;
      config.admin_listen = std::move(*address);
      return;
    }
  }
}

// users: [{name, password | password_sha256, permissions, key_prefixes}, ...]
void YamlLoader::loadUsers(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value) {
  if (!value.IsSequence()) return expected(spec, key, value);
  std::vector<User> users;
  bool all_good = true;
  size_t index = 0;
  for (const YAML::Node& item : value) {
    std::string path = std::string(spec.path) + "[" + std::to_string(index++) + "]";
    YAML::Mark mark = item.Mark().is_null() ? key.Mark() : item.Mark();
    auto bad = [&](std::string_view field, const std::string& what) {
      all_good = false;
      fail(mark, path + (field.empty() ? "" : "." + std::string(field)), what);
    };
    if (!item.IsMap()) {
      bad("",
          "expected a map with name, password or password_sha256, permissions and "
          "key_prefixes, got " +
              describe(item));
      continue;
    }
    User user;
    bool has_name = false, has_password = false;
    for (const auto& field : item) {
      std::string name = field.first.IsScalar() ? field.first.Scalar() : "";
      const YAML::Node& v = field.second;
      if (name == "name") {
        if (!v.IsScalar() || v.Scalar().empty() || v.Scalar().find(' ') != std::string::npos) {
          bad(name, "expected a user name without spaces, got " + describe(v));
        } else {
          user.name = v.Scalar();
          has_name = true;
        }
      } else if (name == "password" || name == "password_sha256") {
        if (has_password) bad(name, "give either password or password_sha256, not both");
        std::optional<common::Sha256Digest> digest;
        if (v.IsScalar()) {
          digest = name == "password" ? common::sha256(v.Scalar()) : common::parseSha256Hex(v.Scalar());
        }
        if (!digest) {
          bad(name, name == "password" ? "expected a string, got " + describe(v)
                                       : "expected 64 hex digits (sha256sum of the password), got " + describe(v));
        } else {
          user.password_sha256 = *digest;
          has_password = true;
        }
      } else if (name == "permissions") {
        auto it = v.IsScalar() ? std::find(kPermissions.begin(), kPermissions.end(), v.Scalar())
                               : kPermissions.end();
        if (it == kPermissions.end()) {
          bad(name, "expected one of read-only, read-write, admin, got " + describe(v));
        } else {
          user.permission = static_cast<Permission>(it - kPermissions.begin());
        }
      } else if (name == "key_prefixes") {
        bool ok = v.IsSequence();
        if (ok) {
          for (const YAML::Node& prefix : v) {
            if (!prefix.IsScalar()) ok = false;
            else user.key_prefixes.push_back(prefix.Scalar());
          }
        }
        if (!ok) bad(name, "expected a list of key prefixes, got " + describe(v));
      } else {
        bad(name, "unknown key; a user has name, password, password_sha256, permissions, key_prefixes");
      }
    }
    if (!has_name) bad("name", "missing");
    if (!has_password) bad("password", "missing (or give password_sha256)");
    for (const User& other : users) {
      if (has_name && other.name == user.name) bad("name", "user " + quote(user.name) + " listed twice");
    }
    users.push_back(std::move(user));
  }
  if (all_good) result_.config.users = std::move(users);
}

void YamlLoader::loadSeeds(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value) {
  if (!value.IsSequence()) return expected(spec, key, value);
  std::vector<Address> seeds;
  bool all_good = true;
  size_t index = 0;
  for (const YAML::Node& item : value) {
    std::optional<Address> address;
    if (item.IsScalar()) address = parseAddress(item.Scalar());
    if (address) {
      seeds.push_back(std::move(*address));
    } else {
      all_good = false;
      // An empty item's mark points past it; its list's key is the better place to look.
      YAML::Mark mark = item.IsNull() || item.Mark().is_null() ? key.Mark() : item.Mark();
      fail(mark, std::string(spec.path) + "[" + std::to_string(index) + "]",
           "expected host:port with a port from 1 to 65535, got " + describe(item));
    }
    ++index;
  }
  if (all_good) result_.config.seeds = std::move(seeds);
}

void YamlLoader::expected(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value) {
  fail(key.Mark(), spec.path, "expected " + expectation(spec) + ", got " + describe(value));
}

}  // namespace slotgate::config::detail
