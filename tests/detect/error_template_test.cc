// Error-message templates (masking) and the new_error_template detector in the window engine.
#include "detect/error_template.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detect/window_engine.h"
#include "tests/detect/engine_test_util.h"

namespace sitepulse {
namespace {

using testing::Feeder;
using testing::kMin;
using testing::kS;
using testing::kT0;
using testing::Options;
using testing::Recorder;

std::string Template(std::string_view message) {
  std::string out;
  MaskErrorTemplate(message, &out);
  return out;
}

TEST(ErrorTemplateTest, MasksWhatVariesAndKeepsWhatNamesTheFailure) {
  EXPECT_EQ(Template("upstream timed out (110: Connection timed out) while reading response "
                     "header from upstream"),
            "upstream timed out (<*>: Connection timed out) while reading response header from "
            "upstream");
  EXPECT_EQ(Template("open() \"/var/www/html/favicon.ico\" failed (2: No such file or directory)"),
            "open() \"<*>\" failed (<*>: No such file or directory)");
  // Addresses, ports, ids, hex and paths; an Apache error code is kept.
  EXPECT_EQ(Template("AH01071: Got error 'Primary script unknown' from 10.0.0.7:9000"),
            "AH01071: Got error '<*>' from <*>:<*>");
  EXPECT_EQ(Template("request 5f0c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6 failed after 1532ms"),
            "request <*> failed after <*>");
  EXPECT_EQ(Template("cannot read /etc/app/config.yaml"), "cannot read <*>");
  EXPECT_EQ(Template("user=alice  retries=3\tstate=FAILED"), "user=alice retries=<*> state=FAILED");
  // An apostrophe inside a word is text, not a quote.
  EXPECT_EQ(Template("can't connect to db"), "can't connect to db");
  // A 41-byte token is an id even without digits.
  EXPECT_EQ(Template("token abcdefghijklmnopqrstuvwxyzabcdefghijklmno rejected"),
            "token <*> rejected");
}

TEST(ErrorTemplateTest, SameTemplateSameHashAndBlankIsNoTemplate) {
  std::string a, b, c;
  const uint64_t ha = MaskErrorTemplate("connect() to 10.0.1.2:8080 failed (111: refused)", &a);
  const uint64_t hb = MaskErrorTemplate("connect() to 10.9.9.9:443 failed (111: refused)", &b);
  const uint64_t hc = MaskErrorTemplate("connect() to 10.0.1.2:8080 failed (113: no route)", &c);
  EXPECT_EQ(ha, hb);
  EXPECT_EQ(a, b);
  EXPECT_NE(ha, hc);
  EXPECT_NE(ha, 0u);
  std::string blank;
  EXPECT_EQ(MaskErrorTemplate("  \t ", &blank), 0u);
  EXPECT_EQ(blank, "");
}

TEST(ErrorTemplateTest, LongTextIsCutOnACharacterBoundary) {
  std::string text(kMaxTemplateTextBytes - 1, 'a');
  text += "\xC3\xA9 and more";  // é straddles the cut
  const std::string cut = ShortTemplateText(text);
  EXPECT_EQ(cut, std::string(kMaxTemplateTextBytes - 1, 'a') + "...");
  EXPECT_EQ(ShortTemplateText("short"), "short");
}

DetectorSpec NewTemplates(DurationNs learn_for = 30 * kMin) {
  DetectorSpec s;
  s.name = "new_error_message";
  s.type = DetectorType::kNewErrorTemplate;
  s.severity = "ticket";
  s.template_learn_for = learn_for;
  s.keep_firing_for = 20 * kMin;
  s.labels = {{"team", "web"}};
  return s;
}

const char* kUsual[] = {"upstream timed out (110: Connection timed out) while reading upstream",
                        "open() \"/srv/a.png\" failed (2: No such file or directory)"};

// An hour of the usual messages (varying in their numbers and paths) from one site, one line a
// minute, plus whatever `extra` adds at minute m.
template <typename Extra>
void Hour(Feeder& f, int p, EventTime from, Extra&& extra) {
  for (int m = 0; m < 60; ++m) {
    const EventTime t = from + m * kMin;
    f.AddErrorMessage(0, t, m % 2 == 0 ? kUsual[0]
                                       : "open() \"/srv/b" + std::to_string(m) +
                                             ".png\" failed (2: No such file or directory)");
    extra(m, t);
    f.Flush(p);
  }
}

TEST(NewErrorTemplateTest, LearnsSilentlyThenTicketsEachNewMessageOnceAndResolvesIt) {
  WindowEngineOptions o = Options();
  o.detectors.push_back(NewTemplates());
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"shop"});
  // Minute 30 (learning ends at 30): a new failure, logged three times.
  Hour(f, p, kT0, [&](int m, EventTime t) {
    if (m == 10) f.AddErrorMessage(0, t + kS, "worker 7 exited on signal 9");  // still learning
    if (m == 30) {
      f.AddErrorMessage(0, t + 2 * kS, "connect() to 10.0.0.1:5432 failed (111: refused)");
      f.AddErrorMessage(0, t + 3 * kS, "connect() to 10.0.0.2:5432 failed (111: refused)");
    }
    if (m == 31) f.AddErrorMessage(0, t + kS, "connect() to 10.0.0.3:5432 failed (111: refused)");
  });
  engine.EndPartition(p);

