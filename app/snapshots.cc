#include "app/snapshots.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/log.h"
#include "core/strings.h"

namespace sitepulse {

Snapshots::Snapshots(const PipelineOptions& options, EngineSet* engines, PipelineSinks* sinks,
                     KafkaCheckpointer* checkpointer, bool state_topic,
                     KafkaStateStore* engine_store, std::string engine_key)
    : options_(options),
      engines_(engines),
      sinks_(sinks),
      checkpointer_(checkpointer),
      state_topic_(state_topic),
      engine_store_(engine_store),
      engine_key_(std::move(engine_key)) {
  if (engine_store_ != nullptr) {
    state_errors_ = options.metrics->GetCounter(
        "sitepulse_state_errors_total", "State snapshots that could not be written or read");
  }
}

absl::Status Snapshots::Restore() {
  if (!options_.state_file.empty()) {
    if (FILE* f = std::fopen(options_.state_file.c_str(), "rb")) {
      // Line by line: a large state is never held whole in memory next to the restored one.
      const absl::Status st = engines_->shared().LoadState([f](std::string* line) {
        line->clear();
        int c;
        while ((c = std::getc(f)) != EOF && c != '\n') line->push_back(static_cast<char>(c));
        return c != EOF || !line->empty();
      });
      std::fclose(f);
      if (!st.ok()) {
        return absl::FailedPreconditionError(
            StrCat("state file ", options_.state_file, ": ", st.message()));
      }
      SP_LOG(kInfo, "snapshots", "restored %zu sites from %s", engines_->site_count(),
             options_.state_file);
    }
  }
  if (checkpointer_ != nullptr && !options_.state_file.empty()) {
    checkpointer_->SetSharedSnapshotBound(engines_->shared().closed_before());
  }
  // Until the first assignment says whether the state is kept, nothing may be committed.
  if (checkpointer_ != nullptr && engine_store_ != nullptr) {
    checkpointer_->SetSharedSnapshotBound(INT64_MIN);
  }
  last_save_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

void Snapshots::OnAssigned(bool owns_every_partition) {
  if (engine_store_ == nullptr) return;
  if (engine_state_decided_) {
    if (engine_state_on_ && !owns_every_partition) {
      StopKeepingKafkaState("another consumer joined the group");
    }
    return;
  }
  engine_state_decided_ = true;
  if (!owns_every_partition) {
    StopKeepingKafkaState("this consumer shares the topic with other members of its group");
    return;
  }
  engine_state_on_ = true;
  RestoreFromKafka();
  checkpointer_->SetSharedSnapshotBound(engines_->shared().closed_before());
  last_save_ = std::chrono::steady_clock::now();
}

void Snapshots::RestoreFromKafka() {
  auto value = engine_store_->Get(engine_key_);
  if (!value.ok()) {
    state_errors_->Add();
    SP_LOG(kError, "snapshots", "state %s in %s could not be read, starting empty: %s",
           engine_key_, engine_store_->topic(), value.status().message());
    return;
  }
  if (!value->has_value()) {
    SP_LOG(kInfo, "snapshots", "no state under %s in %s: a first start", engine_key_,
           engine_store_->topic());
    return;
  }
  const absl::Status st = engines_->shared().LoadState(**value);
  if (!st.ok()) {
    // A state from another configuration, or damaged: a restart loop would help nobody.
    state_errors_->Add();
    engines_->ResetShared();
    SP_LOG(kError, "snapshots", "state %s in %s is not usable, starting empty: %s", engine_key_,
           engine_store_->topic(), st.message());
    return;
  }
  SP_LOG(kInfo, "snapshots", "restored %zu sites from %s in %s", engines_->site_count(),
         engine_key_, engine_store_->topic());
}

void Snapshots::StopKeepingKafkaState(const char* why) {
  engine_state_on_ = false;
  checkpointer_->SetSharedSnapshotBound(INT64_MAX);
  SP_LOG(kWarning, "snapshots",
         "%s: its windows are no longer kept in %s (a restart starts them empty). Each instance "
         "of a group needs a topic keyed by site and --state kafka:TOPIC (docs/kafka.md)",
         why, engine_store_->topic());
}

bool Snapshots::Save() {
  if (!keeps_state()) return true;
  // What the snapshot calls evaluated must have reached the sinks: a restart does not produce
  // it again. Not yet: the next interval tries again.
  if (checkpointer_ != nullptr && !sinks_->Delivered(/*wait=*/false)) return true;
  if (state_topic_) return checkpointer_->SavePartitionStates();
  if (engine_state_on_) return SaveToKafka();
  return SaveFile();
}

bool Snapshots::SaveToKafka() {
  const EventTime closed_before = engines_->shared().closed_before();
  std::string value;
  engines_->shared().SaveState(/*include_open=*/false,
                               [&](const std::string& piece) { value.append(piece); });
  const absl::Status st = engine_store_->Put(engine_key_, value);
  if (!st.ok()) {
    state_errors_->Add();
    SP_LOG(kWarning, "snapshots", "cannot write state %s to %s: %s", engine_key_,
           engine_store_->topic(), st.message());
    return false;
  }
  checkpointer_->SetSharedSnapshotBound(closed_before);
  return true;
}

bool Snapshots::SaveFile() {
  const EventTime closed_before = engines_->shared().closed_before();
  const std::string tmp = options_.state_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  bool ok = f != nullptr;
  if (ok) {
    engines_->shared().SaveState(/*include_open=*/checkpointer_ == nullptr,
                                 [&](const std::string& piece) {
                                   ok = ok && std::fwrite(piece.data(), 1, piece.size(), f) == piece.size();
                                 });
    ok = std::fclose(f) == 0 && ok;
  }
  ok = ok && std::rename(tmp.c_str(), options_.state_file.c_str()) == 0;
  if (!ok) {
    SP_LOG(kWarning, "snapshots", "cannot write state file %s: %s", options_.state_file,
           strerror(errno));
  } else if (checkpointer_ != nullptr) {
    checkpointer_->SetSharedSnapshotBound(closed_before);
  }
  return ok;
}

bool Snapshots::SaveIfDue() {
  if (!keeps_state()) return true;
  if (std::chrono::steady_clock::now() - last_save_ <= std::chrono::nanoseconds(options_.state_interval)) {
    return true;
  }
  const bool ok = Save();
  last_save_ = std::chrono::steady_clock::now();
  return ok;
}

}  // namespace sitepulse
