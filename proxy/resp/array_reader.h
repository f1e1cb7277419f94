// Reads the elements of a complete array reply as byte ranges, for merges that rearrange them
// without decoding (MGET by index, KEYS concatenation).
#pragma once

#include <string_view>
#include <vector>

namespace slotgate::resp {

// False if `reply` is not one well-formed array (a null array gives true and no elements).
bool arrayElements(std::string_view reply, std::vector<std::string_view>* elements);

}  // namespace slotgate::resp
