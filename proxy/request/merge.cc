#include "proxy/request/merge.h"

#include <algorithm>

#include "proxy/resp/array_reader.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

bool isError(const std::string& reply) { return !reply.empty() && reply[0] == '-'; }

bool integerOf(const std::string& reply, int64_t* value) {
  return reply.size() > 3 && reply[0] == ':' &&
         resp::parseInt(std::string_view(reply).substr(1, reply.size() - 3), value);
}

std::string unexpected(std::string_view what) {
  return resp::errorReply(fmt::runtime(resp::err::kUnexpectedPartReply), what);
}

std::string unionOf(std::span<const std::string> parts) {
  std::vector<std::string_view> all;
  std::vector<std::string_view> elements;
  for (const std::string& part : parts) {
    if (!resp::arrayElements(part, &elements)) return unexpected("arrays");
    for (std::string_view e : elements) {
      if (std::find(all.begin(), all.end(), e) == all.end()) all.push_back(e);
    }
  }
  std::string out;
  resp::appendArrayHeader(out, all.size());
  for (std::string_view e : all) out += e;
  return out;
}

std::string sumByName(std::span<const std::string> parts) {
  std::vector<std::pair<std::string_view, int64_t>> totals;  // in the first part's order
  std::vector<std::string_view> elements;
  for (const std::string& part : parts) {
    if (!resp::arrayElements(part, &elements) || elements.size() % 2 != 0) return unexpected("name/count pairs");
    for (size_t i = 0; i < elements.size(); i += 2) {
      int64_t count = 0;
      std::string_view number = elements[i + 1];
      if (number.size() < 3 || number[0] != ':' || !resp::parseInt(number.substr(1, number.size() - 3), &count))
        return unexpected("name/count pairs");
      auto it = std::find_if(totals.begin(), totals.end(), [&](auto& t) { return t.first == elements[i]; });
      if (it == totals.end()) totals.emplace_back(elements[i], count);
      else it->second += count;
    }
  }
  std::string out;
  resp::appendArrayHeader(out, totals.size() * 2);
  for (auto& [name, count] : totals) {
    out += name;
    resp::appendInteger(out, count);
  }
  return out;
}

std::string aggregateIntegers(Merge kind, std::span<const std::string> parts) {
  int64_t result = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    int64_t value = 0;
    if (!integerOf(parts[i], &value)) return unexpected("an integer");
    if (i == 0) {
      result = value;
    } else if (kind == Merge::kSum) {
      result += value;
    } else {
      result = kind == Merge::kMin ? std::min(result, value) : std::max(result, value);
    }
  }
  std::string out;
  resp::appendInteger(out, result);
  return out;
}

std::string logical(Merge kind, std::span<const std::string> parts) {
  std::vector<int64_t> result;
  std::vector<std::string_view> elements;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!resp::arrayElements(parts[i], &elements)) return unexpected("an array");
    if (i == 0) result.assign(elements.size(), kind == Merge::kLogicalAnd ? 1 : 0);
    if (elements.size() != result.size()) return unexpected("arrays of one length");
    for (size_t j = 0; j < elements.size(); ++j) {
      int64_t value = 0;
      if (!integerOf(std::string(elements[j]), &value)) return unexpected("an array of integers");
      result[j] = kind == Merge::kLogicalAnd ? (result[j] && value) : (result[j] || value);
    }
  }
  std::string out;
  resp::appendArrayHeader(out, result.size());
  for (int64_t value : result) resp::appendInteger(out, value);
  return out;
}

// As one server that ran whichever script was busy: stopped somewhere is OK; a node that refused
// (UNKILLABLE, or a script of the other kind: BUSY) or failed says why; NOTBUSY only when every
// node was idle.
std::string killScript(std::span<const std::string> parts) {
  const std::string* refused = nullptr;
  const std::string* other = nullptr;
  for (const std::string& part : parts) {
    if (!isError(part)) return part;
    if (part.starts_with("-UNKILLABLE")) {
      if (!refused) refused = &part;
    } else if (!part.starts_with("-NOTBUSY") && !other) {
      other = &part;
    }
  }
  if (refused) return *refused;
  return other ? *other : parts.front();
}

