#include "common/uv/error_text.h"

#include <uv.h>

namespace slotgate::common::uv {

const char* errorText(int status) { return uv_strerror(status); }

}  // namespace slotgate::common::uv
