// The replay report in a real browser: headless Chromium (Debian's `chromium`) opens it from
// file://, the DOM it builds has the tables, a chart per expected site and the incidents; a
// screenshot is not blank; the page requests nothing from the network.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

const std::string kChromium =
    "chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run --disable-default-apps "
    "--user-data-dir=";

TEST(ReplayBrowserTest, ChromiumRendersTheReportOffline) {
  TempDir dir;
  ASSERT_EQ(RunCommand("command -v chromium", dir).exit_code, 0)
      << "chromium is not installed (scripts/install-deps.sh installs it)";
  auto gen = RunCommand(std::string(SITEPULSE_LOGGEN) +
                            " --format nginx --sites 4 --rps 10 --duration 1h --seed 11"
                            " --incident latency,0,15m,8m --incident errors,1,35m,6m --out " +
                            dir / "access.log",
                        dir);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  std::ofstream(dir / "labels.jsonl")
      << "{\"site\":\"shop.example.com\",\"start\":\"2025-01-01T00:15:00Z\",\"end\":\"2025-01-01T00:23:00Z\",\"kind\":\"latency\"}\n"
      << "{\"site\":\"api.example.com\",\"start\":\"2025-01-01T00:35:00Z\",\"end\":\"2025-01-01T00:41:00Z\",\"kind\":\"errors\"}\n";
  auto r = RunCommand(std::string(SITEPULSE_BINARY) + " replay --config " + SITEPULSE_SOURCE_DIR +
                          "/configs/nginx.yaml --input " + dir / "access.log" + " --labels " +
                          dir / "labels.jsonl" + " --report " + dir / "report.html",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string url = "file://" + dir / "report.html";
  auto dom = RunCommand(kChromium + dir / "profile --log-net-log=" + dir / "net.json --dump-dom " + url, dir);
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_NE(dom.out.find("<table id=\"detectors\">"), std::string::npos) << dom.out.substr(0, 2000);
  for (const char* site : {"shop.example.com", "api.example.com"}) {
    EXPECT_NE(dom.out.find(std::string("<svg class=\"chart\" data-site=\"") + site), std::string::npos) << site;
  }
  EXPECT_NE(dom.out.find("class=\"label\""), std::string::npos) << "incident windows drawn";
  EXPECT_NE(dom.out.find("class=\"firing\""), std::string::npos) << "firing spans drawn";
  // Every HTTP request in the browser's net log is Chromium's own service traffic, none the page's.
  const std::string net = ReadFile(dir / "net.json");
  ASSERT_FALSE(net.empty());
  const std::regex url_re("\"url\":\"(https?://[^\"/]+)");
  for (auto it = std::sregex_iterator(net.begin(), net.end(), url_re); it != std::sregex_iterator(); ++it) {
    const std::string host = (*it)[1].str();
    const bool chromium_own = std::regex_search(host, std::regex("(google\\.com|googleapis\\.com|gvt1\\.com)(:\\d+)?$"));
    EXPECT_TRUE(chromium_own) << "the report requested " << host;
  }
  // Not blank: the screenshot of the report is far larger than that of an empty page.
  auto shot = RunCommand(kChromium + dir / "profile2 --window-size=1200,1600 --screenshot=" + dir / "r.png " + url, dir);
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  std::ofstream(dir / "blank.html") << "<!DOCTYPE html><html><body></body></html>";
  auto blank = RunCommand(kChromium + dir / "profile3 --window-size=1200,1600 --screenshot=" + dir / "b.png file://" +
                              dir / "blank.html",
                          dir);
  ASSERT_EQ(blank.exit_code, 0) << blank.err;
  const size_t report_png = ReadFile(dir / "r.png").size(), blank_png = ReadFile(dir / "b.png").size();
  EXPECT_GT(report_png, 10 * blank_png) << report_png << " vs blank " << blank_png;
}

}  // namespace
}  // namespace sitepulse
