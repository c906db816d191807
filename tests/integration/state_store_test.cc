// The compacted state topic (ingest/kafka_state_store.h) against the real broker: values larger
// than a message in pieces, the newest generation wins, damaged values are refused.
#include "ingest/kafka_state_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::RunCommand;
using testing::TempDir;

std::string Broker() {
  const char* p = std::getenv("SITEPULSE_KAFKA_PORT");
  return std::string("127.0.0.1:") + (p != nullptr ? p : "9092");
}

KafkaStateStoreOptions Options(const std::string& what) {
  KafkaStateStoreOptions o;
  o.brokers = Broker();
  o.topic = "sitepulse-test-store-" + what + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  o.timeout = 20 * kNanosPerSecond;
  return o;
}

std::string Value(size_t bytes, char seed) {
  std::string v(bytes, ' ');
  for (size_t i = 0; i < bytes; ++i) v[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return v;
}

TEST(KafkaStateStoreTest, LargeValuesRoundTripAndTheNewestWins) {
  const KafkaStateStoreOptions o = Options("roundtrip");
  auto store = KafkaStateStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  auto none = (*store)->Get("g/t/0");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  const std::string big = Value(1'300'000, 1);  // three pieces of 512 KiB
  ASSERT_TRUE((*store)->Put("g/t/0", big).ok());
  ASSERT_TRUE((*store)->Put("g/t/1", "partition one").ok());
  const std::string smaller = Value(700'000, 2);
  ASSERT_TRUE((*store)->Put("g/t/0", smaller).ok());

  // Another process (a new owner) reads what this one wrote.
  auto reader = KafkaStateStore::Open(o);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto got = (*reader)->Get("g/t/0");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(got->value().size(), smaller.size());
  EXPECT_TRUE(got->value() == smaller);
  auto one = (*reader)->Get("g/t/1");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ(one->value(), "partition one");

  // The topic is compacted, so old generations go away.
  TempDir dir;
  auto config = RunCommand(std::string(SITEPULSE_SOURCE_DIR) + "/scripts/kafka.sh describe " + o.topic, dir);
  EXPECT_NE(config.out.find("cleanup.policy=compact"), std::string::npos) << config.out << config.err;
}

// A store opened on a topic it has just created reads at once: the broker may answer "not
// leader" while the new partition elects its leader (a clean-clone run failed here once), and
// the store asks again within its timeout instead of failing the start.
TEST(KafkaStateStoreTest, AStoreOnATopicItJustCreatedReadsAtOnce) {
  for (int i = 0; i < 8; ++i) {
    auto store = KafkaStateStore::Open(Options("fresh" + std::to_string(i)));
    ASSERT_TRUE(store.ok()) << store.status();
    auto none = (*store)->Get("g/t/0");
    ASSERT_TRUE(none.ok()) << i << ": " << none.status();
    EXPECT_FALSE(none->has_value());
  }
}

TEST(KafkaStateStoreTest, ADamagedValueIsRefusedNotLoaded) {
  const KafkaStateStoreOptions o = Options("damaged");
  auto store = KafkaStateStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Put("g/t/0", Value(600'000, 3)).ok());
  // A manifest that names a generation whose pieces do not exist.
  TempDir dir;
  auto produce = RunCommand("printf 'g/t/0\\tsitepulse-state-manifest 7 2 10 99\\n' | kcat -P -b " +
                                Broker() + " -t " + o.topic + " -p 0 -K '\\t'",
                            dir);
  ASSERT_EQ(produce.exit_code, 0) << produce.err;
  auto got = (*store)->Get("g/t/0");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(got.status().message().find("missing"), std::string_view::npos) << got.status();
  // Not a manifest at all.
  produce = RunCommand("printf 'g/t/0\\tgarbage\\n' | kcat -P -b " + Broker() + " -t " + o.topic +
                           " -p 0 -K '\\t'",
                       dir);
  ASSERT_EQ(produce.exit_code, 0) << produce.err;
  got = (*store)->Get("g/t/0");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("not a sitepulse manifest"), std::string_view::npos);
}

TEST(KafkaStateStoreTest, FramingCarriesTheResumeOffset) {
  int64_t offset = 0;
  std::string_view body;
  ASSERT_TRUE(UnframePartitionState(FramePartitionState(12345, "engine state\n"), &offset, &body));
  EXPECT_EQ(offset, 12345);
  EXPECT_EQ(body, "engine state\n");
  EXPECT_FALSE(UnframePartitionState("sitepulse-partition x\nrest", &offset, &body));
  EXPECT_FALSE(UnframePartitionState("no header", &offset, &body));
}

}  // namespace
}  // namespace sitepulse
