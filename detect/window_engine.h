// The window engine: per-site event-time buckets, the watermark that closes them, the sliding
// windows built from closed buckets, and the detectors evaluated at every bucket close. It is the
// single-threaded heart behind the parse lanes: lanes fold lines into BucketDeltas, the pipeline
// feeds the deltas here in input order, so results do not depend on the number of lanes.
//
// Threading: not thread-safe; owned by the pipeline's coordinator thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/state_codec.h"
#include "core/anomaly.h"
#include "core/bucket_counters.h"
#include "core/bucket_delta.h"
#include "core/bucket_template.h"
#include "core/partial_record.h"
#include "detect/detector.h"
#include "detect/latency_sketch.h"
#include "detect/site_admission.h"
#include "detect/threshold_detector.h"

namespace sitepulse {

inline constexpr std::string_view kOtherSite = "__other__";

struct WindowEngineOptions {
  DurationNs resolution = 10 * kNanosPerSecond;
  DurationNs lateness = 30 * kNanosPerSecond;
  size_t max_sites = 10000;
  double sketch_alpha = 0.01;
  std::vector<DetectorSpec> detectors;
  // Full detector lists for sites whose settings differ from `detectors`.
  absl::flat_hash_map<std::string, std::vector<DetectorSpec>> site_detectors;
  // `replay --compare`: a second configuration's detectors, evaluated over the same windows at
  // the same bucket closes; their events go to the engine's compare listener. Not part of
  // snapshots (replay keeps no state).
  bool compare = false;
  std::vector<DetectorSpec> compare_detectors;
  absl::flat_hash_map<std::string, std::vector<DetectorSpec>> compare_site_detectors;
  // Every judgement of the run's detectors (not the compare set's) goes here too (replay).
  EvaluationObserver* observer = nullptr;
  // Tests: every latency window kept running at every close, as before windows were kept only
  // while read (the events must be the same).
  bool eager_latency_windows = false;
  // Tests: every detector called at every close, as before detectors a window's volume cannot
  // wake were skipped (DetectorKind::volume_gated; the events and the state must be the same).
  bool evaluate_every_close = false;
};

// A closed bucket of one site, as handed to the stats sink.
struct ClosedBucketView {
  std::string_view site;
  EventTime start = 0;
  EventTime end = 0;
  const BucketCounters* counters = nullptr;
  const DenseSketch* latency = nullptr;
  const SketchMapping* mapping = nullptr;
  // The error templates seen in it (earliest sighting each, in the order the detectors got them).
  const std::vector<BucketTemplate>* templates = nullptr;
};

class WindowEngineListener : public AnomalyListener {
 public:
  virtual void OnBucketClosed(const ClosedBucketView& bucket) = 0;
};

class WindowEngine {
 public:
  WindowEngine(WindowEngineOptions options, WindowEngineListener* listener,
               AnomalyListener* compare_listener = nullptr);
  ~WindowEngine();
  WindowEngine(const WindowEngine&) = delete;
  WindowEngine& operator=(const WindowEngine&) = delete;

