#include "detect/detectors/new_error_template.h"

#include <algorithm>
#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "core/strings.h"

namespace sitepulse {
namespace {

class NewErrorTemplateDetector : public Detector {
 public:
  using Detector::Detector;

  void OnTemplate(const TemplateSeen& t, DetectorEnv& env) override;
  void Evaluate(const DetectorInput& in, DetectorEnv& env) override;
  bool Busy() const override {
    return Detector::Busy() || !active_.empty() || !pending_.empty();
  }
  void SaveRecords(StateWriter& w, bool include_open) const override;
  absl::Status LoadRecord(const std::string& word, StateReader& r, DetectorEnv& env) override;

 protected:
  // Not used: each template is its own incident (Evaluate builds the events).
  std::string Summary(std::string_view, const DetectorOutcome&, AlertState) const override {
    return "";
  }

 private:
  Anomaly Event(const DetectorInput& in, const DetectorEnv& env, AlertState state,
                EventTime started_at, const std::string& id, const std::string& text) const;

  absl::flat_hash_set<uint64_t> known_;
  EventTime learn_until_ = INT64_MIN;  // INT64_MIN: no line yet
  struct New {
    EventTime bucket_start = 0;
    uint64_t hash = 0;
    std::string text, example;
  };
  std::vector<New> pending_;  // new, reported when their bucket closes
  struct Active {
    EventTime started_at = 0;  // the bucket it was first seen in
    EventTime fired_at = 0;
    std::string id, text;
  };
  std::vector<Active> active_;  // reported, resolved keep_firing_for later
};

void NewErrorTemplateDetector::OnTemplate(const TemplateSeen& t, DetectorEnv& env) {
  if (t.level < spec_->min_level || known_.contains(t.hash)) return;
  if (known_.size() >= spec_->max_templates) {
    ++env.error_templates_over_cap;
    return;
  }
  known_.insert(t.hash);
  ++env.error_templates;
  // The site's first such line starts its learning period; templates seen in it are known.
  if (learn_until_ == INT64_MIN) learn_until_ = t.bucket_start + spec_->template_learn_for;
  if (t.bucket_start < learn_until_) return;
  pending_.push_back({t.bucket_start, t.hash, std::string(t.text), std::string(t.example)});
}

Anomaly NewErrorTemplateDetector::Event(const DetectorInput& in, const DetectorEnv& env,
                                        AlertState state, EventTime started_at,
                                        const std::string& id, const std::string& text) const {
  const DetectorSpec& spec = *spec_;
  Anomaly a;
  a.id = id;
  a.site = std::string(in.site);
  a.detector = spec.name;
  a.state = state;
  a.severity = spec.severity;
  a.metric = "new_error_template";
  a.value = state == AlertState::kFiring ? 1 : 0;
  a.threshold = 0;
  a.window_s = env.resolution / kNanosPerSecond;
  a.started_at = started_at;
  a.at = in.now;
  // The template is the label that tells one incident of this detector from another; it
  // replaces a configured label of that name.
  for (const auto& [key, value] : spec.labels) {
    if (key != "template") a.labels.emplace_back(key, value);
  }
  a.labels.emplace_back("template", text);
  std::sort(a.labels.begin(), a.labels.end());
  return a;
}

void NewErrorTemplateDetector::Evaluate(const DetectorInput& in, DetectorEnv& env) {
  const DetectorSpec& spec = *spec_;
  // Resolve what has been reported for long enough (in the order it fired), then report what
  // is new.
  size_t still_active = 0;
  for (size_t i = 0; i < active_.size(); ++i) {
    Active& act = active_[i];
    if (in.now - act.fired_at < spec.keep_firing_for) {
      if (still_active != i) active_[still_active] = std::move(act);
      ++still_active;
      continue;
    }
    Anomaly a = Event(in, env, AlertState::kResolved, act.started_at, act.id, act.text);
    a.summary = StrCat("The error message \"", act.text, "\" on ", in.site,
                       " is no longer new (first seen ", FormatRfc3339(act.started_at), ")");
    env.listener->OnAnomaly(a);
  }
  active_.resize(still_active);
  size_t kept = 0;
  for (size_t i = 0; i < pending_.size(); ++i) {
    New& n = pending_[i];
    if (n.bucket_start >= in.now) {  // its bucket is still open
      if (kept != i) pending_[kept] = std::move(n);
      ++kept;
      continue;
    }
    char hex[20];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(n.hash));
    const std::string id = MakeIncidentId(in.site, StrCat(spec.name, ":", hex), n.bucket_start);
    Anomaly a = Event(in, env, AlertState::kFiring, n.bucket_start, id, n.text);
    const size_t others = known_.size() - 1;
    a.summary = StrCat("New error message on ", in.site, ": \"", n.text, "\" (first seen ",
                       FormatRfc3339(n.bucket_start), "; ", others,
                       others == 1 ? " other template known" : " other templates known",
                       "); for example \"", n.example, "\"");
    env.listener->OnAnomaly(a);
    active_.push_back({n.bucket_start, in.now, id, n.text});
  }
  pending_.resize(kept);
}

void NewErrorTemplateDetector::SaveRecords(StateWriter& w, bool include_open) const {
  // Without open buckets (Kafka), the templates first seen in them are not known yet: their
  // lines will be read again, and must be new again then.
  std::vector<uint64_t> known;
  for (uint64_t h : known_) {
    const bool in_open = std::any_of(pending_.begin(), pending_.end(),
                                     [h](const New& n) { return n.hash == h; });
    if (include_open || !in_open) known.push_back(h);
  }
  std::sort(known.begin(), known.end());
  w.Word("templates").Int(learn_until_).UInt(known.size());
  for (uint64_t h : known) w.UInt(h);
  w.EndLine();
  for (const New& n : pending_) {
    if (!include_open) break;
    w.Word("template_new").Int(n.bucket_start).UInt(n.hash).Hex(n.text).Hex(n.example);
    w.EndLine();
  }
  for (const Active& a : active_) {
    w.Word("template_active").Int(a.started_at).Int(a.fired_at).Word(a.id).Hex(a.text);
    w.EndLine();
  }
}

absl::Status NewErrorTemplateDetector::LoadRecord(const std::string& word, StateReader& r,
                                                  DetectorEnv& env) {
  if (word == "templates") {
    uint64_t n;
    if (!r.Time(&learn_until_) || !r.UInt(&n)) return StateDamaged(r, "templates");
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t h;
      if (!r.UInt(&h)) return StateDamaged(r, "templates");
      if (known_.insert(h).second) ++env.error_templates;
    }
  } else if (word == "template_new") {
    New t;
    if (!r.Time(&t.bucket_start) || !r.UInt(&t.hash) || !r.Hex(&t.text) || !r.Hex(&t.example)) {
      return StateDamaged(r, "template_new");
    }
    pending_.push_back(std::move(t));
  } else if (word == "template_active") {
    Active a;
    if (!r.Time(&a.started_at) || !r.Time(&a.fired_at) || !r.Word(&a.id) || !r.Hex(&a.text)) {
      return StateDamaged(r, "template_active");
    }
    active_.push_back(std::move(a));
  } else {
    return Detector::LoadRecord(word, r, env);
  }
  return absl::OkStatus();
}

