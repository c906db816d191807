#include "detect/window_engine.h"

#include "detect/window_sketch.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "core/state_codec.h"
#include "core/strings.h"
#include "core/time.h"
#include "core/check.h"
#include "detect/detector_kind.h"

namespace sitepulse {

namespace {

// A prefetch the compiler keeps. GCC 12 (-O3) emitted no instruction for some __builtin_prefetch
// calls in this file (a way's address in Apply; an open bucket's lines in Apply and in the close
// loop), found with objdump; why was not found. Each prefetch below that must happen is this.
inline void Prefetch(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// The first `lines` lines of an open bucket: two for applying an access line (its sketch and
// request counters), all four for closing it.
inline void PrefetchBucket(const void* b, int lines) {
  if (b == nullptr) return;
  const char* at = static_cast<const char*>(b);
  for (int line = 0; line < lines; ++line) Prefetch(at + 64 * line);
}

}  // namespace

// Four cache lines. A quiet site's bucket is fetched for every few of its lines a batch brings,
// so what applying an access line touches (the sketch's inline samples and the request
// counters; BucketCounters::Add skips error-log counts of zero) is the first two lines; its
// error-log counts, start and templates follow.
struct alignas(64) WindowEngine::OpenBucket {
  DenseSketch latency;
  BucketCounters counters;
  EventTime start = 0;
  // Error templates seen in the bucket (the earliest sighting of each), handed to the detectors
  // when it closes. Few: at most kMaxBucketTemplates.
  std::vector<BucketTemplate> templates;
  static_assert(sizeof(DenseSketch) + 4 * sizeof(uint64_t) <= 128,
                "an access line touches the first two lines");
  void Reset() {
    counters = BucketCounters{};
    latency.Clear();
    templates.clear();
  }
};

struct WindowEngine::Site {
  std::string name;
  bool is_other = false;
  bool pinned = false;       // listed under `sites:`: never gives its place away
  // Events in the current and the previous hour of event time (SiteAdmission's activity).
  int64_t act_epoch = INT64_MIN;
  uint64_t act_cur = 0, act_prev = 0;
  // Few (bounded by lateness / resolution + 2): kept inline, no allocation of their own.
  absl::InlinedVector<std::unique_ptr<OpenBucket>, 4> open;

  // What a window needs of a closed bucket, kept small: a quiet site holds a ring of these
  // for its longest window (90 for 15 minutes at 10 s), so bytes per site matter at 100k sites.
  struct ClosedCounters {
    uint32_t requests = 0;
    uint32_t errors_5xx = 0;
    uint32_t error_log_lines = 0;
  };
  struct WindowCounters {
    uint64_t requests = 0;
    uint64_t errors_5xx = 0;
    uint64_t error_log_lines = 0;
    void Add(const ClosedCounters& c) {
      requests += c.requests;
      errors_5xx += c.errors_5xx;
      error_log_lines += c.error_log_lines;
    }
    void Subtract(const ClosedCounters& c) {
      requests -= c.requests;
      errors_5xx -= c.errors_5xx;
      error_log_lines -= c.error_log_lines;
    }
  };
  // Ring of the last ring_capacity_ closed buckets, oldest overwritten first.
  struct Closed {
    ClosedCounters counters;
    CompactSketch latency;
  };
  std::vector<Closed> ring;
  size_t pushed = 0;  // buckets pushed so far
  EventTime first_start = INT64_MIN;

