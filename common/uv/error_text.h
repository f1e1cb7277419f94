// libuv's status codes in words, for callers outside common/uv/ (which may not include <uv.h>).
#pragma once

namespace slotgate::common::uv {

// The text of a libuv error `status` (negative), e.g. "connection refused". Static storage: the
// pointer stays valid for the life of the process.
const char* errorText(int status);

}  // namespace slotgate::common::uv
