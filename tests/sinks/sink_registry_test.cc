#include "sinks/sink_registry.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace sitepulse {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RunHelp() {
  std::string out;
  FILE* p = popen(SITEPULSE_BINARY " run --help", "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// The registry is the one list of sink kinds: `run --help`, docs/configuration.md and the error
// for an unknown scheme all name every kind the way users write it.
TEST(SinkRegistryTest, HelpDocsAndErrorsNameEveryKind) {
  const std::string help = RunHelp();
  const std::string docs = ReadAll(SITEPULSE_SOURCE_DIR "/docs/configuration.md");
  ASSERT_FALSE(help.empty());
  ASSERT_FALSE(docs.empty());
  OutputSpec unknown;
  unknown.uri.scheme = "carrier-pigeon";
  unknown.uri.target = "x";
  MetricsRegistry metrics;
  const auto made = MakeAnomalySink(unknown, &metrics);
  ASSERT_FALSE(made.ok());
  const std::string error(made.status().message());
  std::set<std::string_view> names;
  for (const SinkKind& kind : SinkKinds()) {
    EXPECT_TRUE(names.insert(kind.name).second) << "two kinds named " << kind.name;
    EXPECT_NE(help.find(kind.usage), std::string::npos) << kind.usage << " not in run --help";
    EXPECT_NE(docs.find(kind.usage), std::string::npos) << kind.usage << " not in docs/configuration.md";
    EXPECT_NE(error.find(kind.usage), std::string::npos) << kind.usage << " not in: " << error;
    // Its options, in its row of the output kinds table.
    const size_t table = docs.find("| output kind |");
    ASSERT_NE(table, std::string::npos);
    const size_t row = docs.find(std::string("`") + std::string(kind.name) + "`", table);
    ASSERT_NE(row, std::string::npos) << kind.name << " has no row in docs/configuration.md";
    const size_t line_start = docs.rfind('\n', row) + 1;
    const std::string line = docs.substr(line_start, docs.find('\n', row) - line_start);
    for (std::string_view o : kind.options) {
      EXPECT_NE(line.find(o), std::string::npos) << kind.name << "." << o << " not in: " << line;
    }
  }
  EXPECT_EQ(names.size(), 5u);
}

// Each URI goes to exactly one kind.
TEST(SinkRegistryTest, EachUriHasOneKind) {
  for (const char* scheme : {"stdout", "file", "kafka", "alertmanager+http", "alertmanager+https",
                             "webhook+http", "webhook+https"}) {
    Uri u;
    u.scheme = scheme;
    int taken = 0;
    for (const SinkKind& kind : SinkKinds()) taken += kind.accepts(u);
    EXPECT_EQ(taken, 1) << scheme;
  }
}

}  // namespace
}  // namespace sitepulse