  // One running sum per distinct window length; the counters apart from the latency, so a
  // close that slides no latency touches only them. A lazy latency window (window_lazy_) is slid
  // only while live (its bit in live_windows): built from the ring when a detector first reads
  // it, dropped after a window's length of closes nobody read it. A quiet site's, below every
  // min_requests, is never built: its closes touch no window sketch.
  std::vector<WindowCounters> window_counts;
  // An eager window's sum is `latency`. A lazy one's is `narrow` while every count fits in a
  // byte (WindowSketch: a quiet site's), else `latency` (`wide`).
  struct LatencyWindow {
    DenseSketch latency;
    WindowSketch narrow;
    bool wide = false;
    size_t read_at = 0;  // `pushed` when a detector last read it
  };
  std::vector<LatencyWindow> window_latency;
  uint64_t live_windows = 0;
  bool live(size_t w) const { return (live_windows >> w) & 1; }
  // The site's detectors, each made at the first call the engine makes to it (Materialize):
  // until then it is null and in the state a new one has, so a quiet site's volume-gated
  // detectors cost no allocation. A snapshot writes a null one as a new one would be written.
  std::vector<std::unique_ptr<Detector>> detectors;
  // Which detectors the site has: its configuration's gates, one beside each detector (same
  // index), shared with every site of the same detector lists (most sites: one table, hot in
  // the cache); and which of their alerts are not inactive (bit i: detector i, refreshed after
  // every call; a detector past the 64th is never passed by).
  const Profile* profile = nullptr;
  uint64_t active = 0;
  bool inactive(size_t i) const { return i < 64 && ((active >> i) & 1) == 0; }
  void SetActive(size_t i, bool on) {
    if (i < 64) active = on ? active | (uint64_t{1} << i) : active & ~(uint64_t{1} << i);
  }
  EventTime last_data_end = INT64_MIN;  // end of the newest bucket with requests or error lines
};

// What Evaluate needs to pass a detector by without touching it: its settings and
// configuration set, its window slot, the volume under which it judges nothing (0: never passed
// by; DetectorKind::volume_gated), and the other ways its kind may be passed by.
struct WindowEngine::Gate {
  const DetectorSpec* spec = nullptr;
  uint8_t set = 0;
  uint64_t floor = 0;
  // Passed by while the site is younger than this (DetectorKind::idle_until_covered: its
  // window), or while its data ended less than this ago (idle_while_data_within); 0: never.
  DurationNs young = 0;
  DurationNs data_within = 0;
  uint32_t slot = 0;
  bool windowed = false;
  bool error_lines = false;  // error-log lines count in its volume (error_log_rate)
  bool unless_busy = false;  // passed by while not Busy() (DetectorKind::idle_unless_busy)
  bool by_threshold = false;  // passed by while EvaluateThreshold is false (judged_by_threshold)
};

// The detectors of every site with the same detector lists (the run's and the compare set's)
// and the same standing (__other__ or not): their gates in the order of Site::detectors, the run's
// first; and which of them read closed buckets and templates.
struct WindowEngine::Profile {
  std::vector<Gate> gates;
  std::vector<uint32_t> on_bucket;    // DetectorKind::reads_buckets
  std::vector<uint32_t> on_template;  // DetectorKind::reads_templates
};

WindowEngine::WindowEngine(WindowEngineOptions options, WindowEngineListener* listener,
                           AnomalyListener* compare_listener)
    : options_(std::move(options)), listener_(listener), mapping_(options_.sketch_alpha) {
  env_.listener = listener_;
  env_.mapping = &mapping_;
  env_.resolution = options_.resolution;
  env_.judge_every_close = options_.evaluate_every_close;
  compare_env_ = env_;
  compare_env_.listener = compare_listener;
  env_.observer = options_.observer;
  // (Replay's observer sees every judgement, and tests can ask for every close.)
  env_.judge_every_close = options_.evaluate_every_close || env_.observer != nullptr;
  SP_DCHECK(!options_.compare || compare_listener != nullptr,
            "a compare set needs somewhere for its events to go");
  ComputeGeometry();
}

void WindowEngine::ComputeGeometry() {
  window_lengths_.clear();
  window_needs_latency_.clear();
  max_hold_ = 0;
  ring_capacity_ = 1;
  // Every spec, enabled or not, shapes the windows and the history kept (as in the snapshot's
  // config fingerprint).
  auto note_spec = [this](const DetectorSpec& s) {
    const DetectorKind& kind = KindOf(s.type);
    max_hold_ = std::max(max_hold_, kind.hold(s, options_.resolution));
    if (!kind.windowed) return;
    auto it = std::find(window_lengths_.begin(), window_lengths_.end(), s.window);
    if (it == window_lengths_.end()) {
      window_lengths_.push_back(s.window);
      window_needs_latency_.push_back(IsLatencyMetric(s.metric));
    } else if (IsLatencyMetric(s.metric)) {
      window_needs_latency_[static_cast<size_t>(it - window_lengths_.begin())] = true;
    }
  };
  auto note_set = [&](const std::vector<DetectorSpec>& specs,
                      const absl::flat_hash_map<std::string, std::vector<DetectorSpec>>& sites) {
    for (const DetectorSpec& s : specs) note_spec(s);
    for (const auto& [site, list] : sites) {
      for (const DetectorSpec& s : list) note_spec(s);
    }
  };
  note_set(options_.detectors, options_.site_detectors);
  if (options_.compare) note_set(options_.compare_detectors, options_.compare_site_detectors);
  for (DurationNs w : window_lengths_) {
    ring_capacity_ = std::max(
        ring_capacity_,
        static_cast<size_t>((w + options_.resolution - 1) / options_.resolution));
  }
  window_buckets_.clear();
  window_lazy_.clear();
  latency_slot_.clear();
  latency_windows_ = 0;
  any_eager_latency_ = false;
  lazy_mask_ = eager_latency_mask_ = 0;
  for (size_t w = 0; w < window_lengths_.size(); ++w) {
    window_buckets_.push_back(static_cast<size_t>(window_lengths_[w] / options_.resolution));
    // (A site keeps which lazy windows are live in 64 bits; later ones are slid always.)
    window_lazy_.push_back(window_needs_latency_[w] && window_buckets_[w] > 0 && w < 64 &&
                           !options_.eager_latency_windows);
    if (window_needs_latency_[w] && !window_lazy_[w]) any_eager_latency_ = true;
    if (w < 64 && window_needs_latency_[w]) {
      (window_lazy_[w] ? lazy_mask_ : eager_latency_mask_) |= uint64_t{1} << w;
    }
    latency_slot_.push_back(window_needs_latency_[w] ? static_cast<uint32_t>(latency_windows_++)
                                                    : UINT32_MAX);
  }
}

inline bool WindowEngine::SlidesLatency(const Site& site, size_t w) const {
  // (Bits for the first 64 windows: called for every window at every close.)
  const uint64_t sliding = eager_latency_mask_ | (site.live_windows & lazy_mask_);
  const bool slides = w < 64 ? ((sliding >> w) & 1) != 0
                             : window_needs_latency_[w] && (!window_lazy_[w] || site.live(w));
  SP_DCHECK(!slides || latency_slot_[w] < site.window_latency.size(),
            "a window that slides latency has its sketch (MakeSite, Relayout, WindowQuantile)");
  return slides;
}

size_t WindowEngine::WindowSlot(DurationNs window) const {
  return static_cast<size_t>(std::find(window_lengths_.begin(), window_lengths_.end(), window) -
                             window_lengths_.begin());
}

WindowEngine::~WindowEngine() = default;

WindowEngine::PendingName::PendingName(std::string n, uint64_t h, std::unique_ptr<OpenBucket> b)
    : name(std::move(n)), hash(h), bucket(std::move(b)) {}
WindowEngine::PendingName::PendingName(PendingName&&) noexcept = default;
WindowEngine::PendingName& WindowEngine::PendingName::operator=(PendingName&&) noexcept = default;
WindowEngine::PendingName::~PendingName() = default;

int WindowEngine::AddPartition(std::string key) {
  partitions_.push_back({});
  partitions_.back().key = std::move(key);
  return static_cast<int>(partitions_.size()) - 1;
}

namespace {
constexpr DurationNs kActivityEpoch = 3600 * kNanosPerSecond;
// Events a candidate must have (guaranteed, over the last hour or two) before it can take a
// place: a one-request name from a Host-header flood never does.
constexpr uint64_t kPromoteMin = 10;

int64_t EpochOf(EventTime t) { return t / kActivityEpoch - (t % kActivityEpoch < 0 ? 1 : 0); }
}  // namespace

WindowEngine::Site& WindowEngine::NewSite(std::string_view name) {
  sites_.push_back(MakeSite(name));
  generations_.push_back(0);
  open_ways_.emplace_back();
  open_spilled_.push_back(0);
  return *sites_.back();
}

std::unique_ptr<WindowEngine::Site> WindowEngine::MakeSite(std::string_view name) {
  auto site = std::make_unique<Site>();
  site->name = std::string(name);
  site->is_other = name == kOtherSite;
  // (The ring grows as buckets are pushed, until full: a site younger than the ring's length
  // holds only the slots it used.)
  site->window_counts.resize(window_lengths_.size());
  // Latency windows only when one is slid from the start; lazy ones come with the first read
  // (WindowQuantile): a quiet site holds none.
  if (any_eager_latency_) site->window_latency.resize(latency_windows_);
  site->profile = &ProfileFor(site->name, site->is_other);
  AddDetectors(*site, 0, nullptr);
  if (options_.compare) AddDetectors(*site, 1, nullptr);
  return site;
}

const std::vector<DetectorSpec>& WindowEngine::SpecsFor(const std::string& site,
                                                        uint8_t set) const {
  const auto& per_site = set == 0 ? options_.site_detectors : options_.compare_site_detectors;
  if (auto it = per_site.find(site); it != per_site.end()) return it->second;
  return set == 0 ? options_.detectors : options_.compare_detectors;
}

const WindowEngine::Profile& WindowEngine::ProfileFor(const std::string& site, bool is_other) {
  const std::vector<DetectorSpec>& run = SpecsFor(site, 0);
  const std::vector<DetectorSpec>* compare = options_.compare ? &SpecsFor(site, 1) : nullptr;
  std::unique_ptr<Profile>& profile = profiles_[ProfileKey{&run, compare, is_other}];
  if (profile != nullptr) return *profile;
  profile = std::make_unique<Profile>();
  for (uint8_t set = 0; set < 2; ++set) {
    if (set == 1 && compare == nullptr) break;
    const bool passable = !EnvOf(set).judge_every_close;
    for (const DetectorSpec& s : set == 0 ? run : *compare) {
      const DetectorKind& kind = KindOf(s.type);
      // __other__ gets the detectors of rates and errors, so a flood of names is itself an
      // event; latency, silence and template detectors make no sense for a mix of unknown sites.
      if (!s.enabled || (is_other && !kind.for_other(s))) continue;
      Gate g{.spec = &s, .set = set};
      g.floor = passable && kind.volume_gated ? std::max<uint64_t>(s.min_requests, 1) : 0;
      g.young = passable && kind.idle_until_covered ? s.window : 0;
      g.data_within = passable && kind.idle_while_data_within != nullptr
                          ? kind.idle_while_data_within(s) : 0;
      g.slot = static_cast<uint32_t>(WindowSlot(s.window));
      g.windowed = kind.windowed;
      g.error_lines = s.metric == Metric::kErrorLogRate;
      g.unless_busy = passable && kind.idle_unless_busy;
      g.by_threshold = passable && kind.judged_by_threshold;
      const auto i = static_cast<uint32_t>(profile->gates.size());
      if (kind.reads_buckets) profile->on_bucket.push_back(i);
      if (kind.reads_templates) profile->on_template.push_back(i);
      profile->gates.push_back(g);
    }
  }
  return *profile;
}

void WindowEngine::AddDetectors(Site& site, uint8_t set, std::vector<HeldDetector>* reuse) {
  const std::vector<Gate>& gates = site.profile->gates;
  site.detectors.reserve(gates.size());  // (one allocation, not one per doubling)
  for (size_t i = site.detectors.size(); i < gates.size() && gates[i].set == set; ++i) {
    const DetectorSpec& s = *gates[i].spec;
    std::unique_ptr<Detector> d;
    bool reused = false;
    if (reuse != nullptr) {
      for (HeldDetector& old : *reuse) {
        if (old.spec != nullptr && *old.spec == s) {
          d = std::move(old.detector);  // (null: never called, still as new)
          if (d != nullptr) d->Rebind(s);
          old.spec = nullptr;
          reused = true;
          break;
        }
      }
    }
    // A learned baseline counts as warming from its site's start, made or not.
    if (!reused && KindOf(s.type).learns) ++EnvOf(set).baselines_warming;
    site.detectors.push_back(std::move(d));
  }
  RefreshActive(site);
}

Detector& WindowEngine::Materialize(Site& site, size_t i) {
  std::unique_ptr<Detector>& d = site.detectors[i];
  if (d == nullptr) {
    const Gate& g = site.profile->gates[i];
    d = KindOf(g.spec->type).make(*g.spec, EnvOf(g.set));
    d->set = g.set;
  }
  return *d;
}

void WindowEngine::ReleaseDetector(const HeldDetector& held, std::string_view site, EventTime now,
                                   bool retire) {
  DetectorEnv& env = EnvOf(held.set);
  if (held.detector == nullptr) {
    // Never called: no alert, and warming if it learns (AddDetectors counted it).
    if (KindOf(held.spec->type).learns) --env.baselines_warming;
  } else if (retire) {
    held.detector->Retire(site, now, env);
  } else {
    held.detector->Release(env);
  }
}

void WindowEngine::RefreshActive(Site& site) const {
  site.active = 0;
  for (size_t i = 0; i < site.detectors.size(); ++i) {
    site.SetActive(i, site.detectors[i] != nullptr && !site.detectors[i]->alert_inactive());
  }
}

void WindowEngine::Reconfigure(
    std::vector<DetectorSpec> detectors,
    absl::flat_hash_map<std::string, std::vector<DetectorSpec>> site_detectors) {
  // The old specs live until every kept detector points at its new one.
  std::vector<DetectorSpec> old_detectors = std::move(options_.detectors);
  auto old_site_detectors = std::move(options_.site_detectors);
  options_.detectors = std::move(detectors);
  options_.site_detectors = std::move(site_detectors);
  const size_t old_capacity = ring_capacity_;
  // (The old profiles live until every site has its new one: their gates name the old specs.)
  auto old_profiles = std::move(profiles_);
  profiles_.clear();
  ComputeGeometry();
  const EventTime now = closing_started_ ? next_close_ : INT64_MIN;
  for (auto& site_ptr : sites_) {
    Site& site = *site_ptr;
    std::vector<HeldDetector> run, compare;
    for (size_t i = 0; i < site.detectors.size(); ++i) {
      const Gate& g = site.profile->gates[i];
      (g.set == 0 ? run : compare).push_back({std::move(site.detectors[i]), g.spec, g.set});
    }
    site.detectors.clear();
    site.profile = &ProfileFor(site.name, site.is_other);
    AddDetectors(site, 0, &run);
    // (The compare set is not reloaded: its detectors follow, in their order.)
    for (HeldDetector& h : compare) site.detectors.push_back(std::move(h.detector));
    SP_DCHECK(site.detectors.size() == site.profile->gates.size(), "a gate beside each detector");
    RefreshActive(site);
    for (const HeldDetector& h : run) {
      if (h.spec != nullptr) ReleaseDetector(h, site.name, now, /*retire=*/true);
    }
    // A site newly listed under `sites:` keeps its place; one no longer listed competes again.
    const bool pinned = options_.site_detectors.contains(site.name);
    if (!site.is_other && pinned != site.pinned) {
      site.pinned = pinned;
      tracked_ = pinned ? tracked_ - 1 : tracked_ + 1;
    }
    Relayout(site, old_capacity);
  }
}

void WindowEngine::Relayout(Site& site, size_t old_capacity) {
  const size_t kept = std::min({site.pushed, old_capacity, ring_capacity_});
  std::vector<Site::Closed> ring(ring_capacity_);
  for (size_t k = site.pushed - kept; k < site.pushed; ++k) {
    ring[k % ring_capacity_] = std::move(site.ring[k % old_capacity]);
  }
  site.ring = std::move(ring);
  site.window_counts.assign(window_lengths_.size(), Site::WindowCounters{});
  site.window_latency.clear();
  if (any_eager_latency_) site.window_latency.resize(latency_windows_);
  site.live_windows = 0;
  for (size_t w = 0; w < window_lengths_.size(); ++w) {
    const size_t len = window_buckets_[w];
    for (size_t k = site.pushed - std::min(kept, len); k < site.pushed; ++k) {
      const Site::Closed& c = site.ring[k % ring_capacity_];
      site.window_counts[w].Add(c.counters);
      // (A lazy window is not live here.)
      if (SlidesLatency(site, w)) site.window_latency[latency_slot_[w]].latency.Merge(c.latency);
    }
  }
}

size_t WindowEngine::detectors_made() const {
  size_t n = 0;
  for (const auto& site : sites_) {
    for (const auto& d : site->detectors) n += d != nullptr;
  }
  return n;
}

uint32_t WindowEngine::OtherSite() {
  if (other_site_ == UINT32_MAX) {
    other_site_ = static_cast<uint32_t>(sites_.size());
    NewSite(kOtherSite);
  }
  return other_site_;
}

uint32_t WindowEngine::Lookup(std::string_view name) {
  if (auto it = site_ids_.find(ToAbsl(name)); it != site_ids_.end()) return it->second;
  if (name == kOtherSite) return OtherSite();
  const bool pinned = options_.site_detectors.contains(ToAbsl(name));
  if (!pinned && tracked_ >= options_.max_sites) return kUntracked;
  const auto id = static_cast<uint32_t>(sites_.size());
  NewSite(name).pinned = pinned;
  if (!pinned) ++tracked_;
  site_ids_.emplace(std::string(name), id);
  return id;
}

uint32_t WindowEngine::InternSite(std::string_view name) {
  const uint32_t id = Lookup(name);
  if (id != kUntracked) return id;
  folded_.Add(SiteNameHash(name));
  return OtherSite();
}

WindowEngine::OpenBucket* WindowEngine::AddUntracked(std::string_view name, EventTime start) {
  auto [it, created] = pending_.try_emplace(start);
  Pending& p = it->second;
  if (created) ++open_starts_[start];  // closes with the sites' buckets of that start
  const uint64_t hash = SiteNameHash(name);
  if (auto f = p.index.find(hash); f != p.index.end()) {
    // (No bucket: the name earned a place and then lost it again while this one was open.)
    if (p.names[f->second].bucket != nullptr) return p.names[f->second].bucket.get();
  } else if (p.names.size() < kPendingPerBucket) {
    std::unique_ptr<OpenBucket> b = FreeBucket(start);
    p.index.emplace(hash, static_cast<uint32_t>(p.names.size()));
    p.names.emplace_back(std::string(name), hash, std::move(b));
    return p.names.back().bucket.get();
  }
  // More distinct untracked names in this bucket than places to wait: straight to __other__.
  folded_.Add(hash);
  return FindOrOpen(OtherSite(), start);
}

uint64_t WindowEngine::Activity(const Site& site, int64_t epoch) const {
  if (site.act_epoch == epoch) return site.act_cur + site.act_prev;
  if (site.act_epoch == epoch - 1) return site.act_cur;
  return 0;
}

bool WindowEngine::Evictable(uint32_t id) const {
  const Site& site = *sites_[id];
  if (site.is_other || site.pinned || HasOpen(id)) return false;
  for (const auto& d : site.detectors) {
    if (d != nullptr && d->Busy()) return false;
  }
  return true;
}

uint32_t WindowEngine::Promote(std::string_view name, uint64_t guaranteed, EventTime now) {
  if (tracked_ < options_.max_sites) return Lookup(name);
  const int64_t epoch = EpochOf(now);
  if (evictable_at_ != now) {
    // Once per bucket close that needs it: the evictable sites, least active first.
    evictable_.clear();
    for (size_t i = 0; i < sites_.size(); ++i) {
      if (Evictable(static_cast<uint32_t>(i))) {
        evictable_.emplace_back(Activity(*sites_[i], epoch), static_cast<uint32_t>(i));
      }
    }
    std::sort(evictable_.begin(), evictable_.end());
    evictable_next_ = 0;
    evictable_at_ = now;
  }
  while (evictable_next_ < evictable_.size()) {
    const auto [activity, id] = evictable_[evictable_next_];
    if (!Evictable(id)) {
      ++evictable_next_;
      continue;
    }
    // Only a clearly busier name takes the place.
    if (guaranteed <= 2 * activity) return kUntracked;
    ++evictable_next_;
    std::unique_ptr<Site>& old = sites_[id];
    for (size_t i = 0; i < old->detectors.size(); ++i) {
      const Gate& g = old->profile->gates[i];
      ReleaseDetector({std::move(old->detectors[i]), g.spec, g.set}, old->name, now,
                      /*retire=*/false);
    }
    site_ids_.erase(old->name);
    old = MakeSite(name);
    ++generations_[id];
    // (An evictable site has no open bucket: its ways are empty.)
    site_ids_.emplace(std::string(name), id);
    return id;
  }
  return kUntracked;
}

void WindowEngine::ResolvePending(EventTime start) {
  auto it = pending_.find(start);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  const int64_t epoch = EpochOf(start);
  if (candidates_epoch_ != epoch) {
    if (candidates_epoch_ != INT64_MIN) candidates_.Decay();
    candidates_epoch_ = epoch;
  }
  for (PendingName& n : p.names) {
    if (n.bucket == nullptr) continue;
    uint32_t id = kUntracked;
    if (auto f = site_ids_.find(n.name); f != site_ids_.end()) {
      id = f->second;
    } else {
      const uint64_t guaranteed = candidates_.Add(n.hash, n.bucket->counters.events());
      if (guaranteed >= kPromoteMin) id = Promote(n.name, guaranteed, start);
      if (id != kUntracked) {
        candidates_.Forget(n.hash);
        ++sites_promoted_;
        // Its lines in later open buckets are its own too.
        for (auto& [later, q] : pending_) {
          auto f2 = q.index.find(n.hash);
          if (f2 == q.index.end() || q.names[f2->second].bucket == nullptr) continue;
          std::unique_ptr<OpenBucket>& b = q.names[f2->second].bucket;
          OpenBucket* into = FindOrOpen(id, later);
          into->counters.Add(b->counters);
          into->latency.Merge(b->latency);
          b->Reset();
          free_buckets_.push_back(std::move(b));
        }
      }
    }
    if (id == kUntracked) {
      folded_.Add(n.hash);
      id = OtherSite();
    }
    OpenBucket* into = FindOrOpen(id, start);
    into->counters.Add(n.bucket->counters);
    into->latency.Merge(n.bucket->latency);
    n.bucket->Reset();
    free_buckets_.push_back(std::move(n.bucket));
  }
}

std::unique_ptr<WindowEngine::OpenBucket> WindowEngine::FreeBucket(EventTime start) {
  std::unique_ptr<OpenBucket> b;
  if (!free_buckets_.empty()) {
    b = std::move(free_buckets_.back());
    free_buckets_.pop_back();
  } else {
    b = std::make_unique<OpenBucket>();
  }
  b->start = start;
  return b;
}

WindowEngine::OpenBucket* WindowEngine::FindOrOpen(uint32_t id, EventTime start) {
  OpenWay& way = open_ways_[id].way[WayOf(start)];
  if (way.start == start) return way.bucket.get();
  if (open_spilled_[id] > 0) {
    for (const auto& b : sites_[id]->open) {
      if (b->start == start) return b.get();
    }
  }
  return AddOpen(id, FreeBucket(start));
}

WindowEngine::OpenBucket* WindowEngine::AddOpen(uint32_t id, std::unique_ptr<OpenBucket> b) {
  OpenBucket* added = b.get();
  // Counted in open_starts_ through a one-start tally: most buckets opened in a row share it.
  if (b->start != open_tally_start_) {
    SettleOpenTally();
    open_tally_start_ = b->start;
  }
  ++open_tally_;
  OpenWay& way = open_ways_[id].way[WayOf(b->start)];
  if (way.bucket == nullptr) {
    way.start = b->start;
    way.bucket = std::move(b);
  } else {
    ++open_spilled_[id];
    sites_[id]->open.push_back(std::move(b));
  }
  return added;
}

std::unique_ptr<WindowEngine::OpenBucket> WindowEngine::TakeOpen(uint32_t id, EventTime start) {
  OpenWay& way = open_ways_[id].way[WayOf(start)];
  if (way.start == start) {
    way.start = INT64_MIN;
    return std::move(way.bucket);
  }
  if (open_spilled_[id] == 0) return nullptr;
  auto& open = sites_[id]->open;
  for (size_t i = 0; i < open.size(); ++i) {
    if (open[i]->start == start) {
      std::unique_ptr<OpenBucket> b = std::move(open[i]);
      open[i] = std::move(open.back());
      open.pop_back();
      --open_spilled_[id];
      return b;
    }
  }
  return nullptr;
}

bool WindowEngine::HasOpen(uint32_t id) const {
  if (open_spilled_[id] > 0) return true;
  for (const OpenWay& w : open_ways_[id].way) {
    if (w.bucket != nullptr) return true;
  }
  return false;
}

std::vector<const WindowEngine::OpenBucket*> WindowEngine::OpenOf(uint32_t id) const {
  std::vector<const OpenBucket*> out;
  for (const OpenWay& w : open_ways_[id].way) {
    if (w.bucket != nullptr) out.push_back(w.bucket.get());
  }
  for (const auto& b : sites_[id]->open) out.push_back(b.get());
  std::sort(out.begin(), out.end(),
            [](const OpenBucket* a, const OpenBucket* b) { return a->start < b->start; });
  return out;
}

void WindowEngine::MirrorOpen() {
  for (uint32_t id = 0; id < sites_.size(); ++id) {
    auto loaded = std::move(sites_[id]->open);
    sites_[id]->open.clear();
    for (auto& b : loaded) AddOpen(id, std::move(b));
  }
}

bool WindowEngine::IsLate(EventTime start, EventTime input_closed) const {
  return (closing_started_ && start < next_close_) || start + options_.resolution <= input_closed;
}

void WindowEngine::AddTemplate(OpenBucket* b, const BucketTemplate& t) {
  if (!MergeTemplate(&b->templates, t, kMaxBucketTemplates)) ++env_.error_templates_over_cap;
}

void WindowEngine::Apply(const BucketDelta& delta, const std::vector<uint32_t>& site_of_lane,
                         int partition, const std::function<std::string_view(uint32_t)>& name_of) {
  scratch_.assign(delta.entries.size(), nullptr);
  Partition& p = partitions_[static_cast<size_t>(partition)];
  late_events_ += delta.late_events;  // judged by the lane against the batch's earlier lines
  // Lateness is judged per event against its own input's event time before this batch (the
  // lane judged it against the batch's earlier lines), so it never depends on batch boundaries;
  // a bucket other inputs have already closed is late too.
  const EventTime input_closed = ClosedBefore(p);
  // A quiet site's entry misses the cache on its way and on its bucket: the way is asked for a
  // few entries ahead, the bucket's lines as soon as it is found.
  constexpr size_t kAhead = 8;
  auto prefetch_way = [&](size_t j) {
    const DeltaEntry& a = delta.entries[j];
    if (a.lane_site >= site_of_lane.size()) return;
    const uint32_t aid = site_of_lane[a.lane_site];
    if (aid < open_ways_.size()) Prefetch(&open_ways_[aid].way[WayOf(a.bucket_start)]);
  };
  for (size_t i = 0; i < std::min(kAhead, delta.entries.size()); ++i) prefetch_way(i);
  for (size_t i = 0; i < delta.entries.size(); ++i) {
    if (i + kAhead < delta.entries.size()) prefetch_way(i + kAhead);
    const DeltaEntry& e = delta.entries[i];
    SP_DCHECK(e.bucket_start % options_.resolution == 0,
              "a lane's bucket starts on a multiple of the resolution");
    if (e.bucket_start < published_before_) {
      skipped_published_ += e.counters.events();
      continue;
    }
    if (IsLate(e.bucket_start, input_closed)) {
      late_events_ += e.counters.events();
      continue;
    }
    uint32_t id = e.lane_site < site_of_lane.size() ? site_of_lane[e.lane_site] : kUntracked;
    OpenBucket* b;
    if (id != kUntracked) {
      b = FindOrOpen(id, e.bucket_start);
    } else if (!name_of) {
      b = FindOrOpen(OtherSite(), e.bucket_start);  // no name to judge it by
    } else {
      const std::string_view name = name_of(e.lane_site);
      id = Lookup(name);
      b = id != kUntracked ? FindOrOpen(id, e.bucket_start) : AddUntracked(name, e.bucket_start);
    }
    // Quiet sites spread over thousands of places: fetch the bucket now, add to it below.
    PrefetchBucket(b, 2);
    scratch_[i] = b;
  }
  for (size_t i = 0; i < delta.entries.size(); ++i) {
    if (OpenBucket* b = scratch_[i]) b->counters.Add(delta.entries[i].counters);
  }
  const size_t n = delta.samples.size();
  for (size_t k = 0; k < n; ++k) {
    const DeltaSample& s = delta.samples[k];
    SP_DCHECK(s.entry < scratch_.size(), "a latency sample belongs to an entry of its delta");
    if (k + 8 < n) {
      const DeltaSample& ahead = delta.samples[k + 8];
      if (const OpenBucket* a = scratch_[ahead.entry]) a->latency.Prefetch(ahead.bin);
    }
    if (OpenBucket* b = scratch_[s.entry]) b->latency.Add(s.bin);
  }
  for (const DeltaTemplate& t : delta.templates) {
    // Judged late like its line; an untracked name has no template detector yet: its templates
    // are not observed.
    if (t.bucket_start < published_before_ || IsLate(t.bucket_start, input_closed)) continue;
    uint32_t id = t.lane_site < site_of_lane.size() ? site_of_lane[t.lane_site] : kUntracked;
    if (id == kUntracked && name_of) id = Lookup(name_of(t.lane_site));
    if (id == kUntracked) continue;
    AddTemplate(FindOrOpen(id, t.bucket_start),
                BucketTemplate{t.hash, t.level, t.first_seen, t.text, t.example});
  }
  p.max_time = std::max(p.max_time, delta.max_time);
  // Input with an event time makes the partition active again; a batch of lines that were all
  // rejected (an input of another format, a stream of garbage) does not: an idle partition
  // that speaks only garbage must not hold every other partition's buckets open.
  if (delta.carries_events()) p.idle = false;
  watermark_ = ComputeWatermark();
  Advance();
}

absl::Status WindowEngine::ApplyPartial(const PartialBucket& pb) {
  const DurationNs res = options_.resolution;
  if (pb.resolution != res || pb.sketch_alpha != options_.sketch_alpha) {
    return absl::FailedPreconditionError(StrCat(
        "a partial of ", pb.site, " was folded with resolution ", pb.resolution, " ns and sketch ",
        "accuracy ", pb.sketch_alpha, "; this stage runs ", res, " ns and ", options_.sketch_alpha,
        " (run both stages with the same windows: settings)"));
  }
  if (pb.bucket_start % res != 0 || !IsPlausibleEventTime(pb.bucket_start)) {
    return absl::InvalidArgumentError(
        StrCat("a partial of ", pb.site, " starts off the bucket grid or outside plausible time"));
  }
  if (pb.bucket_start < published_before_) {
    skipped_published_ += pb.counters.events();
    return absl::OkStatus();
  }
  if (IsLate(pb.bucket_start, INT64_MIN)) {  // stage 2 judges by its close position alone
    late_events_ += pb.counters.events();
    return absl::OkStatus();
  }
  const uint32_t id = Lookup(pb.site);
  OpenBucket* b = id != kUntracked ? FindOrOpen(id, pb.bucket_start) : AddUntracked(pb.site, pb.bucket_start);
  b->counters.Add(pb.counters);
  auto add = [b](SketchBin bin, uint64_t n) {  // decoded counts fit 32 bits (core/partial_record.cc)
    if (n > 0) b->latency.Add(bin, static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX)));
  };
  for (const auto& [bin, n] : pb.bins) add(bin, n);
  add(kZeroBin, pb.zero_count);
  // As in Apply: an untracked name's templates are not observed.
  if (id != kUntracked) {
    for (const BucketTemplate& t : pb.templates) AddTemplate(b, t);
  }
  return absl::OkStatus();
}