std::vector<DetectorOption> Options() {
  using T = DetectorOption::Type;
  return WithCommonOptions(
      {
          {"min_level", T::kText, 0, 0, false,
           [](DetectorSpec* s, const OptionValue& v) {
             if (ParseLogLevel(v.text, &s->min_level)) return std::string();
             return std::string(
                 "must be a log level (debug, info, notice, warn, error, crit, alert, emerg)");
           }},
          {"learn_for", T::kDuration, 0, 0, false,
           [](DetectorSpec* s, const OptionValue& v) {
             s->template_learn_for = v.duration;
             return std::string();
           }},
          {"max_templates", T::kCount, 1, 1000000, false,
           [](DetectorSpec* s, const OptionValue& v) {
             s->max_templates = v.count;
             return std::string();
           }},
      },
      /*with_for=*/false);  // each template fires at once
}

}  // namespace

const DetectorKind& NewErrorTemplateKind() {
  static const DetectorKind kind = {
      .type = DetectorType::kNewErrorTemplate,
      .name = "new_error_template",
      .doc = "an error message never seen before on the site (after a learning period)",
      .options = Options(),
      .defaults =
          [](DetectorSpec* s) {
            s->severity = "ticket";
            s->keep_firing_for = 3600 * kNanosPerSecond;
          },
      .reads_templates = true,
      .idle_unless_busy = true,
      .hold = [](const DetectorSpec& s, DurationNs resolution) { return s.keep_firing_for + resolution; },
      .for_other = [](const DetectorSpec&) { return false; },
      .make = [](const DetectorSpec& s, DetectorEnv&) -> std::unique_ptr<Detector> {
        return std::make_unique<NewErrorTemplateDetector>(s);
      },
  };
  return kind;
}

}  // namespace sitepulse