  ASSERT_EQ(rec.anomalies.size(), 2u);
  const Anomaly& fire = rec.anomalies[0];
  EXPECT_EQ(fire.state, AlertState::kFiring);
  EXPECT_EQ(fire.detector, "new_error_message");
  EXPECT_EQ(fire.severity, "ticket");
  EXPECT_EQ(fire.metric, "new_error_template");
  EXPECT_EQ(fire.started_at, kT0 + 30 * kMin);
  EXPECT_EQ(fire.at, kT0 + 30 * kMin + 10 * kS);  // the close of its bucket
  const std::vector<std::pair<std::string, std::string>> labels = {
      {"team", "web"}, {"template", "connect() to <*>:<*> failed (<*>: refused)"}};
  EXPECT_EQ(fire.labels, labels);
  EXPECT_NE(fire.summary.find("New error message on shop: \"connect() to <*>:<*> failed (<*>: "
                              "refused)\""),
            std::string::npos)
      << fire.summary;
  EXPECT_NE(fire.summary.find("for example \"connect() to 10.0.0.1:5432 failed (111: refused)\""),
            std::string::npos)
      << fire.summary;
  const Anomaly& resolve = rec.anomalies[1];
  EXPECT_EQ(resolve.state, AlertState::kResolved);
  EXPECT_EQ(resolve.id, fire.id);
  EXPECT_EQ(resolve.labels, labels);
  EXPECT_EQ(resolve.at, fire.at + 20 * kMin);  // keep_firing_for later
  EXPECT_EQ(engine.error_templates(), 4u);
}

TEST(NewErrorTemplateTest, LevelsBelowMinLevelAndSitesPastTheCapAreNotReported) {
  WindowEngineOptions o = Options();
  DetectorSpec s = NewTemplates(10 * kMin);
  s.max_templates = 3;
  o.detectors.push_back(s);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"shop"});
  Hour(f, p, kT0, [&](int m, EventTime t) {
    if (m == 20) f.AddErrorMessage(0, t + kS, "cache miss storm", LogLevel::kWarn);  // below
    if (m == 30) f.AddErrorMessage(0, t + kS, "disk full on /data");  // third: reported
    if (m == 35) f.AddErrorMessage(0, t + kS, "certificate expired");  // fourth: over the cap
  });
  engine.EndPartition(p);
  ASSERT_EQ(rec.anomalies.size(), 2u);  // fired and resolved
  EXPECT_EQ(rec.anomalies[0].labels.back().second, "disk full on <*>");
  EXPECT_EQ(engine.error_templates(), 3u);
  EXPECT_EQ(engine.error_templates_over_cap(), 1u);
}