void WindowEngine::AdvancePartition(int partition, EventTime closed_before, bool idle) {
  Partition& p = partitions_[static_cast<size_t>(partition)];
  p.max_time = std::max(p.max_time, closed_before);
  p.idle = idle;
  watermark_ = ComputeWatermark();
  Advance();
}

void WindowEngine::EndPartition(int partition) {
  partitions_[static_cast<size_t>(partition)].ended = true;
  watermark_ = ComputeWatermark();
  Advance();
}

void WindowEngine::SetPartitionIdle(int partition, bool idle) {
  Partition& p = partitions_[static_cast<size_t>(partition)];
  if (p.idle == idle) return;
  p.idle = idle;
  watermark_ = ComputeWatermark();
  Advance();
}

void WindowEngine::ReopenPartition(int partition) {
  partitions_[static_cast<size_t>(partition)].ended = false;
  watermark_ = ComputeWatermark();
}

EventTime WindowEngine::ClosedBefore(const Partition& p) const {
  // A stage-1 partition that ended sends the end of time (detect/partial_folder.cc): it holds
  // nothing back, like an ended input. Less the lateness, it was a time of year 2262 that closed a
  // bucket there (fuzz/state_fuzz.cc: an event its readers refuse).
  if (p.max_time == INT64_MIN || p.max_time == INT64_MAX) return p.max_time;
  return p.max_time - options_.lateness;
}

