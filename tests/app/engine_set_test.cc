// The engines of a run (app/engine_set.h): per-partition engines and their hand-over between
// instances of a consumer group, driven the way the pipeline drives them (lane site ids, new
// names per batch).
#include "app/engine_set.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/detect/engine_test_util.h"

namespace sitepulse {
namespace {

using testing::kS;
using testing::kT0;
using testing::Recorder;
using testing::Spec;

// Builds one batch's delta as a parse lane does: lane site ids in first-seen order, the names
// new to the lane listed with the batch.
class Lane {
 public:
  void Add(const std::string& site, EventTime t, int status = 200, double latency = 0.05) {
    uint32_t id = 0;
    while (id < names_.size() && names_[id] != site) ++id;
    if (id == names_.size()) {
      names_.push_back(site);
      new_sites_.push_back(site);
    }
    ParsedRecord r;
    r.status = static_cast<uint16_t>(status);
    const EventTime bucket = (t / (10 * kS)) * (10 * kS);
    size_t i = 0;
    while (i < delta_.entries.size() &&
           !(delta_.entries[i].lane_site == id && delta_.entries[i].bucket_start == bucket)) {
      ++i;
    }
    if (i == delta_.entries.size()) delta_.entries.push_back({id, bucket, {}});
    delta_.entries[i].counters.AddRecord(r);
    delta_.samples.push_back({static_cast<uint32_t>(i), mapping_.Bin(latency)});
    delta_.max_time = std::max(delta_.max_time, t);
  }
  void Flush(EngineSet& set, int partition) {
    set.Apply(partition, 0, new_sites_, delta_);
    new_sites_.clear();
    delta_.Clear();
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::string> new_sites_;
  BucketDelta delta_;
  SketchMapping mapping_{0.01};
};

WindowEngineOptions Options() {
  WindowEngineOptions o = testing::Options();
  o.detectors.push_back(Spec("errors", Metric::kErrorRate, 0.3, 60 * kS));
  o.detectors.push_back(Spec("slow", Metric::kP99, 0.5, 30 * kS));
  DetectorSpec drop;
  drop.name = "drop";
  drop.type = DetectorType::kTrafficDrop;
  drop.metric = Metric::kRequestRate;
  drop.window = 60 * kS;
  drop.direction = Direction::kDrop;
  drop.baseline.learn_for = 10 * 60 * kS;
  o.detectors.push_back(drop);
  DetectorSpec silent;
  silent.name = "silent";
  silent.type = DetectorType::kNoData;
  silent.no_data_after = 2 * 60 * kS;
  o.detectors.push_back(silent);
  return o;
}

// Partition 0 carries site a, partition 1 site b; buckets [from, to), 3 requests each; errors in
// buckets 40..52; b: slow in 70..80, and a third of its traffic from 110 on (a baseline's drop).
void Feed(Lane& lane, int partition, int from, int to) {
  const std::string site = partition == 0 ? "a" : "b";
  for (int b = from; b < to; ++b) {
    for (int k = 0; k < 3; ++k) {
      if (partition == 1 && b >= 110 && k > 0) continue;
      const EventTime t = kT0 + b * 10 * kS + k * 3 * kS;
      const bool slow = partition == 1 && b >= 70 && b < 80;
      lane.Add(site, t, b >= 40 && b < 52 && k < 2 ? 503 : 200, slow ? 2.0 : 0.05);
    }
  }
}

using Key = std::tuple<std::string, std::string, int, EventTime, std::string, double>;
std::multiset<Key> Keys(const std::vector<Anomaly>& anomalies) {
  std::multiset<Key> out;
  for (const Anomaly& a : anomalies) {
    out.insert({a.site, a.detector, static_cast<int>(a.state), a.at, a.id, a.value});
  }
  return out;
}

// Both partitions in one instance from start to end.
std::multiset<Key> OneInstance() {
  Recorder rec;
  EngineSet set(Options(), &rec, EngineSet::Mode::kPerPartition, 1);
  set.Open(0);
  set.Open(1);
  Lane lane;
  for (int b = 0; b < 150; b += 5) {
    Feed(lane, 0, b, b + 5);
    lane.Flush(set, 0);
    Feed(lane, 1, b, b + 5);
    lane.Flush(set, 1);
  }
  set.End(0);
  set.End(1);
  return Keys(rec.anomalies);
}

// Partition 1 moves to another instance at bucket `at` (mid-incident, mid-learning): the two
// instances together give exactly what one gives, and the old owner says nothing more about b.
TEST(EngineSetTest, APartitionHandedOverMidIncidentGivesTheSameAnomalies) {
  const std::multiset<Key> want = OneInstance();
  ASSERT_GE(want.size(), 6u);  // errors on a and b, slow and drop on b: firing and resolved
  for (const int at : {45, 75, 100, 115}) {
    Recorder old_rec, new_rec;
    EngineSet old_owner(Options(), &old_rec, EngineSet::Mode::kPerPartition, 1);
    old_owner.Open(0);
    old_owner.Open(1);
    Lane lane;
    for (int b = 0; b < at; b += 5) {
      Feed(lane, 0, b, std::min(b + 5, at));
      lane.Flush(old_owner, 0);
      Feed(lane, 1, b, std::min(b + 5, at));
      lane.Flush(old_owner, 1);
    }
    const std::string state = old_owner.Save(1, /*include_open=*/true);
    old_owner.Drop(1);
    const size_t before = old_rec.anomalies.size();

    EngineSet new_owner(Options(), &new_rec, EngineSet::Mode::kPerPartition, 1);
    new_owner.Open(1);
    ASSERT_TRUE(new_owner.Load(1, state).ok());
    EXPECT_EQ(new_owner.site_count(1), 1u);
    Lane other_lane;  // the new instance's lanes know nothing of b yet
    for (int b = at; b < 150; b += 5) {
      Feed(lane, 0, b, b + 5);
      lane.Flush(old_owner, 0);
      Feed(other_lane, 1, b, b + 5);
      other_lane.Flush(new_owner, 1);
    }
    old_owner.End(0);
    new_owner.End(1);

    std::vector<Anomaly> all = old_rec.anomalies;
    all.insert(all.end(), new_rec.anomalies.begin(), new_rec.anomalies.end());
    EXPECT_EQ(Keys(all), want) << "hand-over at bucket " << at;
    for (size_t i = before; i < old_rec.anomalies.size(); ++i) {
      EXPECT_EQ(old_rec.anomalies[i].site, "a") << "hand-over at bucket " << at;
    }
    EXPECT_EQ(new_owner.late_events(), 0u);
  }
}

// Per-partition engines keep their own event time: a partition read far behind another (a
// backfill, a slow broker) does not hold the other's alerts back, and loses nothing. One shared
// engine waits for the slowest partition.
TEST(EngineSetTest, APartitionBehindTheOthersDoesNotHoldThemBack) {
  for (const auto mode : {EngineSet::Mode::kPerPartition, EngineSet::Mode::kShared}) {
    Recorder rec;
    EngineSet set(Options(), &rec, mode, 1);
    set.Open(0);
    set.Open(1);
    Lane lane;
    Feed(lane, 1, 0, 10);
    lane.Flush(set, 1);
    Feed(lane, 0, 0, 100);  // partition 0 read 15 minutes further
    lane.Flush(set, 0);
    size_t closed_a = 0;
    bool errors_on_a = false;
    for (const auto& b : rec.buckets) closed_a += b.site == "a";
    for (const Anomaly& a : rec.anomalies) errors_on_a |= a.site == "a" && a.detector == "errors";
    if (mode == EngineSet::Mode::kPerPartition) {
      EXPECT_EQ(closed_a, 96u);  // up to the newest line (996 s) less 30 s of lateness
      EXPECT_TRUE(errors_on_a);  // the incident at buckets 40..52 is reported already
    } else {
      EXPECT_LE(closed_a, 10u);  // held back by partition 1
      EXPECT_FALSE(errors_on_a);
    }
    Feed(lane, 1, 10, 100);  // partition 1 catches up
    lane.Flush(set, 1);
    EXPECT_EQ(set.late_events(), 0u);
  }
}

// An idle partition's engine follows the others' event time, so a site that went silent there
// still gets its no_data alert, as in one shared engine.
TEST(EngineSetTest, AnIdlePartitionFollowsTheOthersSoSilenceIsNoticed) {
  Recorder rec;
  EngineSet set(Options(), &rec, EngineSet::Mode::kPerPartition, 1);
  set.Open(0);
  set.Open(1);
  Lane lane;
  for (int b = 0; b < 30; b += 5) {
    Feed(lane, 0, b, b + 5);
    lane.Flush(set, 0);
    Feed(lane, 1, b, b + 5);
    lane.Flush(set, 1);
  }
  set.SetIdle(1, true);  // b stops sending; its partition is read to its end and quiet
  for (int b = 30; b < 60; b += 5) {
    Feed(lane, 0, b, b + 5);
    lane.Flush(set, 0);
  }
  bool noticed = false;
  for (const Anomaly& a : rec.anomalies) {
    if (a.site == "b" && a.detector == "silent" && a.state == AlertState::kNoData) noticed = true;
  }
  EXPECT_TRUE(noticed);
  EXPECT_EQ(set.split_sites(), 0u);
}

// A producer that does not key by site puts a site on two partitions: counted, and each
// partition keeps its own windows for it.
TEST(EngineSetTest, ASiteOnTwoPartitionsIsCounted) {
  Recorder rec;
  EngineSet set(Options(), &rec, EngineSet::Mode::kPerPartition, 1);
  set.Open(0);
  set.Open(1);
  Lane lane;
  lane.Add("a", kT0);
  lane.Flush(set, 0);
  lane.Add("a", kT0 + kS);
  lane.Flush(set, 1);
  EXPECT_EQ(set.split_sites(), 1u);
  EXPECT_EQ(set.site_count(), 2u);
}

TEST(EngineSetTest, AStateOfAnotherConfigurationIsRefused) {
  Recorder rec;
  EngineSet old_owner(Options(), &rec, EngineSet::Mode::kPerPartition, 1);
  old_owner.Open(1);
  Lane lane;
  Feed(lane, 1, 0, 10);
  lane.Flush(old_owner, 1);
  const std::string state = old_owner.Save(1, true);
  WindowEngineOptions other = Options();
  other.detectors.pop_back();
  EngineSet new_owner(other, &rec, EngineSet::Mode::kPerPartition, 1);
  new_owner.Open(1);
  const absl::Status st = new_owner.Load(1, state);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("another configuration"), std::string_view::npos) << st;
  EXPECT_FALSE(new_owner.Load(1, state.substr(0, state.size() / 2)).ok());
  EXPECT_FALSE(new_owner.Load(1, "nonsense").ok());
}

}  // namespace
}  // namespace sitepulse
