// A bounded, blocking hand-off of pointers between pipeline stages, hiding moodycamel behind the
// operations the pipeline needs. Bounding is by construction: the pipeline owns a fixed
// pool of batches, so a queue can never hold more than the pool.
#pragma once

#include <cstddef>

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
  // nullptr when nothing is available right now.
  T* TryPop() {
    T* item = nullptr;
    return queue_.try_dequeue(item) ? item : nullptr;
  }
  size_t ApproxSize() const { return queue_.size_approx(); }

 private:
  moodycamel::BlockingConcurrentQueue<T*> queue_;
};

}  // namespace sitepulse