EventTime WindowEngine::ComputeWatermark() const {
  EventTime w = INT64_MAX;
  EventTime newest_idle = INT64_MIN;
  bool any_open = false, any_active = false;
  for (const Partition& p : partitions_) {
    if (p.ended) continue;
    any_open = true;
    if (p.idle) {
      if (p.max_time != INT64_MIN) newest_idle = std::max(newest_idle, ClosedBefore(p));
      continue;
    }
    any_active = true;
    if (p.max_time == INT64_MIN) return INT64_MIN;  // silent partition holds everything back
    w = std::min(w, ClosedBefore(p));
  }
  if (!any_open) return INT64_MAX;   // every input ended: close everything
  if (!any_active) return newest_idle;  // all idle: as far as anyone got
  return w;
}

void WindowEngine::SettleOpenTally() {
  if (open_tally_ > 0) open_starts_[open_tally_start_] += open_tally_;
  open_tally_ = 0;
  open_tally_start_ = INT64_MIN;
}

void WindowEngine::Advance() {
  SettleOpenTally();
  const DurationNs res = options_.resolution;
  while (true) {
    EventTime candidate = next_close_;
    if (!closing_started_) {
      if (open_starts_.empty()) return;
      candidate = open_starts_.begin()->first;
    }
    if (watermark_ == INT64_MAX) {
      // End of input: close through the newest open bucket, then stop.
      if (open_starts_.empty()) return;
    } else if (watermark_ == INT64_MIN || candidate + res > watermark_) {
      return;  // the bucket [candidate, candidate + res) may still receive events
    }
    if (!closing_started_) {
      next_close_ = candidate;
      closing_started_ = true;
    }
    // Skip a stretch where every window is empty and every alert has settled (or nothing with
    // data has closed yet): evaluations there cannot change anything.
    if (last_data_end_ == INT64_MIN || next_close_ - last_data_end_ >= max_hold_ + res) {
      EventTime target;
      if (!open_starts_.empty()) {
        target = open_starts_.begin()->first;
      } else if (watermark_ != INT64_MAX) {
        target = (watermark_ / res) * res - res;
      } else {
        return;
      }
      if (target > next_close_) {
        next_close_ = target;
        continue;
      }
    }
    CloseBucketsAt(next_close_);
    next_close_ += res;
  }
}

