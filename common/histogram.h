// A latency histogram with fixed log-spaced buckets (1 µs to ~67 s, four buckets per doubling),
// cheap enough to bump for every command. One thread writes it; readers copy it on that thread
// (the metrics collection runs on the owning worker) and merge copies with add().
#pragma once

#include <array>
#include <cstdint>

namespace slotgate::common {

class Histogram {
 public:
  static constexpr int kSubBuckets = 4;                  // per doubling: bounds 2^(k/4) µs
  static constexpr int kBuckets = 26 * kSubBuckets + 1;  // the last one is +Inf

  void record(uint64_t micros) {
    ++counts_[bucketOf(micros)];
    ++count_;
    sum_us_ += micros;
  }
  void add(const Histogram& other) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_us_ += other.sum_us_;
  }
  void reset() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  uint64_t sumMicros() const { return sum_us_; }
  uint64_t bucketCount(int i) const { return counts_[i]; }
  // Upper bound of bucket `i` in µs (inclusive); the last bucket has none (UINT64_MAX).
  static uint64_t upperBound(int i);
  static int bucketOf(uint64_t micros);
  // The value under which a fraction `q` (0..1) of the recordings fall, as the upper bound of the
  // bucket holding it (so at most ~19% above the true value); 0 when empty.
  uint64_t quantile(double q) const;

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_us_ = 0;
};

}  // namespace slotgate::common