  // Registers an input partition; the watermark is the minimum over partitions not yet ended.
  // A partition with a `key` (stage 2's per stage-1 partition watermarks) keeps its place in
  // snapshots: LoadState gives a keyed partition of the snapshot back its position, adding it
  // when the engine has none with that key.
  int AddPartition(std::string key = {});
  size_t partition_count() const { return partitions_.size(); }
  const std::string& partition_key(int partition) const {
    return partitions_[static_cast<size_t>(partition)].key;
  }
  bool partition_ended(int partition) const { return partitions_[static_cast<size_t>(partition)].ended; }
  bool partition_idle(int partition) const { return partitions_[static_cast<size_t>(partition)].idle; }
  // Engine id of a site name. Past max_sites every new name maps to the counted "__other__".
  uint32_t InternSite(std::string_view name);
  // A site name that has no place (max_sites are tracked): its lines wait per bucket as a
  // candidate (SiteAdmission) until the bucket closes.
  static constexpr uint32_t kUntracked = UINT32_MAX - 1;
  // Engine id of a tracked site (created while there is room, or for a site listed under
  // `sites:`), or kUntracked.
  uint32_t Lookup(std::string_view name);
  // Bumped when a site's place goes to another name (ids cached elsewhere must be looked up
  // again).
  uint32_t generation(uint32_t id) const { return generations_[id]; }
  // Folds one batch of one partition in, then advances the watermark and closes what it passes.
  // site_of_lane maps DeltaEntry::lane_site to engine site ids (kUntracked, or lane sites past
  // its end: name_of gives the name).
  void Apply(const BucketDelta& delta, const std::vector<uint32_t>& site_of_lane, int partition,
             const std::function<std::string_view(uint32_t)>& name_of = nullptr);
  // Stage 2 of a two-stage run (docs/kafka.md, "Two stages"; the engine runs with lateness 0
  // and one partition per stage-1 partition): a stage-1 partial of one (site, bucket) is folded
  // into that open bucket as its lines would have been. One for a bucket already closed here is
  // counted late. An error (nothing folded) when its resolution or sketch accuracy is not this
  // engine's, or its start is off the grid.
  absl::Status ApplyPartial(const PartialBucket& partial);
  // A stage-1 partition's watermark record: every partial of it for a bucket starting before
  // `closed_before` has been applied. Closes what that lets close.
  void AdvancePartition(int partition, EventTime closed_before, bool idle);
  // Stage 1, a partition taken over: its previous owner published every bucket starting before
  // `before` (its commit says so). Lines for those buckets, read again from the commit, are
  // skipped (counted in skipped_published(), not late).
  void SkipPublishedBefore(EventTime before) { published_before_ = before; }
  uint64_t skipped_published() const { return skipped_published_; }
  // Lines stage 1 judged late (carried by watermark records).
  void AddLate(uint64_t lines) { late_events_ += lines; }
  // A configuration reload (docs/configuration.md, "Reloading"): the run's detectors become
  // `detectors` and `site_detectors`. A detector whose settings are equal to one of the site's
  // current detectors keeps its alert state and learned baseline; a changed or new one starts
  // fresh; a changed or removed one that is firing is resolved first. Windows, open buckets and
  // sites are kept; windows of a new length are rebuilt from the closed buckets kept (a window
  // longer than any before holds only the history the longest one kept, until it fills).
  void Reconfigure(std::vector<DetectorSpec> detectors,
                   absl::flat_hash_map<std::string, std::vector<DetectorSpec>> site_detectors);
  // The partition has no more input; when every partition has ended, every bucket is closed.
  void EndPartition(int partition);
  // An ended partition receives input again (a Kafka partition assigned back).
  void ReopenPartition(int partition);
  // An idle partition (no input for a while, judged by the caller's clock; a file read to its
  // end with a state file) stops holding the watermark back; its next input with an event time
  // makes it active again (lines that were all rejected do not). If every open partition is
  // idle, the watermark is the newest of theirs, so buckets still close once input stops
  // everywhere.
  void SetPartitionIdle(int partition, bool idle);
  // Every bucket starting before this time is closed and evaluated (INT64_MIN: none yet).
  EventTime closed_before() const { return closing_started_ ? next_close_ : INT64_MIN; }

  // State snapshots (docs/detectors.md): everything the engine knows (sites, open buckets,
  // closed-bucket rings, alert states, learned baselines, burn-rate rings, event time), as
  // versioned text. LoadState works on a fresh engine with its partitions added and refuses a
  // snapshot written with another format version or an incompatible configuration.
  // Without open buckets (Kafka: their events are not committed and will be read again).
  std::string SaveState(bool include_open = true) const;
  // The same, handed to `sink` in pieces of about 1 MiB (memory stays flat for large states).
  void SaveState(bool include_open, const std::function<void(const std::string&)>& sink) const;
  absl::Status LoadState(std::string_view state);
  // The same, from lines handed out one at a time (a file read piece by piece).
  absl::Status LoadState(const std::function<bool(std::string*)>& next_line);
  // What must match between the writer and the reader of a snapshot.
  std::string ConfigFingerprint() const;

 private:
  absl::Status LoadState(StateReader& r);
  absl::Status LoadStateLines(StateReader& r);

 public:

  uint64_t late_events() const { return late_events_; }
  // (site, detector) baselines still learning: no verdict from them yet.
  uint64_t baselines_warming() const { return env_.baselines_warming; }
  // Distinct names folded into __other__: restored from a snapshot plus this run's estimate.
  uint64_t sites_over_cap() const {
    return sites_over_cap_ + static_cast<uint64_t>(folded_.Estimate() + 0.5);
  }
  // Distinct names folded into __other__ (HyperLogLog estimate), and names given a place past
  // the cap by their traffic.
  double sites_folded_estimate() const { return folded_.Estimate(); }
  uint64_t sites_promoted() const { return sites_promoted_; }
  // new_error_template: templates known over all sites, and new ones not tracked because a
  // site's max_templates was reached.
  uint64_t error_templates() const { return env_.error_templates; }
  uint64_t error_templates_over_cap() const { return env_.error_templates_over_cap; }
  size_t site_count() const { return sites_.size(); }
  // (site, detector) objects made: a detector is made at the engine's first call to it, so a
  // quiet site's volume-gated detectors hold no memory (a walk over every site).
  size_t detectors_made() const;
  EventTime watermark() const { return watermark_; }
  // The newest event time a partition delivered (INT64_MIN: none yet).
  EventTime partition_max_time(int partition) const {
    return partitions_[static_cast<size_t>(partition)].max_time;
  }
  const SketchMapping& mapping() const { return mapping_; }

 private:
  struct OpenBucket;
  struct Site;
  // LoadState's parts: the version, config and engine lines; one site's line, buckets and
  // detector records; a candidate's waiting bucket.
  absl::Status LoadHeader(StateReader& r);
  absl::Status LoadSiteLine(StateReader& r, Site** site);
  absl::Status LoadPending(StateReader& r);
  absl::Status LoadBucket(const std::string& word, StateReader& r, Site* site);
  bool ReadBucket(StateReader& r, OpenBucket* b);
  // A restored open bucket's start is on the grid and not yet closed (as SaveState writes).
  bool OpenRangeHolds(EventTime start) const;

  Site& NewSite(std::string_view name);
  std::unique_ptr<Site> MakeSite(std::string_view name);
  // A detector of a site, with its settings and configuration set (null: never called yet).
  struct HeldDetector {
    std::unique_ptr<Detector> detector;
    const DetectorSpec* spec = nullptr;
    uint8_t set = 0;
  };
  // The detectors of configuration `set` for `site` (its profile's), appended to its list (each
  // reused from `reuse` when one there has equal settings; a reused one's spec is set to null
  // there). Each new one is null until Materialize.
  void AddDetectors(Site& site, uint8_t set, std::vector<HeldDetector>* reuse);
  // Detector i of the site, made now if it was never called (as new: its kind's make).
  Detector& Materialize(Site& site, size_t i);
  // A detector leaves (its place goes to another name; or, `retire`, a reload changed or
  // removed it: an alert it holds firing is resolved at `now`): undo what it counts.
  void ReleaseDetector(const HeldDetector& held, std::string_view site, EventTime now, bool retire);
  // Site::active from the site's detectors, as they are now.
  void RefreshActive(Site& site) const;
  // The detectors of a site of that name (and standing), shared by every site with the same
  // detector lists; built at its first use.
  struct Gate;
  struct Profile;
  const Profile& ProfileFor(const std::string& site, bool is_other);
  struct ProfileKey {
    const void* run = nullptr;
    const void* compare = nullptr;
    bool is_other = false;
    bool operator==(const ProfileKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const ProfileKey& k) {
      return H::combine(std::move(h), k.run, k.compare, k.is_other);
    }
  };
  absl::flat_hash_map<ProfileKey, std::unique_ptr<Profile>> profiles_;
  const std::vector<DetectorSpec>& SpecsFor(const std::string& site, uint8_t set) const;
  // Windows, ring length and hold time from every configured spec.
  void ComputeGeometry();
  size_t WindowSlot(DurationNs window) const;
  // A site's ring and running windows laid out again for the current geometry.
  void Relayout(Site& site, size_t old_capacity);
  // What the detectors of configuration `set` share (0: the run's, 1: the compare set's).
  DetectorEnv& EnvOf(uint8_t set) { return set == 0 ? env_ : compare_env_; }
  DetectorEnv& EnvOf(const Detector& d) { return EnvOf(d.set); }
  // The lines of untracked names in one open bucket: the first kPendingPerBucket names by
  // first appearance wait here; the rest go to __other__ at once.
  struct PendingName {
    // Special members defined where OpenBucket is complete (clang instantiates them here).
    PendingName(std::string n, uint64_t h, std::unique_ptr<OpenBucket> b);
    PendingName(PendingName&&) noexcept;
    PendingName& operator=(PendingName&&) noexcept;
    ~PendingName();
    std::string name;
    uint64_t hash = 0;
    std::unique_ptr<OpenBucket> bucket;
  };
  struct Pending {
    std::vector<PendingName> names;
    absl::flat_hash_map<uint64_t, uint32_t> index;  // hash -> names[i]
  };
  static constexpr size_t kPendingPerBucket = 4096;
  OpenBucket* AddUntracked(std::string_view name, EventTime start);
  uint32_t OtherSite();
  // At the close of `start`: each candidate's events there count; those that earned a place get
  // one (the bucket and their later ones move to it), the rest fold into __other__.
  void ResolvePending(EventTime start);
  // A place for `name`: a free one, or the least active evictable site's if `guaranteed` beats
  // it. kUntracked if none.
  uint32_t Promote(std::string_view name, uint64_t guaranteed, EventTime now);
  uint64_t Activity(const Site& site, int64_t epoch) const;
  bool Evictable(uint32_t id) const;
  // The site's open bucket starting at `start`, opened if there is none (open_ways_ first).
  OpenBucket* FindOrOpen(uint32_t id, EventTime start);
  // Whether a bucket is closed here, or too old for its input (the input's newest time minus the
  // lateness; INT64_MIN: no input bound): its lines, and their templates, are late.
  bool IsLate(EventTime start, EventTime input_closed) const;
  // A template sighting into an open bucket (past kMaxBucketTemplates: counted, not kept).
  void AddTemplate(OpenBucket* b, const BucketTemplate& t);
  // A closing bucket's templates travel in one partial record (two-stage runs).
  static constexpr size_t kMaxBucketTemplates = kMaxPartialTemplates;
  std::unique_ptr<OpenBucket> FreeBucket(EventTime start);  // recycled when one is free
  void Advance();
  void CloseBucketsAt(EventTime start);
  void CloseSite(uint32_t id, EventTime start, EventTime end);
  // Every detector of the site, at the close of a bucket ending at `now`.
  void Evaluate(Site& site, EventTime now);
  // Quantile q of lazy latency window `slot` (Evaluate's LatencyWindowSource), its running sum
  // built from the ring when it is not kept.
  double WindowQuantile(Site& site, size_t slot, double q);
  // Lazy window `slot`'s running sum from the ring: in bytes unless `wide` or a count does not
  // fit one.
  void BuildWindow(Site& site, size_t slot, bool wide);
  // Whether window w of the site is a lazy one summed in bytes.
  template <typename Window>
  bool IsNarrow(const Window& win, size_t w) const {
    return w < 64 && ((lazy_mask_ >> w) & 1) != 0 && !win.wide;
  }
  // Whether window w's running latency is slid at this close (needed, and kept or eager).
  bool SlidesLatency(const Site& site, size_t w) const;
  EventTime ComputeWatermark() const;

