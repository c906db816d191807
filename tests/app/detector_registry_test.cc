// The detector kind table is the one list: config parsing, `check`, `run --help`, `series` and
// docs/configuration.md all follow it.
#include "detect/detector_kind.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "app/config.h"
#include "core/strings.h"
#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

// What a command prints on stdout.
std::string Output(const std::string& command) {
  testing::TempDir dir;
  return testing::RunCommand(command, dir).out;
}

// docs/configuration.md's row of a kind: "| `name` | ... |".
std::string DocRow(const std::string& docs, std::string_view name) {
  const std::string start = StrCat("| `", name, "` |");
  const size_t at = docs.find(start);
  if (at == std::string::npos) return "";
  return docs.substr(at, docs.find('\n', at) - at);
}

TEST(DetectorRegistryTest, EveryTypeIsOneKind) {
  std::set<std::string_view> names;
  for (int t = 0; t <= static_cast<int>(DetectorType::kNewErrorTemplate); ++t) {
    const DetectorType type = static_cast<DetectorType>(t);
    EXPECT_EQ(KindOf(type).type, type) << "type " << t << " has no kind";
  }
  for (const DetectorKind* k : DetectorKinds()) {
    EXPECT_TRUE(names.insert(k->name).second) << "two kinds named " << k->name;
    EXPECT_NE(k->make, nullptr) << k->name;
    EXPECT_NE(k->hold, nullptr) << k->name;
    EXPECT_NE(k->for_other, nullptr) << k->name;
    std::set<std::string_view> keys;
    for (const DetectorOption& o : k->options) {
      EXPECT_TRUE(keys.insert(o.key).second) << k->name << ": key " << o.key << " twice";
      EXPECT_NE(o.set, nullptr) << k->name << "." << o.key;
    }
    for (std::string_view r : k->required) EXPECT_TRUE(keys.contains(r)) << k->name << ": " << r;
  }
  EXPECT_EQ(names.size(), 7u);
}

TEST(DetectorRegistryTest, HelpDocsCheckAndErrorsNameEveryKindAndKey) {
  const std::string help = Output(StrCat(SITEPULSE_BINARY, " run --help"));
  const std::string kinds = Output(StrCat(SITEPULSE_BINARY, " check --kinds"));
  const std::string docs = testing::ReadFile(SITEPULSE_SOURCE_DIR "/docs/configuration.md");
  ASSERT_FALSE(help.empty());
  ASSERT_FALSE(docs.empty());
  const ConfigResult bad = ParseConfigString(
      "detectors:\n  - name: x\n    type: carrier_pigeon\n", "test.yaml");
  ASSERT_FALSE(bad.ok());
  const std::string error = bad.FormatErrors();
  for (const DetectorKind* k : DetectorKinds()) {
    EXPECT_NE(help.find(StrCat("  ", k->name, " ")), std::string::npos) << k->name << " not in run --help";
    EXPECT_NE(help.find(k->doc), std::string::npos) << k->doc;
    EXPECT_NE(error.find(k->name), std::string::npos) << k->name << " not in: " << error;
    EXPECT_NE(kinds.find(StrCat(k->name, ": ", k->doc)), std::string::npos) << kinds;
    const std::string row = DocRow(docs, k->name);
    ASSERT_FALSE(row.empty()) << k->name << " has no row in docs/configuration.md";
    for (const DetectorOption& o : k->options) {
      const bool required =
          std::find(k->required.begin(), k->required.end(), o.key) != k->required.end();
      const std::string key = StrCat(" ", o.key, required ? "*" : "", ",");
      const std::string last = StrCat(" ", o.key, required ? "*" : "", " |");
      EXPECT_TRUE(row.find(key) != std::string::npos || row.find(last) != std::string::npos)
          << k->name << "." << o.key << " missing from: " << row;
    }
  }
}

// A key of another kind is refused, naming the keys this kind has (from the table).
TEST(DetectorRegistryTest, AKeyOfAnotherKindIsRefusedWithTheKnownOnes) {
  const ConfigResult r = ParseConfigString(
      "detectors:\n  - name: quiet\n    type: no_data\n    after: 5m\n    threshold: 3\n",
      "test.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.FormatErrors().find("detectors[0].threshold: unknown key (known: name, type, for, "
                                  "keep_firing_for, severity, enabled, after, labels)"),
            std::string::npos)
      << r.FormatErrors();
}

}  // namespace
}  // namespace sitepulse