std::string concat(std::span<const std::string> parts) {
  std::vector<std::string_view> elements;
  std::string body;
  size_t count = 0;
  for (const std::string& part : parts) {
    if (!resp::arrayElements(part, &elements)) return unexpected("an array");
    for (std::string_view element : elements) body.append(element);
    count += elements.size();
  }
  std::string out;
  resp::appendArrayHeader(out, count);
  out += body;
  return out;
}

std::string byIndex(std::span<const std::string> parts, const ArrayLayout& layout) {
  std::vector<std::string_view> slots(layout.total);
  std::vector<std::string_view> elements;
  // Element views point into `parts`, which outlive this function.
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!resp::arrayElements(parts[i], &elements) || elements.size() != layout.positions[i].size()) {
      return unexpected("an array with one element per key");
    }
    for (size_t j = 0; j < elements.size(); ++j) slots[layout.positions[i][j]] = elements[j];
  }
  std::string out;
  resp::appendArrayHeader(out, slots.size());
  for (std::string_view element : slots) out.append(element);
  return out;
}

}  // namespace

std::string hideConfigSecrets(std::string_view reply) {
  if (reply.empty() || (reply[0] != '*' && reply[0] != '%')) return std::string(reply);
  bool map = reply[0] == '%';
  std::string as_array(reply);
  if (map) as_array[0] = '*';
  std::vector<std::string_view> elements;
  // A map's header counts pairs: read it as an array of twice as many.
  if (map) {
    size_t end = as_array.find("\r\n");
    int64_t pairs = 0;
    if (!resp::parseInt(std::string_view(as_array).substr(1, end - 1), &pairs)) return std::string(reply);
    as_array = "*" + std::to_string(pairs * 2) + as_array.substr(end);
  }
  if (!resp::arrayElements(as_array, &elements) || elements.size() % 2 != 0) return std::string(reply);
  std::string out(reply.substr(0, reply.find("\r\n") + 2));
  for (size_t i = 0; i < elements.size(); i += 2) {
    out += elements[i];
    std::string_view name = elements[i];
    bool secret = name.ends_with("\r\nrequirepass\r\n") || name.ends_with("\r\nmasterauth\r\n") ||
                  name.ends_with("\r\nmasteruser\r\n");
    if (secret) out += "$0\r\n\r\n";
    else out += elements[i + 1];
  }
  return out;
}

std::string merge(Merge kind, std::span<const std::string> parts, const ArrayLayout* layout, std::mt19937* rng) {
  switch (kind) {
    case Merge::kArrayByIndex:
      return byIndex(parts, *layout);
    case Merge::kAllSucceeded:
      return parts.front();
    case Merge::kOneSucceeded: {
      auto ok = std::find_if(parts.begin(), parts.end(), [](const std::string& p) { return !isError(p); });
      return ok != parts.end() ? *ok : parts.front();
    }
    case Merge::kKillScript:
      return killScript(parts);
    case Merge::kSum:
    case Merge::kMin:
    case Merge::kMax:
      return aggregateIntegers(kind, parts);
    case Merge::kLogicalAnd:
    case Merge::kLogicalOr:
      return logical(kind, parts);
    case Merge::kConcat:
      return concat(parts);
    case Merge::kRandomNonNull: {
      std::vector<size_t> candidates;
      for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i] != "$-1\r\n" && parts[i] != "_\r\n") candidates.push_back(i);
      }
      if (candidates.empty()) return parts.front();
      return parts[candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(*rng)]];
    }
    case Merge::kUnion:
      return unionOf(parts);
    case Merge::kSumByName:
      return sumByName(parts);
    case Merge::kInfo:
      return unexpected("INFO handled by its own merge");
    case Merge::kNone:
      break;
  }
  return unexpected("a known merge");
}

}  // namespace slotgate::request
