#include "core/bucket_template.h"

#include <algorithm>

namespace sitepulse {

uint64_t ExampleRank(std::string_view example) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : example) h = (h ^ c) * 1099511628211ull;
  return h;
}

bool MergeTemplate(std::vector<BucketTemplate>* into, const BucketTemplate& t, size_t cap) {
  for (BucketTemplate& k : *into) {
    if (k.hash != t.hash || k.level != t.level) continue;
    if (SightingBefore(t.first_seen, ExampleRank(t.example), t.example, k.first_seen,
                       ExampleRank(k.example), k.example)) {
      k.first_seen = t.first_seen;
      k.text = t.text;
      k.example = t.example;
    }
    return true;
  }
  if (into->size() >= cap) return false;
  into->push_back(t);
  return true;
}

void SortTemplates(std::vector<BucketTemplate>* templates) {
  std::sort(templates->begin(), templates->end(), [](const BucketTemplate& a, const BucketTemplate& b) {
    return std::tie(a.first_seen, a.level, a.hash) < std::tie(b.first_seen, b.level, b.hash);
  });
}

}  // namespace sitepulse