  WindowEngineOptions options_;
  WindowEngineListener* listener_;
  SketchMapping mapping_;
  DetectorEnv env_;  // what every detector shares (listener, counts)
  DetectorEnv compare_env_;  // the same for the compare set's detectors
  std::vector<DurationNs> window_lengths_;  // distinct detector windows
  std::vector<bool> window_needs_latency_;
  // Latency windows kept running only while detectors read them (Site::Running::live).
  std::vector<bool> window_lazy_;
  bool any_eager_latency_ = false;  // some window's latency is slid from a site's first bucket
  // The same two for the first 64 windows, as bits: lazy latency windows, and eager ones.
  uint64_t lazy_mask_ = 0;
  uint64_t eager_latency_mask_ = 0;
  // Per window, its place in Site::window_latency (UINT32_MAX: a window of counts only), and
  // how many windows have one.
  std::vector<uint32_t> latency_slot_;
  size_t latency_windows_ = 0;
  std::vector<size_t> window_buckets_;  // each window's length in buckets
  size_t ring_capacity_ = 1;                // buckets kept per site
  // The ring place `len` buckets before place `slot` (len <= ring_capacity_; no division: a
  // close finds the bucket each window lets go of this way).
  size_t RingBefore(size_t slot, size_t len) const {
    return slot >= len ? slot - len : slot + ring_capacity_ - len;
  }
  DurationNs max_hold_ = 0;                 // longest window + keep_firing_for