void WindowEngine::CloseBucketsAt(EventTime start) {
  SettleOpenTally();
  SP_DCHECK(open_starts_.empty() || open_starts_.begin()->first >= start,
            "buckets close in event-time order, none left behind");
  const EventTime end = start + options_.resolution;
  ResolvePending(start);
  // Each site's parts lie apart (its Site, way, bucket, ring slot, gates): asked for ahead in
  // two steps, the addresses first, then what they point to.
  const size_t n = sites_.size();
  const size_t way = WayOf(start);
  for (uint32_t id = 0; id < n; ++id) {
    if (id + 16 < n) {
      const char* s = reinterpret_cast<const char*>(sites_[id + 16].get());
      for (size_t at = 0; at < sizeof(Site); at += 64) Prefetch(s + at);
      Prefetch(&open_ways_[id + 16].way[way]);
    }
    if (id + 8 < n) PrefetchClose(id + 8, start, way);
    CloseSite(id, start, end);
  }
  SettleOpenTally();  // (a name promoted at this close opened its bucket of this start)
  open_starts_.erase(start);
}

void WindowEngine::PrefetchClose(uint32_t id, EventTime start, size_t way) const {
  const OpenWay& open = open_ways_[id].way[way];
  if (open.start == start) PrefetchBucket(open.bucket.get(), 4);
  const Site& site = *sites_[id];
  const char* counts = reinterpret_cast<const char*>(site.window_counts.data());
  const size_t count_bytes = site.window_counts.size() * sizeof(Site::WindowCounters);
  for (size_t at = 0; at < count_bytes; at += 64) __builtin_prefetch(counts + at, 1);
  if (count_bytes > 0) __builtin_prefetch(counts + count_bytes - 1, 1);
  if (!site.detectors.empty()) __builtin_prefetch(site.detectors.data());
  const size_t slot = site.pushed % ring_capacity_;
  if (slot < site.ring.size()) __builtin_prefetch(&site.ring[slot], 1);
  // The bucket each window lets go of, and the latency windows kept live.
  for (size_t w = 0; w < window_buckets_.size(); ++w) {
    const size_t len = window_buckets_[w];
    if (len > 0 && site.pushed >= len) {
      const size_t leaving = RingBefore(slot, len);
      if (leaving < site.ring.size()) __builtin_prefetch(&site.ring[leaving]);
    }
    if (SlidesLatency(site, w)) __builtin_prefetch(&site.window_latency[latency_slot_[w]], 1);
  }
}

