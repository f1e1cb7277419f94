#include "proxy/resp/request_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"

namespace slotgate::resp {

void RequestParser::resetRequest() {
  in_request_ = false;
  pos_ = 0;
  expected_ = 0;
  bulk_len_ = -1;
  args_.clear();
  inline_args_.clear();
  inline_ = false;
}

void RequestParser::releaseIfIdle() {
  if (in_request_) return;
  std::vector<ArgRef>().swap(args_);
  std::vector<std::string>().swap(inline_args_);
  std::string().swap(error_);
}

ParseStatus RequestParser::fail(std::string message) {
  error_ = std::move(message);
  return ParseStatus::kError;
}

ParseStatus RequestParser::parse(std::string_view data) {
  if (!in_request_) {
    resetRequest();
    consumed_ = 0;
    if (data.empty()) return ParseStatus::kIncomplete;
    in_request_ = true;
    inline_ = data[0] != '*';
  }
  ParseStatus status = inline_ ? parseInline(data) : parseMultibulk(data);
  if (status != ParseStatus::kIncomplete) in_request_ = false;
  return status;
}

ParseStatus RequestParser::parseMultibulk(std::string_view data) {
  if (pos_ == 0) {
    size_t cr = data.find("\r\n", 1);
    if (cr == std::string_view::npos) {
      if (data.size() > limits_.max_inline_len) return fail(std::string(err::kProtoTooBigMbulkCount));
      return ParseStatus::kIncomplete;
    }
    int64_t count = 0;
    if (!parseInt(data.substr(1, cr - 1), &count) || count > static_cast<int64_t>(limits_.max_args)) {
      return fail(std::string(err::kProtoInvalidMultibulkLen));
    }
    pos_ = cr + 2;
    if (count <= 0) {
      consumed_ = pos_;
      return ParseStatus::kEmpty;
    }
    expected_ = count;
    // Reserve modestly: the count is the client's word, not a promise of bytes to come.
    args_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  }
  while (static_cast<int64_t>(args_.size()) < expected_) {
    if (bulk_len_ < 0) {
      if (pos_ >= data.size()) return ParseStatus::kIncomplete;
      if (data[pos_] != '$') {
        return fail(fmt::format(fmt::runtime(err::kProtoExpectedDollar), data[pos_]));
      }
      size_t cr = data.find("\r\n", pos_ + 1);
      if (cr == std::string_view::npos) {
        if (data.size() - pos_ > limits_.max_inline_len) {
          return fail(std::string(err::kProtoTooBigBulkCount));
        }
        return ParseStatus::kIncomplete;
      }
      int64_t len = 0;
      if (!parseInt(data.substr(pos_ + 1, cr - pos_ - 1), &len) || len < 0 ||
          static_cast<uint64_t>(len) > limits_.max_bulk_len || len > UINT32_MAX) {
        return fail(std::string(err::kProtoInvalidBulkLen));
      }
      bulk_len_ = len;
      pos_ = cr + 2;
    }
    size_t need = pos_ + static_cast<size_t>(bulk_len_) + 2;
    if (data.size() < need) return ParseStatus::kIncomplete;
    if (data[need - 2] != '\r' || data[need - 1] != '\n') {
      // Forwarding bytes that do not frame exactly would desynchronise the node's connection.
      return fail(std::string(err::kProtoBulkNotTerminated));
    }
    args_.push_back({static_cast<uint32_t>(pos_), static_cast<uint32_t>(bulk_len_)});
    pos_ = need;
    bulk_len_ = -1;
  }
  consumed_ = pos_;
  return ParseStatus::kCommand;
}

ParseStatus RequestParser::parseInline(std::string_view data) {
  size_t nl = data.find('\n', pos_);
  if (nl == std::string_view::npos) {
    if (data.size() > limits_.max_inline_len) return fail(std::string(err::kProtoTooBigInline));
    pos_ = data.size();  // resume the search where it stopped
    return ParseStatus::kIncomplete;
  }
  if (nl > limits_.max_inline_len) return fail(std::string(err::kProtoTooBigInline));
  std::string_view line = data.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  consumed_ = nl + 1;
  if (!splitInlineArgs(line, &inline_args_)) return fail(std::string(err::kProtoUnbalancedQuotes));
  if (inline_args_.empty()) return ParseStatus::kEmpty;
  if (inline_args_.size() > limits_.max_args) return fail(std::string(err::kProtoInvalidMultibulkLen));
  return ParseStatus::kCommand;
}

namespace {

bool isHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

bool isSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0' || c == '\v' || c == '\f';
}

}  // namespace

bool splitInlineArgs(std::string_view line, std::vector<std::string>* out) {
  out->clear();
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && isSpace(line[i])) ++i;
    if (i >= n) return true;
    std::string arg;
    bool in_double = false, in_single = false, done = false;
    while (!done) {
      if (in_double) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && isHex(line[i + 2]) && isHex(line[i + 3])) {
          arg.push_back(static_cast<char>(hexValue(line[i + 2]) * 16 + hexValue(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          ++i;
          switch (line[i]) {
            case 'n':
              arg.push_back('\n');
              break;
            case 'r':
              arg.push_back('\r');
              break;
            case 't':
              arg.push_back('\t');
              break;
            case 'b':
              arg.push_back('\b');
              break;
            case 'a':
              arg.push_back('\a');
              break;
            default:
              arg.push_back(line[i]);
              break;
          }
        } else if (line[i] == '"') {
          // The closing quote must be followed by a space or nothing.
          if (i + 1 < n && !isSpace(line[i + 1])) return false;
          done = true;
        } else {
          arg.push_back(line[i]);
        }
      } else if (in_single) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          ++i;
          arg.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < n && !isSpace(line[i + 1])) return false;
          done = true;
        } else {
          arg.push_back(line[i]);
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        switch (line[i]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            arg.push_back(line[i]);
            break;
        }
        if (done) break;
      }
      if (i < n) ++i;
    }
    out->push_back(std::move(arg));
  }
}

}  // namespace slotgate::resp
