// A bounded, blocking hand-off of pointers between pipeline stages, hiding moodycamel behind the
// operations the pipeline needs. Bounding is by construction: the pipeline owns a fixed
// pool of batches, so a queue can never hold more than the pool.
#pragma once

#include <cstddef>
#include <cstdint>

#include "concurrentqueue/blockingconcurrentqueue.h"

namespace sitepulse {

template <typename T>
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : queue_(capacity) {}

  void Push(T* item) { queue_.enqueue(item); }
  // Blocks until an item is available. nullptr is the end-of-stream marker by convention.
  T* Pop() {
    T* item = nullptr;
    queue_.wait_dequeue(item);
    return item;
  }
  // nullptr when nothing became available within `timeout_us` microseconds.
  T* PopFor(int64_t timeout_us) {
    T* item = nullptr;
    return queue_.wait_dequeue_timed(item, timeout_us) ? item : nullptr;
  }
  size_t ApproxSize() const { return queue_.size_approx(); }

 private:
  moodycamel::BlockingConcurrentQueue<T*> queue_;
};

}  // namespace sitepulse
