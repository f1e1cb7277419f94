#include "common/histogram.h"

#include <cmath>

namespace slotgate::common {
namespace {

// Bounds computed once: 2^(i/4) µs rounded up, strictly increasing.
struct Bounds {
  std::array<uint64_t, Histogram::kBuckets> value{};
  Bounds() {
    uint64_t previous = 0;
    for (int i = 0; i + 1 < Histogram::kBuckets; ++i) {
      auto bound = static_cast<uint64_t>(std::ceil(std::pow(2.0, i / double(Histogram::kSubBuckets))));
      if (bound <= previous) bound = previous + 1;
      value[i] = bound;
      previous = bound;
    }
    value[Histogram::kBuckets - 1] = UINT64_MAX;
  }
};

const Bounds& bounds() {
  static const Bounds b;
  return b;
}

}  // namespace

uint64_t Histogram::upperBound(int i) { return bounds().value[i]; }

int Histogram::bucketOf(uint64_t micros) {
  // Binary search over the bounds: the first bucket whose upper bound is >= micros.
  const auto& b = bounds().value;
  int lo = 0, hi = kBuckets - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (b[mid] >= micros) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

uint64_t Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return i + 1 == kBuckets ? upperBound(kBuckets - 2) : upperBound(i);
  }
  return upperBound(kBuckets - 2);
}

}  // namespace slotgate::common
