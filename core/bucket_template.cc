#include "core/bucket_template.h"

#include <algorithm>

#include "core/strings.h"

namespace sitepulse {

uint64_t ExampleRank(std::string_view example) { return Fnv1a64(example); }

bool MergeTemplate(std::vector<BucketTemplate>* into, const BucketTemplate& t, size_t cap) {
  for (BucketTemplate& k : *into) {
    if (k.hash != t.hash || k.level != t.level) continue;
    // The ranks matter only between sightings of the same time (then they are hashed).
    const bool before = t.first_seen != k.first_seen
                            ? t.first_seen < k.first_seen
                            : SightingBefore(t.first_seen, ExampleRank(t.example), t.example,
                                             k.first_seen, ExampleRank(k.example), k.example);
    if (before) {
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