void WindowEngine::CloseSite(uint32_t id, EventTime start, EventTime end) {
  Site& site = *sites_[id];
  std::unique_ptr<OpenBucket> bucket = TakeOpen(id, start);
  if (bucket == nullptr && site.pushed == 0) return;  // nothing yet: no history to slide

  if (bucket != nullptr) {
    const int64_t epoch = EpochOf(start);
    if (site.act_epoch != epoch) {
      site.act_prev = site.act_epoch == epoch - 1 ? site.act_cur : 0;
      site.act_cur = 0;
      site.act_epoch = epoch;
    }
    site.act_cur += bucket->counters.events();
    if (!bucket->templates.empty()) {
      SortTemplates(&bucket->templates);
      for (const BucketTemplate& t : bucket->templates) {
        const TemplateSeen seen{start, t.hash, t.level, t.text, t.example};
        for (const uint32_t i : site.profile->on_template) {
          Detector& d = Materialize(site, i);
          d.OnTemplate(seen, EnvOf(d));
        }
      }
    }
    last_data_end_ = std::max(last_data_end_, end);
    if (bucket->counters.requests + bucket->counters.error_log_lines() > 0) site.last_data_end = end;
    if (site.first_start == INT64_MIN) site.first_start = start;
    for (const uint32_t i : site.profile->on_bucket) {
      Materialize(site, i).OnBucket(end, bucket->counters, bucket->latency, mapping_);
    }
    listener_->OnBucketClosed({site.name, start, end, &bucket->counters, &bucket->latency,
                               &mapping_, &bucket->templates});
  }

  // Slide every window by one bucket.
  const size_t slot = site.pushed % ring_capacity_;
  if (slot >= site.ring.size()) {  // filling (see MakeSite): 16 slots, doubling, never past full
    if (slot >= site.ring.capacity()) {
      site.ring.reserve(std::min(std::max<size_t>(16, 2 * site.ring.capacity()), ring_capacity_));
    }
    site.ring.resize(slot + 1);
  }
  Site::Closed& incoming = site.ring[slot];
  // The slot about to be overwritten is the oldest bucket; windows shorter than the ring have
  // already let go of it (below), the longest lets go now.
  for (size_t w = 0; w < window_lengths_.size(); ++w) {
    const size_t len = window_buckets_[w];
    if (site.pushed >= len && len > 0) {
      const Site::Closed& leaving = site.ring[RingBefore(slot, len)];
      site.window_counts[w].Subtract(leaving.counters);
      if (SlidesLatency(site, w)) {
        Site::LatencyWindow& win = site.window_latency[latency_slot_[w]];
        if (IsNarrow(win, w)) {
          win.narrow.Subtract(leaving.latency);
        } else {
          win.latency.Subtract(leaving.latency);
        }
      }
    }
  }
  if (bucket != nullptr) {
    // A bucket over 4 billion requests saturates rather than wraps.
    auto clamp32 = [](uint64_t v) { return static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX)); };
    incoming.counters = {clamp32(bucket->counters.requests), clamp32(bucket->counters.errors_5xx),
                         clamp32(bucket->counters.error_log_lines())};
    bucket->latency.ToCompact(&incoming.latency);
  } else {
    incoming.counters = Site::ClosedCounters{};
    DenseSketch empty;
    empty.ToCompact(&incoming.latency);
  }
  ++site.pushed;
  for (size_t w = 0; w < window_lengths_.size(); ++w) {
    site.window_counts[w].Add(incoming.counters);
    if (SlidesLatency(site, w)) {
      Site::LatencyWindow& win = site.window_latency[latency_slot_[w]];
      if (!IsNarrow(win, w)) {
        win.latency.Merge(incoming.latency);
      } else if (!win.narrow.Merge(incoming.latency)) {
        BuildWindow(site, w, /*wide=*/true);  // a count passed a byte: kept wide from now on
      }
    }
  }
  if (bucket != nullptr) {
    bucket->Reset();
    free_buckets_.push_back(std::move(bucket));
  }
  Evaluate(site, end);
}

void WindowEngine::Evaluate(Site& site, EventTime now) {
  struct Source final : LatencyWindowSource {
    WindowEngine* engine;
    Site* site;
    double WindowQuantile(size_t slot, double q) override {
      return engine->WindowQuantile(*site, slot, q);
    }
  } source;
  source.engine = this;
  source.site = &site;
  DetectorInput in;
  in.site = site.name;
  in.now = now;
  in.last_data_end = site.last_data_end;
  const std::vector<Gate>& gates = site.profile->gates;
  for (size_t i = 0; i < site.detectors.size(); ++i) {
    const Gate& gate = gates[i];
    const bool inactive = site.inactive(i);
    // Passed by when it would judge nothing and stay inactive (DetectorKind).
    if (inactive) {
      if (gate.young > 0 && site.first_start != INT64_MIN && now - site.first_start < gate.young) {
        continue;
      }
      if (gate.data_within > 0 &&
          (site.last_data_end == INT64_MIN || now - site.last_data_end < gate.data_within)) {
        continue;
      }
      if (gate.unless_busy && (site.detectors[i] == nullptr || !site.detectors[i]->Busy())) {
        continue;
      }
    }
    WindowView view;
    if (gate.windowed) {
      const Site::WindowCounters& win = site.window_counts[gate.slot];
      if (gate.floor > 0 && inactive) {
        const uint64_t volume = win.requests + (gate.error_lines ? win.error_log_lines : 0);
        if (volume < gate.floor) continue;
      }
      view.requests = win.requests;
      view.errors_5xx = win.errors_5xx;
      view.error_log_lines = win.error_log_lines;
      const EventTime covered_from =
          std::max(site.first_start, now - gate.spec->window);
      view.covered_s = static_cast<double>(now - covered_from) / 1e9;
      if (gate.slot < 64 && ((lazy_mask_ >> gate.slot) & 1) != 0) {  // (lazy ones are < 64)
        view.source = &source;
        view.slot = gate.slot;
      } else if (window_needs_latency_[gate.slot]) {
        view.latency = &site.window_latency[latency_slot_[gate.slot]].latency;
      }
      view.mapping = &mapping_;
      in.window = &view;
      // (A latency window read here is the read the detector would make: kept, and read at this
      // close, the same for it after.)
      if (gate.by_threshold && inactive) {
        const Evaluation e = EvaluateThreshold(*gate.spec, view);
        if (!e.evaluable || !e.condition) continue;
      }
    } else {
      in.window = nullptr;
    }
    Detector& d = Materialize(site, i);
    d.Evaluate(in, EnvOf(d));
    site.SetActive(i, !d.alert_inactive());
  }
  // A kept window nobody read for its whole length is dropped (building it again costs at most
  // one merge per bucket of that stretch).
  for (uint64_t live = site.live_windows; live != 0; live &= live - 1) {
    const auto w = static_cast<size_t>(__builtin_ctzll(live));
    Site::LatencyWindow& win = site.window_latency[latency_slot_[w]];
    if (site.pushed - win.read_at >= window_buckets_[w]) {
      site.live_windows &= ~(uint64_t{1} << w);
      win.latency = DenseSketch{};
      win.narrow.Reset();
      win.wide = false;
    }
  }
}

void WindowEngine::BuildWindow(Site& site, size_t slot, bool wide) {
  Site::LatencyWindow& win = site.window_latency[latency_slot_[slot]];
  // The window's last `len` closed buckets, as the slide would have summed them: in bytes while
  // every count fits in one.
  const size_t kept = std::min({site.pushed, window_buckets_[slot], ring_capacity_});
  const size_t at = site.pushed % ring_capacity_;
  win.wide = wide;
  if (!wide) {
    win.narrow.Clear();
    for (size_t k = kept; k > 0; --k) {
      if (!win.narrow.Merge(site.ring[RingBefore(at, k)].latency)) {
        win.wide = true;
        break;
      }
    }
  }
  if (win.wide) {
    win.narrow.Reset();
    win.latency.Clear();
    for (size_t k = kept; k > 0; --k) win.latency.Merge(site.ring[RingBefore(at, k)].latency);
  }
}

