#include "core/metrics.h"

#include <charconv>
#include <cmath>

namespace sitepulse {
namespace {

void AppendEscapedLabelValue(const std::string& v, std::string* out) {
  for (char c : v) {
    if (c == '\\') out->append("\\\\");
    else if (c == '"') out->append("\\\"");
    else if (c == '\n') out->append("\\n");
    else out->push_back(c);
  }
}

void AppendSeries(const std::string& name, const MetricLabels& labels, std::string* out) {
  out->append(name);
  if (labels.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(labels[i].first);
    out->append("=\"");
    AppendEscapedLabelValue(labels[i].second, out);
    out->push_back('"');
  }
  out->push_back('}');
}

void AppendValue(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

}  // namespace

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  if (f.help.empty()) f.help = help;
  f.is_counter = true;
  auto [it, inserted] = f.index.try_emplace(std::move(labels), counters_.size());
  if (inserted) counters_.emplace_back();
  return &counters_[it->second];
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  if (f.help.empty()) f.help = help;
  f.is_counter = false;
  auto [it, inserted] = f.index.try_emplace(std::move(labels), gauges_.size());
  if (inserted) gauges_.emplace_back();
  return &gauges_[it->second];
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out.reserve(4096);
  for (const auto& [name, f] : families_) {
    out.append("# HELP ").append(name).append(" ").append(f.help).append("\n");
    out.append("# TYPE ").append(name).append(f.is_counter ? " counter\n" : " gauge\n");
    for (const auto& [labels, i] : f.index) {
      AppendSeries(name, labels, &out);
      out.push_back(' ');
      if (f.is_counter) {
        out.append(std::to_string(counters_[i].value()));
      } else {
        AppendValue(gauges_[i].value(), &out);
      }
      out.push_back('\n');
    }
  }
  return out;
}

uint64_t MetricsRegistry::CounterSum(const std::string& name, const std::string& label,
                                     const std::string& value) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || !it->second.is_counter) return 0;
  uint64_t sum = 0;
  for (const auto& [labels, i] : it->second.index) {
    bool match = label.empty();
    for (const auto& [k, v] : labels) match = match || (k == label && v == value);
    if (match) sum += counters_[i].value();
  }
  return sum;
}

}  // namespace sitepulse