  std::vector<std::unique_ptr<Site>> sites_;
  // Per site id, beside sites_ (dense: a lookup is no pointer chase): the generation (bumped
  // when the place goes to another name), and the site's open buckets, each at way
  // (start / resolution) % kOpenWays of its OpenWays (two cache lines), so applying a line and
  // opening or closing a bucket touch neither the Site nor a list. A bucket whose way is taken
  // (more than kOpenWays open: a wide lateness, or inputs far apart) waits in Site::open;
  // open_spilled_ counts those, and while a site has none a start missing from its ways is not
  // open.
  static constexpr size_t kOpenWays = 8;
  struct OpenWay {
    EventTime start = INT64_MIN;
    std::unique_ptr<OpenBucket> bucket;
  };
  struct alignas(64) OpenWays {
    OpenWay way[kOpenWays];
  };
  // Remembered for the last start asked (a batch's entries share a few starts, each asked for
  // twice, and a close asks for one): no 64-bit division per line.
  size_t WayOf(EventTime start) const {
    if (start != way_memo_start_) {
      way_memo_start_ = start;
      way_memo_ =
          static_cast<size_t>(static_cast<uint64_t>(start / options_.resolution) % kOpenWays);
    }
    return way_memo_;
  }
  mutable EventTime way_memo_start_ = 0;  // (way 0, as for any resolution)
  mutable size_t way_memo_ = 0;
  // A bucket opened for site `id`: at its way when free, else in Site::open.
  OpenBucket* AddOpen(uint32_t id, std::unique_ptr<OpenBucket> b);
  // The site's open bucket starting at `start`, taken out (null: none).
  std::unique_ptr<OpenBucket> TakeOpen(uint32_t id, EventTime start);
  bool HasOpen(uint32_t id) const;
  // Asks the CPU for what closing site `id`'s bucket at `start` (in way `way`) touches first.
  void PrefetchClose(uint32_t id, EventTime start, size_t way) const;
  // Every open bucket of the site, by start (snapshots).
  std::vector<const OpenBucket*> OpenOf(uint32_t id) const;
  // A snapshot's open buckets (loaded into Site::open, not yet counted in open_starts_) to
  // their ways, counted.
  void MirrorOpen();
  std::vector<uint32_t> generations_;
  std::vector<OpenWays> open_ways_;
  std::vector<uint32_t> open_spilled_;
  absl::flat_hash_map<std::string, uint32_t> site_ids_;
  uint32_t other_site_ = UINT32_MAX;
  size_t tracked_ = 0;  // sites other than __other__ and those listed under `sites:`
  SpaceSaving candidates_{4096};
  HyperLogLog folded_;
  absl::btree_map<EventTime, Pending> pending_;
  int64_t candidates_epoch_ = INT64_MIN;
  uint64_t sites_promoted_ = 0;
  std::vector<uint32_t> entry_site_;  // per delta entry (Apply)
  // Evictable sites by activity, found once per bucket close that needs them.
  std::vector<std::pair<uint64_t, uint32_t>> evictable_;
  size_t evictable_next_ = 0;
  EventTime evictable_at_ = INT64_MIN;

  std::vector<std::unique_ptr<OpenBucket>> free_buckets_;
  absl::btree_map<EventTime, uint32_t> open_starts_;  // start -> how many sites have it open
  // Buckets opened at open_tally_start_ not yet added to open_starts_ (read only after
  // SettleOpenTally: Advance and CloseBucketsAt settle it first).
  EventTime open_tally_start_ = INT64_MIN;
  uint32_t open_tally_ = 0;
  void SettleOpenTally();
  std::vector<OpenBucket*> scratch_;

  struct Partition {
    EventTime max_time = INT64_MIN;
    bool ended = false;
    bool idle = false;
    std::string key;
  };
  // Event time before which the input closed buckets: its newest time less the lateness
  // (INT64_MIN: nothing seen; INT64_MAX: the end of time, an ended stage-1 partition).
  EventTime ClosedBefore(const Partition& p) const;
  std::vector<Partition> partitions_;
  std::vector<Partition> loaded_partitions_;  // LoadState: the snapshot's, for partition_key lines
  absl::Status LoadPartitionKey(StateReader& r);
  EventTime watermark_ = INT64_MIN;
  bool closing_started_ = false;
  EventTime next_close_ = 0;  // start of the oldest bucket not yet closed
  EventTime last_data_end_ = INT64_MIN;

  uint64_t late_events_ = 0;
  uint64_t sites_over_cap_ = 0;
  EventTime published_before_ = INT64_MIN;
  uint64_t skipped_published_ = 0;
};

}  // namespace sitepulse
