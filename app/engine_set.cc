#include "app/engine_set.h"

#include "ingest/batch.h"

#include <algorithm>
#include <utility>

namespace sitepulse {

EngineSet::EngineSet(WindowEngineOptions options, WindowEngineListener* listener, Mode mode,
                     int lanes, AnomalyListener* compare_listener)
    : options_(std::move(options)),
      listener_(listener),
      compare_listener_(compare_listener),
      mode_(mode),
      lane_names_(static_cast<size_t>(std::max(lanes, 1))) {
  if (mode_ == Mode::kShared) shared_ = NewSlot();
}

EngineSet::Slot EngineSet::NewSlot() const {
  Slot s;
  s.engine = std::make_unique<WindowEngine>(options_, listener_, compare_listener_);
  s.site_of_lane.resize(lane_names_.size());
  s.generation_of_lane.resize(lane_names_.size());
  return s;
}

EngineSet::Slot& EngineSet::SlotOf(int id) {
  return mode_ == Mode::kShared ? shared_ : slots_.at(id);
}

const EngineSet::Slot& EngineSet::SlotOf(int id) const {
  return mode_ == Mode::kShared ? shared_ : slots_.at(id);
}

void EngineSet::Open(int id) {
  if (mode_ == Mode::kPerPartition && !slots_.count(id)) {
    slots_.emplace(id, NewSlot());
    partition_of_.erase(id);
  }
  WindowEngine& e = *SlotOf(id).engine;
  if (auto it = partition_of_.find(id); it != partition_of_.end()) {
    e.ReopenPartition(it->second);
  } else {
    partition_of_[id] = e.AddPartition();
  }
}

EventTime EngineSet::max_time(int id) const {
  auto it = partition_of_.find(id);
  if (it == partition_of_.end()) return INT64_MIN;
  return SlotOf(id).engine->partition_max_time(it->second);
}

void EngineSet::RegisterSites(int id, int lane, const std::vector<std::string>& new_sites) {
  auto& names = lane_names_[static_cast<size_t>(lane)];
  Slot& slot = SlotOf(id);
  auto& map = slot.site_of_lane[static_cast<size_t>(lane)];
  auto& gen = slot.generation_of_lane[static_cast<size_t>(lane)];
  names.insert(names.end(), new_sites.begin(), new_sites.end());
  if (mode_ == Mode::kShared) {
    // Every new name at once, in the lane's order: site ids do not depend on the inputs.
    for (size_t i = map.size(); i < names.size(); ++i) {
      const uint32_t site = slot.engine->Lookup(names[i]);
      map.push_back(site);
      gen.push_back(site == WindowEngine::kUntracked ? 0 : slot.engine->generation(site));
    }
  } else if (map.size() < names.size()) {
    map.resize(names.size(), UINT32_MAX);
    gen.resize(names.size(), 0);
  }
}

void EngineSet::Apply(int id, int lane, const std::vector<std::string>& new_sites,
                      const BucketDelta& delta, const std::vector<std::string>& overflow_names) {
  RegisterSites(id, lane, new_sites);
  auto& names = lane_names_[static_cast<size_t>(lane)];
  Slot& slot = SlotOf(id);
  auto& map = slot.site_of_lane[static_cast<size_t>(lane)];
  auto& gen = slot.generation_of_lane[static_cast<size_t>(lane)];
  WindowEngine& engine = *slot.engine;
  // An id cached for a lane name may be stale (its place went to another name), or the name
  // may have earned a place since (SiteAdmission): look it up again then.
  auto resolve = [&](uint32_t lane_site) {
    if (lane_site >= map.size()) return;  // an overflow name: the engine asks name_of
    uint32_t& site = map[lane_site];
    if (site != UINT32_MAX && site != WindowEngine::kUntracked &&
        engine.generation(site) == gen[lane_site]) {
      return;
    }
    const bool first = site == UINT32_MAX;
    const std::string& name = names[lane_site];
    site = engine.Lookup(name);
    gen[lane_site] = site == WindowEngine::kUntracked ? 0 : engine.generation(site);
    if (first && mode_ == Mode::kPerPartition && site != WindowEngine::kUntracked) {
      auto [home, inserted] = home_.try_emplace(name, id);
      if (!inserted && home->second != id) {
        ++split_sites_;  // its lines come from two partitions: each keeps its own windows
        home->second = id;
      }
    }
  };
  for (const DeltaEntry& e : delta.entries) resolve(e.lane_site);
  for (const DeltaTemplate& t : delta.templates) resolve(t.lane_site);
  const auto name_of = [&](uint32_t lane_site) -> std::string_view {
    if (lane_site >= kOverflowSite) return overflow_names[lane_site - kOverflowSite];
    return names[lane_site];
  };
  engine.Apply(delta, map, partition_of_.at(id), name_of);
  if (mode_ == Mode::kPerPartition && delta.max_time > newest_) {
    newest_ = delta.max_time;
    // An idle partition's engine follows the others' event time, so its silent sites are still
    // evaluated (no_data, traffic drops), as one shared engine would.
    for (auto& [other, is_idle] : idle_) {
      if (!is_idle || other == id || !slots_.count(other)) continue;
      BucketDelta tick;
      tick.max_time = newest_;
      slots_.at(other).engine->Apply(tick, {}, partition_of_.at(other));
    }
  }
}

void EngineSet::Reconfigure(
    const std::vector<DetectorSpec>& detectors,
    const absl::flat_hash_map<std::string, std::vector<DetectorSpec>>& site_detectors) {
  options_.detectors = detectors;
  options_.site_detectors = site_detectors;
  if (mode_ == Mode::kShared) {
    shared_.engine->Reconfigure(detectors, site_detectors);
    return;
  }
  for (auto& [id, slot] : slots_) slot.engine->Reconfigure(detectors, site_detectors);
}

void EngineSet::End(int id) { SlotOf(id).engine->EndPartition(partition_of_.at(id)); }

void EngineSet::SetIdle(int id, bool idle) {
  idle_[id] = idle;
  SlotOf(id).engine->SetPartitionIdle(partition_of_.at(id), idle);
}

EventTime EngineSet::closed_before(int id) const { return SlotOf(id).engine->closed_before(); }

bool EngineSet::idle(int id) const {
  auto it = idle_.find(id);
  return it != idle_.end() && it->second;
}

const WindowEngine& EngineSet::engine(int id) const { return *SlotOf(id).engine; }

void EngineSet::SkipPublishedBefore(int id, EventTime before) {
  SlotOf(id).engine->SkipPublishedBefore(before);
}

std::string EngineSet::Save(int id, bool include_open) const {
  return SlotOf(id).engine->SaveState(include_open);
}

absl::Status EngineSet::Load(int id, std::string_view state) {
  if (mode_ == Mode::kShared) {
    return absl::FailedPreconditionError("partition states need one engine per partition");
  }
  Slot fresh = NewSlot();
  const int partition = fresh.engine->AddPartition();
  if (absl::Status st = fresh.engine->LoadState(state); !st.ok()) return st;
  dropped_late_ += slots_.count(id) ? slots_.at(id).engine->late_events() : 0;
  slots_[id] = std::move(fresh);
  partition_of_[id] = partition;
  return absl::OkStatus();
}

void EngineSet::ResetShared() {
  shared_ = NewSlot();
  partition_of_.clear();
  idle_.clear();
}

void EngineSet::Drop(int id) {
  if (mode_ == Mode::kShared) {
    End(id);
    return;
  }
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  dropped_late_ += it->second.engine->late_events();
  slots_.erase(it);
  partition_of_.erase(id);
  idle_.erase(id);
  for (auto h = home_.begin(); h != home_.end();) {
    if (h->second == id) home_.erase(h++);
    else ++h;
  }
}

template <typename Count>
Count EngineSet::Sum(Count (WindowEngine::*count)() const) const {
  if (mode_ == Mode::kShared) return (shared_.engine.get()->*count)();
  Count n = 0;
  for (const auto& [id, s] : slots_) n += (s.engine.get()->*count)();
  return n;
}

uint64_t EngineSet::late_events() const {
  // Engines handed over keep counting: the total never goes back.
  return Sum(&WindowEngine::late_events) + (mode_ == Mode::kShared ? 0 : dropped_late_);
}
uint64_t EngineSet::baselines_warming() const { return Sum(&WindowEngine::baselines_warming); }
uint64_t EngineSet::sites_over_cap() const { return Sum(&WindowEngine::sites_over_cap); }
uint64_t EngineSet::sites_promoted() const { return Sum(&WindowEngine::sites_promoted); }
uint64_t EngineSet::error_templates() const { return Sum(&WindowEngine::error_templates); }
uint64_t EngineSet::error_templates_over_cap() const {
  return Sum(&WindowEngine::error_templates_over_cap);
}
size_t EngineSet::site_count() const { return Sum(&WindowEngine::site_count); }

size_t EngineSet::site_count(int id) const { return SlotOf(id).engine->site_count(); }

EventTime EngineSet::watermark() const {
  if (mode_ == Mode::kShared) return shared_.engine->watermark();
  EventTime w = INT64_MAX;
  bool any = false;
  for (const auto& [id, s] : slots_) {
    const EventTime e = s.engine->watermark();
    if (e == INT64_MIN || e == INT64_MAX) continue;
    w = std::min(w, e);
    any = true;
  }
  return any ? w : INT64_MIN;
}

}  // namespace sitepulse
