#include "detect/site_admission.h"

#include <cmath>
#include <utility>

namespace sitepulse {

uint64_t SiteNameHash(std::string_view name) {
  // FNV-1a 64: the same in every build and version (std::hash and absl::Hash are not).
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // A final mix: HyperLogLog reads the top bits and the rank of the rest.
  uint64_t x = h ^ (h >> 33);
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

void SpaceSaving::Swap(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  pos_[heap_[a].key] = static_cast<uint32_t>(a);
  pos_[heap_[b].key] = static_cast<uint32_t>(b);
}

void SpaceSaving::SiftDown(size_t i) {
  while (true) {
    size_t m = i;
    const size_t l = 2 * i + 1, r = l + 1;
    if (l < heap_.size() && heap_[l].count < heap_[m].count) m = l;
    if (r < heap_.size() && heap_[r].count < heap_[m].count) m = r;
    if (m == i) return;
    Swap(i, m);
    i = m;
  }
}

void SpaceSaving::SiftUp(size_t i) {
  while (i > 0) {
    const size_t p = (i - 1) / 2;
    if (heap_[p].count <= heap_[i].count) return;
    Swap(i, p);
    i = p;
  }
}

uint64_t SpaceSaving::Add(uint64_t key, uint64_t weight) {
  if (auto it = pos_.find(key); it != pos_.end()) {
    const size_t i = it->second;
    heap_[i].count += weight;
    const uint64_t guaranteed = heap_[i].count - heap_[i].error;
    SiftDown(i);
    return guaranteed;
  }
  if (heap_.size() < capacity_) {
    heap_.push_back({key, weight, 0});
    pos_[key] = static_cast<uint32_t>(heap_.size() - 1);
    SiftUp(heap_.size() - 1);
    return weight;
  }
  // Full: the smallest counter goes to the newcomer, which inherits its count as error.
  Item& min = heap_[0];
  pos_.erase(min.key);
  min = {key, min.count + weight, min.count};
  pos_[key] = 0;
  SiftDown(0);
  return weight;
}

void SpaceSaving::Forget(uint64_t key) {
  auto it = pos_.find(key);
  if (it == pos_.end()) return;
  const size_t i = it->second;
  pos_.erase(it);
  if (i + 1 != heap_.size()) {
    heap_[i] = heap_.back();
    pos_[heap_[i].key] = static_cast<uint32_t>(i);
    heap_.pop_back();
    SiftDown(i);
    SiftUp(i);
  } else {
    heap_.pop_back();
  }
}

void SpaceSaving::Decay() {
  for (Item& it : heap_) {
    it.count /= 2;
    it.error /= 2;
  }
}

void HyperLogLog::Add(uint64_t hash) {
  const size_t index = hash >> (64 - kBits);
  const uint64_t rest = (hash << kBits) | (uint64_t{1} << (kBits - 1));  // never all zero
  const auto rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  const uint8_t old = registers_[index];
  if (rank <= old) return;
  registers_[index] = rank;
  sum_ += std::ldexp(1.0, -rank) - std::ldexp(1.0, -old);
  zeros_ -= old == 0;
}

double HyperLogLog::Estimate() const {
  constexpr double m = 1 << kBits;
  const double alpha = 0.7213 / (1 + 1.079 / m);
  const double raw = alpha * m * m / sum_;
  if (raw <= 2.5 * m && zeros_ > 0) return m * std::log(m / zeros_);  // linear counting
  return raw;
}

}  // namespace sitepulse
