#include "app/snapshots.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/log.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time.h"

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
  if (checkpointer_ != nullptr) {
    state_errors_ = options.metrics->GetCounter(
        "sitepulse_state_errors_total", "State snapshots that could not be written or read");
  }
}

absl::Status Snapshots::Restore() {
  SP_RETURN_IF_ERROR(LoadFile());
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

absl::Status Snapshots::LoadFile() {
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
  return absl::OkStatus();
}

bool Snapshots::OnPartitionGone() {
  const bool shared_snapshots = engine_state_on_ || !options_.state_file.empty();
  if (checkpointer_ != nullptr && shared_snapshots && engines_->mode() == EngineSet::Mode::kShared &&
      !checkpointer_->cooperative()) {
    rollback_pending_ = true;
  }
  return rollback_pending_;
}

// The partitions went (revoked or lost) and come back: they are read again from the committed
// offsets, which the last snapshot bounds. The engine goes back to that snapshot, exactly as a
// restarted process would, so that nothing read again is counted twice; anomalies emitted since
// are emitted again, with the same ids. (An eager assignment: every partition went.)
void Snapshots::RollBack() {
  engines_->ResetShared();
  if (engine_state_on_) {
    RestoreFromKafka();
  } else if (absl::Status st = LoadFile(); !st.ok()) {
    state_errors_->Add();
    engines_->ResetShared();
    SP_LOG(kError, "snapshots", "%s; starting empty", st.message());
  }
  const EventTime closed = engines_->shared().closed_before();
  checkpointer_->SetSharedSnapshotBound(closed);
  SP_LOG(kInfo, "snapshots", "the partitions came back: windows rolled back to the last snapshot "
         "(%zu sites, closed before %s); reading again from the committed offsets",
         engines_->site_count(), closed == INT64_MIN ? std::string("the start") : FormatRfc3339(closed));
}

void Snapshots::OnAssigned(bool owns_every_partition) {
  if (rollback_pending_) {
    rollback_pending_ = false;
    RollBack();
  }
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
  const absl::Status st =
      engine_store_->Put(engine_key_, engines_->shared().SaveState(/*include_open=*/false));
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
