// The Kafka source against a real broker (scripts/kafka.sh; scripts/test.sh starts it).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::Lines;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

std::string Broker() {
  const char* p = std::getenv("SITEPULSE_KAFKA_PORT");
  return std::string("127.0.0.1:") + (p != nullptr ? p : "9092");
}

std::string Script() { return std::string(SITEPULSE_SOURCE_DIR) + "/scripts/kafka.sh "; }

// A topic name no other run uses.
std::string UniqueName(const std::string& what) {
  return "sitepulse-test-" + what + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
}

// Lines (with malformed ones) produced without keys to a 3-partition topic, read back with
// --exit-at-end: the anomalies equal those of a file run over the same lines, ids included; the
// committed offsets equal the end offsets (a second run of the group reads nothing); the
// dead-letter sink holds exactly the malformed lines.
TEST(KafkaSourceTest, BackfillEqualsTheFileRunAndCommitsEverything) {
  TempDir dir;
  const std::string topic = UniqueName("logs"), group = UniqueName("group");
  auto gen = RunCommand(std::string(SITEPULSE_LOGGEN) +
                            " --format nginx --sites 3 --rps 10 --duration 30m --seed 21 --bad-lines 0.002"
                            " --incident errors,1,10m,10m --incident latency,0,15m,8m --out " +
                            dir / "raw.log",
                        dir);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  // Kafka has no empty messages from a line-oriented producer: compare on the same lines.
  {
    std::ofstream out(dir / "access.log");
    for (const std::string& line : Lines(ReadFile(dir / "raw.log"))) {
      if (!line.empty()) out << line << "\n";
    }
  }
  auto create = RunCommand(Script() + "create " + topic + " 3", dir);
  ASSERT_EQ(create.exit_code, 0) << create.out << create.err;
  // A new topic takes a moment to get its leaders; produce once it has them.
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    auto md = RunCommand("kcat -L -b " + Broker() + " -t " + topic, dir);
    ready = md.out.find("3 partitions") != std::string::npos &&
            md.out.find("leader -1") == std::string::npos && md.out.find("Err") == std::string::npos;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(ready) << "topic " << topic << " never got its leaders";
  auto produce = RunCommand("kcat -P -b " + Broker() + " -t " + topic + " -l " + dir / "access.log", dir);
  ASSERT_EQ(produce.exit_code, 0) << produce.err;
  const size_t lines = Lines(ReadFile(dir / "access.log")).size();
  auto count = RunCommand("kcat -C -b " + Broker() + " -t " + topic + " -e -q -f '.\\n'", dir);
  ASSERT_EQ(Lines(count.out).size(), lines) << "not every line reached the topic: " << produce.err;

  const std::string bin = SITEPULSE_BINARY;
  const std::string cfg = std::string(SITEPULSE_SOURCE_DIR) + "/configs/nginx.yaml";
  auto file_run = RunCommand(bin + " run --config " + cfg + " --input " + dir / "access.log" +
                                 " --output file:" + dir / "file.jsonl" + " --dlq file:" + dir / "file_dlq.jsonl",
                             dir);
  ASSERT_EQ(file_run.exit_code, 0) << file_run.err;
  auto kafka_run = RunCommand(bin + " run --config " + cfg + " --input 'kafka://" + Broker() + "/" +
                                  topic + "?group=" + group + "' --exit-at-end --output file:" +
                                  dir / "kafka.jsonl" + " --dlq file:" + dir / "kafka_dlq.jsonl",
                              dir);
  ASSERT_EQ(kafka_run.exit_code, 0) << kafka_run.err;

  const std::string expected = ReadFile(dir / "file.jsonl");
  ASSERT_GE(Lines(expected).size(), 3u) << "the incidents should have produced anomalies";
  EXPECT_EQ(ReadFile(dir / "kafka.jsonl"), expected);
  EXPECT_NE(testing::LastLine(kafka_run.err).find("\"lines\":" + std::to_string(Lines(ReadFile(dir / "access.log")).size())),
            std::string::npos) << kafka_run.err;

  // The same rejected lines, with their reasons (order differs: partitions interleave).
  auto raw_and_reason = [](const std::string& dlq) {
    std::multiset<std::string> out;
    for (const std::string& line : Lines(dlq)) {
      const size_t r = line.find("\"raw\":");
      out.insert(line.substr(0, line.find(",\"source\"")) + line.substr(r));
    }
    return out;
  };
  const auto file_dlq = raw_and_reason(ReadFile(dir / "file_dlq.jsonl"));
  EXPECT_FALSE(file_dlq.empty());
  EXPECT_EQ(raw_and_reason(ReadFile(dir / "kafka_dlq.jsonl")), file_dlq);

  // Everything was committed: the group's next run starts at the end and reads nothing.
  auto again = RunCommand(bin + " run --config " + cfg + " --input 'kafka://" + Broker() + "/" +
                              topic + "?group=" + group + "' --exit-at-end --output file:" + dir / "again.jsonl",
                          dir);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(testing::LastLine(again.err).find("\"lines\":0,"), std::string::npos) << again.err;
  auto lag = RunCommand(Script() + "lag " + group, dir);
  EXPECT_EQ(lag.exit_code, 0) << lag.err;
  int rows = 0;
  for (const std::string& line : Lines(lag.out)) {
    if (line.find(topic) == std::string::npos) continue;
    ++rows;
    EXPECT_NE(line.find(" 0 "), std::string::npos) << "lag not zero: " << line;
  }
  EXPECT_EQ(rows, 3) << lag.out;
}

}  // namespace
}  // namespace sitepulse