// A run split by a snapshot (with open buckets, as the state file keeps them) reports the same
// events as one run; a snapshot without open buckets (Kafka: their lines are read again) does
// not count a template first seen in them as known.
TEST(NewErrorTemplateTest, SnapshotsKeepKnownActiveAndPendingTemplates) {
  WindowEngineOptions o = Options();
  o.detectors.push_back(NewTemplates());
  auto second_hour = [](Feeder& f, int p, EventTime from) {
    Hour(f, p, from, [&](int m, EventTime t) {
      if (m == 5) f.AddErrorMessage(0, t + kS, "lock wait timeout on table orders");
    });
  };
  Recorder whole;
  {
    WindowEngine engine(o, &whole);
    const int p = engine.AddPartition();
    Feeder f(&engine, {"shop"});
    Hour(f, p, kT0, [&](int m, EventTime t) {
      if (m == 59) f.AddErrorMessage(0, t + 2 * kS, "pool exhausted (size 20)");
    });
    second_hour(f, p, kT0 + 60 * kMin);
    engine.EndPartition(p);
  }
  ASSERT_EQ(whole.anomalies.size(), 4u);  // two new messages, each fired and resolved

  for (const bool include_open : {true, false}) {
    Recorder split;
    std::string state;
    {
      WindowEngine engine(o, &split);
      const int p = engine.AddPartition();
      Feeder f(&engine, {"shop"});
      Hour(f, p, kT0, [&](int m, EventTime t) {
        if (m == 59) f.AddErrorMessage(0, t + 2 * kS, "pool exhausted (size 20)");
      });
      state = engine.SaveState(include_open);  // minute 59's bucket is still open
    }
    WindowEngine engine(o, &split);
    const int p = engine.AddPartition();
    ASSERT_TRUE(engine.LoadState(state).ok());
    Feeder f(&engine, {"shop"});
    if (!include_open) {
      // What Kafka reads again: the lines after the last commit (minute 59 on).
      f.AddErrorMessage(0, kT0 + 59 * kMin, kUsual[1]);
      f.AddErrorMessage(0, kT0 + 59 * kMin + 2 * kS, "pool exhausted (size 20)");
      f.Flush(p);
    }
    second_hour(f, p, kT0 + 60 * kMin);
    engine.EndPartition(p);
    ASSERT_EQ(split.anomalies.size(), whole.anomalies.size()) << include_open;
    for (size_t i = 0; i < whole.anomalies.size(); ++i) {
      EXPECT_EQ(split.anomalies[i].id, whole.anomalies[i].id) << include_open << " " << i;
      EXPECT_EQ(split.anomalies[i].state, whole.anomalies[i].state);
      EXPECT_EQ(split.anomalies[i].at, whole.anomalies[i].at);
      EXPECT_EQ(split.anomalies[i].summary, whole.anomalies[i].summary);
    }
  }
}

// Which line of a bucket a template's event quotes does not depend on the order its lines came
// in (nor on how lanes, batches or a two-stage run split them): the earliest sighting wins. And
// a late line's template is dropped with its line.
TEST(NewErrorTemplateTest, TheEarliestSightingIsQuotedWhateverTheOrderAndLateLinesAreDropped) {
  auto run = [](bool reversed) {
    WindowEngineOptions o = Options();
    o.detectors.push_back(NewTemplates());
    Recorder rec;
    WindowEngine engine(o, &rec);
    const int p = engine.AddPartition();
    Feeder f(&engine, {"shop"});
    Hour(f, p, kT0, [&](int m, EventTime t) {
      if (m == 30) {
        const char* early = "connect() to 10.0.0.1:5432 failed (111: refused)";
        const char* later = "connect() to 10.0.0.2:5432 failed (111: refused)";
        if (reversed) {
          f.AddErrorMessage(0, t + 3 * kS, later);
          f.Flush(p);  // another batch
          f.AddErrorMessage(0, t + 2 * kS, early);
        } else {
          f.AddErrorMessage(0, t + 2 * kS, early);
          f.AddErrorMessage(0, t + 3 * kS, later);
        }
      }
      // Five minutes late (lateness is 30 s): counted late, its new template not reported.
      if (m == 40) f.AddErrorMessage(0, t - 5 * kMin, "disk full on /data");
    });
    engine.EndPartition(p);
    return rec.anomalies;
  };
  const std::vector<Anomaly> in_order = run(false), reversed = run(true);
  ASSERT_EQ(in_order.size(), 2u);  // the connect failure fired and resolved; nothing else
  ASSERT_EQ(reversed.size(), in_order.size());
  for (size_t i = 0; i < in_order.size(); ++i) {
    EXPECT_EQ(reversed[i].id, in_order[i].id);
    EXPECT_EQ(reversed[i].summary, in_order[i].summary);
  }
  EXPECT_NE(reversed[0].summary.find("for example \"connect() to 10.0.0.1:5432"), std::string::npos)
      << reversed[0].summary;
}

}  // namespace
}  // namespace sitepulse