double WindowEngine::WindowQuantile(Site& site, size_t slot, double q) {
  // (Sized once, at the first read: no reference handed out before can move.)
  if (site.window_latency.size() < latency_windows_) {
    site.window_latency.resize(latency_windows_);
  }
  Site::LatencyWindow& win = site.window_latency[latency_slot_[slot]];
  if (!site.live(slot)) {
    BuildWindow(site, slot, /*wide=*/false);
    site.live_windows |= uint64_t{1} << slot;
  }
  win.read_at = site.pushed;
  return win.wide ? win.latency.Quantile(mapping_, q) : win.narrow.Quantile(mapping_, q);
}

namespace {
constexpr int kStateVersion = 1;
constexpr uint64_t kMaxSavedPartitions = 1 << 20;  // far above any topic's partition count

}  // namespace

std::string WindowEngine::ConfigFingerprint() const {
  // Resolution, sketch accuracy and the detectors (names, types, windows) shape the state.
  std::string f = StrCat("res=", options_.resolution, " alpha=", options_.sketch_alpha);
  auto add = [&f](const DetectorSpec& d) {
    StrAppend(&f, " ", d.name, ":", DetectorTypeName(d.type), ":", d.window);
    for (const BurnPair& p : d.pairs) StrAppend(&f, ":", p.long_window, "/", p.short_window);
    // The evidence a learned detector keeps (absent in deviation mode, the default).
    if (d.score != ScoreMode::kDeviation) StrAppend(&f, ":score", static_cast<int>(d.score));
  };
  for (const DetectorSpec& d : options_.detectors) add(d);
  std::vector<std::string> sites;
  for (const auto& [site, specs] : options_.site_detectors) sites.push_back(site);
  std::sort(sites.begin(), sites.end());
  for (const std::string& site : sites) {
    StrAppend(&f, " site=", site);
    for (const DetectorSpec& d : options_.site_detectors.at(site)) add(d);
  }
  const uint64_t h = Fnv1a64(f);
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string WindowEngine::SaveState(bool include_open) const {
  std::string out;
  SaveState(include_open, [&out](const std::string& piece) { out += piece; });
  return out;
}

void WindowEngine::SaveState(bool include_open,
                             const std::function<void(const std::string&)>& sink) const {
  StateWriter w;
  w.Word("sitepulse-state").Int(kStateVersion).EndLine();
  w.Word("config").Word(ConfigFingerprint()).EndLine();
  w.Word("engine").Int(closing_started_).Int(next_close_).Int(last_data_end_).Int(watermark_)
      .UInt(late_events_).UInt(sites_over_cap()).UInt(partitions_.size());
  for (const Partition& p : partitions_) w.Int(p.max_time).Int(p.ended).Int(p.idle);
  w.EndLine();
  for (size_t i = 0; i < partitions_.size(); ++i) {
    if (!partitions_[i].key.empty()) w.Word("partition_key").UInt(i).Hex(partitions_[i].key).EndLine();
  }
  for (const auto& site_ptr : sites_) {
    const Site& site = *site_ptr;
    w.Word("site").Word(site.name).Int(site.is_other).UInt(site.pushed).Int(site.first_start)
        .Int(site.last_data_end).EndLine();
    const size_t kept = std::min(site.pushed, ring_capacity_);
    for (size_t k = site.pushed - kept; k < site.pushed; ++k) {
      const Site::Closed& c = site.ring[k % ring_capacity_];
      w.Word("ring").UInt(k).UInt(c.counters.requests).UInt(c.counters.errors_5xx)
          .UInt(c.counters.error_log_lines);
      c.latency.Save(w);
      w.EndLine();
    }
    const auto id = static_cast<uint32_t>(&site_ptr - sites_.data());
    for (const OpenBucket* b : include_open ? OpenOf(id) : std::vector<const OpenBucket*>{}) {
      w.Word("open").Int(b->start).UInt(b->counters.requests).UInt(b->counters.errors_4xx)
          .UInt(b->counters.errors_5xx).UInt(b->counters.bytes);
      for (uint64_t n : b->counters.log_lines) w.UInt(n);
      b->latency.Save(w);
      w.EndLine();
      for (const BucketTemplate& t : b->templates) {
        w.Word("open_template").Int(b->start).UInt(t.hash).UInt(static_cast<uint64_t>(t.level))
            .Int(t.first_seen).Hex(t.text).Hex(t.example);
        w.EndLine();
      }
    }
    for (size_t i = 0; i < site.detectors.size(); ++i) {
      const Gate& g = site.profile->gates[i];
      if (g.set != 0) continue;
      // One never called is written as a new one is (made for the line, counting nowhere).
      std::unique_ptr<Detector> fresh;
      const Detector* d = site.detectors[i].get();
      if (d == nullptr) {
        DetectorEnv scratch = env_;
        fresh = KindOf(g.spec->type).make(*g.spec, scratch);
        d = fresh.get();
      }
      w.Word("detector").Word(g.spec->name);
      d->SaveAlert(w);
      w.EndLine();
      d->SaveRecords(w, include_open);
    }
    if (w.str().size() > (1 << 20)) w.Drain(sink);
  }
  for (const auto& [start, p] : pending_) {
    if (!include_open) break;
    for (const PendingName& n : p.names) {
      if (n.bucket == nullptr) continue;
      const OpenBucket& b = *n.bucket;
      w.Word("pending").Int(start).Word(n.name).UInt(b.counters.requests)
          .UInt(b.counters.errors_4xx).UInt(b.counters.errors_5xx).UInt(b.counters.bytes);
      for (uint64_t c : b.counters.log_lines) w.UInt(c);
      b.latency.Save(w);
      w.EndLine();
    }
    if (w.str().size() > (1 << 20)) w.Drain(sink);
  }
  w.Word("end").EndLine();
  w.Drain(sink);
}

absl::Status WindowEngine::LoadState(std::string_view state) {
  StateReader r(state);
  return LoadState(r);
}

absl::Status WindowEngine::LoadState(const std::function<bool(std::string*)>& next_line) {
  StateReader r(next_line);
  return LoadState(r);
}

namespace {
absl::Status Damaged(const StateReader& r, std::string_view what) { return StateDamaged(r, what); }
}  // namespace

absl::Status WindowEngine::LoadState(StateReader& r) {
  absl::Status st = LoadStateLines(r);
  MirrorOpen();
  for (auto& loaded : sites_) RefreshActive(*loaded);  // the alerts as loaded
  return st;
}

absl::Status WindowEngine::LoadStateLines(StateReader& r) {
  if (absl::Status st = LoadHeader(r); !st.ok()) return st;
  Site* site = nullptr;
  Detector* det = nullptr;
  std::string word;
  while (r.NextLine()) {
    if (!r.Word(&word)) continue;
    if (word == "end") return absl::OkStatus();
    absl::Status st;
    if (word == "partition_key" && site == nullptr) {
      st = LoadPartitionKey(r);
    } else if (word == "site") {
      st = LoadSiteLine(r, &site);
      det = nullptr;
    } else if (word == "pending") {
      st = LoadPending(r);
    } else if (site == nullptr) {
      return Damaged(r, "a site's data before its site line");
    } else if (word == "ring" || word == "open" || word == "open_template") {
      st = LoadBucket(word, r, site);
    } else if (word == "detector") {
      std::string name;
      if (!r.Word(&name)) return Damaged(r, "detector");
      det = nullptr;
      for (size_t i = 0; i < site->detectors.size(); ++i) {
        const Gate& g = site->profile->gates[i];
        if (g.set == 0 && g.spec->name == name) det = &Materialize(*site, i);
      }
      if (det == nullptr) return Damaged(r, StrCat("detector '", name, "' is not configured for ", site->name));
      if (!det->LoadAlert(r)) return Damaged(r, "detector state");
    } else if (det == nullptr) {
      return Damaged(r, StrCat("'", word, "' outside a detector"));
    } else {
      st = det->LoadRecord(word, r, env_);
    }
    if (!st.ok()) return st;
  }
  return Damaged(r, "the file ends before its end line");
}

absl::Status WindowEngine::LoadHeader(StateReader& r) {
  std::string word;
  int64_t version = 0;
  if (!r.NextLine() || !r.Word(&word) || word != "sitepulse-state" || !r.Int(&version)) {
    return absl::InvalidArgumentError("not a sitepulse state file");
  }
  if (version != kStateVersion) {
    return absl::FailedPreconditionError(StrCat("state format version ", version,
                                                "; this sitepulse reads version ", kStateVersion));
  }
  std::string fingerprint;
  if (!r.NextLine() || !r.Word(&word) || word != "config" || !r.Word(&fingerprint)) {
    return Damaged(r, "expected the config line");
  }
  if (fingerprint != ConfigFingerprint()) {
    return absl::FailedPreconditionError(
        "written with another configuration (windows.resolution or the detectors differ); "
        "restore that configuration, or move the state file away to start from scratch");
  }
  if (!sites_.empty()) return absl::FailedPreconditionError("the engine already has sites");
  if (!r.NextLine() || !r.Word(&word) || word != "engine") return Damaged(r, "expected the engine line");
  int64_t closing = 0;
  uint64_t nparts = 0;
  if (!r.Int(&closing) || !r.Time(&next_close_) || !r.Time(&last_data_end_) || !r.Time(&watermark_) ||
      !r.UInt(&late_events_) || !r.UInt(&sites_over_cap_) || !r.UInt(&nparts)) {
    return Damaged(r, "engine");
  }
  closing_started_ = closing != 0;
  if (closing_started_ && next_close_ % options_.resolution != 0) {
    return Damaged(r, "engine: close position off the bucket grid");
  }
  // Closed data ends at or before the next bucket to close. A later end would keep the engine
  // from skipping empty stretches, so a damaged one made it walk every bucket of the years to the
  // next line (a fuzz/state_fuzz.cc timeout in CI).
  if (closing_started_ ? last_data_end_ != INT64_MIN && last_data_end_ > next_close_
                       : last_data_end_ != INT64_MIN) {
    return Damaged(r, "engine: closed data ends after the close position");
  }
  // The count is read from the file: partitions are added as they are read, never allocated
  // ahead from it (a damaged count asked for an impossible vector: fuzz/state_fuzz.cc).
  if (nparts > kMaxSavedPartitions) return Damaged(r, "partition count");
  std::vector<Partition> saved;
  for (uint64_t i = 0; i < nparts; ++i) {
    Partition p;
    int64_t ended, idle;
    if (!r.Time(&p.max_time) || !r.Int(&ended) || !r.Int(&idle)) return Damaged(r, "partition");
    p.ended = ended != 0;
    p.idle = idle != 0;
    saved.push_back(p);
  }
  loaded_partitions_ = saved;
  // The same inputs: each continues where it was. Others: all start from the oldest position.
  if (saved.size() == partitions_.size()) {
    for (size_t i = 0; i < saved.size(); ++i) partitions_[i].max_time = saved[i].max_time;
  } else {
    EventTime oldest = INT64_MAX;
    for (const Partition& p : saved) oldest = std::min(oldest, p.max_time);
    for (Partition& p : partitions_) p.max_time = saved.empty() ? INT64_MIN : oldest;
  }
  return absl::OkStatus();
}

absl::Status WindowEngine::LoadPartitionKey(StateReader& r) {
  uint64_t i;
  std::string key;
  if (!r.UInt(&i) || !r.Hex(&key) || key.empty() || i >= loaded_partitions_.size()) {
    return Damaged(r, "partition_key");
  }
  const Partition& saved = loaded_partitions_[i];
  auto it = std::find_if(partitions_.begin(), partitions_.end(),
                         [&key](const Partition& p) { return p.key == key; });
  if (it == partitions_.end()) {
    if (partitions_.size() >= kMaxSavedPartitions) return Damaged(r, "partition_key: too many");
    partitions_.push_back({});
    it = partitions_.end() - 1;
    it->key = key;
  }
  it->max_time = saved.max_time;
  it->ended = saved.ended;
  it->idle = saved.idle;
  return absl::OkStatus();
}

absl::Status WindowEngine::LoadSiteLine(StateReader& r, Site** site) {
  std::string name;
  int64_t is_other;
  uint64_t pushed;
  EventTime first_start, last_data;
  if (!r.Word(&name) || !r.Int(&is_other) || !r.UInt(&pushed) || !r.Time(&first_start) ||
      !r.Time(&last_data)) {
    return Damaged(r, "site");
  }
  // A site's first closed bucket had data, and closing it set the engine's closed data end: an
  // engine line without one lets Advance skip ahead as if nothing had closed (a damaged file).
  if (pushed > 0 && last_data_end_ == INT64_MIN) return Damaged(r, "site: closed buckets, no closed data");
  Site* s = sites_[InternSite(name)].get();
  s->pushed = pushed;
  if (pushed > 0) s->ring.resize(ring_capacity_);  // (filled in lockstep with pushed otherwise)
  s->first_start = first_start;
  s->last_data_end = last_data;
  *site = s;
  return absl::OkStatus();
}

// An open bucket's counters and sketch, as SaveState writes them after its start.
bool WindowEngine::ReadBucket(StateReader& r, OpenBucket* b) {
  if (!r.UInt(&b->counters.requests) || !r.UInt(&b->counters.errors_4xx) ||
      !r.UInt(&b->counters.errors_5xx) || !r.UInt(&b->counters.bytes)) {
    return false;
  }
  for (uint64_t& n : b->counters.log_lines) {
    if (!r.UInt(&n)) return false;
  }
  return b->latency.Load(r);
}

bool WindowEngine::OpenRangeHolds(EventTime start) const {
  return start % options_.resolution == 0 && (!closing_started_ || start >= next_close_);
}

absl::Status WindowEngine::LoadPending(StateReader& r) {
  // An untracked name's lines in an open bucket (SiteAdmission): waiting again.
  std::string name;
  EventTime start;
  OpenBucket b;
  if (!r.Time(&start) || !r.Word(&name) || !ReadBucket(r, &b)) return Damaged(r, "pending bucket");
  if (!OpenRangeHolds(start)) return Damaged(r, "pending bucket outside the open range");
  OpenBucket* into = AddUntracked(name, start);
  into->counters.Add(b.counters);
  into->latency.Merge(b.latency);
  return absl::OkStatus();
}

absl::Status WindowEngine::LoadBucket(const std::string& word, StateReader& r, Site* site) {
  if (word == "open_template") {
    EventTime start;
    uint64_t level;
    BucketTemplate t;
    if (!r.Time(&start) || !r.UInt(&t.hash) || !r.UInt(&level) || !r.Time(&t.first_seen) ||
        !r.Hex(&t.text) || !r.Hex(&t.example) || level >= static_cast<uint64_t>(kNumLogLevels)) {
      return Damaged(r, "open_template");
    }
    t.level = static_cast<LogLevel>(level);
    for (const auto& o : site->open) {
      if (o->start != start) continue;
      if (!MergeTemplate(&o->templates, t, kMaxBucketTemplates)) return Damaged(r, "open_template: too many");
      return absl::OkStatus();
    }
    return Damaged(r, "open_template without its open bucket");
  }
  if (word == "open") {
    auto b = std::make_unique<OpenBucket>();
    if (!r.Time(&b->start) || !ReadBucket(r, b.get())) return Damaged(r, "open bucket");
    // What SaveState writes: aligned, not yet closed, one per start and site. Anything else
    // would break the close order later (fuzz/state_fuzz.cc).
    if (!OpenRangeHolds(b->start)) return Damaged(r, "open bucket outside the open range");
    for (const auto& o : site->open) {
      if (o->start == b->start) return Damaged(r, "open bucket twice");
    }
    site->open.push_back(std::move(b));  // (to its way, and counted, once the snapshot is loaded)
    return absl::OkStatus();
  }
  uint64_t k, req, e5, el;
  if (!r.UInt(&k) || !r.UInt(&req) || !r.UInt(&e5) || !r.UInt(&el)) return Damaged(r, "ring");
  if (site->ring.size() < ring_capacity_) site->ring.resize(ring_capacity_);
  Site::Closed& c = site->ring[k % ring_capacity_];
  c.counters = {static_cast<uint32_t>(req), static_cast<uint32_t>(e5), static_cast<uint32_t>(el)};
  if (!c.latency.Load(r)) return Damaged(r, "ring sketch");
  // Rebuild the running windows from the ring: each window holds its last `len` buckets.
  for (size_t w = 0; w < window_lengths_.size(); ++w) {
    const size_t len = window_buckets_[w];
    if (k + len < site->pushed) continue;
    site->window_counts[w].Add(c.counters);
    // (A lazy window is not live here.)
    if (SlidesLatency(*site, w)) site->window_latency[latency_slot_[w]].latency.Merge(c.latency);
  }
  return absl::OkStatus();
}

}  // namespace sitepulse
