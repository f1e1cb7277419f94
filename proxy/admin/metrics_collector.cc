#include "proxy/admin/metrics_collector.h"

#include <memory>

namespace slotgate::admin {
namespace {

// One collection in progress: shared by the workers' answers and the timeout.
struct Scrape {
  WorkerMetrics merged;
  size_t waiting = 0;
  bool answered = false;
  MetricsCollector::Done done;

  void finish() {
    if (answered) return;
    answered = true;
    done(merged);
  }
};

}  // namespace

void MetricsCollector::collect(Done done) {
  auto scrape = std::make_shared<Scrape>();
  scrape->done = std::move(done);
  scrape->waiting = sources_.size();
  for (const Source& source : sources_) {
    source([&loop = loop_, scrape](WorkerMetrics m) {
      loop.post([scrape, m = std::move(m)] {
        mergeInto(scrape->merged, m);
        if (--scrape->waiting == 0) scrape->finish();
      });
    });
  }
  loop_.after(timeout_ms_, [scrape] { scrape->finish(); });
}

}  // namespace slotgate::admin
