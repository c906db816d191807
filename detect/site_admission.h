// Which site names get a place of their own once limits.max_sites are tracked: by traffic, not
// by arrival. Names past the cap are candidates; their events are counted in a Space-Saving
// summary (Metwally, Agrawal, El Abbadi 2005: a fixed number of counters, each count an upper
// bound on the name's events and count - error a lower bound), and a candidate whose guaranteed
// count reaches the promotion floor displaces the least active tracked site (an idle
// one-request name from a Host-header flood, never a site listed under `sites:` or one with an
// alert in progress). Names that stay folded into __other__ are counted in a HyperLogLog
// (Flajolet et al. 2007; 4,096 registers, about 1.6% standard error) so the size of a flood is
// known without storing it. Memory is fixed: 4,096 candidates and 4 KiB of registers.
//
// Threading: owned by a WindowEngine (the coordinator's thread).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace sitepulse {

// A site name's 64-bit hash, the same in every run, build and platform (FNV-1a, mixed).
uint64_t SiteNameHash(std::string_view name);

class SpaceSaving {
 public:
  explicit SpaceSaving(size_t capacity) : capacity_(capacity) {}
  // Adds `weight` to `key` (replacing the smallest counter when full); returns the key's
  // guaranteed count (count - error).
  uint64_t Add(uint64_t key, uint64_t weight);
  // The key got a place of its own: it stops being a candidate.
  void Forget(uint64_t key);
  // Every count halved (an epoch passed): old traffic weighs less than new.
  void Decay();
  size_t size() const { return heap_.size(); }

 private:
  struct Item {
    uint64_t key, count, error;
  };
  void SiftDown(size_t i);
  void SiftUp(size_t i);
  void Swap(size_t a, size_t b);
  size_t capacity_;
  std::vector<Item> heap_;  // a min-heap on count
  absl::flat_hash_map<uint64_t, uint32_t> pos_;
};

class HyperLogLog {
 public:
  void Add(uint64_t hash);
  double Estimate() const;

 private:
  static constexpr int kBits = 12;
  uint8_t registers_[1 << kBits] = {};
  // Kept as registers change, so Estimate() is O(1) (the pipeline reads it every batch).
  double sum_ = 1 << kBits;  // sum of 2^-register
  int zeros_ = 1 << kBits;
};

}  // namespace sitepulse
